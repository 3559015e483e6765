"""Tests for provenance_ledger.core.keystate: key rotation, recovery and compromise (specs/rules.md
section 9, R19-R22), through :func:`rules.apply` with real signatures, and through a real
ledger in any batching (every node agrees)."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.current import (
    DecisionReceipt,
    Question,
    VerifiedDecision,
    verify_decision_receipt,
)
from provenance_ledger.core.dataset import series_id
from provenance_ledger.core.encoding import b64encode
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.core.identity import KeyRecord, key_record_id
from provenance_ledger.core.keystate import effective, holder, statement
from provenance_ledger.core.rules import WorkState, apply, may
from provenance_ledger.core.timefmt import format_time
from provenance_ledger.errors import LedgerError, RuleError, VerificationError
from provenance_ledger.ledger import Home

from ..conftest import NOW

KEYS = {n: PrivateKey.from_seed(hashlib.sha256(b"keystate " + n.encode()).digest())
        for n in ("old", "new", "newer", "r1", "r2", "r3", "guild", "thief", "user", "x")}


def pub(name: str) -> str:
    return KEYS[name].public.text


class Log:
    """Every work's and key record's state, appended to in log order with the key records as
    of that point (strict, as a log admits events)."""

    def __init__(self) -> None:
        self.states: dict[str, WorkState] = {}
        self.events: dict[str, list[SignedEvent]] = {}
        self.at = NOW

    def lookup(self, key: str) -> KeyRecord | None:
        s = self.states.get(key_record_id(key))
        return None if s is None else s.identity

    def event(self, signer: str, type_: str, work: str, body: dict[str, Any],
              new: str | None = None, cosign: tuple[str, ...] = ()) -> SignedEvent:
        self.at += 1
        prev = self.states[work].head if work in self.states else None
        draft_body = {**body, **({"to_sig": b64encode(bytes(64))} if new else {})}
        message = statement(Event(type_, work, prev, pub(signer), self.at, draft_body))
        if new:
            body = {**body, "to_sig": b64encode(KEYS[new].sign(message))}
        if cosign:
            body = {**body, "cosigs": [{"key": pub(c), "sig": b64encode(KEYS[c].sign(message))}
                                       for c in cosign]}
        return sign_event(Event(type_, work, prev, pub(signer), self.at, body), KEYS[signer])

    def do(self, signer: str, type_: str, work: str, body: dict[str, Any], **kw: Any
           ) -> SignedEvent:
        ev = self.event(signer, type_, work, body, **kw)
        self.states[work] = apply(self.states.get(work), ev, keys=self.lookup, strict=True)
        self.events.setdefault(work, []).append(ev)
        return ev

    def refuse(self, match: str, signer: str, type_: str, work: str, body: dict[str, Any],
               **kw: Any) -> None:
        ev = self.event(signer, type_, work, body, **kw)
        with pytest.raises(RuleError, match=match):
            apply(self.states.get(work), ev, keys=self.lookup, strict=True)

    # shorthands
    def register(self, key: str, name: str) -> str:
        w = work_id_of(hashlib.sha256(name.encode()).hexdigest())
        self.do(key, "work.register", w, PAGE)
        return w

    def rotate(self, subject: str, to: str, signer: str | None = None,
               cosign: tuple[str, ...] = ()) -> SignedEvent:
        return self.do(signer or subject, "key.rotate", key_record_id(pub(subject)),
                       {"key": pub(subject), "to": pub(to)}, new=to, cosign=cosign)


PAGE = {"size": 1, "media_type": "image/png"}


def grant_body() -> dict[str, Any]:
    return {"grantee": "*", "purposes": ["ai_training"]}


def test_one_rotation_moves_control_of_every_work() -> None:
    log = Log()
    works = [log.register("old", f"page {i}") for i in range(3)]
    log.rotate("old", "new")
    for w in works:
        assert may(log.states[w], pub("new"), "ai_training", log.at + 1, log.lookup).allowed
        assert not may(log.states[w], pub("old"), "ai_training", log.at + 1, log.lookup).allowed
        # before the rotation the old key held it
        before = log.states[w].registered_at
        assert may(log.states[w], pub("old"), "ai_training", before, log.lookup).allowed
    log.do("new", "consent.grant", works[0], grant_body())
    log.refuse("must be signed by the work's controller " + pub("new"), "old", "consent.grant",
               works[1], grant_body())
    log.refuse("already rotated", "old", "key.rotate", key_record_id(pub("old")),
               {"key": pub("old"), "to": pub("newer")}, new="newer")
    # rotations chain: the work is held by the last key
    log.rotate("new", "newer")
    assert holder(pub("old"), log.at, log.lookup) == pub("newer")
    assert log.states[works[0]].controller == pub("old")  # no event on the works at all


def test_the_new_key_must_sign_the_rotation() -> None:
    log = Log()
    rid = key_record_id(pub("old"))
    ev = log.event("old", "key.rotate", rid, {"key": pub("old"), "to": pub("new")}, new="x")
    with pytest.raises(RuleError, match="the new key"):
        apply(None, ev, keys=log.lookup, strict=True)
    log.refuse("cannot be rotated to itself", "old", "key.rotate", rid,
               {"key": pub("old"), "to": pub("old")}, new="old")


def test_recovery_by_two_of_three_recovery_keys() -> None:
    log = Log()
    w = log.register("old", "page")
    rid = key_record_id(pub("old"))
    log.do("old", "key.recovery", rid, {"key": pub("old"), "keys": [pub("r1"), pub("r2"),
                                                                   pub("r3")], "threshold": 2})
    body = {"key": pub("old"), "to": pub("new")}
    log.refuse("needs 2 of the 3 recovery keys; 1 signed", "r1", "key.rotate", rid, body,
               new="new")
    log.refuse("must be signed by the key itself or its recovery", "r1", "key.rotate", rid,
               body, new="new", cosign=("thief",))
    ev = log.event("r1", "key.rotate", rid, body, new="new", cosign=("r2",))
    forged = sign_event(Event(ev.event.type, ev.event.work, ev.event.prev, ev.event.actor,
                              ev.event.at, {**ev.event.body, "cosigs": [
                                  {"key": pub("r2"), "sig": b64encode(bytes(64))}]}), KEYS["r1"])
    with pytest.raises(RuleError, match=r"cosigs\[0\] by .* does not verify"):
        apply(log.states[rid], forged, keys=log.lookup, strict=True)
    log.rotate("old", "new", signer="r3", cosign=("r1",))
    assert may(log.states[w], pub("new"), "ai_training", log.at, log.lookup).allowed


def test_recovery_by_the_attesting_association() -> None:
    log = Log()
    w = log.register("old", "page")
    rid = key_record_id(pub("old"))
    body = {"key": pub("old"), "to": pub("new")}
    log.do("old", "key.recovery", rid, {"key": pub("old"), "association": pub("guild")})
    log.refuse("no attestation of .* in force", "guild", "key.rotate", rid, body, new="new")
    # an attester the key did not name cannot act for it
    log.do("thief", "identity.attest", rid, {"key": pub("old"), "name": "Mika"})
    log.refuse("must be signed by the key itself", "thief", "key.rotate", rid,
               {"key": pub("old"), "to": pub("thief")}, new="thief")
    log.do("guild", "identity.attest", rid, {"key": pub("old"), "name": "Mika Sato"})
    log.rotate("old", "new", signer="guild")
    assert may(log.states[w], pub("new"), "ai_training", log.at, log.lookup).allowed


def test_a_compromised_keys_later_transfer_does_not_count() -> None:
    log = Log()
    w = log.register("old", "page")
    log.do("old", "consent.grant", w, grant_body())
    theft = log.at + 1
    log.do("old", "work.transfer", w, {"to": pub("thief")})
    log.do("thief", "consent.grant", w, {"grantee": pub("x"), "purposes": ["ai_inference"]})
    rid = key_record_id(pub("old"))
    log.do("old", "key.compromised", rid, {"key": pub("old"), "since": format_time(theft)})
    eff = effective(log.events[w], log.lookup, apply)
    assert eff.disputed == tuple(e.id for e in log.events[w][2:])
    assert eff.state.controller == pub("old")
    assert may(eff.state, pub("user"), "ai_training", log.at, log.lookup).allowed  # before
    assert not may(eff.state, pub("x"), "ai_inference", log.at, log.lookup).allowed
    # a log admits nothing more the compromised key signs
    log.refuse("declared compromised", "old", "consent.grant", w, grant_body())
    log.refuse("already compromised", "old", "key.compromised", rid,
               {"key": pub("old"), "since": format_time(theft + 1)})


def test_a_log_refuses_a_registration_by_a_compromised_key(tmp_path: Any) -> None:
    """R22: a registration counts by its signer alone, so a log admits none signed at or
    after its key's ``compromised_since`` (the thief cannot register works as the owner)."""
    log = Log()
    log.register("old", "page")
    rid = key_record_id(pub("old"))
    theft = log.at + 1
    log.do("old", "key.compromised", rid, {"key": pub("old"), "since": format_time(theft)})
    log.refuse("declared compromised", "old", "work.register",
               work_id_of(hashlib.sha256(b"stolen").hexdigest()), PAGE)
    log.refuse("declared compromised", "old", "dataset.disclose",
               series_id(pub("old"), "corpus"), {
                   "name": "corpus", "version": "1", "purposes": ["ai_training"],
                   "root": hashlib.sha256(b"a root").hexdigest(), "count": 1})
    # a real ledger refuses it too, and keeps it out of its log
    ledger = Home(tmp_path / "home").open_ledger()
    try:
        results = ledger.append_block([e.leaf for e in in_order(log)], log.at)
        assert not [r for r in results if isinstance(r, LedgerError)]
        stolen = log.event("old", "work.register",
                           work_id_of(hashlib.sha256(b"stolen 2").hexdigest()), PAGE)
        (refused,) = ledger.append_block([stolen.leaf], log.at)
        assert isinstance(refused, RuleError) and "declared compromised" in str(refused)
        assert ledger.state(stolen.event.work) is None
        assert ledger.store.size() == len(in_order(log))
        # before its key's compromise, a registration is admitted as ever
        early = Log()
        early.at = NOW
        fine = early.event("old", "work.register",
                           work_id_of(hashlib.sha256(b"before").hexdigest()), PAGE)
        assert fine.event.at < theft
        (kept,) = ledger.append_block([fine.leaf], log.at)
        assert not isinstance(kept, LedgerError)
    finally:
        ledger.close()


def test_a_thiefs_rotation_is_undone_and_the_key_recovered() -> None:
    log = Log()
    w = log.register("old", "page")
    rid = key_record_id(pub("old"))
    log.do("old", "key.recovery", rid, {"key": pub("old"), "keys": [pub("r1"), pub("r2")],
                                        "threshold": 2})
    stolen = log.rotate("old", "thief")  # with the stolen key
    # the thief's key may not undo a rotation it made
    log.refuse("only its recovery keys", "old", "key.compromised", rid,
               {"key": pub("old"), "since": format_time(stolen.event.at)})
    log.do("r1", "key.compromised", rid, {"key": pub("old"),
                                          "since": format_time(stolen.event.at)}, cosign=("r2",))
    assert holder(pub("old"), log.at, log.lookup) == pub("old")
    log.rotate("old", "new", signer="r1", cosign=("r2",))
    assert holder(pub("old"), log.at + 1, log.lookup) == pub("new")
    assert may(log.states[w], pub("new"), "ai_training", log.at + 1, log.lookup).allowed
    assert not may(log.states[w], pub("thief"), "ai_training", log.at + 1, log.lookup).allowed


# -- every node agrees: any batching of a valid sequence replays to the same state ---------------

ACTORS = ("old", "new", "newer", "r1", "r2", "thief")


def random_history(seed: int, steps: int) -> Log:
    """A valid log of works and key events: random moves, each kept only if the rules admit it."""
    rng = random.Random(seed)
    log = Log()
    works: list[str] = []
    names = {pub(n): n for n in ACTORS}

    def held(work: str) -> str:  # the holder of the work's control, signing for it
        return names[holder(log.states[work].controller, log.at + 1, log.lookup)]

    for i in range(steps):
        a, b = rng.sample(ACTORS, 2)
        rid = key_record_id(pub(a))
        w = rng.choice(works) if works else ""
        try:
            move = rng.randrange(8 if works else 6)
            if move == 0:
                works.append(log.register(a, f"work {seed} {i}"))
            elif move == 1:
                log.rotate(a, b)
            elif move == 2:
                log.do(a, "key.recovery", rid, {"key": pub(a), "keys": [pub("r1"), pub("r2")],
                                                "threshold": 2})
            elif move == 3:
                log.rotate(a, b, signer="r1", cosign=("r2",))
            elif move == 4:
                log.do(a, "key.compromised", rid, {"key": pub(a),
                                                    "since": format_time(log.at - 2)})
            elif move == 5:  # by the recovery keys: may undo a rotation (a thief's)
                log.do("r1", "key.compromised", rid, {"key": pub(a),
                                                      "since": format_time(log.at - 3)},
                       cosign=("r2",))
            elif move == 6:
                log.do(held(w), "consent.grant", w, grant_body())
            else:
                log.do(held(w), "work.transfer", w, {"to": pub(b)})
        except RuleError:
            continue
    return log


def in_order(log: Log) -> list[SignedEvent]:
    return sorted((e for evs in log.events.values() for e in evs), key=lambda e: e.event.at)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), cuts=st.lists(st.integers(1, 60), max_size=6))
def test_any_batching_replays_to_the_same_state(tmp_path_factory: pytest.TempPathFactory,
                                                seed: int, cuts: list[int]) -> None:
    log = random_history(seed, 40)
    events = in_order(log)
    home = Home(tmp_path_factory.mktemp("batched") / "home")
    ledger = home.open_ledger()
    reopened = None
    try:
        bounds = sorted({0, len(events), *(c for c in cuts if c < len(events))})
        for lo, hi in zip(bounds, bounds[1:], strict=False):
            results = ledger.append_block([e.leaf for e in events[lo:hi]], log.at)
            assert not [r for r in results if isinstance(r, LedgerError)]
        reopened = home.open_ledger()  # another process: every state replayed from the file
        for work, state in log.states.items():
            assert ledger.state(work) == state
            assert reopened.state(work) == state
            if state.identity is None:
                eff = effective(log.events[work], log.lookup, apply)
                again = effective([ev for _, ev in reopened.history(work)],
                                  reopened.key_record, apply)
                assert again == eff
    finally:
        ledger.close()
        if reopened is not None:
            reopened.close()


def test_a_sequence_with_every_kind_of_key_event_is_generated() -> None:
    """The property above is only as good as its histories: they must hold rotations,
    recoveries and compromises, and works that are disputed."""
    kinds: set[str] = set()
    disputed = 0
    for seed in range(20):
        log = random_history(seed, 40)
        kinds |= {e.event.type for e in in_order(log)}
        disputed += sum(bool(effective(evs, log.lookup, apply).disputed)
                        for w, evs in log.events.items() if log.states[w].identity is None)
    assert {"key.rotate", "key.recovery", "key.compromised", "work.transfer"} <= kinds
    assert disputed > 0


def test_a_decision_receipt_proves_the_controllers_key_state(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """specs/receipts.md section 12.1 step 2: with the key records listed, the receipt shows
    the rotated key's grant and proves the keys were not compromised unseen; leaving a record
    out does not verify, and a compromise it lists undoes the grant."""
    log = Log()
    w = log.register("old", "page")
    log.rotate("old", "new")
    grant = log.do("new", "consent.grant", w, {"grantee": pub("user"),
                                               "purposes": ["ai_inference"]})
    ledger = Home(tmp_path_factory.mktemp("decision") / "home").open_ledger()
    try:
        for ev in in_order(log):
            ledger.append(ev.leaf, log.at)
        q = Question(pub("user"), "ai_inference", log.at)
        records = [key_record_id(pub("old")), key_record_id(pub("new")),
                   key_record_id(pub("user"))]  # the grantee's too (receipts.md 12.2)

        def decide(works: list[str]) -> VerifiedDecision:
            sr = ledger.complete_state_receipt(works)
            assert sr is not None
            receipt = DecisionReceipt.from_json(DecisionReceipt(q, sr).to_json())
            verified = verify_decision_receipt(receipt, [ledger.verifier])
            assert receipt.to_json()["decision"] == verified.decision.to_json()
            return verified

        full = decide([w, *records])
        assert full.decision.allowed and full.decision.events == (grant.id,)
        assert full.keys_proven
        with pytest.raises(VerificationError, match="not the record of"):
            decide([w, records[0]])  # the new key's record left out
        with pytest.raises(VerificationError, match="breaks the rules"):
            decide([w])  # the rotation unseen: the new key's grant does not replay
        log.do("new", "key.compromised", records[1], {"key": pub("new"),
                                                      "since": format_time(grant.event.at)})
        ledger.append(log.events[records[1]][-1].leaf, log.at)
        after = decide([w, *records])
        assert not after.decision.allowed and after.keys_proven
    finally:
        ledger.close()


def test_recovery_keys_a_thief_names_count_for_nothing() -> None:
    log = Log()
    w = log.register("old", "page")
    rid = key_record_id(pub("old"))
    log.do("old", "key.recovery", rid, {"key": pub("old"), "keys": [pub("r1"), pub("r2")],
                                        "threshold": 2})
    theft = log.at + 1
    log.do("old", "key.recovery", rid, {"key": pub("old"), "keys": [pub("thief")],
                                        "threshold": 1})  # with the stolen key
    log.do("old", "key.compromised", rid, {"key": pub("old"), "since": format_time(theft)})
    log.refuse("must be signed by the key itself or its recovery", "thief", "key.rotate", rid,
               {"key": pub("old"), "to": pub("thief")}, new="thief")
    log.rotate("old", "new", signer="r1", cosign=("r2",))  # the owner's setting is in effect
    assert may(log.states[w], pub("new"), "ai_training", log.at, log.lookup).allowed
