"""The CRMError family: services raise these; handlers turn them into responses."""

from __future__ import annotations

from typing import Any


class CRMError(Exception):
    """Base of every error a service raises on purpose; carries its HTTP status."""

    status_code = 400
    default_message = "Bad request"

    def __init__(
        self, message: str | None = None, *, detail: Any = None, field: str | None = None
    ) -> None:
        self.message = message or self.default_message
        self.detail = detail
        self.field = field
        super().__init__(self.message)


class NotFound(CRMError):
    """A record is missing or belongs to another agency (the two look the same)."""

    status_code = 404
    default_message = "Not found"


class Conflict(CRMError):
    """A business rule refuses the change (duplicate, wrong state, clash)."""

    status_code = 409
    default_message = "Conflict"


class Forbidden(CRMError):
    """The user is signed in but their role may not do this."""

    status_code = 403
    default_message = "You do not have permission to do this"


class Unauthorized(CRMError):
    """No valid credentials."""

    status_code = 401
    default_message = "Not authenticated"


class ValidationFailed(CRMError):
    """Input is well-formed but invalid for a field; answered as 422 naming the field."""

    status_code = 422
    default_message = "Validation failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            message,
            field=field,
            detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}],
        )
