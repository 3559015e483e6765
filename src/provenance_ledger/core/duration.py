"""Durations as a user writes them: ``90s``, ``10m``, ``24h``, ``7d`` (specs/cli.md section
3.6, ``verify --max-age``).

One positive whole number (no sign, no leading zero, at most 10 digits) and one unit letter:
``s`` seconds, ``m`` minutes, ``h`` hours, ``d`` days of 86400 seconds. Nothing else is read:
no fractions, no combinations such as ``1h30m``, no spaces.
"""

from __future__ import annotations

import re

from ..errors import MalformedError, quoted

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
"""Seconds per unit letter."""
_DURATION = re.compile(r"([1-9][0-9]{0,9})([smhd])")


def parse_duration(text: str, what: str = "duration") -> int:
    """The seconds of a duration such as ``90s`` or ``7d``; :class:`MalformedError` otherwise."""
    m = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise MalformedError(f"{what} {quoted(text, 42)} is not a duration such as 90s, 10m, "
                             "24h or 7d (a positive whole number and s, m, h or d)")
    return int(m.group(1)) * UNITS[m.group(2)]


def format_duration(seconds: int) -> str:
    """A duration for people, largest units first: ``3d 2h``, ``10m 5s``, ``0s``."""
    if seconds < 0:
        raise ValueError("a duration is not negative")
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])
