"""The one form-submit helper: 303 on success; otherwise the form again, with nothing kept."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.errors import Conflict, NotFound
from estatecrm.properties import service as property_service
from estatecrm.web.forms import FormInvalid, Refusal, submit
from tests.builders import make_property

refusals: list[Refusal] = []


async def _again(refusal: Refusal) -> Response:
    refusals.append(refusal)
    return Response(status_code=refusal.status)


async def test_success_sees_other(session: AsyncSession, admin: Any) -> None:
    async def run() -> Any:
        return await make_property(session, admin, city="Leeds")

    response = await submit(session, run, done="/properties/{0.city}".format, refused=_again)
    assert (response.status_code, response.headers["location"]) == (303, "/properties/Leeds")


async def test_invalid_input_is_a_422_and_changes_nothing(
    session: AsyncSession, admin: Any
) -> None:
    prop = await make_property(session, admin, city="Leeds")

    async def run() -> None:
        prop.city = "York"
        await session.flush()
        raise FormInvalid({"city": "Not this one"})

    response = await submit(session, run, done="/", refused=_again)
    assert response.status_code == 422
    assert refusals[-1].errors == {"city": "Not this one"}
    await session.refresh(prop)
    assert prop.city == "Leeds"


async def test_a_service_refusal_keeps_its_status_by_the_form_field(
    session: AsyncSession,
) -> None:
    async def run() -> None:
        raise Conflict("Taken", field="price_pence")

    response = await submit(
        session, run, done="/", refused=_again, aliases={"price_pence": "price"}
    )
    assert response.status_code == 409
    assert refusals[-1].errors == {"price": "Taken"}
    assert isinstance(refusals[-1].error, Conflict)

    async def unnamed() -> None:
        raise Conflict("No")

    await submit(session, unnamed, done="/", refused=_again, default_field="action")
    assert refusals[-1].errors == {"action": "No"}


async def test_a_missing_record_stays_a_404(session: AsyncSession, admin: Any) -> None:
    async def run() -> None:
        await property_service.get(session, admin, 987654)

    with pytest.raises(NotFound):
        await submit(session, run, done="/", refused=_again)
