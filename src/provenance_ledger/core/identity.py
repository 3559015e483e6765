"""Who is behind a key: identity attestations and the key records that hold them.

specs/events.md sections 6.13-6.14 (the ``identity.attest`` and ``identity.revoke`` bodies),
specs/rules.md section 7 (rules R17-R18) and section 8 (whose grant counts). An attestation
says "this key belongs to this member of ours"; any key may log one about any other key.
What it is worth is the verifier's call: an attestation counts for a verifier only when its
attester is one the verifier trusts (``attester`` lines of its policy, or ``--attester``).

Attestations of a key live in that key's *key record*: a chain of events like a work's,
whose id is derived from the key (:func:`key_record_id`), so the log, its map and its state
receipts prove a key record exactly as they prove a work. This module is pure (no I/O); the
CAWG export (specs/events.md section 6.15) is here too because it reads only the record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import RuleError
from .crypto import PublicKey
from .events import WORK_ID_PREFIX, SignedEvent
from .timefmt import format_time, parse_time

KEY_RECORD_PREFIX = b"provenance-ledger/key-record/v1\n"
"""Domain separation: a key record's id is never the content hash of a work."""
IDENTITY_TYPES = ("identity.attest", "identity.revoke")


KEY_RECORD_MARK = b"key!"
"""The last 4 bytes of every key record id; a work or dataset id ending so is refused (R17)."""


def key_record_id(key: str) -> str:
    """The id under which ``key``'s record is chained (specs/events.md section 6.13): the first
    28 bytes of SHA-512(prefix || key) over the key's text form ``ed25519:<hex>``, then
    :data:`KEY_RECORD_MARK`. The rules refuse any other event type under an id so marked, so
    no one can take a key's record id first (a work id is not checked against content)."""
    digest = hashlib.sha512(KEY_RECORD_PREFIX + key.encode("ascii")).digest()[:28]
    return WORK_ID_PREFIX + (digest + KEY_RECORD_MARK).hex()


def is_key_record_id(work: str) -> bool:
    """Does ``work`` (a valid work id) end with the key record mark?"""
    return work.endswith(KEY_RECORD_MARK.hex())


@dataclass(frozen=True, slots=True)
class Attestation:
    """One ``identity.attest`` and, once revoked, its revocation."""

    id: str
    attester: str
    name: str
    at: int
    start: int | None = None
    until: int | None = None
    url: str | None = None
    registry_id: str | None = None
    member: str | None = None
    revoked_by: str | None = None
    revoked_at: int | None = None

    def in_force(self, t: int) -> bool:
        """Valid at ``t``: logged and started at or before it, not expired, not revoked."""
        return (
            self.at <= t
            and (self.start is None or self.start <= t)
            and (self.until is None or t < self.until)
            and (self.revoked_at is None or t < self.revoked_at)
        )

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "attester": self.attester, "name": self.name,
                "url": self.url, "registry_id": self.registry_id, "member": self.member,
                "attested_at": format_time(self.at), "from": _t(self.start),
                "until": _t(self.until), "revoked_by": self.revoked_by,
                "revoked_at": _t(self.revoked_at)}


def _t(v: int | None) -> str | None:
    return None if v is None else format_time(v)


@dataclass(frozen=True, slots=True)
class Recovery:
    """Who may rotate a key that is lost (specs/rules.md R20): ``threshold`` of ``keys``, or
    the ``association`` while an attestation of the key by it is in force."""

    id: str
    keys: tuple[str, ...]
    threshold: int
    association: str | None
    at: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "keys": list(self.keys), "threshold": self.threshold,
                "association": self.association, "at": format_time(self.at)}


@dataclass(frozen=True, slots=True)
class Rotation:
    """A ``key.rotate``: control passes to ``to`` from ``at``. ``by`` says who authorised it:
    ``key`` (the key itself), ``recovery`` (k of n recovery keys) or ``association``;
    ``signed_as_of`` is when the key itself signed what authorised it: the rotation, or the
    key.recovery that named those recovery keys or that association."""

    id: str
    to: str
    at: int
    by: str
    signed_as_of: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "to": self.to, "at": format_time(self.at), "by": self.by}


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A key record's state: the key, its attestations, its recovery setting, rotations and
    the time from which it is declared compromised, in log order (specs/rules.md section 7)."""

    key: str
    attestations: tuple[Attestation, ...] = ()
    recoveries: tuple[Recovery, ...] = ()
    rotations: tuple[Rotation, ...] = ()
    compromised_since: int | None = None
    compromised_by: str | None = None  # the key.compromised event

    def attestation(self, attestation_id: str) -> Attestation | None:
        return next((a for a in self.attestations if a.id == attestation_id), None)

    def in_force(self, t: int) -> tuple[Attestation, ...]:
        return tuple(a for a in self.attestations if a.in_force(t))

    def compromised_at(self, t: int) -> bool:
        """Do events this key signs at ``t`` count for nothing (R21)?"""
        return self.compromised_since is not None and t >= self.compromised_since

    @property
    def recovery(self) -> Recovery | None:
        """The recovery setting in effect: the last one the key signed before it was
        compromised (a thief's setting counts for nothing, R21)."""
        return next((r for r in reversed(self.recoveries) if not self.compromised_at(r.at)),
                    None)

    def counts(self, rotation: Rotation) -> bool:
        """A rotation counts unless the key was compromised when it signed what authorised it
        (the rotation itself, or the recovery setting used): a thief's rotation, or one by
        recovery keys the thief named, is undone by declaring the key compromised from
        before it."""
        return not self.compromised_at(rotation.signed_as_of)

    def rotation(self) -> Rotation | None:
        """The rotation that counts (at most one: R19), or None."""
        return next((r for r in self.rotations if self.counts(r)), None)

    def successor(self, t: int) -> str | None:
        """The key that took over from this one at or before ``t``, or None."""
        r = self.rotation()
        return r.to if r is not None and r.at <= t else None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "attestations": [a.to_json() for a in self.attestations],
                "recoveries": [r.to_json() for r in self.recoveries],
                "rotations": [r.to_json() for r in self.rotations],
                "compromised_since": _t(self.compromised_since),
                "compromised_by": self.compromised_by}


def apply_identity(record: KeyRecord | None, signed: SignedEvent) -> KeyRecord:
    """R17-R18 of specs/rules.md section 7 for one event of a key record; the chain checks
    (prev, time order) are the caller's, as for every work."""
    ev, eid, body = signed.event, signed.id, signed.event.body
    key = body["key"]
    # (1) the record is the one of the key the body names.
    if ev.work != key_record_id(key):
        raise RuleError(f"{ev.type} about {key} must have work {key_record_id(key)}")
    if record is not None and record.key != key:  # pragma: no cover - ids are SHA-256 bound
        raise RuleError(f"key record {ev.work} is the record of {record.key}")
    record = record or KeyRecord(key)
    if ev.type == "identity.attest":
        # (2) any key may attest any other key; what an attestation is worth is the
        # verifier's call (section 8). A key vouching for itself says nothing.
        if ev.actor == key:
            raise RuleError("a key cannot attest itself: the attester is another key")
        start = parse_time(body["from"]) if "from" in body else None
        until = parse_time(body["until"]) if "until" in body else None
        if until is not None and (until <= ev.at or (start is not None and until <= start)):
            raise RuleError("attestation would end before it starts")
        a = Attestation(eid, ev.actor, body["name"], ev.at, start, until, body.get("url"),
                        body.get("registry_id"), body.get("member"))
        return replace(record, attestations=record.attestations + (a,))
    if ev.type == "identity.revoke":
        a0 = record.attestation(body["attestation"])
        if a0 is None:
            raise RuleError(f"no attestation {body['attestation']} of key {key}")
        # (3) only the attester withdraws its word, once.
        if ev.actor != a0.attester:
            raise RuleError(f"only the attester {a0.attester} may revoke attestation {a0.id}")
        if a0.revoked_at is not None:
            raise RuleError(f"attestation {a0.id} is already revoked")
        revoked = replace(a0, revoked_by=eid, revoked_at=ev.at)
        return replace(record, attestations=tuple(
            revoked if a.id == a0.id else a for a in record.attestations))
    raise RuleError(f"no identity rule for event type {ev.type}")  # pragma: no cover


# -- whose grant counts (specs/rules.md section 8) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Vouching:
    """What a verifier learns about the key whose grant made a decision: the attestations of
    it in force at the decision's time, and which of them come from attesters it trusts."""

    key: str
    attestations: tuple[Attestation, ...]
    trusted_attesters: frozenset[str]

    @property
    def attested(self) -> bool:
        return bool(self.attestations)

    @property
    def trusted(self) -> tuple[Attestation, ...]:
        return tuple(a for a in self.attestations if a.attester in self.trusted_attesters)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "attested": self.attested, "trusted": bool(self.trusted),
                "attestations": [{**a.to_json(), "trusted": a.attester in
                                  self.trusted_attesters} for a in self.attestations]}

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """One line: ``attested as NAME by ATTESTER (trusted)``, or ``not attested``."""
        if not self.attestations:
            return "not attested by anyone"
        best = self.trusted or self.attestations
        parts = []
        for a in best:
            member = f", member {a.member}" if a.member else ""
            trust = ("trusted" if a.attester in self.trusted_attesters
                     else "an attester you do not trust")
            parts.append(f"attested as {a.name!r}{member} by {a.attester} ({trust})")
        return "; ".join(parts)


def vouching(key: str, record: KeyRecord | None, at: int,
             trusted: Iterable[str]) -> Vouching:
    """The attestations of ``key`` in force at ``at`` (section 8, step 2)."""
    return Vouching(key, record.in_force(at) if record is not None else (),
                    frozenset(trusted))


# -- CAWG export (specs/events.md section 6.15) ---------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ED25519_MULTICODEC = b"\xed\x01"
CAWG_ICA_CONTEXT = (
    "https://www.w3.org/ns/credentials/v2",
    "https://cawg.io/identity/1.1/ica/context/",
)


def did_key(key: str) -> str:
    """The ``did:key`` of an Ed25519 key: ``z`` + base58btc(0xed 0x01 || public key)."""
    return "did:key:z" + base58btc(_ED25519_MULTICODEC + PublicKey.from_text(key).raw)


def base58btc(raw: bytes) -> str:
    """Base58 with the Bitcoin alphabet (draft-msporny-base58): one ``1`` per leading zero
    byte, then the number in base 58."""
    n, out = int.from_bytes(raw, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def cawg_credential(record: KeyRecord, a: Attestation) -> dict[str, Any]:
    """One attestation in the shape of a CAWG identity claims aggregation credential
    (specs/events.md section 6.15 says what maps and what does not)."""
    verified: dict[str, Any] = {"type": "cawg.affiliation", "name": a.name,
                                "verifiedAt": format_time(a.at),
                                "provider": {"id": did_key(a.attester)}}
    if a.url is not None:
        verified["uri"] = a.url
    if a.member is not None:
        verified["username"] = a.member
    doc: dict[str, Any] = {
        "@context": list(CAWG_ICA_CONTEXT),
        "type": ["VerifiableCredential", "IdentityClaimsAggregationCredential"],
        "issuer": did_key(a.attester),
        "validFrom": format_time(a.start if a.start is not None else a.at),
        "credentialSubject": {
            "id": did_key(record.key),
            "verifiedIdentities": [verified],
            "c2paAsset": {"referenced_assertions": [],
                          "sig_type": "cawg.identity_claims_aggregation"},
        },
        "provenanceLedger": {"attestation": a.id, "registry_id": a.registry_id},
    }
    if a.until is not None:
        doc["validUntil"] = format_time(a.until)
    return doc
