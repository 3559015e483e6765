"""Key state: rotation, recovery and compromise of a key, and who holds a work's control.

specs/events.md sections 6.16-6.18 and specs/rules.md section 9 (R19-R21). These events live
in the key's record (core/identity.py) beside its attestations, so a key's state is replayed
per key like a work's, and one ``key.rotate`` moves control of every work the key controls:
a work's state keeps naming the key that registered or received it, and whoever reads it
resolves that key through the key records (:func:`holder`), a few lookups by key.

Pure: the key records come in through a :data:`KeyLookup`. What this module leaves to its
callers: where the records are read from (the ledger, a receipt) and the admission window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..errors import RuleError, VerificationError
from .crypto import PublicKey
from .encoding import b64decode, canonical_json, thaw
from .events import KEY_EVENT_TYPES, Event, SignedEvent
from .identity import KeyRecord, Recovery, Rotation
from .timefmt import format_time, parse_time

KEY_STATEMENT_PREFIX = b"provenance-ledger/key-statement/v1\n"
"""Domain separation: what a new key and recovery keys sign is never an event signature."""
MAX_ROTATION_HOPS = 64
"""Most rotations followed from a work's controller to its holder (a chain longer than this
stops at its 64th key: a bound on the work of every reader, not a rule)."""
UNSIGNED_FIELDS = ("to_sig", "cosigs")
FAR_FUTURE = 2**62
"""A time after every rotation: the holder at it follows every rotation that counts."""

KeyLookup = Callable[[str], KeyRecord | None]
"""A key's record (None: the log holds none for it)."""


def statement(event: Event) -> bytes:
    """The bytes a key.rotate's new key and any co-signing recovery keys sign (section 6.16):
    the prefix, then the canonical envelope with ``to_sig`` and ``cosigs`` left out of the
    body. It names the actor, the record's head and the time, so it is good for one event."""
    env = event.envelope()
    env["body"] = {k: v for k, v in thaw(event.body).items() if k not in UNSIGNED_FIELDS}
    return KEY_STATEMENT_PREFIX + canonical_json(env)


def _check_sig(key: str, sig: str, message: bytes, what: str) -> None:
    try:
        PublicKey.from_text(key).verify(b64decode(sig, what, 64), message)
    except VerificationError as e:
        raise RuleError(f"{what} by {key} does not verify") from e


def _authority(record: KeyRecord, signed: SignedEvent, message: bytes) -> tuple[str, int]:
    """R19-R21: who may rotate the key or declare it compromised. The key itself; or, named in
    advance by its key.recovery, ``threshold`` distinct recovery keys (the actor and the
    cosigners); or that association, while an attestation of the key by it is in force.
    Returns who, and when the key itself signed what authorises it."""
    ev = signed.event
    cosigs = ev.body.get("cosigs", ())
    signers = [ev.actor] + [c["key"] for c in cosigs]
    if len(set(signers)) != len(signers):
        raise RuleError("a key signs a key event once: the actor and cosigners must differ")
    if ev.actor == record.key and not cosigs:
        return "key", ev.at
    rec = record.recovery
    if rec is not None and rec.association == ev.actor and not cosigs:
        if not any(a.attester == ev.actor for a in record.in_force(ev.at)):
            raise RuleError(f"the association {ev.actor} has no attestation of {record.key} in "
                            "force: it cannot act for the key")
        return "association", rec.at
    if rec is None or not set(signers) <= set(rec.keys):
        others = ("or its recovery keys or association" if rec
                  else "(it names no recovery keys)")
        raise RuleError(f"{ev.type} of {record.key} must be signed by the key itself {others}")
    if len(signers) < rec.threshold:
        raise RuleError(f"{ev.type} needs {rec.threshold} of the {len(rec.keys)} recovery keys; "
                        f"{len(signers)} signed")
    for i, c in enumerate(cosigs):
        _check_sig(c["key"], c["sig"], message, f"body.cosigs[{i}]")
    return "recovery", rec.at


def apply_key(record: KeyRecord, signed: SignedEvent) -> KeyRecord:
    """R19-R21 for one key event of ``record`` (the chain checks are the caller's)."""
    ev, eid, body = signed.event, signed.id, signed.event.body
    if ev.type == "key.recovery":
        # R20: the key alone names its recovery keys, while it has not been rotated away.
        if ev.actor != record.key:
            raise RuleError("key.recovery must be signed by the key itself")
        if record.rotation() is not None:
            raise RuleError(f"{record.key} was rotated away: it names no recovery keys")
        keys = tuple(body.get("keys", ()))
        threshold = body.get("threshold", 0 if not keys else None)
        if keys and not 1 <= (threshold or 0) <= len(keys):
            raise RuleError(f"threshold must be from 1 to {len(keys)} (the recovery keys)")
        if not keys and threshold:
            raise RuleError("a threshold needs recovery keys")
        if record.key in keys or body.get("association") == record.key:
            raise RuleError("a key is not its own recovery key")
        if not keys and "association" not in body:
            raise RuleError("key.recovery names recovery keys or an association")
        return replace(record, recoveries=record.recoveries + (Recovery(
            eid, keys, int(threshold or 0), body.get("association"), ev.at),))
    message = statement(ev)
    by, signed_as_of = _authority(record, signed, message)
    if ev.type == "key.rotate":
        # R19: a key is rotated once (a thief's rotation that no longer counts aside), to a
        # new key that signs the statement too.
        done = record.rotation()
        if done is not None:
            raise RuleError(f"{record.key} was already rotated to {done.to}")
        if body["to"] == record.key:
            raise RuleError("a key cannot be rotated to itself")
        _check_sig(body["to"], body["to_sig"], message, "body.to_sig (the new key)")
        return replace(record, rotations=record.rotations + (
            Rotation(eid, body["to"], ev.at, by, signed_as_of),))
    if ev.type == "key.compromised":
        # R21: from ``since`` on, what the key signs counts for nothing. A later declaration
        # may only move the time earlier.
        since = parse_time(body["since"])
        done = record.rotation()
        if by == "key" and done is not None and since <= done.at:
            raise RuleError(f"{record.key} was rotated to {done.to}: only its recovery keys or "
                            "association may declare it compromised from before that")
        if since > ev.at:
            raise RuleError("key.compromised cannot declare a time after its own")
        if record.compromised_since is not None and since >= record.compromised_since:
            raise RuleError(f"{record.key} is already compromised since "
                            f"{format_time(record.compromised_since)}")
        return replace(record, compromised_since=since, compromised_by=eid)
    raise RuleError(f"no key rule for event type {ev.type}")  # pragma: no cover


def is_key_event(type_: str) -> bool:
    return type_ in KEY_EVENT_TYPES


# -- whose signature counts on a work (specs/rules.md section 9.2) ------------------------------


def holder(key: str, t: int, lookup: KeyLookup | None) -> str:
    """The key that holds at ``t`` the control ``key`` was given: ``key``, or the key it was
    rotated to at or before ``t``, followed on (at most :data:`MAX_ROTATION_HOPS`)."""
    if lookup is None:
        return key
    seen = {key}
    for _ in range(MAX_ROTATION_HOPS):
        rec = lookup(key)
        nxt = rec.successor(t) if rec is not None else None
        if nxt is None or nxt in seen:
            return key
        seen.add(nxt)
        key = nxt
    return key


def lineage(key: str, lookup: KeyLookup) -> tuple[str, ...]:
    """``key`` and every key it was rotated to by a rotation that counts, whenever."""
    out = [key]
    for _ in range(MAX_ROTATION_HOPS):
        rec = lookup(out[-1])
        r = rec.rotation() if rec is not None else None
        if r is None or r.to in out:
            break
        out.append(r.to)
    return tuple(out)


def reachable(key: str, lookup: KeyLookup) -> tuple[str, ...]:
    """``key`` and every key any logged rotation led to from it, counting or not: the keys
    a replay accepts for a role ``key`` holds (R22). A rotation that stopped counting (a
    thief's, undone by a later key.compromised) still admitted the events its new key signed
    before it was undone: replay never refuses what was admitted, the effective state
    disputes them. At most :data:`MAX_ROTATION_HOPS` keys."""
    out = [key]
    for k in out:
        rec = lookup(k)
        for r in rec.rotations if rec is not None else ():
            if r.to not in out and len(out) < MAX_ROTATION_HOPS:
                out.append(r.to)
    return tuple(out)


def final_holder(key: str, lookup: KeyLookup | None) -> str:
    """The key that holds ``key``'s roles after every rotation that counts in the records
    (a royalty statement's payee and licensee, specs/royalties.md section 3)."""
    return holder(key, FAR_FUTURE, lookup)


def acts_for(actor: str, role: str, t: int, lookup: KeyLookup | None, strict: bool) -> bool:
    """May ``actor`` sign at ``t`` for the role of ``role`` (a controller, a licensee, a
    payee: specs/rules.md section 9, R22)? Without key records only ``role`` itself; a log
    admitting the event (``strict``) wants the holder at ``t``, not compromised; a replay
    any key reachable from ``role`` (the effective state judges it)."""
    if lookup is None:
        return actor == role
    if strict:
        return counts(actor, role, t, lookup)
    return actor == role or actor in reachable(role, lookup)


def counts(actor: str, controller: str | None, t: int, lookup: KeyLookup | None) -> bool:
    """Does ``actor``'s signature at ``t`` count (R22)? It must not be compromised at ``t``
    and, where ``controller`` is given (events only the controller signs), it must be the
    holder of the controller's control at ``t``."""
    if lookup is None:
        return controller is None or actor == controller
    rec = lookup(actor)
    if rec is not None and rec.compromised_at(t):
        return False
    return controller is None or actor == holder(controller, t, lookup)


@dataclass(frozen=True, slots=True)
class Effective:
    """A work's events that count (R22): ``state`` is the replay of the events kept,
    ``disputed`` the ids of those skipped: each whose signature does not count, and each the
    rules refuse once those are skipped (it builds on one)."""

    state: Any  # rules.WorkState | None; Any: rules imports this module
    disputed: tuple[str, ...]


def signer_role(state: Any, signed: SignedEvent) -> str | None:
    """The key whose role the event's actor signs for (specs/rules.md R22): the licence's
    licensee for ``licence.accept``, ``usage.report`` and ``payment.record``, the payment's
    payee for ``payment.ack`` and ``payment.dispute``, else the work's controller; None
    before the work's registration (or for a licence or payment the rules will not find)."""
    if state is None:
        return None
    ev, body = signed.event, signed.event.body
    if ev.type in _LICENSEE_SIGNS:
        lic = state.licence(body["offer"] if ev.type == "licence.accept" else body["licence"])
        return None if lic is None else str(lic.licensee)
    if ev.type in _PAYEE_SIGNS:
        pay = state.accounts.payments.get(body["payment"])
        return None if pay is None else str(pay.payee)
    return str(state.controller)


_LICENSEE_SIGNS = frozenset({"licence.accept", "usage.report", "payment.record"})
_PAYEE_SIGNS = frozenset({"payment.ack", "payment.dispute"})


def affected(state: Any, lookup: KeyLookup) -> bool:
    """Might a work's events include one that does not count? False is certain; True means
    replay it (:func:`effective`). Reads only the key records of the keys that may have
    signed: the controllers', the accepting licensees' and the payees' (and every key they
    were rotated to)."""
    roles = {k for k, _ in state.controllers}
    roles.update(x.licensee for x in state.licences if x.accepted_at is not None)
    roles.update(p.payee for p in state.accounts.payments.values())
    keys: set[str] = set()
    for k in roles:
        keys.update(reachable(k, lookup))
    for k in keys:
        rec = lookup(k)
        if rec is None:
            continue
        if rec.compromised_since is not None and rec.compromised_since <= state.last_at:
            return True
        # Only a role's later events are checked against rotations (R22): a work with its
        # registration alone has none.
        r = rec.rotation()
        if r is not None and r.at <= state.last_at and state.events > 1:
            return True
    return False


def effective(events: Iterable[SignedEvent], lookup: KeyLookup,
              apply: Callable[..., Any],
              applied: Callable[[Any, Any, SignedEvent], None] | None = None) -> Effective:
    """Replay ``events`` (with the rules' ``apply``), in log order, keeping those that count
    (specs/rules.md section 9, R22). An event is skipped when its signature does not count
    (its actor is compromised at its time, or is not the holder then of the role it signs
    for, :func:`signer_role` on the state kept so far), or when the rules refuse it on that
    state (it builds on a skipped one: the usage reports of an acceptance that does not
    count, what a transfer's new controller signs after a transfer that does not count). An
    event after a skipped one is read as building on the state kept (its ``prev`` names the
    skipped event; the log's own chain is checked by the plain replay). So what one key
    signed after it was compromised never undoes another key's later events: a licensee
    declaring its own key compromised does not take back the controller's revocation.
    Until an event is skipped the state is the plain replay's, so a refusal there raises as
    replay does. ``applied(before, after, event)`` is called for each event kept (a royalty
    statement accounts for those alone)."""
    state: Any = None
    disputed: list[str] = []
    previous: str | None = None  # the id of the event before, when it was skipped
    for signed in events:
        ev = signed.event
        base = state
        if base is not None and previous is not None and ev.prev == previous:
            base = replace(base, head=previous)
        kept = counts(ev.actor, signer_role(base, signed), ev.at, lookup)
        if kept:
            try:
                after = apply(base, signed, keys=lookup)
            except RuleError:
                if not disputed:  # the plain replay's state: a refusal of the log's own
                    raise
                kept = False
        if kept:
            if applied is not None:
                applied(state, after, signed)
            state, previous = after, None
        else:
            disputed.append(signed.id)
            previous = signed.id
    return Effective(state, tuple(disputed))
