"""What specs/storage.md section 2 and specs/map.md section 10 say a SQLite store does, read
from the specs and checked against a real store: the connection settings of a writing
connection, when the WAL checkpoint thread starts, and the bytes of the map's tile keys.

A compatible store reader is written from specs/ alone, so the values are taken from the
spec's own text here: a change to either side fails this."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import threading
from pathlib import Path

import pytest

from provenance_ledger.core.merkle import Frontier
from provenance_ledger.store import Block, SqliteStore
from provenance_ledger.store.base import Store
from provenance_ledger.store.map_tiles import tile_key, tile_position

from .test_sqlite import block

SPECS = Path(__file__).resolve().parents[2] / "specs"


def _storage_row(setting: str, cell: int = 1) -> str:
    """A cell of specs/storage.md section 2's settings table (1: the value, 2: why) in the
    row of ``setting``."""
    text = (SPECS / "storage.md").read_text(encoding="utf-8")
    m = re.search(rf"^\| `{re.escape(setting)}` \| ([^|]*) \| (.*) \|$", text, re.M)
    assert m is not None, f"specs/storage.md section 2 has no row for {setting}"
    return m.group(cell)


def _number(cell: str) -> int:
    """The first number of a cell, thousands separators allowed (``16,384 pages``)."""
    m = re.match(r"([0-9][0-9,]*)", cell)
    assert m is not None, cell
    return int(m.group(1).replace(",", ""))


def _mib(cell: str) -> int:
    m = re.search(r"([0-9]+) MiB", cell)
    assert m is not None, cell
    return int(m.group(1)) << 20


def test_a_writing_connection_has_the_settings_of_the_spec(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ledger.db")
    try:
        def pragma(name: str) -> object:
            return store.conn.execute(f"PRAGMA {name}").fetchone()[0]

        assert str(pragma("journal_mode")).upper() == _storage_row("PRAGMA journal_mode").strip(
            " `")
        assert pragma("synchronous") == {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}[
            _storage_row("PRAGMA synchronous").strip(" `")]
        assert pragma("foreign_keys") == (_storage_row("PRAGMA foreign_keys").strip(" `")
                                          == "ON")
        assert pragma("cache_size") == -(_mib(_storage_row("PRAGMA cache_size")) >> 10)
        fallback = _storage_row("PRAGMA wal_autocheckpoint")
        assert pragma("wal_autocheckpoint") == _number(fallback)
        assert _number(fallback) * pragma("page_size") == _mib(fallback)  # type: ignore[operator]
        assert pragma("journal_size_limit") == _mib(_storage_row("PRAGMA journal_size_limit"))
        assert pragma("mmap_size") == 0  # a writing connection maps nothing (no node cache)
    finally:
        store.close()


def test_the_checkpoint_thread_starts_when_the_spec_counts_2000_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The row count of specs/storage.md section 2, recomputed from its words: 6 an entry, 1 a
    tree node (leaves included) and map node, 1 for the checkpoint; a thread starts each time
    the sum reaches the spec's threshold, which then starts again from 0."""
    cell = _storage_row("PRAGMA wal_autocheckpoint", 2)
    m = re.search(r"once the sum reaches ([0-9,]+)", cell)
    assert m is not None
    threshold = int(m.group(1).replace(",", ""))
    started: list[int] = []
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        if thread.name == "sqlite-checkpoint":
            started.append(len(commits))
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    commits: list[int] = []
    expected: list[int] = []
    frontier = Frontier()
    store = SqliteStore(tmp_path / "ledger.db")
    try:
        total = 0
        # Sizes where counting leaves apart, or the checkpoint, or 5 or 7 an entry, would
        # start the threads after other blocks.
        for n in (78, 145, 117, 78, 64, 35, 160, 54, 88, 108, 36, 101):
            b = block(frontier, n, tag=f" c{len(commits)}")
            commits.append(n)
            total += 6 * len(b.entries) + len(b.nodes) + len(b.map_nodes) + 1
            if total >= threshold:
                total = 0
                expected.append(len(commits))
            store.commit_block(b)
            store.settle()  # each thread ends before the next commit: none runs again
        assert expected == [3, 7, 10] and started == expected
        # A step of the map's upgrade counts its map nodes and 1, as a block of them only.
        nodes = {(1 << 40) | i: bytes(32) for i in range(2000 - total - 2)}
        store.commit_map(nodes, store.map_size(), store.map_size())
        store.settle()
        assert started == expected  # one row short
        store.commit_map({(1 << 41): bytes(32)}, store.map_size(), store.map_size())
        store.settle()
        assert started == [*expected, len(commits)]
    finally:
        store.close()


def test_the_store_interface_is_the_one_section_1_lists() -> None:
    """A store written from specs/storage.md section 1 provides exactly the operations the
    ledger calls, and a block has exactly the fields the ledger fills."""
    text = (SPECS / "storage.md").read_text(encoding="utf-8")
    section = text[text.index("## 1. Store interface"):text.index("## 2. SQLite schema")]
    named = set(re.findall(r"`([a-z_]+)\(", section))
    protocol = {name for name in vars(Store) if not name.startswith("_")}
    assert named == protocol
    row = re.search(r"^\| `Block` \| (.*) \|$", section, re.M)
    assert row is not None
    fields = re.findall(r"(?:^|, )`([a-z_]+)` \(", row.group(1))
    assert fields == [f.name for f in dataclasses.fields(Block)]


# --- map.md section 10: a node's key by tile ---------------------------------------------------


def _spec_tile_keys() -> list[tuple[int, int, str]]:
    """(depth, P, key hex) of the examples under specs/map.md section 10's table."""
    text = (SPECS / "map.md").read_text(encoding="utf-8")
    section = text[text.index("## 10. "):text.index("## 11. ")]
    rows = re.findall(r"^\| ([0-9]+) \| `(0x[0-9a-f]+)` \| `([0-9a-f ]+)` \|$", section, re.M)
    return [(int(d), int(p, 16), k.replace(" ", "")) for d, p, k in rows]


def test_the_tile_keys_of_specs_map_md_section_10() -> None:
    cases = _spec_tile_keys()
    assert len(cases) >= 5
    for depth, p, key in cases:
        assert 0 <= p < 1 << depth or (depth == 0 and p == 0)
        position = (1 << depth) | p
        assert tile_key(position).hex() == key, (depth, hex(p))
        assert tile_position(bytes.fromhex(key)) == position


def test_tile_keys_from_the_spec_words(tmp_path: Path) -> None:
    """The key as the section's words build it (byte t + 1, q in t bytes, 2^(d - 8t) + the
    last d - 8t bits) is the key the store writes; keys of depths below 8k sort below the
    byte k + 1, one range."""
    def spec_key(position: int) -> bytes:
        d = position.bit_length() - 1
        p, t = position - (1 << d), d // 8
        rest = d - 8 * t
        return bytes([t + 1]) + (p >> rest).to_bytes(t, "big") + bytes(
            [(1 << rest) + (p & ((1 << rest) - 1))])

    for d in range(257):
        for p in {0, (1 << d) - 1, (0x5A5A5A5A << 230 | 0x1234567) % (1 << d) if d else 0}:
            position = (1 << d) | p
            key = spec_key(position)
            assert 2 <= len(key) <= 34
            assert tile_key(position) == key, (d, p)
            for k in range(1, 33):
                assert (d < 8 * k) == (key < bytes([k + 1]))
    store = SqliteStore(tmp_path / "ledger.db")
    try:
        positions = [(1 << 20) | 0xABCDE, 1, 2, 3, 1 << 8, 1 << 256]
        store.commit_map({p: bytes(32) for p in positions}, 0, 0)
        with sqlite3.connect(tmp_path / "ledger.db") as conn:
            stored = {bytes(r[0]) for r in conn.execute("SELECT pos FROM map_nodes")}
        assert stored == {spec_key(p) for p in positions}
    finally:
        store.close()
