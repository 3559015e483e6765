"""Tests for provenance_ledger.core.rules: the rights state machine, driven through apply().

Every event here is really signed; a small driver chains each event onto the work's head.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import SignedEvent, work_id_of
from provenance_ledger.core.rules import WorkState, apply, covers, may
from provenance_ledger.core.timefmt import format_time
from provenance_ledger.errors import ConflictError, RuleError
from provenance_ledger.ledger import Ledger

from ..conftest import NOW, KeyFactory, Signer

WORK = work_id_of(hashlib.sha256(b"rules test work").hexdigest())
REGISTER = {"size": 1_048_576, "media_type": "image/jpeg", "title": "Sketchbook, p. 12"}


class Work:
    """One work's state, advanced by signed events that build on its current head."""

    def __init__(self, sign: Signer, owner: PrivateKey, at: int = NOW) -> None:
        self.sign = sign
        self.registration = sign(owner, "work.register", WORK, REGISTER, at=at)
        self.state: WorkState = apply(None, self.registration)

    def event(self, key: PrivateKey, type_: str, body: dict[str, Any], at: int = NOW,
              prev: str | None = None) -> SignedEvent:
        return self.sign(key, type_, WORK, body, prev=prev or self.state.head, at=at)

    def do(self, key: PrivateKey, type_: str, body: dict[str, Any], at: int = NOW) -> str:
        ev = self.event(key, type_, body, at)
        self.state = apply(self.state, ev)
        assert self.state.head == ev.id
        return ev.id

    def refuse(self, key: PrivateKey, type_: str, body: dict[str, Any], at: int = NOW,
               match: str = "") -> RuleError:
        before = self.state
        with pytest.raises(RuleError, match=match) as info:
            apply(self.state, self.event(key, type_, body, at))
        assert self.state is before
        return info.value


@pytest.fixture
def alice(keys: KeyFactory) -> PrivateKey:
    return keys("alice")


@pytest.fixture
def bob(keys: KeyFactory) -> PrivateKey:
    return keys("bob")


@pytest.fixture
def dev(keys: KeyFactory) -> PrivateKey:
    return keys("ai-developer")


@pytest.fixture
def work(sign: Signer, alice: PrivateKey) -> Work:
    return Work(sign, alice)


def t(offset: int) -> str:
    return format_time(NOW + offset)


# -- registration and the chain of events -------------------------------------------------


def test_register(work: Work, alice: PrivateKey) -> None:
    st = work.state
    eid = work.registration.id
    assert (st.work, st.registration, st.head, st.events) == (WORK, eid, eid, 1)
    assert st.registrant == st.controller == alice.public.text
    assert st.registered_at == st.last_at == NOW
    assert st.content == REGISTER
    assert st.effective_payees() == ((alice.public.text, 10_000),)
    assert st.to_json()["registered_at"] == "2026-01-01T00:00:00Z"


def test_register_with_payees(sign: Signer, alice: PrivateKey, bob: PrivateKey) -> None:
    body = {**REGISTER, "payees": [{"key": alice.public.text, "share_bps": 6_000},
                                   {"key": bob.public.text, "share_bps": 4_000}]}
    st = apply(None, sign(alice, "work.register", WORK, body))
    assert st.effective_payees() == ((alice.public.text, 6_000), (bob.public.text, 4_000))


def test_register_with_prev_is_refused(sign: Signer, alice: PrivateKey) -> None:
    ev = sign(alice, "work.register", WORK, REGISTER, prev="ab" * 32)
    with pytest.raises(RuleError, match="prev null"):
        apply(None, ev)


def test_re_register_is_a_conflict_naming_the_registration(work: Work, bob: PrivateKey,
                                                           alice: PrivateKey) -> None:
    work.do(alice, "consent.grant", {"grantee": "*", "purposes": ["data_mining"]})
    for key in (bob, alice):
        again = work.sign(key, "work.register", WORK, REGISTER, at=NOW + 1)
        with pytest.raises(ConflictError) as info:
            apply(work.state, again)
        assert work.registration.id in str(info.value)
        assert alice.public.text in str(info.value)
        assert info.value.head == work.state.head


def test_event_on_unregistered_work_is_refused(sign: Signer, alice: PrivateKey) -> None:
    ev = sign(alice, "consent.grant", WORK, {"grantee": "*", "purposes": ["ai_training"]},
              prev="cd" * 32)
    with pytest.raises(RuleError, match="not registered"):
        apply(None, ev)


def test_prev_not_head_is_a_conflict_with_the_head(work: Work, alice: PrivateKey) -> None:
    grant = {"grantee": "*", "purposes": ["data_mining"]}
    work.do(alice, "consent.grant", grant)
    for stale in (work.registration.id, "ef" * 32):
        ev = work.event(alice, "consent.grant", grant, prev=stale)
        with pytest.raises(ConflictError) as info:
            apply(work.state, ev)
        assert info.value.head == work.state.head
        assert work.state.head in str(info.value)


def test_replayed_event_is_a_conflict(work: Work, alice: PrivateKey) -> None:
    ev = work.event(alice, "consent.grant", {"grantee": "*", "purposes": ["data_mining"]})
    work.state = apply(work.state, ev)
    with pytest.raises(ConflictError):
        apply(work.state, ev)


def test_time_may_not_go_backwards(work: Work, alice: PrivateKey) -> None:
    work.do(alice, "consent.grant", {"grantee": "*", "purposes": ["data_mining"]}, at=NOW + 10)
    work.refuse(alice, "consent.grant", {"grantee": "*", "purposes": ["ai_inference"]},
                at=NOW + 9, match="before the work's last event")
    work.do(alice, "consent.grant", {"grantee": "*", "purposes": ["ai_inference"]}, at=NOW + 10)
    assert work.state.events == 3


# -- who may do what ---------------------------------------------------------------------------


def test_non_controller_is_refused(work: Work, alice: PrivateKey, bob: PrivateKey,
                                   dev: PrivateKey) -> None:
    grant = work.do(alice, "consent.grant", {"grantee": "*", "purposes": ["data_mining"]})
    offer = work.do(alice, "licence.offer", {"licensee": dev.public.text,
                                             "purposes": ["ai_training"]})
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("work.transfer", {"to": bob.public.text}),
        ("consent.grant", {"grantee": bob.public.text, "purposes": ["ai_training"]}),
        ("consent.revoke", {"grant": grant}),
        ("licence.offer", {"licensee": bob.public.text, "purposes": ["ai_training"]}),
        ("licence.terminate", {"licence": offer}),
    ]
    for key in (bob, dev):
        for type_, body in attempts:
            err = work.refuse(key, type_, body, match="controller")
            assert alice.public.text in str(err)


def test_transfer_to_self_is_refused(work: Work, alice: PrivateKey) -> None:
    work.refuse(alice, "work.transfer", {"to": alice.public.text}, match="changes nothing")


def test_only_the_named_licensee_may_accept(work: Work, alice: PrivateKey, bob: PrivateKey,
                                            dev: PrivateKey) -> None:
    offer = work.do(alice, "licence.offer", {"licensee": dev.public.text,
                                             "purposes": ["ai_training"]})
    for key in (bob, alice):
        work.refuse(key, "licence.accept", {"offer": offer}, match="only the named licensee")
    work.do(dev, "licence.accept", {"offer": offer})
    lic = work.state.licence(offer)
    assert lic is not None and lic.accepted_by == work.state.head


# -- revoke, accept, terminate of absent or lapsed items ------------------------------------------


def test_revoke_absent_or_lapsed_grant_is_refused(work: Work, alice: PrivateKey) -> None:
    work.refuse(alice, "consent.revoke", {"grant": "00" * 32}, match="no grant")
    grant = work.do(alice, "consent.grant", {"grantee": "*", "purposes": ["ai_inference"]})
    work.do(alice, "consent.revoke", {"grant": grant}, at=NOW + 5)
    g = work.state.grant(grant)
    assert g is not None and g.revoked_at == NOW + 5 and g.revoked_by == work.state.head
    work.refuse(alice, "consent.revoke", {"grant": grant}, at=NOW + 6, match="not in force")
    expiring = work.do(alice, "consent.grant", {"grantee": "*", "purposes": ["ai_inference"],
                                                "until": t(100)}, at=NOW + 10)
    work.refuse(alice, "consent.revoke", {"grant": expiring}, at=NOW + 100, match="not in force")
    work.do(alice, "consent.revoke", {"grant": expiring}, at=NOW + 99)


def test_revoke_names_a_grant_not_an_offer(work: Work, alice: PrivateKey,
                                           dev: PrivateKey) -> None:
    offer = work.do(alice, "licence.offer", {"licensee": dev.public.text,
                                             "purposes": ["ai_training"]})
    work.refuse(alice, "consent.revoke", {"grant": offer}, match="no grant")


def test_accept_absent_or_closed_offer_is_refused(work: Work, alice: PrivateKey,
                                                  dev: PrivateKey) -> None:
    work.refuse(dev, "licence.accept", {"offer": "00" * 32}, match="no licence offer")
    body = {"licensee": dev.public.text, "purposes": ["ai_training"]}
    accepted = work.do(alice, "licence.offer", body)
    work.do(dev, "licence.accept", {"offer": accepted})
    work.refuse(dev, "licence.accept", {"offer": accepted}, match="not open")
    withdrawn = work.do(alice, "licence.offer", body)
    work.do(alice, "licence.terminate", {"licence": withdrawn, "reason": "withdrawn"})
    work.refuse(dev, "licence.accept", {"offer": withdrawn}, match="not open")
    expiring = work.do(alice, "licence.offer", {**body, "offer_expires": t(60)})
    work.refuse(dev, "licence.accept", {"offer": expiring}, at=NOW + 60, match="not open")
    work.do(dev, "licence.accept", {"offer": expiring}, at=NOW + 59)


def test_accept_after_the_licence_ended_is_refused(work: Work, alice: PrivateKey,
                                                   dev: PrivateKey) -> None:
    offer = work.do(alice, "licence.offer", {"licensee": dev.public.text,
                                             "purposes": ["ai_training"], "until": t(100)})
    work.refuse(dev, "licence.accept", {"offer": offer}, at=NOW + 100, match="not open")


def test_terminate_absent_or_ended_licence_is_refused(work: Work, alice: PrivateKey,
                                                      dev: PrivateKey) -> None:
    work.refuse(alice, "licence.terminate", {"licence": "00" * 32}, match="no licence")
    body = {"licensee": dev.public.text, "purposes": ["ai_training"], "until": t(100)}
    lic = work.do(alice, "licence.offer", body)
    work.do(dev, "licence.accept", {"offer": lic})
    work.do(alice, "licence.terminate", {"licence": lic}, at=NOW + 10)
    work.refuse(alice, "licence.terminate", {"licence": lic}, at=NOW + 11, match="not in force")
    expired = work.do(alice, "licence.offer", body, at=NOW + 11)
    work.do(dev, "licence.accept", {"offer": expired}, at=NOW + 12)
    work.refuse(alice, "licence.terminate", {"licence": expired}, at=NOW + 100,
                match="not in force")


def test_grant_and_offer_times_must_make_sense(work: Work, alice: PrivateKey,
                                               dev: PrivateKey) -> None:
    work.refuse(alice, "consent.grant", {"grantee": "*", "purposes": ["ai_training"],
                                         "until": t(0)}, match="expire")
    offer = {"licensee": dev.public.text, "purposes": ["ai_training"]}
    work.refuse(alice, "licence.offer", {**offer, "until": t(0)}, match="end before")
    work.refuse(alice, "licence.offer", {**offer, "from": t(50), "until": t(50)},
                match="end before")
    work.refuse(alice, "licence.offer", {**offer, "offer_expires": t(0)}, match="expire")


# -- may(): default deny and what grants and licences allow --------------------------------


def test_default_deny(work: Work, bob: PrivateKey) -> None:
    d = may(None, bob.public.text, "ai_training", NOW)
    assert not d.allowed and "not registered" in d.reason
    d = may(work.state, bob.public.text, "ai_training", NOW)
    assert not d.allowed and "not allowed by default" in d.reason
    assert d.events == ()


def test_controller_is_allowed(work: Work, alice: PrivateKey) -> None:
    d = may(work.state, alice.public.text, "ai_training", NOW)
    assert d.allowed and "controls" in d.reason
    assert not may(work.state, alice.public.text, "ai_training", NOW - 1).allowed


def test_grant_to_a_key(work: Work, alice: PrivateKey, bob: PrivateKey,
                        dev: PrivateKey) -> None:
    gid = work.do(alice, "consent.grant", {"grantee": bob.public.text,
                                           "purposes": ["data_mining"],
                                           "conditions": ["attribution"]})
    d = may(work.state, bob.public.text, "data_mining", NOW)
    assert d.allowed and d.events == (gid,) and d.conditions == ("attribution",)
    assert not may(work.state, dev.public.text, "data_mining", NOW).allowed
    assert not may(work.state, bob.public.text, "ai_inference", NOW).allowed


def test_grant_to_anyone(work: Work, alice: PrivateKey, bob: PrivateKey,
                         dev: PrivateKey) -> None:
    gid = work.do(alice, "consent.grant", {"grantee": "*", "purposes": ["ai_inference"]})
    for key in (bob, dev):
        d = may(work.state, key.public.text, "ai_inference", NOW)
        assert d.allowed and d.events == (gid,) and "anyone" in d.reason
    assert not may(work.state, bob.public.text, "ai_training", NOW).allowed


def test_ai_training_covers_generative_training_but_not_the_reverse(
    work: Work, alice: PrivateKey, bob: PrivateKey, dev: PrivateKey
) -> None:
    work.do(alice, "consent.grant", {"grantee": bob.public.text, "purposes": ["ai_training"]})
    work.do(alice, "consent.grant", {"grantee": dev.public.text,
                                     "purposes": ["ai_generative_training"]})
    assert may(work.state, bob.public.text, "ai_training", NOW).allowed
    assert may(work.state, bob.public.text, "ai_generative_training", NOW).allowed
    assert may(work.state, dev.public.text, "ai_generative_training", NOW).allowed
    assert not may(work.state, dev.public.text, "ai_training", NOW).allowed
    assert covers(("ai_training",), "ai_generative_training")
    assert not covers(("ai_generative_training",), "ai_training")
    assert not covers(("ai_training",), "ai_inference")


def test_grant_until_is_exclusive(work: Work, alice: PrivateKey, bob: PrivateKey) -> None:
    gid = work.do(alice, "consent.grant", {"grantee": bob.public.text,
                                           "purposes": ["ai_training"], "until": t(3600)})
    assert may(work.state, bob.public.text, "ai_training", NOW + 3599).allowed
    d = may(work.state, bob.public.text, "ai_training", NOW + 3600)
    assert not d.allowed and d.events == (gid,) and "in force" in d.reason
    assert not may(work.state, bob.public.text, "ai_training", NOW - 1).allowed


def test_revoked_grant(work: Work, alice: PrivateKey, bob: PrivateKey) -> None:
    gid = work.do(alice, "consent.grant", {"grantee": "*", "purposes": ["ai_training"]})
    work.do(alice, "consent.revoke", {"grant": gid}, at=NOW + 30)
    assert may(work.state, bob.public.text, "ai_training", NOW + 29).allowed
    d = may(work.state, bob.public.text, "ai_training", NOW + 30)
    assert not d.allowed and d.events == (gid,)


def test_licence_only_after_accept_and_within_its_term(work: Work, alice: PrivateKey,
                                                       dev: PrivateKey) -> None:
    offer = work.do(alice, "licence.offer", {
        "licensee": dev.public.text, "purposes": ["ai_training"],
        "fee": {"amount": 100_000, "currency": "JPY"},
        "from": t(100), "until": t(1000)})
    key = dev.public.text
    d = may(work.state, key, "ai_training", NOW + 500)
    assert not d.allowed and "not yet accepted" in d.reason and d.events == (offer,)
    accept = work.do(dev, "licence.accept", {"offer": offer}, at=NOW + 10)
    assert not may(work.state, key, "ai_training", NOW + 50).allowed  # before "from"
    d = may(work.state, key, "ai_training", NOW + 100)
    assert d.allowed and d.events == (offer, accept)
    assert may(work.state, key, "ai_generative_training", NOW + 999).allowed
    assert not may(work.state, key, "ai_inference", NOW + 500).allowed
    assert not may(work.state, key, "ai_training", NOW + 1000).allowed  # "until" is exclusive
    lic = work.state.licence(offer)
    assert lic is not None and lic.terms == {"fee": {"amount": 100_000, "currency": "JPY"}}


def test_licence_for_another_key_does_not_help(work: Work, alice: PrivateKey, bob: PrivateKey,
                                               dev: PrivateKey) -> None:
    offer = work.do(alice, "licence.offer", {"licensee": dev.public.text,
                                             "purposes": ["ai_training"]})
    work.do(dev, "licence.accept", {"offer": offer})
    assert may(work.state, dev.public.text, "ai_training", NOW).allowed
    assert not may(work.state, bob.public.text, "ai_training", NOW).allowed


def test_terminated_licence_is_not_allowed(work: Work, alice: PrivateKey,
                                           dev: PrivateKey) -> None:
    offer = work.do(alice, "licence.offer", {"licensee": dev.public.text,
                                             "purposes": ["data_mining"]})
    work.do(dev, "licence.accept", {"offer": offer}, at=NOW + 1)
    work.do(alice, "licence.terminate", {"licence": offer, "reason": "unpaid"}, at=NOW + 20)
    assert may(work.state, dev.public.text, "data_mining", NOW + 19).allowed
    d = may(work.state, dev.public.text, "data_mining", NOW + 20)
    assert not d.allowed and d.events == (offer,)
    lic = work.state.licence(offer)
    assert lic is not None and lic.terminated_by == work.state.head


def test_after_transfer_the_new_controller_decides(work: Work, alice: PrivateKey,
                                                   bob: PrivateKey, dev: PrivateKey) -> None:
    work.do(alice, "work.transfer", {"to": bob.public.text,
                                     "payees": [{"key": alice.public.text, "share_bps": 2_500},
                                                {"key": bob.public.text, "share_bps": 7_500}]},
            at=NOW + 10)
    st = work.state
    assert st.controller == bob.public.text and st.registrant == alice.public.text
    assert st.effective_payees() == ((alice.public.text, 2_500), (bob.public.text, 7_500))
    # The old controller may neither use the work nor grant anything any more ...
    assert not may(st, alice.public.text, "ai_training", NOW + 10).allowed
    assert may(st, alice.public.text, "ai_training", NOW + 9).allowed  # asked about the past
    work.refuse(alice, "consent.grant", {"grantee": dev.public.text,
                                         "purposes": ["ai_training"]}, at=NOW + 11,
                match="controller")
    work.refuse(alice, "work.transfer", {"to": dev.public.text}, at=NOW + 11, match="controller")
    # ... while the new one may grant, and the grant holds.
    assert may(st, bob.public.text, "ai_training", NOW + 10).allowed
    work.do(bob, "consent.grant", {"grantee": dev.public.text, "purposes": ["ai_training"]},
            at=NOW + 11)
    assert may(work.state, dev.public.text, "ai_training", NOW + 11).allowed


def test_transfer_without_payees_resets_the_split(work: Work, alice: PrivateKey,
                                                  bob: PrivateKey) -> None:
    work.do(alice, "work.transfer", {"to": bob.public.text})
    assert work.state.effective_payees() == ((bob.public.text, 10_000),)


def test_state_to_json(work: Work, alice: PrivateKey, dev: PrivateKey) -> None:
    gid = work.do(alice, "consent.grant", {"grantee": "*", "purposes": ["ai_inference"],
                                           "until": t(60)})
    offer = work.do(alice, "licence.offer", {"licensee": dev.public.text,
                                             "purposes": ["ai_training"]})
    out = work.state.to_json()
    assert out["events"] == 3 and out["head"] == offer
    assert out["grants"][0]["id"] == gid and out["grants"][0]["until"] == t(60)
    assert out["licences"][0]["accepted_at"] is None
    assert may(work.state, dev.public.text, "ai_training", NOW).to_json()["allowed"] is False


# -- R11: an accepted licence may be terminated before it starts ---------------------------------


def test_accepted_licence_can_be_terminated_before_its_start(work: Work, alice: PrivateKey,
                                                             dev: PrivateKey) -> None:
    body = {"licensee": dev.public.text, "purposes": ["ai_training"], "from": t(100),
            "until": t(200)}
    lic = work.do(alice, "licence.offer", body)
    work.do(dev, "licence.accept", {"offer": lic}, at=NOW + 1)
    x = work.state.licence(lic)
    assert x is not None and not x.in_force(NOW + 10) and not x.open_offer(NOW + 10)
    work.do(alice, "licence.terminate", {"licence": lic, "reason": "advance not paid"},
            at=NOW + 10)
    # It never comes into force, and it cannot be terminated twice.
    d = may(work.state, dev.public.text, "ai_training", NOW + 100)
    assert not d.allowed and d.events == (lic,)
    work.refuse(alice, "licence.terminate", {"licence": lic}, at=NOW + 11, match="not in force")


def test_lapsed_offer_and_ended_licence_cannot_be_terminated(work: Work, alice: PrivateKey,
                                                              dev: PrivateKey) -> None:
    lapsed = work.do(alice, "licence.offer", {"licensee": dev.public.text,
                                              "purposes": ["ai_training"],
                                              "offer_expires": t(50)})
    work.refuse(alice, "licence.terminate", {"licence": lapsed}, at=NOW + 50, match="not in force")
    started = work.do(alice, "licence.offer", {"licensee": dev.public.text, "from": t(60),
                                               "until": t(70), "purposes": ["ai_training"]},
                      at=NOW + 50)
    work.do(dev, "licence.accept", {"offer": started}, at=NOW + 51)
    work.refuse(alice, "licence.terminate", {"licence": started}, at=NOW + 70,
                match="not in force")


# -- may step 5: the controller at the time asked about --------------------------------------------


def test_may_step_5_uses_the_controller_at_that_time(work: Work, alice: PrivateKey,
                                                     bob: PrivateKey, dev: PrivateKey) -> None:
    work.do(alice, "work.transfer", {"to": bob.public.text}, at=NOW + 10)
    work.do(bob, "work.transfer", {"to": dev.public.text}, at=NOW + 20)
    work.do(dev, "work.transfer", {"to": alice.public.text}, at=NOW + 20)  # same second
    st = work.state
    assert st.controllers == ((alice.public.text, NOW), (bob.public.text, NOW + 10),
                              (dev.public.text, NOW + 20), (alice.public.text, NOW + 20))
    expected = {  # time -> the one key allowed by control at that time
        NOW - 1: None, NOW: alice, NOW + 9: alice, NOW + 10: bob, NOW + 19: bob,
        NOW + 20: alice, NOW + 10_000: alice}
    for at, controller in expected.items():
        assert st.controller_at(at) == (controller.public.text if controller else None)
        for key in (alice, bob, dev):
            d = may(st, key.public.text, "ai_training", at)
            assert d.allowed == (key is controller), (at, key.public.text)
            if d.allowed:
                assert d.reason == "this key controls the work" and d.events == (st.head,)


# -- a state is immutable all the way down: a cached state cannot be corrupted -------------------


def test_a_state_cannot_be_changed_through_what_it_hands_out(work: Work, alice: PrivateKey,
                                                             dev: PrivateKey) -> None:
    offer = work.do(alice, "licence.offer", {"licensee": dev.public.text,
                                             "purposes": ["ai_training"],
                                             "fee": {"amount": 100, "currency": "JPY"},
                                             "territories": ["JP"]})
    st = work.state
    before = st.to_json()
    lic = st.licence(offer)
    assert lic is not None
    with pytest.raises(TypeError):
        st.content["title"] = "forged"  # type: ignore[index]
    with pytest.raises(TypeError):
        lic.terms["fee"]["amount"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        lic.terms["territories"].append("US")
    doc = st.to_json()  # a fresh copy: changing it changes nothing in the state
    doc["content"]["title"] = "forged"
    doc["licences"][0]["terms"]["fee"]["amount"] = 1
    doc["licences"][0]["terms"]["territories"].append("US")
    doc["grants"].append({"id": "forged"})
    assert st.to_json() == before


def test_the_ledgers_cached_state_cannot_be_corrupted_by_a_reader(
        ledger: Ledger, sign: Signer, alice: PrivateKey, dev: PrivateKey) -> None:
    reg = sign(alice, "work.register", WORK, {**REGISTER, "payees": [
        {"key": alice.public.text, "share_bps": 10_000}]})
    offer = sign(alice, "licence.offer", WORK, {"licensee": dev.public.text,
                                                "purposes": ["ai_training"],
                                                "fee": {"amount": 100, "currency": "JPY"}},
                 prev=reg.id)
    assert not any(isinstance(r, Exception) for r in ledger.append_block([reg.leaf, offer.leaf],
                                                                         NOW))
    cached = ledger.state(WORK)
    assert cached is not None and ledger.state(WORK) is cached  # the one shared object
    before = cached.to_json()
    with pytest.raises(TypeError):
        cached.licences[0].terms["fee"]["amount"] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        cached.content["size"] = 0  # type: ignore[index]
    cached.to_json()["licences"][0]["terms"]["fee"]["amount"] = 0
    assert ledger.state(WORK) is cached and cached.to_json() == before
