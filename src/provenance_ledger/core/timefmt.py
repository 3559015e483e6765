"""RFC 3339 timestamps in the one spelling events use: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole
seconds). specs/events.md section 2.3. Internally times are integer seconds since the epoch."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ..errors import MalformedError, quoted

_RFC3339_UTC = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
MIN_TIME = 0  # 1970-01-01T00:00:00Z
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_time(text: str, what: str = "time") -> int:
    """Seconds since the epoch of a ``YYYY-MM-DDTHH:MM:SSZ`` string (1970 to 9999)."""
    if type(text) is str:
        seconds = _parsed_times.get(text)
        if seconds is not None:
            return seconds
    seconds = _parse_time(text, what)
    if len(_parsed_times) >= _PARSED_TIMES_MAX:
        _parsed_times.clear()  # bounded; the events of one block share a few times
    _parsed_times[text] = seconds
    return seconds


_parsed_times: dict[str, int] = {}
_PARSED_TIMES_MAX = 4096


def _parse_time(text: str, what: str) -> int:
    m = _RFC3339_UTC.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise MalformedError(f"{what} {quoted(text, 42)} is not an RFC 3339 UTC time "
                             "of the form YYYY-MM-DDTHH:MM:SSZ")
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    if not (
        1970 <= y and 1 <= mo <= 12 and h < 24 and mi < 60 and s < 60
        and 1 <= d <= _DAYS_IN_MONTH[mo - 1] + (mo == 2 and leap)
    ):
        raise MalformedError(f"{what} {quoted(text)} is not a valid date and time from 1970 on")
    return _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s


def format_time(seconds: int) -> str:
    if not MIN_TIME <= seconds <= MAX_TIME:
        raise ValueError(f"time {seconds} is outside 1970..9999")
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
