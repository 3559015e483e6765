"""Tests for provenance_ledger.core.tiles (specs/tiles.md, C2SP tlog-tiles).

Sources of truth: the examples of C2SP tlog-tiles itself (paths, the tiles of a tree of
70,000 leaves), the tiles and proofs golang.org/x/mod/sumdb/tlog computed for the
known-answer log (tests/data/tiles), and, for random trees, this project's RFC 9162 proofs
(core/merkle.py, itself checked against transparency-dev's vectors and pymerkle).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance_ledger.core import tiles as T
from provenance_ledger.core.merkle import (
    Frontier,
    NodeId,
    assemble,
    consistency_plan,
    fold,
    inclusion_plan,
    root_plan,
)
from provenance_ledger.core.tiles import ENTRIES, Tile
from provenance_ledger.errors import MalformedError

KAT = Path(__file__).parent.parent / "data" / "tiles"


@pytest.mark.parametrize(("index", "path"), [
    (0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067"),
    (10**9, "x001/x000/x000/000"),
])
def test_index_path_is_c2sp_three_digit_groups(index: int, path: str) -> None:
    assert T.index_path(index) == path
    assert T.parse_tile_path(f"tile/3/{path}") == Tile(3, index)


@pytest.mark.parametrize(("tile", "path"), [
    (Tile(0, 1234067), "tile/0/x001/x234/067"),
    (Tile(2, 5, 17), "tile/2/005.p/17"),
    (Tile(ENTRIES, 1000, 255), "tile/entries/x001/000.p/255"),
    (Tile(ENTRIES, 0), "tile/entries/000"),
    (Tile(63, 0, 1), "tile/63/000.p/1"),
])
def test_tile_paths_round_trip(tile: Tile, path: str) -> None:
    assert tile.path == path
    assert T.parse_tile_path(path) == tile


@pytest.mark.parametrize("path", [
    "tile/0/1", "tile/0/0001", "tile/0/x001", "tile/0/001/002", "tile/0/x000/001",
    "tile/64/000", "tile/01/000", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/07",
    "tile/data/000", "tiles/0/000", "tile/0", "tile/-1/000",
])
def test_paths_out_of_the_spec_are_refused(path: str) -> None:
    with pytest.raises(MalformedError):
        T.parse_tile_path(path)


def test_the_c2sp_example_of_a_tree_of_70000_leaves() -> None:
    """C2SP: 273 full level-0 tiles, one partial of width 112, one full level-1 tile, one
    partial of width 17, one partial level-2 tile of width 1 (and the bundles of level 0)."""
    tiles = T.tree_tiles(70_000)
    hashes = [t for t in tiles if t.level >= 0]
    assert [t for t in hashes if t.level == 0 and t.full] == [Tile(0, n) for n in range(273)]
    assert [t for t in hashes if not (t.level == 0 and t.full)] == [
        Tile(0, 273, 112), Tile(1, 0), Tile(1, 1, 17), Tile(2, 0, 1)]
    assert [t for t in tiles if t.level == ENTRIES] == [
        Tile(ENTRIES, n, 256 if n < 273 else 112) for n in range(274)]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    # tile of width 1"
    assert [t for t in T.tree_tiles(256) if t.level >= 0] == [Tile(0, 0), Tile(1, 0, 1)]
    assert T.tree_tiles(0) == []


def test_growth_rewrites_only_the_right_edge() -> None:
    assert T.new_tiles(300, 600) == [
        Tile(ENTRIES, 1), Tile(ENTRIES, 2, 88), Tile(0, 1), Tile(0, 2, 88), Tile(1, 0, 2)]
    assert T.new_tiles(600, 601) == [Tile(ENTRIES, 2, 89), Tile(0, 2, 89)]
    assert T.new_tiles(7, 7) == []
    with pytest.raises(ValueError):
        T.new_tiles(8, 7)


def test_bundles_are_uint16_length_prefixed_entries() -> None:
    data = T.bundle([b"ab", b"", b"\x00" * 300])
    assert data == b"\x00\x02ab\x00\x00\x01\x2c" + b"\x00" * 300
    assert T.parse_bundle(Tile(ENTRIES, 0, 3), data) == [b"ab", b"", b"\x00" * 300]
    for width, broken in [(2, data), (4, data), (3, data[:-1]), (3, data + b"\x00"),
                          (1, b"\x00\x05abc")]:
        with pytest.raises(MalformedError):
            T.parse_bundle(Tile(ENTRIES, 0, width), broken)
    with pytest.raises(ValueError):
        T.bundle([b"x" * 65536])


def test_a_tile_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(MalformedError, match="not 3 hashes"):
        T.tile_hashes(Tile(0, 0, 3), b"\x00" * 95)


def _kat() -> tuple[dict[Tile, bytes], dict[str, object]]:
    root = KAT / "expected"
    files = {T.parse_tile_path(p.relative_to(root).as_posix()): p.read_bytes()
             for p in root.rglob("*") if p.is_file()}
    return files, json.loads((KAT / "proofs.json").read_text())


def _read(files: dict[Tile, bytes], wanted: set[Tile]) -> dict[Tile, bytes]:
    """What a C2SP client does: a partial tile of an older checkpoint that the log deleted is
    read from the full tile's first W hashes."""
    out = {}
    for t in wanted:
        data = files.get(t)
        if data is None:
            data = files[Tile(t.level, t.index)][:t.width * 32]
        out[t] = data
    return out


def test_proofs_read_from_the_go_tiles_are_go_s_proofs() -> None:
    files, answers = _kat()
    proofs = answers["proofs"]
    assert isinstance(proofs, list) and len(proofs) == 75
    for case in proofs:
        size, got = case["size"], None
        if case["kind"] == "inclusion":
            index = case["index"]
            got = T.inclusion_proof(index, size, _read(files, T.inclusion_tiles(index, size)))
        else:
            old = case["old"]
            got = T.consistency_proof(old, size, _read(files, T.consistency_tiles(old, size)))
        assert [h.hex() for h in got] == case["proof"], case
    roots = answers["roots"]
    assert isinstance(roots, dict)
    for size, root in roots.items():
        nodes = root_plan(int(size))
        hashes = T.node_hashes(nodes, int(size),
                               _read(files, T.tiles_for_nodes(nodes, int(size))))
        assert fold([hashes[n] for n in nodes]).hex() == root


def _tree(size: int) -> tuple[dict[NodeId, bytes], dict[Tile, bytes]]:
    """Every complete subtree hash of a tree of ``size`` synthetic leaves, and its tiles made
    from them as a writer does."""
    frontier, nodes = Frontier(), {}
    for i in range(size):
        nodes.update(frontier.append(hashlib.sha256(i.to_bytes(8, "big")).digest()))
    tiles = {t: b"".join(nodes[n] for n in t.nodes) for t in T.tree_tiles(size)
             if t.level >= 0}
    return nodes, tiles


@given(st.integers(1, 1500), st.data())
def test_proofs_from_tiles_are_the_rfc_9162_proofs(size: int, data: st.DataObject) -> None:
    nodes, tiles = _tree(size)
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    want = assemble(inclusion_plan(index, size), nodes)
    needed = T.inclusion_tiles(index, size)
    assert needed <= tiles.keys()
    assert T.inclusion_proof(index, size, {t: tiles[t] for t in needed}) == want
    needed = T.consistency_tiles(old, size)
    assert T.consistency_proof(old, size, {t: tiles[t] for t in needed}) == assemble(
        consistency_plan(old, size), nodes)


def test_a_proof_at_a_million_entries_needs_few_tiles() -> None:
    """Tiles per proof (bench/README.md): on each of the 3 tile levels of 10^6 entries, the
    tile on the leaf's path and the right edge's partial tile, which may be the same."""
    assert [len(T.inclusion_tiles(i, 10**6)) for i in (0, 123_456, 999_999, 999_900)] == [
        5, 5, 3, 4]
    with pytest.raises(KeyError):
        T.inclusion_proof(5, 10**6, {})
