"""``verify --evidence``: a receipt from a log that evidence proves faulty is refused, and only
evidence that verifies against the trusted log key counts (specs/node.md section 5).

The log here is the data directory's own; the tests play its dishonest operator by signing
checkpoints with its log key (``log.key``), and a forger by signing with another key.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import Checkpoint, NoteSigner, SignedNote, Verifier
from provenance_ledger.ledger import Home
from provenance_ledger.ledger.keys import read_private_key
from tests.cli.conftest import Result, assert_one_error_line, log_key, run, run_json


def note(signer: NoteSigner, size: int, tag: bytes) -> str:
    """A checkpoint of ``signer``'s origin for ``size`` entries with a root made from ``tag``."""
    text = Checkpoint(signer.name, size, hashlib.sha256(tag).digest()).to_text()
    return SignedNote(text, (signer.sign(text),)).to_text()


def split_view(origin: str, notes: tuple[str, str]) -> dict[str, Any]:
    """One evidence item in the form ``node evidence --json`` and ``GET /evidence`` give."""
    return {"id": 1, "origin": origin, "kind": "split-view", "checkpoints": list(notes),
            "consistency_path": [], "detail": "two roots for size 1", "at": 1_767_225_600}


class Anchored:
    """A data directory with one anchored work, its receipt, and its log's signer."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        page = root / "page.png"
        page.write_bytes(b"a page")
        self.receipt = Path(run_json("anchor", page, "--json", home=self.home)["receipt"])
        self.vkey = log_key(self.home)
        self.origin = Verifier.from_vkey(self.vkey).name
        self.log = NoteSigner(self.origin, read_private_key(Home(self.home).log_key_path, None))
        self.root = root

    def verify_with(self, items: list[dict[str, Any]], ok: tuple[int, ...]) -> Result:
        path = self.root / "evidence.json"
        path.write_text(json.dumps({"faulty": [], "evidence": items}))
        return run("verify", self.receipt, "--log-key", self.vkey, "--evidence", path,
                   home=self.home, ok_codes=ok)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Anchored:
    """The data directory, made once for the module: the tests only read it (verify)."""
    return Anchored(tmp_path_factory.mktemp("evidence"))


@pytest.fixture
def anchored(made: Anchored, tmp_path: Path) -> Anchored:
    """:func:`made`, with this test's own folder for the evidence files it writes."""
    own = copy.copy(made)
    own.root = tmp_path
    return own


def test_evidence_signed_by_the_log_key_refuses_its_receipts(anchored: Anchored) -> None:
    a = anchored
    genuine = split_view(a.origin, (note(a.log, 1, b"one"), note(a.log, 1, b"other")))
    message = assert_one_error_line(a.verify_with([genuine], ok=(1,)))
    assert "faulty" in message and a.origin in message


@pytest.mark.parametrize("case", ["one note twice", "signed by another key"])
def test_evidence_that_proves_nothing_is_not_used_and_says_so(anchored: Anchored,
                                                               case: str) -> None:
    a = anchored
    if case == "one note twice":
        same = note(a.log, 1, b"one")
        item = split_view(a.origin, (same, same))
    else:
        forger = NoteSigner(a.origin, PrivateKey.from_seed(bytes([9]) * 32))
        item = split_view(a.origin, (note(forger, 1, b"one"), note(forger, 1, b"other")))
    out, err = a.verify_with([item], ok=(0,))[1:]
    assert out.startswith("OK: work.register")
    (warning,) = err.splitlines()
    assert warning.startswith(f"warning: evidence 1 about {a.origin} in ")
    assert "evidence.json does not verify" in warning


def test_evidence_about_another_log_is_passed_over(anchored: Anchored) -> None:
    a = anchored
    other = NoteSigner("other.example/log", PrivateKey.from_seed(bytes([8]) * 32))
    item = split_view(other.name, (note(other, 1, b"one"), note(other, 1, b"other")))
    out, err = a.verify_with([item], ok=(0,))[1:]
    assert out.startswith("OK: work.register") and err == ""


@pytest.mark.parametrize("case", ["not an item", "a note that does not parse"])
def test_a_malformed_item_is_passed_over_with_a_warning(anchored: Anchored, case: str) -> None:
    a = anchored
    if case == "not an item":
        item: dict[str, Any] = {"origin": a.origin}
    else:
        item = split_view(a.origin, ("not a signed note", note(a.log, 1, b"other")))
    genuine = split_view(a.origin, (note(a.log, 1, b"one"), note(a.log, 1, b"other")))
    out, err = a.verify_with([item], ok=(0,))[1:]
    assert out.startswith("OK: work.register")
    (warning,) = err.splitlines()
    assert warning.startswith("warning: ") and "evidence.json" in warning
    # The same file with a genuine item as well still refuses the receipt.
    refused = a.verify_with([item, genuine], ok=(1,)).err.splitlines()
    assert [line.split(":")[0] for line in refused] == ["warning", "error"]
    assert "faulty" in refused[1]


def test_a_file_that_is_not_evidence_is_one_error(anchored: Anchored) -> None:
    a = anchored
    path = a.root / "not-evidence.json"
    path.write_text('{"evidence": "nope"}')
    result = run("verify", a.receipt, "--log-key", a.vkey, "--evidence", path, home=a.home,
                 ok_codes=(2,))
    assert "evidence" in assert_one_error_line(result)
