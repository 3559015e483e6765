"""The key records a decision receipt must carry (specs/receipts.md section 12.2): the
records of every key reachable from the work's controllers, grantees, licensees and payees.
A receipt that lists key records but leaves a needed one out does not verify (else it could
answer otherwise than ``may``); one that lists none keeps the meaning of the receipts made
before key records. In process: real signatures, a real SQLite ledger, the real verifier."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from provenance_ledger.core.current import (
    DecisionReceipt,
    Question,
    VerifiedDecision,
    decision_keys,
    verify_decision_receipt,
)
from provenance_ledger.core.identity import key_record_id
from provenance_ledger.core.timefmt import format_time
from provenance_ledger.errors import VerificationError
from provenance_ledger.ledger import Home

from .test_keystate import Log, in_order, pub

Decide = Callable[[Question, list[str]], VerifiedDecision]


def rid(name: str) -> str:
    return key_record_id(pub(name))


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Log, dict[str, str],
                                                                       Decide]]:
    """'old' registers a page and grants it to 'user' for ai_training; 'user' is rotated to
    'x' (the grantee's successor). 'old' registers a second page licensed to 'r1', who
    accepts and is then declared compromised from before the acceptance. All on one ledger."""
    log = Log()
    granted = log.register("old", "a page granted to a key later rotated")
    log.do("old", "consent.grant", granted, {"grantee": pub("user"),
                                             "purposes": ["ai_training"]})
    log.rotate("user", "x")
    licensed = log.register("old", "a page licensed to a key later compromised")
    offer = log.do("old", "licence.offer", licensed, {"licensee": pub("r1"),
                                                      "purposes": ["ai_inference"]})
    accept = log.do("r1", "licence.accept", licensed, {"offer": offer.id})
    log.do("r1", "key.compromised", rid("r1"), {"key": pub("r1"),
                                                "since": format_time(accept.event.at)})
    ledger = Home(tmp_path_factory.mktemp("decision-keys") / "home").open_ledger()
    for ev in in_order(log):
        ledger.append(ev.leaf, log.at)

    def decide(q: Question, works: list[str]) -> VerifiedDecision:
        sr = ledger.complete_state_receipt(works)
        assert sr is not None
        receipt = DecisionReceipt.from_json(DecisionReceipt(q, sr).to_json())
        return verify_decision_receipt(receipt, [ledger.verifier])

    try:
        yield log, {"granted": granted, "licensed": licensed}, decide
    finally:
        ledger.close()


def test_the_receipt_needs_the_grantees_records_and_its_successors(
        logged: tuple[Log, dict[str, str], Decide]) -> None:
    log, works, decide = logged
    w = works["granted"]
    assert decision_keys(log.states[w], log.lookup) == (pub("old"), pub("user"), pub("x"))
    q = Question(pub("x"), "ai_training", log.at)
    full = decide(q, [w, rid("old"), rid("user"), rid("x")])
    assert full.decision.allowed and full.keys_proven
    assert full.decision.reason == "consent granted to this key for ai_training"
    # the successor's record left out: the receipt would not show that it holds the grant
    with pytest.raises(VerificationError, match=f"not the record of {pub('x')}"):
        decide(q, [w, rid("old"), rid("user")])
    # the controller's records alone (what receipts listed before): refused, not "may not"
    with pytest.raises(VerificationError, match=f"not the record of {pub('user')}, a key the "
                                                "answer relies on"):
        decide(q, [w, rid("old")])
    # no key record at all: the meaning of a receipt made before key records
    bare = decide(q, [w])
    assert not bare.decision.allowed and not bare.keys_proven
    # the old grantee key no longer holds the grant it was given
    assert not decide(Question(pub("user"), "ai_training", log.at),
                      [w, rid("old"), rid("user"), rid("x")]).decision.allowed


def test_the_receipt_needs_a_compromised_licensees_record(
        logged: tuple[Log, dict[str, str], Decide]) -> None:
    log, works, decide = logged
    w = works["licensed"]
    q = Question(pub("r1"), "ai_inference", log.at)
    # the acceptance was signed after the licensee's key was compromised: it does not count
    full = decide(q, [w, rid("old"), rid("r1")])
    assert not full.decision.allowed and full.keys_proven
    with pytest.raises(VerificationError, match=f"not the record of {pub('r1')}"):
        decide(q, [w, rid("old")])  # would answer "allowed" from the disputed acceptance
