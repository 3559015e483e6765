"""Write tests/data/datasets/vectors.json: known answers for dataset disclosure
(specs/datasets.md).

Run from the repository root: ``python tests/data/datasets/make_vectors.py``. Everything is
computed straight from the definitions of specs/datasets.md (sections 1-4): the tree by
recursion over sets of items down to depth 256, the paths by walking it, with nothing of
``src/``. Only the standard library is used, and ``cryptography`` for the one Ed25519
signature of the secret derivation (section 1.3).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

OUT = Path(__file__).resolve().parent / "vectors.json"
DEPTH = 256


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def jcs(obj: dict[str, str]) -> bytes:
    """JCS of a flat object of ASCII strings: sorted keys, no white space."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("ascii")


def key_of(item: str) -> bytes:
    return sha(b"provenance-ledger/dataset/key/v1\n" + item.encode("ascii"))


def salt_of(secret: bytes, item: str) -> bytes:
    return hmac.new(secret, b"provenance-ledger/dataset/salt/v1\n" + item.encode("ascii"),
                    "sha256").digest()


def leaf_of(secret: bytes, item: str) -> bytes:
    return sha(b"\x10" + salt_of(secret, item) + item.encode("ascii"))


def bit(key: bytes, d: int) -> int:
    return (key[d >> 3] >> (7 - (d & 7))) & 1


def node(left: bytes | None, right: bytes | None) -> bytes | None:
    if left is None and right is None:
        return None
    if right is None:
        return sha(b"\x12" + left)  # type: ignore[operator]
    if left is None:
        return sha(b"\x13" + right)
    return sha(b"\x11" + left + right)


def subtree(depth: int, leaves: dict[bytes, bytes]) -> bytes | None:
    """Section 3.1, by recursion over the set of (key -> leaf) below a node."""
    if not leaves:
        return None
    if depth == DEPTH:
        (leaf,) = leaves.values()
        return leaf
    left = {k: v for k, v in leaves.items() if not bit(k, depth)}
    right = {k: v for k, v in leaves.items() if bit(k, depth)}
    return node(subtree(depth + 1, left), subtree(depth + 1, right))


def root_of(leaves: dict[bytes, bytes]) -> bytes:
    top = subtree(0, leaves)
    return sha(b"\x14") if top is None else top


def path(secret: bytes, leaves: dict[bytes, bytes], item: str) -> dict[str, Any]:
    """Section 3.2: the siblings along the item's key, top first, and the bitmap."""
    key = key_of(item)
    bitmap = bytearray(32)
    siblings = []
    below = leaves
    for d in range(DEPTH):
        side = bit(key, d)
        sibling = subtree(d + 1, {k: v for k, v in below.items() if bit(k, d) != side})
        below = {k: v for k, v in below.items() if bit(k, d) == side}
        if sibling is not None:
            bitmap[d >> 3] |= 0x80 >> (d & 7)
            siblings.append(b64(sibling))
    member = key in leaves
    out: dict[str, Any] = {"item": item, "answer": "in" if member else "not-in"}
    if member:
        out["salt"] = b64(salt_of(secret, item))
    out["bitmap"] = b64(bytes(bitmap))
    out["siblings"] = siblings
    return out


def tampered(proof: dict[str, Any], secret: bytes) -> list[dict[str, Any]]:
    """Proofs that MUST NOT lead to the root: each changes one thing."""
    bad = []
    if proof["siblings"]:
        flipped = bytearray(base64.b64decode(proof["siblings"][0]))
        flipped[0] ^= 1
        bad.append({**proof, "siblings": [b64(bytes(flipped)), *proof["siblings"][1:]],
                    "why": "first sibling, one bit flipped"})
    if proof["answer"] == "in":
        bad.append({**proof, "salt": b64(sha(b"another salt")), "why": "wrong salt"})
        no_salt = {k: v for k, v in proof.items() if k != "salt"}
        bad.append({**no_salt, "answer": "not-in", "why": "a member's path claimed empty"})
    else:
        bad.append({**proof, "answer": "in", "salt": b64(salt_of(secret, proof["item"])),
                    "why": "an absent item's path claimed with its salt"})
    return bad


def case(name: str, secret: bytes, items: list[str], asked: list[str]) -> dict[str, Any]:
    leaves = {key_of(i): leaf_of(secret, i) for i in items}
    root = root_of(leaves)
    proofs = [path(secret, leaves, i) for i in asked]
    return {
        "name": name,
        "secret": secret.hex(),
        "items": items,
        "count": len(leaves),
        "entries": [{"item": i, "key": key_of(i).hex(), "salt": salt_of(secret, i).hex(),
                     "leaf": leaf_of(secret, i).hex()} for i in items[:8]],
        "root": root.hex(),
        "proofs": proofs,
        "tampered": [t for p in proofs for t in tampered(p, secret)],
    }


def secret_case() -> dict[str, Any]:
    seed = sha(b"dataset vectors developer")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    actor = "ed25519:" + key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    name, version = "Harbour corpus", "2026-01"
    message = b"provenance-ledger/dataset/secret/v1\n" + jcs({"name": name, "version": version})
    secret = sha(b"provenance-ledger/dataset/secret/v1\n" + key.sign(message))
    series = sha(b"provenance-ledger/dataset/series/v1\n" + jcs({"key": actor, "name": name}))
    return {"seed": seed.hex(), "actor": actor, "name": name, "version": version,
            "message": message.hex(), "secret": secret.hex(), "series": "sha256:" + series.hex()}


def main() -> None:
    s = secret_case()
    secret = bytes.fromhex(s["secret"])
    ids = ["sha256:" + sha(f"item {i}".encode()).hex() for i in range(100)]
    isccs = ["ISCC:KACYPXW445FTYNJ3", "ISCC:EAASKDNZNYGUUF5A", "ISCC:GAAQQICFKJYKY4KU"]
    outside = ["sha256:" + sha(b"not in any set").hex(), "ISCC:KACT4EBWK27737D2"]
    cases = [
        case("empty", secret, [], outside[:1]),
        case("one", secret, ids[:1], [ids[0], outside[0]]),
        case("small", secret, ids[:3] + isccs, [ids[1], isccs[0], *outside]),
        case("random-100", secret, ids, [ids[7], ids[42], ids[99], *outside]),
    ]
    doc = {"spec": "specs/datasets.md", "empty_root": sha(b"\x14").hex(), "secret": s,
           "cases": cases}
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
