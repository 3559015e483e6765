"""The similarity index's SQLite file (specs/storage.md section 3.1): the ISCC content codes of
one log's registrations, keyed for multi-index hashing.

Derived data only, kept in a file of its own beside the log's database (``ledger.db`` ->
``ledger.similarity.db``; a mirror's ``<id>.db`` -> ``<id>.similarity.db``), so that appending
to the log never waits for it nor writes it. It is caught up from the log's entries when read,
from its watermark (the first log index not indexed yet). It can be deleted at any time: the
next read rebuilds it. Rows name log entries; the ledger layer re-reads every entry a look-up
returns from the log itself, so a damaged or altered index can hide a match but never invent
one.

Tables: ``meta`` (``watermark``, and ``first`` the id of the log's entry 0, hex, so that an
index left from another log is rebuilt) and ``codes`` (log index, unit type, the 64 bits as a
signed SQLite integer, one indexed column per chunk, and the registrant's key, so that a
look-up for other keys' works passes over a key's own registrations without reading them).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.similarity import CHUNK_WIDTHS, chunk_probes, split
from ..errors import StorageError
from .base import Store
from .sqlite import FILE_MODE, SqliteStore

SUFFIX = ".similarity.db"
CATCH_UP_BATCH = 50_000  # log entries read per transaction while catching up
_SCHEMA = "3"  # 3: the registrant of each row; 2: audio and video codes; older: rebuilt
_MAX_VARS = 900  # host parameters per query, below SQLite's limit
_REGISTER = "work.register"
_SIGN = 1 << 63


@dataclass(frozen=True, slots=True)
class CodeRow:
    """One indexed registration: its log index, unit type, code bits (unsigned) and
    registrant (the event's actor)."""

    index: int
    unit: int
    bits: int
    registrant: str


@dataclass(frozen=True, slots=True)
class LoggedCode:
    """The ``similarity`` text of the registration at a log index and its actor, as read from
    the log."""

    index: int
    text: str
    registrant: str


def index_path(db_path: Path) -> Path:
    """The index file beside a log database."""
    return db_path.with_name(db_path.stem + SUFFIX)


def _signed(bits: int) -> int:
    return bits - (1 << 64) if bits & _SIGN else bits


def _unsigned(value: int) -> int:
    return value & ((1 << 64) - 1)


class SimilarityStore:
    """The index file, or (``path`` None, or a folder that cannot be written) one in memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        try:
            self.conn = self._connect(path)
            self._schema()
        except (sqlite3.DatabaseError, OSError) as e:
            if path is None:
                raise StorageError(f"cannot open the similarity index: {e}") from e
            # a damaged file is derived data: start again in memory rather than fail a read
            self.path = None
            self.conn = self._connect(None)
            self._schema()

    @staticmethod
    def _connect(path: Path | None) -> sqlite3.Connection:
        if path is None:
            return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
            os.close(fd)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                               timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # derived data: a lost tail is re-indexed
        return conn

    def _schema(self) -> None:
        chunks = ", ".join(f"c{i} INTEGER NOT NULL" for i in range(len(CHUNK_WIDTHS)))
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != _SCHEMA:  # another schema's rows: index the log again
            self.conn.execute("DROP TABLE IF EXISTS codes")
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS codes (idx INTEGER PRIMARY KEY, "
                          f"unit INTEGER NOT NULL, bits INTEGER NOT NULL, {chunks}, "
                          f"registrant TEXT NOT NULL)")
        for i in range(len(CHUNK_WIDTHS)):
            # covering: a probe reads the index alone, never the table
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS codes_c{i} ON codes(unit, c{i}, bits)")
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != _SCHEMA:  # another schema's rows: index the log again
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("DELETE FROM codes")
            self.conn.execute("DELETE FROM meta WHERE key IN ('watermark', 'first')")
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (_SCHEMA,))
            self.conn.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def watermark(self) -> int:
        """The first log index not indexed yet."""
        value = self._meta("watermark")
        return int(value) if value is not None else 0

    def first(self) -> str | None:
        return self._meta("first")

    def reset(self, first: str | None) -> None:
        """Forget every row: the index is rebuilt from entry 0 of the log whose entry 0 has
        the id ``first``."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute("DELETE FROM codes")
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('watermark', '0')")
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('first', ?)", (first,))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def add(self, start: int, end: int, rows: Iterable[CodeRow]) -> bool:
        """Index ``rows`` (registrations of log entries ``start`` to ``end`` - 1) and move the
        watermark to ``end``, in one transaction; False (nothing done) when another reader
        moved the watermark from ``start`` meanwhile."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if self.watermark() != start:
                self.conn.execute("ROLLBACK")
                return False
            self.conn.executemany(
                f"INSERT OR REPLACE INTO codes VALUES (?, ?, ?, {_marks(len(CHUNK_WIDTHS))}, ?)",  # noqa: S608 - marks only
                ((r.index, r.unit, _signed(r.bits), *split(r.bits), r.registrant)
                 for r in rows))
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('watermark', ?)", (str(end),))
            self.conn.execute("COMMIT")
            return True
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def candidates(self, unit: int, bits: int, max_distance: int,
                   other_than: str | None = None) -> list[CodeRow]:
        """Rows of ``unit`` within ``max_distance`` bits of ``bits``, found by probing each
        chunk column with every value near the code's chunk (multi-index hashing), in index
        order; ``other_than``: only the rows of other registrants, left out by the probes
        themselves."""
        found: dict[int, int] = {}
        mine = "" if other_than is None else " AND registrant != ?"
        tail: tuple[str, ...] = () if other_than is None else (other_than,)
        for i, probes in enumerate(chunk_probes(bits, max_distance)):
            for start in range(0, len(probes), _MAX_VARS):
                part = probes[start : start + _MAX_VARS]
                found.update(self.conn.execute(
                    f"SELECT idx, bits FROM codes WHERE unit = ? AND c{i} IN "  # noqa: S608
                    f"({_marks(len(part))}){mine}", (unit, *part, *tail)))  # marks only
        near = {idx: code for idx, value in found.items()
                if ((code := _unsigned(value)) ^ bits).bit_count() <= max_distance}
        registrants: dict[int, str] = {}
        keys = sorted(near)
        for start in range(0, len(keys), _MAX_VARS):
            chunk = keys[start : start + _MAX_VARS]
            registrants.update(self.conn.execute(
                f"SELECT idx, registrant FROM codes WHERE idx IN ({_marks(len(chunk))})",  # noqa: S608 - marks only
                chunk))
        return [CodeRow(idx, unit, near[idx], registrants[idx]) for idx in keys
                if idx in registrants]

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM codes").fetchone()[0])

    def close(self) -> None:
        self.conn.close()


def registration_codes(store: Store, start: int, end: int) -> Iterator[LoggedCode]:
    """The ``similarity`` member of every registration among log entries ``start`` to
    ``end`` - 1. SQLite reads it from the stored leaves itself; another store is read entry by
    entry."""
    if isinstance(store, SqliteStore):
        try:
            rows = store.conn.execute(
                "SELECT idx, json_extract(CAST(leaf AS TEXT), '$.event.body.similarity'), actor "
                "FROM entries WHERE idx >= ? AND idx < ? AND type = ?",
                (start, end, _REGISTER)).fetchall()
        except sqlite3.DatabaseError as e:
            raise StorageError(f"ledger database read failed: {e}") from e
        for idx, text, actor in rows:
            if isinstance(text, str) and isinstance(actor, str):
                yield LoggedCode(idx, text, actor)
        return
    from ..core.encoding import load_json

    for row in store.entries(start, end):
        if row.type != _REGISTER:
            continue
        event = load_json(row.leaf, "log entry").get("event", {})
        body = event.get("body", {}) if isinstance(event, dict) else {}
        text = body.get("similarity") if isinstance(body, dict) else None
        actor = event.get("actor") if isinstance(event, dict) else None
        if isinstance(text, str) and isinstance(actor, str):
            yield LoggedCode(row.index, text, actor)


def _marks(n: int) -> str:
    return ", ".join("?" * n)
