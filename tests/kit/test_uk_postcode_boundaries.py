"""UK postcodes, letter by letter (kit/uk_postcode.py).

The format (Royal Mail's Programmers' Guide to the PAF, BS 7666): an outward code of area
letter(s) and district, then an inward code of a sector digit and two unit letters.

- first letter: never Q, V or X;
- second letter (AA9, AA99, AA9A): never I, J or Z;
- letter after the district digit in A9A: A-H, J, K, M, N, P, R-Y (Royal Mail uses A-H, J, K,
  P, S, T, U, W; this module accepts M, N, R, V, X and Y there as well);
- letter after the district digit in AA9A: A, B, E, H, M, N, P, R, V, W, X, Y;
- unit letters: never C, I, K, M, O or V;
- GIR 0AA (Girobank) is the one postcode outside the pattern.

Each rule is tested for every letter of the alphabet, so any change to the regular expressions
(module-level, so mutmut does not mutate them) fails a named test.
"""

from __future__ import annotations

import string

import pytest

from estatecrm.kit import uk_postcode
from estatecrm.kit.uk_postcode import (
    InvalidPostcode,
    is_district,
    normalise_postcode,
    outward_code,
)

pytestmark = pytest.mark.mutation

LETTERS = string.ascii_uppercase
FIRST = set(LETTERS) - set("QVX")
SECOND = set(LETTERS) - set("IJZ")
A9A_LETTER = set("ABCDEFGHJKMNPRSTUVWXY")
AA9A_LETTER = set("ABEHMNPRVWXY")
UNIT = set(LETTERS) - set("CIKMOV")


def _accepted(text: str) -> bool:
    try:
        normalise_postcode(text)
    except InvalidPostcode:
        return False
    return True


def test_regular_expressions_are_the_documented_ones() -> None:
    """The patterns themselves, so an edit to them is a deliberate one."""
    outward = r"[A-PR-UWYZ](?:[0-9][0-9A-HJKMNPR-Y]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?)"
    assert uk_postcode._POSTCODE.pattern == (
        rf"^(?P<outward>{outward})(?P<inward>[0-9][ABD-HJLNP-UW-Z]{{2}})$"
    )
    assert uk_postcode._DISTRICT.pattern == rf"^{outward}$"


def test_first_letter_is_never_q_v_or_x() -> None:
    """PAF: Q, V and X are not used in the first position."""
    assert {c for c in LETTERS if _accepted(f"{c}1 1AA")} == FIRST
    assert {c for c in LETTERS if _accepted(f"{c}B1 1AA")} == FIRST
    assert {c for c in LETTERS if is_district(f"{c}1")} == FIRST
    assert {c for c in LETTERS if is_district(f"{c}B1")} == FIRST


def test_second_letter_is_never_i_j_or_z() -> None:
    """PAF: I, J and Z are not used in the second position."""
    assert {c for c in LETTERS if _accepted(f"A{c}1 1AA")} == SECOND
    assert {c for c in LETTERS if _accepted(f"A{c}11 1AA")} == SECOND
    assert {c for c in LETTERS if _accepted(f"A{c}1A 1AA")} == SECOND
    assert {c for c in LETTERS if is_district(f"A{c}1")} == SECOND


def test_letter_ending_an_a9a_district() -> None:
    """The outward code's last letter in the A9A form (W1A, E1W, N1C)."""
    assert {c for c in LETTERS if _accepted(f"W1{c} 1AA")} == A9A_LETTER
    assert {c for c in LETTERS if is_district(f"W1{c}")} == A9A_LETTER


def test_letter_ending_an_aa9a_district() -> None:
    """PAF: only A B E H M N P R V W X Y end an AA9A district (EC1A, SW1Y, NW1W)."""
    assert {c for c in LETTERS if _accepted(f"EC1{c} 1AA")} == AA9A_LETTER
    assert {c for c in LETTERS if is_district(f"EC1{c}")} == AA9A_LETTER


def test_unit_letters_are_never_c_i_k_m_o_or_v() -> None:
    """PAF: the inward code's two letters never use C, I, K, M, O or V."""
    assert {c for c in LETTERS if _accepted(f"SO15 2{c}A")} == UNIT
    assert {c for c in LETTERS if _accepted(f"SO15 2A{c}")} == UNIT


@pytest.mark.parametrize(
    ("typed", "postcode"),
    [
        ("A1 1AA", "A1 1AA"),
        ("A11 1AA", "A11 1AA"),
        ("W1A 1AA", "W1A 1AA"),
        ("AB1 1AA", "AB1 1AA"),
        ("SO15 2JS", "SO15 2JS"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("so152js", "SO15 2JS"),
        ("  so15   2js ", "SO15 2JS"),
        ("SO15\t2JS", "SO15 2JS"),
        ("SW1A0AA", "SW1A 0AA"),
        ("W1A 0AX", "W1A 0AX"),
        ("B33 8TH", "B33 8TH"),
        ("M1 9ZZ", "M1 9ZZ"),
    ],
)
def test_postcodes_of_every_shape_normalise(typed: str, postcode: str) -> None:
    """A9, A99, A9A, AA9, AA99 and AA9A outward codes; upper case, one space before the inward."""
    assert normalise_postcode(typed) == postcode


@pytest.mark.parametrize(
    "typed", ["GIR 0AA", "gir0aa", " Gir  0aa ", "GIR0AA"], ids=["plain", "lower", "mixed", "tight"]
)
def test_gir_0aa_is_a_postcode(typed: str) -> None:
    """GIR 0AA (Girobank, Bootle) is a real postcode that fits no pattern."""
    assert normalise_postcode(typed) == "GIR 0AA"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "GIR 0AB",
        "GIR 1AA",
        "GI 0AA",
        "SO15",  # a district is not a postcode
        "SO15 2J",
        "SO15 2JSS",
        "SO155 2JS",  # AA999
        "A1AA 1AA",
        "1A 1AA",
        "AA 1AA",
        "SO15 AJS",  # the sector is a digit
        "SO15 22S",
        "SO15-2JS",
        "SO15 2JS X",
        "XSO15 2JS",
    ],
)
def test_what_is_not_a_postcode_is_refused(typed: str) -> None:
    """Wrong lengths, digits where letters go and the reverse, other characters."""
    assert not _accepted(typed)


def test_refusal_names_the_input() -> None:
    """The message quotes what was typed."""
    with pytest.raises(InvalidPostcode) as caught:
        normalise_postcode("QQ1 1AA")
    assert str(caught.value) == "'QQ1 1AA' is not a valid UK postcode"
    with pytest.raises(InvalidPostcode) as caught:
        normalise_postcode(None)  # type: ignore[arg-type]
    assert str(caught.value) == "None is not a valid UK postcode"


def test_outward_code_of_a_normalised_postcode() -> None:
    """The district is everything before the space."""
    assert outward_code("SO15 2JS") == "SO15"
    assert outward_code("W1A 1AA") == "W1A"
    assert outward_code("GIR 0AA") == "GIR"


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("SO15", True),
        (" so15 ", True),
        ("ec1a", True),
        ("W1", True),
        ("SO15 2JS", False),
        ("SO", False),
        ("SO155", False),
        ("", False),
        ("GIR", False),
    ],
)
def test_is_district(text: str, district: bool) -> None:
    """An outward code on its own, whatever the case and surrounding blanks."""
    assert is_district(text) is district
