"""Tests for provenance_ledger.store.sqlite: the schema, atomic blocks, reopening, bad files.

Every test works on a real SQLite file under tmp_path and inspects it with a second, plain
``sqlite3`` connection where the store's own answers could hide something.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance_ledger.core.merkle import Frontier, leaf_hash
from provenance_ledger.errors import StorageError
from provenance_ledger.store import Block, CheckpointRow, EntryRow, SqliteStore
from provenance_ledger.store.sqlite import SCHEMA_VERSION, node_key

from ..conftest import NOW

TABLES = ("meta", "entries", "nodes", "checkpoints")
WORK_A = "sha256:" + "a0" * 32
WORK_B = "sha256:" + "b0" * 32


def store_leaf(work: str, tag: str) -> bytes:
    """A leaf as the store sees one: JSON whose ``event`` names its work and type (the store
    reads nothing else of it, and checks no signature)."""
    return json.dumps({"event": {"type": "work.register", "work": work, "tag": tag}}).encode()


def block(frontier: Frontier, count: int, work: str = WORK_A, tag: str = "") -> Block:
    """The next ``count`` entries with the subtree hashes they complete and a checkpoint."""
    out = Block()
    for _ in range(count):
        index = frontier.size
        leaf = store_leaf(work, f"{index}{tag}")
        h = leaf_hash(leaf)
        out.nodes.extend(frontier.append(h))
        out.entries.append(EntryRow(index, h, work, "work.register", leaf))
    out.checkpoint = CheckpointRow(frontier.size, frontier.root(), f"note at {frontier.size}\n",
                                   NOW)
    return out


def counts(path: Path) -> dict[str, int]:
    """Rows per table, read through a separate connection."""
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                for t in TABLES}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(path)
    yield s
    s.close()


def test_schema_is_created(store: SqliteStore, path: Path) -> None:
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert set(TABLES) <= names
    assert mode == "wal"
    assert store.get_meta("schema") == SCHEMA_VERSION
    assert store.size() == 0
    assert store.latest_checkpoint() is None
    assert list(store.checkpoints()) == []
    assert counts(path) == {"meta": 1, "entries": 0, "nodes": 0, "checkpoints": 0}


def test_blocks_are_written_and_read_back(store: SqliteStore) -> None:
    frontier = Frontier()
    first, second = block(frontier, 5), block(frontier, 3, work=WORK_B)
    store.commit_block(first)
    store.commit_block(second)
    assert store.size() == 8
    assert store.entry(6) == second.entries[1]
    assert store.entry_by_id(first.entries[2].id) == first.entries[2]
    assert store.entry_by_id(b"\x00" * 32) is None
    assert list(store.entries(3, 6)) == first.entries[3:] + second.entries[:1]
    assert store.work_entries(WORK_B) == second.entries
    assert store.works_present([WORK_A, WORK_B, "sha256:" + "c0" * 32]) == {WORK_A, WORK_B}
    assert store.works_with_prefix("sha256:a0a0", 5) == [WORK_A]
    assert store.works_with_prefix("sha256:", 5) == [WORK_A, WORK_B]
    made = dict(first.nodes + second.nodes)
    assert store.nodes(made) == made
    assert dict(store.all_nodes()) == {n: h for n, h in made.items() if n[0] > 0}
    assert store.latest_checkpoint() == second.checkpoint
    assert store.checkpoint(5) == first.checkpoint
    assert store.checkpoint(4) is None
    assert list(store.checkpoints()) == [first.checkpoint, second.checkpoint]


def test_missing_rows_are_storage_errors(store: SqliteStore) -> None:
    store.commit_block(block(Frontier(), 3))
    with pytest.raises(StorageError, match="entry 7"):
        store.entry(7)
    with pytest.raises(StorageError, match=r"\(1, 1\)"):
        store.nodes([(1, 0), (1, 1)])


@pytest.mark.parametrize(
    "clash",
    ["index", "event-id", "node", "checkpoint-size"],
)
def test_failed_block_leaves_nothing_behind(store: SqliteStore, path: Path, clash: str) -> None:
    frontier = Frontier()
    first = block(frontier, 4)
    store.commit_block(first)
    before = counts(path)
    bad = block(frontier.copy(), 4, tag=" new")
    assert len(bad.entries) == 4 and len(bad.nodes) > 4
    if clash == "index":  # the last entry claims an index that is taken
        e = bad.entries[-1]
        bad.entries[-1] = EntryRow(1, e.id, e.work, e.type, e.leaf)
    elif clash == "event-id":  # the same event twice in the log
        e = bad.entries[-1]
        bad.entries[-1] = EntryRow(e.index, first.entries[0].id, e.work, e.type, e.leaf)
    elif clash == "node":  # a subtree hash that is already stored
        bad.nodes.append(((1, 0), b"\x00" * 32))
    else:  # a second checkpoint for a size that has one
        bad.checkpoint = first.checkpoint
    with pytest.raises(StorageError, match="could not write block"):
        store.commit_block(bad)
    assert counts(path) == before
    assert store.size() == 4
    assert store.latest_checkpoint() == first.checkpoint
    # The failed transaction was rolled back, not left open: the next block lands.
    good = block(frontier, 2)
    store.commit_block(good)
    assert counts(path)["entries"] == 6
    assert store.latest_checkpoint() == good.checkpoint


def test_reopen_preserves_data(path: Path) -> None:
    frontier = Frontier()
    blocks = [block(frontier, n, tag=f" b{i}") for i, n in enumerate((1, 2, 5))]
    store = SqliteStore(path)
    for b in blocks:
        store.commit_block(b)
    store.set_meta("origin", "log.example/test")
    store.close()
    again = SqliteStore(path)
    try:
        assert again.size() == 8
        assert list(again.entries(0, 8)) == [e for b in blocks for e in b.entries]
        assert list(again.checkpoints()) == [b.checkpoint for b in blocks]
        assert again.get_meta("origin") == "log.example/test"
        made = {n: h for b in blocks for n, h in b.nodes}
        assert again.nodes(made) == made
    finally:
        again.close()


def test_committed_blocks_reach_the_database_file_on_a_thread(tmp_path: Path,
                                                              path: Path) -> None:
    """A writing store moves what it committed from the WAL into the database file on a
    thread of its own (specs/storage.md section 2): once it has settled, the file alone, copied
    without its -wal, holds every block, and no checkpoint thread is left."""
    frontier = Frontier()
    store = SqliteStore(path)
    try:
        for i in range(4):  # about 1,050 rows a block: a checkpoint after the 2nd and the 4th
            store.commit_block(block(frontier, 150, tag=f" b{i}"))
        store.settle()
        assert not [t for t in threading.enumerate() if t.name == "sqlite-checkpoint"]
        shutil.copyfile(path, tmp_path / "copy.db")
        with sqlite3.connect(tmp_path / "copy.db") as conn:
            assert conn.execute("SELECT count(*) FROM entries").fetchone() == (600,)
        assert store.size() == 600
    finally:
        store.close()


def test_the_checkpoint_thread_never_creates_a_database(
        tmp_path: Path, path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """With the file moved away under an open store (a restore, a rotation), the checkpoint
    opens no new empty database in its place: it fails, says so once in the log, and the
    blocks stay in the moved file and its WAL."""
    frontier = Frontier()
    store = SqliteStore(path)
    moved = tmp_path / "moved.db"
    try:
        path.rename(moved)
        with caplog.at_level(logging.WARNING, logger="provenance_ledger.store"):
            for i in range(4):
                store.commit_block(block(frontier, 150, tag=f" m{i}"))
            store.settle()
        assert not path.exists()
        failures = [r for r in caplog.records if "WAL checkpoint failed" in r.getMessage()]
        assert len(failures) == 1
    finally:
        store.close()


def test_a_block_commits_even_when_no_checkpoint_thread_can_start(
        path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    frontier = Frontier()
    store = SqliteStore(path)

    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    try:
        monkeypatch.setattr(threading.Thread, "start", no_thread)
        with caplog.at_level(logging.WARNING, logger="provenance_ledger.store"):
            for i in range(3):
                assert store.commit_block(block(frontier, 150, tag=f" t{i}")) is True
        assert store.size() == 450
        assert any("cannot start" in r.getMessage() for r in caplog.records)
        store.settle()
    finally:
        store.close()


def test_a_fork_waits_for_the_checkpoint_under_way(tmp_path: Path, path: Path) -> None:
    """A process forked right after a commit that started a checkpoint (as ``anchor DIR``
    forks its worker) finds that checkpoint done: the database file alone holds every block."""
    frontier = Frontier()
    store = SqliteStore(path)
    try:
        for i in range(2):
            store.commit_block(block(frontier, 150, tag=f" f{i}"))  # the 2nd starts one
        child = os.fork()
        if child == 0:  # the child: copy the file alone and count its entries
            code = 1
            try:
                shutil.copyfile(path, tmp_path / "forked.db")
                with sqlite3.connect(tmp_path / "forked.db") as conn:
                    code = 0 if conn.execute("SELECT count(*) FROM entries").fetchone() == (
                        300,) else 3
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        store.close()


def test_wrong_schema_version(path: Path) -> None:
    SqliteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema'")
    with pytest.raises(StorageError, match="999"):
        SqliteStore(path)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM meta WHERE key = 'schema'")
    with pytest.raises(StorageError, match="schema None"):
        SqliteStore(path)


def test_non_database_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(hashlib.sha256(b"not sqlite").digest() * 256)
    with pytest.raises(StorageError, match="cannot open ledger database"):
        SqliteStore(path)


def test_text_file_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_text("this is a plain text file, not a SQLite database\n" * 100)
    with pytest.raises(StorageError):
        SqliteStore(path)


def test_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        SqliteStore(tmp_path)


def test_other_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE entries (name TEXT)")
    with pytest.raises(StorageError):
        SqliteStore(path)


def test_node_keys_do_not_collide() -> None:
    keys = {node_key((level, index)) for level in range(1, 40) for index in (0, 1, 2**40)}
    assert len(keys) == 39 * 3
