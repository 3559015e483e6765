"""Fuzz and properties of receipts and state receipts (specs/receipts.md), made by a real
SQLite-backed ledger: any input gives a verified value or a MalformedError/VerificationError;
to_json/from_json round-trip; a receipt with any member changed is refused, unless the change
only removed an informative member (``event``, ``tlog_proof``, ``scope``, a null ``state``)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance_ledger.core.events import SignedEvent, work_id_of
from provenance_ledger.core.note import Verifier
from provenance_ledger.core.receipt import (
    MAX_STATE_RECEIPT_BYTES,
    Receipt,
    StateReceipt,
    check_decoded_event,
    check_decoded_state,
    load_receipt_json,
    verify_receipt,
    verify_state_receipt,
)
from provenance_ledger.errors import MalformedError, VerificationError
from provenance_ledger.ledger import Home

from .strategies import KEYS, fuzz, json_mutation, json_values, paths
from .test_events_fuzz import REFUSALS

NOW = 1_767_225_600
WORK = work_id_of(hashlib.sha256(b"fuzzed receipts' work").hexdigest())
OPTIONAL = {"event", "tlog_proof", "scope"}  # informative members a receipt may leave out


class Made(NamedTuple):
    receipts: list[dict[str, Any]]
    state_receipt: dict[str, Any]
    log_key: Verifier


def _sign(type_: str, body: dict[str, Any], prev: str | None, by: int = 0,
          work: str = WORK) -> SignedEvent:
    from provenance_ledger.core.events import Event, sign_event

    key = KEYS[by]
    return sign_event(Event(type_, work, prev, key.public.text, NOW, body), key)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    ledger = Home(Path(tmp_path_factory.mktemp("fuzz-receipts")) / "home").open_ledger()
    try:
        chain = [_sign("work.register", {"size": 1, "media_type": "image/png",
                                         "title": "Fuzzed page"}, None)]
        for type_, body, by in (
                ("consent.grant", {"grantee": "*", "purposes": ["ai_inference"]}, 0),
                ("licence.offer", {"licensee": KEYS[1].public.text,
                                   "purposes": ["ai_training"],
                                   "fee": {"amount": 10, "currency": "EUR"}}, 0),
                ("licence.accept", {"offer": ""}, 1),
                ("work.transfer", {"to": KEYS[2].public.text}, 0)):
            if type_ == "licence.accept":
                body = {"offer": chain[-1].id}
            chain.append(_sign(type_, body, chain[-1].id, by))
        other = _sign("work.register", {"size": 2, "media_type": "text/plain"}, None, 3,
                      work_id_of(hashlib.sha256(b"another").hexdigest()))
        leaves = [chain[0].leaf, other.leaf] + [e.leaf for e in chain[1:]]
        for i in range(0, len(leaves), 2):  # several blocks, so proofs have several levels
            results = ledger.append_block(leaves[i:i + 2], NOW)
            assert not any(isinstance(r, Exception) for r in results), results
        receipts = [ledger.receipt(i).to_json() for i in range(ledger.size)]
        state = ledger.state(WORK)
        assert state is not None
        state_receipt = ledger.state_receipt(WORK).to_json(state.to_json())
        return Made(json.loads(json.dumps(receipts)), json.loads(json.dumps(state_receipt)),
                    Verifier.from_vkey(ledger.vkey))
    finally:
        ledger.close()


def _check_receipt(data: Any, log_key: Verifier) -> SignedEvent:
    """What ``verify`` does with a receipt's JSON, short of the quorum and the file."""
    result = verify_receipt(Receipt.from_json(data), [log_key])
    check_decoded_event(data, result.event)
    return result.event


def _check_state(data: Any, log_key: Verifier) -> Any:
    result = verify_state_receipt(StateReceipt.from_json(data), [log_key])
    check_decoded_state(data, result)
    return result


@fuzz(200)
@given(st.binary(max_size=400))
def test_any_bytes_as_a_receipt_are_refused(made: Made, data: bytes) -> None:
    try:
        parsed = load_receipt_json(data, MAX_STATE_RECEIPT_BYTES)
        _check_receipt(parsed, made.log_key)
    except REFUSALS:
        return
    raise AssertionError(f"accepted {data!r}")


@fuzz(200)
@given(json_values)
def test_any_json_as_a_receipt_or_state_receipt_is_refused(made: Made, value: Any) -> None:
    for check in (_check_receipt, _check_state):
        try:
            check(value, made.log_key)
        except REFUSALS:
            continue
        raise AssertionError(f"accepted {value!r}")


def test_receipts_round_trip(made: Made) -> None:
    for doc in made.receipts:
        receipt = Receipt.from_json(doc)
        assert receipt.to_json() == doc
        assert Receipt.from_json(json.loads(json.dumps(receipt.to_json()))) == receipt
        _check_receipt(doc, made.log_key)
    sr = StateReceipt.from_json(made.state_receipt)
    verified = _check_state(made.state_receipt, made.log_key)
    assert sr.to_json(verified.state.to_json()) == made.state_receipt
    assert StateReceipt.from_json(sr.to_json()) == sr


def _only_informative_removed(changed: dict[str, Any], original: dict[str, Any]) -> bool:
    """Every member of ``changed`` is the original's, and only informative ones are missing."""
    if not isinstance(changed, dict):
        return False
    if any(k not in original or changed[k] != original[k] for k in changed
           if not (k == "state" and changed[k] is None) and k != "events"):
        return False
    if set(original) - set(changed) - OPTIONAL - {"state"}:
        return False
    if "events" in original:
        got, want = changed.get("events"), original["events"]
        if not isinstance(got, list) or len(got) != len(want):
            return False
        return all(isinstance(g, dict) and all(g.get(k) == w[k] for k in g) and
                   set(w) - set(g) <= {"event"} for g, w in zip(got, want, strict=True))
    return True


@fuzz(300)
@given(st.data())
def test_a_changed_receipt_is_refused(made: Made, data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(made.receipts))
    changed, what = data.draw(json_mutation(original))
    try:
        event = _check_receipt(changed, made.log_key)
    except REFUSALS:
        return
    assert _only_informative_removed(changed, original), what
    assert event.leaf == _check_receipt(original, made.log_key).leaf


@fuzz(150)
@given(st.data())
def test_a_changed_state_receipt_is_refused(made: Made, data: st.DataObject) -> None:
    original = made.state_receipt
    changed, what = data.draw(json_mutation(original))
    try:
        _check_state(changed, made.log_key)
    except REFUSALS:
        return
    assert _only_informative_removed(changed, original), what


@fuzz(60)
@given(st.data())
def test_state_receipt_events_cannot_be_dropped_or_reordered(made: Made,
                                                             data: st.DataObject) -> None:
    doc = copy.deepcopy(made.state_receipt)
    events = doc["events"]
    kept = data.draw(st.lists(st.integers(0, len(events) - 1), min_size=1,
                              max_size=len(events)))
    doc["events"] = [events[i] for i in kept]
    doc["state"] = None
    try:
        _check_state(doc, made.log_key)
    except REFUSALS:
        # Refused unless it is a prefix of the history: a receipt of the work as it was.
        assert kept != list(range(len(kept)))
        return
    assert kept == list(range(len(kept)))


def test_the_fixture_has_members_to_change(made: Made) -> None:
    assert len(paths(made.receipts[0])) > 20 and len(made.state_receipt["events"]) == 5
    with pytest.raises((MalformedError, VerificationError)):
        _check_receipt({**made.receipts[0], "leaf_index": 1}, made.log_key)
