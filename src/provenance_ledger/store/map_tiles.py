"""How a store keys the verifiable map's nodes: by tile (specs/map.md section 10, table).

The map is cut into **tiles** of eight levels, as C2SP tiles cut a log: the tile of level
``t`` rooted at the ``8t``-bit prefix ``q`` holds the nodes of depths ``8t`` to ``8t + 7``
whose keys start with ``q``. A node's stored key is one byte ``t + 1``, then ``q`` in ``t``
bytes, then its place in the tile, one byte ``(1 << (d - 8t)) | (the last d - 8t bits of
its position)`` (1 to 255). Keys sort by tile level, then by tile, so

- a tile's nodes are neighbours in the table's B-tree: a block that changes a key's path
  below the upper levels rewrites one or two pages for it, not one page per level;
- the levels above depth ``8k`` are still one range (keys below the byte ``k + 1``).

Depths 0 to 7 keep the key of schema 4 (``01`` then the position); deeper ones changed with
schema 5, whose migration rewrites every key (:func:`tile_key` of :func:`position_v4`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def tile_key(pos: int) -> bytes:
    """The stored key of map position ``pos`` (``2^d + P``, specs/map.md section 2.1)."""
    d = pos.bit_length() - 1
    t, dd = d >> 3, d & 7
    # (pos >> dd) is 2^(8t) + q: adding t << 8t makes its first byte t + 1.
    return ((((pos >> dd) + (t << (t << 3))) << 8) | (1 << dd) | (pos & ((1 << dd) - 1))
            ).to_bytes(t + 2, "big")


def tile_position(key: bytes) -> int:
    """The map position a stored key names; 0 (no position) for bytes no key has."""
    if len(key) < 2 or key[0] != len(key) - 1 or not key[-1]:
        return 0
    t, local = key[0] - 1, key[-1]
    dd = local.bit_length() - 1
    tile = (1 << (t << 3)) | int.from_bytes(key[1:-1], "big")
    return (tile << dd) | (local ^ (1 << dd))


def key_v4(pos: int) -> bytes:
    """A position as schema 4 keyed it: the length ``n`` of its shortest big-endian bytes, then
    those bytes (rows sorted by depth). Read-only stores of schema 4 still read it."""
    n = (pos.bit_length() + 7) >> 3
    return bytes((n,)) + pos.to_bytes(n, "big")


def position_v4(key: bytes) -> int:
    """The position a schema 4 key names; 0 for bytes no key has."""
    if len(key) < 2 or key[0] != len(key) - 1 or not key[1]:
        return 0
    return int.from_bytes(key[1:], "big")


def retiled(rows: Iterable[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
    """Schema 4 rows (key, node) with their schema 5 keys; a key no position has is kept as
    it is (so an audit still finds it)."""
    for key, node in rows:
        pos = position_v4(key)
        yield (tile_key(pos) if pos else key), node
