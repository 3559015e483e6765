"""Tests for provenance_ledger.core.compliance: compliance receipts (specs/receipts.md
section 14).

The known-answer cases of tests/data/compliance/vectors.json (written by its make_vectors.py
from the log of tests/data/current: real signed events, real proofs, real cosignatures), then
receipts built here from the same log for round trips and for "any tampering is detected".
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance_ledger.core.compliance import (
    COMPLIANCE_RECEIPT_FORMAT,
    COMPLIANCE_RECEIPT_SCOPE,
    MAX_COMPLIANCE_ITEMS,
    ComplianceReceipt,
    VerifiedCompliance,
    check_decoded_compliance,
    verify_compliance_receipt,
)
from provenance_ledger.core.encoding import load_json
from provenance_ledger.core.note import Verifier
from provenance_ledger.errors import LedgerError, MalformedError, VerificationError
from tests.vectors import load_generator, load_known_answers

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "compliance"


gen = load_generator(DATA / "make_vectors.py", "compliance_make_vectors")


VECTORS = load_known_answers(DATA / "vectors.json", "provenance-ledger/compliance-vectors/v1")
LOG_KEYS = [Verifier.from_vkey(VECTORS["log_key"])]
WITNESSES = {n: Verifier.from_vkey(v) for n, v in VECTORS["witnesses"].items()}
STORY = gen.gen.build_story()


def verify_any(data: Any) -> VerifiedCompliance:
    """What a verifier does with the file's JSON: parse strictly, verify, check the members
    written for people."""
    raw = load_json(json.dumps(data), "receipt")
    verified = verify_compliance_receipt(ComplianceReceipt.from_json(raw), LOG_KEYS, WITNESSES)
    check_decoded_compliance(raw, verified)
    return verified


def test_vectors_are_what_the_generator_writes() -> None:
    assert gen.text() == (DATA / "vectors.json").read_text()


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_vector(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if not expect["valid"]:
        with pytest.raises((VerificationError, MalformedError), match=expect["error"]):
            verify_any(case["receipt"])
        return
    v = verify_any(case["receipt"])
    assert v.current.checkpoint.size == expect["tree_size"]
    assert dict(v.current.cosigners) == expect["cosigners"]
    assert [a.outcome for a in v.answers] == expect["outcomes"]
    assert v.summary == expect["summary"]


def test_the_scope_is_the_spec_sentence() -> None:
    spec = " ".join((ROOT / "specs" / "receipts.md").read_text(encoding="utf-8").split())
    assert COMPLIANCE_RECEIPT_SCOPE in spec
    assert all(c["receipt"]["format"] == COMPLIANCE_RECEIPT_FORMAT for c in VECTORS["cases"])


def test_an_allowed_item_cites_the_consent_it_rests_on() -> None:
    v = verify_any(VECTORS["cases"][0]["receipt"])
    a = v.answers[0]
    assert a.decision.allowed and a.decision.events == (STORY.grant_id,)
    assert v.answers[3].work == a.work  # the copy of A answers the same


def test_the_receipt_without_informative_members_verifies_alike() -> None:
    good = VECTORS["cases"][0]["receipt"]
    bare = {k: v for k, v in good.items() if k not in ("scope", "summary")}
    bare["items"] = [{"name": i["name"], "work": i["work"]} for i in good["items"]]
    assert verify_any(bare).summary == verify_any(good).summary


# -- any tampering is detected ----------------------------------------------------------------

GOOD = VECTORS["cases"][0]["receipt"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_bit_flip_in_the_map_proof_or_a_leaf_is_caught(data: st.DataObject) -> None:
    doc = json.loads(json.dumps(GOOD))
    sr = doc["state_receipt"]
    where = data.draw(st.sampled_from(["map_proof", "leaf", "inclusion"]))
    if where == "map_proof":
        holder, member = sr, "map_proof"
    else:
        work = data.draw(st.sampled_from([w for w in sr["works"] if w["events"]]))
        event = data.draw(st.sampled_from(work["events"]))
        if where == "leaf":
            holder, member = event, "leaf"
        else:
            proof = event["inclusion_proof"]
            holder, member = proof, data.draw(st.integers(0, len(proof) - 1))
    raw = bytearray(base64.b64decode(holder[member]))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    holder[member] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(LedgerError):
        verify_any(doc)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_item_decision_changed_is_caught(data: st.DataObject) -> None:
    doc = json.loads(json.dumps(GOOD))
    n = data.draw(st.integers(0, len(doc["items"]) - 1))
    decision = doc["items"][n]["decision"]
    change = data.draw(st.sampled_from(["allowed", "reason", "events"]))
    if change == "allowed":
        decision["allowed"] = not decision["allowed"]
    elif change == "reason":
        decision["reason"] += " (edited)"
    else:
        decision["events"] = decision["events"][1:] or ["00" * 32]
    with pytest.raises(VerificationError, match="not what the rules give"):
        verify_any(doc)


@pytest.mark.parametrize("drop", ["item", "work", "both"])
def test_a_work_dropped_is_caught(drop: str) -> None:
    """Dropping C from the items, from the state receipt, or from both (the map proof then
    answers for a key that is no longer asked)."""
    doc = json.loads(json.dumps(GOOD))
    if drop in ("item", "both"):
        doc["items"].pop()
    if drop in ("work", "both"):
        doc["state_receipt"]["works"].pop()
    doc.pop("summary")
    with pytest.raises((VerificationError, MalformedError)):
        verify_any(doc)


# -- the format round-trips -------------------------------------------------------------------

NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp",
                                                                 "Cf")),
                min_size=1, max_size=40)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(NAMES, st.sampled_from("ABCU")), min_size=1, max_size=12),
       st.sampled_from(["ai_training", "data_mining", "ai_inference"]), st.booleans())
def test_round_trip(items: list[tuple[str, str]], purpose: str, decoded: bool) -> None:
    s = STORY
    doc = gen.receipt(s, s.sizes[1], purpose, s.times[1], tuple(items))
    parsed = ComplianceReceipt.from_json(load_json(json.dumps(doc), "receipt"))
    assert parsed.to_json() == doc
    assert ComplianceReceipt.from_json(parsed.to_json(decoded)).to_json(decoded) == \
        parsed.to_json(decoded)
    v = verify_any(doc)
    assert [a.name for a in v.answers] == [n for n, _ in items]
    assert v.summary["items"] == len(items)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.__setitem__("extra", 1), "unknown field"),
    (lambda d: d["items"][0].__setitem__("extra", 1), "unknown field"),
    (lambda d: d.__setitem__("items", []), "1 to"),
    (lambda d: d["items"][0].__setitem__("name", "a\nb"), "name"),
    (lambda d: d["items"][0].__setitem__("name", ""), "name"),
    (lambda d: d["items"][0].__setitem__("work", "sha256:AB"), "work"),
    (lambda d: d.__setitem__("summary", {"items": 5}), "summary"),
    (lambda d: d.__setitem__("format", "provenance-ledger/compliance-receipt/v2"), "format"),
    (lambda d: d["question"].__setitem__("key", "ed25519:00"), "key"),
])
def test_malformed_receipts_are_refused(change: Any, message: str) -> None:
    doc = json.loads(json.dumps(GOOD))
    change(doc)
    with pytest.raises(MalformedError, match=message):
        ComplianceReceipt.from_json(doc)


def test_the_item_cap_is_enforced_while_parsing() -> None:
    doc = json.loads(json.dumps(GOOD))
    doc["items"] = doc["items"][:1] * (MAX_COMPLIANCE_ITEMS + 1)
    with pytest.raises(MalformedError, match=f"1 to {MAX_COMPLIANCE_ITEMS}"):
        ComplianceReceipt.from_json(doc)


# -- similar items (section 14, ``similar``) ---------------------------------------------------

CODE = "ISCC:EEA6QKR2NVJDWLMZ"  # a 64-bit image content unit


def _with_item(change: dict[str, Any], at: int = 0) -> dict[str, Any]:
    doc = json.loads(json.dumps(GOOD))
    doc.pop("summary")
    for item in doc["items"]:
        item.pop("decision")
    doc["items"][at].update(change)
    return doc


def test_an_iscc_item_that_matched_nothing_is_unregistered_and_names_no_work() -> None:
    doc = json.loads(json.dumps(GOOD))
    doc.pop("summary")
    doc["items"].append({"name": CODE, "work": None, "similar": {"code": CODE,
                                                                 "distance": None}})
    v = verify_any(doc)
    assert v.answers[-1].outcome == "unregistered" and v.answers[-1].work is None
    assert v.summary["unregistered"] == verify_any(GOOD).summary["unregistered"] + 1


@pytest.mark.parametrize("at,words", [
    (0, "no content code comparable"),  # A's registration carries no similarity member
    (2, "a work the log does not hold"),  # U is not registered
])
def test_a_similar_match_the_log_does_not_bear_out_is_caught(at: int, words: str) -> None:
    with pytest.raises(VerificationError, match=words):
        verify_any(_with_item({"similar": {"code": CODE, "distance": 3}}, at))


@pytest.mark.parametrize("similar,words", [
    ({"code": CODE, "distance": 17}, "distance must be 0 to 16"),
    ({"code": CODE, "distance": True}, "distance an integer"),
    ({"code": "ISCC:KACYPXW445FTYNJ3", "distance": 1}, "not an ISCC content code of 64 bits"),
    ({"code": CODE}, "exactly code, distance"),
    ({"code": CODE, "distance": None}, "names no work"),
])
def test_a_malformed_similar_member_is_refused(similar: dict[str, Any], words: str) -> None:
    with pytest.raises(MalformedError, match=words):
        ComplianceReceipt.from_json(_with_item({"similar": similar}))
