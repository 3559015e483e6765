"""Write tests/data/map/vectors.json: known answers for the verifiable map (specs/map.md).

Run from the repository root: ``python tests/data/map/make_vectors.py``. The roots and proofs
here are computed straight from the definitions of specs/map.md (sections 2-4), by recursion
over sets of entries, without the position arithmetic, node sources or batching of
``core/vmap.py``, so the tests that compare the two check one against the other. Only the
standard library is used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

EMPTY = bytes(32)
OUT = Path(__file__).resolve().parent / "vectors.json"


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def bit(key: bytes, i: int) -> int:
    """Bit ``i`` of a key, most significant bit of the first byte first (section 2)."""
    return (key[i // 8] >> (7 - i % 8)) & 1


def leaf_hash(key: bytes, value: bytes) -> bytes:
    return sha(b"\x02" + key + value)


def node_hash(depth: int, left: bytes, right: bytes) -> bytes:
    return sha(b"\x03" + bytes([depth]) + left + right)


def subtree(entries: list[tuple[bytes, bytes]], depth: int) -> bytes:
    """The hash of the subtree holding ``entries`` (all sharing ``depth`` leading bits)."""
    if not entries:
        return EMPTY
    if len(entries) == 1:
        return leaf_hash(*entries[0])
    left = [e for e in entries if bit(e[0], depth) == 0]
    right = [e for e in entries if bit(e[0], depth) == 1]
    return node_hash(depth, subtree(left, depth + 1), subtree(right, depth + 1))


def value(head: bytes, count: int, index: int) -> bytes:
    return head + count.to_bytes(8, "big") + index.to_bytes(8, "big")


def proof(entries: list[tuple[bytes, bytes]], keys: list[bytes]) -> bytes:
    """The map proof of section 4 for ``keys`` in the map of ``entries``."""
    keys = sorted(keys)
    results: list[bytes] = []
    bits: list[int] = []
    hashes: list[bytes] = []

    def walk(depth: int, here: list[tuple[bytes, bytes]], asked: list[bytes]) -> None:
        if len(here) <= 1:
            for k in asked:
                d = depth.to_bytes(2, "big")
                if not here:
                    results.append(b"\x03" + d)
                elif here[0][0] == k:
                    results.append(b"\x01" + d + here[0][1])
                else:
                    results.append(b"\x02" + d + here[0][0] + here[0][1])
            return
        for side in (0, 1):
            sub = [e for e in here if bit(e[0], depth) == side]
            sub_asked = [k for k in asked if bit(k, depth) == side]
            if sub_asked:
                walk(depth + 1, sub, sub_asked)
            else:
                bits.append(1 if sub else 0)
                if sub:
                    hashes.append(subtree(sub, depth + 1))

    walk(0, sorted(entries), keys)
    bitmap = bytearray((len(bits) + 7) // 8)
    for i, b in enumerate(bits):
        bitmap[i // 8] |= b << (7 - i % 8)
    return len(keys).to_bytes(4, "big") + b"".join(results) + bytes(bitmap) + b"".join(hashes)


def case(name: str, about: str, entries: list[tuple[bytes, bytes]],
         queries: list[list[bytes]]) -> dict[str, object]:
    present = dict(entries)
    return {
        "name": name,
        "about": about,
        "entries": [{"key": k.hex(), "value": v.hex(), "leaf_hash": leaf_hash(k, v).hex()}
                    for k, v in sorted(entries)],
        "root": subtree(sorted(entries), 0).hex(),
        "proofs": [{"keys": [k.hex() for k in q],
                    "values": [present[k].hex() if k in present else None for k in q],
                    "proof": proof(entries, q).hex()} for q in queries],
    }


def vectors() -> dict[str, object]:
    """Every case, as written to vectors.json."""
    # The log of specs/checkpoints.md section 7.2: one work, two events in two blocks.
    work = bytes.fromhex("73bae27df5e76be126df8beb65f3a3221f4828be45c881784ccf2e0ae1f415f8")
    reg = bytes.fromhex("a13e62ebc9612da1aac7d0efd538fe9ae1b214d74402d560c79c7194fabad7df")
    grant = bytes.fromhex("bee91faef4d926add013b9b6c617588e124f0b265130374d29914dcd93313e8f")
    other = sha(b"an unregistered work")

    small = [bytes([0x00]) + bytes([0x11]) * 31, bytes([0x01]) + bytes([0x22]) * 31,
             bytes([0x80]) + bytes([0x33]) * 31, bytes([0xFF]) + bytes([0x44]) * 31]
    small_entries = [(k, value(sha(b"head %d" % i), i + 1, 10 * i + i))
                     for i, k in enumerate(small)]
    absent = [bytes([0x02]) + bytes(31), bytes([0x40]) + bytes(31), bytes([0x81]) + bytes(31)]

    rand_keys = [sha(b"key %d" % i) for i in range(64)]
    rand_entries = [(k, value(sha(b"event %d" % i), 1 + i % 5, 100 + i)) for i, k in
                    enumerate(rand_keys)]
    rand_absent = [sha(b"absent %d" % i) for i in range(4)]

    cases = [
        case("empty", "the empty map: root is 32 zero bytes; every key is absent at depth 0",
             [], [[work]]),
        case("log-size-1", "specs/map.md section 9.1: the map of the log of specs/checkpoints.md "
             "section 7.2 at size 1 (the registration)",
             [(work, value(reg, 1, 0))], [[work], [other]]),
        case("log-size-2", "specs/map.md section 9.1: the same log at size 2 (after the grant)",
             [(work, value(grant, 2, 1))], [[work], [other], [work, other]]),
        case("small", "specs/map.md section 9.2: four keys with a chain of one-child nodes, "
             "absence at an empty position and at another key's leaf",
             small_entries,
             [[small[0]], [small[2]], [absent[0]], [absent[1]], [absent[2]],
              small + absent]),
        case("random-64", "64 keys SHA-256('key <i>'), single and multi proofs",
             rand_entries,
             [[rand_keys[0]], [rand_keys[63]], [rand_absent[0]],
              rand_keys[:8] + rand_absent, rand_keys]),
    ]
    return {"format": "provenance-ledger/map-vectors/v1", "cases": cases}


def text() -> str:
    return json.dumps(vectors(), indent=1) + "\n"


def main() -> None:
    OUT.write_text(text())


if __name__ == "__main__":
    main()
