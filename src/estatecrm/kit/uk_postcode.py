"""UK postcode validation and normalisation (`so152js` → `SO15 2JS`)."""

from __future__ import annotations

import re

# Outward code: area (1-2 letters) + district (digit, digit+digit or digit+letter); inward
# code: sector digit + unit (2 letters, never C I K M O V). Plus the special GIR 0AA.
_POSTCODE = re.compile(
    r"^(?P<outward>[A-PR-UWYZ](?:[0-9][0-9A-HJKMNPR-Y]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?))"
    r"(?P<inward>[0-9][ABD-HJLNP-UW-Z]{2})$"
)
_DISTRICT = re.compile(r"^[A-PR-UWYZ](?:[0-9][0-9A-HJKMNPR-Y]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?)$")


class InvalidPostcode(ValueError):
    """Raised for text that is not a UK postcode."""


def normalise_postcode(value: str) -> str:
    """Upper-case, single space before the inward code; raise InvalidPostcode otherwise."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if compact == "GIR0AA":
        return "GIR 0AA"
    match = _POSTCODE.match(compact)
    if not match:
        raise InvalidPostcode(f"{value!r} is not a valid UK postcode")
    return f"{match['outward']} {match['inward']}"


def outward_code(postcode: str) -> str:
    """The district part of a normalised postcode (`SO15 2JS` → `SO15`)."""
    return postcode.split(" ", 1)[0]


def is_district(value: str) -> bool:
    """Whether text is an outward code on its own (`SO15`, `EC1A`)."""
    return bool(_DISTRICT.match(value.strip().upper()))
