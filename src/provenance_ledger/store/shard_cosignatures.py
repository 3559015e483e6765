"""The cosignatures of a frozen shard's checkpoints (specs/node.md section 10.1, step 1).

``witness.db`` keeps the cosignatures peers' witnesses delivered for the node's own log by
size (``own_cosignatures``, ``first_own_cosignatures``: store/witness.py). When the node
rotates, those rows belong to the log being frozen: left there, the new log's checkpoints of
the same sizes would replace them, its witnessing would resume from the old log's size, and
its entries would be dated by the old log's cosignatures. So they move to the frozen shard's
own ``cosignatures.db`` (the same two tables), which then serves them with the shard's
checkpoints. The move copies first and deletes second, each step one transaction, so that a
move cut short and run again ends the same.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import StorageError

COSIGNATURE_TABLES = ("own_cosignatures", "first_own_cosignatures")
BUSY_TIMEOUT_S = 10.0  # seconds to wait for a node sync holding witness.db
_SCHEMA = ("CREATE TABLE IF NOT EXISTS {} (size INTEGER NOT NULL, root BLOB NOT NULL, "
           "name TEXT NOT NULL, line TEXT NOT NULL, at INTEGER NOT NULL, "
           "PRIMARY KEY (size, name))")


def move_own_cosignatures(witness_db: Path, dest: Path) -> int:
    """Move every own cosignature of ``witness_db`` into ``dest`` (made 0600); returns how
    many rows of ``own_cosignatures`` moved. Nothing to do without a ``witness_db``."""
    if not witness_db.exists():
        return 0
    try:
        src = sqlite3.connect(str(witness_db), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            have = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = "
                                              "'table'")}
            tables = [t for t in COSIGNATURE_TABLES if t in have]
            rows = {t: src.execute(f"SELECT size, root, name, line, at FROM {t}").fetchall()  # noqa: S608
                    for t in tables}
            fd = os.open(dest, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            out = sqlite3.connect(str(dest), isolation_level=None)
            try:
                out.execute("BEGIN IMMEDIATE")
                for t in COSIGNATURE_TABLES:
                    out.execute(_SCHEMA.format(t))
                    out.executemany(f"INSERT OR IGNORE INTO {t} VALUES (?, ?, ?, ?, ?)",  # noqa: S608
                                    rows.get(t, []))
                out.execute("COMMIT")
            finally:
                out.close()
            src.execute("BEGIN IMMEDIATE")
            for t in tables:
                src.execute(f"DELETE FROM {t}")  # noqa: S608
            src.execute("COMMIT")
        finally:
            src.close()
    except sqlite3.Error as e:
        raise StorageError(f"cannot move the frozen log's cosignatures out of {witness_db}: "
                           f"{e}") from e
    return len(rows.get("own_cosignatures", []))


def cosignature_lines(db: Path, size: int, root: bytes) -> list[str]:
    """The cosignature lines kept for a frozen shard's checkpoint (size, root)."""
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return [r[0] for r in conn.execute(
                "SELECT line FROM own_cosignatures WHERE size = ? AND root = ? ORDER BY name",
                (size, root))]
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StorageError(f"cannot read {db}: {e}") from e
