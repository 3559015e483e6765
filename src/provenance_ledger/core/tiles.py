"""C2SP tlog-tiles: the log's tree and entries as static files (specs/tiles.md).

A tile is 256 consecutive hashes of one tree level (specs/tiles.md section 2): the tile at
tile level ``L`` and index ``N`` holds the RFC 9162 hashes of the complete subtrees
``(8 * L, N * 256 + i)`` (:mod:`.merkle` ``NodeId``), ``i`` from 0 to its width - 1. An entry
bundle holds the leaves behind level-0 tile ``N``, each as a big-endian uint16 length and the
leaf bytes (section 3). The right edge of every level is a *partial* tile of width 1 to 255.

This module computes paths, which tiles a tree of some size has, which ones a growth from one
size to another changes, which ones a proof needs, and reads node hashes and proofs out of
tiles. Nothing here does I/O; ``golang.org/x/mod/sumdb/tlog`` (tile.go) computes the same
tiles, and tests/data/tiles holds its answers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..errors import MalformedError, quoted
from .merkle import (
    HASH_SIZE,
    NodeId,
    Plan,
    assemble,
    consistency_plan,
    inclusion_plan,
    plan_nodes,
)

TILE_HEIGHT = 8
"""Tree levels one tile spans (C2SP tlog-tiles fixes it at 8)."""
TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile, entries in a full bundle: 256."""
MAX_TILE_LEVEL = 63
"""Highest tile level a path may name (C2SP)."""
ENTRIES = -1
"""The ``level`` of an entry bundle (``tile/entries/...``)."""
MAX_ENTRY_BYTES = 0xFFFF
"""Longest entry a bundle can hold (its length is a uint16); leaves are at most 16 KiB."""
FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE  # 8192

_INDEX_PART = re.compile(r"x[0-9]{3}")
_LAST_PART = re.compile(r"[0-9]{3}")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")


@dataclass(frozen=True, slots=True, order=True)
class Tile:
    """A hash tile (``level`` 0 to 63) or an entry bundle (``level`` :data:`ENTRIES`):
    its index in its level and its width, 1 to 256 (256: full)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not (ENTRIES <= self.level <= MAX_TILE_LEVEL and self.index >= 0
                and 1 <= self.width <= TILE_WIDTH):
            raise ValueError(f"no tile at level {self.level}, index {self.index}, "
                             f"width {self.width}")

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` (specs/tiles.md
        section 1), relative to the log's prefix."""
        level = "entries" if self.level == ENTRIES else str(self.level)
        partial = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{index_path(self.index)}{partial}"

    @property
    def hash_level(self) -> int:
        """The tree level of the hashes in a hash tile (``8 * L``); 0 for a bundle."""
        return TILE_HEIGHT * max(self.level, 0)

    @property
    def nodes(self) -> list[NodeId]:
        """The complete subtrees whose hashes this hash tile holds, in order (for a bundle:
        its leaves')."""
        first = self.index * TILE_WIDTH
        return [(self.hash_level, first + i) for i in range(self.width)]

    @property
    def first_entry(self) -> int:
        """Index of the first log entry under this tile (its *start index*)."""
        return self.index * TILE_WIDTH << self.hash_level


def index_path(n: int) -> str:
    """``N`` as zero-padded 3-digit path elements, all but the last prefixed by ``x``:
    1234067 -> ``x001/x234/067``."""
    if n < 0:
        raise ValueError(f"tile index {n} is negative")
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n > 0:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def parse_tile_path(path: str) -> Tile:
    """The tile a path names (the inverse of :attr:`Tile.path`); MalformedError otherwise."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise MalformedError(f"{quoted(path)} is not a tile path")
    level_text, rest = parts[1], parts[2:]
    if level_text == "entries":
        level = ENTRIES
    elif re.fullmatch(r"0|[1-9][0-9]?", level_text) and int(level_text) <= MAX_TILE_LEVEL:
        level = int(level_text)
    else:
        raise MalformedError(
            f"{quoted(path)}: level {quoted(level_text)} is not 0 to 63 or entries")
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _WIDTH.fullmatch(rest[-1]) or int(rest[-1]) >= TILE_WIDTH:
            raise MalformedError(
                f"{quoted(path)}: partial width {quoted(rest[-1])} is not 1 to 255")
        width = int(rest[-1])
        rest = rest[:-2] + [rest[-2][:-2]]
    if not (_LAST_PART.fullmatch(rest[-1]) and all(_INDEX_PART.fullmatch(p) for p in rest[:-1])
            and (len(rest) == 1 or rest[0] != "x000")):
        raise MalformedError(f"{quoted(path)}: the index is not 3-digit groups, x-prefixed but the "
                             "last")
    index = int("".join(p.lstrip("x") for p in rest))
    return Tile(level, index, width)


# -- which tiles -------------------------------------------------------------------------------

def _level_tiles(level: int, old: int, new: int) -> Iterator[Tile]:
    """Tiles of one level (``ENTRIES`` as level 0) whose content differs between the tree of
    ``old`` and that of ``new`` leaves: every tile from the one holding hash ``old >> 8L`` on,
    at its width for ``new`` (empty tiles do not exist)."""
    shift = TILE_HEIGHT * max(level, 0)
    have, count = old >> shift, new >> shift
    if count <= have:
        return
    for n in range(have // TILE_WIDTH, (count + TILE_WIDTH - 1) // TILE_WIDTH):
        yield Tile(level, n, min(TILE_WIDTH, count - n * TILE_WIDTH))


def _levels(size: int) -> Iterator[int]:
    level = 0
    while size >> (TILE_HEIGHT * level):
        yield level
        level += 1


def new_tiles(old_size: int, new_size: int) -> list[Tile]:
    """Tiles to write when the tree grows from ``old_size`` to ``new_size`` leaves, entry
    bundles first, then hash tiles level by level: what ``tlog.NewTiles(8, old, new)`` lists,
    plus the bundles behind the level-0 tiles."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"cannot grow a tree from {old_size} to {new_size} leaves")
    out = list(_level_tiles(ENTRIES, old_size, new_size))
    for level in _levels(new_size):
        out.extend(_level_tiles(level, old_size, new_size))
    return out


def tree_tiles(size: int) -> list[Tile]:
    """Every tile of the tree of ``size`` leaves: full tiles and the right edge's partial
    ones (what a reader of a checkpoint of that size may fetch)."""
    return new_tiles(0, size)


def tile_for_node(node: NodeId, size: int) -> tuple[Tile, int, int]:
    """The tile, at its width in the tree of ``size`` leaves, that holds or leads to the
    complete subtree ``node``, and the slice ``[start, end)`` of its hashes whose complete
    subtree hash is the node's (one hash when the node's level is a multiple of 8)."""
    level, index = node
    if (index + 1) << level > size:
        raise ValueError(f"node {node} is not a complete subtree of a tree of {size} leaves")
    tile_level, sub = divmod(level, TILE_HEIGHT)
    first = index << sub
    n = first // TILE_WIDTH
    available = (size >> (TILE_HEIGHT * tile_level)) - n * TILE_WIDTH
    start = first - n * TILE_WIDTH
    return Tile(tile_level, n, min(TILE_WIDTH, available)), start, start + (1 << sub)


def tiles_for_nodes(nodes: Iterable[NodeId], size: int) -> set[Tile]:
    """The tiles a reader of the tree of ``size`` leaves fetches to learn ``nodes``."""
    return {tile_for_node(node, size)[0] for node in nodes}


def inclusion_tiles(index: int, size: int) -> set[Tile]:
    """Hash tiles an inclusion proof of leaf ``index`` in the tree of ``size`` needs (the
    leaf's own hash comes from its entry)."""
    return tiles_for_nodes(plan_nodes(inclusion_plan(index, size)), size)


def consistency_tiles(old_size: int, new_size: int) -> set[Tile]:
    """Hash tiles a consistency proof from ``old_size`` to ``new_size`` needs."""
    return tiles_for_nodes(plan_nodes(consistency_plan(old_size, new_size)), new_size)


def bundle_for_entry(index: int, size: int) -> tuple[Tile, int]:
    """The entry bundle holding entry ``index`` of the tree of ``size`` leaves, at its width,
    and the entry's position in it."""
    if not 0 <= index < size:
        raise ValueError(f"entry {index} is not below tree size {size}")
    n = index // TILE_WIDTH
    return Tile(ENTRIES, n, min(TILE_WIDTH, size - n * TILE_WIDTH)), index - n * TILE_WIDTH


# -- tile contents ------------------------------------------------------------------------------

def tile_hashes(tile: Tile, data: bytes) -> list[bytes]:
    """The hashes of a hash tile's bytes; MalformedError unless it is ``width`` hashes."""
    if tile.level == ENTRIES:
        raise ValueError("an entry bundle holds entries, not hashes")
    if len(data) != tile.width * HASH_SIZE:
        raise MalformedError(f"{tile.path} is {len(data)} bytes, not {tile.width} hashes of "
                             f"{HASH_SIZE} bytes")
    return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def subtree_hash(hashes: Sequence[bytes]) -> bytes:
    """Hash of the complete subtree over a power-of-two count of consecutive hashes."""
    if not hashes or len(hashes) & (len(hashes) - 1):
        raise ValueError(f"{len(hashes)} hashes are not a complete subtree")
    return tile_levels(hashes)[-1][0]


def tile_levels(hashes: Sequence[bytes]) -> list[list[bytes]]:
    """The levels of the subtrees inside a tile: level 0 its hashes, level ``k`` the hashes
    of the complete subtrees of ``2**k`` of them (a partial tile's last odd one is left out)."""
    sha256 = hashlib.sha256
    levels = [list(hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([sha256(b"\x01" + below[i] + below[i + 1]).digest()
                       for i in range(0, len(below) - 1, 2)])
    return levels


def node_hashes(nodes: Iterable[NodeId], size: int, tiles: Mapping[Tile, bytes],
                levels: dict[Tile, list[list[bytes]]] | None = None) -> dict[NodeId, bytes]:
    """The hashes of ``nodes`` (complete subtrees of the tree of ``size`` leaves), read out of
    ``tiles`` (the bytes of each tile :func:`tiles_for_nodes` names). KeyError names a tile
    that is missing; MalformedError a tile of the wrong length. Each tile's inner subtrees
    are hashed once (at most 255 hashes a tile); ``levels``, when given, keeps them across
    calls (a client's cache: a full tile never changes)."""
    out: dict[NodeId, bytes] = {}
    if levels is None:
        levels = {}
    for node in nodes:
        tile, start, end = tile_for_node(node, size)
        if tile not in levels:
            levels[tile] = tile_levels(tile_hashes(tile, tiles[tile]))
        sub = (end - start).bit_length() - 1
        out[node] = levels[tile][sub][start >> sub]
    return out


def _proof(plan: Plan, size: int, tiles: Mapping[Tile, bytes],
           levels: dict[Tile, list[list[bytes]]] | None = None) -> list[bytes]:
    return assemble(plan, node_hashes(plan_nodes(plan), size, tiles, levels))


def inclusion_proof(index: int, size: int, tiles: Mapping[Tile, bytes],
                    levels: dict[Tile, list[list[bytes]]] | None = None) -> list[bytes]:
    """PATH(index, D[0:size]) (RFC 9162 section 2.1.3.1) from the tiles of
    :func:`inclusion_tiles` (``levels``: as for :func:`node_hashes`)."""
    return _proof(inclusion_plan(index, size), size, tiles, levels)


def consistency_proof(old_size: int, new_size: int, tiles: Mapping[Tile, bytes]) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) (RFC 9162 section 2.1.4.1) from the tiles of
    :func:`consistency_tiles`."""
    return _proof(consistency_plan(old_size, new_size), new_size, tiles)


# -- entry bundles ------------------------------------------------------------------------------

def bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise ValueError(f"an entry of {len(entry)} bytes does not fit a bundle")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def parse_bundle(tile: Tile, data: bytes) -> list[bytes]:
    """The entries of an entry bundle; MalformedError unless it holds exactly ``width``
    length-prefixed entries and nothing after them."""
    entries: list[bytes] = []
    at = 0
    while at < len(data):
        if len(entries) == tile.width:
            raise MalformedError(f"{tile.path} holds more than {tile.width} entries")
        if at + 2 > len(data):
            raise MalformedError(f"{tile.path} ends inside an entry's length")
        n = int.from_bytes(data[at:at + 2], "big")
        if at + 2 + n > len(data):
            raise MalformedError(f"{tile.path} ends inside entry {len(entries)}")
        entries.append(data[at + 2:at + 2 + n])
        at += 2 + n
    if len(entries) != tile.width:
        raise MalformedError(f"{tile.path} holds {len(entries)} entries, not {tile.width}")
    return entries
