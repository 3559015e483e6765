"""RFC 3339 timestamps in the one spelling events use: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole
seconds). specs/events.md section 2.3. Internally times are integer seconds since the epoch."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime

from ..errors import MalformedError

_RFC3339_UTC = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
MIN_TIME = 0  # 1970-01-01T00:00:00Z
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z


def parse_time(text: str, what: str = "time") -> int:
    """Seconds since the epoch of a ``YYYY-MM-DDTHH:MM:SSZ`` string."""
    m = _RFC3339_UTC.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise MalformedError(f"{what} {str(text)[:40]!r} is not an RFC 3339 UTC time "
                             "of the form YYYY-MM-DDTHH:MM:SSZ")
    try:
        y, mo, d, h, mi, s = (int(g) for g in m.groups())
        dt = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError as e:
        raise MalformedError(f"{what} {text!r} is not a valid date: {e}") from e
    seconds = calendar.timegm(dt.utctimetuple())
    if not MIN_TIME <= seconds <= MAX_TIME:
        raise MalformedError(f"{what} {text!r} is before 1970-01-01T00:00:00Z")
    return seconds


def format_time(seconds: int) -> str:
    if not MIN_TIME <= seconds <= MAX_TIME:
        raise ValueError(f"time {seconds} is outside 1970..9999")
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
