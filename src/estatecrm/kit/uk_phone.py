"""UK phone numbers: validated and normalised to E.164 (`07911 123456` → `+447911123456`)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_REGION = "GB"
MAX_INPUT_LENGTH = 40


class InvalidPhone(ValueError):
    """Raised for text that is not a diallable phone number."""


def normalise_phone(value: str) -> str:
    """E.164 for a UK number as people write it (or any number with its +country code)."""
    text = (value or "").strip()
    if not text:
        raise InvalidPhone("empty phone number")
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidPhone("phone number is too long")
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except NumberParseException:
        raise InvalidPhone(f"{value!r} is not a phone number") from None
    if number.extension:
        # E.164 has no extensions; dropping one silently would store a wrong number.
        raise InvalidPhone("extensions cannot be stored; put them in the notes")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def format_phone(e164: str | None) -> str:
    """How people read a stored number: `07911 123456` for UK, `+33 1 23 45 67 89` abroad."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, DEFAULT_REGION)
    except NumberParseException:
        return e164
    if number.country_code == 44:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def search_forms(e164: str | None) -> list[str]:
    """The digit strings someone might search a number by (`+447911123456`, `07911123456`)."""
    if not e164:
        return []
    forms = [e164, e164.lstrip("+")]
    if e164.startswith("+44"):
        forms.append("0" + e164[3:])
    return forms
