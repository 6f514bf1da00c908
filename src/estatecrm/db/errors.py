"""Telling "the database cannot be reached" (503) apart from a bug (500)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError


def is_database_down(exc: BaseException) -> bool:
    """Whether an exception means the database cannot be reached (503, not 500)."""
    if isinstance(exc, OperationalError | SATimeoutError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError) and exc.errno is not None
