"""Money is integer pence; these format it for people."""

from __future__ import annotations


def format_pence(pence: int | None, *, per_month: bool = False) -> str:
    """`123456789` → `£1,234,567.89`; whole pounds drop the pence; `pcm` for rents."""
    if pence is None:
        return ""
    sign = "-" if pence < 0 else ""
    pounds, rem = divmod(abs(pence), 100)
    text = f"{sign}£{pounds:,}" if rem == 0 else f"{sign}£{pounds:,}.{rem:02d}"
    return f"{text} pcm" if per_month else text


def pounds_to_pence(value: str) -> int:
    """Parse what a person types (`£1,250`, `1250.50`) into pence; ValueError if it is not money."""
    cleaned = value.strip().replace("£", "").replace(",", "").replace(" ", "")
    if not cleaned:
        raise ValueError("empty amount")
    whole, _, frac = cleaned.partition(".")  # a second point makes `frac` fail isdigit()
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise ValueError("not an amount")
    return int(whole) * 100 + int(frac.ljust(2, "0"))
