"""Freezing a PostgreSQL log into one SQLite file (specs/storage.md section 6.4): the copy is
read page by page, holds every row, is checked before it is put in place, and is not made at
all when the log or the copy is not what it should be."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance_ledger.errors import StorageError
from provenance_ledger.ledger import Appended, Home, Ledger, audit
from provenance_ledger.store import PostgresStore, SqliteStore
from provenance_ledger.store import freeze as freeze_module
from provenance_ledger.store.freeze import freeze_postgres, part_path

from ..conftest import NOW, KeyFactory, Signer
from ..node.conftest import register

ORIGIN = "freeze.test/log"


@pytest.fixture
def pg_log(tmp_path: Path, schema_url: str, sign: Signer, keys: KeyFactory
           ) -> Iterator[Ledger]:
    """A ledger in PostgreSQL of five registrations in three blocks (so several checkpoints,
    tree nodes and map nodes)."""
    ledger = Home(tmp_path / "home", store=schema_url).open_ledger(origin=ORIGIN)
    leaves = [register(sign, keys(f"k{i % 2}"), f"freeze-{i}").leaf for i in range(5)]
    for block in (leaves[:2], leaves[2:3], leaves[3:]):
        assert all(isinstance(r, Appended) for r in ledger.append_block(block, NOW))
    yield ledger
    ledger.close()


def test_the_copy_holds_every_row_and_is_one_private_file(tmp_path: Path,
                                                          pg_log: Ledger) -> None:
    store = pg_log.store
    assert isinstance(store, PostgresStore)
    cp = store.latest_checkpoint()
    assert cp is not None and cp.size == 5
    dest = tmp_path / "frozen" / "ledger.db"
    dest.parent.mkdir()
    seen: list[tuple[str, int, int]] = []
    done = freeze_postgres(store, dest, 5, cp.root,
                           progress=lambda *a: seen.append(a), batch=2)
    assert done.rows["entries"] == 5 and done.rows["map_nodes"] == store.map_node_count()
    assert done.rows["checkpoints"] == 3 and done.file_bytes == dest.stat().st_size
    # read two rows at a time: three pages of entries, each told
    assert [s for s in seen if s[0] == "freezing entries"] == [
        ("freezing entries", 2, 5), ("freezing entries", 4, 5), ("freezing entries", 5, 5)]
    assert dest.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in dest.parent.iterdir()) == ["ledger.db"]
    fresh = SqliteStore(tmp_path / "fresh.db")
    try:
        schema = "SELECT type, name, sql FROM sqlite_schema ORDER BY name"
        with sqlite3.connect(dest) as conn:  # the indexes built after the copy, as defined
            assert conn.execute(schema).fetchall() == fresh.conn.execute(schema).fetchall()
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    finally:
        fresh.close()
    copy = SqliteStore(dest, readonly=True)
    try:
        assert list(copy.entries(0, 5)) == list(store.entries(0, 5))
        assert list(copy.checkpoints()) == list(store.checkpoints())
        assert dict(copy.all_map_nodes()) == dict(store.all_map_nodes())
        assert list(copy.all_nodes()) == list(store.all_nodes())
        assert copy.get_meta("origin") == ORIGIN and copy.map_size() == 5
        frozen = Ledger(copy, None, pg_log.verifier)
        assert audit(frozen).entries == 5
        assert frozen.receipt(3).to_json() == pg_log.receipt(3).to_json()
    finally:
        copy.close()


def test_nothing_is_made_for_another_log_or_a_lossy_copy(
        tmp_path: Path, pg_log: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    store = pg_log.store
    assert isinstance(store, PostgresStore)
    cp = store.latest_checkpoint()
    assert cp is not None
    dest = tmp_path / "ledger.db"
    with pytest.raises(StorageError, match="no checkpoint of size 5 with root 00+: it is not"):
        freeze_postgres(store, dest, 5, bytes(32))
    assert not dest.exists() and not part_path(dest).exists()
    # a copy that lost rows is found by reading it back
    monkeypatch.setitem(freeze_module._INSERT, "map_nodes",
                        "INSERT INTO map_nodes (pos, node) SELECT ?, ? WHERE 0")
    with pytest.raises(StorageError, match="copy of table map_nodes .* differs"):
        freeze_postgres(store, dest, 5, cp.root)
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]
    monkeypatch.undo()
    freeze_postgres(store, dest, 5, cp.root)
    with pytest.raises(StorageError, match="exists already"):
        freeze_postgres(store, dest, 5, cp.root)
    assert store.size() == 5  # PostgreSQL was only read


def test_the_reset_empties_only_the_log_being_frozen(pg_log: Ledger) -> None:
    store = pg_log.store
    assert isinstance(store, PostgresStore)
    with pytest.raises(StorageError, match=f"holds the log {ORIGIN}, not other.test/log"):
        store.reset_log("other.test/log", "freeze.test/log/2", 5)
    with pytest.raises(StorageError, match="holds 5 entries, not the 4 copied out"):
        store.reset_log(ORIGIN, "freeze.test/log/2", 4)  # appended to after the copy
    assert store.size() == 5 and store.get_meta("origin") == ORIGIN
    assert store.reset_log(ORIGIN, "freeze.test/log/2", 5) is True
    assert (store.size(), store.node_count(), store.map_node_count()) == (0, 0, 0)
    assert store.latest_checkpoint() is None and store.map_size() == 0
    assert store.get_meta("origin") == "freeze.test/log/2" and store.get_meta("schema") == "5"
    assert store.reset_log(ORIGIN, "freeze.test/log/2", 5) is False  # done already
