"""Freezing a PostgreSQL log into one SQLite file (specs/storage.md section 6.4), the first
step of a PostgreSQL node's rotation (specs/node.md section 10.1).

A frozen log leaves PostgreSQL as a SQLite store file, so that whatever serves, mirrors and
verifies frozen shards reads it as it reads a SQLite node's, and a frozen shard is one
self-contained file an operator can archive or hand over. :func:`freeze_postgres`:

1. removes what an interrupted earlier copy left (``<dest>.part`` and its journals);
2. in one snapshot of the PostgreSQL log, checks that its checkpoint at the final size has
   the final root, then copies the stored columns of every table (``EXPORTED``: meta,
   entries, nodes, checkpoints, map nodes; the derived columns are derived again by SQLite)
   into a new SQLite store at ``<dest>.part`` (0600, section 2's schema), a page at a time
   (a server-side cursor), hashing every row as it is read; the entries' four indexes are
   dropped first and built again from their own definitions once the entries are in;
3. checks the copy: every table's rows read back from the file hash as they did when read
   from PostgreSQL (so the same rows, in the same order, and as many), the checkpoint at the
   final size is the same row, the root recomputed from the copy's stored nodes is the final
   root, and SQLite's own ``integrity_check`` finds nothing;
4. puts the file in rollback-journal mode (no ``-wal`` or ``-shm`` beside it: one file),
   fsyncs it, renames it to ``dest`` and fsyncs the folder.

Any failure raises :class:`StorageError` (a SQLite or file system error wrapped in one) with
``dest`` not made and no ``.part`` left; PostgreSQL is only read.
Left out: emptying the PostgreSQL log afterwards (:meth:`PostgresStore.reset_log`) and the
rotation's journal (node/shards.py).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import merkle
from ..errors import StorageError
from .postgres import EXPORT_BATCH, EXPORTED, PostgresStore
from .sqlite import SqliteStore

PART_SUFFIX = ".part"
"""The copy's name until it is checked: ``ledger.db.part``."""
_INSERT = {
    "meta": "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
    "entries": "INSERT INTO entries (idx, id, leaf) VALUES (?, ?, ?)",
    "nodes": "INSERT INTO nodes (key, hash) VALUES (?, ?)",
    "checkpoints": "INSERT INTO checkpoints (size, root, note, at) VALUES (?, ?, ?, ?)",
    "map_nodes": "INSERT INTO map_nodes (pos, node) VALUES (?, ?)",
}
_READ_BACK = {
    "meta": "SELECT key, value FROM meta ORDER BY key",
    "entries": "SELECT idx, id, leaf FROM entries ORDER BY idx",
    "nodes": "SELECT key, hash FROM nodes ORDER BY key",
    "checkpoints": "SELECT size, root, note, at FROM checkpoints ORDER BY size",
    "map_nodes": "SELECT pos, node FROM map_nodes ORDER BY pos",
}

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: rows copied of a table (cli/progress.py's ``Bars``)."""


@dataclass(frozen=True, slots=True)
class Frozen:
    """What a freeze copied: rows per table, the file's size in bytes, the seconds taken."""

    rows: dict[str, int]
    file_bytes: int
    seconds: float


class _RowHash:
    """SHA-256 of a table's rows, and their count. A row is hashed as the ``repr`` of its
    tuple of values (ints, str, bytes or None, as both drivers return them): unambiguous, and
    computed in C, a row at a time, whatever the pages it was read in."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.count = 0

    def update(self, rows: list[tuple[Any, ...]]) -> None:
        self.count += len(rows)
        self._h.update("".join(map(repr, rows)).encode("utf-8", "backslashreplace"))

    def digest(self) -> tuple[int, bytes]:
        return self.count, self._h.digest()


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + PART_SUFFIX)


def _remove_part(part: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = part.with_name(part.name + suffix)
        if p.exists():
            p.unlink()


def freeze_postgres(source: PostgresStore, dest: Path, final_size: int, final_root: bytes,
                    progress: Progress | None = None, batch: int = EXPORT_BATCH) -> Frozen:
    """Copy the log in ``source`` into a new SQLite store file ``dest``, checked, durable,
    whole or not at all (module docstring); ``dest`` must not exist."""
    if dest.exists():
        raise StorageError(f"{dest} exists already: a frozen log is never overwritten")
    started = time.perf_counter()
    part = part_path(dest)
    try:
        # (1) what an interrupted copy left
        _remove_part(part)
        # (2) the copy, from one snapshot
        copy = SqliteStore(part)
        try:
            with source.snapshot():
                row = source.checkpoint(final_size)
                if row is None or row.root != final_root:
                    raise StorageError(f"{_shown(source)} has no checkpoint of size "
                                       f"{final_size} with root {final_root.hex()}: it is not "
                                       "the log being frozen")
                copied = _copy(source, copy, progress, batch)
            # (3) the checks
            _check(copy, copied, row.size, row.root, row.note, row.at)
            # (4) one file, durable, in place
            copy.settle()  # its WAL checkpoint's connection closed: this one is alone
            copy.conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
        for suffix in ("-wal", "-shm"):
            if part.with_name(part.name + suffix).exists():
                raise StorageError(f"{part} still has a {suffix} file after it was closed")
        _fsync(part)
        os.replace(part, dest)
        _fsync(dest.parent)
    except (sqlite3.Error, OSError) as e:
        _remove_part(part)
        raise StorageError(f"could not write the frozen copy {part}: {e}") from e
    except BaseException:
        _remove_part(part)
        raise
    sizes = {table: count for table, (count, _) in copied.items()}
    return Frozen(sizes, dest.stat().st_size, time.perf_counter() - started)


def _copy(source: PostgresStore, copy: SqliteStore, progress: Progress | None, batch: int
          ) -> dict[str, tuple[int, bytes]]:
    """Every exported table's rows from ``source`` into ``copy``, a page per transaction;
    (count, hash) of each table's rows as read."""
    conn = copy.conn
    # The file is a temporary one until it is checked and fsynced whole (step 4): a crash
    # meanwhile leaves a .part the next attempt removes, so no sync per page.
    conn.execute("PRAGMA synchronous=OFF")
    # The entries' indexes are built once, after the rows are in, from their own definitions
    # (a sort each, rather than a B-tree insert per row for each of four indexes).
    indexes = conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND "
                           "tbl_name = 'entries' AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    out: dict[str, tuple[int, bytes]] = {}
    for table in EXPORTED:
        total = source.row_count(table) if progress is not None else 0
        seen = _RowHash()
        for rows in source.export_rows(table, batch):
            seen.update(rows)
            conn.execute("BEGIN")
            conn.executemany(_INSERT[table], rows)
            conn.execute("COMMIT")
            if progress is not None:
                progress(f"freezing {table}", seen.count, total)
        out[table] = seen.digest()
        if table == "entries":
            for _, sql in indexes:
                conn.execute(sql)
    conn.execute("PRAGMA synchronous=FULL")
    return out


def _check(copy: SqliteStore, copied: dict[str, tuple[int, bytes]], size: int, root: bytes,
           note: str, at: int) -> None:
    """Step (3): the file holds what was read, and its tree has the final root."""
    for table, query in _READ_BACK.items():
        back = _RowHash()
        cur = copy.conn.execute(query)
        while rows := cur.fetchmany(EXPORT_BATCH):
            back.update(rows)
        if back.digest() != copied[table]:
            raise StorageError(f"the copy of table {table} in {copy.path} differs from the "
                               f"log's ({back.count} rows read back, {copied[table][0]} "
                               "copied)")
    kept = copy.checkpoint(size)
    if kept is None or tuple(kept) != (size, root, note, at):
        raise StorageError(f"{copy.path} lacks the final checkpoint of size {size}")
    plan = merkle.root_plan(size)
    hashes = copy.nodes(plan)
    if any(n not in hashes for n in plan):
        raise StorageError(f"the tree in {copy.path} lacks nodes of the final root at size "
                           f"{size}")
    if (merkle.fold([hashes[n] for n in plan]) if plan else merkle.EMPTY_ROOT) != root:
        raise StorageError(f"the tree in {copy.path} does not have the final root at size "
                           f"{size}")
    if copy.size() != size:
        # The log grew while it was copied: the rotation journals the new final checkpoint
        # and copies it again (node/shards.py).
        raise StorageError(f"{copy.path} holds {copy.size()} entries, not the final {size}")
    problems = copy.integrity_problems()
    if problems:
        raise StorageError(f"{copy.path} fails SQLite's integrity check: {problems[0]}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _shown(source: PostgresStore) -> str:
    from .postgres import redact

    return redact(source.url)
