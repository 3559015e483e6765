"""Offline verification attacked as a party to a dispute would (specs/receipts.md sections 3,
5, 11-13; specs/checkpoints.md; specs/map.md section 8).

Every receipt here is made by a real ledger (``Home.open_ledger``: real log key, real Merkle
tree, real map, real signed checkpoints), its witnesses' cosignatures by real witness keys over
the note the ledger signed; each test then tampers with it as someone holding it could, and
checks what a verifier concludes. The story: a creator registers work A and grants a developer
``ai_training`` (block 1, three hours ago), then revokes the grant (block 2, ten minutes ago).
The developer holds the decision receipt of block 1 and wants it taken as current.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.current import (
    DecisionReceipt,
    Question,
    StateReceiptV2,
    VerifiedStateV2,
    check_decoded_current,
    check_decoded_decision,
    fresh_as_of,
    verify_decision_receipt,
    verify_state_receipt_v2,
)
from provenance_ledger.core.encoding import load_json
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.core.note import (
    NoteSignature,
    NoteSigner,
    SignedNote,
    Verifier,
    cosignature_message,
)
from provenance_ledger.core.policy import Group, Policy, parse_policy
from provenance_ledger.core.receipt import (
    StateReceipt,
    verify_checkpoint_note,
    verify_state_receipt,
)
from provenance_ledger.errors import LedgerError, MalformedError, VerificationError
from provenance_ledger.ledger import Home

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600
CREATOR = PrivateKey.from_seed(bytes([41]) * 32)
DEVELOPER = PrivateKey.from_seed(bytes([42]) * 32)
OTHER = PrivateKey.from_seed(bytes([43]) * 32)
WITNESSES = {n: NoteSigner(f"witness.example/{n}", PrivateKey.from_seed(bytes([50 + i]) * 32),
                           cosigner=True) for i, n in enumerate(("w1", "w2", "w3"))}
A = work_id_of("aa" * 32)
B = work_id_of("bb" * 32)
U = work_id_of("cc" * 32)  # never registered
C = work_id_of("dd" * 32)  # registered in block 2


def _ev(key: PrivateKey, type_: str, work: str, prev: str | None, at: int,
        body: dict[str, Any]) -> SignedEvent:
    return sign_event(Event(type_, work, prev, key.public.text, at, body), key)


def cosign(note: str, name: str, at: int) -> str:
    """The note with ``name``'s cosignature at ``at`` added, as that witness makes it."""
    signed = SignedNote.from_text(note)
    return signed.with_signatures([WITNESSES[name].sign(signed.text, at)]).to_text()


def recheckpoint(doc: dict[str, Any], note: str) -> dict[str, Any]:
    """A copy of a state receipt v2 (or decision receipt) JSON with another checkpoint note."""
    out = json.loads(json.dumps(doc))
    (out["state_receipt"] if "state_receipt" in out else out)["checkpoint"] = note
    return out


@dataclass
class Story:
    home: Path
    vkey: str
    t1: int  # block time of the grant's checkpoint
    t2: int  # block time of the revocation's checkpoint
    grant: SignedEvent
    revoke: SignedEvent
    granted: dict[str, Any]  # decision receipt at checkpoint 1 (size 3), no cosignature
    revoked: dict[str, Any]  # decision receipt at checkpoint 2 (size 4)
    batch1: dict[str, Any]  # state receipt v2 of [A, B, U] at checkpoint 1
    batch2: dict[str, Any]  # the same at checkpoint 2
    fork_home: Path  # a copy of the home taken after block 1
    absent_c: dict[str, Any]  # state receipt v2 of C at checkpoint 1, before C's registration


def _all_in(results: list[Any]) -> None:
    assert not [r for r in results if isinstance(r, LedgerError)], results


def _decision(ledger: Any, work: str, at: int, records: tuple[str, ...] = ()) -> dict[str, Any]:
    sr = ledger.complete_state_receipt([work, *records])
    assert sr is not None
    return DecisionReceipt(Question(DEVELOPER.public.text, "ai_training", at), sr).to_json()


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    root = tmp_path_factory.mktemp("adversarial")
    home = root / "home"
    now = int(time.time())
    t1, t2 = now - 3 * HOUR, now - 600
    reg_a = _ev(CREATOR, "work.register", A, None, t1, {"size": 10, "media_type": "image/png"})
    reg_b = _ev(CREATOR, "work.register", B, None, t1, {"size": 11, "media_type": "image/png"})
    grant = _ev(CREATOR, "consent.grant", A, reg_a.id, t1,
                {"grantee": DEVELOPER.public.text, "purposes": ["ai_training"]})
    revoke = _ev(CREATOR, "consent.revoke", A, grant.id, t2, {"grant": grant.id})
    ledger = Home(home).open_ledger()
    try:
        _all_in(ledger.append_block([reg_a.leaf, reg_b.leaf, grant.leaf], t1))
        granted = _decision(ledger, A, t1)
        sr1 = ledger.complete_state_receipt([A, B, U])
        absent_c = ledger.complete_state_receipt([C])
        assert sr1 is not None and absent_c is not None
        vkey = ledger.vkey
    finally:
        ledger.close()
    fork = root / "fork"
    shutil.copytree(home, fork)
    ledger = Home(home).open_ledger()
    try:
        reg_c = _ev(OTHER, "work.register", C, None, t2, {"size": 13, "media_type": "image/png"})
        _all_in(ledger.append_block([revoke.leaf, reg_c.leaf], t2))
        revoked = _decision(ledger, A, t2)
        sr2 = ledger.complete_state_receipt([A, B, U])
        assert sr2 is not None
    finally:
        ledger.close()
    return Story(home, vkey, t1, t2, grant, revoke, granted, revoked, sr1.to_json(),
                 sr2.to_json(), fork, absent_c.to_json())


def test_the_story_verifies(story: Story) -> None:
    first = verify(story.granted)
    assert first.decision.allowed and first.current.checkpoint.size == 3
    second = verify(story.revoked)
    assert not second.decision.allowed and second.current.checkpoint.size == 5


def log_keys(story: Story) -> list[Verifier]:
    return [Verifier.from_vkey(story.vkey)]


def verify(doc: dict[str, Any], story: Story | None = None, keys: list[Verifier] | None = None,
           witnesses: dict[str, Verifier] | None = None) -> Any:
    """Parse the JSON as a verifier reads a file (duplicate keys refused), verify it and check
    its informative members, as ``provenance verify`` does."""
    raw = load_json(json.dumps(doc), "receipt")
    if keys is None:
        vkey = json.loads(json.dumps(doc)).get("log_key") or doc["state_receipt"]["log_key"]
        keys = [Verifier.from_vkey(vkey)]
    if raw.get("format") == "provenance-ledger/decision-receipt/v1":
        d = verify_decision_receipt(DecisionReceipt.from_json(raw), keys, witnesses)
        check_decoded_decision(raw, d)
        return d
    v = verify_state_receipt_v2(StateReceiptV2.from_json(raw), keys, witnesses)
    check_decoded_current(raw, v)
    return v


# -- freshness: an old proof passed off as current ------------------------------------------


def _witness_keys(*names: str) -> dict[str, Verifier]:
    return {n: WITNESSES[n].verifier for n in names}


def _fresh(doc: dict[str, Any], policy: str) -> int:
    """What ``verify --max-age`` compares with its clock, for ``policy``'s quorum."""
    pol = parse_policy(policy)
    current = verify(doc, witnesses=dict(pol.witnesses)).current
    assert pol.satisfied(set(current.cosigners))
    return fresh_as_of(current.checkpoint, current.cosigners, pol.quorum is not None,
                       lambda names: pol.satisfied(set(names)))


def _policy(story: Story, quorum: str, *names: str) -> str:
    lines = [f"log {story.vkey}"]
    lines += [f"witness {n} {WITNESSES[n].verifier.to_vkey()}" for n in names]
    return "\n".join([*lines, quorum, ""])


def test_one_witness_recosigning_an_old_checkpoint_does_not_make_it_fresh(story: Story) -> None:
    """HOLE (fixed): the quorum is both w1 and w2; both cosigned checkpoint 1 two hours ago.
    w1 alone (colluding, or with a clock gone wrong) cosigns it again now. The newest counted
    cosignature made it look fresh; it is fresh as of when the quorum last vouched for it."""
    old = story.t1 + 60
    note = cosign(cosign(story.granted["state_receipt"]["checkpoint"], "w1", old), "w2", old)
    note = cosign(note, "w1", int(time.time()))
    doc = recheckpoint(story.granted, note)
    policy = _policy(story, "group both all w1 w2\nquorum both", "w1", "w2")
    assert _fresh(doc, policy) == old
    # 2 of 3: the second newest counts.
    note3 = cosign(note, "w3", story.t1 + 600)
    policy3 = _policy(story, "group two 2 w1 w2 w3\nquorum two", "w1", "w2", "w3")
    assert _fresh(recheckpoint(story.granted, note3), policy3) == story.t1 + 600
    # A quorum of one: that witness's time.
    assert _fresh(doc, _policy(story, "quorum w1", "w1")) > story.t2


def test_a_witness_the_quorum_does_not_need_does_not_make_it_fresh(story: Story) -> None:
    """HOLE (fixed): w3 is trusted (a witness line) but the quorum is w1 alone; w3's new
    cosignature of checkpoint 1 moved "fresh as of" to now."""
    old = story.t1 + 60
    note = cosign(cosign(story.granted["state_receipt"]["checkpoint"], "w1", old), "w3",
                  int(time.time()))
    policy = _policy(story, "quorum w1", "w1", "w3")
    assert _fresh(recheckpoint(story.granted, note), policy) == old


def test_fresh_as_of_is_the_quorum_time(story: Story) -> None:
    cp = verify(story.revoked).current.checkpoint
    cos = {"a": 100, "b": 300, "c": 200}

    def k_of(k: int) -> Callable[[Any], bool]:
        return lambda names: len(names) >= k

    assert [fresh_as_of(cp, cos, True, k_of(k)) for k in (1, 2, 3)] == [300, 200, 100]
    with pytest.raises(VerificationError, match="quorum"):
        fresh_as_of(cp, cos, True, k_of(4))
    assert fresh_as_of(cp, cos, False, k_of(2)) == story.t2  # no witnesses: the log's time


def test_a_re_dated_cosignature_counts_for_nothing(story: Story) -> None:
    """The timestamp of a real cosignature moved forward: the signature no longer verifies,
    so the witness does not count (and the quorum fails), whatever the new time."""
    note = cosign(story.granted["state_receipt"]["checkpoint"], "w1", story.t1 + 60)
    signed = SignedNote.from_text(note)
    sig = signed.signatures[-1]
    redated = NoteSignature(sig.name, sig.key_id,
                            int(time.time()).to_bytes(8, "big") + sig.signature[8:])
    forged = SignedNote(signed.text, (*signed.signatures[:-1], redated)).to_text()
    _, _, cosigners = verify_checkpoint_note(forged, log_keys(story), _witness_keys("w1"))
    assert cosigners == {}
    # and kept beside the real one, it changes nothing
    both = SignedNote(signed.text, (*signed.signatures, redated)).to_text()
    assert verify_checkpoint_note(both, log_keys(story), _witness_keys("w1"))[2] == {
        "w1": story.t1 + 60}


def test_one_witness_counts_once(story: Story) -> None:
    """A cosignature line repeated, or one witness key under two local names, counts once."""
    note = cosign(story.granted["state_receipt"]["checkpoint"], "w1", story.t1 + 60)
    line = note.splitlines()[-1]
    doubled = note + line + "\n"
    assert doubled.count(line) == 2
    keys = _witness_keys("w1")
    assert set(verify_checkpoint_note(doubled, log_keys(story), keys)[2]) == {"w1"}
    two_names = {"w1": WITNESSES["w1"].verifier, "w1-again": WITNESSES["w1"].verifier}
    _, _, cosigners = verify_checkpoint_note(doubled, log_keys(story), two_names)
    assert cosigners == {"w1": story.t1 + 60}  # HOLE (fixed): both names counted
    text = _policy(story, "quorum w1", "w1").replace(
        "quorum w1", f"witness w1b {WITNESSES['w1'].verifier.to_vkey()}\n"
                     "group both all w1 w1b\nquorum both")
    with pytest.raises(MalformedError, match="names one witness key twice, as w1 and w1b"):
        parse_policy(text)  # refused as text; and a policy built so anyway is not met:
    pol = Policy(tuple(log_keys(story)), two_names | {"w1b": WITNESSES["w1"].verifier},
                 {"both": Group("both", 2, ("w1", "w1b"))}, "both")
    assert not pol.satisfied(set(cosigners))


def test_a_witness_s_newest_cosignature_counts_whatever_the_line_order(story: Story) -> None:
    base = story.granted["state_receipt"]["checkpoint"]
    newer_last = cosign(cosign(base, "w1", story.t1 + 60), "w1", story.t1 + 900)
    newer_first = cosign(cosign(base, "w1", story.t1 + 900), "w1", story.t1 + 60)
    for note in (newer_last, newer_first):
        assert verify_checkpoint_note(note, log_keys(story), _witness_keys("w1"))[2] == {
            "w1": story.t1 + 900}


def test_a_fork_signed_by_the_same_log_key(story: Story) -> None:
    """The log key signs a second history at size 5 (the grant left in force, other events
    in the revocation's place). With the log key alone it verifies: nothing offline shows
    that a checkpoint is the one everyone sees (specs/receipts.md section 6). Witnesses that
    cosigned only the real history leave the fork without a quorum."""
    ledger = Home(story.fork_home).open_ledger()
    try:
        others = [_ev(CREATOR, "work.register", w, None, story.t2,
                      {"size": 12, "media_type": "image/png"}) for w in (U, C)]
        _all_in(ledger.append_block([e.leaf for e in others], story.t2))
        forked = _decision(ledger, A, story.t2)
    finally:
        ledger.close()
    assert forked["state_receipt"]["log_key"] == story.vkey
    assert verify(forked).decision.allowed  # log key alone: held as documented, not more
    real = cosign(story.revoked["state_receipt"]["checkpoint"], "w1", story.t2 + 60)
    assert verify(recheckpoint(story.revoked, real), witnesses=_witness_keys("w1")
                  ).current.cosigners
    assert dict(verify(forked, witnesses=_witness_keys("w1")).current.cosigners) == {}
    # The real cosignature pasted onto the fork's checkpoint does not verify there.
    pasted = (forked["state_receipt"]["checkpoint"] + real.splitlines()[-1] + "\n")
    cur = verify(recheckpoint(forked, pasted), witnesses=_witness_keys("w1")).current
    assert dict(cur.cosigners) == {}
    # The two size-5 checkpoints are evidence of a split view, checkable offline.
    from provenance_ledger.core.evidence import Evidence, verify_evidence
    ev = Evidence.from_json({"id": 1, "origin": cur.checkpoint.origin, "kind": "split-view",
                             "checkpoints": [story.revoked["state_receipt"]["checkpoint"],
                                             forked["state_receipt"]["checkpoint"]],
                             "consistency_path": [], "detail": "two roots", "at": 0})
    verify_evidence(ev, story.vkey)


# -- the events of a work: left out, reordered, another work's ------------------------------


def _events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = doc["state_receipt"]["works"][0]["events"]
    return events


def _bare(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy without the informative members, so that only the proven parts decide."""
    out = json.loads(json.dumps(doc))
    out.pop("decision", None)
    for w in out["state_receipt"]["works"]:
        w.pop("state", None)
        for e in w["events"]:
            e.pop("event", None)
    return out


def _refused(doc: dict[str, Any], match: str, **kw: Any) -> None:
    with pytest.raises((VerificationError, MalformedError), match=match):
        verify(doc, **kw)


def test_the_revocation_left_out_with_proofs_at_the_revocation_s_checkpoint(
        story: Story) -> None:
    """The strongest omission: the events before the revocation, each with a valid inclusion
    proof against checkpoint 2, and the decision re-derived (allowed). Only the map's count
    and head (step 7) show that an event was left out."""
    doc = _bare(story.revoked)
    _events(doc).pop()
    _refused(doc, "left out")


def test_an_event_left_out_in_the_middle(story: Story) -> None:
    doc = _bare(story.revoked)
    _events(doc).pop(1)  # the grant: the revocation then names a prev that is not the head
    _refused(doc, "breaks the rules")


def test_events_reordered(story: Story) -> None:
    doc = _bare(story.revoked)
    ev = _events(doc)
    ev[1], ev[2] = ev[2], ev[1]
    _refused(doc, "log order|breaks the rules")


def test_an_event_repeated(story: Story) -> None:
    doc = _bare(story.revoked)
    _events(doc).insert(1, _events(doc)[1])
    _refused(doc, "log order")


def test_an_event_of_another_work(story: Story) -> None:
    doc = _bare(story.revoked)
    b_events = story.batch2["works"][1]["events"]
    _events(doc).insert(1, {k: v for k, v in b_events[0].items() if k != "event"})
    _refused(doc, "log order|another work")
    doc = _bare(story.revoked)
    _events(doc)[-1] = {k: v for k, v in b_events[0].items() if k != "event"}
    _refused(doc, "another work|log order")


def test_the_map_proof_of_another_key(story: Story) -> None:
    """B's one-key map proof (or the batch's) with A's events: the proof is for other keys."""
    doc = _bare(story.revoked)
    ledger = Home(story.home).open_ledger()
    try:
        proof_b = ledger.complete_state_receipt([B])
    finally:
        ledger.close()
    assert proof_b is not None
    doc["state_receipt"]["map_proof"] = base64.b64encode(proof_b.map_proof).decode()
    _refused(doc, "map proof")
    doc["state_receipt"]["map_proof"] = story.batch2["map_proof"]
    _refused(doc, "map proof")


def test_the_map_proof_of_the_older_checkpoint(story: Story) -> None:
    """Checkpoint 2 (revocation) with the map proof of checkpoint 1 (grant head)."""
    doc = _bare(story.revoked)
    doc["state_receipt"]["map_proof"] = story.granted["state_receipt"]["map_proof"]
    _refused(doc, "map proof")


def test_decision_and_state_edited(story: Story) -> None:
    doc = json.loads(json.dumps(story.revoked))
    doc["decision"]["allowed"] = True
    _refused(doc, "not what the rules give")
    doc = json.loads(json.dumps(story.revoked))
    doc["state_receipt"]["works"][0]["state"]["grants"][0]["revoked_by"] = None
    _refused(doc, "decoded state")
    doc = json.loads(json.dumps(story.revoked))
    doc["scope"] = doc["scope"].replace("it proves nothing about events after that size", "")
    _refused(doc, "scope")


def test_the_question_is_the_asker_s_and_the_answer_follows_it(story: Story) -> None:
    """The question is not signed: whoever holds the receipt can ask another one, and the
    verifier answers that one (held: it never keeps the old answer). Asking at a time before
    the revocation gives "allowed at that time", and says which time."""
    doc = _bare(story.revoked)
    doc["question"]["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(story.t1))
    d = verify(doc)
    assert d.decision.allowed and d.question.at == story.t1
    doc["question"]["purpose"] = "data_mining"
    assert not verify(doc).decision.allowed


# -- absence --------------------------------------------------------------------------------


def _work_index(doc: dict[str, Any], work: str) -> int:
    return next(i for i, w in enumerate(doc["works"]) if w["work"] == work)


def test_absence_of_a_registered_work(story: Story) -> None:
    doc = json.loads(json.dumps(story.batch2))
    doc["works"][_work_index(doc, B)]["events"] = []
    doc["works"][_work_index(doc, B)]["state"] = None
    _refused(doc, "lists none")
    # A one-key absence proof can only be made for a key the map does not hold.
    ledger = Home(story.home).open_ledger()
    try:
        absent = ledger.complete_state_receipt([U])
    finally:
        ledger.close()
    assert absent is not None
    doc = absent.to_json()
    doc["works"][0]["work"] = B
    _refused(doc, "map proof")
    # One bit of the proof flipped, anywhere: refused.
    raw = bytearray(absent.map_proof)
    for i in range(len(raw)):
        tampered = absent.to_json()
        flipped = bytearray(raw)
        flipped[i] ^= 1
        tampered["map_proof"] = base64.b64encode(bytes(flipped)).decode()
        with pytest.raises((VerificationError, MalformedError)):
            verify(tampered)


def test_absence_at_an_older_checkpoint_says_so(story: Story) -> None:
    """A proof of absence against a checkpoint before the registration verifies: it states
    absence as of that tree size, which is true, and nothing after it (held as documented);
    its age is that checkpoint's (section 13), so --max-age bounds it."""
    cur = verify(story.absent_c)
    assert not cur.works[0].registered and cur.checkpoint.size == 3
    assert fresh_as_of(cur.checkpoint, cur.cosigners, False) == story.t1
    # the same work at checkpoint 2: registered, and its absence proof is not for this root
    doc = recheckpoint(story.absent_c, story.revoked["state_receipt"]["checkpoint"])
    _refused(doc, "map proof")


def test_wrong_origin(story: Story) -> None:
    """The checkpoint's origin edited: no trusted key for it (or the signature breaks)."""
    doc = _bare(story.revoked)
    note = doc["state_receipt"]["checkpoint"]
    origin = note.split("\n", 1)[0]
    doc["state_receipt"]["checkpoint"] = note.replace(origin, origin + "x")
    _refused(doc, "no trusted log key")
    with pytest.raises(VerificationError):
        verify(doc, keys=[*log_keys(story), Verifier.from_vkey(
            NoteSigner(origin + "x", PrivateKey.from_seed(bytes([44]) * 32)).verifier
            .to_vkey())])


# -- mixing logs and formats ----------------------------------------------------------------


@pytest.fixture(scope="module")
def log_b(tmp_path_factory: pytest.TempPathFactory, story: Story) -> dict[str, Any]:
    """Another log holding the same events of A (grant, no revocation): its decision."""
    home = tmp_path_factory.mktemp("log_b") / "home"
    ledger = Home(home).open_ledger()
    try:
        reg_a = _ev(CREATOR, "work.register", A, None, story.t1,
                    {"size": 10, "media_type": "image/png"})
        _all_in(ledger.append_block([reg_a.leaf, story.grant.leaf], story.t1))
        return _decision(ledger, A, story.t2)
    finally:
        ledger.close()


def test_checkpoint_of_one_log_with_proofs_of_another(story: Story, log_b: dict[str, Any]
                                                      ) -> None:
    both = [*log_keys(story), Verifier.from_vkey(log_b["state_receipt"]["log_key"])]
    assert verify(log_b, keys=both).decision.allowed
    mixed = _bare(log_b)
    mixed["state_receipt"]["checkpoint"] = story.revoked["state_receipt"]["checkpoint"]
    _refused(mixed, "log key|map proof|inclusion", keys=both)
    mixed["state_receipt"]["log_key"] = story.vkey
    _refused(mixed, "map proof|inclusion", keys=both)
    mixed = _bare(story.revoked)
    mixed["state_receipt"]["log_key"] = log_b["state_receipt"]["log_key"]
    _refused(mixed, "log key", keys=both)


def test_a_state_receipt_v1_passed_as_v2(story: Story) -> None:
    ledger = Home(story.home).open_ledger()
    try:
        v1 = ledger.state_receipt(A)
    finally:
        ledger.close()
    doc = v1.to_json(None)
    doc["format"] = "provenance-ledger/state-receipt/v2"
    with pytest.raises(MalformedError):
        StateReceiptV2.from_json(doc)
    doc["map_proof"] = story.batch2["map_proof"]
    doc.pop("state")
    with pytest.raises(MalformedError):
        StateReceiptV2.from_json(doc)
    # and v1 itself keeps its weaker statement: missing the revocation still verifies, as
    # its scope says ("events after the last one shown may have been left out")
    short = StateReceipt(v1.log_key, v1.checkpoint, v1.work, v1.events[:-1])
    assert len(verify_state_receipt(short, log_keys(story)).events) == 2


@pytest.mark.parametrize("change", [
    "unknown-top", "unknown-work", "unknown-event", "unknown-question",
    "negative-index", "huge-index", "bool-index", "float-index", "index-2^63",
    "proof-not-base64", "proof-unpadded", "leaf-non-canonical-base64", "events-not-list",
    "work-upper-case", "checkpoint-crlf", "checkpoint-extra-line", "long-int",
])
def test_malformed_members(story: Story, change: str) -> None:
    doc = _bare(story.revoked)
    sr = doc["state_receipt"]
    w = sr["works"][0]
    e = w["events"][0]
    text = None
    if change == "unknown-top":
        doc["valid"] = True
    elif change == "unknown-work":
        w["note"] = "x"
    elif change == "unknown-event":
        e["extra"] = 1
    elif change == "unknown-question":
        doc["question"]["allowed"] = True
    elif change == "negative-index":
        e["leaf_index"] = -1
    elif change == "huge-index":
        e["leaf_index"] = 2**64
    elif change == "bool-index":
        e["leaf_index"] = False
    elif change == "float-index":
        e["leaf_index"] = 0.0
    elif change == "index-2^63":
        e["leaf_index"] = 2**63 - 1
    elif change == "proof-not-base64":
        sr["map_proof"] = sr["map_proof"] + "!"
    elif change == "proof-unpadded":
        sr["map_proof"] = sr["map_proof"][:-1]
    elif change == "leaf-non-canonical-base64":
        # the last base64 digit with unused bits set: decodes to the same bytes loosely
        leaf = e["leaf"]
        assert leaf.endswith("=")
        body = leaf.rstrip("=")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        e["leaf"] = body[:-1] + alphabet[alphabet.index(body[-1]) + 1] + leaf[len(body):]
    elif change == "events-not-list":
        w["events"] = {"0": e}
    elif change == "work-upper-case":
        w["work"] = w["work"].upper().replace("SHA256", "sha256")
    elif change == "checkpoint-crlf":
        sr["checkpoint"] = sr["checkpoint"].replace("\n", "\r\n")
    elif change == "checkpoint-extra-line":
        note = sr["checkpoint"]
        cut = note.index("\n\n")
        sr["checkpoint"] = note[:cut] + "\nprovenance-ledger/extra x" + note[cut:]
    elif change == "long-int":
        text = json.dumps(doc).replace('"leaf_index": 0', '"leaf_index": ' + "9" * 5000)
    raw = text if text is not None else json.dumps(doc)
    with pytest.raises((VerificationError, MalformedError)):
        parsed = load_json(raw, "receipt")
        verify(parsed)


def test_duplicate_member_names_at_any_depth(story: Story) -> None:
    """Two verifiers must not read two receipts from one file."""
    text = json.dumps(story.revoked)
    inner = '"allowed": false'
    assert inner in text
    dup = text.replace(inner, '"allowed": true, ' + inner, 1)
    with pytest.raises(MalformedError, match="[Dd]uplicate"):
        load_json(dup, "receipt")
    deep = text.replace('"leaf_index": 0', '"leaf_index": 0, "leaf_index": 1', 1)
    with pytest.raises(MalformedError, match="[Dd]uplicate"):
        load_json(deep, "receipt")


def test_an_unknown_signature_line_is_kept_and_never_counted(story: Story) -> None:
    """A line claiming a trusted witness's name with a wrong key id, and one by an unknown
    key: neither counts, and the log's own signature still decides."""
    note = story.revoked["state_receipt"]["checkpoint"]
    stranger = NoteSigner("witness.example/w1", OTHER, cosigner=True)
    signed = SignedNote.from_text(note)
    extra = signed.with_signatures([stranger.sign(signed.text, int(time.time()))]).to_text()
    assert verify_checkpoint_note(extra, log_keys(story), _witness_keys("w1"))[2] == {}
    # a log-named line that does not verify rejects the note
    log_sig = signed.signatures[0]
    bad = NoteSignature(log_sig.name, log_sig.key_id, bytes(64))
    with pytest.raises(VerificationError):
        verify_checkpoint_note(SignedNote(signed.text, (*signed.signatures, bad)).to_text(),
                               log_keys(story))


def test_a_cosignature_covers_the_map_line(story: Story) -> None:
    """specs/checkpoints.md section 4: the signed message is the whole note text, the map
    line included, so a witness's cosignature cannot be moved to a checkpoint with another
    map root; the known answer of section 7.2 is the 244 bytes the spec shows."""
    spec = (ROOT / "specs" / "checkpoints.md").read_text(encoding="utf-8")
    m = re.search(r"signs the (\d+) bytes\n\n```\n(cosignature/v1\n.*?)```", spec, re.S)
    assert m is not None
    message = m.group(2)
    assert "provenance-ledger/map root=" in message
    assert int(m.group(1)) == len(message.encode())
    head, _, text = message.partition("\n")
    ts = int(text.split("\n", 1)[0].removeprefix("time "))
    assert cosignature_message(ts, text.split("\n", 1)[1]) == message.encode()
    vkey = re.search(r"witness.example/w1\+df1c0a35\+\S+", spec)
    assert vkey is not None
    w = Verifier.from_vkey(vkey.group(0))
    note = re.search(r"and the cosigned note\s+is\n\n```\n(.*?)```", spec, re.S)
    assert note is not None
    signed = SignedNote.from_text(note.group(1))
    assert w.verify(signed.signatures[-1], signed.text) == ts
    assert signed.text == text.split("\n", 1)[1]


def test_cosigners_name_only_policy_witnesses(story: Story) -> None:
    """The cosigners a verifier reports are the policy's local names, never a name taken from
    the note."""
    note = cosign(story.revoked["state_receipt"]["checkpoint"], "w1", story.t2 + 60)
    cur: VerifiedStateV2 = verify(recheckpoint(story.revoked, note),
                                  witnesses={"mine": WITNESSES["w1"].verifier}).current
    assert dict(cur.cosigners) == {"mine": story.t2 + 60}


def test_errors_are_ledger_errors(story: Story) -> None:
    """Whatever the tampering, the verifier answers with a LedgerError, never a crash."""
    doc = _bare(story.revoked)
    doc["state_receipt"]["works"][0]["events"][0]["inclusion_proof"] = ["A" * 43 + "="] * 65
    with pytest.raises(LedgerError):
        verify(doc)


def test_a_cosignature_key_never_signs_as_the_log(story: Story) -> None:
    """A type 0x04 key named as the origin, given among the log keys: its cosignature of the
    checkpoint is not the log's signature (specs/receipts.md section 1)."""
    doc = _bare(story.revoked)
    note = doc["state_receipt"]["checkpoint"]
    origin = note.split("\n", 1)[0]
    posing = NoteSigner(origin, PrivateKey.from_seed(bytes([45]) * 32), cosigner=True)
    signed = SignedNote.from_text(note)
    doc["state_receipt"]["checkpoint"] = SignedNote(
        signed.text, (posing.sign(signed.text, story.t2),)).to_text()
    doc["state_receipt"]["log_key"] = posing.verifier.to_vkey()
    _refused(doc, "no trusted log key", keys=[posing.verifier])


def test_the_log_s_key_never_counts_as_a_witness(story: Story) -> None:
    ledger = Home(story.home).open_ledger()
    try:
        signer = ledger.signer
    finally:
        ledger.close()
    assert signer is not None
    me = NoteSigner("witness.example/me", signer.key, cosigner=True)
    signed = SignedNote.from_text(story.revoked["state_receipt"]["checkpoint"])
    note = signed.with_signatures([me.sign(signed.text, story.t2 + 60)]).to_text()
    assert verify_checkpoint_note(note, log_keys(story), {"me": me.verifier})[2] == {}


def test_citations_say_what_happened_after_the_time_asked(tmp_path: Path) -> None:
    """An allowed answer for an early time, from a receipt whose events end the licence or
    the grant later, names that end (specs/receipts.md section 12.1)."""
    from provenance_ledger.core.current import citations
    from provenance_ledger.core.timefmt import format_time

    now = int(time.time())
    t1, t2 = now - 2 * HOUR, now - 600
    reg = _ev(CREATOR, "work.register", A, None, t1, {"size": 10, "media_type": "image/png"})
    offer = _ev(CREATOR, "licence.offer", A, reg.id, t1,
                {"licensee": DEVELOPER.public.text, "purposes": ["ai_training"]})
    accept = sign_event(Event("licence.accept", A, offer.id, DEVELOPER.public.text, t1,
                              {"offer": offer.id}), DEVELOPER)
    grant = _ev(CREATOR, "consent.grant", A, accept.id, t1,
                {"grantee": OTHER.public.text, "purposes": ["ai_inference"],
                 "until": format_time(t2 + HOUR)})
    end = _ev(CREATOR, "licence.terminate", A, grant.id, t2, {"licence": offer.id})
    ledger = Home(tmp_path / "home").open_ledger()
    try:
        _all_in(ledger.append_block([reg.leaf, offer.leaf, accept.leaf, grant.leaf], t1))
        _all_in(ledger.append_block([end.leaf], t2))
        sr = ledger.complete_state_receipt([A])
    finally:
        ledger.close()
    assert sr is not None
    for key, purpose, want in (
            (DEVELOPER, "ai_training",
             f"licence {offer.id} accepted in {accept.id}, terminated by {end.id} at "
             f"{format_time(t2)}, after the time asked"),
            (OTHER, "ai_inference",
             f"consent grant {grant.id}, which ends at {format_time(t2 + HOUR)}")):
        d = verify(DecisionReceipt(Question(key.public.text, purpose, t1 + 1), sr).to_json())
        assert d.decision.allowed
        assert citations(d.decision, d.work.state, d.question.at) == (want,)
        # without the time asked (older callers), the words are as they were
        assert citations(d.decision, d.work.state)[0] == want.split(",")[0]
