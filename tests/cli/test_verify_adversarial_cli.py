"""``provenance verify`` attacked as a party to a dispute would, through the real CLI
(specs/receipts.md sections 4, 12 and 13; specs/cli.md section 3.6).

A creator grants a developer ``ai_training`` on a page (a block three hours ago), then revokes
it (a block ten minutes ago). ``may --proof`` writes the developer's decision receipt at each
step; witnesses cosign each checkpoint with their own keys, as a witness does. The developer
then tries to pass the first, "allowed", receipt off as current, and to make a policy count
one witness twice; the tests check what ``verify`` says, in words and in ``--json``. The
ledger home is built with the library at past ledger times, so nothing waits.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.core.note import NoteSignature, NoteSigner, SignedNote
from provenance_ledger.errors import LedgerError
from provenance_ledger.ledger import Home

from .conftest import assert_one_error_line, log_key, run

HOUR = 3600
CREATOR = PrivateKey.from_seed(bytes([61]) * 32)
DEVELOPER = PrivateKey.from_seed(bytes([62]) * 32)
WITNESSES = {n: NoteSigner(f"witness.example/{n}", PrivateKey.from_seed(bytes([70 + i]) * 32),
                           cosigner=True) for i, n in enumerate(("w1", "w2", "w3"))}


def _ev(type_: str, work: str, prev: str | None, at: int, body: dict[str, Any]) -> SignedEvent:
    return sign_event(Event(type_, work, prev, CREATOR.public.text, at, body), CREATOR)


def _append(home: Path, events: list[SignedEvent], at: int) -> None:
    ledger = Home(home).open_ledger()
    try:
        results = ledger.append_block([e.leaf for e in events], at)
    finally:
        ledger.close()
    assert not [r for r in results if isinstance(r, LedgerError)], results


def cosign(note: str, name: str, at: int) -> str:
    signed = SignedNote.from_text(note)
    return signed.with_signatures([WITNESSES[name].sign(signed.text, at)]).to_text()


class Dispute:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        now = int(time.time())
        self.t1, self.t2 = now - 3 * HOUR, now - 600
        self.page = root / "page.png"
        self.page.write_bytes(b"the page in dispute")
        self.work = work_id_of(hashlib.sha256(self.page.read_bytes()).hexdigest())
        reg = _ev("work.register", self.work, None, self.t1,
                  {"size": 19, "media_type": "image/png"})
        self.grant = _ev("consent.grant", self.work, reg.id, self.t1,
                         {"grantee": DEVELOPER.public.text, "purposes": ["ai_training"]})
        _append(self.home, [reg, self.grant], self.t1)
        self.vkey = log_key(self.home)
        self.granted_raw = self.may("granted.json")
        self.fork = root / "fork"
        shutil.copytree(self.home, self.fork)
        self.revoke = _ev("consent.revoke", self.work, self.grant.id, self.t2,
                          {"grant": self.grant.id})
        _append(self.home, [self.revoke], self.t2)
        self.revoked_raw = self.may("revoked.json", code=1)
        # Both witnesses cosigned each checkpoint a minute after its block.
        self.granted = self.with_note(self.granted_raw, "granted.cosigned.json",
                                      self.cosigned(self.granted_raw, self.t1 + 60, "w1", "w2"))
        self.revoked = self.with_note(self.revoked_raw, "revoked.cosigned.json",
                                      self.cosigned(self.revoked_raw, self.t2 + 60, "w1", "w2"))

    def may(self, name: str, code: int = 0, home: Path | None = None) -> Path:
        path = self.root / name
        run("may", DEVELOPER.public.text, "ai_training", self.page, "--proof", path,
            home=home or self.home, ok_codes=(code,))
        return path

    @staticmethod
    def doc(path: Path) -> Any:
        return json.loads(path.read_text())

    def note(self, path: Path) -> str:
        note: str = self.doc(path)["state_receipt"]["checkpoint"]
        return note

    def cosigned(self, path: Path, at: int, *names: str) -> str:
        note = self.note(path)
        for name in names:
            note = cosign(note, name, at)
        return note

    def with_note(self, path: Path, name: str, note: str) -> Path:
        doc = self.doc(path)
        doc["state_receipt"]["checkpoint"] = note
        out = self.root / name
        out.write_text(json.dumps(doc, indent=2))
        return out

    def policy(self, name: str, *lines: str) -> Path:
        path = self.root / name
        witnesses = [f"witness {n} {w.verifier.to_vkey()}" for n, w in WITNESSES.items()]
        path.write_text("\n".join([f"log {self.vkey}", *witnesses, *lines, ""]))
        return path

    def verify(self, receipt: Path, *extra: str | Path, code: int = 0) -> Any:
        return run("verify", receipt, *extra, home=self.home, ok_codes=(code,))


@pytest.fixture(scope="module")
def dispute(tmp_path_factory: pytest.TempPathFactory) -> Dispute:
    return Dispute(tmp_path_factory.mktemp("dispute"))


def test_the_receipts_say_what_they_prove(dispute: Dispute) -> None:
    """The --json members and the words agree, and name the checkpoint and the witnesses."""
    both = dispute.policy("both.txt", "group both all w1 w2", "quorum both")
    g = json.loads(dispute.verify(dispute.granted, "--policy", both, "--json").out)
    r = json.loads(dispute.verify(dispute.revoked, "--policy", both, "--json").out)
    origin = g["origin"]
    t1 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(dispute.t1 + 60))
    t2 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(dispute.t2 + 60))
    assert g["valid"] and g["allowed"] and g["tree_size"] == 2
    assert g["statement"].startswith(f"as of checkpoint 2 of {origin} (tree size 2, cosigned "
                                     f"at {t1} by witnesses w1, w2), key "
                                     f"{DEVELOPER.public.text} may use work {dispute.work}")
    assert g["cosigners"] == {"w1": t1, "w2": t1} and g["fresh_as_of"] == t1
    # "valid" is about the receipt; the answer is "allowed", and the words say the same.
    assert r["valid"] and r["allowed"] is False and r["registered"]
    assert r["statement"].startswith(f"as of checkpoint 3 of {origin} (tree size 3, cosigned "
                                     f"at {t2} by witnesses w1, w2), key "
                                     f"{DEVELOPER.public.text} may not use work")
    assert f"revoked by {dispute.revoke.id}" in r["statement"]
    assert r["events"] == [dispute.grant.id]
    text = dispute.verify(dispute.revoked, "--policy", both).out
    assert text.startswith(f"OK: {r['statement']}\n")
    assert "may use" not in text


def test_one_witness_re_cosigning_the_old_checkpoint_does_not_make_it_current(
        dispute: Dispute) -> None:
    """HOLE (fixed): the quorum is w1 and w2. w1 alone cosigns the grant's checkpoint again,
    now (colluding with the developer, or its clock wrong). ``--max-age 1h`` took the newest
    cosignature and passed the revoked consent off as current."""
    note = cosign(dispute.note(dispute.granted), "w1", int(time.time()))
    stale = dispute.with_note(dispute.granted, "stale.json", note)
    both = dispute.policy("both-again.txt", "group both all w1 w2", "quorum both")
    line = assert_one_error_line(dispute.verify(stale, "--policy", both, "--max-age", "1h",
                                                code=1))
    t1 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(dispute.t1 + 60))
    assert line.startswith(f"error: decision receipt does not verify: it is fresh as of {t1}")
    assert "older than --max-age 1h" in line
    out = json.loads(dispute.verify(stale, "--policy", both, "--json").out)
    assert out["fresh_as_of"] == t1 and out["age_seconds"] >= 2 * HOUR
    # With w1 alone as the quorum, w1's word is the policy's: fresh.
    alone = dispute.policy("w1.txt", "quorum w1")
    dispute.verify(stale, "--policy", alone, "--max-age", "1h")
    # The honest receipt of the revocation is current under either.
    dispute.verify(dispute.revoked, "--policy", both, "--max-age", "1h")


def test_a_witness_outside_the_quorum_does_not_make_it_current(dispute: Dispute) -> None:
    """HOLE (fixed): w3 is named in the policy but the quorum is w1; w3's new cosignature
    made the old checkpoint fresh."""
    note = cosign(dispute.note(dispute.granted), "w3", int(time.time()))
    stale = dispute.with_note(dispute.granted, "stale-w3.json", note)
    policy = dispute.policy("w1-only.txt", "quorum w1")
    line = assert_one_error_line(dispute.verify(stale, "--policy", policy, "--max-age", "1h",
                                                code=1))
    assert "older than --max-age 1h" in line


def test_a_policy_naming_one_witness_twice_is_bad_input(dispute: Dispute) -> None:
    """HOLE (fixed): ``witness a K`` and ``witness b K`` with ``group g 2 a b``: one
    cosignature met a quorum of two. Now the policy is refused (exit 2), and the core counts
    the key once anyway."""
    only_w1 = dispute.with_note(dispute.granted, "w1-only.json",
                                dispute.cosigned(dispute.granted_raw, dispute.t1 + 60, "w1"))
    path = dispute.root / "twice.txt"
    w1 = WITNESSES["w1"].verifier.to_vkey()
    path.write_text(f"log {dispute.vkey}\nwitness a {w1}\nwitness b {w1}\ngroup g 2 a b\n"
                    "quorum g\n")
    result = dispute.verify(only_w1, "--policy", path, code=2)
    line = assert_one_error_line(result)
    assert "names one witness key twice, as a and b" in line


def test_a_re_dated_or_duplicated_cosignature_meets_no_quorum(dispute: Dispute) -> None:
    both = dispute.policy("both-3.txt", "group both all w1 w2", "quorum both")
    signed = SignedNote.from_text(dispute.cosigned(dispute.granted_raw, dispute.t1 + 60, "w1"))
    w1 = signed.signatures[-1]
    redated = NoteSignature(w1.name, w1.key_id,
                            int(time.time()).to_bytes(8, "big") + w1.signature[8:])
    # w1's line twice (w2 never cosigned), and w1's line re-dated in w2's place
    for name, sigs in (("dup.json", (*signed.signatures, w1)),
                       ("redated.json", (*signed.signatures, redated))):
        text = signed.text + "\n" + "".join(s.to_line() for s in sigs)
        path = dispute.with_note(dispute.granted, name, text)
        line = assert_one_error_line(dispute.verify(path, "--policy", both, code=1))
        assert "witness quorum not met" in line and "valid cosignatures from: w1" in line


def test_a_fork_signed_by_the_log_key(dispute: Dispute) -> None:
    """The log key signs another size-3 history in which the grant was never revoked. With
    the log key alone the fork's receipt verifies (nothing offline proves which history
    everyone sees: specs/receipts.md section 6); a witness quorum, or the evidence of the two
    checkpoints, refuses it."""
    other = _ev("work.register", work_id_of("ee" * 32), None, dispute.t2,
                {"size": 5, "media_type": "image/png"})
    _append(dispute.fork, [other], dispute.t2)
    forked = dispute.may("forked.json", home=dispute.fork)
    assert dispute.doc(forked)["state_receipt"]["log_key"] == dispute.vkey
    out = json.loads(dispute.verify(forked, "--log-key", dispute.vkey, "--json").out)
    assert out["allowed"] and out["cosigners"] == {} and "no witness cosignature counted" in (
        out["statement"])
    # the real checkpoint's cosignatures pasted on the fork's note count for nothing
    real = SignedNote.from_text(dispute.note(dispute.revoked))
    fork_note = SignedNote.from_text(dispute.note(forked))
    pasted = dispute.with_note(forked, "forked-pasted.json", SignedNote(
        fork_note.text, (*fork_note.signatures, *real.signatures[1:])).to_text())
    both = dispute.policy("both-4.txt", "group both all w1 w2", "quorum both")
    line = assert_one_error_line(dispute.verify(pasted, "--policy", both, code=1))
    assert "witness quorum not met" in line and "valid cosignatures from: none" in line
    evidence = dispute.root / "evidence.json"
    evidence.write_text(json.dumps({"evidence": [{
        "id": 1, "origin": out["origin"], "kind": "split-view",
        "checkpoints": [dispute.note(dispute.revoked_raw), dispute.note(forked)],
        "consistency_path": [], "detail": "two roots for size 3", "at": 0}]}))
    line = assert_one_error_line(dispute.verify(forked, "--log-key", dispute.vkey,
                                                "--evidence", evidence, code=1))
    assert "proven faulty" in line


def test_tampered_files_do_not_verify(dispute: Dispute) -> None:
    """A duplicate member, the decision flipped, the revocation left out: exit 1, one line,
    nothing on stdout even with --json."""
    text = dispute.revoked.read_text()
    for name, bad in (
        ("dup-member.json", text.replace('"allowed": false', '"allowed": true, '
                                         '"allowed": false', 1)),
        ("flipped.json", text.replace('"allowed": false', '"allowed": true', 1)),
    ):
        path = dispute.root / name
        path.write_text(bad)
        result = dispute.verify(path, "--log-key", dispute.vkey, "--json", code=1)
        assert result.out == ""
        assert_one_error_line(result)
    doc = dispute.doc(dispute.revoked)
    doc.pop("decision")
    work = doc["state_receipt"]["works"][0]
    work.pop("state")
    work["events"].pop()
    path = dispute.root / "left-out.json"
    path.write_text(json.dumps(doc))
    line = assert_one_error_line(dispute.verify(path, "--log-key", dispute.vkey, code=1))
    assert "left out" in line


def test_a_v1_receipt_cannot_meet_max_age(dispute: Dispute) -> None:
    receipt = dispute.root / "v1.json"
    run("receipt", dispute.page, "-o", receipt, home=dispute.home)
    dispute.verify(receipt, "--log-key", dispute.vkey)
    line = assert_one_error_line(dispute.verify(receipt, "--log-key", dispute.vkey,
                                                "--max-age", "7d", code=1))
    assert "proves no current state" in line


def test_witnesses_the_policy_does_not_trust_count_for_nothing(dispute: Dispute) -> None:
    """The old checkpoint cosigned now by a witness the policy does not name, and by a key
    that takes a trusted witness's name: neither counts toward the quorum or freshness."""
    impostor = NoteSigner("witness.example/w2", PrivateKey.from_seed(bytes([79]) * 32),
                          cosigner=True)
    stranger = NoteSigner("witness.example/w9", PrivateKey.from_seed(bytes([78]) * 32),
                          cosigner=True)
    signed = SignedNote.from_text(dispute.cosigned(dispute.granted_raw, dispute.t1 + 60, "w1"))
    now = int(time.time())
    text = signed.with_signatures([impostor.sign(signed.text, now),
                                   stranger.sign(signed.text, now)]).to_text()
    path = dispute.with_note(dispute.granted, "untrusted.json", text)
    both = dispute.policy("both-5.txt", "group both all w1 w2", "quorum both")
    line = assert_one_error_line(dispute.verify(path, "--policy", both, code=1))
    assert "witness quorum not met" in line and "valid cosignatures from: w1" in line
    w1 = dispute.policy("w1-5.txt", "quorum w1")
    line = assert_one_error_line(dispute.verify(path, "--policy", w1, "--max-age", "1h",
                                                code=1))
    assert "older than --max-age 1h" in line
    out = json.loads(dispute.verify(path, "--policy", w1, "--json").out)
    assert set(out["cosigners"]) == {"w1"}


def test_a_witness_key_given_as_the_log_key_is_bad_input(dispute: Dispute) -> None:
    """HOLE (fixed): ``--log-key`` took a cosignature/v1 (type 0x04) key as the log's key, so
    a witness's cosignature under the origin's name passed for the log's own signature
    (specs/receipts.md section 1: log keys are type 0x01). Now exit 2, before any receipt."""
    origin = json.loads(dispute.verify(dispute.revoked, "--log-key", dispute.vkey,
                                       "--json").out)["origin"]
    posing = NoteSigner(origin, PrivateKey.from_seed(bytes([77]) * 32), cosigner=True)
    signed = SignedNote.from_text(dispute.note(dispute.revoked_raw))
    only_cosigned = SignedNote(signed.text, (posing.sign(signed.text, int(time.time())),))
    doc = dispute.doc(dispute.revoked_raw)
    doc["state_receipt"]["checkpoint"] = only_cosigned.to_text()
    doc["state_receipt"]["log_key"] = posing.verifier.to_vkey()
    path = dispute.root / "posing.json"
    path.write_text(json.dumps(doc))
    result = dispute.verify(path, "--log-key", posing.verifier.to_vkey(), code=2)
    assert "is not a log key (type 0x01)" in assert_one_error_line(result)


def test_a_policy_naming_the_log_s_key_as_a_witness_is_bad_input(dispute: Dispute) -> None:
    """HOLE (fixed): a witness line holding the log's own public key let the log operator,
    alone, cosign its checkpoints and meet the quorum. Now the policy is refused (exit 2), and
    the core never counts such a witness."""
    ledger = Home(dispute.home).open_ledger()
    try:
        log_private = ledger.signer
    finally:
        ledger.close()
    assert log_private is not None
    as_witness = NoteSigner("witness.example/log-itself", log_private.key, cosigner=True)
    note = SignedNote.from_text(dispute.note(dispute.granted_raw))
    text = note.with_signatures([as_witness.sign(note.text, int(time.time()))]).to_text()
    path = dispute.with_note(dispute.granted_raw, "self-witnessed.json", text)
    policy = dispute.root / "self.txt"
    policy.write_text(f"log {dispute.vkey}\nwitness me {as_witness.verifier.to_vkey()}\n"
                      "quorum me\n")
    line = assert_one_error_line(dispute.verify(path, "--policy", policy, "--max-age", "1h",
                                                code=2))
    assert "policy witness me has the key of a log line" in line


def _at(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def test_an_answer_for_a_time_before_the_revocation_says_it_was_revoked(
        dispute: Dispute) -> None:
    """HOLE (fixed, in the words): the question's time is the asker's (it is not signed). The
    developer takes the fresh receipt of the revocation's checkpoint and asks about a time
    before the revocation: "may use ..., citing consent grant G; no later event of W exists up
    to 3" read as if the consent still held at the checkpoint. The citation now says the grant
    was revoked, and when, after the time asked."""
    doc = dispute.doc(dispute.revoked)
    doc.pop("decision")
    doc["question"]["at"] = _at(dispute.t1 + 1)
    path = dispute.root / "asked-before.json"
    path.write_text(json.dumps(doc))
    both = dispute.policy("both-6.txt", "group both all w1 w2", "quorum both")
    out = json.loads(dispute.verify(path, "--policy", both, "--max-age", "1h", "--json").out)
    assert out["allowed"] and out["at"] == _at(dispute.t1 + 1)
    cite = (f"consent grant {dispute.grant.id}, revoked by {dispute.revoke.id} at "
            f"{_at(dispute.t2)}, after the time asked")
    assert out["citing"] == [cite]
    assert out["statement"].endswith(f"citing {cite}; no later event of {dispute.work} "
                                     "exists up to 3")
    assert f"citing {cite}; no later event" in dispute.verify(path, "--policy", both).out
    # asked at the checkpoint's own time, the same receipt says "may not", citing the same
    doc["question"]["at"] = _at(dispute.t2)
    path.write_text(json.dumps(doc))
    out = json.loads(dispute.verify(path, "--policy", both, "--json").out)
    assert not out["allowed"] and out["citing"][0].startswith(
        f"consent grant {dispute.grant.id}, revoked by {dispute.revoke.id}")


def test_an_answer_for_a_time_before_a_transfer_says_control_passed(tmp_path: Path) -> None:
    """HOLE (fixed, in the words): the creator transferred the work; a receipt asked for a
    time before the transfer answers "this key controls the work" and cited "the work's head:
    this key controls it", which the head (the transfer) says it does not."""
    home = tmp_path / "home"
    now = int(time.time())
    t1, t2 = now - 2 * HOUR, now - 300
    page = tmp_path / "sold.png"
    page.write_bytes(b"a page that was sold")
    work = work_id_of(hashlib.sha256(page.read_bytes()).hexdigest())
    reg = _ev("work.register", work, None, t1, {"size": 20, "media_type": "image/png"})
    _append(home, [reg], t1)
    buyer = PrivateKey.from_seed(bytes([63]) * 32).public.text
    transfer = _ev("work.transfer", work, reg.id, t2, {"to": buyer})
    _append(home, [transfer], t2)
    proof = tmp_path / "before-sale.json"
    run("may", CREATOR.public.text, "ai_training", page, "--at", _at(t1 + 1), "--proof", proof,
        home=home)
    out = json.loads(run("verify", proof, "--log-key", log_key(home), "--json",
                         home=home).out)
    assert out["allowed"] and out["reason"] == "this key controls the work"
    assert out["citing"] == [
        f"controller event {transfer.id} (the work's head; this key controlled the work at "
        f"the time asked, and control passed to {buyer} at {_at(t2)})"]
    assert "this key controls it" not in out["statement"]
