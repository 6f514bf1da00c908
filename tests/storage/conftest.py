"""The S3-compatible server the storage tests run against."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.s3server import S3Server, moto_server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server, started by the tests themselves."""
    with moto_server() as server:
        yield server
