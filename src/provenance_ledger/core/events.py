"""The signed event envelope, its bodies, and the leaf bytes stored in the log.

specs/events.md. An event is::

    {"v": 1, "type": "...", "work": "sha256:<hex>", "prev": "<event id>"|null,
     "actor": "ed25519:<hex>", "at": "YYYY-MM-DDTHH:MM:SSZ", "body": {...}}

signed with Ed25519 over ``EVENT_SIGNING_PREFIX || JCS(envelope)``. The log leaf is
``JCS({"event": envelope, "sig": base64(signature)})`` and the event id is the leaf's RFC 9162
leaf hash in hex, so the id is exactly what the Merkle tree commits to. Parsing is strict:
unknown fields, wrong types, non-canonical bytes and values over the limits below are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedError, VerificationError, quoted
from . import ed25519
from .crypto import PrivateKey, PublicKey
from .encoding import (
    b64decode,
    b64encode,
    canonical_json,
    freeze,
    is_plain,
    is_text,
    parse_canonical_json,
    thaw,
)
from .merkle import leaf_hash
from .timefmt import MAX_TIME, MIN_TIME, format_time, parse_time

EVENT_VERSION = 1
EVENT_SIGNING_PREFIX = b"provenance-ledger/event/v1\n"
"""Domain separation: an event signature can never be mistaken for any other signature."""

MAX_LEAF_BYTES = 16 * 1024
"""Largest stored leaf (signed event), in bytes."""
MAX_TITLE_CHARS = 256
MAX_TEXT_CHARS = 1024  # free-text reasons
MAX_URI_CHARS = 2048
MAX_MEDIA_TYPE_CHARS = 127  # RFC 6838 section 4.2
MAX_SIMILARITY_CHARS = 256
MAX_LIST_ITEMS = 64  # purposes, payees, territories, conditions
MAX_PURPOSE_CHARS = 64
MAX_DATASET_NAME_CHARS = 256
MAX_VERSION_CHARS = 64
MAX_DATASET_ITEMS = 2**53 - 1
BASIS_POINTS = 10_000

WORK_ID_PREFIX = "sha256:"
TYPES: tuple[str, ...] = (
    "work.register",
    "work.transfer",
    "consent.grant",
    "consent.revoke",
    "licence.offer",
    "licence.accept",
    "licence.terminate",
    "dataset.disclose",
    # specs/events.md sections 6.9-6.12: usage and payment (rules: core/payments.py)
    "usage.report",
    "payment.record",
    "payment.ack",
    "payment.dispute",
)
STANDARD_PURPOSES = (
    "ai_training",
    "ai_generative_training",
    "ai_inference",
    "data_mining",
    "ai_generation",
)
"""Purposes of specs/events.md section 4 (CAWG training-and-data-mining keys, plus
``ai_generation``). Custom purposes are namespaced: ``<domain>:<name>``."""
CONDITIONS = ("attribution", "payment-required")
ANYONE = "*"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_CUSTOM_PURPOSE = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[a-z0-9][a-z0-9_.-]*")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_TERRITORY = re.compile(r"[A-Z]{2}")
_URI = re.compile(r"(https?://|urn:)[!-~]+")
_ROOT = re.compile(r"[0-9a-f]{64}")
PERIOD_PATTERN = re.compile(r"(19[7-9][0-9]|[2-9][0-9]{3})(-(0[1-9]|1[0-2])|-Q[1-4])?")
"""A reporting period (specs/events.md section 6.9): a year, a quarter or a month."""
MAX_REFERENCE_CHARS = 256


def work_id_of(sha256_hex: str) -> str:
    return WORK_ID_PREFIX + sha256_hex


# --- field validators: each takes (value, field name) and returns the value or raises ---------


def _str(max_chars: int, pattern: re.Pattern[str] | None = None) -> Callable[[Any, str], Any]:
    def check(value: Any, name: str) -> Any:
        if not isinstance(value, str):
            raise MalformedError(f"{name} must be a string")
        if not value or len(value) > max_chars:
            raise MalformedError(f"{name} must be 1 to {max_chars} characters")
        if pattern is not None and not pattern.fullmatch(value):
            raise MalformedError(f"{name} {quoted(value)} is not in the expected form")
        if not is_text(value):
            raise MalformedError(f"{name} contains a character that is not text (a control "
                                 "character, line separator or bidirectional override)")
        return value

    return check


def _uint(maximum: int) -> Callable[[Any, str], Any]:
    def check(value: Any, name: str) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
            raise MalformedError(f"{name} must be an integer from 0 to {maximum}")
        return value

    return check


def check_key(value: Any, name: str) -> Any:
    try:
        PublicKey.from_text(value)
    except MalformedError as e:
        raise MalformedError(f"{name}: {e}") from e
    return value


def check_event_id(value: Any, name: str) -> Any:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise MalformedError(f"{name} must be an event id (64 lowercase hex)")
    return value


def check_work_id(value: Any, name: str) -> Any:
    if (
        not isinstance(value, str)
        or not value.startswith(WORK_ID_PREFIX)
        or not _HEX64.fullmatch(value[len(WORK_ID_PREFIX) :])
    ):
        raise MalformedError(f"{name} must be sha256:<64 lowercase hex>")
    return value


_FULL_WORK_ID = re.compile(r"(?:sha256:)?([0-9a-f]{64})", re.IGNORECASE)


def full_work_id(text: str) -> str | None:
    """``sha256:<64 lowercase hex>`` for text that names a whole work id (``sha256:`` optional,
    any case), else None (a prefix, or not an id at all)."""
    m = _FULL_WORK_ID.fullmatch(text)
    return None if m is None else WORK_ID_PREFIX + m.group(1).lower()


def check_time(value: Any, name: str) -> Any:
    parse_time(value, name)
    return value


def check_purpose(value: Any, name: str) -> Any:
    if not isinstance(value, str) or not value or len(value) > MAX_PURPOSE_CHARS:
        raise MalformedError(f"{name} must be a purpose name")
    if value not in STANDARD_PURPOSES and not _CUSTOM_PURPOSE.fullmatch(value):
        raise MalformedError(
            f"unknown purpose {quoted(value)}: use one of {', '.join(STANDARD_PURPOSES)} "
            "or a namespaced <domain>:<name> in lowercase ASCII (such as example.org:dubbing)"
        )
    return value


def _list(item: Callable[[Any, str], Any], unique: bool = True) -> Callable[[Any, str], Any]:
    def check(value: Any, name: str) -> Any:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST_ITEMS:
            raise MalformedError(f"{name} must be a list of 1 to {MAX_LIST_ITEMS} items")
        for i, v in enumerate(value):
            item(v, f"{name}[{i}]")
        if unique and len({canonical_json(v) for v in value}) != len(value):
            raise MalformedError(f"{name} has duplicate items")
        return value

    return check


def _one_of(options: tuple[str, ...]) -> Callable[[Any, str], Any]:
    def check(value: Any, name: str) -> Any:
        if value not in options:
            raise MalformedError(f"{name} must be one of {', '.join(options)}")
        return value

    return check


def _key_or_anyone(value: Any, name: str) -> Any:
    return value if value == ANYONE else check_key(value, name)


def _object(
    fields: Mapping[str, Callable[[Any, str], Any]], required: frozenset[str]
) -> Callable[[Any, str], Any]:
    def check(value: Any, name: str) -> Any:
        if not isinstance(value, dict):
            raise MalformedError(f"{name} must be an object")
        unknown = value.keys() - fields.keys()
        if unknown:
            raise MalformedError(f"{name} has unknown field {quoted(sorted(unknown)[0])}")
        missing = required - value.keys()
        if missing:
            raise MalformedError(f"{name} lacks required field {sorted(missing)[0]!r}")
        for key, v in value.items():
            fields[key](v, f"{name}.{key}")
        return value

    return check


def _payees(value: Any, name: str) -> Any:
    _list(_object({"key": check_key, "share_bps": _uint(BASIS_POINTS)},
                  frozenset({"key", "share_bps"})))(value, name)
    if len({p["key"] for p in value}) != len(value):
        raise MalformedError(f"{name} names a key twice")
    if sum(p["share_bps"] for p in value) != BASIS_POINTS:
        raise MalformedError(f"{name} shares must add up to {BASIS_POINTS} basis points")
    return value


_fee = _object({"amount": _uint(2**53 - 1), "currency": _str(3, _CURRENCY)},
               frozenset({"amount", "currency"}))

_BODIES: dict[str, Callable[[Any, str], Any]] = {
    "work.register": _object(
        {
            "size": _uint(2**53 - 1),
            "media_type": _str(MAX_MEDIA_TYPE_CHARS, _MEDIA_TYPE),
            "title": _str(MAX_TITLE_CHARS),
            "similarity": _str(MAX_SIMILARITY_CHARS),
            "payees": _payees,
        },
        frozenset({"size", "media_type"}),
    ),
    "work.transfer": _object({"to": check_key, "payees": _payees}, frozenset({"to"})),
    "consent.grant": _object(
        {
            "grantee": _key_or_anyone,
            "purposes": _list(check_purpose),
            "until": check_time,
            "conditions": _list(_one_of(CONDITIONS)),
        },
        frozenset({"grantee", "purposes"}),
    ),
    "consent.revoke": _object({"grant": check_event_id}, frozenset({"grant"})),
    "licence.offer": _object(
        {
            "licensee": check_key,
            "purposes": _list(check_purpose),
            "fee": _fee,
            "royalty_bps": _uint(BASIS_POINTS),
            "territories": _list(_str(2, _TERRITORY)),
            "from": check_time,
            "until": check_time,
            "terms_uri": _str(MAX_URI_CHARS, _URI),
            "offer_expires": check_time,
        },
        frozenset({"licensee", "purposes"}),
    ),
    "licence.accept": _object({"offer": check_event_id}, frozenset({"offer"})),
    "licence.terminate": _object(
        {"licence": check_event_id, "reason": _str(MAX_TEXT_CHARS)}, frozenset({"licence"})
    ),
    # specs/events.md section 6.8; the commitment itself is specs/datasets.md.
    "dataset.disclose": _object(
        {
            "name": _str(MAX_DATASET_NAME_CHARS),
            "version": _str(MAX_VERSION_CHARS),
            "model": _str(MAX_TITLE_CHARS),
            "purposes": _list(check_purpose),
            "root": _str(64, _ROOT),
            "count": _uint(MAX_DATASET_ITEMS),
            "compliance": check_work_id,
        },
        frozenset({"name", "version", "purposes", "root", "count"}),
    ),
}

# --- usage and payments (specs/events.md sections 6.9-6.12) -----------------------------------
_period = _str(10, PERIOD_PATTERN)
_BODIES["usage.report"] = _object(
    {"licence": check_event_id, "period": _period, "units": _uint(2**53 - 1), "revenue": _fee},
    frozenset({"licence", "period", "units", "revenue"}))
_BODIES["payment.record"] = _object(
    {"licence": check_event_id, "to": check_key, "amount": _fee,
     "reference": _str(MAX_REFERENCE_CHARS), "period": _period},
    frozenset({"licence", "to", "amount"}))
_BODIES["payment.ack"] = _object({"payment": check_event_id}, frozenset({"payment"}))
_BODIES["payment.dispute"] = _object(
    {"payment": check_event_id, "reason": _str(MAX_TEXT_CHARS)}, frozenset({"payment", "reason"}))


# --- identity attestations (specs/events.md sections 6.13-6.14; rules in core/identity.py) ---
MAX_MEMBER_CHARS = 64  # an association's member number or handle
IDENTITY_EVENT_TYPES = ("identity.attest", "identity.revoke")
_BODIES["identity.attest"] = _object(
    {
        "key": check_key,
        "name": _str(MAX_TITLE_CHARS),
        "url": _str(MAX_URI_CHARS, _URI),
        "registry_id": _str(MAX_TITLE_CHARS),
        "member": _str(MAX_MEMBER_CHARS),
        "from": check_time,
        "until": check_time,
    },
    frozenset({"key", "name"}),
)
_BODIES["identity.revoke"] = _object(
    {"key": check_key, "attestation": check_event_id, "reason": _str(MAX_TEXT_CHARS)},
    frozenset({"key", "attestation"}),
)
TYPES = TYPES + IDENTITY_EVENT_TYPES


def check_body(type_: str, body: Any) -> None:
    """Check a body of ``type_`` as :class:`Event` does (a caller checks its input before it
    unlocks a key)."""
    _BODIES[type_](body, "body")


def _signature(value: Any, name: str) -> Any:
    if not isinstance(value, str):
        raise MalformedError(f"{name} must be a base64 signature")
    b64decode(value, name, 64)
    return value


_cosigs = _list(_object({"key": check_key, "sig": _signature}, frozenset({"key", "sig"})))
KEY_EVENT_TYPES = ("key.rotate", "key.recovery", "key.compromised")
# specs/events.md sections 6.16-6.18; rules in core/keystate.py
_BODIES["key.rotate"] = _object(
    {"key": check_key, "to": check_key, "to_sig": _signature, "cosigs": _cosigs},
    frozenset({"key", "to", "to_sig"}),
)
_BODIES["key.recovery"] = _object(
    {"key": check_key, "keys": _list(check_key), "threshold": _uint(MAX_LIST_ITEMS),
     "association": check_key},
    frozenset({"key"}),
)
_BODIES["key.compromised"] = _object(
    {"key": check_key, "since": check_time, "cosigs": _cosigs}, frozenset({"key", "since"}),
)
TYPES = TYPES + KEY_EVENT_TYPES
# --- end identity attestations and key events ---

_LEAF_HEAD = b'{"event":'
_LEAF_SIG = b',"sig":'
_ENVELOPE_FIELDS = frozenset({"v", "type", "work", "prev", "actor", "at", "body"})


@dataclass(frozen=True, slots=True)
class Event:
    """An unsigned event. ``at`` is seconds since the epoch; ``body`` is validated JSON, kept
    read-only all the way down (objects as read-only mappings, arrays as tuples)."""

    type: str
    work: str
    prev: str | None
    actor: str
    at: int
    body: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.type not in _BODIES:
            raise MalformedError(f"unknown event type {quoted(self.type, 42)}")
        check_work_id(self.work, "work")
        if self.prev is not None:
            check_event_id(self.prev, "prev")
        check_key(self.actor, "actor")
        if not isinstance(self.at, int) or not MIN_TIME <= self.at <= MAX_TIME:
            raise ValueError(f"event time {quoted(self.at)} is outside 1970..9999")
        # Validated as plain JSON, then kept frozen: no holder of the event can change it.
        body = self.body if is_plain(self.body) else thaw(self.body)
        _BODIES[self.type](body, "body")
        object.__setattr__(self, "body", freeze(body))

    def envelope(self) -> dict[str, Any]:
        return {
            "v": EVENT_VERSION,
            "type": self.type,
            "work": self.work,
            "prev": self.prev,
            "actor": self.actor,
            "at": format_time(self.at),
            "body": thaw(self.body),
        }

    def signing_message(self) -> bytes:
        """The bytes the actor signs: domain prefix, then the canonical envelope."""
        return EVENT_SIGNING_PREFIX + canonical_json(self.envelope())

    @classmethod
    def from_envelope(cls, env: Any) -> Event:
        if not isinstance(env, dict):
            raise MalformedError("event must be a JSON object")
        unknown = env.keys() - _ENVELOPE_FIELDS
        if unknown:
            raise MalformedError(f"event has unknown field {quoted(sorted(unknown)[0])}")
        missing = _ENVELOPE_FIELDS - env.keys()
        if missing:
            raise MalformedError(f"event lacks field {sorted(missing)[0]!r}")
        if type(env["v"]) is not int or env["v"] != EVENT_VERSION:
            raise MalformedError(f"event version {quoted(env['v'])} is not {EVENT_VERSION}")
        if not isinstance(env["type"], str):
            raise MalformedError("event type must be a string")
        return cls(env["type"], env["work"], env["prev"], env["actor"],
                   parse_time(env["at"], "at"), env["body"])


@dataclass(frozen=True, slots=True)
class SignedEvent:
    """An event with its signature; ``leaf`` is the exact stored bytes, ``id`` their hash."""

    event: Event
    signature: bytes
    leaf: bytes
    id: str

    def to_json(self) -> dict[str, Any]:
        """The decoded event for people: envelope plus ``id`` and ``sig``."""
        return {"id": self.id, **self.event.envelope(), "sig": b64encode(self.signature)}


def signed_leaf(envelope: bytes, sig: str) -> bytes:
    """The leaf of a canonical envelope and its base64 signature (section 3):
    JCS({"event": envelope, "sig": sig}) spelled out: "event" sorts before "sig" and base64
    needs no escaping, so this is exactly the canonical leaf, without a second encoding."""
    return b"".join((_LEAF_HEAD, envelope, _LEAF_SIG, b'"', sig.encode("ascii"), b'"}'))


def sign_event(event: Event, key: PrivateKey) -> SignedEvent:
    """Sign ``event`` with ``key``, which must be the event's actor."""
    if key.public.text != event.actor:
        raise ValueError("the signing key is not the event's actor")
    envelope = canonical_json(event.envelope())
    sig = key.sign(EVENT_SIGNING_PREFIX + envelope)
    leaf = signed_leaf(envelope, b64encode(sig))

    if len(leaf) > MAX_LEAF_BYTES:
        raise MalformedError(f"event is {len(leaf)} bytes, over the {MAX_LEAF_BYTES}-byte limit")
    return SignedEvent(event, sig, leaf, leaf_hash(leaf).hex())


def parse_leaf(leaf: bytes, *, verify: bool = True) -> SignedEvent:
    """Parse stored leaf bytes strictly and (by default) verify the actor's signature."""
    if len(leaf) > MAX_LEAF_BYTES:
        raise MalformedError(f"event is {len(leaf)} bytes, over the {MAX_LEAF_BYTES}-byte limit")
    outer = parse_canonical_json(leaf, "event", schema_checks_numbers=True)
    if not isinstance(outer, dict) or outer.keys() != {"event", "sig"}:
        raise MalformedError('signed event must be an object with exactly "event" and "sig"')
    if not isinstance(outer["sig"], str):
        raise MalformedError("event signature must be a base64 string")
    sig = b64decode(outer["sig"], "event signature", 64)
    event = SignedEvent(Event.from_envelope(outer["event"]), sig, leaf, leaf_hash(leaf).hex())
    if verify:
        verify_signature(event)
    return event


def signature_parts(signed: SignedEvent) -> tuple[bytes, bytes, bytes]:
    """What checking a parsed event's signature takes: the actor's raw public key, the
    signature and the signed message (section 3: domain prefix, then the envelope)."""
    # A parsed leaf is canonical with keys "event" < "sig", so the canonical envelope is the
    # exact byte span between '{"event":' and ',"sig":'; no second encoding is needed.
    envelope = signed.leaf[len(_LEAF_HEAD) : signed.leaf.rindex(_LEAF_SIG)]
    return (PublicKey.from_text(signed.event.actor).raw, signed.signature,
            EVENT_SIGNING_PREFIX + envelope)


def signature_error(signed: SignedEvent) -> VerificationError:
    """What an event whose signature does not verify is refused with."""
    return VerificationError(f"event signature by {signed.event.actor} does not verify")


def verify_signature(signed: SignedEvent) -> None:
    """Check the actor's signature of a parsed event (raises :class:`VerificationError`)."""
    if not ed25519.verify(*signature_parts(signed)):
        raise signature_error(signed)
