"""Auth schemas."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from estatecrm.auth.models import Role
from estatecrm.kit.email import Email


class TokenRequest(BaseModel):
    """`POST /api/v1/auth/token`."""

    email: Email
    password: str = Field(min_length=1, max_length=1000)


class TokenResponse(BaseModel):
    """A freshly issued API token (shown once)."""

    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class UserRead(BaseModel):
    """The signed-in user."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: Role
    agency_id: int
    office_id: int | None
    calendar_feed_url: str | None = None
