"""specs/events.md section 3.1 read as an outsider reads it: its four steps written out here in
plain Python (integers mod p, extended coordinates; nothing of the project's code), then
compared with the project's ``verify`` on the ed25519-speccheck cases, whose verdicts the
spec states, and on a grid of the edge cases the rule pins (small-order and non-canonical
keys, either sign bit, S at or above L, equations that hold for some k mod 8 only)."""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

from provenance_ledger.core import ed25519

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "events.md"
CASES = json.loads((ROOT / "tests" / "data" / "ed25519-speccheck" / "cases.json").read_text())

P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int, int, int]


def spec_l() -> int:
    """L as section 3.1 writes it."""
    text = SPEC.read_text(encoding="utf-8")
    m = re.search(r"`L = 2\^252 \+ ([0-9]+)`", text)
    assert m is not None
    return 2**252 + int(m.group(1))


L = spec_l()


def add(a: Point, b: Point) -> Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    cc, dd = t1 * 2 * D * t2 % P, z1 * 2 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return e * f % P, g * h % P, f * g % P, e * h % P


def mul(s: int, a: Point) -> Point:
    out: Point = (0, 1, 1, 0)
    while s:
        if s & 1:
            out = add(out, a)
        a, s = add(a, a), s >> 1
    return out


def neg(a: Point) -> Point:
    return (-a[0] % P, a[1], a[2], -a[3] % P)


def encode(a: Point) -> bytes:
    zi = pow(a[2], P - 2, P)
    x, y = a[0] * zi % P, a[1] * zi % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def decode(raw: bytes) -> Point | None:
    """Step 2: RFC 8032 5.1.3, but y at or above p taken mod p, and x = 0 with the sign bit
    set taken as x = 0; None when there is no square root."""
    v = int.from_bytes(raw, "little")
    sign, y = v >> 255, (v & ((1 << 255) - 1)) % P
    u, w = (y * y - 1) % P, (D * y * y + 1) % P
    x2 = u * pow(w, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if x == 0:
        sign = 0
    if x & 1 != sign:
        x = P - x
    return x, y, 1, x * y % P


BASE = decode((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))


def valid(public: bytes, signature: bytes, message: bytes) -> bool:
    """Section 3.1, steps 1 to 4."""
    assert BASE is not None
    if len(public) != 32 or len(signature) != 64:
        return False
    r, s = signature[:32], int.from_bytes(signature[32:], "little")
    if s >= L:  # 1
        return False
    a = decode(public)  # 2
    if a is None:
        return False
    k = int.from_bytes(hashlib.sha512(r + public + message).digest(), "little") % L  # 3
    return encode(add(mul(s, BASE), neg(mul(k, a)))) == r  # 4, cofactorless


def test_the_speccheck_verdicts_the_spec_states() -> None:
    verdicts = [valid(bytes.fromhex(c["pub_key"]), bytes.fromhex(c["signature"]),
                      bytes.fromhex(c["message"])) for c in CASES]
    words = ["valid" if v else "invalid" for v in verdicts]
    assert words[:4] == ["valid"] * 4 and words[4:11] == ["invalid"] * 7 and words[11] == "valid"
    text = " ".join(SPEC.read_text(encoding="utf-8").split())
    assert ("it gives, for cases 0 to 11: valid, valid, valid, valid, then invalid for 4 to "
            "10, and valid for 11") in text
    for c, verdict in zip(CASES, verdicts, strict=True):
        args = (bytes.fromhex(c["pub_key"]), bytes.fromhex(c["signature"]),
                bytes.fromhex(c["message"]))
        assert ed25519.verify(*args) is verdict


def test_the_edge_cases_the_rule_pins() -> None:
    """Every encoding of a small-order point (either sign bit, canonical or y >= p) and every
    y >= p as A, with S below and at or above L and R = [S]B - [j]A for a random j in 0..7,
    so that the equation holds for about one k in eight: the project decides as the rule."""
    assert BASE is not None
    rnd = random.Random(31)
    small = [0, 1, P - 1,
             2707385501144840649318225287225658788936804267575313519463743609750303402022,
             55188659117513257062467267217118295137698188065244968500265048394206261417927]
    ys = small + [P + k for k in range(19)]
    held = 0
    for y in ys:
        for sign in (0, 1):
            public = (y | sign << 255).to_bytes(32, "little")
            a = decode(public)
            for trial in range(8):
                s = rnd.randrange(L) if trial % 4 else rnd.randrange(L, 1 << 256)
                message = rnd.randbytes(rnd.randrange(40))
                r = (encode(add(mul(s, BASE), neg(mul(rnd.randrange(8), a))))
                     if a is not None else rnd.randbytes(32))
                signature = r + s.to_bytes(32, "little")
                verdict = valid(public, signature, message)
                held += verdict
                assert ed25519.verify(public, signature, message) is verdict, (y, sign, trial)
    assert held > 10  # the grid reaches signatures the rule accepts
