"""E-mail address validation that accepts the reserved `.test` domains used in demos and tests."""

from __future__ import annotations

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, StringConstraints


def normalise_email(value: str) -> str:
    """A syntactically valid address, lower-cased; ValueError otherwise (no DNS look-up)."""
    try:
        info = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError(f"Enter a valid email address ({exc})") from None
    return info.normalized.lower()


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=320), AfterValidator(normalise_email)
]
