"""The rights state machine: what each event may do, and what a work's state permits.

specs/rules.md. :func:`apply` takes a work's state (or ``None`` before registration) and a
signed event and returns the new state, or raises :class:`RuleError`/:class:`ConflictError`.
It is pure: replaying the log through it rebuilds every work's state, which is how the
ledger's audit and a verifier's state receipt check work. :func:`may` answers "may this key
use this work for this purpose at this time?" and the default answer is no.

States are shared (the ledger caches them, readers of several threads hold them), so they are
immutable all the way down: tuples, and read-only mappings for the JSON taken from bodies.
:meth:`WorkState.to_json` is the state's JSON form of specs/receipts.md section 5.1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ..errors import ConflictError, RuleError
from . import keystate, payments
from .dataset import EMPTY_ROOT, series_id
from .encoding import thaw
from .events import ANYONE, IDENTITY_EVENT_TYPES, KEY_EVENT_TYPES, SignedEvent
from .identity import KeyRecord, apply_identity, is_key_record_id, key_record_id
from .timefmt import format_time, parse_time

COVERS: dict[str, frozenset[str]] = {
    "ai_training": frozenset({"ai_training", "ai_generative_training"}),
}
"""A purpose that includes others: consent to train any model includes generative training.
Every other purpose covers only itself (specs/rules.md section 5)."""


def covers(granted: tuple[str, ...], purpose: str) -> bool:
    return any(purpose in COVERS.get(g, frozenset({g})) for g in granted)


@dataclass(frozen=True, slots=True)
class Grant:
    """A consent.grant and, once revoked, the revocation."""

    id: str
    grantee: str
    purposes: tuple[str, ...]
    at: int
    until: int | None = None
    conditions: tuple[str, ...] = ()
    revoked_by: str | None = None
    revoked_at: int | None = None

    def in_force(self, t: int) -> bool:
        return (
            self.at <= t
            and (self.until is None or t < self.until)
            and (self.revoked_at is None or t < self.revoked_at)
        )


@dataclass(frozen=True, slots=True)
class Licence:
    """A licence.offer, its acceptance and its termination. Its id is the offer's id."""

    id: str
    licensee: str
    purposes: tuple[str, ...]
    offered_at: int
    terms: Mapping[str, Any]  # fee, royalty_bps, territories, terms_uri (read-only)
    start: int | None = None
    until: int | None = None
    offer_expires: int | None = None
    accepted_by: str | None = None
    accepted_at: int | None = None
    terminated_by: str | None = None
    terminated_at: int | None = None

    def in_force(self, t: int) -> bool:
        return (
            self.accepted_at is not None
            and self.accepted_at <= t
            and (self.start is None or self.start <= t)
            and (self.until is None or t < self.until)
            and (self.terminated_at is None or t < self.terminated_at)
        )

    def ended(self, t: int) -> bool:
        """Terminated, or past its end."""
        return self.terminated_at is not None or (self.until is not None and t >= self.until)

    def terminable(self, t: int) -> bool:
        """R11: in force, accepted but not started yet, or an open offer (withdrawn then)."""
        return not self.ended(t) and (self.accepted_at is not None or self.open_offer(t))

    def open_offer(self, t: int) -> bool:
        return (
            self.accepted_at is None
            and self.terminated_at is None
            and (self.offer_expires is None or t < self.offer_expires)
            and (self.until is None or t < self.until)
        )


@dataclass(frozen=True, slots=True)
class WorkState:
    """Everything the rules need about one work; rebuilt by replaying its events."""

    work: str
    registration: str
    registrant: str
    registered_at: int
    controller: str
    head: str
    last_at: int
    events: int
    content: Mapping[str, Any]  # read-only
    payees: tuple[tuple[str, int], ...] = ()
    grants: tuple[Grant, ...] = ()
    licences: tuple[Licence, ...] = ()
    controllers: tuple[tuple[str, int], ...] = ()  # (key, since), oldest first
    dataset: str | None = None  # a dataset series' name (R12); None for a work
    versions: tuple[str, ...] = ()  # a dataset series' versions, oldest first
    identity: KeyRecord | None = None  # a key record's attestations (R17-R18); None for a work
    accounts: payments.Accounts = payments.NO_ACCOUNTS  # licences' currencies, payments (R13-R16)

    def controller_at(self, t: int) -> str | None:
        """Who controlled the work at time ``t``: the key of the last ``controllers`` entry
        (log order) whose time is at or before ``t``; None before registration."""
        who = None
        for key, since in self.controllers:
            if since <= t:
                who = key
        return who

    def grant(self, grant_id: str) -> Grant | None:
        return next((g for g in self.grants if g.id == grant_id), None)

    def licence(self, licence_id: str) -> Licence | None:
        return next((x for x in self.licences if x.id == licence_id), None)

    def effective_payees(self) -> tuple[tuple[str, int], ...]:
        """Royalty split in basis points; the controller takes everything when none is set."""
        return self.payees or ((self.controller, 10_000),)

    def to_json(self) -> dict[str, Any]:
        """The state's JSON (specs/receipts.md section 5.1); fresh dicts and lists, so that a
        caller may change them without touching this state."""
        return {
            "work": self.work,
            "registration": self.registration,
            "registrant": self.registrant,
            "registered_at": format_time(self.registered_at),
            "controller": self.controller,
            "payees": [{"key": k, "share_bps": s} for k, s in self.effective_payees()],
            "head": self.head,
            "events": self.events,
            "content": thaw(self.content),
            "grants": [_grant_json(g) for g in self.grants],
            "licences": [_licence_json(x) for x in self.licences],
        } | ({} if self.identity is None else {"identity": self.identity.to_json()})


def _t(v: int | None) -> str | None:
    return None if v is None else format_time(v)


def _grant_json(g: Grant) -> dict[str, Any]:
    return {"id": g.id, "grantee": g.grantee, "purposes": list(g.purposes),
            "granted_at": _t(g.at), "until": _t(g.until), "conditions": list(g.conditions),
            "revoked_by": g.revoked_by, "revoked_at": _t(g.revoked_at)}


def _licence_json(x: Licence) -> dict[str, Any]:
    return {"id": x.id, "licensee": x.licensee, "purposes": list(x.purposes),
            "offered_at": _t(x.offered_at), "terms": thaw(x.terms), "from": _t(x.start),
            "until": _t(x.until), "offer_expires": _t(x.offer_expires),
            "accepted_by": x.accepted_by, "accepted_at": _t(x.accepted_at),
            "terminated_by": x.terminated_by, "terminated_at": _t(x.terminated_at)}


def _opt_time(body: Mapping[str, Any], key: str) -> int | None:
    return parse_time(body[key]) if key in body else None


def _replace_item(items: tuple[Any, ...], new: Any) -> tuple[Any, ...]:
    return tuple(new if x.id == new.id else x for x in items)


def apply(state: WorkState | None, signed: SignedEvent, *,
          keys: keystate.KeyLookup | None = None, strict: bool = False) -> WorkState:
    """Apply one verified event to its work's state (specs/rules.md section 3).

    ``keys`` gives the key records (section 9): with them a key the controller was rotated to
    signs for it. ``strict`` (a log admitting the event) accepts only a signature that counts
    at the event's time (R22); a replay accepts any key of the controller's lineage, since
    key events logged later may have made an event stop counting (it is then disputed, not
    refused)."""
    ev, eid = signed.event, signed.id
    body = ev.body  # read-only, all the way down
    # R17: a key record id holds key records only (specs/rules.md section 7).
    if is_key_record_id(ev.work) and not (ev.type in IDENTITY_EVENT_TYPES
                                          or ev.type in KEY_EVENT_TYPES):
        raise RuleError(f"{ev.work} is a key record id (it ends with the key record mark): "
                        f"{ev.type} does not apply to it")
    key_record = (ev.type in IDENTITY_EVENT_TYPES or ev.type in KEY_EVENT_TYPES
                  or (state is not None and state.identity is not None))
    # R22: a log admits no signature that does not count, a registration's included (its
    # key compromised at its time); a key record's events follow section 9's own authority.
    if strict and not key_record and not keystate.counts(ev.actor, None, ev.at, keys):
        raise RuleError(f"{ev.actor} is declared compromised: what it signs from then on "
                        "does not count")
    # (1) registration starts a work; a work is registered once, by content hash.
    if ev.type == "work.register":
        if state is not None:
            raise ConflictError(
                f"work {ev.work} is already registered by {state.registrant} "
                f"in event {state.registration}", head=state.head)
        if ev.prev is not None:
            raise RuleError("work.register must have prev null")
        payees = tuple((p["key"], p["share_bps"]) for p in body.get("payees", ()))
        # The body is frozen already: a read-only view of a new dict of its values is enough.
        content = MappingProxyType(
            {k: body[k] for k in ("size", "media_type", "title", "similarity") if k in body})
        return WorkState(ev.work, eid, ev.actor, ev.at, ev.actor, eid, ev.at, 1, content, payees,
                         controllers=((ev.actor, ev.at),))
    if ev.type == "dataset.disclose":
        return _disclose(state, signed)
    if key_record:
        return _key_record(state, signed)
    if state is None:
        raise RuleError(f"work {ev.work} is not registered")
    if state.dataset is not None:
        raise RuleError(f"{ev.work} is the dataset {state.dataset!r} of {state.registrant}, "
                        f"not a work: {ev.type} does not apply to it")
    # (2) every later event names the work's current head, and time does not go backwards.
    if ev.prev != state.head:
        raise ConflictError(
            f"event builds on {ev.prev} but the head of {ev.work} is {state.head}",
            head=state.head)
    if ev.at < state.last_at:
        raise RuleError(f"event time {format_time(ev.at)} is before the work's last event "
                        f"({format_time(state.last_at)})")
    # R13-R16: usage and payments are signed by the licensee or the payee (core/payments.py).
    if ev.type in payments.TYPES:
        return payments.apply(state, signed, keys, strict)
    # (3) the controller alone transfers, grants, revokes, offers and terminates.
    if ev.type != "licence.accept" and not _signs_for_controller(state, ev.actor, ev.at, keys,
                                                                  strict):
        who = keystate.holder(state.controller, ev.at, keys)
        raise RuleError(f"{ev.type} must be signed by the work's controller {who}")
    new = replace(state, head=eid, last_at=ev.at, events=state.events + 1)
    if ev.type == "work.transfer":
        if body["to"] == state.controller:
            raise RuleError("transfer to the current controller changes nothing")
        payees = tuple((p["key"], p["share_bps"]) for p in body.get("payees", ()))
        return replace(new, controller=body["to"], payees=payees,
                       controllers=new.controllers + ((body["to"], ev.at),))
    if ev.type == "consent.grant":
        until = _opt_time(body, "until")
        if until is not None and until <= ev.at:
            raise RuleError("grant would expire before it starts")
        g = Grant(eid, body["grantee"], tuple(body["purposes"]), ev.at, until,
                  tuple(body.get("conditions", ())))
        return replace(new, grants=new.grants + (g,))
    if ev.type == "consent.revoke":
        g0 = state.grant(body["grant"])
        if g0 is None:
            raise RuleError(f"no grant {body['grant']} on work {ev.work}")
        if not g0.in_force(ev.at):
            raise RuleError(f"grant {g0.id} is not in force (revoked or expired)")
        return replace(new, grants=_replace_item(new.grants,
                                                 replace(g0, revoked_by=eid, revoked_at=ev.at)))
    if ev.type == "licence.offer":
        start, until = _opt_time(body, "from"), _opt_time(body, "until")
        expires = _opt_time(body, "offer_expires")
        if until is not None and (until <= ev.at or (start is not None and until <= start)):
            raise RuleError("licence would end before it starts")
        if expires is not None and expires <= ev.at:
            raise RuleError("offer would expire before it is made")
        terms = MappingProxyType(
            {k: body[k] for k in ("fee", "royalty_bps", "territories", "terms_uri") if k in body})
        lic = Licence(eid, body["licensee"], tuple(body["purposes"]), ev.at, terms, start, until,
                      expires)
        return replace(new, licences=new.licences + (lic,))
    if ev.type == "licence.accept":
        lic0 = state.licence(body["offer"])
        if lic0 is None:
            raise RuleError(f"no licence offer {body['offer']} on work {ev.work}")
        if not keystate.acts_for(ev.actor, lic0.licensee, ev.at, keys, strict):  # section 9
            raise RuleError(f"only the named licensee {lic0.licensee} may accept offer {lic0.id}")
        if not lic0.open_offer(ev.at):
            raise RuleError(f"offer {lic0.id} is not open (accepted, withdrawn or expired)")
        return payments.on_accept(replace(new, licences=_replace_item(
            new.licences, replace(lic0, accepted_by=eid, accepted_at=ev.at))), lic0)
    if ev.type == "licence.terminate":
        lic0 = state.licence(body["licence"])
        if lic0 is None:
            raise RuleError(f"no licence {body['licence']} on work {ev.work}")
        # An accepted licence may be terminated before its start (R11): a licensor calls off
        # a deal the licensee has not kept before it takes effect.
        if not lic0.terminable(ev.at):
            raise RuleError(f"licence {lic0.id} is not in force (terminated, ended, or an "
                            "offer that lapsed)")
        return replace(new, licences=_replace_item(
            new.licences, replace(lic0, terminated_by=eid, terminated_at=ev.at)))
    raise RuleError(f"no rule for event type {ev.type}")  # pragma: no cover - types are closed


def _disclose(state: WorkState | None, signed: SignedEvent) -> WorkState:
    """R12: a dataset.disclose starts or continues the series of one key and one name."""
    ev, eid = signed.event, signed.id
    name, version = ev.body["name"], ev.body["version"]
    # (1) the series is named by its key and name, so only that key continues it.
    if ev.work != series_id(ev.actor, name):
        raise RuleError(f"dataset.disclose of {name!r} by {ev.actor} must have work "
                        f"{series_id(ev.actor, name)}")
    # (2) an empty set has the empty root.
    if ev.body["count"] == 0 and ev.body["root"] != EMPTY_ROOT.hex():
        raise RuleError("a disclosure of 0 items must have the empty root")
    if state is None:
        # (3) the first version names no previous one.
        if ev.prev is not None:
            raise RuleError("the first version of a dataset must have prev null")
        return WorkState(ev.work, eid, ev.actor, ev.at, ev.actor, eid, ev.at, 1,
                         MappingProxyType({}), controllers=((ev.actor, ev.at),),
                         dataset=name, versions=(version,))
    if state.dataset is None:
        raise RuleError(f"{ev.work} is a registered work, not a dataset")
    # (4) a later version names the previous one (the series' head), in time order.
    if ev.prev != state.head:
        raise ConflictError(f"dataset.disclose builds on {ev.prev} but the latest version of "
                            f"{name!r} is event {state.head}", head=state.head)
    if ev.at < state.last_at:
        raise RuleError(f"event time {format_time(ev.at)} is before the dataset's last "
                        f"version ({format_time(state.last_at)})")
    # (5) a version is disclosed once.
    if version in state.versions:
        raise RuleError(f"version {version!r} of dataset {name!r} is already disclosed")
    return replace(state, head=eid, last_at=ev.at, events=state.events + 1,
                   versions=state.versions + (version,))


def _signs_for_controller(state: WorkState, actor: str, at: int,
                          keys: keystate.KeyLookup | None, strict: bool) -> bool:
    """Rule (3) with key records (section 9): the controller, or a key it was rotated to."""
    return keystate.acts_for(actor, state.controller, at, keys, strict)


def _key_record(state: WorkState | None, signed: SignedEvent) -> WorkState:
    """R17-R18 (specs/rules.md section 7): an event of a key record. The record chains like a
    work (prev is its head, time never goes back); what each event may do is
    :func:`identity.apply_identity`."""
    ev, eid = signed.event, signed.id
    if ev.type not in IDENTITY_EVENT_TYPES and ev.type not in KEY_EVENT_TYPES:
        owner = state.identity.key if state is not None and state.identity else "a key"
        raise RuleError(f"{ev.work} is the key record of {owner}, not a work: {ev.type} "
                        "does not apply to it")
    if state is None:
        if ev.prev is not None:
            raise RuleError("the first event of a key record must have prev null")
        record = _record_event(None, signed)
        return WorkState(ev.work, eid, ev.actor, ev.at, record.key, eid, ev.at, 1,
                         MappingProxyType({}), controllers=((record.key, ev.at),),
                         identity=record)
    if state.identity is None:
        raise RuleError(f"{ev.work} is a registered work, not a key record")
    if ev.prev != state.head:
        raise ConflictError(f"event builds on {ev.prev} but the head of the key record "
                            f"{ev.work} is {state.head}", head=state.head)
    if ev.at < state.last_at:
        raise RuleError(f"event time {format_time(ev.at)} is before the key record's last "
                        f"event ({format_time(state.last_at)})")
    return replace(state, head=eid, last_at=ev.at, events=state.events + 1,
                   identity=_record_event(state.identity, signed))


def _record_event(record: KeyRecord | None, signed: SignedEvent) -> KeyRecord:
    """R17-R18 (core/identity.py) or R19-R21 (core/keystate.py)."""
    if signed.event.type in IDENTITY_EVENT_TYPES:
        return apply_identity(record, signed)
    key = signed.event.body["key"]
    if signed.event.work != key_record_id(key):
        raise RuleError(f"{signed.event.type} of {key} must have work {key_record_id(key)}")
    return keystate.apply_key(record or KeyRecord(key), signed)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of :func:`may`, with the reason and the events behind it."""

    allowed: bool
    reason: str
    events: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    earlier: tuple[Decision, ...] = field(default=(), compare=False, repr=False)
    """The same answer as earlier versions gave it, when they said it otherwise (other words,
    other events cited): a receipt they wrote still verifies (:func:`same_decision`)."""

    def to_json(self) -> dict[str, Any]:
        """The state's JSON (specs/receipts.md section 5.1); fresh dicts and lists, so that a
        caller may change them without touching this state."""
        return {"allowed": self.allowed, "reason": self.reason, "events": list(self.events),
                "conditions": list(self.conditions)}


def may(state: WorkState | None, key: str, purpose: str, at: int,
        keys: keystate.KeyLookup | None = None) -> Decision:
    """May ``key`` use the work for ``purpose`` at time ``at``? Default: no (opt-in). With
    ``keys`` (section 9) the controller is the key that holds its control at ``at``."""
    if state is not None and state.dataset is not None:
        return Decision(False, f"{state.work} is a dataset, not a work")
    if state is not None and state.identity is not None:
        return Decision(False, f"{state.work} is the key record of {state.identity.key}, "
                        "not a work")
    if state is None:
        return Decision(False, "the work is not registered on this ledger")
    if at < state.registered_at:
        return Decision(False, "the work was not registered yet at that time")
    for g in state.grants:
        if (_holds(g.grantee, key, at, keys) and covers(g.purposes, purpose)
                and g.in_force(at)):
            who = "anyone" if g.grantee == ANYONE else "this key"
            return Decision(True, f"consent granted to {who} for "
                            f"{_for(g.purposes, purpose)}", (g.id,), g.conditions)
    for lic in state.licences:
        if _holds(lic.licensee, key, at, keys) and covers(lic.purposes, purpose) \
                and lic.in_force(at):
            ids = (lic.id,) + ((lic.accepted_by,) if lic.accepted_by else ())
            return Decision(True, f"licence in force for {_for(lic.purposes, purpose)}", ids)
    # (5) the controller at time ``at``, from the state's history of controllers.
    controller = state.controller_at(at)
    if controller is not None and key == keystate.holder(controller, at, keys):
        return Decision(True, "this key controls the work", (state.head,))
    return _refused(state, key, purpose, at, keys)


def _refused(state: WorkState, key: str, purpose: str, at: int,
             keys: keystate.KeyLookup | None) -> Decision:
    """Step 6 (specs/rules.md section 5): what it cites and its words (section 5.2). It cites
    what covers ``purpose`` and names ``key``, ``*`` or a key whose holder at ``at`` is
    ``key`` (one rotated to ``key``, section 9); the answer keeps, as ``earlier``, the one
    step 6 gave before it read rotations so (specs/receipts.md section 12.1 step 3), when that
    differs."""
    def cited_for(named: str) -> bool:
        return named in (key, ANYONE) or keystate.holder(named, at, keys) == key

    grants = [g for g in state.grants if covers(g.purposes, purpose) and cited_for(g.grantee)]
    lics = [x for x in state.licences if covers(x.purposes, purpose) and cited_for(x.licensee)]
    cited = tuple(g.id for g in grants) + tuple(x.id for x in lics)
    successor = keystate.holder(key, at, keys)
    when = format_time(at)
    if successor != key and (
            any(g.grantee == key and g.in_force(at) for g in grants) or
            any(x.licensee == key and (x.in_force(at) or x.open_offer(at)) for x in lics)):
        # what names ``key`` stands, and is held by its successor
        d = Decision(False, _rotated_away(purpose, when, successor), cited)
    else:
        named = [g.grantee for g in grants] + [x.licensee for x in lics]
        before = " and ".join(dict.fromkeys(k for k in named if k not in (key, ANYONE)))
        if before:
            # what names a key rotated to ``key`` lapsed (or ``key``'s own did too)
            d = Decision(False, f"no consent or licence for {purpose} is in force at {when} "
                         "(all were revoked, ended or not yet accepted, including those made "
                         f"to {before}, whose consents and licences this key holds at that "
                         "time)", cited)
        elif cited:
            d = Decision(False, _lapsed(purpose, when), cited)
        else:
            d = Decision(False, f"no consent or licence for {purpose}: not allowed by default")
    # Before: only what names ``key`` or ``*`` itself was cited, and a key rotated away was
    # told its successor holds what names it whether that was in force or not.
    old = tuple(g.id for g in grants if g.grantee in (key, ANYONE)) + tuple(
        x.id for x in lics if x.licensee == key)
    if successor != key and (any(g.grantee == key for g in grants) or
                             any(x.licensee == key for x in lics)):
        was = Decision(False, _rotated_away(purpose, when, successor), old)
    elif old:
        was = Decision(False, _lapsed(purpose, when), old)
    else:
        was = Decision(False, f"no consent or licence for {purpose}: not allowed by default")
    return d if was == d else replace(d, earlier=(was,))


def _rotated_away(purpose: str, when: str, successor: str) -> str:
    return (f"no consent or licence for {purpose} is in force for this key at {when}: this "
            f"key was rotated away, and {successor} holds its consents and licences at that "
            "time")


def _lapsed(purpose: str, when: str) -> str:
    return (f"no consent or licence for {purpose} is in force at {when} (all were revoked, "
            "ended or not yet accepted)")


def _for(purposes: tuple[str, ...], purpose: str) -> str:
    """The purpose words of an allowed reason (specs/rules.md section 5.2): ``purpose`` when
    the grant or licence names it, else ``<wider>, which covers <purpose>`` with the first
    purpose it names that covers it."""
    if purpose in purposes:
        return purpose
    wider = next(p for p in purposes if covers((p,), purpose))
    return f"{wider}, which covers {purpose}"


_EARLIER_ALLOWED = re.compile(
    r"(consent granted to (?:anyone|this key)|licence in force) for [^ ,]+, which covers "
    r"([^ ,]+)")


_EARLIER_ROTATED = re.compile(
    r"no consent or licence for ([^ ]+) is in force for this key at ([^ ]+): this key was "
    r"rotated away, and [^ ]+ holds its consents and licences at that time")


def earlier_wording(d: Decision) -> Decision | None:
    """The same answer in the words provenance-ledger 0.1.0 wrote into decision and
    compliance receipts (specs/receipts.md section 12.1 step 3), or None when they were the
    same: an allowed reason named the purpose asked, never the one that covers it, and a
    key rotated away was refused as if what names it had lapsed."""
    m = _EARLIER_ALLOWED.match(d.reason)
    if m is not None:
        return Decision(d.allowed, f"{m[1]} for {m[2]}{d.reason[m.end():]}", d.events,
                        d.conditions)
    m = _EARLIER_ROTATED.fullmatch(d.reason)
    if m is not None:
        return Decision(d.allowed, f"no consent or licence for {m[1]} is in force at {m[2]} "
                        "(all were revoked, ended or not yet accepted)", d.events, d.conditions)
    return None


def same_decision(written: Any, d: Decision) -> bool:
    """Is a receipt's informative ``decision`` this answer, in the current words or in
    earlier ones (specs/receipts.md section 12.1 step 3): those of :func:`earlier_wording`,
    or the answer as step 6 gave it before it read rotations (``d.earlier``), in its words or
    in those of :func:`earlier_wording`?"""
    for answer in (d, *d.earlier):
        if written == answer.to_json():
            return True
        earlier = earlier_wording(answer)
        if earlier is not None and written == earlier.to_json():
            return True
    return False


def _holds(named: str, key: str, at: int, keys: keystate.KeyLookup | None) -> bool:
    """Steps 3-4 with key records (section 9): the grantee or licensee named, or from its
    rotation on the key it was rotated to, is ``key``."""
    return named == ANYONE or keystate.holder(named, at, keys) == key
