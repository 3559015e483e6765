"""``provenance verify`` on decision receipts and state receipts v2, through the real CLI in a
subprocess (specs/cli.md section 3.6, specs/receipts.md sections 11-13).

The receipts come from a log of real signed events, real inclusion proofs, a real map and real
witness cosignatures (tests/data/current/make_vectors.py), timed relative to the clock at the
start of the test so that ``--max-age`` has hours of margin on either side: nothing sleeps.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.current import DECISION_RECEIPT_SCOPE, STATE_RECEIPT_V2_SCOPE
from provenance_ledger.core.note import NoteSigner, SignedNote
from provenance_ledger.core.receipt import STATE_RECEIPT_SCOPE, StateReceipt
from tests.vectors import load_generator

from .conftest import assert_one_error_line, run

DATA = Path(__file__).resolve().parents[1] / "data" / "current"


gen = load_generator(DATA / "make_vectors.py", "current_make_vectors")
A, B, C, U = (gen.work_of(n) for n in "ABCU")
HOUR = 3600


class Files:
    """The receipts of the story, written as a user keeps them, and the trust inputs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        now = int(time.time())
        # Checkpoint 1 (the grant): block 3 h ago, newest cosignature 2 h ago.
        # Checkpoint 2 (the revocation): block 10 min ago, newest cosignature 1 min ago.
        t0 = now - 3 * HOUR
        t2 = now - 600
        self.story = gen.build_story(t0, cosigned=(now - 2 * HOUR - 5, now - 65),
                                     gap=t2 - (t0 + 90))
        log, dev = self.story.log, self.story.developer.public.text
        self.t1, self.t2 = self.story.times
        assert self.t2 == t2
        self.dev = dev
        self.granted = self.write("granted.json",
                                  log.decision_receipt(A, 4, dev, "ai_training", self.t1))
        self.revoked = self.write("revoked.json",
                                  log.decision_receipt(A, 6, dev, "ai_training", self.t2))
        self.unregistered = self.write("unregistered.json",
                                       log.decision_receipt(U, 6, dev, "ai_training", self.t2))
        self.batch = self.write("batch.json", log.state_receipt([A, B, U, C], 6))
        self.vkey = log.vkey
        w = self.story.witnesses
        self.policy = root / "policy.txt"
        self.policy.write_text(f"log {log.vkey}\nwitness w1 {w['w1'].verifier.to_vkey()}\n"
                               f"witness w2 {w['w2'].verifier.to_vkey()}\n"
                               "group both all w1 w2\nquorum both\n")

    def write(self, name: str, doc: dict[str, Any]) -> Path:
        path = self.root / name
        path.write_text(json.dumps(doc, indent=2))
        return path

    def verify(self, path: Path, *extra: str, code: int = 0, policy: bool = True) -> Any:
        trust = ("--policy", str(self.policy)) if policy else ("--log-key", self.vkey)
        return run("verify", path, *trust, *extra, home=self.home, ok_codes=(code,))


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def test_granted_then_revoked_and_the_old_proof_is_not_current(files: Files) -> None:
    # The first checkpoint's proof: allowed, citing the grant.
    out = json.loads(files.verify(files.granted, "--json").out)
    assert out["valid"] and out["allowed"] and out["registered"]
    assert out["format"] == "provenance-ledger/decision-receipt/v1"
    assert out["scope"] == DECISION_RECEIPT_SCOPE
    assert out["tree_size"] == 4 and out["events"] == [files.story.grant_id]
    assert set(out["cosigners"]) == {"w1", "w2"}
    assert out["statement"].startswith("as of checkpoint 4 of current.example/log (tree size "
                                       "4, cosigned at ")
    assert "by witness w1" in out["statement"] and "by witness w2" in out["statement"]
    assert (f"key {files.dev} may use work {A} for purpose ai_training" in out["statement"])
    # receipts made by the library without key records: the statement says what that leaves
    assert out["keys_proven"] is False
    assert out["statement"].endswith(f"citing consent grant {files.story.grant_id}; no later "
                                     f"event of {A} exists up to 4; this receipt holds no key "
                                     "records, so a rotation or compromise of the controller's "
                                     "key is not ruled out")
    assert 2 * HOUR <= out["age_seconds"] < 2 * HOUR + 600
    # The next checkpoint's proof: not allowed, revoked.
    text = files.verify(files.revoked).out
    assert text.startswith("OK: as of checkpoint 6 of current.example/log (tree size 6, ")
    assert f"key {files.dev} may not use work {A} for purpose ai_training" in text
    assert f"revoked by {files.story.revoke_id}" in text
    assert f"no later event of {A} exists up to 6" in text
    out = json.loads(files.verify(files.revoked, "--json", "--max-age", "10m").out)
    assert not out["allowed"] and out["max_age_seconds"] == 600
    assert out["citing"][0].startswith(f"consent grant {files.story.grant_id}, revoked by")
    # The first proof can no longer pass for current: its newest cosignature is 2 h old.
    refused = files.verify(files.granted, "--max-age", "1h", code=1)
    line = assert_one_error_line(refused)
    assert line.startswith("error: decision receipt does not verify: it is fresh as of ")
    assert "older than --max-age 1h" in line
    files.verify(files.granted, "--max-age", "3h")
    files.verify(files.granted, "--max-age", "200m")


def test_max_age_without_witnesses_counts_the_checkpoint_time(files: Files) -> None:
    """With only a log key, the proof is as fresh as its checkpoint's block time (3 h ago
    for the first checkpoint), whatever witnesses signed."""
    line = assert_one_error_line(files.verify(files.granted, "--max-age", "150m", code=1,
                                              policy=False))
    assert "older than --max-age 2h 30m" in line and "checkpoint's own time" in line
    out = json.loads(files.verify(files.granted, "--max-age", "4h", "--json",
                                  policy=False).out)
    assert out["cosigners"] == {} and out["fresh_as_of"] == out["checkpoint_time"]
    assert "signed by the log at" in out["statement"]


def test_absence(files: Files) -> None:
    out = json.loads(files.verify(files.unregistered, "--json").out)
    assert out["valid"] and not out["registered"] and not out["allowed"]
    assert out["state"] is None and out["events"] == []
    assert (f"work {U} was not registered on log current.example/log as of tree size 6: key "
            f"{files.dev} may not use it for purpose ai_training") in out["statement"]


def test_batch(files: Files) -> None:
    out = json.loads(files.verify(files.batch, "--json", "--max-age", "1h").out)
    assert out["format"] == "provenance-ledger/state-receipt/v2"
    assert out["scope"] == STATE_RECEIPT_V2_SCOPE
    assert [(w["work"], w["registered"], w["events"]) for w in out["works"]] == [
        (A, True, 3), (B, True, 2), (U, False, 0), (C, True, 1)]
    assert out["works"][0]["head"] == files.story.revoke_id
    assert out["works"][2]["statement"] == (f"{U} was not registered on log "
                                            "current.example/log as of tree size 6")
    assert out["works"][0]["statement"].endswith("no later event of it exists up to 6")
    text = files.verify(files.batch).out
    assert f"{U} was not registered on log current.example/log as of tree size 6" in text


def _flip_last_bit(b64: str) -> str:
    raw = base64.b64decode(b64)
    return base64.b64encode(raw[:-1] + bytes([raw[-1] ^ 1])).decode()


def _tampered(files: Files, change: Any) -> Path:
    doc = json.loads(files.revoked.read_text())
    doc.pop("decision")
    doc["state_receipt"]["works"][0].pop("state")
    change(doc)
    return files.write("tampered.json", doc)


@pytest.mark.parametrize("name,change,message", [
    ("omitted last event", lambda d: d["state_receipt"]["works"][0]["events"].pop(),
     "left out or added"),
    ("event dropped from the middle",
     lambda d: d["state_receipt"]["works"][0]["events"].pop(1), "breaks the rules"),
    ("another work", lambda d: d["state_receipt"]["works"][0].__setitem__("work", U),
     "map proof"),
    ("map proof bit", lambda d: d["state_receipt"].__setitem__(
        "map_proof", _flip_last_bit(d["state_receipt"]["map_proof"])), "map proof"),
    ("unknown member", lambda d: d.__setitem__("comment", "x"), "unknown field 'comment'"),
    ("question", lambda d: d["question"].__setitem__("purpose", "not a purpose"),
     "unknown purpose"),
])
def test_tampering_does_not_verify(files: Files, name: str, change: Any, message: str) -> None:
    line = assert_one_error_line(files.verify(_tampered(files, change), code=1))
    assert line.startswith(("error: decision receipt does not verify: ",
                            "error: receipt does not verify: "))
    assert message in line


def test_map_root_line_edited(files: Files) -> None:
    old = SignedNote.from_text(files.story.log.notes[4])
    path = _tampered(files, lambda d: d["state_receipt"].__setitem__(
        "checkpoint", gen._replace_map_line(d["state_receipt"]["checkpoint"], old.to_text())))
    line = assert_one_error_line(files.verify(path, code=1))
    assert "note signature by current.example/log does not verify" in line


def test_quorum_and_file(files: Files) -> None:
    strict = files.root / "strict.txt"
    w3 = NoteSigner("witness.example/w3", gen.key("w3"), cosigner=True).verifier.to_vkey()
    strict.write_text(files.policy.read_text().replace("quorum both",
                                                       f"witness w3 {w3}\nquorum w3"))
    line = assert_one_error_line(run("verify", files.revoked, "--policy", strict,
                                     home=files.home, ok_codes=(1,)))
    assert "witness quorum not met" in line
    content = files.root / "a.png"
    content.write_bytes(b"content of work A")
    files.verify(files.batch, "--file", str(content))
    other = files.root / "other.png"
    other.write_bytes(b"something else")
    line = assert_one_error_line(files.verify(files.batch, "--file", str(other), code=1))
    assert "is not a work of this receipt" in line


def test_v1_state_receipt_keeps_its_old_statement(files: Files) -> None:
    log = files.story.log
    events = log.events_of(A, 6)[:-1]  # the revocation left out: v1 cannot tell
    v1 = StateReceipt(log.vkey, log.notes[6], A,
                      tuple((i, leaf, tuple(p)) for i, leaf, p in events))
    path = files.write("v1.json", v1.to_json())
    out = files.verify(path).out
    assert out.startswith(f"OK: state of {A} from 2 events")
    assert f"note: this {STATE_RECEIPT_SCOPE}" in out
    line = assert_one_error_line(files.verify(path, "--max-age", "1d", code=1))
    assert "proves no current state, so it cannot meet --max-age" in line


@pytest.mark.parametrize("value", ["1.5h", "0s", "7", "1w", ""])
def test_bad_max_age_is_bad_input(files: Files, value: str) -> None:
    line = assert_one_error_line(files.verify(files.revoked, "--max-age", value, code=2))
    assert line.startswith("error: --max-age: ")
