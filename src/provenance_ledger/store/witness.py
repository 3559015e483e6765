"""The witness database, ``witness.db`` in a node home (specs/node.md section 4): what the
node's witness cosigned, the evidence it holds, faulty origins, and the cosignatures peers
delivered for the node's own checkpoints. Nothing here decides anything
(core/witness.py does); node/witness.py runs the decisions inside :meth:`transaction`.

It is its own SQLite file, not ``ledger.db``: the ledger's store owns that schema, and the
witness must also serve a ``provenance node sync`` process while the server runs (both open
the file; every check-and-store is one ``BEGIN IMMEDIATE`` transaction, so two processes
cannot interleave). Tables:

``cosigned``        every checkpoint the witness cosigned, per origin and size (size, root,
                    the note as received, time); the largest size is the witness's state
``evidence``        two validly signed, inconsistent checkpoints of one origin
``faulty``          origins with evidence; the witness refuses their checkpoints
``map_evidence``    for ``map-root`` evidence, what recomputes the map (entries, border, map
                    proof), as the JSON of core/evidence.py ``MapRecomputation``
``own_cosignatures`` cosignatures that peers' witnesses delivered for this node's own
                    checkpoints, served with them by ``GET /checkpoint`` (a witness's newer
                    cosignature of the same checkpoint replaces its older one)
``first_own_cosignatures`` the first cosignature each witness delivered for each of those
                    checkpoints, never replaced: the earliest time a witness vouched for an
                    entry, once known, never moves (specs/node.md section 6)
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.encoding import b64decode, b64encode, canonical_json, load_json
from ..core.evidence import Evidence, MapRecomputation
from ..core.merkle import HASH_SIZE
from ..core.witness import Cosigned, Finding
from ..errors import StorageError, quoted
from .sqlite import connect_readonly, create_private

BUSY_TIMEOUT_MS = 10_000  # wait for another process's transaction on witness.db
WITNESS_SCHEMA_VERSION = "1"


class WitnessTx:
    """Reads and writes inside one witness transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def latest(self, origin: str) -> Cosigned | None:
        """The largest checkpoint of ``origin`` cosigned."""
        row = self._c.execute("SELECT origin, size, root, note, at FROM cosigned WHERE origin = ? "
                              "ORDER BY size DESC LIMIT 1", (origin,)).fetchone()
        return None if row is None else Cosigned(*row)

    def cosigned_at(self, origin: str, size: int) -> Cosigned | None:
        row = self._c.execute("SELECT origin, size, root, note, at FROM cosigned WHERE "
                              "origin = ? AND size = ?", (origin, size)).fetchone()
        return None if row is None else Cosigned(*row)

    def is_faulty(self, origin: str) -> bool:
        return self._c.execute("SELECT 1 FROM faulty WHERE origin = ?",
                               (origin,)).fetchone() is not None

    def record(self, origin: str, finding: Finding, now: int) -> None:
        """Keep evidence and mark ``origin`` faulty (from its first evidence on)."""
        cur = self._c.execute(
            "INSERT INTO evidence (origin, kind, note_a, note_b, path, detail, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (origin, finding.kind, finding.note_a, finding.note_b,
             "".join(b64encode(h) + "\n" for h in finding.path), finding.detail, now))
        if finding.map is not None:
            self._c.execute("INSERT INTO map_evidence VALUES (?, ?)",
                            (cur.lastrowid, canonical_json(finding.map.to_json()).decode()))
        self._c.execute("INSERT OR IGNORE INTO faulty VALUES (?, ?, ?)",
                        (origin, cur.lastrowid, now))

    def store_cosigned(self, cosigned: Cosigned) -> None:
        self._c.execute("INSERT OR REPLACE INTO cosigned VALUES (?, ?, ?, ?, ?)",
                        (cosigned.origin, cosigned.size, cosigned.root, cosigned.note,
                         cosigned.at))

    def own_cosignature_line(self, size: int, witness: str) -> str | None:
        """The cosignature line stored for this node's checkpoint of ``size`` by ``witness``."""
        row = self._c.execute("SELECT line FROM own_cosignatures WHERE size = ? AND name = ?",
                              (size, witness)).fetchone()
        return None if row is None else str(row[0])

    def store_own_cosignature(self, size: int, root: bytes, witness: str, line: str,
                              now: int) -> None:
        self._c.execute("INSERT OR REPLACE INTO own_cosignatures VALUES (?, ?, ?, ?, ?)",
                        (size, root, witness, line, now))
        self._c.execute("INSERT OR IGNORE INTO first_own_cosignatures VALUES (?, ?, ?, ?, ?)",
                        (size, root, witness, line, now))


class WitnessStore:
    """``witness.db``: thread-safe (one connection behind a lock) and safe across processes
    (each :meth:`transaction` is ``BEGIN IMMEDIATE``)."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        """``readonly``: an existing ``witness.db`` read and never written, as in a node home
        copied to an auditor or mounted read-only (specs/storage.md section 2.2)."""
        self._lock = threading.Lock()
        if readonly:
            try:
                self._conn = connect_readonly(path, "witness database")
            except sqlite3.DatabaseError as e:
                raise StorageError(f"cannot open witness database {path}: {e}") from e
            return
        try:
            create_private(path)  # 0600, as ledger.db (specs/storage.md section 2)
            self._conn = sqlite3.connect(str(path), isolation_level=None,
                                         check_same_thread=False,
                                         timeout=BUSY_TIMEOUT_MS / 1000)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._create()
        except (sqlite3.DatabaseError, OSError) as e:
            raise StorageError(f"cannot open witness database {path}: {e}") from e

    def _create(self) -> None:
        with self.transaction():
            c = self._conn
            c.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = c.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is not None:
                if row[0] != WITNESS_SCHEMA_VERSION:
                    raise StorageError(
                        f"witness schema {quoted(row[0])} is not {WITNESS_SCHEMA_VERSION!r}")
                self._create_first_cosignatures(c)  # a witness.db from before that table
                self._create_map_evidence(c)  # and from before this one
                return
            c.execute("CREATE TABLE cosigned (origin TEXT NOT NULL, size INTEGER NOT NULL, "
                      "root BLOB NOT NULL, note TEXT NOT NULL, at INTEGER NOT NULL, "
                      "PRIMARY KEY (origin, size))")
            c.execute("CREATE TABLE evidence (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                      "origin TEXT NOT NULL, kind TEXT NOT NULL, note_a TEXT NOT NULL, "
                      "note_b TEXT NOT NULL, path TEXT NOT NULL, detail TEXT NOT NULL, "
                      "at INTEGER NOT NULL)")
            c.execute("CREATE INDEX evidence_origin ON evidence (origin, id)")
            c.execute("CREATE TABLE faulty (origin TEXT PRIMARY KEY, evidence INTEGER NOT NULL, "
                      "at INTEGER NOT NULL)")
            c.execute("CREATE TABLE own_cosignatures (size INTEGER NOT NULL, root BLOB NOT NULL, "
                      "name TEXT NOT NULL, line TEXT NOT NULL, at INTEGER NOT NULL, "
                      "PRIMARY KEY (size, name))")
            self._create_first_cosignatures(c)
            self._create_map_evidence(c)
            c.execute("INSERT INTO meta VALUES ('schema', ?)", (WITNESS_SCHEMA_VERSION,))

    @staticmethod
    def _create_map_evidence(c: sqlite3.Connection) -> None:
        """The table of what recomputes the map for ``map-root`` evidence (idempotent: an
        older database gets it empty, its map-root evidence staying two checkpoints)."""
        c.execute("CREATE TABLE IF NOT EXISTS map_evidence (evidence INTEGER PRIMARY KEY, "
                  "data TEXT NOT NULL)")

    @staticmethod
    def _create_first_cosignatures(c: sqlite3.Connection) -> None:
        """The first-cosignature table, filled from what ``own_cosignatures`` still holds
        when it is added to an older database (idempotent)."""
        c.execute("CREATE TABLE IF NOT EXISTS first_own_cosignatures (size INTEGER NOT NULL, "
                  "root BLOB NOT NULL, name TEXT NOT NULL, line TEXT NOT NULL, "
                  "at INTEGER NOT NULL, PRIMARY KEY (size, name))")
        c.execute("INSERT OR IGNORE INTO first_own_cosignatures SELECT * FROM own_cosignatures")
        # Each witness's first cosignature of an entry, one seek (specs/node.md section 6).
        c.execute("CREATE INDEX IF NOT EXISTS first_own_cosignatures_by_name "
                  "ON first_own_cosignatures (name, size)")

    @contextmanager
    def transaction(self) -> Iterator[WitnessTx]:
        """One write transaction, under the thread lock; commits on any normal exit (returns
        included), rolls back on an exception."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as e:
                raise StorageError(f"witness database is busy or unwritable: {e}") from e
            try:
                yield WitnessTx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as e:
                raise StorageError(f"could not commit witness state: {e}") from e

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- reads outside a transaction ---------------------------------------------------------
    def latest(self, origin: str) -> Cosigned | None:
        """The largest checkpoint of ``origin`` cosigned."""
        with self._lock:
            return WitnessTx(self._conn).latest(origin)

    def is_faulty(self, origin: str) -> bool:
        with self._lock:
            return WitnessTx(self._conn).is_faulty(origin)

    def faulty_origins(self) -> dict[str, int]:
        """Faulty origins and the id of the first evidence against each."""
        with self._lock:
            return dict(self._conn.execute("SELECT origin, evidence FROM faulty ORDER BY origin"))

    def evidence(self, origin: str | None = None) -> list[Evidence]:
        """Evidence recorded, oldest first; only ``origin``'s when given."""
        args: tuple[str, ...] = ()
        where = ""
        if origin is not None:
            where, args = " WHERE origin = ?", (origin,)
        with self._lock:
            # A witness.db opened read-only may be older than the map_evidence table.
            joined = self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                        "name = 'map_evidence'").fetchone() is not None
            q = ("SELECT id, origin, kind, note_a, note_b, path, detail, at, data FROM evidence "
                 "LEFT JOIN map_evidence ON map_evidence.evidence = evidence.id" if joined else
                 "SELECT id, origin, kind, note_a, note_b, path, detail, at, NULL FROM evidence")
            rows = self._conn.execute(q + where + " ORDER BY id", args).fetchall()
        return [Evidence(i, o, k, (a, b),
                         tuple(b64decode(h, "stored path hash", HASH_SIZE)
                               for h in p.splitlines()), d, at,
                         None if m is None else MapRecomputation.from_json(
                             load_json(m, "stored map evidence")))
                for i, o, k, a, b, p, d, at, m in rows]

    def cosignature_lines(self, size: int, root: bytes) -> list[str]:
        """Peer witnesses' cosignature lines stored for this node's checkpoint (size, root)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT line FROM own_cosignatures WHERE size = ? AND root = ? ORDER BY name",
                (size, root)).fetchall()
        return [r[0] for r in rows]

    def first_cosignature_line_of(self, name: str, index: int) -> str | None:
        """The first cosignature line of the witness ``name`` on the smallest of this node's
        checkpoints larger than ``index`` that it cosigned: when that witness first vouched
        for entry ``index`` (one seek on the ``(name, size)`` index)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT line FROM first_own_cosignatures WHERE name = ? AND size > ? "
                "ORDER BY size LIMIT 1", (name, index)).fetchone()
        return None if row is None else str(row[0])

    def latest_own_cosignature_line(self, name: str) -> str | None:
        """The cosignature line of witness key ``name`` on the largest own checkpoint it
        cosigned (its newest of that checkpoint), if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT line FROM own_cosignatures WHERE name = ? ORDER BY size DESC LIMIT 1",
                (name,)).fetchone()
        return None if row is None else str(row[0])

    def own_cosigned_size(self, name: str) -> int | None:
        """The largest own checkpoint that witness key ``name`` cosigned, if any."""
        with self._lock:
            row = self._conn.execute("SELECT max(size) FROM own_cosignatures WHERE name = ?",
                                     (name,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])
