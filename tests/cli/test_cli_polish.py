"""Bad input in the user's words, output files, and a rotated key through a node, as a user
meets them with the real CLI (specs/cli.md sections 1 and 2.1):

- an option or argument that takes a number refuses what is not that number with one line
  naming it, quoting the value and saying what it takes, exit 2, before anything is done;
- a file a command writes (``-o``, ``--out``, ``--receipt``, ``--proof``) needs its folder:
  a missing one is refused, naming the option, and never created; the file is written whole,
  mode 0644 under the usual umask, and nothing else is left beside it;
- ``anchor FILE --node`` and ``anchor DIR --node`` with a key that was rotated away on the
  node warn once, as they do locally, naming the key to sign with;
- ``consent grant --to anyone`` (a word for everyone that is none of the user's keys) is told
  to use ``--anyone``; a key of that name is that key;
- ``log key --node URL`` prints the node's log key as pinned on first contact.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_error_line, run, run_json
from tests.inproc import given, given_key
from tests.node.network_helpers import Node, Processes, make_network

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


# -- output files -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Anchored:
    home: Path
    page: Path


@pytest.fixture(scope="module")
def anchored(tmp_path_factory: pytest.TempPathFactory) -> Anchored:
    root = tmp_path_factory.mktemp("outputs")
    page = root / "page.png"
    page.write_bytes(b"a page whose receipts are written")
    given("anchor", page, home=root / "home")
    return Anchored(root / "home", page)


def _writes(a: Anchored, out: str) -> list[tuple[str, ...]]:
    page = str(a.page)
    return [
        ("receipt", page, "-o", out),
        ("receipt", page, "--state", "--output", out),
        ("may", KEY, "ai_training", page, "--proof", out),
        ("dataset", "check", page, "--purpose", "ai_training", "--as", KEY, "--receipt", out),
        ("royalties", "--work", page, "--receipt", out),
        ("dataset", "prove", page, page, "--name", "set", "--out", out),
        ("log", "proof", "0", "--tiles", "http://127.0.0.1:9", "--log-key", "k", "-o", out),
    ]


@pytest.mark.parametrize("n", range(7), ids=["receipt", "receipt-state", "may-proof",
                                            "dataset-receipt", "royalties-receipt",
                                            "dataset-prove", "log-proof"])
def test_a_missing_folder_is_refused_naming_the_option_and_never_made(
        anchored: Anchored, tmp_path: Path, n: int) -> None:
    out = tmp_path / "out" / "r.json"
    args = _writes(anchored, str(out))[n]
    option = args[-2]
    shown = {"--output": "-o"}.get(option, option)
    result = run(*args, home=anchored.home, ok_codes=(2,))
    assert assert_one_error_line(result) == (
        f"error: {shown}: no folder '{tmp_path / 'out'}/' (create it first)")
    assert not (tmp_path / "out").exists()


def test_a_receipt_file_is_written_whole_where_a_folder_or_a_file_is_not_in_the_way(
        anchored: Anchored, tmp_path: Path) -> None:
    """A folder given as the file, or a file as a folder, is named; a file is written by a
    rename into place: an old one is replaced whole, no temporary file is left, and a receipt
    (public evidence) is 0644 under the umask 022."""
    page = str(anchored.page)
    folder = run("receipt", page, "-o", tmp_path, home=anchored.home, ok_codes=(2,))
    assert assert_one_error_line(folder) == (
        f"error: -o: '{tmp_path}' is a folder: name a file to write")
    through = run("receipt", page, "-o", anchored.page / "r.json", home=anchored.home,
                  ok_codes=(2,))
    assert assert_one_error_line(through) == (
        f"error: -o: '{anchored.page}' is a file, not a folder")
    out = tmp_path / "r.json"
    out.write_text("an older, longer file " * 500)
    old = os.umask(0o022)
    try:
        run("receipt", page, "-o", out, home=anchored.home)
    finally:
        os.umask(old)
    assert json.loads(out.read_text())["leaf_index"] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_a_file_written_by_a_command_of_another_module_needs_its_folder_too(
        tmp_path: Path) -> None:
    """``key compromised --recovery-request FILE`` writes through the same helper: refused,
    and the folder is not made."""
    home = tmp_path / "home"
    given_key("default", home)
    given_key("r1", home)
    given("key", "recovery", "default", "--keys", "r1", home=home)
    result = run("key", "compromised", "default", "--since", "2026-01-01",
                 "--recovery-request", tmp_path / "req" / "r.json", home=home, ok_codes=(2,))
    line = assert_one_error_line(result)
    assert line.endswith(f"no folder '{tmp_path / 'req'}/' (create it first)"), line
    assert not (tmp_path / "req").exists()


# -- a rotated key through a node -------------------------------------------------------------

@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    processes = Processes()
    try:
        (ledger,) = make_network(tmp_path_factory.mktemp("polish-node") / "net", ("ledger",),
                                 processes)
        ledger.start()
        yield ledger
    finally:
        processes.close()


def test_anchor_through_a_node_with_a_key_rotated_away_there_warns_as_locally(
        node: Node, tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = ("--node", node.url)
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "1.png").write_bytes(b"page 1, anchored before the rotation")
    given("anchor", folder / "1.png", *url, home=home)
    assert run("anchor", folder / "1.png", *url, home=home).err == ""  # nothing new: no word
    nxt = given_key("next", home)
    given("key", "rotate", "default", "--to", "next", *url, home=home)

    (folder / "2.png").write_bytes(b"page 2, anchored with the key given up")
    one = run("anchor", folder / "2.png", *url, home=home)
    (line,) = one.err.splitlines()
    assert line.startswith(f"warning: your key 'default' was rotated to {nxt} at "), line
    assert line.endswith(": what it registered now is that key's to control, but signed by a "
                         "key you gave up; sign with --key next"), line
    assert run_json("status", folder / "2.png", *url, "--json", home=home)["holder"] == nxt

    (folder / "3.png").write_bytes(b"page 3, anchored with the folder")
    many = run("anchor", folder, *url, home=home)
    assert [x for x in many.err.splitlines() if x.startswith("warning:")] == [line]
    (folder / "4.png").write_bytes(b"page 4, anchored with the new key")
    assert run("anchor", folder / "4.png", "--key", "next", *url, home=home).err == ""


# -- a grant to everyone ----------------------------------------------------------------------


@pytest.mark.parametrize("word", ["anyone", "Everyone", "*"])
def test_a_grant_to_a_word_for_everyone_is_told_to_use_anyone(anchored: Anchored,
                                                              word: str) -> None:
    r = run("consent", "grant", anchored.page, "--purpose", "ai_training", "--to", word,
            home=anchored.home, ok_codes=(2,))
    assert assert_one_error_line(r) == (
        f"error: --to: {word!r} is neither a key (ed25519:<64 hex>) nor the name of one of "
        "your keys (provenance key list); to grant to every key, use --anyone instead of --to")
    shown = run_json("status", anchored.page, "--json", home=anchored.home)
    assert shown["grants"] == []


def test_a_key_named_like_a_word_for_everyone_is_that_key(anchored: Anchored) -> None:
    key = given_key("all", anchored.home)
    r = run_json("consent", "grant", anchored.page, "--purpose", "ai_training", "--to", "all",
                 "--json", home=anchored.home)
    assert r["status"] == "logged"
    shown = run_json("status", anchored.page, "--json", home=anchored.home)
    assert [g["grantee"] for g in shown["grants"]] == [key]


# -- a node's log key ---------------------------------------------------------------------------


def test_log_key_of_a_node_is_the_key_pinned_on_first_contact(node: Node,
                                                               tmp_path: Path) -> None:
    home = tmp_path / "verifier"
    first = run("log", "key", "--node", node.url, home=home).out
    assert first == node.log_vkey + "\n"
    (pin,) = (home / "nodes").glob("*.vkey")
    assert pin.read_text() == first
    pin.write_text("other.test/log+00000000+" + "A" * 43 + "=\n")  # another key pinned before
    moved = run("log", "key", "--node", node.url, home=home, ok_codes=(2,))
    assert "but other.test/log+00000000+" in assert_one_error_line(moved)
    assert run("log", "key", home=tmp_path / "own").out != first  # the home's own log key
