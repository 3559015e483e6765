"""Bad input: each mistake is one ``error:`` line on stderr, a non-zero exit, no traceback, and
nothing appended to the ledger.

Exit codes follow specs/cli.md 1.1: 1 when a receipt does not verify (malformed or false), 2
for every other error.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import (
    assert_one_error_line,
    log_key,
    new_key,
    public_key,
    run,
    run_json,
    stored_sizes,
    tree_size,
)


@dataclass(frozen=True)
class Ledger:
    """A data directory with two keys, a work, a revoked grant and an offer to ``b``."""

    root: Path
    home: Path
    work_file: Path
    work: str
    b: str
    receipt: dict[str, Any]
    state_receipt: dict[str, Any]
    log_key: str
    revoked_grant: str
    offer: str
    ambiguous_prefix: str


def _colliding_contents(digits: int = 4) -> tuple[bytes, bytes, str]:
    """Two small contents whose SHA-256 (so whose work ids) share the first ``digits`` hex
    digits; found by counting, the same pair in every run."""
    seen: dict[str, bytes] = {}
    for n in itertools.count():
        content = f"ambiguous {n}\n".encode()
        prefix = hashlib.sha256(content).hexdigest()[:digits]
        if prefix in seen:
            return seen[prefix], content, prefix
        seen[prefix] = content
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    root = tmp_path_factory.mktemp("bad-input")
    home = root / "home"
    work_file = root / "page.png"
    work_file.write_bytes(b"a page that is anchored")
    anchored = run_json("anchor", work_file, "--json", home=home)
    b = new_key("b", home)
    grant = run_json("consent", "grant", work_file, "--purpose", "ai_training", "--to", b,
                     "--json", home=home)["id"]
    run("consent", "revoke", grant, home=home)
    offer = run_json("licence", "offer", work_file, "--to", b, "--purpose", "ai_inference",
                     "--json", home=home)["id"]
    first, second, prefix = _colliding_contents()
    for n, content in enumerate((first, second)):
        twin = root / f"twin-{n}.txt"
        twin.write_bytes(content)
        run("anchor", twin, home=home)
    assert stored_sizes(home) == (tree_size(home),) * 2  # the cheap count is the real one
    state_file = root / "state.json"
    run("receipt", work_file, "--state", "-o", state_file, home=home)
    return Ledger(root, home, work_file, anchored["work"], b,
                  json.loads(Path(anchored["receipt"]).read_text()),
                  json.loads(state_file.read_text()), log_key(home), grant, offer, prefix)


def _flip_char(text: str, at: int) -> str:
    """``text`` with the base64 character at ``at`` replaced by another one."""
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :]


def _write(ledger: Ledger, name: str, doc: Any) -> Path:
    path = ledger.root / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def _truncated(ledger: Ledger) -> Path:
    return _write(ledger, "truncated.json", json.dumps(ledger.receipt)[:200])


def _bad_base64_leaf(ledger: Ledger) -> Path:
    return _write(ledger, "bad-base64.json", {**ledger.receipt, "leaf": "!!not base64!!"})


def _flipped_event_signature(ledger: Ledger) -> Path:
    leaf = base64.b64decode(ledger.receipt["leaf"]).decode()
    at = leaf.index('"sig":"') + len('"sig":"') + 3
    edited = base64.b64encode(_flip_char(leaf, at).encode()).decode()
    return _write(ledger, "event-sig.json", {**ledger.receipt, "leaf": edited})


def _flipped_checkpoint_signature(ledger: Ledger) -> Path:
    note = ledger.receipt["checkpoint"]
    at = note.rindex(" ") + 10  # inside the signature, past the key id
    return _write(ledger, "checkpoint-sig.json",
                  {**ledger.receipt, "checkpoint": _flip_char(note, at)})


def _edited_decoded_event(ledger: Ledger) -> Path:
    event = {**ledger.receipt["event"], "actor": ledger.b}
    return _write(ledger, "edited-event.json", {**ledger.receipt, "event": event})


def _edited_tlog_proof(ledger: Ledger) -> Path:
    proof = ledger.receipt["tlog_proof"].replace("\nindex 0\n", "\nindex 1\n")
    assert proof != ledger.receipt["tlog_proof"]
    return _write(ledger, "edited-tlog-proof.json", {**ledger.receipt, "tlog_proof": proof})


def _edited_state_in_state_receipt(ledger: Ledger) -> Path:
    doc = json.loads(json.dumps(ledger.state_receipt))
    doc["works"][0]["state"]["controller"] = ledger.b  # a complete state receipt (v2)
    return _write(ledger, "edited-state.json", doc)


def _edited_decoded_event_in_state_receipt(ledger: Ledger) -> Path:
    doc = json.loads(json.dumps(ledger.state_receipt))
    doc["works"][0]["events"][0]["event"]["actor"] = ledger.b
    return _write(ledger, "edited-state-event.json", doc)


@pytest.mark.parametrize(("make", "message"), [
    (_truncated, "receipt is not valid"),
    (_bad_base64_leaf, "base64"),
    (_flipped_event_signature, "event signature by ed25519:"),
    (_flipped_checkpoint_signature, "note signature by "),
    (_edited_decoded_event, "decoded event does not match"),
    (_edited_tlog_proof, "tlog_proof does not match"),
    (_edited_decoded_event_in_state_receipt, "does not match"),
    (_edited_state_in_state_receipt, "decoded state is not the state its events give"),
], ids=["truncated JSON", "bad base64 leaf", "flipped event signature",
        "flipped checkpoint signature", "edited decoded event", "edited tlog_proof",
        "edited decoded event in a state receipt", "edited state in a state receipt"])
def test_bad_receipt(ledger: Ledger, make: Callable[[Ledger], Path], message: str) -> None:
    # A receipt that does not parse does not verify (1), as one that parses but is false.
    sizes = stored_sizes(ledger.home)
    result = run("verify", make(ledger), "--log-key", ledger.log_key, home=ledger.home,
                 ok_codes=(1,))
    assert message in assert_one_error_line(result)
    assert stored_sizes(ledger.home) == sizes


ABSENT_PREFIX = "0000dead"  # no work in the fixture's ledger has an id starting so

# Each case: the arguments (with {work}, {b}, ... filled in) and a part of the message.
COMMAND_CASES: dict[str, tuple[list[str], str]] = {
    "unknown purpose": (
        ["consent", "grant", "{work}", "--purpose", "ai_everything", "--to", "{b}"],
        "unknown purpose 'ai_everything'"),
    "impossible --until date": (
        ["consent", "grant", "{work}", "--purpose", "ai_training", "--to", "{b}",
         "--until", "2027-02-30"],
        "--until '2027-02-30' is not a date"),
    "impossible --expires date": (
        ["licence", "offer", "{work}", "--to", "{b}", "--purpose", "ai_training",
         "--expires", "2027-02-30"],
        "--expires '2027-02-30' is not a date"),
    "--fee amount a fraction of a yen": (
        ["licence", "offer", "{work}", "--to", "{b}", "--purpose", "ai_training",
         "--fee", "12.50", "JPY"],
        "--fee"),
    "--to not a key": (
        ["consent", "grant", "{work}", "--purpose", "ai_training", "--to", "ed25519:12ab"],
        "is not of the form ed25519:<64 hex>"),
    "missing file": (
        ["anchor", "{root}/no-such-page.png"],
        "no such file"),
    "mistyped file name as WORK": (
        ["status", "{root}/page-12.png"],
        "/page-12.png', and it is no work id (sha256:<64 hex>) or hex prefix of one"),
    "mistyped file name as WORK of may": (
        ["may", "{b}", "ai_training", "page-012.pn"],
        "no such file 'page-012.pn', and it is no work id"),
    "unknown work prefix": (
        ["status", "{absent_prefix}"],
        "no work"),
    "ambiguous work prefix": (
        ["status", "{ambiguous_prefix}"],
        "is ambiguous"),
    "accept with the wrong key": (
        ["licence", "accept", "{offer}"],
        "only the named licensee"),
    "revoke an offer as a grant": (
        ["consent", "revoke", "{offer}"],
        "no grant"),
    "oversized --title": (
        ["anchor", "{root}/new-page.png", "--title", "t" * 257],
        "--title must be 1 to 256 characters"),
}


@pytest.mark.parametrize("case", list(COMMAND_CASES))
def test_bad_command(ledger: Ledger, case: str) -> None:
    args, message = COMMAND_CASES[case]
    (ledger.root / "new-page.png").write_bytes(b"never anchored")
    values = {"work": str(ledger.work_file), "b": ledger.b, "root": str(ledger.root),
              "offer": ledger.offer, "revoked_grant": ledger.revoked_grant,
              "ambiguous_prefix": ledger.ambiguous_prefix, "absent_prefix": ABSENT_PREFIX}
    sizes = stored_sizes(ledger.home)
    result = run(*(a.format(**values) for a in args), home=ledger.home, ok_codes=(2,))
    assert message in assert_one_error_line(result)
    assert stored_sizes(ledger.home) == sizes


def test_ambiguous_prefix_is_resolved_by_more_digits(ledger: Ledger) -> None:
    """The ambiguous case above is real: both works exist, and a longer prefix finds one."""
    first, second, prefix = _colliding_contents()
    for content in (first, second):
        work = hashlib.sha256(content).hexdigest()
        assert work.startswith(prefix)
        status = run_json("status", work[:12], "--json", home=ledger.home)
        assert status["work"] == "sha256:" + work


def test_the_accepting_key_is_the_licensee(ledger: Ledger) -> None:
    """The wrong-key case above fails for the key, not the offer: ``b`` can accept."""
    assert public_key("b", ledger.home) == ledger.b
    accepted = run_json("licence", "accept", ledger.offer, "--key", "b", "--json",
                        home=ledger.home)
    assert accepted["type"] == "licence.accept"
