"""An in-memory cache of upper tree nodes for read-heavy stores (specs/storage.md section 4).

A complete subtree's hash never changes once written (the log is append-only and a stored
node is never rewritten), so a cached hash can never go stale: no invalidation is needed.
An inclusion proof at 10^6 entries reads about 20 nodes, one per level; the upper levels are
shared by every proof, and only a few lower ones are particular to the leaf. The cache keeps
nodes from ``min_level`` up and raises ``min_level`` whenever it would hold more than
``limit`` hashes, dropping the lowest cached level: memory stays bounded (about 200 bytes a
node) whatever the log's size, and it always holds the levels most proofs share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping

from ..core.merkle import NodeId

LEVEL_SHIFT = 56
"""A node's key is ``level << LEVEL_SHIFT | index`` (specs/storage.md section 2): a tree never
has 2^56 leaves, and keys order by level first."""
NODE_CACHE_LIMIT = 1 << 17
"""Most node hashes one cache holds (about 25 MiB)."""
NODE_CACHE_MIN_LEVEL = 4
"""Lowest level cached at first; at 10^6 entries, levels 4 and up are ~125,000 nodes."""


class NodeCache:
    """Hashes of complete subtrees at or above a level, shared by the threads of one process."""

    def __init__(self, limit: int = NODE_CACHE_LIMIT,
                 min_level: int = NODE_CACHE_MIN_LEVEL) -> None:
        if limit < 1 or min_level < 0:
            raise ValueError("the node cache needs a positive limit and a level >= 0")
        self.limit = limit
        self.min_level = min_level
        # Keyed by the store's integer node key (level << 56 | index): a dict of ints and
        # bytes is not tracked by the garbage collector, so a full cache adds no GC pauses.
        self._hashes: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hashes)

    @property
    def hashes(self) -> Mapping[int, bytes]:
        """The cached hashes (a mapping that is replaced, never shrunk, when the level rises:
        a reader may keep it for one lookup batch)."""
        return self._hashes

    def put(self, found: Mapping[int, bytes]) -> None:
        """Keep the hashes of ``found`` (by node key) at or above ``min_level``."""
        with self._lock:
            floor = self.min_level << LEVEL_SHIFT
            self._hashes.update((k, h) for k, h in found.items() if k >= floor)
            while len(self._hashes) > self.limit:
                self.min_level += 1
                floor = self.min_level << LEVEL_SHIFT
                self._hashes = {k: h for k, h in self._hashes.items() if k >= floor}


def read_through(cache: NodeCache | None, ids: Iterable[NodeId],
                 read: Callable[[list[NodeId]], dict[NodeId, bytes]]) -> dict[NodeId, bytes]:
    """Hashes of the complete subtrees ``ids``: those ``cache`` holds from it, the others with
    one call of ``read`` (a store's query), then kept in the cache (it keeps the levels it
    holds). Without a cache, ``read`` answers for all."""
    ids = list(ids)
    if cache is None:
        return read(ids)
    out: dict[NodeId, bytes] = {}
    missing: list[NodeId] = []
    cached = cache.hashes
    for n in ids:
        h = cached.get((n[0] << LEVEL_SHIFT) | n[1])
        if h is None:
            missing.append(n)
        else:
            out[n] = h
    if missing:
        found = read(missing)
        cache.put({(n[0] << LEVEL_SHIFT) | n[1]: h for n, h in found.items()})
        out.update(found)
    return out
