"""The one update prologue: PUT sets every field; PATCH those sent, never clearing one needed."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from estatecrm.errors import ValidationFailed, update_values


class Patch(BaseModel):
    title: str | None = None
    notes: str | None = None
    secret: str | None = None


def test_patch_sets_only_what_was_sent() -> None:
    assert update_values(Patch.model_validate({"notes": None}), ("title",)) == {"notes": None}


def test_patch_may_not_clear_a_required_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        update_values(Patch.model_validate({"title": None}), ("title",))
    assert caught.value.field == "title"
    assert caught.value.message == "This field cannot be empty"
    assert caught.value.status_code == 422


def test_put_sets_every_field_and_leaves_required_checks_to_its_schema() -> None:
    values = update_values(Patch(title="A"), ("notes",), full=True, exclude={"secret"})
    assert values == {"title": "A", "notes": None}
