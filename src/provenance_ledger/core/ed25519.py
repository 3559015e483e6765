"""The Ed25519 acceptance rule, pinned (specs/events.md section 3.1), whichever library checks.

Ed25519 libraries disagree on edge cases ("Taming the many EdDSAs", ed25519-speccheck). The
project accepts exactly what OpenSSL (through ``cryptography``) accepts: S < L, the
cofactorless equation, R compared byte for byte with the canonical encoding of [S]B - [k]A, a
public key A taken as given (small order allowed, a y coordinate >= p taken modulo p).

libsodium (PyNaCl) verifies about twice as fast and decides the same on every input except
those where it is stricter: a small-order A or R, or a non-canonical A (libsodium refuses
them before the equation). :func:`verify` therefore sends exactly those inputs, recognised
from their bytes, to OpenSSL, and everything else to libsodium, so the verdict is the pinned
rule's either way (tests/core/test_ed25519_rule.py runs the speccheck cases through both).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

_sodium_open: Callable[..., int] | None
_NULL: Any = None
try:  # libsodium: the fast path; without it every signature goes to OpenSSL (same verdicts)
    from nacl._sodium import ffi as _ffi  # type: ignore[import-not-found]
    from nacl._sodium import lib as _lib
except ImportError:  # pragma: no cover - PyNaCl is a dependency
    _sodium_open = None
else:
    # libsodium's set-up before any call (a no-op after the first); should it fail, OpenSSL
    # checks every signature: the same verdicts, slower.
    ready = _lib.sodium_init() >= 0
    _sodium_open = _lib.crypto_sign_open if ready else None  # cffi releases the GIL in it
    _NULL = _ffi.NULL

L = 2**252 + 27742317777372353535851937790883648493
"""The order of the base point: S must be below it."""
P = 2**255 - 19
"""The field prime: a y coordinate at or above it is a non-canonical encoding."""
_Y_MASK = (1 << 255) - 1  # the encoding's y bits; bit 255 is the sign of x
SMALL_ORDER_Y = frozenset({
    0, 1, P - 1,  # orders 4, 1, 2
    2707385501144840649318225287225658788936804267575313519463743609750303402022,  # order 8
    55188659117513257062467267217118295137698188065244968500265048394206261417927,  # order 8
    P, P + 1,  # 0 and 1 again, non-canonically (no other y below 2^255 has a second form)
})
"""The y values (as encoded, either sign bit) of the 8 points of small order: libsodium
refuses such an A or R; the pinned rule lets the equation decide."""


def libsodium_differs(public: bytes, signature: bytes) -> bool:
    """Whether libsodium's verdict on this key and signature may differ from the pinned rule:
    A of small order or non-canonical (y >= p), or R of small order."""
    a = int.from_bytes(public, "little") & _Y_MASK
    r = int.from_bytes(signature[:32], "little") & _Y_MASK
    return a >= P or a in SMALL_ORDER_Y or r in SMALL_ORDER_Y


@lru_cache(maxsize=4096)
def _openssl_key(raw: bytes) -> Ed25519PublicKey:
    """Decoded public keys, cached: the same actors sign many events."""
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_openssl(public: bytes, signature: bytes, message: bytes) -> bool:
    """The pinned rule as OpenSSL applies it (every input)."""
    if len(public) != 32 or len(signature) != 64:
        return False
    try:
        _openssl_key(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_libsodium(public: bytes, signature: bytes, message: bytes) -> bool:
    """libsodium's own verdict (stricter than the pinned rule where :func:`libsodium_differs`);
    releases the GIL while it works, as OpenSSL does."""
    if _sodium_open is None:  # pragma: no cover - PyNaCl is a dependency
        raise RuntimeError("PyNaCl is not installed")
    if len(public) != 32 or len(signature) != 64:
        return False
    signed = signature + message
    return bool(_sodium_open(_NULL, _NULL, signed, len(signed), public) == 0)


def verify(public: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` by ``public`` over ``message`` is valid under the pinned rule
    (specs/events.md section 3.1): the one signature check of the project."""
    if _sodium_open is None or len(signature) != 64 or libsodium_differs(public, signature):
        return verify_openssl(public, signature, message)
    if len(public) != 32:
        return False
    signed = signature + message
    return bool(_sodium_open(_NULL, _NULL, signed, len(signed), public) == 0)


def signing_key(seed: bytes) -> bytes | None:
    """libsodium's 64-byte secret key for a 32-byte seed (seed then public key), or None
    without libsodium. Kept only in memory, beside the key it comes from."""
    if _sodium_open is None:  # pragma: no cover - PyNaCl is a dependency
        return None
    public = _ffi.new("unsigned char[]", 32)
    secret = _ffi.new("unsigned char[]", 64)
    if _lib.crypto_sign_seed_keypair(public, secret, seed) != 0:  # pragma: no cover
        return None
    return bytes(_ffi.buffer(secret, 64))


def sign(secret: bytes, message: bytes) -> bytes:
    """Sign with a :func:`signing_key`: RFC 8032 Ed25519 is deterministic, so the signature
    is byte for byte OpenSSL's (tests/core/test_ed25519_rule.py checks it); libsodium signs
    in about 60 % of OpenSSL's time and releases the GIL while it works."""
    out = _ffi.new("unsigned char[]", 64 + len(message))
    _lib.crypto_sign(out, _NULL, message, len(message), secret)
    return bytes(_ffi.buffer(out, 64))


def backend() -> str:
    """The library that checks ordinary signatures: ``libsodium`` or ``openssl``."""
    return "openssl" if _sodium_open is None else "libsodium"
