"""Amounts of money as people write them, and as events hold them: integer minor units.

specs/royalties.md section 1. A currency's minor unit is its ISO 4217 exponent (JPY 0, USD 2,
BHD 3), read from the ``iso4217`` package, which carries the ISO 4217 maintenance agency's own
list (its "List One") and is updated when that list is. ``12.34 USD`` is 1234 minor units;
``12.345 USD`` and ``0.5 JPY`` name fractions of a minor unit and are refused; codes with no
minor unit in the list (``XAU`` gold, ``XTS`` the code for tests, ``XDR``) carry no amounts.
"""

from __future__ import annotations

import re

from ..errors import MalformedError, quoted

MAX_AMOUNT = 2**53 - 1
"""The largest amount in minor units: every JSON reader holds it exactly."""

_DECIMAL = re.compile(r"([0-9]{1,16})(?:\.([0-9]{1,4}))?")


def exponent(code: str) -> int:
    """The ISO 4217 exponent (minor unit digits) of ``code``; MalformedError when it is no
    current ISO 4217 code or has no minor unit."""
    from iso4217 import Currency  # its table loads only for a command that reads an amount

    try:
        cur = Currency(code)
    except ValueError as e:
        raise MalformedError(f"currency {quoted(code, 42)} is not an ISO 4217 code (e.g. EUR, "
                             "JPY, USD)") from e
    if cur.exponent is None:
        raise MalformedError(f"currency {code} has no minor unit in ISO 4217: it carries no "
                             "amounts")
    return int(cur.exponent)


def parse_amount(text: str, code: str, what: str) -> tuple[int, str]:
    """``(minor units, code)`` of an amount written in major units with at most the
    currency's exponent of decimals (``1234.56`` USD, ``50000`` JPY); the code upper-cased.
    Errors name ``what`` (an option)."""
    code = code.strip().upper()
    try:
        digits = exponent(code)
    except MalformedError as e:
        raise MalformedError(f"{what}: {e}") from e
    m = _DECIMAL.fullmatch(text.strip())
    if m is None:
        raise MalformedError(f"{what}: {quoted(text, 42)} is not an amount (digits, and a point "
                             f"before at most {digits} decimals for {code}, e.g. "
                             f"{format_amount(123456, code, grouped=False)})")
    whole, frac = m.group(1), m.group(2) or ""
    if len(frac) > digits:
        unit = "no minor unit" if digits == 0 else f"{digits} decimals"
        raise MalformedError(f"{what}: {text.strip()} {code} is a fraction of {code}'s smallest "
                             f"unit ({code} has {unit} in ISO 4217)")
    amount = int(whole) * 10**digits + int(frac.ljust(digits, "0") or "0")
    if amount > MAX_AMOUNT:
        raise MalformedError(f"{what}: {text.strip()} {code} is over the largest amount "
                             f"({MAX_AMOUNT} minor units)")
    return amount, code


def format_amount(amount: int, code: str, grouped: bool = True) -> str:
    """``amount`` minor units of ``code`` in major units: ``1,234.56 USD``, ``-5 JPY``."""
    try:
        digits = exponent(code)
    except MalformedError:
        return f"{amount} {code} (minor units)"
    return f"{_decimal(amount, digits, grouped)} {code}"


def major_units(amount: int, code: str | None) -> str:
    """``amount`` minor units as an exact decimal string in major units, no grouping and no
    code, as ``royalties --csv`` writes it (specs/cli.md section 3.15): ``120.00`` (EUR),
    ``173457`` (JPY), ``1.250`` (BHD); the integer itself for a code with no minor unit in
    ISO 4217 or no code (a licence with no currency yet)."""
    if not code:
        return str(amount)
    try:
        digits = exponent(code)
    except MalformedError:
        return str(amount)
    return _decimal(amount, digits, grouped=False)


def _decimal(amount: int, digits: int, grouped: bool) -> str:
    """``amount`` divided by ``10**digits``, exactly, with ``digits`` decimals."""
    sign, (whole, frac) = ("-" if amount < 0 else ""), divmod(abs(amount), 10**digits)
    text = f"{whole:,}" if grouped else str(whole)
    return sign + text + (f".{frac:0{digits}d}" if digits else "")
