"""Tests for provenance_ledger.store.cache: a node cache never changes what a store answers,
stays within its limit, and is never stale as the log grows. Real SQLite files; the cached
store's answers are compared with an uncached connection to the same file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance_ledger.core import merkle
from provenance_ledger.core.merkle import Frontier
from provenance_ledger.errors import StorageError
from provenance_ledger.ledger import inclusion_proof_with_leaf
from provenance_ledger.store import NodeCache, SqliteStore
from provenance_ledger.store.cache import LEVEL_SHIFT

from .test_sqlite import block


def _fill(path: Path, sizes: list[int]) -> Frontier:
    frontier = Frontier()
    store = SqliteStore(path)
    try:
        for n in sizes:
            store.commit_block(block(frontier, n, tag=f"@{frontier.size}"))
    finally:
        store.close()
    return frontier


def test_cached_reads_equal_uncached_reads_and_fill_only_upper_levels(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _fill(path, [300])
    cache = NodeCache(limit=10_000, min_level=3)
    cached, plain = SqliteStore(path, cache), SqliteStore(path)
    try:
        for index in range(0, 300, 7):
            for size in (index + 1, 300):
                assert (inclusion_proof_with_leaf(cached, index, size)
                        == inclusion_proof_with_leaf(plain, index, size))
        assert len(cache) > 0
        assert all(key >> LEVEL_SHIFT >= 3 for key in cache.hashes)
        # A second pass reads the cached hashes: the same answers again.
        wanted = merkle.plan_nodes(merkle.inclusion_plan(150, 300))
        assert cached.nodes(wanted) == plain.nodes(wanted)
    finally:
        cached.close()
        plain.close()


def test_cache_stays_within_its_limit_by_dropping_its_lowest_level(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _fill(path, [1024])
    cache = NodeCache(limit=40, min_level=1)
    store = SqliteStore(path, cache)
    try:
        everything = [(level, i) for level in range(1, 11) for i in range(1024 >> level)]
        assert len(store.nodes(everything)) == len(everything)
    finally:
        store.close()
    assert len(cache) <= 40
    # Levels 1..4 alone hold 512 + 256 + 128 + 64 nodes; 5 and up hold 63.
    assert cache.min_level == 6
    assert {key >> LEVEL_SHIFT for key in cache.hashes} == set(range(6, 11))


def test_cache_is_never_stale_as_the_log_grows(tmp_path: Path) -> None:
    """Hashes cached while the log was small are still right once it has grown: a complete
    subtree never changes. A writer appends on its own connection meanwhile."""
    path = tmp_path / "ledger.db"
    frontier = _fill(path, [64])
    cached, writer = SqliteStore(path, NodeCache(min_level=1)), SqliteStore(path)
    try:
        before = [inclusion_proof_with_leaf(cached, i, 64) for i in range(64)]
        for n in (37, 100, 5):
            writer.commit_block(block(frontier, n, tag=f"@{frontier.size}"))
        size = frontier.size
        plain = SqliteStore(path)
        try:
            for i in range(size):
                proof, leaf = inclusion_proof_with_leaf(cached, i, size)
                assert (proof, leaf) == inclusion_proof_with_leaf(plain, i, size)
                assert merkle.root_from_inclusion_proof(i, size, leaf, proof) == frontier.root()
            assert before == [inclusion_proof_with_leaf(plain, i, 64) for i in range(64)]
        finally:
            plain.close()
    finally:
        cached.close()
        writer.close()


def test_a_missing_node_is_still_an_error_with_a_cache(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _fill(path, [8])
    store = SqliteStore(path, NodeCache(min_level=0))
    try:
        with pytest.raises(StorageError, match="missing"):
            store.nodes([(0, 3), (2, 5)])
    finally:
        store.close()


def test_only_read_connections_with_a_cache_map_the_file(tmp_path: Path) -> None:
    """A writer that mapped the database would carry the whole file in its resident memory
    (specs/storage.md section 2): only a node's read connections map it."""
    path = tmp_path / "ledger.db"
    _fill(path, [8])
    writer, reader = SqliteStore(path), SqliteStore(path, NodeCache())
    try:
        assert writer.conn.execute("PRAGMA mmap_size").fetchone() == (0,)
        assert reader.conn.execute("PRAGMA mmap_size").fetchone()[0] > 0
    finally:
        writer.close()
        reader.close()


def test_cache_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        NodeCache(limit=0)
    with pytest.raises(ValueError):
        NodeCache(min_level=-1)


@settings(max_examples=40, deadline=None)
@given(blocks=st.lists(st.integers(1, 40), min_size=1, max_size=6),
       limit=st.integers(1, 64), min_level=st.integers(0, 6), data=st.data())
def test_cached_proofs_match_the_tree_for_any_log_and_cache_shape(
        tmp_path_factory: pytest.TempPathFactory, blocks: list[int], limit: int,
        min_level: int, data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("cache") / "ledger.db"
    frontier = _fill(path, blocks)
    cache = NodeCache(limit=limit, min_level=min_level)
    store, plain = SqliteStore(path, cache), SqliteStore(path)
    try:
        for _ in range(10):
            size = data.draw(st.integers(1, frontier.size))
            index = data.draw(st.integers(0, size - 1))
            proof, leaf = inclusion_proof_with_leaf(store, index, size)
            root = merkle.root_from_inclusion_proof(index, size, leaf, proof)
            plan = merkle.root_plan(size)
            assert root == merkle.fold([plain.nodes(plan)[n] for n in plan])
            assert len(cache) <= limit
    finally:
        store.close()
        plain.close()
