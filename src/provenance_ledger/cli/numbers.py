"""Options and arguments that take a number, read in the user's words (specs/cli.md section 1,
numbers).

Each such option gives one of these parsers to ``typer.Option(parser=...)``. The parser sees
the text as typed and refuses what is not the number the option takes, not whole or out of
range, with one line that names the option, quotes the value (bounded: errors.quoted) and says
what is expected, e.g. ``--royalty-bps: '12.5' is not a whole number of basis points (0 to
10000; 1250 is 12.5 %)``. It raises :class:`MalformedError`, which the CLI's error boundary
prints as that line with exit 2 before the command begins: nothing is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from ..errors import MAX_INT_DIGITS, MalformedError, quoted

Bound = float | Callable[[], float]
"""An upper bound, or a function that gives it: for a bound kept in a module that the command
imports only when it runs (the CLI's start-up stays short)."""

_INTEGER = re.compile(r"([+-]?)0*([0-9]+)")
"""A whole number as people type it: ASCII digits, maybe signed (no ``1_000``, no spaces)."""

MAX_WHOLE = 2**63 - 1
"""The largest whole number any of these options takes (a count or a size the store keeps)."""

_EXACT_DIGITS = 4000
"""Longer whole numbers are not converted (Python's ``int`` refuses more than 4,300 digits):
their size is all an error says of them."""

_NUMBER_CHARS = 40
"""Longest text read as a number of seconds."""


def _bound(high: Bound) -> float:
    return high() if callable(high) else high


def whole(name: str, low: int, high: Bound | None = None, *, unit: str = "",
          note: str = "") -> Callable[[str], int]:
    """The parser of option (or argument) ``name`` that takes a whole number from ``low`` to
    ``high`` (None: no upper bound) of ``unit`` (``basis points``; empty: none); ``note`` is
    added to what the error says is expected (an example, what 0 means)."""

    def parse(text: str) -> int:
        m = _INTEGER.fullmatch(text)
        value = None if m is None else _integer(*m.groups())
        top = MAX_WHOLE if high is None else int(_bound(high))
        if value is not None and low <= value <= top:
            return value
        shown = quoted(value if value is not None and m and len(m[2]) > MAX_INT_DIGITS
                       else text)
        bounds = f"{low} or more" if high is None and (value or 0) <= top else f"{low} to {top}"
        of = f" of {unit}" if unit else ""
        raise MalformedError(f"{name}: {shown} is not a whole number{of} "
                             f"({bounds}{f'; {note}' if note else ''})")

    return parse


def _integer(sign: str, digits: str) -> int:
    """The whole number ``sign`` and ``digits`` write; one of more than ``_EXACT_DIGITS``
    digits as a number of as many digits, which is all an error says of it."""
    if len(digits) <= _EXACT_DIGITS:
        return int(sign + digits)
    return (-1 if sign == "-" else 1) * int(10 ** (len(digits) - 1))


def seconds(name: str, high: Bound) -> Callable[[str], float]:
    """The parser of option ``name`` that takes a number of seconds above 0, at most ``high``
    (``1.5`` and ``2e3`` included; ``nan`` and ``inf`` not)."""

    def parse(text: str) -> float:
        try:
            value = float(text) if len(text) <= _NUMBER_CHARS else math.nan
        except ValueError:
            value = math.nan
        top = _bound(high)
        if 0 < value <= top:  # NaN is never in range
            return value
        raise MalformedError(f"{name}: {quoted(text)} is not a number of seconds above 0, "
                             f"at most {top:g}")

    return parse
