"""Activity as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ActivityRead(BaseModel):
    """One entry of a record's timeline."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    entity_type: str
    entity_id: int
    action: str
    summary: str
    changes: dict[str, Any]
    actor_user_id: int | None
    created_at: datetime
