"""A licensee's and a payee's role after a rotation or a compromise (specs/rules.md section 9,
R22; specs/royalties.md section 3.1), in process with real signatures: the successor acts for
the licensee and the payee from the rotation on, is paid and answers payments; what a
compromised key signed from its ``since`` on does not count in a statement; a replay never
refuses what a log admitted, even after the rotation that admitted it was undone.

Also the property of issue 16: any sequence of rotations, recoveries and compromise
declarations replays to the same state whatever the order in which independent works and key
records are replayed (a node replaying the chains one by one, or interleaved)."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from provenance_ledger.core.events import SignedEvent
from provenance_ledger.core.identity import KeyRecord, is_key_record_id, key_record_id
from provenance_ledger.core.keystate import effective
from provenance_ledger.core.royalties import Query, statement
from provenance_ledger.core.rules import WorkState, apply, may
from provenance_ledger.core.timefmt import format_time

from .test_keystate import Log, pub, random_history


def eur(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


def licensed(log: Log) -> tuple[str, str]:
    """A work of 'old' licensed to 'user' (fee 1000, royalty 10 %): (work, licence)."""
    w = log.register("old", "a licensed page")
    offer = log.do("old", "licence.offer", w, {"licensee": pub("user"),
                                                "purposes": ["ai_training"], "fee": eur(1000),
                                                "royalty_bps": 1000})
    log.do("user", "licence.accept", w, {"offer": offer.id})
    return w, offer.id


def report(lid: str) -> dict[str, Any]:
    return {"licence": lid, "period": "2026", "units": 5, "revenue": eur(5000)}


def test_the_successors_of_the_payee_and_the_licensee_take_over_their_roles() -> None:
    log = Log()
    w, lid = licensed(log)
    early = log.do("user", "payment.record", w, {"licence": lid, "to": pub("old"),
                                                  "amount": eur(400)})
    log.rotate("old", "new")  # the controller, and so the payee
    log.rotate("user", "x")  # the licensee
    # the old licensee key no longer reports; its successor does
    log.refuse("must be signed by its licensee", "user", "usage.report", w, report(lid))
    log.do("x", "usage.report", w, report(lid))
    # payments now go to the successor; the old key is named so the payer knows why
    log.refuse(f"{pub('old')} was rotated to {pub('new')}: pay that key", "x", "payment.record",
               w, {"licence": lid, "to": pub("old"), "amount": eur(100)})
    late = log.do("x", "payment.record", w, {"licence": lid, "to": pub("new"),
                                              "amount": eur(1100)})
    # the successor answers the payments made to the old key too
    log.refuse("only the payee " + pub("new"), "old", "payment.ack", w, {"payment": early.id})
    log.do("new", "payment.ack", w, {"payment": early.id})
    log.do("new", "payment.dispute", w, {"payment": late.id, "reason": "not received"})
    events = log.events[w]
    # every one of these signatures counts (the licensee's were once refused as
    # controller-only events of a work whose controller had been rotated)
    assert effective(events, log.lookup, apply).disputed == ()
    # the licence passes to the licensee's successor in may as well
    state = log.states[w]
    assert may(state, pub("x"), "ai_training", log.at, log.lookup).allowed
    assert not may(state, pub("user"), "ai_training", log.at, log.lookup).allowed
    (lic,) = statement([events], Query(), log.lookup).licences
    assert lic.licensee == pub("x")
    assert list(lic.lines) == [pub("new")]  # one line: what was owed to old is owed to new
    line = lic.lines[pub("new")]
    assert (line.due, line.paid, line.acknowledged, line.disputed) == (1500, 1500, 400, 1100)
    assert line.outstanding == 1100
    # asked by the old keys, the statement names their successors' lines
    for q in (Query(payee=pub("old")), Query(licensee=pub("user"))):
        assert [x.licence for x in statement([events], q, log.lookup).licences] == [lid]
    # without the key records (a v1 receipt's replay) the successors' events do not replay
    assert statement([events[:4]], Query()).licences[0].lines[pub("old")].paid == 400


def test_what_a_compromised_payee_signs_after_since_does_not_count() -> None:
    log = Log()
    w, lid = licensed(log)
    pay = log.do("user", "payment.record", w, {"licence": lid, "to": pub("old"),
                                                "amount": eur(1000)})
    stolen_at = log.at + 1
    ack = log.do("old", "payment.ack", w, {"payment": pay.id})  # by the thief
    log.do("user", "usage.report", w, report(lid))
    log.do("old", "key.compromised", key_record_id(pub("old")),
           {"key": pub("old"), "since": format_time(stolen_at)})
    eff = effective(log.events[w], log.lookup, apply)
    assert eff.disputed == (ack.id,)  # the licensee's later report does not build on it
    (lic,) = statement([log.events[w]], Query(), log.lookup).licences
    line = lic.lines[pub("old")]
    assert (line.paid, line.acknowledged) == (1000, 0)  # the thief's acknowledgement: nothing
    assert len(lic.reports) == 1  # the licensee's own report still counts (R22)


def test_a_replay_accepts_what_an_undone_rotation_admitted() -> None:
    """A thief rotates the stolen key to its own and grants with it; the recovery keys then
    declare the key compromised from before: the rotation stops counting, the log's replay
    still takes the grant it admitted, and the effective state disputes it."""
    log = Log()
    w = log.register("old", "a stolen page")
    rid = key_record_id(pub("old"))
    log.do("old", "key.recovery", rid, {"key": pub("old"), "keys": [pub("r1"), pub("r2")],
                                        "threshold": 2})
    stolen = log.rotate("old", "thief")
    grant = log.do("thief", "consent.grant", w, {"grantee": pub("thief"),
                                                  "purposes": ["ai_training"]})
    log.do("r1", "key.compromised", rid, {"key": pub("old"),
                                          "since": format_time(stolen.event.at)},
           cosign=("r2",))
    state: WorkState | None = None
    for ev in log.events[w]:  # a replay with the records as they are now: no refusal
        state = apply(state, ev, keys=log.lookup)
    assert state is not None and state.head == grant.id
    eff = effective(log.events[w], log.lookup, apply)
    assert eff.disputed == (grant.id,)
    assert not may(eff.state, pub("thief"), "ai_training", log.at, log.lookup).allowed


# -- the property: the order of independent chains does not matter ------------------------------


def replay(chains: dict[str, list[SignedEvent]], order: list[SignedEvent]
           ) -> tuple[dict[str, WorkState], dict[str, Any]]:
    """Replay ``order`` as a node replays a log: every key record first, each work's events
    with the records then known (never strict: a replay refuses nothing a log admitted);
    then each work's effective state with the records."""
    states: dict[str, WorkState] = {}

    def lookup(key: str) -> KeyRecord | None:
        s = states.get(key_record_id(key))
        return None if s is None else s.identity

    records = [e for e in order if is_key_record_id(e.event.work)]
    works = [e for e in order if not is_key_record_id(e.event.work)]
    for ev in (*records, *works):
        states[ev.event.work] = apply(states.get(ev.event.work), ev, keys=lookup)
    eff = {w: effective(chains[w], lookup, apply) for w in chains
           if states[w].identity is None}
    return states, eff


def interleave(chains: dict[str, list[SignedEvent]], rng: random.Random) -> list[SignedEvent]:
    """A random merge of the chains, each chain's own order kept."""
    queues = {w: list(evs) for w, evs in chains.items()}
    out: list[SignedEvent] = []
    while queues:
        w = rng.choice(sorted(queues))
        out.append(queues[w].pop(0))
        if not queues[w]:
            del queues[w]
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), order=st.integers(0, 2**32))
def test_any_replay_order_of_independent_chains_gives_the_same_state(seed: int,
                                                                     order: int) -> None:
    log = random_history(seed, 40)
    chains = log.events
    rng = random.Random(order)
    in_log_order = [e for evs in chains.values() for e in evs]
    in_log_order.sort(key=lambda e: e.event.at)
    first = replay(chains, in_log_order)
    again = replay(chains, interleave(chains, rng))
    assert first == again
    assert first[0] == log.states  # the log's own (strict) states
