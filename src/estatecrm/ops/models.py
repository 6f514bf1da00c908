"""SLI counts per minute, shared by every worker (the error budget is computed from them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import Model
from estatecrm.db.types import UTCDateTime


class SLIMinute(Model):
    """Requests, server errors and slow requests in one minute, summed over all workers.

    Operational data about the service itself, not about any agency: no `agency_id`.
    """

    __tablename__ = "sli_minute"

    bucket_at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    slow: Mapped[int] = mapped_column(BigInteger, default=0)
