"""RFC 9162 Merkle tree hashing, proof construction plans and proof verification.

Implements RFC 9162 section 2.1: leaf and node hashes (2.1.1), inclusion proofs (2.1.3) and
consistency proofs (2.1.4). specs/merkle.md describes the same rules for independent verifiers.

Proofs are built without the tree: a *plan* names the complete subtrees whose stored hashes a
proof needs (``NodeId`` = ``(level, index)``, the subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``), the store fetches those O(log n) hashes in one
read, and :func:`assemble` folds them into the proof. The proofs of a tree's last leaves (a
block just appended) come from one walk instead (:func:`block_proofs`): their own leaf hashes,
hashed up in memory, and the O(log n) stored subtrees to their left. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from ..errors import VerificationError, quoted

LEAF_HASH_PREFIX = b"\x00"
NODE_HASH_PREFIX = b"\x01"
HASH_SIZE = 32  # bytes, SHA-256
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the empty tree (RFC 9162 section 2.1.1: MTH({}) = SHA-256())."""

NodeId = tuple[int, int]
"""``(level, index)`` of a complete subtree of ``2**level`` leaves."""

Plan = list[list[NodeId]]
"""One entry per proof hash: the complete subtrees whose right fold is that hash."""


def leaf_hash(leaf: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(LEAF_HASH_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_HASH_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1), RFC 9162 section 2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[NodeId]:
    """Complete subtrees covering leaves ``[start, end)``, left to right.

    ``start`` must be aligned as RFC 9162 ranges are: a multiple of the smallest power of two
    that is at least ``end - start``. The range's hash is the right fold of these nodes.
    """
    nodes: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ValueError(f"range [{start}, {end}) is not aligned")
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold of complete-subtree hashes: h1 . (h2 . (... . hk))."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_plan(size: int) -> list[NodeId]:
    """Nodes whose fold is the root of the tree of ``size`` leaves (none for the empty tree)."""
    return range_nodes(0, size)


def inclusion_plan(index: int, size: int) -> Plan:
    """Plan of the inclusion proof PATH(index, D[0:size]) (RFC 9162 section 2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {quoted(index)} is not below tree size {quoted(size)}")
    plan: Plan = []
    start, n, m = 0, size, index
    while n > 1:
        k = _split(n)
        if m < k:
            plan.append(range_nodes(start + k, start + n))
            n = k
        else:
            plan.append(range_nodes(start, start + k))
            start, n, m = start + k, n - k, m - k
    plan.reverse()  # PATH lists the hashes nearest the leaf first
    return plan


def consistency_plan(old_size: int, new_size: int) -> Plan:
    """Plan of PROOF(old_size, D[0:new_size]) (RFC 9162 section 2.1.4.1).

    Empty when ``old_size`` is 0 or equal to ``new_size``: nothing needs proving.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} is not between 0 and new size {new_size}")
    if old_size in (0, new_size):
        return []
    plan: Plan = []
    start, n, m, complete = 0, new_size, old_size, True
    while m != n:
        k = _split(n)
        if m <= k:
            plan.append(range_nodes(start + k, start + n))
            n = k
        else:
            plan.append(range_nodes(start, start + k))
            start, n, m, complete = start + k, n - k, m - k, False
    if not complete:
        plan.append(range_nodes(start, start + m))
    plan.reverse()
    return plan


def plan_nodes(plan: Plan) -> set[NodeId]:
    """Every node a plan reads, for one batched fetch."""
    return {node for element in plan for node in element}


def assemble(plan: Plan, hashes: Mapping[NodeId, bytes]) -> list[bytes]:
    """Turn a plan and the fetched node hashes into the proof's hash list."""
    return [hashes[element[0]] if len(element) == 1 else fold([hashes[n] for n in element])
            for element in plan]


def left_of(first: int, size: int) -> list[NodeId]:
    """The complete subtrees left of leaf ``first`` whose hashes the proofs of the leaves
    ``[first, size)`` in the tree of ``size`` leaves need: the left siblings along the path
    down to ``first`` (one per level at most)."""
    nodes: list[NodeId] = []
    start, n = 0, size
    while start < first:
        k = _split(n)
        if start + k <= first:  # the left half lies wholly before the block
            nodes.append(((k.bit_length() - 1), start // k))
            start, n = start + k, n - k
        else:  # the right half lies wholly in the block: only the left one holds older leaves
            n = k
    return nodes


def block_proofs(first: int, hashes: Sequence[bytes],
                 stored: Callable[[Iterable[NodeId]], Mapping[NodeId, bytes]]
                 ) -> tuple[bytes, list[list[bytes]]]:
    """The root of the tree of ``first + len(hashes)`` leaves and the inclusion proofs
    PATH(i, D[0:size]) (RFC 9162 section 2.1.3.1) of the leaves ``first`` and on, whose leaf
    hashes are ``hashes``; ``stored`` gives the hashes of complete subtrees left of them."""
    size = first + len(hashes)
    if not hashes:
        raise ValueError("a block proves at least one leaf")
    older = stored(left_of(first, size))

    def walk(start: int, n: int) -> tuple[bytes, list[list[bytes]]]:
        """MTH(D[start:start+n]) and the proofs, within this subtree, of its leaves from
        ``first`` on (deepest hash first, as PATH lists them)."""
        if start + n <= first:  # wholly before the block: a complete subtree, stored
            level = n.bit_length() - 1
            return older[(level, start >> level)], []
        if n == 1:
            return hashes[start - first], [[]]
        k = _split(n)
        left, left_proofs = walk(start, k)
        right, right_proofs = walk(start + k, n - k)
        for proof in left_proofs:  # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])
            proof.append(right)
        for proof in right_proofs:  # PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])
            proof.append(left)
        left_proofs.extend(right_proofs)
        return node_hash(left, right), left_proofs

    return walk(0, size)


def _check_hashes(proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise VerificationError(f"proof hash {i} is {len(h)} bytes, expected {HASH_SIZE}")


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash_: bytes, proof: Sequence[bytes]
) -> bytes:
    """Recompute the root from an inclusion proof (RFC 9162 section 2.1.3.2, steps 1-5)."""
    # (1) the index must lie inside the tree.
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {quoted(index)} is not below tree size {quoted(size)}")
    if len(leaf_hash_) != HASH_SIZE:
        raise VerificationError(f"leaf hash is {len(leaf_hash_)} bytes, expected {HASH_SIZE}")
    _check_hashes(proof)
    # (2), (3)
    fn, sn, r = index, size - 1, leaf_hash_
    # (4)
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # (5) the proof must have reached the root.
    if sn != 0:
        raise VerificationError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash_: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`VerificationError` unless ``proof`` shows the leaf at ``index`` in ``root``."""
    if len(root) != HASH_SIZE:
        raise VerificationError(f"root is {len(root)} bytes, expected {HASH_SIZE}")
    if root_from_inclusion_proof(index, size, leaf_hash_, proof) != root:
        raise VerificationError(f"inclusion proof for leaf {index} does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Raise :class:`VerificationError` unless the tree of ``old_size`` leaves with ``old_root``
    is a prefix of the tree of ``new_size`` leaves with ``new_root`` (RFC 9162 section 2.1.4.2).

    A proof from the empty tree proves nothing and is refused; callers that start from an
    empty log skip the check (specs/merkle.md section 4).
    """
    if old_size <= 0:
        raise VerificationError("a consistency proof from the empty tree proves nothing")
    if old_size > new_size:
        raise VerificationError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise VerificationError("sizes are equal but the consistency proof is not empty")
        if old_root != new_root:
            raise VerificationError(f"two different roots for the same size {old_size}")
        return
    if not proof:
        raise VerificationError("consistency proof is empty")
    _check_hashes(proof)
    path = list(proof)
    # (2) when the old tree is a complete subtree its root is the first node.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fr, sr = consistency_path_roots(old_size, new_size, path)
    if fr != old_root:
        raise VerificationError(f"consistency proof does not lead to the old root at {old_size}")
    if sr != new_root:
        raise VerificationError(f"consistency proof does not lead to the new root at {new_size}")


def consistency_path_roots(old_size: int, new_size: int, path: Sequence[bytes]) -> tuple[
        bytes, bytes]:
    """Steps (3)-(7) of RFC 9162 section 2.1.4.2 over the full path (the proof, preceded by
    the old root when ``old_size`` is a power of two): the old and new roots it commits to.
    Raises :class:`VerificationError` when the path has the wrong length for the sizes."""
    if not 0 < old_size < new_size or not path:
        raise VerificationError(f"no consistency path from {old_size} to {new_size}")
    # (3), (4)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # (5)
    fr = sr = path[0]
    # (6)
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # (7)
    if sn != 0:
        raise VerificationError("consistency proof is shorter than needed")
    return fr, sr


class Frontier:
    """The right edge of a growing tree: the complete subtrees of the current size, largest
    first. Appending a leaf yields the newly completed subtrees, which the store records, so
    that every complete subtree hash is stored exactly once. O(log n) memory."""

    __slots__ = ("size", "_nodes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        nodes = root_plan(size)
        if len(nodes) != len(hashes):
            raise ValueError(f"a frontier of size {size} has {len(nodes)} hashes")
        self.size = size
        self._nodes = [(level, h) for (level, _), h in zip(nodes, hashes, strict=True)]

    def append(self, leaf_hash_: bytes) -> list[tuple[NodeId, bytes]]:
        """Add a leaf hash; return every ``(node, hash)`` it completes, the leaf first."""
        index = self.size
        made = [((0, index), leaf_hash_)]
        level, h = 0, leaf_hash_
        while self._nodes and self._nodes[-1][0] == level:
            _, left = self._nodes.pop()
            h = node_hash(left, h)
            level += 1
            made.append(((level, index >> level), h))
        self._nodes.append((level, h))
        self.size += 1
        return made

    def copy(self) -> Frontier:
        other = Frontier()
        other.size, other._nodes = self.size, list(self._nodes)
        return other

    def root(self) -> bytes:
        return fold([h for _, h in self._nodes]) if self._nodes else EMPTY_ROOT
