"""The SQLite store's schema and its history (specs/storage.md section 2.1), with sqlite-utils.

Kept apart from store/sqlite.py so that a command opening a home that is already at
``SCHEMA_VERSION`` never loads sqlite-utils: only creating or migrating a home does.
"""

from __future__ import annotations

import sqlite3

from ..lazy import hidden

# sqlite-utils imports numpy and pandas when they are installed, only to map their number types
# to columns; this schema is written in SQL and gives it none. Hidden, a new home's first
# command does not load them (numpy alone is about 0.1 s of it: README "Speed", start-up).
with hidden("numpy", "pandas"):
    import sqlite_utils
    from sqlite_utils.migrations import Migrations

from .map_tiles import position_v4, tile_key  # noqa: E402 - after the imports above

MIGRATIONS = Migrations("provenance-ledger")
"""The schema's history (specs/storage.md section 2.1): every home, however old, is brought to
``SCHEMA_VERSION`` by applying the migrations it has not had yet, each in one transaction."""

# The work and type of an entry are read from its leaf by SQLite itself, never written beside
# it: a column that could be rewritten without touching the signed leaf would let a reader see
# another work's history (specs/storage.md section 2).
_ENTRIES_SQL = """CREATE TABLE {name} (
    idx INTEGER PRIMARY KEY,
    id BLOB NOT NULL,
    leaf BLOB NOT NULL,
    work TEXT GENERATED ALWAYS AS (json_extract(CAST(leaf AS TEXT), '$.event.work')) VIRTUAL,
    type TEXT GENERATED ALWAYS AS (json_extract(CAST(leaf AS TEXT), '$.event.type')) VIRTUAL,
    actor TEXT GENERATED ALWAYS AS (json_extract(CAST(leaf AS TEXT), '$.event.actor')) VIRTUAL,
    party TEXT GENERATED ALWAYS AS (coalesce(
        json_extract(CAST(leaf AS TEXT), '$.event.body.to'),
        json_extract(CAST(leaf AS TEXT), '$.event.body.licensee'),
        json_extract(CAST(leaf AS TEXT), '$.event.body.grantee'))) VIRTUAL
)"""


@MIGRATIONS(name="0001_tables")
def _tables(db: sqlite_utils.Database) -> None:
    """Schema version 2's tables, for a new home; an existing home of version 2 has them."""
    tables = db.table_names()
    if "meta" not in tables:
        db.table("meta").create({"key": str, "value": str}, pk="key")
    if "entries" not in tables:
        db.execute(_ENTRIES_SQL.format(name="entries"))
        _entry_indexes(db)
    if "nodes" not in tables:
        db.table("nodes").create({"key": int, "hash": bytes}, pk="key", not_null={"hash"})
    if "checkpoints" not in tables:
        db.table("checkpoints").create(
            {"size": int, "root": bytes, "note": str, "at": int}, pk="size",
            not_null={"root", "note", "at"},
        )


@MIGRATIONS(name="0002_derived_work_and_type")
def _derived_columns(db: sqlite_utils.Database) -> None:
    """Version 3: ``entries.work`` and ``entries.type`` become columns derived from the leaf
    (a version 2 home stored them as plain columns, which could be rewritten unnoticed)."""
    hidden = {row[1]: row[6] for row in db.execute("PRAGMA table_xinfo(entries)")}
    if hidden.get("work") == 2:  # already a virtual generated column (a new home)
        return
    db.execute(_ENTRIES_SQL.format(name="entries_v3"))
    db.execute("INSERT INTO entries_v3 (idx, id, leaf) SELECT idx, id, leaf FROM entries")
    db.execute("DROP TABLE entries")
    db.execute("ALTER TABLE entries_v3 RENAME TO entries")
    _entry_indexes(db)


@MIGRATIONS(name="0003_map")
def _map_table(db: sqlite_utils.Database) -> None:
    """Version 4: the verifiable map's nodes (specs/map.md section 10). An existing home's map
    is built from its entries by the ledger when it is first opened for writing
    (``meta.map_size`` says how far it is built)."""
    db.execute("CREATE TABLE IF NOT EXISTS map_nodes (pos BLOB PRIMARY KEY, node BLOB NOT NULL)"
               " WITHOUT ROWID")


@MIGRATIONS(name="0004_map_tiles")
def _map_tiles(db: sqlite_utils.Database) -> None:
    """Version 5: the map's rows keyed by tile (specs/map.md section 10, table): every key of
    ``map_nodes`` rewritten, the nodes unchanged (a one-time cost: about 2.5 million rows at
    10^6 works). A new home's table is empty and only renamed through."""
    db.execute("CREATE TABLE map_nodes_v5 (pos BLOB PRIMARY KEY, node BLOB NOT NULL)"
               " WITHOUT ROWID")
    rows = db.execute("SELECT pos, node FROM map_nodes ORDER BY pos")
    # Keyed positions first, then any bytes no position has (kept, for an audit to find).
    odd: list[tuple[bytes, bytes]] = []
    batch: list[tuple[bytes, bytes]] = []
    for key, node in rows:
        pos = position_v4(key)
        if not pos:
            odd.append((key, node))
            continue
        batch.append((tile_key(pos), node))
        if len(batch) >= _MIGRATE_BATCH:
            _insert_sorted(db, batch)
            batch = []
    _insert_sorted(db, batch)
    db.conn.executemany("INSERT OR IGNORE INTO map_nodes_v5 VALUES (?, ?)", odd)
    db.execute("DROP TABLE map_nodes")
    db.execute("ALTER TABLE map_nodes_v5 RENAME TO map_nodes")


_MIGRATE_BATCH = 200_000  # rows re-keyed per insert while migrating to version 5


def _insert_sorted(db: sqlite_utils.Database, rows: list[tuple[bytes, bytes]]) -> None:
    rows.sort()
    db.conn.executemany("INSERT INTO map_nodes_v5 VALUES (?, ?)", rows)


def _entry_indexes(db: sqlite_utils.Database) -> None:
    db.execute("CREATE UNIQUE INDEX idx_entries_id ON entries(id)")
    db.execute("CREATE INDEX idx_entries_work_idx ON entries(work, idx)")
    db.execute("CREATE INDEX idx_entries_actor_type ON entries(actor, type, idx)")
    db.execute("CREATE INDEX idx_entries_party_type ON entries(party, type, idx)")


def migrate(conn: sqlite3.Connection) -> None:
    """Apply every migration the database has not had yet (the caller holds the transaction)."""
    MIGRATIONS.apply(sqlite_utils.Database(conn))
