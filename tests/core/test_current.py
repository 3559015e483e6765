"""Tests for provenance_ledger.core.current: state receipts v2 and decision receipts
(specs/receipts.md sections 11-13).

Two sources of truth: the known-answer cases of tests/data/current/vectors.json (written by
tests/data/current/make_vectors.py from a log of real signed events, real RFC 9162 proofs, a
real map and real cosignatures), and logs built here with the same helpers for the story
"consent granted, then revoked", absence proofs, batches, and every kind of tampering.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance_ledger.core.current import (
    DECISION_RECEIPT_FORMAT,
    DECISION_RECEIPT_SCOPE,
    MAX_CURRENT_EVENTS,
    MAX_CURRENT_WORKS,
    STATE_RECEIPT_V2_FORMAT,
    STATE_RECEIPT_V2_SCOPE,
    DecisionReceipt,
    StateReceiptV2,
    VerifiedDecision,
    VerifiedStateV2,
    build_decision_receipt,
    build_state_receipt_v2,
    check_decoded_current,
    check_decoded_decision,
    citations,
    fresh_as_of,
    verify_decision_receipt,
    verify_state_receipt_v2,
)
from provenance_ledger.core.encoding import load_json
from provenance_ledger.core.note import Checkpoint, NoteSigner, SignedNote, Verifier
from provenance_ledger.core.receipt import (
    STATE_RECEIPT_SCOPE,
    StateReceipt,
    check_decoded_state,
    verify_state_receipt,
)
from provenance_ledger.core.timefmt import format_time
from provenance_ledger.core.vmap import MAX_PROOF_KEYS
from provenance_ledger.errors import LedgerError, MalformedError, VerificationError
from tests.vectors import load_generator, load_known_answers

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "current"


gen = load_generator(DATA / "make_vectors.py", "current_make_vectors")


VECTORS = load_known_answers(DATA / "vectors.json", "provenance-ledger/current-vectors/v1")
LOG_KEYS = [Verifier.from_vkey(VECTORS["log_key"])]
WITNESSES = {n: Verifier.from_vkey(v) for n, v in VECTORS["witnesses"].items()}


def verify_any(data: Any, log_keys: list[Verifier] = LOG_KEYS,
               witnesses: dict[str, Verifier] | None = None
               ) -> VerifiedStateV2 | VerifiedDecision:
    """What a verifier does with a file's JSON: parse by format, verify, check the decoded
    members."""
    raw = load_json(json.dumps(data), "receipt")
    if raw.get("format") == DECISION_RECEIPT_FORMAT:
        d = verify_decision_receipt(DecisionReceipt.from_json(raw), log_keys,
                                    WITNESSES if witnesses is None else witnesses)
        check_decoded_decision(raw, d)
        return d
    v = verify_state_receipt_v2(StateReceiptV2.from_json(raw), log_keys,
                                WITNESSES if witnesses is None else witnesses)
    check_decoded_current(raw, v)
    return v


# -- known answers ---------------------------------------------------------------------------


def test_vectors_are_what_the_generator_writes() -> None:
    assert gen.text() == (DATA / "vectors.json").read_text()


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_vector(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if not expect["valid"]:
        with pytest.raises((VerificationError, MalformedError), match=expect["error"]):
            verify_any(case["receipt"])
        return
    result = verify_any(case["receipt"])
    current = result.current if isinstance(result, VerifiedDecision) else result
    assert current.checkpoint.size == expect["tree_size"]
    assert dict(current.cosigners) == expect["cosigners"]
    if isinstance(result, VerifiedDecision):
        assert result.work.registered == expect["registered"]
        assert result.decision.allowed == expect["allowed"]
        assert list(result.decision.events) == expect["events"]
    else:
        assert [{"work": w.work, "registered": w.registered, "events": len(w.events)}
                for w in result.works] == expect["works"]


def test_vector_scopes_are_the_spec_sentences() -> None:
    spec = " ".join((ROOT / "specs" / "receipts.md").read_text(encoding="utf-8").split())
    assert STATE_RECEIPT_V2_SCOPE in spec and DECISION_RECEIPT_SCOPE in spec
    for case in VECTORS["cases"]:
        r = case["receipt"]
        if r["format"] == DECISION_RECEIPT_FORMAT:
            assert r["scope"] == DECISION_RECEIPT_SCOPE
            assert r["state_receipt"]["scope"] == STATE_RECEIPT_V2_SCOPE


# -- the story: granted, then revoked --------------------------------------------------------


@pytest.fixture(scope="module")
def story() -> Any:
    return gen.build_story()


A, B, C, U = (gen.work_of(n) for n in "ABCU")


def test_granted_then_revoked(story: Any) -> None:
    log, dev = story.log, story.developer.public.text
    t1, t2 = story.times
    first = verify_any(log.decision_receipt(A, 4, dev, "ai_training", t1))
    assert isinstance(first, VerifiedDecision)
    assert first.decision.allowed and first.decision.events == (story.grant_id,)
    assert citations(first.decision, first.work.state) == (f"consent grant {story.grant_id}",)
    second = verify_any(log.decision_receipt(A, 6, dev, "ai_training", t2))
    assert isinstance(second, VerifiedDecision)
    assert not second.decision.allowed
    assert second.work.state is not None and second.work.state.head == story.revoke_id
    assert citations(second.decision, second.work.state) == (
        f"consent grant {story.grant_id}, revoked by {story.revoke_id} at "
        f"{format_time(t2 - 30)}",)
    # The question is asked of the state: the first checkpoint's state, asked about a time
    # after the revocation was logged, still says allowed. Only the newer checkpoint knows.
    stale = verify_any(log.decision_receipt(A, 4, dev, "ai_training", t2))
    assert isinstance(stale, VerifiedDecision) and stale.decision.allowed


def test_absence_proof(story: Any) -> None:
    result = verify_any(story.log.decision_receipt(U, 6, story.developer.public.text,
                                                   "ai_training", story.times[1]))
    assert isinstance(result, VerifiedDecision)
    assert not result.work.registered and result.work.events == ()
    assert not result.decision.allowed
    assert result.decision.reason == "the work is not registered on this ledger"
    assert citations(result.decision, None) == ()


def test_controller_is_cited_by_its_head(story: Any) -> None:
    result = verify_any(story.log.decision_receipt(B, 6, story.creator.public.text,
                                                   "ai_training", story.times[1]))
    assert isinstance(result, VerifiedDecision) and result.decision.allowed
    head = result.work.events[-1].id
    assert citations(result.decision, result.work.state)[0].startswith(
        f"controller event {head}")


def test_a_work_registered_later_is_absent_at_the_earlier_checkpoint() -> None:
    s = gen.build_story()
    d = gen.work_of("D")
    reg = gen._ev(s.creator, "work.register", d, {"size": 1, "media_type": "text/plain"},
                  None, s.times[1] + 100)
    s.log.append_block([reg], s.times[1] + 200)
    earlier = verify_any(s.log.state_receipt([d], 6), witnesses={})
    later = verify_any(s.log.state_receipt([d], 7), witnesses={})
    assert isinstance(earlier, VerifiedStateV2) and isinstance(later, VerifiedStateV2)
    assert not earlier.works[0].registered and later.works[0].registered


# -- tampering --------------------------------------------------------------------------------


def _revoked(story: Any) -> dict[str, Any]:
    r: dict[str, Any] = story.log.decision_receipt(A, 6, story.developer.public.text,
                                                   "ai_training", story.times[1])
    return r


def _strip(r: dict[str, Any]) -> dict[str, Any]:
    """Without the informative members, so that the proof itself must catch a change."""
    r.pop("decision", None)
    for w in r["state_receipt"]["works"]:
        w.pop("state", None)
        for e in w["events"]:
            e.pop("event", None)
    return r


def _refused(r: dict[str, Any], match: str) -> None:
    with pytest.raises((VerificationError, MalformedError), match=match):
        verify_any(r)


def test_omitted_last_event(story: Any) -> None:
    r = _strip(_revoked(story))
    r["state_receipt"]["works"][0]["events"].pop()
    _refused(r, "left out or added")


def test_event_dropped_from_the_middle(story: Any) -> None:
    r = _strip(_revoked(story))
    del r["state_receipt"]["works"][0]["events"][1]
    _refused(r, "breaks the rules")


def test_events_of_another_work(story: Any) -> None:
    r = _strip(_revoked(story))
    other = story.log.state_receipt([B], 6, decoded=False)
    r["state_receipt"]["works"][0]["events"] = other["works"][0]["events"]
    _refused(r, "another work")


def test_present_work_without_events(story: Any) -> None:
    r = _strip(_revoked(story))
    r["state_receipt"]["works"][0]["events"] = []
    _refused(r, "lists none of them")


def test_map_proof_of_the_earlier_checkpoint(story: Any) -> None:
    r = _strip(_revoked(story))
    r["state_receipt"]["map_proof"] = base64.b64encode(story.log.map_proof([A], 4)).decode()
    _refused(r, "map proof")


def test_map_proof_of_another_work(story: Any) -> None:
    r = _strip(_revoked(story))
    r["state_receipt"]["map_proof"] = base64.b64encode(story.log.map_proof([B], 6)).decode()
    _refused(r, "map proof")


def test_map_root_line_edited_breaks_the_signatures(story: Any) -> None:
    r = _strip(_revoked(story))
    note = r["state_receipt"]["checkpoint"]
    r["state_receipt"]["checkpoint"] = gen._replace_map_line(note, story.log.notes[4])
    _refused(r, "signature by current.example/log does not verify")


def test_map_line_resigned_by_another_key(story: Any) -> None:
    """A checkpoint with a forged map line signed by a key nobody trusts is refused."""
    r = _strip(_revoked(story))
    text = SignedNote.from_text(r["state_receipt"]["checkpoint"]).text
    forged = gen._replace_map_line(text, story.log.notes[4])
    impostor = NoteSigner(gen.ORIGIN, gen.key("impostor"))
    r["state_receipt"]["checkpoint"] = SignedNote(forged, (impostor.sign(forged),)).to_text()
    _refused(r, "no trusted key signed")


def test_informative_members_must_match(story: Any) -> None:
    r = _revoked(story)
    r["state_receipt"]["works"][0]["state"]["controller"] = story.developer.public.text
    _refused(r, "decoded state")
    r = _revoked(story)
    r["scope"] = "proves everything"
    _refused(r, "scope")
    r = _revoked(story)
    r["state_receipt"]["scope"] = STATE_RECEIPT_SCOPE
    _refused(r, "scope")
    r = _revoked(story)
    r["state_receipt"]["works"][0]["events"][0]["event"]["at"] = "2020-01-01T00:00:00Z"
    _refused(r, "decoded event 0")


def test_question_change_is_answered_anew(story: Any) -> None:
    """The question is part of what is verified: another purpose gets its own answer, and a
    decision copied from another question is refused."""
    r = _revoked(story)
    r["question"]["purpose"] = "data_mining"
    _refused(r, "not what the rules give")
    r.pop("decision")
    result = verify_any(r)
    assert isinstance(result, VerifiedDecision) and not result.decision.allowed


def _flips(data: bytes) -> list[bytes]:
    return [data[:i] + bytes([data[i] ^ (1 << b)]) + data[i + 1:]
            for i in range(len(data)) for b in range(8)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["A", "B", "C", "U"]), st.data())
def test_every_bit_flip_of_a_decision_receipts_map_proof_is_caught(name: str,
                                                                   data: st.DataObject) -> None:
    s = STORY
    r = s.log.decision_receipt(gen.work_of(name), 6, s.developer.public.text, "ai_training",
                               s.times[1])
    proof = base64.b64decode(r["state_receipt"]["map_proof"])
    flipped = data.draw(st.sampled_from(_flips(proof)))
    r["state_receipt"]["map_proof"] = base64.b64encode(flipped).decode()
    with pytest.raises(VerificationError):  # malformed proofs too: "map proof: ..."
        verify_any(r)


STORY = gen.build_story()


def test_every_bit_flip_of_every_map_proof_is_caught() -> None:
    """Exhaustively, for the four works' proofs at checkpoint 2."""
    s = STORY
    for name in "ABCU":
        r = _strip(s.log.decision_receipt(gen.work_of(name), 6, s.developer.public.text,
                                          "ai_training", s.times[1]))
        cp = Checkpoint.from_text(SignedNote.from_text(r["state_receipt"]["checkpoint"]).text)
        assert cp.map_root is not None
        proof = base64.b64decode(r["state_receipt"]["map_proof"])
        for flipped in _flips(proof):
            r["state_receipt"]["map_proof"] = base64.b64encode(flipped).decode()
            with pytest.raises(VerificationError):
                verify_any(r)


# -- v1 keeps its old, weaker statement ------------------------------------------------------


def test_v1_state_receipt_still_verifies_with_the_old_statement(story: Any) -> None:
    """A v1 state receipt of A at checkpoint 2 with the revocation left out still verifies:
    v1 never claimed completeness, and its scope says so. The v2 receipt of the same events
    is refused."""
    events = story.log.events_of(A, 6)[:-1]
    v1 = StateReceipt(story.log.vkey, story.log.notes[6], A,
                      tuple((i, leaf, tuple(p)) for i, leaf, p in events))
    data = json.loads(json.dumps(v1.to_json()))
    verified = verify_state_receipt(StateReceipt.from_json(data), LOG_KEYS, WITNESSES)
    check_decoded_state(data, verified)
    assert data["scope"] == STATE_RECEIPT_SCOPE
    assert "does not prove that no later event exists" in STATE_RECEIPT_SCOPE
    assert verified.state.grants[0].revoked_by is None  # the revocation is not visible
    v2 = build_state_receipt_v2(story.log.vkey, story.log.notes[6],
                                story.log.map_proof([A], 6), [(A, events)])
    with pytest.raises(VerificationError, match="left out"):
        verify_state_receipt_v2(v2, LOG_KEYS, WITNESSES)


# -- freshness --------------------------------------------------------------------------------


def test_fresh_as_of(story: Any) -> None:
    cp = Checkpoint.from_text(SignedNote.from_text(story.log.notes[6]).text)
    t2 = story.times[1]
    assert fresh_as_of(cp, {"w1": t2 + 60, "w2": t2 + 65}, True) == t2 + 65
    assert fresh_as_of(cp, {"w1": t2 + 60}, True) == t2 + 60
    assert fresh_as_of(cp, {"w1": t2 + 60}, False) == t2  # the log's own time
    assert fresh_as_of(cp, {}, False) == t2


# -- formats: round trips, strict parsing, caps ----------------------------------------------


def test_round_trips(story: Any) -> None:
    log = story.log
    sr = build_state_receipt_v2(log.vkey, log.notes[6], log.map_proof([A, U], 6),
                                [(A, log.events_of(A, 6)), (U, [])])
    for decoded in (True, False):
        assert StateReceiptV2.from_json(json.loads(json.dumps(sr.to_json(decoded)))) == sr
    dr = build_decision_receipt(log.vkey, log.notes[6], log.map_proof([A], 6), A,
                                log.events_of(A, 6), story.developer.public.text,
                                "ai_training", story.times[1])
    for decoded in (True, False):
        assert DecisionReceipt.from_json(json.loads(json.dumps(dr.to_json(decoded)))) == dr
    assert dr.to_json()["state_receipt"] == build_state_receipt_v2(
        log.vkey, log.notes[6], log.map_proof([A], 6), [(A, log.events_of(A, 6))]).to_json()


def test_builder_needs_a_map_line(story: Any) -> None:
    bare = gen._without_map_line(story)["state_receipt"]["checkpoint"]
    with pytest.raises(ValueError, match="no map line"):
        build_state_receipt_v2(story.log.vkey, bare, story.log.map_proof([A], 4),
                               [(A, story.log.events_of(A, 4))])


def _mutations() -> list[tuple[str, Any]]:
    def at(path: list[Any], value: Any) -> Any:
        def change(r: dict[str, Any]) -> None:
            target: Any = r
            for p in path[:-1]:
                target = target[p]
            target[path[-1]] = value
        return change

    sr, w0, e0 = ["state_receipt"], ["state_receipt", "works", 0], ["state_receipt", "works",
                                                                     0, "events", 0]
    return [
        ("unknown top field", at(["extra"], 1)),
        ("unknown question field", at(["question", "extra"], 1)),
        ("unknown state receipt field", at([*sr, "extra"], 1)),
        ("unknown work field", at([*w0, "extra"], 1)),
        ("unknown event field", at([*e0, "extra"], 1)),
        ("bad key", at(["question", "key"], "alice")),
        ("bad purpose", at(["question", "purpose"], "training")),
        ("bad time", at(["question", "at"], "yesterday")),
        ("bad work id", at([*w0, "work"], "sha256:00")),
        ("events not a list", at([*w0, "events"], {})),
        ("index a bool", at([*e0, "leaf_index"], True)),
        ("proof not base64", at([*sr, "map_proof"], "!!")),
        ("map proof missing", at([*sr, "map_proof"], None)),
        ("no works", at([*sr, "works"], [])),
        ("decision a string", at(["decision"], "yes")),
        ("state a string", at([*w0, "state"], "x")),
        ("v2 format", at([*sr, "format"], "provenance-ledger/state-receipt/v1")),
        ("two works in a decision", lambda r: r["state_receipt"]["works"].append(
            dict(r["state_receipt"]["works"][0], work=B))),
        ("work listed twice", lambda r: r["state_receipt"]["works"].append(
            r["state_receipt"]["works"][0])),
    ]


@pytest.mark.parametrize("name,change", _mutations(), ids=[m[0] for m in _mutations()])
def test_strict_parsing(story: Any, name: str, change: Any) -> None:
    r = _revoked(story)
    change(r)
    with pytest.raises(MalformedError):
        DecisionReceipt.from_json(r)


def test_duplicate_member_names_are_refused(story: Any) -> None:
    text = json.dumps(_revoked(story))
    dup = text.replace('"format": ', '"format": "x", "format": ', 1)
    with pytest.raises(MalformedError, match="duplicate"):
        load_json(dup, "receipt")


def test_caps() -> None:
    assert MAX_CURRENT_WORKS >= 10_000 and MAX_CURRENT_WORKS <= MAX_PROOF_KEYS
    assert MAX_CURRENT_EVENTS >= MAX_CURRENT_WORKS
    works = [{"work": "sha256:" + f"{i:064x}", "events": []} for i in range(MAX_CURRENT_WORKS + 1)]
    data = {"format": STATE_RECEIPT_V2_FORMAT, "log_key": "k", "checkpoint": "c",
            "map_proof": "AAAA", "works": works}
    with pytest.raises(MalformedError, match=f"1 to {MAX_CURRENT_WORKS} works"):
        StateReceiptV2.from_json(data)
    leaf = {"leaf_index": 0, "leaf": "AAAA", "inclusion_proof": []}
    data["works"] = [{"work": "sha256:" + f"{i:064x}", "events": [leaf] * 10_000}
                     for i in range(MAX_CURRENT_EVENTS // 10_000 + 1)]
    with pytest.raises(MalformedError, match=f"more than {MAX_CURRENT_EVENTS} events"):
        StateReceiptV2.from_json(data)
    data["works"] = [{"work": "sha256:" + "0" * 64, "events": [leaf] * 10_001}]
    with pytest.raises(MalformedError, match="at most 10000 events"):
        StateReceiptV2.from_json(data)
    data["works"] = [{"work": "sha256:" + "0" * 64, "events": [
        {"leaf_index": 0, "leaf": "AAAA", "inclusion_proof": ["A" * 44] * 65}]}]
    with pytest.raises(MalformedError, match="at most 64"):
        StateReceiptV2.from_json(data)


# -- batches ----------------------------------------------------------------------------------


def test_batch_of_ten_thousand_works_with_one_multiproof(story: Any) -> None:
    """10^4 works in one receipt: the four of the story and 9,996 that were never
    registered, all against one checkpoint with one map proof."""
    log = story.log
    works = [A, B, C] + [gen.work_of(f"never {i}") for i in range(MAX_CURRENT_WORKS - 3)]
    r = log.state_receipt(works, 6, decoded=False)
    result = verify_any(r)
    assert isinstance(result, VerifiedStateV2)
    assert [w.registered for w in result.works[:4]] == [True, True, True, False]
    assert sum(w.registered for w in result.works) == 3
    assert int.from_bytes(base64.b64decode(r["map_proof"])[:4], "big") == len(works)


def test_errors_are_ledger_errors(story: Any) -> None:
    """Whatever is wrong, the library raises its own error types (the CLI's one boundary
    turns them into one line)."""
    r = _strip(_revoked(story))
    r["state_receipt"]["works"][0]["events"][0]["leaf"] = base64.b64encode(b"{}").decode()
    with pytest.raises(LedgerError):
        verify_any(r)


def test_licence_citations() -> None:
    """A licence in force is cited with its acceptance; a terminated one with its end."""
    log = gen.TinyLog()
    creator, buyer = gen.key("creator"), gen.key("buyer")
    t = gen.T0
    reg = gen._ev(creator, "work.register", A, {"size": 1, "media_type": "image/png"}, None, t)
    offer = gen._ev(creator, "licence.offer", A, {"licensee": buyer.public.text,
                                                  "purposes": ["ai_inference"]}, reg.id, t + 1)
    accept = gen._ev(buyer, "licence.accept", A, {"offer": offer.id}, offer.id, t + 2)
    log.append_block([reg, offer, accept], t + 3)
    end = gen._ev(creator, "licence.terminate", A, {"licence": offer.id}, accept.id, t + 4)
    log.append_block([end], t + 5)
    vkeys = [log.signer.verifier]
    d1 = verify_any(log.decision_receipt(A, 3, buyer.public.text, "ai_inference", t + 3),
                    vkeys, {})
    assert isinstance(d1, VerifiedDecision) and d1.decision.allowed
    assert citations(d1.decision, d1.work.state) == (f"licence {offer.id} accepted in "
                                                     f"{accept.id}",)
    d2 = verify_any(log.decision_receipt(A, 4, buyer.public.text, "ai_inference", t + 5),
                    vkeys, {})
    assert isinstance(d2, VerifiedDecision) and not d2.decision.allowed
    assert citations(d2.decision, d2.work.state) == (
        f"licence {offer.id}, terminated by {end.id} at {format_time(t + 4)}",)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["", "question", "state_receipt", "state_receipt.works.0",
                        "state_receipt.works.0.events.0"]), st.text(max_size=12), _json)
def test_any_json_is_refused_with_a_malformed_error(where: str, name: str, value: Any) -> None:
    """Whatever member a peer changes to whatever JSON, parsing ends in MalformedError or in a
    receipt, never in another exception."""
    r = _revoked(STORY)
    target: Any = r
    for part in filter(None, where.split(".")):
        target = target[int(part) if part.isdigit() else part]
    target[name or "format"] = value
    try:
        DecisionReceipt.from_json(r)
    except MalformedError:
        pass
