"""Bad input in the user's words, as a user meets it with the real CLI (specs/cli.md
section 1): an option or argument that takes a number refuses what is not that number with
one line naming it, quoting the value and saying what it takes, exit 2, before anything is
done.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_error_line, run

# -- numbers ----------------------------------------------------------------------------------

WORK = "sha256:" + "ab" * 32
KEY = "ed25519:" + "cd" * 32
OFFER = ("licence", "offer", WORK, "--to", KEY, "--purpose", "ai_training")
CHECK = ("dataset", "check", ".", "--purpose", "ai_training", "--as", KEY)
USAGE = ("usage", "report", "abcd", "--period", "2026-01", "--revenue", "1", "EUR")
HUGE = "9" * 5000
BPS = "is not a whole number of basis points (0 to 10000; 1250 is 12.5 %)"
BITS = "is not a whole number of the 64 bits that may differ (0 to 16; 8 is the usual)"
SECONDS = "is not a number of seconds above 0, at most"


@pytest.mark.parametrize(("args", "line"), [
    ((*OFFER, "--royalty-bps", "12.5"), f"--royalty-bps: '12.5' {BPS}"),
    ((*OFFER, "--royalty-bps", "x"), f"--royalty-bps: 'x' {BPS}"),
    ((*OFFER, "--royalty-bps", "10001"), f"--royalty-bps: '10001' {BPS}"),
    ((*CHECK, "--similar", "x"), f"--similar: 'x' {BITS}"),
    ((*CHECK, "--similar", "-1"), f"--similar: '-1' {BITS}"),
    (("works", "--limit", "0"), "--limit: '0' is not a whole number of works (1 or more)"),
    (("works", "--limit", "9" * 25),
     "--limit: an integer of 25 digits is not a whole number of works (1 to "
     "9223372036854775807)"),
    ((*USAGE, "--units", "1.5"),
     "--units: '1.5' is not a whole number of units (0 to 9007199254740991)"),
    (("anchor", "README.md", "--timeout", "nan"), f"--timeout: 'nan' {SECONDS} 86400"),
    (("node", "witness", "policy", "--home", "NODE_HOME", "--quorum", "-1"),
     "--quorum: '-1' is not a whole number of witnesses (0 or more; 0: hand a receipt out "
     "at once)"),
    (("node", "witness", "policy", "--home", "NODE_HOME", "--timeout", "601"),
     f"--timeout: '601' {SECONDS} 600"),
    (("node", "init", "--home", "NODE_HOME", "--origin", "a.test/log", "--mirror-interval", "x"),
     "--mirror-interval: 'x' is not a whole number of seconds (0 to 86400; 0: off)"),
    (("log", "consistency", "x", "2"), "OLD: 'x' is not a whole number (0 or more; a tree size)"),
    (("log", "proof", HUGE, "--tiles", "http://127.0.0.1:9", "--log-key", "k"),
     "INDEX: an integer of 5,000 digits is not a whole number (0 to 9223372036854775807; an "
     "entry's index in the log)"),
], ids=["bps-fraction", "bps-word", "bps-over", "similar-word", "similar-negative",
        "limit-zero", "limit-huge", "units-fraction", "timeout-nan", "quorum-negative",
        "witness-timeout", "mirror-interval", "consistency-old", "proof-index-huge"])
def test_a_bad_number_is_one_line_in_our_words_and_nothing_is_done(
        tmp_path: Path, args: tuple[str, ...], line: str) -> None:
    home = tmp_path / "home"
    node_home = tmp_path / "node"
    result = run(*(str(node_home) if a == "NODE_HOME" else a for a in args), home=home,
                 ok_codes=(2,))
    assert assert_one_error_line(result) == f"error: {line}"
    assert not home.exists() and not node_home.exists()  # nothing was begun


def test_an_option_without_its_own_parser_is_still_told_in_our_words(tmp_path: Path) -> None:
    """The error boundary's words for a number the framework refuses: no validator's phrase."""
    result = run("key", "recovery", "default", "--threshold", "x", home=tmp_path / "home",
                 ok_codes=(2,))
    line = assert_one_error_line(result)
    assert line.startswith("error: --threshold: 'x' is not a whole number"), line
    assert "Input should" not in line and "Invalid value" not in line, line
