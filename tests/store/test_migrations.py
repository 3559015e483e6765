"""Homes written by earlier versions open, are migrated once, and audit clean
(specs/storage.md section 2.1); database files are private to their owner.
"""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from pathlib import Path

import pytest

from provenance_ledger.core import vmap
from provenance_ledger.errors import StorageError
from provenance_ledger.ledger import Home, audit
from provenance_ledger.ledger import ledger as ledger_module
from provenance_ledger.store import SqliteStore
from provenance_ledger.store.sqlite import SCHEMA_VERSION

from ..conftest import NOW, KeyFactory, Signer
from ..ledger.test_ledger import map_of
from .test_sqlite import WORK_A, WORK_B

# The tables of schema version 2, as that version created them.
V2_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE entries (idx INTEGER PRIMARY KEY, id BLOB NOT NULL, work TEXT NOT NULL,
                      type TEXT NOT NULL, leaf BLOB NOT NULL);
CREATE UNIQUE INDEX idx_entries_id ON entries (id);
CREATE INDEX idx_entries_work_idx ON entries (work, idx);
CREATE TABLE nodes (key INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL,
                          at INTEGER NOT NULL);
INSERT INTO meta VALUES ('schema', '2');
"""


def as_version_2(home: Home) -> None:
    """Rewrite the home's database as version 2 stored it: the same rows, plain columns."""
    with sqlite3.connect(home.db_path) as conn:
        meta = conn.execute("SELECT key, value FROM meta WHERE key NOT IN ('schema', 'map_size')"
                            ).fetchall()
        entries = conn.execute("SELECT idx, id, work, type, leaf FROM entries").fetchall()
        nodes = conn.execute("SELECT key, hash FROM nodes").fetchall()
        cps = conn.execute("SELECT size, root, note, at FROM checkpoints").fetchall()
    home.db_path.unlink()
    with sqlite3.connect(home.db_path) as conn:
        conn.executescript(V2_SCHEMA)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", meta)
        conn.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", entries)
        conn.executemany("INSERT INTO nodes VALUES (?, ?)", nodes)
        conn.executemany("INSERT INTO checkpoints VALUES (?, ?, ?, ?)", cps)


def test_version_2_home_is_migrated_and_audits_clean(tmp_path: Path, sign: Signer,
                                                     keys: KeyFactory) -> None:
    home = Home(tmp_path / "home")
    creator = keys("creator")
    ledger = home.open_ledger()
    reg = sign(creator, "work.register", WORK_A, {"size": 1, "media_type": "text/plain"})
    other = sign(creator, "work.register", WORK_B, {"size": 2, "media_type": "text/plain"})
    ledger.append_block([reg.leaf, other.leaf], NOW)
    ledger.close()
    as_version_2(home)

    ledger = home.open_ledger()
    try:
        report = audit(ledger)
        assert report.entries == 2
        state = ledger.state(WORK_B)
        assert state is not None and state.head == other.id
        assert ledger.store.get_meta("schema") == SCHEMA_VERSION
    finally:
        ledger.close()
    with sqlite3.connect(home.db_path) as conn:
        with pytest.raises(sqlite3.OperationalError, match="generated column"):
            conn.execute("UPDATE entries SET work = ? WHERE idx = 1", (WORK_A,))
        applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
    assert applied == ["0001_tables", "0002_derived_work_and_type", "0003_map", "0004_map_tiles"]


def as_version_3(home: Home) -> None:
    """Make the home what the release before the verifiable map left: schema 3, no map."""
    with sqlite3.connect(home.db_path) as conn:
        conn.execute("DROP TABLE map_nodes")
        conn.execute("DELETE FROM meta WHERE key = 'map_size'")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0003_map'")


def test_version_3_home_builds_its_map_on_open_and_signs_it_next(
        tmp_path: Path, sign: Signer, keys: KeyFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """specs/map.md section 10, upgrade: the map of an existing log is built from its entries
    on first open, in steps that each commit, with progress; the next checkpoint carries it."""
    monkeypatch.setattr(ledger_module, "MAP_BUILD_ENTRIES", 3)  # several steps for 7 entries
    home = Home(tmp_path / "home")
    creator = keys("creator")
    ledger = home.open_ledger()
    leaves = []
    for n in range(6):
        work = "sha256:" + hashlib.sha256(b"w%d" % n).hexdigest()
        leaves.append(sign(creator, "work.register", work, {"size": 1,
                                                            "media_type": "text/plain"}))
    grant = sign(creator, "consent.grant", leaves[0].event.work,
                 {"grantee": keys("dev").public.text, "purposes": ["ai_training"]}, leaves[0].id)
    ledger.append_block([x.leaf for x in leaves] + [grant.leaf], NOW)
    expected = map_of([x.leaf for x in leaves] + [grant.leaf])
    ledger.close()
    as_version_3(home)

    seen: list[tuple[str, int, int]] = []
    ledger = home.open_ledger(progress=lambda *a: seen.append(a))
    try:
        assert [s[1:] for s in seen] == [(3, 7), (6, 7), (7, 7)]
        assert ledger.store.map_size() == 7
        assert vmap.stored_hash(ledger.store.map_nodes([1]).get(1)) == expected
        value = vmap.lookup(ledger.store, [vmap.map_key(grant.event.work)])
        assert vmap.MapValue.from_bytes(value[vmap.map_key(grant.event.work)]) == vmap.MapValue(
            bytes.fromhex(grant.id), 2, 6)
        late = sign(creator, "work.register", WORK_A, {"size": 1, "media_type": "text/plain"})
        ledger.append(late.leaf, NOW)
        cp, _ = ledger.latest_checkpoint()
        assert cp.map_root == map_of([x.leaf for x in leaves] + [grant.leaf, late.leaf])
        assert audit(ledger).entries == 8
    finally:
        ledger.close()
    seen.clear()
    home.open_ledger(progress=lambda *a: seen.append(a)).close()
    assert seen == []  # built once


def test_an_interrupted_map_build_resumes(tmp_path: Path, sign: Signer, keys: KeyFactory,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_module, "MAP_BUILD_ENTRIES", 2)
    home = Home(tmp_path / "home")
    creator = keys("creator")
    ledger = home.open_ledger()
    leaves = [sign(creator, "work.register", "sha256:" + hashlib.sha256(b"%d" % n).hexdigest(),
                   {"size": 1, "media_type": "text/plain"}).leaf for n in range(5)]
    ledger.append_block(leaves, NOW)
    ledger.close()
    as_version_3(home)

    def stop_after_first_step(stage: str, done: int, total: int) -> None:
        raise KeyboardInterrupt  # the user pressed Ctrl-C once a step had committed

    with pytest.raises(KeyboardInterrupt):
        home.open_ledger(progress=stop_after_first_step)
    store = SqliteStore(home.db_path)
    assert store.map_size() == 2
    store.close()
    ledger = home.open_ledger()
    try:
        assert ledger.store.map_size() == 5
        assert vmap.stored_hash(ledger.store.map_nodes([1]).get(1)) == map_of(leaves)
    finally:
        ledger.close()


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '6' WHERE key = 'schema'")
    with pytest.raises(StorageError, match="newer than this software"):
        SqliteStore(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("6",)


def test_database_files_are_private(tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home = Home(tmp_path / "home")
    ledger = home.open_ledger()
    ledger.append(sign(keys("c"), "work.register", WORK_A,
                       {"size": 1, "media_type": "text/plain"}).leaf, NOW)
    files = [p for p in home.path.iterdir() if p.name.startswith("ledger.db")]
    assert {p.name for p in files} >= {"ledger.db", "ledger.db-wal", "ledger.db-shm"}
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    ledger.close()


def test_an_older_wider_mode_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SqliteStore(path).close()
    path.chmod(0o644)
    SqliteStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_entries_by_key_finds_what_a_key_signed_and_what_it_was_given(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    creator, studio = keys("creator"), keys("studio")
    ledger = Home(tmp_path / "home").open_ledger()
    try:
        reg = sign(creator, "work.register", WORK_A, {"size": 1, "media_type": "text/plain"})
        offer = sign(creator, "licence.offer", WORK_A,
                     {"licensee": studio.public.text, "purposes": ["ai_training"]}, reg.id)
        moved = sign(creator, "work.transfer", WORK_A, {"to": studio.public.text}, offer.id)
        ledger.append_block([reg.leaf, offer.leaf, moved.leaf], NOW)
        store = ledger.store
        by = store.entries_by_key("actor", creator.public.text, ["work.register"])
        assert [e.id.hex() for e in by] == [reg.id]
        given = store.entries_by_key("party", studio.public.text,
                                     ["licence.offer", "work.transfer"])
        assert [e.id.hex() for e in given] == [offer.id, moved.id]
        assert store.entries_by_key("party", studio.public.text, ["work.transfer"],
                                    after=2) == []
        assert store.entries_by_key("party", creator.public.text, ["licence.offer"]) == []
    finally:
        ledger.close()


def test_a_damaged_schema_record_is_one_storage_error(tmp_path: Path) -> None:
    """A byte of the schema table flipped (a disk fault) can make SQLite's own error message
    undecodable; opening the home is still one StorageError, never a traceback."""
    home = Home(tmp_path / "home")
    home.open_ledger().close()
    data = bytearray(home.db_path.read_bytes())
    name = data.rfind(b"map_nodes", 0, data.find(b"CREATE TABLE map_nodes"))
    data[name - 7] ^= 0x80  # inside the schema record of map_nodes, before its names
    home.db_path.write_bytes(bytes(data))
    for p in home.path.glob("ledger.db-*"):
        p.unlink()
    with pytest.raises(StorageError, match="cannot open ledger database"):
        home.open_ledger()
