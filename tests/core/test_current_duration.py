"""Tests for provenance_ledger.core.duration, the durations of ``verify --max-age``
(specs/cli.md section 3.6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance_ledger.core.duration import UNITS, format_duration, parse_duration
from provenance_ledger.errors import MalformedError


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("10m", 600), ("24h", 86400),
                                          ("7d", 604800), ("1s", 1)])
def test_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "07d", "1", "d", "1.5h", "1h30m", " 1h", "1H",
                                  "-1d", "+1d", "12345678901s", "1w", "１d"])
def test_refused(text: str) -> None:
    with pytest.raises(MalformedError, match="--max-age: .* is not a duration such as 90s"):
        parse_duration(text, "--max-age:")


@given(st.integers(1, 9_999_999_999), st.sampled_from(sorted(UNITS)))
def test_round_number_of_units(n: int, unit: str) -> None:
    assert parse_duration(f"{n}{unit}") == n * UNITS[unit]


@pytest.mark.parametrize("seconds,text", [(0, "0s"), (59, "59s"), (60, "1m"), (3601, "1h 1s"),
                                          (90061, "1d 1h"), (7 * 86400, "7d")])
def test_format(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
