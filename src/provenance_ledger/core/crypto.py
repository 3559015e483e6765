"""Ed25519 keys and their text forms (specs/events.md section 3).

An actor key is written ``ed25519:<64 lowercase hex>``: the raw 32-byte public key. That is
the form events name actors and licensees in, and the form the CLI's ``--to`` takes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..errors import MalformedError, VerificationError, quoted
from . import ed25519

ACTOR_KEY_PREFIX = "ed25519:"
PUBLIC_KEY_SIZE = 32  # bytes
SIGNATURE_SIZE = 64  # bytes
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key; ``text`` is the ``ed25519:<hex>`` form."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != PUBLIC_KEY_SIZE:
            raise ValueError(f"Ed25519 public key must be {PUBLIC_KEY_SIZE} bytes")

    @classmethod
    def from_text(cls, text: str) -> PublicKey:
        """Parse ``ed25519:<64 lowercase hex>``."""
        return _public_key(text) if type(text) is str else _public_key_uncached(text)

    @property
    def text(self) -> str:
        return ACTOR_KEY_PREFIX + self.raw.hex()

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise :class:`VerificationError` unless ``signature`` is valid over ``message``
        under the pinned acceptance rule (specs/events.md section 3.1, core/ed25519.py)."""
        if not ed25519.verify(self.raw, signature, message):
            raise VerificationError("signature does not verify")

    def fingerprint(self) -> str:
        """Short, stable label for tables: first 16 hex of SHA-256 of the key."""
        return hashlib.sha256(self.raw).hexdigest()[:16]


@lru_cache(maxsize=4096)
def _public_key(text: str) -> PublicKey:
    """:meth:`PublicKey.from_text`, remembered: the events of a block share a few actors."""
    return _public_key_uncached(text)


def _public_key_uncached(text: object) -> PublicKey:
    if not isinstance(text, str) or not text.startswith(ACTOR_KEY_PREFIX):
        raise MalformedError(f"key {quoted(text)} is not of the form ed25519:<64 hex>")
    hexpart = text[len(ACTOR_KEY_PREFIX) :]
    if len(hexpart) != 2 * PUBLIC_KEY_SIZE or not set(hexpart) <= _HEX:
        raise MalformedError(f"key {quoted(text)} is not of the form ed25519:<64 hex>")
    return PublicKey(bytes.fromhex(hexpart))


class PrivateKey:
    """An Ed25519 private key. Never printed: ``repr`` shows only the public half."""

    __slots__ = ("_key", "_secret", "public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = PublicKey(key.public_key().public_bytes_raw())
        self._secret: bytes | None = None  # libsodium's form, made at the first signature

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateKey:
        """Deterministic key from a 32-byte seed (tests and benchmarks)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def inner(self) -> Ed25519PrivateKey:
        """The ``cryptography`` key, for serialisation by the key store."""
        return self._key

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message`` (libsodium when it is there: the same bytes
        as OpenSSL's, sooner)."""
        secret = self._secret
        if secret is None:
            secret = ed25519.signing_key(self._key.private_bytes_raw())
            if secret is None:  # pragma: no cover - PyNaCl is a dependency
                return self._key.sign(message)
            self._secret = secret
        return ed25519.sign(secret, message)

    def __repr__(self) -> str:
        return f"PrivateKey(public={self.public.text})"
