"""Helpers that let HTML forms validate with the same schemas as the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.errors import CRMError
from estatecrm.kit.money import pounds_to_pence

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class FormInvalid(Exception):
    """A form did not validate; carries `{field: message}` for the template."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(", ".join(errors))


async def read_form(request: Request) -> dict[str, Any]:
    """The submitted form as a plain dict (multi-valued fields become lists)."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        data[key] = values if len(values) > 1 else (values[0] if values else "")
    data.pop("csrf_token", None)
    return data


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "Invalid value"))
    return msg.removeprefix("Value error, ")


def errors_from(exc: ValidationError, aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """`{field: message}` from a pydantic error, first message per field."""
    aliases = aliases or {}
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        name = loc[0] if loc else "__all__"
        name = aliases.get(name, name)
        errors.setdefault(name, _message(err))
    return errors


def validate(
    schema: type[M], data: Mapping[str, Any], aliases: Mapping[str, str] | None = None
) -> M:
    """Validate form data with an API schema; FormInvalid with per-field messages otherwise."""
    cleaned = {k: (None if v == "" else v) for k, v in data.items()}
    cleaned = {k: v for k, v in cleaned.items() if v is not None}
    try:
        return schema.model_validate(cleaned)
    except ValidationError as exc:
        raise FormInvalid(errors_from(exc, aliases)) from exc


def validate_read(
    schema: type[M],
    data: Mapping[str, Any],
    aliases: Mapping[str, str] | None,
    found: Mapping[str, str],
) -> M:
    """`validate`, also refusing the form when reading it already `found` problems.

    FormInvalid carries every error at once; for the same field `found` wins over the
    schema's message (it is the more specific one: "enter an amount in pounds" rather than
    "field required").
    """
    try:
        body = validate(schema, data, aliases)
    except FormInvalid as exc:
        raise FormInvalid({**exc.errors, **found}) from exc
    if found:
        raise FormInvalid(dict(found))
    return body


def pence_field(
    data: dict[str, Any], form_name: str, api_name: str, errors: dict[str, str]
) -> None:
    """Turn a pounds field a person typed into the pence field the schema wants."""
    raw = str(data.pop(form_name, "") or "").strip()
    if not raw:
        return
    try:
        data[api_name] = pounds_to_pence(raw)
    except ValueError:
        errors[form_name] = "Enter an amount in pounds, for example 1250 or £1,250.00"


def crm_error_field(exc: CRMError, default: str = "__all__") -> dict[str, str]:
    """A service error shown next to the field it names (or above the form)."""
    return {exc.field or default: exc.message}


@dataclass(frozen=True)
class Refusal:
    """Why a form was refused: messages by field, the status to answer with, and the error."""

    errors: dict[str, str]
    status: int
    error: FormInvalid | CRMError


async def submit(
    session: AsyncSession,
    action: Callable[[], Awaitable[T]],
    *,
    done: str | Callable[[T], str],
    refused: Callable[[Refusal], Awaitable[Response]],
    default_field: str = "__all__",
    aliases: Mapping[str, str] | None = None,
) -> Response:
    """Handle a submitted form: run `action` in a savepoint, then see other (303) `done`.

    A refused form changes nothing: the savepoint is rolled back and `refused` renders the
    page again with the `Refusal`. Invalid input (FormInvalid) is a 422 with its messages by
    the fields. A service refusal is shown next to the field it names (or `default_field`),
    through `aliases` to the form's names, with its own status (409, 422); a missing record
    stays a 404.
    """
    aliases = aliases or {}
    try:
        async with session.begin_nested():
            result = await action()
    except FormInvalid as exc:
        return await refused(Refusal(exc.errors, 422, exc))
    except CRMError as exc:
        if exc.status_code == 404:
            raise
        found = crm_error_field(exc, default_field)
        errors = {aliases.get(k, k): v for k, v in found.items()}
        return await refused(Refusal(errors, exc.status_code, exc))
    return RedirectResponse(done(result) if callable(done) else done, status_code=303)
