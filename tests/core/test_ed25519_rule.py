"""The pinned Ed25519 acceptance rule (specs/events.md section 3.1) as known answers: the 12
ed25519-speccheck cases and a few hand-made edge cases get the same verdict from the project's
verify function, from OpenSSL alone, and through ``PublicKey.verify``; libsodium's own verdict
differs only where the verify function does not let it decide."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance_ledger.core import ed25519
from provenance_ledger.core.crypto import PrivateKey, PublicKey
from provenance_ledger.errors import VerificationError

CASES = json.loads(
    (Path(__file__).parents[1] / "data" / "ed25519-speccheck" / "cases.json").read_text())
PINNED = [True, True, True, True, False, False, False, False, False, False, False, True]
"""The rule's verdict on speccheck cases 0..11 (OpenSSL's, BoringSSL's and PyCA's row)."""

P = ed25519.P
D = -121665 * pow(121666, P - 2, P) % P
ONE = (1).to_bytes(32, "little")
ZERO_S = bytes(32)


def case(i: int) -> tuple[bytes, bytes, bytes]:
    c = CASES[i]
    return bytes.fromhex(c["pub_key"]), bytes.fromhex(c["signature"]), bytes.fromhex(c["message"])


def enc(y: int, sign: int = 0) -> bytes:
    return (y | sign << 255).to_bytes(32, "little")


def hand_made() -> list[tuple[str, bytes, bytes, bytes, bool]]:
    """(what, A, R||S, M, verdict): with A the identity, [S]B - [k]A is [S]B, so S = 0 makes
    the identity's canonical encoding (y = 1) the only valid R."""
    key = PrivateKey.from_seed(bytes(range(32)))
    good = key.sign(b"message")
    s_plus_l = (int.from_bytes(good[32:], "little") + ed25519.L).to_bytes(32, "little")
    return [
        ("a real signature", key.public.raw, good, b"message", True),
        ("another message", key.public.raw, good, b"messagf", False),
        ("S + L", key.public.raw, good[:32] + s_plus_l, b"message", False),
        ("identity A", ONE, ONE + ZERO_S, b"m", True),
        ("identity A with the sign bit set", enc(1, 1), ONE + ZERO_S, b"m", True),
        ("identity A non-canonical (p + 1)", enc(P + 1), ONE + ZERO_S, b"m", True),
        ("identity R with the sign bit set", ONE, enc(1, 1) + ZERO_S, b"m", False),
        ("identity R non-canonical (p + 1)", ONE, enc(P + 1) + ZERO_S, b"m", False),
        ("A not on the curve (y = 2)", enc(2), ONE + ZERO_S, b"m", False),
        ("short signature", key.public.raw, good[:63], b"message", False),
    ]


@pytest.mark.parametrize("i", range(len(PINNED)))
def test_speccheck_case_gets_the_pinned_verdict(i: int) -> None:
    public, signature, message = case(i)
    assert ed25519.verify(public, signature, message) is PINNED[i]
    assert ed25519.verify_openssl(public, signature, message) is PINNED[i]
    if PINNED[i]:
        PublicKey(public).verify(signature, message)
    else:
        with pytest.raises(VerificationError):
            PublicKey(public).verify(signature, message)


def test_libsodium_decides_only_where_it_agrees_with_the_rule() -> None:
    """Where libsodium would be stricter (speccheck 0, 1, 2: small-order A or R; 11:
    non-canonical A), the input is
    recognised and decided by the rule; everywhere else libsodium's verdict is the rule's."""
    assert ed25519.backend() == "libsodium"
    overruled = []
    for i, pinned in enumerate(PINNED):
        public, signature, message = case(i)
        if ed25519.libsodium_differs(public, signature):
            if ed25519.verify_libsodium(public, signature, message) is not pinned:
                overruled.append(i)
        else:
            assert ed25519.verify_libsodium(public, signature, message) is pinned, i
    assert overruled == [0, 1, 2, 11]
    for what, public, signature, message, verdict in hand_made():
        if not ed25519.libsodium_differs(public, signature):
            assert ed25519.verify_libsodium(public, signature, message) is verdict, what


@pytest.mark.parametrize("what, public, signature, message, verdict", hand_made(),
                         ids=[h[0] for h in hand_made()])
def test_hand_made_edge_case(what: str, public: bytes, signature: bytes, message: bytes,
                             verdict: bool) -> None:
    assert ed25519.verify(public, signature, message) is verdict
    assert ed25519.verify_openssl(public, signature, message) is verdict


def _x(y: int, sign: int) -> int | None:
    """RFC 8032 section 5.1.3 x recovery (None: not on the curve)."""
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P != u:
        x = x * pow(2, (P - 1) // 4, P) % P
    if v * x * x % P != u:
        return None
    return P - x if x and (x & 1) != sign else x


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P,
            (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P)


def test_small_order_list_is_the_eight_small_order_points() -> None:
    """Every y listed decodes (either sign) to a point whose 8-multiple is the identity, and
    the list names all 8 such points; the only y >= p with a point are p and p + 1."""
    points = set()
    for y in ed25519.SMALL_ORDER_Y:
        for sign in (0, 1):
            x = _x(y % P, sign)
            assert x is not None
            p = (x, y % P)
            for _ in range(3):
                p = _add(p, p)
            assert p == (0, 1), y
            points.add((x, y % P))
    assert len(points) == 8
    assert sorted(y for y in ed25519.SMALL_ORDER_Y if y >= P) == sorted(
        y for y in range(P, 2**255) if _x(y % P, 0) is not None and y % P in {0, 1}) == [P, P + 1]


# RFC 8032 section 7.1, TEST 2 and TEST 3: secret key, public key, message, signature.
RFC8032 = [
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
def test_signing_gives_the_rfc8032_signature(seed: str, public: str, message: str,
                                             signature: str) -> None:
    """The project signs with libsodium; its signatures are RFC 8032's, byte for byte."""
    key = PrivateKey.from_seed(bytes.fromhex(seed))
    assert key.public.raw.hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature


@settings(max_examples=200)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=2000))
def test_signing_is_openssls_signature(seed: bytes, message: bytes) -> None:
    """Ed25519 is deterministic: libsodium's signature equals OpenSSL's for every key and
    message, and verifies under the pinned rule."""
    key = PrivateKey.from_seed(seed)
    signature = key.sign(message)
    assert signature == key.inner.sign(message)
    assert ed25519.verify(key.public.raw, signature, message)
