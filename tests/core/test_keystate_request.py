"""Key requests (core/key_request.py, specs/cli.md section 3.7.1) in process: the signer signs
last, each signature is checked, the file round-trips, and the complete request is the event
the rules accept (a 2-of-3 recovery rotation)."""

from __future__ import annotations

import pytest

from provenance_ledger.core.encoding import b64encode
from provenance_ledger.core.events import Event
from provenance_ledger.core.identity import key_record_id
from provenance_ledger.core.key_request import KeyRequest
from provenance_ledger.core.keystate import statement
from provenance_ledger.core.rules import apply, may
from provenance_ledger.errors import MalformedError

from .test_keystate import KEYS, Log, pub


def request(log: Log) -> KeyRequest:
    """A rotation of 'old' to 'new' for recovery keys r1 (the signer), r2, r3, threshold 2."""
    rid = key_record_id(pub("old"))
    body = {"key": pub("old"), "to": pub("new"), "to_sig": b64encode(bytes(64))}
    draft = Event("key.rotate", rid, log.states[rid].head, pub("r1"), log.at + 1, body)
    body["to_sig"] = b64encode(KEYS["new"].sign(statement(draft)))
    return KeyRequest(Event("key.rotate", rid, draft.prev, pub("r1"), draft.at, body),
                      (pub("r1"), pub("r2"), pub("r3")), 2)


def test_recovery_keys_sign_in_turn_and_the_rules_accept_the_result() -> None:
    log = Log()
    w = log.register("old", "page")
    rid = key_record_id(pub("old"))
    log.do("old", "key.recovery", rid, {"key": pub("old"), "keys": [pub("r1"), pub("r2"),
                                                                   pub("r3")], "threshold": 2})
    req = request(log)
    with pytest.raises(MalformedError, match="needs 1 more cosignature"):
        req.cosign(KEYS["r1"])
    with pytest.raises(MalformedError, match="not one of the recovery keys"):
        req.cosign(KEYS["thief"])
    req = KeyRequest.from_json(req.cosign(KEYS["r3"]).to_json())  # through its file form
    with pytest.raises(MalformedError, match="cosigned this request already"):
        req.cosign(KEYS["r3"])
    with pytest.raises(MalformedError, match="not complete"):
        req.signed()
    done = KeyRequest.from_json(req.cosign(KEYS["r1"]).to_json())
    assert done.complete and done.cosigners == (pub("r3"),)
    with pytest.raises(MalformedError, match="complete"):
        done.cosign(KEYS["r2"])
    log.states[rid] = apply(log.states[rid], done.signed(), keys=log.lookup, strict=True)
    assert may(log.states[w], pub("new"), "ai_training", log.at + 1, log.lookup).allowed


def test_a_request_changed_after_a_signature_is_refused() -> None:
    log = Log()
    log.register("old", "page")
    rid = key_record_id(pub("old"))
    log.do("old", "key.recovery", rid, {"key": pub("old"), "keys": [pub("r1"), pub("r2"),
                                                                   pub("r3")], "threshold": 2})
    doc = request(log).cosign(KEYS["r2"]).to_json()
    doc["event"]["at"] = "2030-01-01T00:00:00Z"  # the statement signed was for another time
    changed = KeyRequest.from_json(doc)
    with pytest.raises(MalformedError, match="does not verify: the request was changed"):
        changed.cosign(KEYS["r1"])
    with pytest.raises(MalformedError, match="exactly the members"):
        KeyRequest.from_json({**doc, "extra": 1})
