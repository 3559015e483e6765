"""Dataset disclosure: the commitment to a set of items and its proofs (specs/datasets.md).

A developer commits to a training set with a sparse Merkle tree of depth 256: each item sits at
the leaf its key ``SHA-256(KEY_DOMAIN || item)`` names, under a salted leaf hash, so that a
proof for one item shows it is in the set, or that its leaf is empty, and says nothing about
the other items beyond the shape of the tree along that one path (section 3). Empty subtrees
have no hash; a node with one non-empty child hashes that child with its side, so the tree of
``n`` items costs ``n`` leaf chains of at most 256 hashes and the proof carries only the
non-empty siblings, named by a bitmap (section 4).

This module is pure: items come in as canonical strings, salts as bytes; reading manifests,
deriving the secret with the signing key and writing files are the callers' business.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedError, VerificationError, quoted
from .encoding import b64decode, b64encode, canonical_json

DEPTH = 256
HASH_SIZE = 32
BITMAP_BYTES = DEPTH // 8

KEY_DOMAIN = b"provenance-ledger/dataset/key/v1\n"
SALT_DOMAIN = b"provenance-ledger/dataset/salt/v1\n"
SECRET_DOMAIN = b"provenance-ledger/dataset/secret/v1\n"
SERIES_DOMAIN = b"provenance-ledger/dataset/series/v1\n"
LEAF_PREFIX = b"\x10"
"""Node hash prefixes (section 2); distinct from RFC 9162's 0x00 and 0x01 of the log's tree."""
BOTH_PREFIX = b"\x11"
LEFT_PREFIX = b"\x12"
RIGHT_PREFIX = b"\x13"
EMPTY_ROOT = hashlib.sha256(b"\x14").digest()
"""The root of the empty set."""

MAX_ITEM_CHARS = 256
UPPER_DEPTH = 16
"""The level whose nodes ``disclose`` keeps, so that a proof later hashes only the items
below one of its ``2**16`` nodes (informative; specs/datasets.md section 3.1)."""
PROOF_FORMAT = "provenance-ledger/dataset-proof/v1"
IN, NOT_IN = "in", "not-in"

_CONTENT_ID = re.compile(r"sha256:[0-9a-f]{64}")
_ISCC = re.compile(r"ISCC:[A-Z2-7]{10,128}")
_ANY_CONTENT_ID = re.compile(r"sha256:([0-9a-fA-F]{64})", re.IGNORECASE)
_ANY_ISCC = re.compile(r"iscc:([a-z2-7]{10,128})", re.IGNORECASE)


def canonical_item(text: str) -> str | None:
    """The canonical form of an item id (section 1): ``sha256:<64 lowercase hex>`` or
    ``ISCC:<upper-case base32>``, each prefix in any case; None when ``text`` is neither."""
    m = _ANY_CONTENT_ID.fullmatch(text)
    if m is not None:
        return "sha256:" + m.group(1).lower()
    m = _ANY_ISCC.fullmatch(text)
    if m is not None:
        return "ISCC:" + m.group(1).upper()
    return None


def check_item(item: str) -> bytes:
    """The UTF-8 bytes of a canonical item, or :class:`MalformedError`."""
    if not isinstance(item, str) or not (_CONTENT_ID.fullmatch(item) or _ISCC.fullmatch(item)):
        raise MalformedError(f"item {quoted(item)} is not a sha256: content id or an "
                             "ISCC code in canonical form")
    return item.encode("ascii")


# -- hashing (section 2) --------------------------------------------------------------------


def item_key(item: bytes) -> bytes:
    """Where the item sits: ``SHA-256(KEY_DOMAIN || item)``, read as 256 bits, first bit
    first."""
    return hashlib.sha256(KEY_DOMAIN + item).digest()


def item_salt(secret: bytes, item: bytes) -> bytes:
    """``HMAC-SHA-256(secret, SALT_DOMAIN || item)``: revealed only in the item's own
    membership proof."""
    return hmac.digest(secret, SALT_DOMAIN + item, "sha256")


def leaf_hash(salt: bytes, item: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + salt + item).digest()


def node_hash(left: bytes | None, right: bytes | None) -> bytes | None:
    """A node of two subtrees, either of which may be empty (None)."""
    if left is None:
        return None if right is None else hashlib.sha256(RIGHT_PREFIX + right).digest()
    if right is None:
        return hashlib.sha256(LEFT_PREFIX + left).digest()
    return hashlib.sha256(BOTH_PREFIX + left + right).digest()


def secret_message(name: str, version: str) -> bytes:
    """What the developer's key signs to derive the dataset secret (section 1.3); the signature
    is never published."""
    return SECRET_DOMAIN + canonical_json({"name": name, "version": version})


def secret_from_signature(signature: bytes) -> bytes:
    """The dataset secret: ``SHA-256(SECRET_DOMAIN || signature)``."""
    return hashlib.sha256(SECRET_DOMAIN + signature).digest()


def series_id(actor: str, name: str) -> str:
    """The ``work`` of every ``dataset.disclose`` of ``name`` by ``actor`` (section 5)."""
    digest = hashlib.sha256(SERIES_DOMAIN + canonical_json({"key": actor, "name": name}))
    return "sha256:" + digest.hexdigest()


def _bit(key: bytes, depth: int) -> int:
    return (key[depth >> 3] >> (7 - (depth & 7))) & 1


# -- the tree (section 3) --------------------------------------------------------------------


def entries(secret: bytes, items: Iterable[str]) -> list[bytes]:
    """Each distinct item as ``key || leaf`` (64 bytes), sorted by key: the tree's input. A
    list of 64-byte strings is the smallest form Python sorts fast (about 105 bytes an
    item); an item listed twice gives two equal entries, side by side once sorted, and is
    kept once (a dict would double the memory)."""
    sha, digest = hashlib.sha256, hmac.digest
    out = []
    for item in items:
        raw = check_item(item)
        key = sha(KEY_DOMAIN + raw).digest()
        out.append(key + sha(LEAF_PREFIX + digest(secret, SALT_DOMAIN + raw, "sha256")
                             + raw).digest())
    out.sort()
    if any(out[i] == out[i - 1] for i in range(1, len(out))):
        out = [e for i, e in enumerate(out) if i == 0 or e != out[i - 1]]
    return out


def bucket_entries(secret: bytes, items: Iterable[str], key: bytes,
                   depth: int = UPPER_DEPTH) -> tuple[list[bytes], int]:
    """The :func:`entries` of the items whose key shares its first ``depth`` bits with
    ``key``, and the number of distinct items in all: what a path needs when the nodes at
    ``depth`` are known (:meth:`Tree.path` with ``upper``). Only those items are salted."""
    sha, digest = hashlib.sha256, hmac.digest
    shift = DEPTH - depth
    bucket = int.from_bytes(key, "big") >> shift
    keys, out = [], []
    for item in items:
        raw = check_item(item)
        k = sha(KEY_DOMAIN + raw).digest()
        keys.append(k)
        if int.from_bytes(k, "big") >> shift == bucket:
            out.append(k + sha(LEAF_PREFIX + digest(secret, SALT_DOMAIN + raw, "sha256")
                               + raw).digest())
    keys.sort()
    distinct = sum(1 for i, k in enumerate(keys) if i == 0 or k != keys[i - 1])
    out = sorted(set(out))
    return out, distinct


def _chain(entry: bytes, top: int) -> bytes:
    """The hash of the subtree at depth ``top`` that holds only ``entry``'s leaf: the leaf
    hashed with its side at each level from 255 up to ``top``."""
    bits = int.from_bytes(entry[:HASH_SIZE], "big")  # its last bit is the side at 255
    value = entry[HASH_SIZE:]
    sha, sides = hashlib.sha256, (LEFT_PREFIX, RIGHT_PREFIX)
    for _ in range(DEPTH - top):
        value = sha(sides[bits & 1] + value).digest()
        bits >>= 1
    return value


class Tree:
    """The tree over sorted ``key || leaf`` entries (:func:`entries`); nodes are computed when
    asked, so memory is the entries alone."""

    def __init__(self, sorted_entries: Sequence[bytes]) -> None:
        self.entries = sorted_entries

    def _split(self, depth: int, lo: int, hi: int) -> int:
        """First index in [lo, hi) whose key has bit ``depth`` set (keys there share the
        first ``depth`` bits, so the bit is sorted)."""
        return bisect_left(self.entries, 1, lo, hi, key=lambda e: _bit(e, depth))

    def subtree(self, depth: int, lo: int, hi: int) -> bytes | None:
        """The hash of the subtree at ``depth`` holding entries [lo, hi) (None: empty)."""
        if hi == lo:
            return None
        if hi - lo == 1:
            return _chain(self.entries[lo], depth)
        if depth == DEPTH:  # pragma: no cover - distinct keys never meet at a leaf
            raise ValueError("two entries have the same key")
        mid = self._split(depth, lo, hi)
        return node_hash(self.subtree(depth + 1, lo, mid), self.subtree(depth + 1, mid, hi))

    def root(self) -> bytes:
        top = self.subtree(0, 0, len(self.entries))
        return EMPTY_ROOT if top is None else top

    def level(self, depth: int = UPPER_DEPTH,
              progress: Callable[[int, int], None] | None = None) -> list[bytes | None]:
        """The ``2**depth`` nodes at ``depth``, left to right: the whole tree's work, kept so
        that later paths need only the part of the tree below one of them. ``progress`` is
        told ``(entries hashed, entries)`` about every 1/200 of the work and at its end (the
        CLI draws a bar, specs/cli.md section 1.4)."""
        out: list[bytes | None] = [None] * (1 << depth)
        total = len(self.entries)
        step, told = max(1, total // 200), 0

        def fill(d: int, lo: int, hi: int, prefix: int) -> None:
            nonlocal told
            if lo == hi:
                return
            if d == depth:
                out[prefix] = self.subtree(d, lo, hi)
                if progress is not None and (hi - told >= step or hi == total):
                    told = hi
                    progress(hi, total)
                return
            mid = self._split(d, lo, hi)
            fill(d + 1, lo, mid, prefix << 1)
            fill(d + 1, mid, hi, (prefix << 1) | 1)

        fill(0, 0, len(self.entries), 0)
        return out

    def path(self, key: bytes, upper: Sequence[bytes | None] | None = None
             ) -> tuple[bytes, tuple[bytes, ...]]:
        """The bitmap and the non-empty siblings (top first) on the path to ``key``.
        ``upper``: this tree's :meth:`level` nodes, if known; siblings above that level are
        then hashed from them instead of from the entries."""
        levels = _levels(upper) if upper is not None else []
        bitmap = bytearray(BITMAP_BYTES)
        siblings = []
        lo, hi = 0, len(self.entries)
        for depth in range(DEPTH):
            known = depth + 1 < len(levels)
            if lo == hi and not known:
                break  # below an empty node every sibling is empty
            mid = self._split(depth, lo, hi)
            if known:
                prefix = int.from_bytes(key, "big") >> (DEPTH - depth - 1)
                sibling = levels[depth + 1][prefix ^ 1]
            if _bit(key, depth):
                if not known:
                    sibling = self.subtree(depth + 1, lo, mid)
                lo = mid
            else:
                if not known:
                    sibling = self.subtree(depth + 1, mid, hi)
                hi = mid
            if sibling is not None:
                bitmap[depth >> 3] |= 0x80 >> (depth & 7)
                siblings.append(sibling)
        return bytes(bitmap), tuple(siblings)

    def contains(self, key: bytes) -> bytes | None:
        """The entry whose key is ``key``, or None."""
        i = bisect_left(self.entries, key)
        if i < len(self.entries) and self.entries[i][:HASH_SIZE] == key:
            return self.entries[i]
        return None


def _levels(upper: Sequence[bytes | None]) -> list[Sequence[bytes | None]]:
    """Every level from the root down to ``upper`` (a power of two of nodes), by index of
    depth."""
    levels = [upper]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below), 2)])
    return levels[::-1]


def root_of_level(upper: Sequence[bytes | None]) -> bytes:
    top = _levels(upper)[0][0]
    return EMPTY_ROOT if top is None else top


def level_to_bytes(upper: Sequence[bytes | None]) -> bytes:
    """A level's nodes as ``0x00`` (empty) or ``0x01 || hash``, 33 bytes each."""
    return b"".join(b"\x00" + bytes(HASH_SIZE) if n is None else b"\x01" + n for n in upper)


def level_from_bytes(data: bytes, depth: int = UPPER_DEPTH) -> list[bytes | None]:
    size = HASH_SIZE + 1
    if len(data) != size << depth:
        raise MalformedError(f"a level of depth {depth} is {size << depth} bytes")
    out: list[bytes | None] = []
    for i in range(0, len(data), size):
        flag = data[i]
        if flag not in (0, 1):
            raise MalformedError("a level node's flag is 0 or 1")
        out.append(data[i + 1 : i + size] if flag else None)
    return out


# -- proofs (section 4) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Path:
    """An item's answer and the siblings that lead from its leaf to the root."""

    item: str
    answer: str  # IN or NOT_IN
    salt: bytes | None
    bitmap: bytes
    siblings: tuple[bytes, ...]

    def __post_init__(self) -> None:
        check_item(self.item)
        if self.answer not in (IN, NOT_IN):
            raise MalformedError(f"answer must be {IN!r} or {NOT_IN!r}")
        if (self.salt is None) != (self.answer == NOT_IN):
            raise MalformedError("a salt is given with an 'in' answer, and only then")
        if self.salt is not None and len(self.salt) != HASH_SIZE:
            raise MalformedError(f"salt must be {HASH_SIZE} bytes")
        if len(self.bitmap) != BITMAP_BYTES:
            raise MalformedError(f"bitmap must be {BITMAP_BYTES} bytes")
        count = sum(bin(b).count("1") for b in self.bitmap)
        if count != len(self.siblings):
            raise MalformedError(f"bitmap names {count} siblings but the proof has "
                                 f"{len(self.siblings)}")
        if any(len(s) != HASH_SIZE for s in self.siblings):
            raise MalformedError(f"every sibling must be {HASH_SIZE} bytes")

    def root(self) -> bytes:
        """The root this path leads to: (1) the leaf (empty for 'not-in'); (2) from depth 255
        up to 0, the node of it and its sibling (empty where the bitmap bit is 0)."""
        raw = check_item(self.item)
        key = item_key(raw)
        value = None if self.salt is None else leaf_hash(self.salt, raw)
        at = len(self.siblings)
        for depth in range(DEPTH - 1, -1, -1):
            sibling = None
            if (self.bitmap[depth >> 3] >> (7 - (depth & 7))) & 1:
                at -= 1
                sibling = self.siblings[at]
            value = node_hash(sibling, value) if _bit(key, depth) else node_hash(value, sibling)
        return EMPTY_ROOT if value is None else value

    def verify(self, root: bytes) -> None:
        """Raise :class:`VerificationError` unless this path leads to ``root``."""
        if self.root() != root:
            raise VerificationError(
                f"the proof for {self.item} does not lead to the disclosed root")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item": self.item, "answer": self.answer}
        if self.salt is not None:
            out["salt"] = b64encode(self.salt)
        out["bitmap"] = b64encode(self.bitmap)
        out["siblings"] = [b64encode(s) for s in self.siblings]
        return out

    @classmethod
    def from_json(cls, data: Any) -> Path:
        if not isinstance(data, dict):
            raise MalformedError("proof must be a JSON object")
        allowed = {"item", "answer", "salt", "bitmap", "siblings"}
        unknown = data.keys() - allowed
        if unknown:
            raise MalformedError(f"proof has unknown field {quoted(sorted(unknown)[0])}")
        for name in ("item", "answer", "bitmap"):
            if not isinstance(data.get(name), str):
                raise MalformedError(f"proof field {name!r} is missing or not a string")
        siblings = data.get("siblings")
        if (not isinstance(siblings, list) or len(siblings) > DEPTH
                or not all(isinstance(s, str) for s in siblings)):
            raise MalformedError(f"proof siblings must be a list of at most {DEPTH} base64 "
                                 "hashes")
        salt = data.get("salt")
        if salt is not None and not isinstance(salt, str):
            raise MalformedError("proof salt must be a base64 string")
        return cls(
            data["item"], data["answer"],
            None if salt is None else b64decode(salt, "proof salt", HASH_SIZE),
            b64decode(data["bitmap"], "proof bitmap", BITMAP_BYTES),
            tuple(b64decode(s, "proof sibling", HASH_SIZE) for s in siblings),
        )


def prove(tree: Tree, secret: bytes, item: str,
          upper: Sequence[bytes | None] | None = None) -> Path:
    """The path for ``item`` in ``tree`` (built with ``secret``): 'in' with its salt when the
    item is in the set, else 'not-in'. ``upper``: the tree's :meth:`Tree.level` nodes."""
    raw = check_item(item)
    key = item_key(raw)
    bitmap, siblings = tree.path(key, upper)
    if tree.contains(key) is not None:
        return Path(item, IN, item_salt(secret, raw), bitmap, siblings)
    return Path(item, NOT_IN, None, bitmap, siblings)
