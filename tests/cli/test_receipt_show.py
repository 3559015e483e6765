"""``provenance receipt show FILE``: a receipt in words, with nothing verified and saying so
(specs/cli.md section 3.12); and ``provenance receipt WORK`` unchanged beside it.

The tests cosign a receipt's checkpoint with a witness key of their own (as
tests/cli/test_policy.py does) to see the cosigner named, and alter a receipt to see that
``show`` describes what a file claims while ``verify`` refuses it.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner, SignedNote
from provenance_ledger.core.receipt import Receipt
from tests.cli.conftest import (
    PROVENANCE,
    TIMEOUT,
    assert_one_error_line,
    log_key,
    run,
    run_json,
    user_home,
)

COSIGNED_AT = 1_767_225_600  # 2026-01-01T00:00:00Z
WITNESS = NoteSigner("witness.example/w1", PrivateKey.from_seed(b"\x07" * 32), cosigner=True)


@dataclasses.dataclass
class Kept:
    root: Path
    home: Path
    page: Path
    work: str
    receipt: Path
    state: Path
    log_key: str


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Kept:
    root = tmp_path_factory.mktemp("receipt-show")
    home = root / "home"
    page = root / "page-012.png"
    page.write_bytes(b"a page whose receipt is kept")
    anchored = run_json("anchor", page, "--title", "Page 12", "--json", home=home)
    run("consent", "grant", page, "--purpose", "ai_training", "--anyone", home=home)
    receipt, state = root / "page-012.receipt.json", root / "page-012.state.json"
    run("receipt", page, "-o", receipt, home=home)  # the old form, unchanged
    run("receipt", page, "--state", "-o", state, home=home)
    return Kept(root, home, page, anchored["work"], receipt, state, log_key(home))


def _cosigned(kept: Kept) -> Path:
    doc: dict[str, Any] = json.loads(kept.receipt.read_text())
    note = SignedNote.from_text(doc["checkpoint"])
    cosigned = note.with_signatures([WITNESS.sign(note.text, COSIGNED_AT)]).to_text()
    doc["checkpoint"] = cosigned
    doc["tlog_proof"] = dataclasses.replace(Receipt.from_json(doc), checkpoint=cosigned
                                            ).tlog_proof()
    path = kept.root / "cosigned.json"
    path.write_text(json.dumps(doc))
    return path


def test_show_says_first_that_nothing_was_verified(kept: Kept) -> None:
    out = run("receipt", "show", kept.receipt, home=kept.home).out.splitlines()
    assert out[0].startswith("NOTHING WAS VERIFIED: ")
    assert f"provenance verify {kept.receipt} --log-key VKEY" in out[0]
    text = "\n".join(out)
    anchored = json.loads(kept.receipt.read_text())["event"]
    assert f"receipt of work {kept.work}" in text
    assert f"  work.register {anchored['id']}" in text
    assert f"    actor:      {anchored['actor']}" in text
    assert f"    at:         {anchored['at']} (signer's clock)" in text
    assert "    leaf index: 0" in text
    origin = kept.log_key.split("+")[0]
    assert f"log:         {origin}, tree size 2, checkpoint time " in text
    assert f"log key:     {kept.log_key} " in text
    assert "cosigners:   none named in the checkpoint" in text


def test_show_names_the_cosigners_in_the_note(kept: Kept) -> None:
    path = _cosigned(kept)
    out = run("receipt", "show", path, home=kept.home).out
    assert "cosigner:    witness.example/w1, claims time 2026-01-01T00:00:00Z" in out
    doc = run_json("receipt", "show", path, "--json", home=kept.home)
    assert doc["verified"] is False
    assert doc["signatures"][-1] == {"name": "witness.example/w1",
                                     "claimed_time": "2026-01-01T00:00:00Z"}


def test_show_json(kept: Kept) -> None:
    doc = run_json("receipt", "show", kept.receipt, "--json", home=kept.home)
    assert doc["verified"] is False
    assert doc["kind"] == "receipt"
    assert doc["work"] == kept.work
    (event,) = doc["events"]
    assert (event["type"], event["leaf_index"]) == ("work.register", 0)
    assert doc["checkpoint"]["tree_size"] == 2
    assert doc["log_key"] == kept.log_key
    assert doc["verify_with"].startswith(f"provenance verify {kept.receipt} ")


def test_show_a_state_receipt(kept: Kept) -> None:
    out = run("receipt", "show", kept.state, home=kept.home).out
    assert out.startswith("NOTHING WAS VERIFIED: ")
    assert f"complete state receipt of work {kept.work}" in out  # v2: with the map proof
    assert "  work.register " in out and "  consent.grant " in out
    assert "scope:       proves, for each work listed" in out and "map root:    " in out
    doc = run_json("receipt", "show", kept.state, "--json", home=kept.home)
    assert [(e["type"], e["leaf_index"]) for e in doc["events"]] == [
        ("work.register", 0), ("consent.grant", 1)]


def test_show_describes_an_altered_receipt_that_verify_refuses(kept: Kept) -> None:
    doc = json.loads(kept.receipt.read_text())
    leaf = base64.b64decode(doc["leaf"]).replace(b"Page 12", b"Page 13")
    doc["leaf"] = base64.b64encode(leaf).decode()
    del doc["event"], doc["tlog_proof"]
    altered = kept.root / "altered.json"
    altered.write_text(json.dumps(doc))
    shown = run("receipt", "show", altered, home=kept.home).out
    assert shown.startswith("NOTHING WAS VERIFIED")  # it says what the file claims
    refused = run("verify", altered, "--log-key", kept.log_key, home=kept.home, ok_codes=(1,))
    assert "does not verify" in assert_one_error_line(refused)


@pytest.mark.parametrize(("content", "message"), [
    (b"{\"format\": \"something/else\"}", "is not a receipt"),
    (b"not json", "JSON"),
    (b"{\"a\": 1, \"a\": 2}", "duplicate"),
])
def test_show_refuses_what_is_no_receipt(kept: Kept, content: bytes, message: str) -> None:
    path = kept.root / "bad.json"
    path.write_bytes(content)
    result = run("receipt", "show", path, home=kept.home, ok_codes=(2,))
    assert message in assert_one_error_line(result)


def test_show_a_missing_file(kept: Kept) -> None:
    result = run("receipt", "show", kept.root / "absent.json", home=kept.home, ok_codes=(2,))
    assert "cannot read receipt" in assert_one_error_line(result)


def test_receipt_of_a_work_is_unchanged(kept: Kept) -> None:
    printed = json.loads(run("receipt", kept.page, home=kept.home).out)
    assert printed == json.loads(kept.receipt.read_text())
    assert json.loads(run("receipt", "get", kept.work, home=kept.home).out) == printed
    assert run("receipt", "--state", kept.page, home=kept.home).out == kept.state.read_text()
    run("verify", kept.receipt, "--log-key", kept.log_key, home=kept.home)


def test_a_file_named_show_is_a_work(kept: Kept) -> None:
    """``receipt ./show`` is the receipt of the file ``show``; ``receipt show`` the command."""
    (kept.root / "show").write_bytes(b"a file named show")
    run("anchor", kept.root / "show", home=kept.home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(kept.home), "HOME": str(user_home(kept.home)),
                "NO_COLOR": "1"})
    proc = subprocess.run([str(PROVENANCE), "receipt", "./show", "-o", "show.json"],
                          cwd=kept.root, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stderr
    shown = run_json("receipt", "show", kept.root / "show.json", "--json", home=kept.home)
    assert shown["events"][0]["type"] == "work.register"
