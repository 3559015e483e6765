"""Key requests: a ``key.rotate`` or ``key.compromised`` that recovery keys held in different
places sign one after the other (specs/cli.md section 3.7.1).

A k-of-n recovery (specs/rules.md section 9) needs the statement (specs/events.md section
6.16) signed by k recovery keys: the event's actor, and k - 1 others in ``cosigs``. The
statement names the actor, the record's head and the time, so a request fixes all three when
it is written; each other recovery key adds its cosignature; the actor, named by the request
as its **signer**, signs the whole event last (its signature covers the cosignatures), once
k - 1 others have cosigned. A complete request is a signed event anyone can submit.

The request carries the recovery keys and threshold of the setting it was written for, so a
holder can be told offline that its key is not one of them, or that more are needed; the
rules decide again when the event is submitted. Pure: the caller reads and writes the file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..errors import MalformedError, VerificationError
from .crypto import PrivateKey, PublicKey
from .encoding import b64decode, b64encode, canonical_json, thaw
from .events import Event, SignedEvent, check_key, parse_leaf
from .keystate import statement

KEY_REQUEST_FORMAT = "provenance-ledger/key-request/v1"
MAX_KEY_REQUEST_BYTES = 65_536
"""Largest request file read, in bytes (64 cosignatures fit many times over)."""
REQUEST_TYPES = ("key.rotate", "key.compromised")
_FIELDS = frozenset({"format", "event", "keys", "threshold", "sig"})


@dataclass(frozen=True, slots=True)
class KeyRequest:
    """A key event being signed: the draft ``event`` (its body's ``cosigs`` so far), the
    recovery ``keys`` and ``threshold`` it was written for, and the signer's signature of the
    whole event once it has signed (None before)."""

    event: Event
    keys: tuple[str, ...]
    threshold: int
    sig: bytes | None = None

    def __post_init__(self) -> None:
        if self.event.type not in REQUEST_TYPES:
            raise ValueError(f"a key request is a {' or '.join(REQUEST_TYPES)}")
        if not 1 <= self.threshold <= len(self.keys):
            raise ValueError("a key request's threshold is 1 to the number of recovery keys")

    @property
    def signer(self) -> str:
        """The recovery key that signs the event itself (its actor), last."""
        return self.event.actor

    @property
    def cosigners(self) -> tuple[str, ...]:
        return tuple(c["key"] for c in self.event.body.get("cosigs", ()))

    @property
    def missing(self) -> int:
        """How many more cosignatures the signer waits for (0: it may sign)."""
        return max(0, self.threshold - 1 - len(self.cosigners))

    @property
    def complete(self) -> bool:
        return self.sig is not None

    def check(self) -> None:
        """Every signature in the request verifies: the cosignatures (and a rotation's new
        key's ``to_sig``) over the statement, the signer's over the event. A request edited
        after a signature, or signed for another request, fails here."""
        message = statement(self.event)
        body = self.event.body
        if self.event.type == "key.rotate":
            _verify(body["to"], body["to_sig"], message, "the new key's signature (to_sig)")
        for c in body.get("cosigs", ()):
            _verify(c["key"], c["sig"], message, f"the cosignature by {c['key']}")
        if self.sig is not None:
            self.signed()

    def cosign(self, key: PrivateKey) -> KeyRequest:
        """This request with ``key``'s signature: a cosignature over the statement, or, for the
        signer, its signature of the whole event (once ``threshold - 1`` others cosigned)."""
        self.check()
        me = key.public.text
        if self.complete:
            raise MalformedError("the request is complete (signed by its signer): submit it "
                                 "with provenance key submit")
        if me not in self.keys:
            raise MalformedError(f"{me} is not one of the recovery keys of this request "
                                 f"({len(self.keys)} named)")
        if me == self.signer:
            if self.missing:
                raise MalformedError(
                    f"the request needs {self.missing} more cosignature(s) of the recovery keys "
                    f"before its signer {me} signs the event (it signs last)")
            return replace(self, sig=key.sign(self.event.signing_message()))
        if me in self.cosigners:
            raise MalformedError(f"{me} has cosigned this request already")
        cosig = {"key": me, "sig": b64encode(key.sign(statement(self.event)))}
        body = thaw(self.event.body)
        body["cosigs"] = [*body.get("cosigs", ()), cosig]
        ev = self.event
        return replace(self, event=Event(ev.type, ev.work, ev.prev, ev.actor, ev.at, body))

    def signed(self) -> SignedEvent:
        """The complete request as a signed event, its signature verified."""
        if self.sig is None:
            more = f"{self.missing} more cosignature(s), then " if self.missing else ""
            raise MalformedError(f"the request is not complete: it needs {more}its signer "
                                 f"{self.signer} to sign (provenance key cosign FILE --key ...)")
        leaf = (b'{"event":' + canonical_json(self.event.envelope()) + b',"sig":"'
                + b64encode(self.sig).encode("ascii") + b'"}')
        try:
            return parse_leaf(leaf)
        except VerificationError as e:
            raise MalformedError(f"the signer's signature of the request does not verify: "
                                 f"{e}") from e

    def to_json(self) -> dict[str, Any]:
        return {"format": KEY_REQUEST_FORMAT, "event": self.event.envelope(),
                "keys": list(self.keys), "threshold": self.threshold,
                "sig": None if self.sig is None else b64encode(self.sig)}

    @classmethod
    def from_json(cls, data: Any) -> KeyRequest:
        if not isinstance(data, dict) or data.get("format") != KEY_REQUEST_FORMAT:
            raise MalformedError(f"not a key request: its format is not {KEY_REQUEST_FORMAT}")
        if data.keys() != _FIELDS:
            raise MalformedError("a key request has exactly the members "
                                 + ", ".join(sorted(_FIELDS)))
        keys, threshold, sig = data["keys"], data["threshold"], data["sig"]
        if not isinstance(keys, list) or not 1 <= len(keys) <= 64 or len(set(keys)) != len(keys):
            raise MalformedError("a key request's keys are 1 to 64 distinct keys")
        for k in keys:
            check_key(k, "key request keys")
        if type(threshold) is not int or not 1 <= threshold <= len(keys):
            raise MalformedError("a key request's threshold is 1 to the number of its keys")
        if sig is not None and not isinstance(sig, str):
            raise MalformedError("a key request's sig is base64 text or null")
        event = Event.from_envelope(data["event"])
        if event.type not in REQUEST_TYPES:
            raise MalformedError(f"a key request is a {' or '.join(REQUEST_TYPES)}, not "
                                 f"{event.type}")
        return cls(event, tuple(keys), threshold,
                   None if sig is None else b64decode(sig, "key request sig", 64))


def _verify(key: str, sig: str, message: bytes, what: str) -> None:
    try:
        PublicKey.from_text(key).verify(b64decode(sig, what, 64), message)
    except (VerificationError, MalformedError) as e:
        raise MalformedError(f"{what} does not verify: the request was changed after it "
                             "was signed, or the signature is for another request") from e
