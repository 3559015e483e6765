"""The verifiable map: work id -> commitment to the work's latest state (specs/map.md).

A binary prefix tree over 256-bit keys in which a subtree holding one entry collapses to that
entry's leaf (section 2): the shape depends only on the set of keys, never on the order they
were inserted. Proofs of membership and of absence, for one key or many against one root, share
one byte format (section 4); verification is :func:`verify_map_proof` (section 5).

Nothing here does I/O. Nodes are read through :class:`NodeSource` (a batched read, so a store
answers a whole proof in a few queries) and an update returns the nodes to write
(:class:`MapUpdate`), which the store commits in the block's transaction (section 10).
:class:`MemoryMap` is the in-memory source the tests and the benchmark use.

Positions (section 2.1) are integers: the node at depth ``d`` whose keys start with the ``d``-bit
prefix ``p`` is ``(1 << d) | p``; the root is 1, the children of ``x`` are ``2x`` and ``2x + 1``.
A stored node is 32 bytes (an inner node's hash) or 80 bytes (a leaf: key || value).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import MalformedError, VerificationError

KEY_SIZE = 32
"""Bytes of a map key: the SHA-256 of a work id (specs/map.md section 1.1)."""
VALUE_SIZE = 48
"""Bytes of a map value (section 1.2)."""
HASH_SIZE = 32
LEAF_SIZE = KEY_SIZE + VALUE_SIZE
KEY_BITS = 256

MAP_LEAF_PREFIX = b"\x02"
"""Domain byte of a map leaf hash (section 3); RFC 9162 uses 0x00 and 0x01."""
MAP_NODE_PREFIX = b"\x03"
"""Domain byte of a map inner node hash (section 3)."""
EMPTY_HASH = bytes(HASH_SIZE)
"""Hash of an empty subtree, and so the root of the empty map (section 3)."""

KIND_PRESENT = 1
KIND_OTHER_LEAF = 2
KIND_EMPTY = 3

MAX_PROOF_KEYS = 100_000
"""Most keys one map proof may answer (section 6)."""
MAX_PROOF_BYTES = 1 << 24
"""Largest map proof accepted, in bytes (section 6)."""
MAX_COUNT = 2**63 - 1

_WORK_PREFIX = "sha256:"
_HEX = frozenset("0123456789abcdef")


def map_key(work: str) -> bytes:
    """The map key of a work id ``sha256:<64 lowercase hex>``: the 32 bytes it names
    (section 1.1)."""
    hexpart = work[len(_WORK_PREFIX):]
    if not work.startswith(_WORK_PREFIX) or len(hexpart) != 64 or not set(hexpart) <= _HEX:
        raise MalformedError(f"work id {work[:80]!r} is not sha256:<64 lowercase hex>")
    return bytes.fromhex(hexpart)


@dataclass(frozen=True, slots=True)
class MapValue:
    """What the map holds for a work (section 1.2): the id of its latest event, the number of
    its events and the leaf index of the latest one."""

    head: bytes
    count: int
    index: int

    def __post_init__(self) -> None:
        if len(self.head) != HASH_SIZE:
            raise ValueError("head must be a 32-byte event id")
        if not 0 <= self.index < MAX_COUNT or not 1 <= self.count <= self.index + 1:
            raise ValueError(f"map value count {self.count} at index {self.index} is impossible")

    def to_bytes(self) -> bytes:
        return self.head + self.count.to_bytes(8, "big") + self.index.to_bytes(8, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> MapValue:
        if len(data) != VALUE_SIZE:
            raise MalformedError(f"map value is {len(data)} bytes, expected {VALUE_SIZE}")
        count = int.from_bytes(data[32:40], "big")
        index = int.from_bytes(data[40:48], "big")
        try:
            return cls(bytes(data[:32]), count, index)
        except ValueError as e:
            raise MalformedError(str(e)) from e


def leaf_hash(key: bytes, value: bytes) -> bytes:
    """SHA-256(0x02 || key || value), section 3."""
    return hashlib.sha256(MAP_LEAF_PREFIX + key + value).digest()


def node_hash(depth: int, left: bytes, right: bytes) -> bytes:
    """SHA-256(0x03 || depth || left || right) for the inner node at ``depth`` (0..255),
    section 3."""
    return hashlib.sha256(MAP_NODE_PREFIX + bytes((depth,)) + left + right).digest()


def position(depth: int, key: int) -> int:
    """The position of depth ``depth`` on the path of ``key`` (an int), section 2.1."""
    return (1 << depth) | (key >> (KEY_BITS - depth))


def stored_hash(node: bytes | None) -> bytes:
    """The hash of a stored node: 32 bytes as is, 80 bytes a leaf, none the empty subtree."""
    if node is None:
        return EMPTY_HASH
    if len(node) == HASH_SIZE:
        return node
    return hashlib.sha256(MAP_LEAF_PREFIX + node).digest()


class NodeSource(Protocol):
    """Where the map's nodes are read from: the store's table, or :class:`MemoryMap`.

    ``map_nodes`` returns the stored node (32-byte hash or 80-byte leaf) of each given
    position that holds one; a position it leaves out is empty (section 10)."""

    def map_nodes(self, positions: Iterable[int]) -> Mapping[int, bytes]: ...


class UpperLevels:
    """A :class:`NodeSource` that holds every node above depth ``depth`` in memory (``nodes``,
    complete: a position there that it lacks is empty) and reads the deeper ones from
    ``source``. A writer keeps one across blocks and puts each block's writes into it, so a
    batch reads only the few levels below (section 10)."""

    __slots__ = ("depth", "nodes", "source", "verified")

    def __init__(self, source: NodeSource, depth: int, nodes: dict[int, bytes]) -> None:
        self.source, self.depth, self.nodes = source, depth, nodes
        self.verified = False
        """True once :meth:`verify` has shown the nodes to be the ones under a signed root."""

    def verify(self, rim: Mapping[int, bytes] | None, root: bytes) -> bool:
        """Whether every inner node held is the hash of its children, down to ``rim`` (the
        stored nodes at ``depth``), and the root so computed is ``root``; if so the nodes are
        taken as they are from then on (:class:`MapUpdate` checks only what it reads below
        them). With ``rim`` None, the inner nodes at ``depth - 1`` are taken as held: the
        root pins their hashes, and a batch checks each one it goes below against the nodes
        it reads under it (section 10)."""
        nodes, top = self.nodes, self.depth
        last = top if rim is not None else top - 1

        def hashed(pos: int, depth: int) -> bytes | None:
            node = rim.get(pos) if rim is not None and depth == top else nodes.get(pos)
            if node is None or len(node) != HASH_SIZE:
                return stored_hash(node)
            if depth == last:
                return node
            left, right = hashed(pos << 1, depth + 1), hashed((pos << 1) | 1, depth + 1)
            if left is None or right is None or node_hash(depth, left, right) != node:
                return None
            return node

        self.verified = hashed(1, 0) == root
        return self.verified

    def map_nodes(self, positions: Iterable[int]) -> Mapping[int, bytes]:
        limit, nodes = 1 << self.depth, self.nodes
        out: dict[int, bytes] = {}
        deeper = []
        for p in positions:
            if p >= limit:
                deeper.append(p)
            elif (n := nodes.get(p)) is not None:
                out[p] = n
        if deeper:
            out.update(self.source.map_nodes(deeper))
        return out

    def put(self, writes: Mapping[int, bytes]) -> None:
        """Take in a committed batch's writes (the ones above ``depth``)."""
        limit, nodes = 1 << self.depth, self.nodes
        for p, n in writes.items():
            if p < limit:
                nodes[p] = n


class Nodes(Protocol):
    """Nodes at hand for one batch: ``get(position)`` is the stored node or None."""

    def get(self, pos: int, /) -> bytes | None: ...


class _Layered:
    """Nodes read for one batch, over the upper levels held in memory."""

    __slots__ = ("read", "upper")

    def __init__(self, read: dict[int, bytes], upper: dict[int, bytes]) -> None:
        self.read, self.upper = read, upper

    def get(self, pos: int, /) -> bytes | None:
        n = self.read.get(pos)
        return n if n is not None else self.upper.get(pos)


def _gather(source: NodeSource, keys: Sequence[int], window: int) -> Nodes:
    """Every node on the paths of ``keys`` down to where they end, and the siblings along
    them, read ``window`` levels at a time in one batch per round (below the upper levels
    when the source holds them)."""
    local: dict[int, bytes] = {}
    if isinstance(source, UpperLevels):
        # A path goes below the upper levels where its node just above them is an inner
        # node: nothing is ever deleted, so a position under a leaf or an empty one never
        # holds a node, and every node's ancestors are inner nodes.
        upper, top = source.nodes, source.depth
        flag, shift = 1 << (top - 1), KEY_BITS - top + 1
        active = [(k, top) for k in keys
                  if (node := upper.get(flag | (k >> shift))) is not None
                  and len(node) == HASH_SIZE]
        _read_paths(source.source, active, window, local)
        return _Layered(local, upper)
    _read_paths(source, [(k, 0) for k in keys], window, local)
    return local


def _read_paths(source: NodeSource, active: list[tuple[int, int]], window: int,
                local: dict[int, bytes]) -> None:
    while active:
        want: set[int] = set()
        for k, d in active:
            for dd in range(d, min(d + window, KEY_BITS + 1)):
                p = (1 << dd) | (k >> (KEY_BITS - dd))
                want.add(p)
                if dd:
                    want.add(p ^ 1)  # its sibling
        local.update(source.map_nodes(want))
        following = []
        for k, d in active:
            end = min(d + window, KEY_BITS + 1)
            while d < end:
                node = local.get((1 << d) | (k >> (KEY_BITS - d)))
                if node is None or len(node) != HASH_SIZE:
                    break
                d += 1
            else:
                if d <= KEY_BITS:
                    following.append((k, d))
        active = following


def _key_ints(keys: Iterable[bytes]) -> list[int]:
    ints = []
    for key in keys:
        if len(key) != KEY_SIZE:
            raise ValueError(f"map key is {len(key)} bytes, expected {KEY_SIZE}")
        ints.append(int.from_bytes(key, "big"))
    ints.sort()
    if any(a == b for a, b in zip(ints, ints[1:], strict=False)):
        raise ValueError("a map proof names a key twice")
    return ints


def _split(keys: Sequence[int], pos: int, depth: int, lo: int, hi: int) -> int:
    """Index in ``keys[lo:hi]`` (all under ``pos``) of the first key whose bit ``depth`` is 1."""
    return bisect_left(keys, ((pos << 1) | 1) - (2 << depth) << (KEY_BITS - 1 - depth), lo, hi)


# --- updates ---------------------------------------------------------------------------------


class MapUpdate:
    """One batch of changes applied over a node source (section 7): the new root and the
    nodes to write, without changing the source. Insertion order does not matter: the result
    depends only on the final set of entries."""

    __slots__ = ("root", "old_root", "writes", "_local", "_ints", "_leaves")

    def __init__(self, source: NodeSource, changes: Mapping[bytes, bytes],
                 window: int = 24, check: bool = False) -> None:
        """``check``: also recompute ``old_root``, the root before the batch, from the
        leaves and siblings the batch read, trusting no stored inner hash on the changed
        paths; a caller compares it with the root it signed before, so that nodes altered in
        the store are never built upon (section 10). Otherwise ``old_root`` is None."""
        for k, v in changes.items():
            if len(k) != KEY_SIZE or len(v) != VALUE_SIZE:
                raise ValueError("a map change is a 32-byte key and a 48-byte value")
        order = sorted((int.from_bytes(k, "big"), k) for k in changes)
        self._ints = [i for i, _ in order]
        self._leaves = [k + changes[k] for _, k in order]
        self.writes: dict[int, bytes] = {}
        """Position -> node to store (insert or replace); nothing is ever deleted."""
        if isinstance(source, MemoryMap):  # already local: read its nodes directly
            self._local: Nodes = source.nodes
        else:
            self._local = _gather(source, self._ints, window) if order else {}
        self.old_root: bytes | None = None
        if order:
            if check and isinstance(source, UpperLevels) and source.verified:
                self.old_root = self._old_below(source.nodes, source.depth)
            elif check:
                self.old_root = self._old(1, 0, 0, len(order))
            self.root = self._update(1, 0, 0, len(order))
        else:
            self.root = stored_hash(source.map_nodes([1]).get(1))
            if check:
                self.old_root = self.root
        del self._local

    def _old(self, pos: int, depth: int, lo: int, hi: int) -> bytes:
        """The hash of the subtree at ``pos`` before the batch, recomputed down the changed
        keys' paths (an off-path sibling's stored hash is taken as is)."""
        node = self._local.get(pos)
        if node is None:
            return EMPTY_HASH
        if len(node) != HASH_SIZE:
            return hashlib.sha256(MAP_LEAF_PREFIX + node).digest()
        split = _split(self._ints, pos, depth, lo, hi)
        left, right = pos << 1, (pos << 1) | 1
        lh = self._old(left, depth + 1, lo, split) if split > lo else stored_hash(
            self._local.get(left))
        rh = self._old(right, depth + 1, split, hi) if hi > split else stored_hash(
            self._local.get(right))
        return node_hash(depth, lh, rh)

    def _old_below(self, upper: Mapping[int, bytes], top: int) -> bytes:
        """:meth:`_old` over verified upper levels (:meth:`UpperLevels.verify`): only the
        nodes read below them are checked, each parent at ``top - 1`` against its children
        recomputed from them; the root is then the one held. On a mismatch, the root
        recomputed as :meth:`_old` does, which is not that one."""
        ints, n, shift = self._ints, len(self._ints), KEY_BITS - top + 1
        i = 0
        while i < n:
            prefix = ints[i] >> shift
            j = bisect_left(ints, (prefix + 1) << shift, i, n)
            parent = (1 << (top - 1)) | prefix
            node = upper.get(parent)
            if node is not None and len(node) == HASH_SIZE:  # these paths go below: check
                split = _split(ints, parent, top - 1, i, j)
                left, right = parent << 1, (parent << 1) | 1
                lh = self._old(left, top, i, split) if split > i else stored_hash(
                    self._local.get(left))
                rh = self._old(right, top, split, j) if j > split else stored_hash(
                    self._local.get(right))
                if node_hash(top - 1, lh, rh) != node:
                    return self._old(1, 0, 0, n)
            i = j
        return stored_hash(upper.get(1))

    def _update(self, pos: int, depth: int, lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return self._update_one(pos, depth, lo)
        node = self._local.get(pos)
        if node is None:
            return self._build(pos, depth, self._ints, self._leaves, lo, hi)
        if len(node) != HASH_SIZE:  # a leaf: it moves down beside the new keys, or is replaced
            return self._update_leaf(pos, depth, node, lo, hi)
        split = _split(self._ints, pos, depth, lo, hi)
        left, right = pos << 1, (pos << 1) | 1
        lh = self._update(left, depth + 1, lo, split) if split > lo else stored_hash(
            self._local.get(left))
        rh = self._update(right, depth + 1, split, hi) if hi > split else stored_hash(
            self._local.get(right))
        h = node_hash(depth, lh, rh)
        self.writes[pos] = h
        return h

    def _update_one(self, pos: int, depth: int, i: int) -> bytes:
        """The same as :meth:`_update` for one key, as a loop: down to where the key belongs,
        then hash back up (most of a batch's work below the levels its keys share)."""
        local, writes, sha = self._local, self.writes, hashlib.sha256
        k = self._ints[i]
        steps: list[tuple[int, int, int, bytes]] = []
        while True:
            node = local.get(pos)
            if node is None or len(node) != HASH_SIZE:
                break
            bit = (k >> (KEY_BITS - 1 - depth)) & 1
            sibling = local.get(pos << 1 | (bit ^ 1))
            if sibling is None:
                sibling = EMPTY_HASH
            elif len(sibling) != HASH_SIZE:
                sibling = sha(MAP_LEAF_PREFIX + sibling).digest()
            steps.append((pos, depth, bit, sibling))
            pos, depth = pos << 1 | bit, depth + 1
        h = (self._build(pos, depth, self._ints, self._leaves, i, i + 1) if node is None
             else self._update_leaf(pos, depth, node, i, i + 1))
        for pos, depth, bit, sibling in reversed(steps):
            h = sha(MAP_NODE_PREFIX + bytes((depth,)) + (sibling + h if bit else h + sibling)
                    ).digest()
            writes[pos] = h
        return h

    def _update_leaf(self, pos: int, depth: int, node: bytes, lo: int, hi: int) -> bytes:
        old = int.from_bytes(node[:KEY_SIZE], "big")
        ints, leaves = self._ints[lo:hi], self._leaves[lo:hi]
        if old not in ints:
            at = bisect_left(ints, old)
            ints.insert(at, old)
            leaves.insert(at, node)
        return self._build(pos, depth, ints, leaves, 0, len(ints))

    def _build(self, pos: int, depth: int, ints: list[int], leaves: list[bytes], lo: int,
               hi: int) -> bytes:
        if hi - lo == 1:
            self.writes[pos] = leaves[lo]
            return hashlib.sha256(MAP_LEAF_PREFIX + leaves[lo]).digest()
        split = _split(ints, pos, depth, lo, hi)
        lh = self._build(pos << 1, depth + 1, ints, leaves, lo, split) if split > lo else EMPTY_HASH
        rh = (self._build((pos << 1) | 1, depth + 1, ints, leaves, split, hi) if hi > split
              else EMPTY_HASH)
        h = node_hash(depth, lh, rh)
        self.writes[pos] = h
        return h


class MemoryMap:
    """The whole map in memory: a :class:`NodeSource` plus the entries' values."""

    __slots__ = ("nodes", "root")

    def __init__(self) -> None:
        self.nodes: dict[int, bytes] = {}
        self.root = EMPTY_HASH

    def map_nodes(self, positions: Iterable[int]) -> Mapping[int, bytes]:
        nodes = self.nodes
        return {p: n for p in positions if (n := nodes.get(p)) is not None}

    def apply(self, changes: Mapping[bytes, bytes]) -> bytes:
        """Apply one batch (a block's changes) and return the new root."""
        if not changes:
            return self.root
        if not self.nodes:
            self._bulk(changes)
        else:
            update = MapUpdate(self, changes)
            self.nodes.update(update.writes)
            self.root = update.root
        return self.root

    def _bulk(self, changes: Mapping[bytes, bytes]) -> None:
        """Build from nothing: a recursion over the sorted keys (the same tree as updates)."""
        for k, v in changes.items():
            if len(k) != KEY_SIZE or len(v) != VALUE_SIZE:
                raise ValueError("a map change is a 32-byte key and a 48-byte value")
        keys = sorted(int.from_bytes(k, "big") for k in changes)
        leaves = [k.to_bytes(KEY_SIZE, "big") for k in keys]
        nodes = self.nodes
        sha = hashlib.sha256

        def build(pos: int, depth: int, lo: int, hi: int) -> bytes:
            if hi - lo == 1:
                key = leaves[lo]
                leaf = key + changes[key]
                nodes[pos] = leaf
                return sha(MAP_LEAF_PREFIX + leaf).digest()
            split = bisect_left(keys, ((pos << 1) | 1) - (2 << depth) << (KEY_BITS - 1 - depth),
                                lo, hi)
            lh = build(pos << 1, depth + 1, lo, split) if split > lo else EMPTY_HASH
            rh = build((pos << 1) | 1, depth + 1, split, hi) if hi > split else EMPTY_HASH
            h = sha(MAP_NODE_PREFIX + bytes((depth,)) + lh + rh).digest()
            nodes[pos] = h
            return h

        self.root = build(1, 0, 0, len(keys))

    def get(self, key: bytes) -> bytes | None:
        """The value of ``key``, or None."""
        k = int.from_bytes(key, "big")
        for depth in range(KEY_BITS + 1):
            node = self.nodes.get((1 << depth) | (k >> (KEY_BITS - depth)))
            if node is None:
                return None
            if len(node) != HASH_SIZE:
                return node[KEY_SIZE:] if node[:KEY_SIZE] == key else None
        return None


def lookup(source: NodeSource, keys: Iterable[bytes], window: int = 24) -> dict[bytes, bytes]:
    """The stored value of each of ``keys`` that the map holds (absent keys are left out),
    read from ``source`` in the batches :class:`MapUpdate` uses."""
    ints = _key_ints(keys)
    local = source.nodes if isinstance(source, MemoryMap) else _gather(source, ints, window)
    out: dict[bytes, bytes] = {}
    for k in ints:
        for depth in range(KEY_BITS + 1):
            node = local.get((1 << depth) | (k >> (KEY_BITS - depth)))
            if node is None:
                break
            if len(node) != HASH_SIZE:
                key = k.to_bytes(KEY_SIZE, "big")
                if node[:KEY_SIZE] == key:
                    out[key] = node[KEY_SIZE:]
                break
    return out


def map_root(entries: Mapping[bytes, bytes]) -> bytes:
    """The root of the map holding exactly ``entries`` (section 3)."""
    m = MemoryMap()
    return m.apply(entries)


# --- proofs ----------------------------------------------------------------------------------


def prove(source: NodeSource, keys: Iterable[bytes], window: int = 24) -> bytes:
    """The map proof (section 4) for ``keys`` (one or many, any order, no repeats) in the map
    that ``source`` holds: for each key, its value or the node that shows its absence, and
    the siblings its path needs that no other key's path gives."""
    ints = _key_ints(keys)
    if not 1 <= len(ints) <= MAX_PROOF_KEYS:
        raise ValueError(f"a map proof answers 1 to {MAX_PROOF_KEYS} keys")
    local = source.nodes if isinstance(source, MemoryMap) else _gather(source, ints, window)
    results: list[bytes] = []
    bits: list[int] = []
    hashes: list[bytes] = []

    def walk(pos: int, depth: int, lo: int, hi: int) -> None:
        node = local.get(pos)
        if node is None or len(node) != HASH_SIZE:
            d = depth.to_bytes(2, "big")
            for i in range(lo, hi):
                if node is None:
                    results.append(b"\x03" + d)
                elif int.from_bytes(node[:KEY_SIZE], "big") == ints[i]:
                    results.append(b"\x01" + d + node[KEY_SIZE:])
                else:
                    results.append(b"\x02" + d + node)
            return
        split = _split(ints, pos, depth, lo, hi)
        for child, clo, chi in ((pos << 1, lo, split), ((pos << 1) | 1, split, hi)):
            if clo < chi:
                walk(child, depth + 1, clo, chi)
            else:
                sibling = local.get(child)
                bits.append(sibling is not None)
                if sibling is not None:
                    hashes.append(stored_hash(sibling))

    walk(1, 0, 0, len(ints))
    bitmap = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            bitmap[i >> 3] |= 0x80 >> (i & 7)
    return b"".join([len(ints).to_bytes(4, "big"), *results, bytes(bitmap), *hashes])


_EMPTY, _LEAF, _NODE, _UNKNOWN = range(4)


def verify_map_proof(root: bytes, keys: Iterable[bytes],
                     proof: bytes) -> dict[bytes, MapValue | None]:
    """Check a map proof against ``root`` and return what it proves: each key's value, or
    None for a key the map does not hold (section 5). Raises :class:`VerificationError` when
    the proof does not verify, :class:`MalformedError` when it does not parse."""
    if len(root) != HASH_SIZE:
        raise VerificationError(f"map root is {len(root)} bytes, expected {HASH_SIZE}")
    if len(proof) > MAX_PROOF_BYTES:
        raise MalformedError(f"map proof is larger than {MAX_PROOF_BYTES} bytes")
    key_list = [bytes(k) for k in keys]
    try:
        ints = _key_ints(key_list)
    except ValueError as e:
        raise MalformedError(str(e)) from e
    n = len(ints)
    # (1) the header: the number of results, the number of keys asked about.
    if len(proof) < 4 or int.from_bytes(proof[:4], "big") != n or not 1 <= n <= MAX_PROOF_KEYS:
        raise MalformedError(f"map proof does not answer exactly the {n} keys asked about")
    # (2) one result per key, in key order: its terminal depth and terminal hash.
    depths: list[int] = []
    terminal: list[bytes] = []
    kinds: list[int] = []
    values: dict[bytes, MapValue | None] = {}
    at = 4
    for k in ints:
        key = k.to_bytes(KEY_SIZE, "big")
        if at + 3 > len(proof):
            raise MalformedError("map proof ends inside a result")
        kind, depth = proof[at], int.from_bytes(proof[at + 1:at + 3], "big")
        at += 3
        if depth > KEY_BITS:
            raise MalformedError(f"map proof result depth {depth} is deeper than {KEY_BITS}")
        if kind == KIND_PRESENT:
            raw = proof[at:at + VALUE_SIZE]
            at += VALUE_SIZE
            values[key] = MapValue.from_bytes(raw)
            terminal.append(leaf_hash(key, raw))
            kinds.append(_LEAF)
        elif kind == KIND_OTHER_LEAF:
            leaf = proof[at:at + LEAF_SIZE]
            at += LEAF_SIZE
            if len(leaf) != LEAF_SIZE:
                raise MalformedError("map proof ends inside a leaf")
            other = int.from_bytes(leaf[:KEY_SIZE], "big")
            MapValue.from_bytes(leaf[KEY_SIZE:])
            # (2.2) the other key is not this key and lies on its path.
            if other == k or (depth and (other ^ k) >> (KEY_BITS - depth)):
                raise VerificationError("map proof shows a leaf that is not on the key's path")
            values[key] = None
            terminal.append(hashlib.sha256(MAP_LEAF_PREFIX + leaf).digest())
            kinds.append(_LEAF)
        elif kind == KIND_EMPTY:
            values[key] = None
            terminal.append(EMPTY_HASH)
            kinds.append(_EMPTY)
        else:
            raise MalformedError(f"map proof result kind {kind} is not 1, 2 or 3")
        depths.append(depth)

    # (3) the shape: where the paths end and how many siblings they need.
    def shape(pos: int, depth: int, lo: int, hi: int) -> int:
        ending = sum(1 for i in range(lo, hi) if depths[i] == depth)
        if ending:
            if ending != hi - lo or any(terminal[i] != terminal[lo] for i in range(lo, hi)):
                raise VerificationError("map proof results disagree about a node")
            return 0
        if depth >= KEY_BITS:
            raise MalformedError("map proof path goes below the last key bit")
        split = _split(ints, pos, depth, lo, hi)
        return ((shape(pos << 1, depth + 1, lo, split) if split > lo else 1)
                + (shape((pos << 1) | 1, depth + 1, split, hi) if hi > split else 1))

    siblings = shape(1, 0, 0, n)
    # (4) the bitmap of non-empty siblings, then their hashes: exactly the rest of the proof.
    bitmap = proof[at:at + (siblings + 7) // 8]
    at += len(bitmap)
    if len(bitmap) != (siblings + 7) // 8:
        raise MalformedError("map proof ends inside its bitmap")
    if siblings % 8 and bitmap[-1] & (0xFF >> (siblings % 8)):
        raise MalformedError("map proof bitmap has padding bits set")
    present = sum(bin(b).count("1") for b in bitmap)
    if len(proof) - at != present * HASH_SIZE:
        raise MalformedError(f"map proof has {len(proof) - at} bytes of hashes, expected "
                             f"{present * HASH_SIZE}")
    cursor = [0, at]

    def sibling() -> tuple[bytes, int]:
        i = cursor[0]
        cursor[0] += 1
        if not bitmap[i >> 3] & (0x80 >> (i & 7)):
            return EMPTY_HASH, _EMPTY
        h = proof[cursor[1]:cursor[1] + HASH_SIZE]
        cursor[1] += HASH_SIZE
        return h, _UNKNOWN

    # (5) hash up from the terminals; refuse a shape the map never has (section 2).
    def compute(pos: int, depth: int, lo: int, hi: int) -> tuple[bytes, int]:
        if depths[lo] == depth:
            return terminal[lo], kinds[lo]
        split = _split(ints, pos, depth, lo, hi)
        left = compute(pos << 1, depth + 1, lo, split) if split > lo else sibling()
        right = compute((pos << 1) | 1, depth + 1, split, hi) if hi > split else sibling()
        if (left[1] == _EMPTY and right[1] in (_EMPTY, _LEAF)) or (
                right[1] == _EMPTY and left[1] == _LEAF):
            raise VerificationError("map proof shows an inner node that would have collapsed")
        return node_hash(depth, left[0], right[0]), _NODE

    got, _ = compute(1, 0, 0, n)
    # (6) the computed root is the root.
    if got != root:
        raise VerificationError("map proof does not lead to the map root")
    return {key: values[key] for key in key_list}


# --- recomputing a root from a proof ---------------------------------------------------------


def proof_nodes(root: bytes, keys: Iterable[bytes], proof: bytes) -> dict[int, bytes]:
    """The part of the map that a map proof shows, as stored nodes by position (section 2.1):
    each inner node on the keys' paths as its hash, each off-path sibling as its hash (32
    bytes, whatever it is; an empty one left out), each path's terminal as its leaf (80
    bytes) or, when empty, left out. The proof is first checked against ``root``
    (:func:`verify_map_proof`, whose errors it raises), so the nodes are the map's."""
    key_list = [bytes(k) for k in keys]
    verify_map_proof(root, key_list, proof)
    ints = _key_ints(key_list)
    depths: list[int] = []
    terminals: list[bytes | None] = []
    at = 4
    for k in ints:  # (2) of section 5, already checked: only read here
        kind, depth = proof[at], int.from_bytes(proof[at + 1:at + 3], "big")
        at += 3
        if kind == KIND_PRESENT:
            terminals.append(k.to_bytes(KEY_SIZE, "big") + proof[at:at + VALUE_SIZE])
            at += VALUE_SIZE
        elif kind == KIND_OTHER_LEAF:
            terminals.append(proof[at:at + LEAF_SIZE])
            at += LEAF_SIZE
        else:
            terminals.append(None)
        depths.append(depth)

    def siblings(pos: int, depth: int, lo: int, hi: int) -> int:
        if depths[lo] == depth:
            return 0
        split = _split(ints, pos, depth, lo, hi)
        return ((siblings(pos << 1, depth + 1, lo, split) if split > lo else 1)
                + (siblings((pos << 1) | 1, depth + 1, split, hi) if hi > split else 1))

    count = siblings(1, 0, 0, len(ints))
    bitmap = proof[at:at + (count + 7) // 8]
    cursor = [0, at + len(bitmap)]
    nodes: dict[int, bytes] = {}

    def sibling(pos: int) -> bytes:
        i = cursor[0]
        cursor[0] += 1
        if not bitmap[i >> 3] & (0x80 >> (i & 7)):
            return EMPTY_HASH
        h = proof[cursor[1]:cursor[1] + HASH_SIZE]
        cursor[1] += HASH_SIZE
        nodes[pos] = h
        return h

    def build(pos: int, depth: int, lo: int, hi: int) -> bytes:
        if depths[lo] == depth:
            leaf = terminals[lo]
            if leaf is None:
                return EMPTY_HASH
            nodes[pos] = leaf
            return hashlib.sha256(MAP_LEAF_PREFIX + leaf).digest()
        split = _split(ints, pos, depth, lo, hi)
        left = build(pos << 1, depth + 1, lo, split) if split > lo else sibling(pos << 1)
        right = (build((pos << 1) | 1, depth + 1, split, hi) if hi > split
                 else sibling((pos << 1) | 1))
        h = node_hash(depth, left, right)
        nodes[pos] = h
        return h

    build(1, 0, 0, len(ints))
    return nodes


def root_after(root: bytes, keys: Iterable[bytes], proof: bytes,
               changes: Mapping[bytes, bytes]) -> bytes:
    """The map root after ``changes`` (key -> new 48-byte value) are applied to the map with
    ``root``, computed from a map proof for ``keys`` alone (section 7 over the nodes of
    :func:`proof_nodes`): every changed key must be one the proof answers, so the update
    descends only along proven paths and only hashes the off-path siblings. Raises what
    :func:`verify_map_proof` raises when the proof does not verify; ``ValueError`` for a
    change the proof does not cover."""
    key_list = [bytes(k) for k in keys]
    nodes = proof_nodes(root, key_list, proof)
    if not set(changes) <= set(key_list):
        raise ValueError("a change to a key that the map proof does not answer")
    if not changes:
        return root
    partial = MemoryMap()
    partial.nodes, partial.root = nodes, root
    return MapUpdate(partial, changes).root
