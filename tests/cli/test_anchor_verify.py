"""The core ledger through the CLI: ``anchor``, ``receipt``, ``verify`` and ``log``.

One data directory for the module: the first test sees it created by the first ``anchor``;
the later ones add to it. Tests that damage the ledger work on a copy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from tlog_scales.signing import Vkey

from provenance_ledger.core.merkle import verify_consistency
from provenance_ledger.core.note import Checkpoint, SignedNote
from provenance_ledger.errors import VerificationError
from tests.cli.conftest import (
    assert_one_error_line,
    log_key,
    new_key,
    run,
    run_json,
    tree_size,
)
from tests.scales import ScalesCheckpoint

PAGE = b"\x89PNG\r\n\x1a\n chapter 1, page 12"


@dataclass(frozen=True)
class Anchored:
    """The module's ledger after its first ``anchor``."""

    home: Path
    file: Path
    out: str
    work: str
    receipt: Path
    log_key: str


def _field(out: str, label: str) -> str:
    """The value after ``label:`` in the human output of ``anchor``."""
    for line in out.splitlines():
        if line.strip().startswith(label + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {label!r} line in:\n{out}")


@pytest.fixture(scope="module")
def anchored(tmp_path_factory: pytest.TempPathFactory) -> Anchored:
    root = tmp_path_factory.mktemp("anchor")
    home = root / "home"
    page = root / "page-012.png"
    page.write_bytes(PAGE)
    out = run("anchor", page, home=home).out
    # A second work, so that the log has an entry at index 1 to tamper with.
    second = root / "page-013.png"
    second.write_bytes(PAGE + b" and 13")
    run("anchor", second, home=home)
    return Anchored(home, page, out, "sha256:" + hashlib.sha256(PAGE).hexdigest(),
                    Path(_field(out, "receipt")), log_key(home))


def test_first_anchor_creates_the_home_with_private_key_files(anchored: Anchored) -> None:
    assert stat.S_IMODE(anchored.home.stat().st_mode) == 0o700
    assert (anchored.home / "ledger.db").is_file()
    for key_file in (anchored.home / "log.key", anchored.home / "keys" / "default.key"):
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, key_file


def test_first_anchor_prints_the_work_id_and_the_receipt_path(anchored: Anchored) -> None:
    assert _field(anchored.out, "work") == anchored.work
    assert anchored.receipt.is_file()
    receipt = json.loads(anchored.receipt.read_text())
    assert receipt["event"]["work"] == anchored.work
    assert receipt["event"]["type"] == "work.register"
    event_id = receipt["event"]["id"]
    assert _field(anchored.out, "event").split()[0] == event_id
    # specs/cli.md 1.2: <first 16 hex of the work>-<event type>-<first 12 hex of the event id>
    work_hex = anchored.work.removeprefix("sha256:")
    assert anchored.receipt == (
        anchored.home / "receipts" / f"{work_hex[:16]}-work.register-{event_id[:12]}.json")


def test_receipt_verifies_with_the_log_key(anchored: Anchored) -> None:
    out = run("verify", anchored.receipt, "--log-key", anchored.log_key, home=anchored.home).out
    assert out.startswith("OK: work.register ")
    assert anchored.work in out


def test_verify_with_the_anchored_file(anchored: Anchored) -> None:
    out = run("verify", anchored.receipt, "--log-key", anchored.log_key, "--file",
              anchored.file, home=anchored.home).out
    assert "(file matches)" in out


def test_verify_with_another_file_says_it_is_not_the_content(
    anchored: Anchored, tmp_path: Path
) -> None:
    other = tmp_path / "other.png"
    other.write_bytes(PAGE + b"!")
    result = run("verify", anchored.receipt, "--log-key", anchored.log_key, "--file", other,
                 home=anchored.home, ok_codes=(1,))
    message = assert_one_error_line(result)
    assert "is not the anchored content" in message
    assert anchored.work in message


def test_verify_with_another_logs_key_fails(anchored: Anchored, tmp_path: Path) -> None:
    stranger = log_key(tmp_path / "other-home")
    assert stranger != anchored.log_key
    result = run("verify", anchored.receipt, "--log-key", stranger, home=anchored.home,
                 ok_codes=(1,))
    assert "no trusted log key" in assert_one_error_line(result)


def test_anchoring_again_with_the_same_key_appends_nothing(anchored: Anchored) -> None:
    size = tree_size(anchored.home)
    out = run("anchor", anchored.file, home=anchored.home).out
    assert out.startswith(f"already registered: {anchored.work}")
    assert "nothing appended" in out
    assert tree_size(anchored.home) == size


def test_anchoring_the_same_content_with_another_key_is_refused(
    anchored: Anchored, tmp_path: Path
) -> None:
    new_key("rival", anchored.home)
    registration = json.loads(anchored.receipt.read_text())["event"]["id"]
    copy = tmp_path / "copy-of-page.png"
    copy.write_bytes(PAGE)
    size = tree_size(anchored.home)
    result = run("anchor", copy, "--key", "rival", home=anchored.home, ok_codes=(2,))
    message = assert_one_error_line(result)
    assert "already registered by another key" in message
    assert registration in message
    assert tree_size(anchored.home) == size


@pytest.mark.parametrize("how", ["file path", "full id", "id without sha256:", "prefix"])
def test_receipt_of_a_work(anchored: Anchored, tmp_path: Path, how: str) -> None:
    work = {
        "file path": str(anchored.file),
        "full id": anchored.work,
        "id without sha256:": anchored.work.removeprefix("sha256:"),
        "prefix": anchored.work.removeprefix("sha256:")[:8],
    }[how]
    out_file = tmp_path / "receipt.json"
    out = run("receipt", work, "-o", out_file, home=anchored.home).out
    assert out.strip() == f"receipt of {anchored.work} written to {out_file}"
    receipt = json.loads(out_file.read_text())
    assert receipt["event"]["work"] == anchored.work
    assert receipt["event"]["type"] == "work.register"
    run("verify", out_file, "--log-key", anchored.log_key, home=anchored.home)
    state_file = tmp_path / "state.json"
    said = run("receipt", work, "--state", "-o", state_file, home=anchored.home).out
    assert said.strip() == f"state receipt of {anchored.work} written to {state_file}"


def test_log_checkpoint_is_a_signed_note_that_tlog_scales_verifies(anchored: Anchored) -> None:
    text = run("log", "checkpoint", home=anchored.home).out
    checkpoint = ScalesCheckpoint.from_text(text)
    checkpoint.verify(Vkey.from_string(anchored.log_key))
    assert checkpoint.origin == anchored.log_key.split("+")[0]
    assert checkpoint.size >= 2


def test_log_consistency_proofs_verify_between_checkpoints(
    anchored: Anchored, tmp_path: Path
) -> None:
    checkpoints: dict[int, Checkpoint] = {}
    for n in range(4):
        page = tmp_path / f"extra-{n}.png"
        page.write_bytes(PAGE + f" extra {n}".encode())
        run("anchor", page, home=anchored.home)
        note = SignedNote.from_text(run("log", "checkpoint", home=anchored.home).out)
        cp = Checkpoint.from_text(note.text)
        checkpoints[cp.size] = cp
    sizes = sorted(checkpoints)
    assert sizes == list(range(sizes[0], sizes[0] + 4))
    for old, new in ((sizes[0], sizes[-1]), (sizes[1], sizes[2]), (sizes[2], sizes[2])):
        doc = run_json("log", "consistency", str(old), str(new), home=anchored.home)
        assert (doc["old_size"], doc["new_size"]) == (old, new)
        proof = [base64.b64decode(h) for h in doc["consistency_proof"]]
        verify_consistency(old, new, proof, checkpoints[old].root, checkpoints[new].root)
        if old != new:
            with pytest.raises(VerificationError):  # the proof is bound to these roots
                verify_consistency(old, new, proof, checkpoints[new].root,
                                   checkpoints[new].root)


def test_log_consistency_with_sizes_out_of_order_is_an_error(anchored: Anchored) -> None:
    result = run("log", "consistency", "2", "1", home=anchored.home, ok_codes=(2,))
    assert "old <= new" in assert_one_error_line(result)


def test_log_audit_passes_on_a_clean_ledger(anchored: Anchored) -> None:
    out = run("log", "audit", home=anchored.home).out
    assert out.startswith("OK: ")
    report = run_json("log", "audit", "--json", home=anchored.home)
    assert report["ok"] is True
    assert report["entries"] == tree_size(anchored.home)


def _edit_size(leaf: bytes) -> bytes:
    """The same event with another size: valid JSON whose signature no longer matches."""
    event = json.loads(leaf)
    event["event"]["body"]["size"] += 1
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


def _not_canonical(leaf: bytes) -> bytes:
    """The same event with a space after the first colon: the JSON is still valid (the
    database refuses to store a leaf that is not JSON), but it is no longer canonical."""
    return leaf.replace(b":", b": ", 1)


@pytest.mark.parametrize("tamper", [_edit_size, _not_canonical],
                         ids=["edited event", "not canonical"])
def test_log_audit_names_the_tampered_index(
    anchored: Anchored, tmp_path: Path, tamper: Callable[[bytes], bytes]
) -> None:
    home = tmp_path / "home"
    shutil.copytree(anchored.home, home)
    db = sqlite3.connect(home / "ledger.db")
    try:
        (leaf,) = db.execute("SELECT leaf FROM entries WHERE idx = 1").fetchone()
        db.execute("UPDATE entries SET leaf = ? WHERE idx = 1", (tamper(bytes(leaf)),))
        db.commit()
    finally:
        db.close()
    result = run("log", "audit", home=home, ok_codes=(1,))
    assert "index 1" in assert_one_error_line(result)
