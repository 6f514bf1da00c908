"""A real S3-compatible server for tests: moto in server mode, on loopback.

Any test module can use it (`from tests.s3server import moto_server`); tests/storage/conftest.py
wraps it in a session fixture. Each xdist worker gets its own port in ESTATECRM_TEST_S3_PORTS
(default 18600-18699: the range this project's tests keep for their servers).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

ACCESS_KEY = "testing"  # pragma: allowlist secret
SECRET_KEY = "testing"  # pragma: allowlist secret
REGION = "eu-west-2"


@dataclass(frozen=True)
class S3Server:
    """Where the server listens, with the credentials it accepts."""

    endpoint_url: str
    access_key_id: str = ACCESS_KEY
    secret_access_key: str = SECRET_KEY
    region: str = REGION

    def client(self) -> object:
        """A boto3 client of the server (to create buckets and look behind the backend)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )


def _free_port() -> int:
    first, _, last = os.environ.get("ESTATECRM_TEST_S3_PORTS", "18600-18699").partition("-")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or "0"
    start = int(first) + (int(worker) if worker.isdigit() else 0) * 7
    for port in range(start, int(last or first) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the S3 test server")


@contextmanager
def moto_server() -> Iterator[S3Server]:
    """Start moto's S3 server on a free loopback port; stop it afterwards."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(endpoint_url=f"http://127.0.0.1:{port}")
    finally:
        server.stop()
