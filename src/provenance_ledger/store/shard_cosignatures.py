"""The cosignatures of a frozen shard's checkpoints (specs/node.md section 10.1, step 1).

``witness.db`` keeps the cosignatures peers' witnesses delivered for the node's own log by
size (``own_cosignatures``, ``first_own_cosignatures``: store/witness.py). When the node
rotates, those rows belong to the log being frozen: left there, the new log's checkpoints of
the same sizes would replace them, its witnessing would resume from the old log's size, and
its entries would be dated by the old log's cosignatures. So they move to the frozen shard's
own ``cosignatures.db`` (the same two tables), which then serves them with the shard's
checkpoints. The move copies first and deletes second, each step one transaction, so that a
move cut short and run again ends the same.

Cosignatures of a frozen checkpoint that arrive after the rotation (specs/node.md sections 3,
9.3 and 10.5: a peer's delivery, a mirror's, or one of the node's own witnesses asked late)
are stored here too, by :class:`ShardCosignatures`, with the rules of the live log: per
witness and checkpoint its newest one in ``own_cosignatures``, its first one kept for ever in
``first_own_cosignatures``. Deciding which is newest is the caller's (node/witness.py).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


class ShardCosignaturesTx:
    """Reads and writes inside one transaction on a frozen shard's ``cosignatures.db``; the
    same two methods as the witness's transaction on ``witness.db`` (store/witness.py), so
    node/witness.py stores a frozen checkpoint's cosignatures as it does its own log's."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def own_cosignature_line(self, size: int, witness: str) -> str | None:
        """The cosignature line kept for checkpoint ``size`` by witness key ``witness``."""
        row = self._c.execute("SELECT line FROM own_cosignatures WHERE size = ? AND name = ?",
                              (size, witness)).fetchone()
        return None if row is None else str(row[0])

    def store_own_cosignature(self, size: int, root: bytes, witness: str, line: str,
                              at: int) -> None:
        """Keep ``line`` as the witness's cosignature of checkpoint ``size`` (replacing the
        one kept); the witness's first one stays in ``first_own_cosignatures``."""
        self._c.execute("INSERT OR REPLACE INTO own_cosignatures VALUES (?, ?, ?, ?, ?)",
                        (size, root, witness, line, at))
        self._c.execute("INSERT OR IGNORE INTO first_own_cosignatures VALUES (?, ?, ?, ?, ?)",
                        (size, root, witness, line, at))


class ShardCosignatures:
    """A frozen shard's ``cosignatures.db`` opened for late cosignatures: each call opens its
    own connection (frozen shards are written rarely), the file is made 0600 with both tables
    when missing, and each :meth:`transaction` is ``BEGIN IMMEDIATE`` under a lock, so two
    deliveries cannot interleave their check and store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        conn = sqlite3.connect(str(self.path), isolation_level=None,
                               timeout=BUSY_TIMEOUT_S)
        try:
            for t in COSIGNATURE_TABLES:
                conn.execute(_SCHEMA.format(t))
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def transaction(self) -> Iterator[ShardCosignaturesTx]:
        """One write transaction; commits on a normal exit, rolls back on an exception."""
        with self._lock:
            try:
                conn = self._connect()
            except (OSError, sqlite3.Error) as e:
                raise StorageError(f"cannot open {self.path}: {e}") from e
            try:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as e:
                    raise StorageError(f"{self.path} is busy or unwritable: {e}") from e
                try:
                    yield ShardCosignaturesTx(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as e:
                    raise StorageError(f"could not commit {self.path}: {e}") from e
            finally:
                conn.close()

    def cosigned_size(self, witness: str) -> int | None:
        """The largest checkpoint of the frozen log that witness key ``witness`` cosigned
        (None: none kept)."""
        if not self.path.exists():
            return None
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                row = conn.execute("SELECT max(size) FROM own_cosignatures WHERE name = ?",
                                   (witness,)).fetchone()
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise StorageError(f"cannot read {self.path}: {e}") from e
        return None if row is None or row[0] is None else int(row[0])

    def names(self, size: int, root: bytes) -> set[str]:
        """The witness keys (by name) whose cosignature of checkpoint (size, root) is kept."""
        if not self.path.exists():
            return set()
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                return {str(r[0]) for r in conn.execute(
                    "SELECT name FROM own_cosignatures WHERE size = ? AND root = ?",
                    (size, root))}
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise StorageError(f"cannot read {self.path}: {e}") from e
