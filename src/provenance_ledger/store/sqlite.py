"""SQLite store (specs/storage.md section 2).

Tables: ``meta``, ``entries`` (the leaves, by index, with their work and type), ``nodes``
(every complete subtree hash above the leaves, keyed by one integer ``level << 56 | index``),
``checkpoints`` (every signed checkpoint). Nothing derivable is stored: a work's state is
replayed from its entries. A block is one transaction, so an append lands whole (entries,
hashes, checkpoint) or not at all. WAL journal with ``synchronous=FULL``:
a committed block survives a crash or power loss. A writing store copies the committed WAL
frames into the database file (the WAL checkpoint) on a short-lived thread of its own, off the
commit path (:class:`_Checkpointer`, specs/storage.md section 2).
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
import urllib.parse
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ..core.merkle import NodeId
from ..errors import StorageError
from .base import Block, CheckpointRow, EntryRow
from .cache import LEVEL_SHIFT, NodeCache, read_through
from .map_tiles import key_v4, position_v4, tile_key, tile_position

_DAMAGED = (sqlite3.DatabaseError, UnicodeDecodeError)
"""What reading a damaged file raises: SQLite's errors, and (a damaged header can make SQLite's
own message undecodable) the decoding error of that message."""

P = ParamSpec("P")
R = TypeVar("R")

SCHEMA_VERSION = "5"
_CACHE_KIB = 32 * 1024  # page cache, KiB: keeps the upper B-tree levels of a large log in memory
_MMAP_BYTES = 0x7FFF0000  # SQLite's default ceiling: reads map the page cache, no copies
_SQLITE_MAX_VARS = 900  # stay below SQLite's host-parameter limit per query
FILE_MODE = 0o600  # the database and its -wal / -shm files: readable by the owner only
log = logging.getLogger("provenance_ledger.store")
_CHECKPOINT_ROWS = 2000  # rows committed since the last checkpoint that start another one
_WAL_FALLBACK_PAGES = 16384  # the commit checkpoints itself when the WAL reaches this (64 MiB)
_WAL_KEPT_BYTES = 64 * 2**20  # a WAL restarted after a burst is truncated to this

class _NotReady(Exception):  # noqa: N818 - not an error: a block not to be committed
    """Raised inside a block's transaction to roll it back."""


def node_key(node: NodeId) -> int:
    level, index = node
    return (level << LEVEL_SHIFT) | index


def map_pos(pos: int) -> bytes:
    """A map position as stored: by tile, then by its place in the tile (specs/map.md
    section 10, :mod:`.map_tiles`). So a tile's nodes are neighbours, and the levels above
    depth ``8k`` are one range."""
    return tile_key(pos)


def create_private(path: Path) -> None:
    """Create the database file with mode 0600 before SQLite opens it (SQLite gives its
    -wal and -shm files the mode of the database file), and tighten an older, wider one."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        os.close(fd)
    except FileExistsError:
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            try:
                if p.stat().st_mode & 0o077 and p.stat().st_uid == os.getuid():
                    p.chmod(FILE_MODE)
            except OSError:
                pass  # absent, or not ours to change: SQLite reports what matters


def _storage_errors(method: Callable[P, R]) -> Callable[P, R]:
    """A database failure while reading is a :class:`StorageError`, never a bare
    ``sqlite3`` error (specs/storage.md section 1)."""
    @functools.wraps(method)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except _DAMAGED as e:
            raise StorageError(f"ledger database read failed: {e}") from e
    return wrapped


def _rows(cursor_of: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    """Iterate a query's rows, a failure while reading being a :class:`StorageError`."""
    try:
        yield from cursor_of()
    except _DAMAGED as e:
        raise StorageError(f"ledger database read failed: {e}") from e



def connect_readonly(path: Path, what: str = "ledger database") -> sqlite3.Connection:
    """Open an existing database without writing to it or beside it. ``mode=ro`` still needs
    to create the ``-shm`` file of a WAL database when it is missing; where the folder cannot
    be written (a read-only mount), the file is opened as immutable, which is what it is."""
    if not path.is_file():
        raise StorageError(f"no {what} at {path}")
    uri = "file:" + urllib.parse.quote(str(path.resolve()))
    try:
        conn = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn = sqlite3.connect(uri + "?immutable=1", uri=True, isolation_level=None,
                               check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        return conn


class _Checkpointer:
    """The WAL checkpoint of a writing store, off its commit path (specs/storage.md section
    2): once enough rows have been committed, a thread of its own opens a connection to the
    existing database file (never creating one), copies the committed WAL frames into it
    (``wal_checkpoint(PASSIVE)``, which waits for no reader or writer; a checkpoint syncs
    the file) and ends. SQLite does the work with the GIL released, so the next block is
    worked out meanwhile. A committed block is durable once its commit has synced the WAL: a
    checkpoint only moves it, and a crash during one loses nothing. A checkpoint that fails
    is logged (once per kind of failure) and left to the next one, or to the commit's own
    once the WAL reaches ``_WAL_FALLBACK_PAGES``. No thread outlives its checkpoint, and a
    fork waits for any under way (:func:`_settle_all`), so a child never inherits one."""

    __slots__ = ("_uri", "_lock", "_thread", "_again", "_rows", "_failures", "__weakref__")

    def __init__(self, path: Path) -> None:
        self._uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=rw"
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False  # rows committed while the thread ran: it checkpoints once more
        self._rows = 0
        self._failures: set[str] = set()
        _CHECKPOINTERS.add(self)

    def committed(self, rows: int) -> None:
        """Told after each commit how many rows it wrote. Never raises: the block is
        committed whatever happens here."""
        self._rows += rows
        if self._rows < _CHECKPOINT_ROWS:
            return
        self._rows = 0
        with self._lock:
            if self._thread is not None:
                self._again = True
                return
            thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
            try:
                thread.start()
            except RuntimeError as e:  # no thread to be had: the fallback checkpoints
                self._failed(f"cannot start the checkpoint thread: {e}")
                return
            self._thread = thread

    def _run(self) -> None:
        while True:
            try:
                conn = sqlite3.connect(self._uri, uri=True, isolation_level=None)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                finally:
                    conn.close()
            except sqlite3.Error as e:
                self._failed(f"WAL checkpoint failed: {e}")
            with self._lock:
                if not self._again:
                    self._thread = None
                    return
                self._again = False

    def _failed(self, what: str) -> None:
        if what not in self._failures:
            self._failures.add(what)
            log.warning(what, extra={"fields": {"database": self._uri}})

    def settle(self) -> None:
        """Wait for the checkpoint under way, if any."""
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()


_CHECKPOINTERS: weakref.WeakSet[_Checkpointer] = weakref.WeakSet()


def _settle_all() -> None:
    """Before a fork: wait for every checkpoint under way, so that the child inherits no
    half-held lock or connection of a thread it does not have."""
    for checkpointer in list(_CHECKPOINTERS):
        checkpointer.settle()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_settle_all)


class SqliteStore:
    """The embedded default store: one SQLite file."""

    def __init__(self, path: Path | str, node_cache: NodeCache | None = None,
                 readonly: bool = False) -> None:
        """``node_cache``: upper tree nodes kept in memory, for a read-heavy store (a node's
        readers share one); such a store also maps the database file (``mmap_size``). A
        writing store does not: mapped pages would count in its process's resident memory
        (specs/storage.md section 2). ``readonly``: an existing database opened for reading
        only, as from a read-only mount or a copy handed to an auditor (section 2.2)."""
        self._node_cache = node_cache
        # How map positions are keyed (a read-only store of schema 4 keys them as it did).
        self._map_key: Callable[[int], bytes] = tile_key
        self._map_position: Callable[[bytes], int] = tile_position
        self.path = path = Path(path)
        self.readonly = readonly
        self._checkpointer = _Checkpointer(path)
        try:
            if readonly:
                self.conn = connect_readonly(path)
            else:
                create_private(path)
                self.conn = sqlite3.connect(str(path), isolation_level=None,
                                            check_same_thread=False)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=FULL")
                self.conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_FALLBACK_PAGES}")
                self.conn.execute(f"PRAGMA journal_size_limit={_WAL_KEPT_BYTES}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            if node_cache is not None:
                self.conn.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
            if readonly:
                self._check_readable()
            else:
                self._migrate()
        except (sqlite3.DatabaseError, OSError, UnicodeDecodeError) as e:
            raise StorageError(f"cannot open ledger database {path}: {e}") from e

    def _check_readable(self) -> None:
        """A read-only store migrates nothing: it reads the current schema, version 4 (its map
        keyed as schema 4 keyed it), or versions 3 and 2 (whose tables the reads share), and
        refuses anything else."""
        version = self._schema()
        if version == "4":
            self._map_key, self._map_position = key_v4, position_v4
        if version not in (SCHEMA_VERSION, "4", "3", "2"):
            raise StorageError(f"database schema {version} cannot be read by this software "
                               f"(schema {SCHEMA_VERSION})")

    def _migrate(self) -> None:
        """Bring the database to ``SCHEMA_VERSION`` (a no-op read when it is there)."""
        if self._schema() == SCHEMA_VERSION:
            return
        self.conn.execute("BEGIN IMMEDIATE")  # one migrating process at a time
        try:
            version = self._schema()
            if version is not None and int(version) > int(SCHEMA_VERSION):
                raise StorageError(f"database schema {version} is newer than this software's "
                                   f"({SCHEMA_VERSION}): upgrade provenance-ledger")
            from .sqlite_schema import migrate  # sqlite-utils, only when migrating

            migrate(self.conn)
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)",
                              (SCHEMA_VERSION,))
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def _schema(self) -> str | None:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.OperationalError:  # no meta table: a new database
            return None
        if row is None:
            raise StorageError("database schema None: its meta table has no schema version")
        if not str(row[0]).isdigit():
            raise StorageError(f"database schema {str(row[0])[:20]!r} is not a version number")
        return str(row[0])

    def _one(self, sql: str, args: tuple[object, ...] = ()) -> tuple[object, ...] | None:
        row: tuple[object, ...] | None = self.conn.execute(sql, args).fetchone()
        return row

    # -- meta ---------------------------------------------------------------------------
    @_storage_errors
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    @_storage_errors
    def set_meta(self, key: str, value: str) -> None:
        if self.readonly:
            raise StorageError(f"the ledger database {self.path} is read-only")
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- tree -----------------------------------------------------------------------------
    @_storage_errors
    def size(self) -> int:
        row = self._one("SELECT max(idx) FROM entries")
        return 0 if row is None or row[0] is None else int(str(row[0])) + 1

    @_storage_errors
    def nodes(self, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        """Hashes of the given complete subtrees; level 0 comes from the entries table.
        With a node cache, the cached ones are not read again."""
        return read_through(self._node_cache, ids, self._read_nodes)

    def _read_nodes(self, ids: list[NodeId]) -> dict[NodeId, bytes]:
        """One query per chunk of ids: leaves (level 0, from the entries table) and inner
        nodes (the nodes table, whose keys start at ``1 << 56``) told apart by the key."""
        keys = {(n[1] if n[0] == 0 else node_key(n)): n for n in ids}
        out: dict[NodeId, bytes] = {}
        for chunk in _chunks(sorted(keys)):
            leaves = sum(1 for k in chunk if k < 1 << LEVEL_SHIFT)  # sorted: leaves first
            parts = []
            if leaves:
                parts.append(f"SELECT idx, id FROM entries WHERE idx IN ({_marks(leaves)})")  # noqa: S608
            if len(chunk) > leaves:
                inner = _marks(len(chunk) - leaves)
                parts.append(f"SELECT key, hash FROM nodes WHERE key IN ({inner})")  # noqa: S608
            for key, h in self.conn.execute(" UNION ALL ".join(parts), chunk):
                out[keys[key]] = h
        if len(out) != len(keys):
            missing = sorted(keys.values() - out.keys())[0]
            raise StorageError(f"tree node {missing} is missing from the database")
        return out

    @_storage_errors
    def node_count(self) -> int:
        row = self._one("SELECT count(*) FROM nodes")
        return 0 if row is None else int(str(row[0]))

    def all_nodes(self) -> Iterator[tuple[NodeId, bytes]]:
        mask = (1 << LEVEL_SHIFT) - 1
        for key, h in _rows(lambda: self.conn.execute("SELECT key, hash FROM nodes ORDER BY key")):
            yield (key >> LEVEL_SHIFT, key & mask), h

    def commit_block(self, block: Block, ready: Callable[[], bool] | None = None) -> bool:
        """Write a whole block in one transaction, or nothing. ``ready`` is asked once the
        block is written and before it is committed (while it waits, the rows are in an
        open transaction no reader sees); when it says no, nothing is stored and the answer
        is False."""
        if self.readonly:
            raise StorageError(f"the ledger database {self.path} is read-only: this command "
                               "writes to it (give a writable --home)")
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                if block.map_size is not None:
                    start = block.entries[0].index if block.entries else block.map_start
                    row = self._one("SELECT value FROM meta WHERE key = 'map_size'")
                    if start is not None and int(str(row[0]) if row else 0) != start:
                        raise StorageError("the map was changed by another writer meanwhile")
                self.conn.executemany(
                    "INSERT INTO entries (idx, id, leaf) VALUES (?, ?, ?)",
                    [(e.index, e.id, e.leaf) for e in block.entries],
                )
                self.conn.executemany(
                    "INSERT INTO nodes (key, hash) VALUES (?, ?)",
                    [(node_key(n), h) for n, h in block.nodes if n[0] > 0],
                )
                if block.map_nodes:
                    self.conn.executemany(
                        "INSERT OR REPLACE INTO map_nodes (pos, node) VALUES (?, ?)",
                        sorted((self._map_key(p), n) for p, n in block.map_nodes.items()))
                if block.map_size is not None:
                    self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('map_size', ?)",
                                      (str(block.map_size),))
                if block.checkpoint is not None:
                    self.conn.execute("INSERT INTO checkpoints VALUES (?, ?, ?, ?)",
                                      block.checkpoint)
                if ready is not None and not ready():
                    raise _NotReady
        except _NotReady:
            return False
        except _DAMAGED as e:
            raise StorageError(f"could not write block: {e}") from e
        self._checkpointer.committed(len(block.entries) * 6 + len(block.nodes)
                                     + len(block.map_nodes) + 1)
        return True

    def settle(self) -> None:
        """Wait for the WAL checkpoint under way (:class:`_Checkpointer`), if any."""
        self._checkpointer.settle()

    # -- verifiable map ------------------------------------------------------------------------
    @_storage_errors
    def map_nodes(self, positions: Iterable[int]) -> dict[int, bytes]:
        """The stored map node at each of ``positions`` that holds one (specs/map.md
        section 10); an empty position has no row."""
        encode = self._map_key
        keys = {encode(p): p for p in positions}
        out: dict[int, bytes] = {}
        items = list(keys)
        for i in range(0, len(items), _SQLITE_MAX_VARS):
            chunk = items[i : i + _SQLITE_MAX_VARS]
            q = f"SELECT pos, node FROM map_nodes WHERE pos IN ({_marks(len(chunk))})"  # noqa: S608
            for pos, node in self.conn.execute(q, chunk):
                out[keys[pos]] = node
        return out

    def map_size(self) -> int:
        """The tree size whose entries the stored map reflects; 0 for a home whose map is
        not built yet (one made before schema 4)."""
        value = self.get_meta("map_size")
        if value is None:
            return 0
        if not value.isdigit():
            raise StorageError(f"map size {value[:20]!r} in the database is not a number")
        return int(value)

    def commit_map(self, nodes: Mapping[int, bytes], start: int, end: int) -> None:
        """Write a batch of map nodes that takes the map from the entries below ``start`` to
        those below ``end`` (the map of an existing home, built in steps), in one
        transaction; refused (StorageError, nothing written) if the map is no longer at
        ``start``."""
        self.commit_block(Block(map_nodes=nodes, map_size=end, map_start=start))

    @_storage_errors
    def map_nodes_above(self, depth: int) -> dict[int, bytes]:
        """Every stored map node of depth below ``depth``, a multiple of 8 (one range)."""
        if depth % 8 or not 0 < depth <= 256:
            raise ValueError("the depth must be a multiple of 8")
        rows = self.conn.execute("SELECT pos, node FROM map_nodes WHERE pos < ?",
                                 (bytes((depth // 8 + 1,)),))
        decode = self._map_position
        return {decode(pos): node for pos, node in rows}

    @_storage_errors
    def map_nodes_at(self, depth: int) -> dict[int, bytes]:
        """Every stored map node of depth ``depth``: a scan of its tile level (eight levels;
        no append or read path needs it)."""
        level = bytes((depth // 8 + 1,))
        rows = self.conn.execute("SELECT pos, node FROM map_nodes WHERE pos >= ? AND pos < ?",
                                 (level, bytes((level[0] + 1,))))
        decode = self._map_position
        return {p: node for pos, node in rows if (p := decode(pos)).bit_length() == depth + 1}

    @_storage_errors
    def map_node_count(self) -> int:
        row = self._one("SELECT count(*) FROM map_nodes")
        return 0 if row is None else int(str(row[0]))

    def all_map_nodes(self) -> Iterator[tuple[int, bytes]]:
        decode = self._map_position
        for pos, node in _rows(lambda: self.conn.execute("SELECT pos, node FROM map_nodes")):
            yield decode(pos), node

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the database (a WAL read transaction), so a
        checkpoint and the map nodes read with it agree."""
        if self.conn.in_transaction:
            yield
            return
        try:
            self.conn.execute("BEGIN")
        except _DAMAGED as e:
            raise StorageError(f"ledger database read failed: {e}") from e
        try:
            yield
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    # -- entries ----------------------------------------------------------------------------
    @_storage_errors
    def entry(self, index: int) -> EntryRow:
        row = self.conn.execute(
            "SELECT idx, id, work, type, leaf FROM entries WHERE idx = ?", (index,)).fetchone()
        if row is None:
            raise StorageError(f"entry {index} is missing from the database")
        return EntryRow(*row)

    @_storage_errors
    def entry_by_id(self, event_id: bytes) -> EntryRow | None:
        row = self.conn.execute(
            "SELECT idx, id, work, type, leaf FROM entries WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else EntryRow(*row)

    @_storage_errors
    def ids_between(self, lo: bytes, hi: bytes | None, limit: int) -> list[bytes]:
        """Event ids in ``[lo, hi)`` (``hi`` None: no upper bound), for prefix look-ups."""
        if hi is None:
            q, args = "SELECT id FROM entries WHERE id >= ? ORDER BY id LIMIT ?", (lo, limit)
        else:
            q = "SELECT id FROM entries WHERE id >= ? AND id < ? ORDER BY id LIMIT ?"
            args = (lo, hi, limit)  # type: ignore[assignment]
        return [r[0] for r in self.conn.execute(q, args)]

    def entries(self, start: int, end: int) -> Iterator[EntryRow]:
        for row in _rows(lambda: self.conn.execute(
                "SELECT idx, id, work, type, leaf FROM entries WHERE idx >= ? AND idx < ? "
                "ORDER BY idx", (start, end))):
            yield EntryRow(*row)

    @_storage_errors
    def work_entries(self, work: str) -> list[EntryRow]:
        rows = self.conn.execute(
            "SELECT idx, id, work, type, leaf FROM entries WHERE work = ? ORDER BY idx", (work,))
        return [EntryRow(*r) for r in rows]

    @_storage_errors
    def entries_by_key(self, role: str, key: str, types: Iterable[str], after: int = -1,
                       limit: int = 1000) -> list[EntryRow]:
        """Entries of the given types whose ``actor`` (role ``"actor"``: the key that signed
        them) or ``party`` (role ``"party"``: the key they transfer to, license or grant to)
        is ``key``, with index above ``after``, in index order; at most ``limit``."""
        if role not in ("actor", "party"):
            raise ValueError(f"role must be 'actor' or 'party', not {role!r}")
        kinds = sorted(set(types))
        q = (f"SELECT idx, id, work, type, leaf FROM entries WHERE {role} = ? "  # noqa: S608
             f"AND type IN ({_marks(len(kinds))}) AND idx > ? ORDER BY idx LIMIT ?")
        rows = self.conn.execute(q, (key, *kinds, after, limit))
        return [EntryRow(*r) for r in rows]

    # -- works ---------------------------------------------------------------------------------
    @_storage_errors
    def works_present(self, works: Iterable[str]) -> set[str]:
        """Which of these works have entries (one indexed query per 900 works)."""
        out: set[str] = set()
        items = list(works)
        for i in range(0, len(items), _SQLITE_MAX_VARS):
            chunk = items[i : i + _SQLITE_MAX_VARS]
            q = f"SELECT DISTINCT work FROM entries WHERE work IN ({','.join('?' * len(chunk))})"  # noqa: S608
            out.update(r[0] for r in self.conn.execute(q, chunk))
        return out

    @_storage_errors
    def works_with_prefix(self, prefix: str, limit: int) -> list[str]:
        upper = prefix + "\U0010ffff"
        rows = self.conn.execute(
            "SELECT DISTINCT work FROM entries WHERE work >= ? AND work < ? ORDER BY work "
            "LIMIT ?", (prefix, upper, limit))
        return [r[0] for r in rows]

    # -- checkpoints ---------------------------------------------------------------------------
    @_storage_errors
    def latest_checkpoint(self) -> CheckpointRow | None:
        row = self.conn.execute(
            "SELECT size, root, note, at FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
        return None if row is None else CheckpointRow(*row)

    @_storage_errors
    def latest_checkpoint_size(self) -> int | None:
        row = self._one("SELECT max(size) FROM checkpoints")
        return None if row is None or row[0] is None else int(str(row[0]))

    @_storage_errors
    def checkpoint(self, size: int) -> CheckpointRow | None:
        row = self.conn.execute(
            "SELECT size, root, note, at FROM checkpoints WHERE size = ?", (size,)).fetchone()
        return None if row is None else CheckpointRow(*row)

    @_storage_errors
    def checkpoint_at_most(self, size: int) -> int | None:
        """The largest checkpointed size not beyond ``size``."""
        row = self._one("SELECT max(size) FROM checkpoints WHERE size <= ?", (size,))
        return None if row is None or row[0] is None else int(str(row[0]))

    def checkpoints(self, above: int = -1) -> Iterator[CheckpointRow]:
        """(size, root, note, time) of every checkpoint larger than ``above``, by size."""
        for row in _rows(lambda: self.conn.execute(
                "SELECT size, root, note, at FROM checkpoints WHERE size > ? ORDER BY size",
                (above,))):
            yield CheckpointRow(*row)

    def integrity_problems(self) -> list[str]:
        """What SQLite's own check finds wrong with the file: b-tree structure, every index
        against its table, NOT NULL and UNIQUE constraints (``PRAGMA integrity_check``);
        empty when the file is sound."""
        try:
            rows = [str(r[0]) for r in self.conn.execute("PRAGMA integrity_check(20)")]
        except _DAMAGED as e:
            return [str(e)]
        return [] if rows == ["ok"] else rows

    def close(self) -> None:
        self._checkpointer.settle()
        self.conn.close()


def _marks(n: int) -> str:
    """``n`` placeholders: only "?" is ever formatted into a query; values are bound."""
    return ",".join("?" * n)


def _chunks(items: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(items), _SQLITE_MAX_VARS):
        yield items[i : i + _SQLITE_MAX_VARS]
