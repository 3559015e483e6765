"""Hostile values never reach an error line whole (specs/cli.md section 1, errors).

A receipt, an event or a request file is input from a stranger, and so is every option value
a script passes on: each is quoted into an error message bounded (its start and its length),
with its control characters escaped, so that the one ``error:`` line stays one short line
that still names the option or field in the user's words. The real CLI runs in a subprocess
on each hostile input; the helper that renders a value (errors.quoted) and the CLI's last
guard (errors.error_line) are tested on their own below.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.errors import MAX_ERROR_CHARS, error_line, quoted
from provenance_ledger.ledger import Home

from .conftest import Result, assert_one_error_line, log_key, run, run_json

LINE_BOUND = 400  # characters of the whole "error: ..." line, for every case below
HUGE = "9" * 4_300  # the longest integer Python's JSON reader turns into an int
LONG = "a" * 100_000
CONTROL = "abc\n\x1b[31mred\u202eevil"
WORK = "sha256:" + "ab" * 32


@dataclass(frozen=True)
class Home_:
    root: Path
    home: Path
    receipt: dict[str, Any]
    log_key: str
    request: dict[str, Any]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home_:
    root = tmp_path_factory.mktemp("error-lines")
    home = root / "home"
    page = root / "page.png"
    page.write_bytes(b"a page with a receipt")
    anchored = run_json("anchor", page, "--json", home=home)
    lost = Home(home).keys.create("lost").public.text
    Home(home).keys.create("heir")
    friends = Home(root / "friend")
    friends.ensure()
    friend = friends.keys.create("friend").public.text
    run("key", "recovery", "lost", "--keys", friend, home=home)
    request = root / "request.json"
    run("key", "rotate", lost, "--to", "heir", "--recovery-request", request, "--signer",
        friend, home=home)
    return Home_(root, home, json.loads(Path(anchored["receipt"]).read_text()),
                 log_key(home), json.loads(request.read_text()))


def _hostile_json(home: Home_, name: str, doc: dict[str, Any], path: tuple[str, ...],
                  value: str) -> Path:
    """``doc`` written to ``name`` with the member at ``path`` replaced by ``value``, a JSON
    text spliced in as is (a 4,300-digit integer is written by no json.dumps here)."""
    marker = "\u0000marker\u0000"
    copy = json.loads(json.dumps(doc))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker
    file = home.root / name
    file.write_text(json.dumps(copy).replace(json.dumps(marker), value))
    return file


def assert_bounded(result: Result, code: int, *words: str) -> str:
    """One ``error:`` line, exit ``code``, at most ``LINE_BOUND`` characters, no control
    character, naming ``words``; the line is returned."""
    assert result.code == code, result
    line = assert_one_error_line(result)
    assert len(line) <= LINE_BOUND, f"{len(line)} characters: {line[:200]}..."
    assert line.isprintable(), line
    for word in words:
        assert word in line, line
    return line


# -- hostile files ---------------------------------------------------------------------------

def test_a_receipt_with_a_4300_digit_leaf_index(home: Home_) -> None:
    """A receipt's leaf index of 4,300 digits: the receipt does not verify (exit 1) and the
    line says how long the number was instead of printing it."""
    file = _hostile_json(home, "huge-index.json", home.receipt, ("leaf_index",), HUGE)
    result = run("verify", file, "--log-key", home.log_key, home=home.home, ok_codes=(1,))
    line = assert_bounded(result, 1, "leaf index", "an integer of 4,300 digits")
    assert "9" * 30 not in line


def test_a_recovery_request_with_a_4300_digit_threshold(home: Home_) -> None:
    file = _hostile_json(home, "huge-threshold.json", home.request, ("threshold",), HUGE)
    result = run("key", "submit", file, home=home.home, ok_codes=(2,))
    line = assert_bounded(result, 2, "threshold")
    assert "9" * 30 not in line


def test_an_event_with_a_4300_digit_time(home: Home_) -> None:
    """The event inside a recovery request, its ``at`` a 4,300-digit integer."""
    file = _hostile_json(home, "huge-at.json", home.request, ("event", "at"), HUGE)
    result = run("key", "submit", file, home=home.home, ok_codes=(2,))
    line = assert_bounded(result, 2, "at")
    assert "9" * 30 not in line


@pytest.mark.parametrize("value", [LONG, CONTROL], ids=["long", "control"])
def test_a_receipt_of_a_hostile_format(home: Home_, value: str) -> None:
    file = _hostile_json(home, "format.json", home.receipt, ("format",), json.dumps(value))
    assert_bounded(run("receipt", "show", file, home=home.home, ok_codes=(2,)), 2,
                   "is not a receipt")


@pytest.mark.parametrize("value", [LONG[:60_000], CONTROL], ids=["long", "control"])
def test_a_policy_with_a_hostile_line(home: Home_, value: str) -> None:
    policy = home.root / "policy.txt"
    policy.write_text(f"log {home.log_key}\nquorum {value}\n")
    result = run("verify", home.root / "none.json", "--policy", policy, home=home.home,
                 ok_codes=(2,))
    assert_bounded(result, 2, "quorum")


# -- hostile options and arguments -----------------------------------------------------------

CASES: dict[str, tuple[Callable[[str, str], list[str]], str]] = {
    "WORK": (lambda v, page: ["status", v], "and it is no work id"),
    "--fee currency": (lambda v, page: ["licence", "offer", WORK, "--to", "ed25519:" + "0" * 64,
                                  "--purpose", "ai_training", "--fee", "10", v], "--fee"),
    "--purpose": (lambda v, page: ["consent", "grant", WORK, "--purpose", v, "--anyone"],
                  "purpose"),
    "--until": (lambda v, page: ["consent", "grant", WORK, "--purpose", "ai_training", "--anyone",
                           "--until", v], "--until"),
    "--terms-uri": (lambda v, page: ["licence", "offer", WORK, "--to", "ed25519:" + "0" * 64,
                               "--purpose", "ai_training", "--terms-uri", v], "--terms-uri"),
    "--payee": (lambda v, page: ["anchor", page, "--payee", v], "--payee"),
    "--node": (lambda v, page: ["status", WORK, "--node", v], "--node"),
    "--max-age": (lambda v, page: ["verify", "r.json", "--log-key", "x", "--max-age", v],
                  "--max-age"),
    "--period": (lambda v, page: ["royalties", "--work", WORK, "--period", v], "--period"),
    "--format": (lambda v, page: ["export", WORK, "--format", v], "--format"),
    "--base-url": (lambda v, page: ["export", page, "--format", "rsl", "--base-url", v],
                   "--base-url"),
    "key name": (lambda v, page: ["key", "new", v], "key name"),
    "--key": (lambda v, page: ["anchor", page, "--key", v], "key name"),
    "--log-key": (lambda v, page: ["verify", "r.json", "--log-key", v], "verifier key"),
    "event id": (lambda v, page: ["licence", "accept", v], "event id"),
    "dataset --name": (lambda v, page: ["dataset", "versions", v], "no dataset"),
    "node --origin": (lambda v, page: ["node", "init", "--home", "node-home", "--origin", v],
                      "origin"),
}


@pytest.fixture(params=[LONG, CONTROL], ids=["100000-characters", "newline-and-escape"])
def hostile(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_option_value(home: Home_, hostile: str, case: str) -> None:
    args, words = CASES[case]
    result = run(*args(hostile, str(home.root / "page.png")), home=home.home, ok_codes=(2,))
    line = assert_bounded(result, 2, words)
    if hostile == LONG:
        assert "(100,000 characters)" in line or "a" * 100 not in line, line
    else:
        assert "\\n" in line and "\\x1b" in line, line


def test_a_usage_error_is_bounded_too(home: Home_) -> None:
    """A number argument's error quotes the value it refuses: bounded, as every value is."""
    result = run("log", "consistency", "1" + HUGE, "2", home=home.home, ok_codes=(2,))
    line = assert_bounded(result, 2, "OLD", "is not a whole number")
    assert "9" * 30 not in line


# -- the helpers -----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "shown"), [
    ("abc", "'abc'"),
    ("it's", '"it\'s"'),
    ("a\nb\x1b[2J\u202e", "'a\\nb\\x1b[2J\\u202e'"),
    (42, "42"),
    (-7, "-7"),
    (2**64, "18446744073709551616"),
    (10**20, "an integer of 21 digits"),
    (-(10**25), "a negative integer of 26 digits"),
    (True, "True"),
    (None, "None"),
    (1.5, "1.5"),
    ([1, 2, 3], "a list of 3 items"),
    ({"a": 1}, "an object of 1 member"),
    (b"\x00ab", "b'\\x00ab'"),
])
def test_quoted(value: object, shown: str) -> None:
    assert quoted(value) == shown


def test_quoted_integer_beyond_what_str_converts() -> None:
    """Python refuses ``str()`` of an integer over 4,300 digits; its size is still said."""
    huge = 10 ** 10_000
    if sys.get_int_max_str_digits():  # 4,300 unless PYTHONINTMAXSTRDIGITS says otherwise
        with pytest.raises(ValueError):
            str(huge)
    assert quoted(huge) == "an integer of 10,001 digits"
    assert quoted(int(HUGE)) == "an integer of 4,300 digits"
    assert quoted(10**4299) == "an integer of 4,300 digits"
    assert quoted(10**4299 - 1) == "an integer of 4,299 digits"


@pytest.mark.parametrize("char", ["a", "'", "\x1b", "\n", "\U0001f600", "\U000e0001", "\u00e9"])
@pytest.mark.parametrize("length", [1, 40, 77, 78, 79, 80, 81, 200, 100_000])
def test_quoted_strings_are_bounded(char: str, length: int) -> None:
    text = char * length
    shown = quoted(text)
    whole = repr(text)
    if len(whole) <= 80:
        assert shown == whole
    else:
        head, _, size = shown.rpartition(" (")
        assert size == f"{length:,} characters)"
        assert len(head) <= 80 and head[-2:] in ("\u2026'", '\u2026"')
        assert whole.startswith(head[:-2])  # the start is kept, as repr writes it
    assert shown.isprintable()


def test_quoted_bytes_and_limits() -> None:
    assert quoted(b"x" * 5_000) == "b'" + "x" * 76 + "\u2026' (5,000 bytes)"
    assert quoted("x" * 100, 20) == "'" + "x" * 17 + "\u2026' (100 characters)"
    assert len(quoted(Path("/" + "d" * 500))) <= 80  # any other value: its repr, bounded


def test_error_line_keeps_a_short_message_as_it_is() -> None:
    message = "--fee: currency 'euro' is not an ISO 4217 code (did you mean EUR?)"
    assert error_line(message) == message


def test_error_line_escapes_controls() -> None:
    assert error_line("no work a\nb\x1b[2J\u2028c here") == "no work a\\nb\\x1b[2J\\u2028c here"


def test_error_line_says_how_long_a_number_was() -> None:
    assert error_line(f"leaf index {HUGE} is not below 3") == (
        "leaf index an integer of 4,300 digits is not below 3")
    assert error_line(f"size -{HUGE}") == "size a negative integer of 4,300 digits"
    hexes = "sha256:" + "0123456789" * 6 + "abcd"  # digits inside a word are no number
    assert error_line(hexes) == hexes
    kept = "1" * 100  # longer than any quoted() keeps: what was quoted is left as it is
    assert error_line(f"index {kept} or '{kept}'") == f"index {kept} or '{kept}'"


def test_error_line_shortens_long_words_and_keeps_the_end() -> None:
    line = error_line(f"--node {LONG}\n{LONG} must be an http:// URL")
    assert line == ("--node " + "a" * 60 + "\u2026 (200,001 characters) must be an http:// URL")
    many = error_line("word " * 1_000 + "the end")
    assert len(many) == MAX_ERROR_CHARS
    assert many.startswith("word word") and many.endswith("word the end")
    assert " \u2026 " in many


def test_error_line_is_fast_on_megabytes() -> None:
    for text in ("\n" * 5_000_000, "\x1b " * 2_000_000, "9" * 5_000_000):
        line = error_line(text)
        assert len(line) <= MAX_ERROR_CHARS and line.isprintable()
