"""PostgreSQL store (specs/storage.md section 6), for operators who outgrow one SQLite file.

The same tables as the SQLite store (section 2), in one PostgreSQL schema (the first of the
connection's ``search_path``, ``public`` by default), so several logs can share a database.
A block is one transaction that first takes a transaction-scoped advisory lock on the log's
tree head (``pg_advisory_xact_lock`` on a key derived from the schema name), so writers are
serialized as SQLite's ``BEGIN IMMEDIATE`` serializes them, and an append lands whole
(entries, hashes, map, checkpoint) or not at all. Durability is PostgreSQL's: a commit returns
once its WAL is flushed (``synchronous_commit`` not ``off`` and ``fsync`` on, the server
defaults, which the store checks when it connects).

When the node rotates to a new log, :meth:`PostgresStore.export_rows` reads the log out for
its frozen copy (store/freeze.py) and :meth:`PostgresStore.reset_log` makes the schema the new,
empty log (section 6.4).

Left out: the witness database and the similarity index stay in SQLite files in the home
(section 6.3); PostgreSQL's own corruption checks (amcheck) need privileges a log's role
should not hold, so :meth:`PostgresStore.integrity_problems` checks what the store itself can.
The driver is psycopg 3 (the optional extra ``postgresql``), imported only when a PostgreSQL
store is opened, so the embedded default needs no database driver.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ..core.merkle import NodeId
from ..errors import StorageError, StorageUnavailableError, quoted
from .base import Block, CheckpointRow, EntryRow
from .cache import LEVEL_SHIFT, NodeCache, read_through
from .map_tiles import position_v4, tile_key, tile_position
from .sqlite import SCHEMA_VERSION, map_pos, node_key

if TYPE_CHECKING:
    import psycopg

P = ParamSpec("P")
R = TypeVar("R")

URL_SCHEMES = ("postgresql://", "postgres://")
"""How a store that is not a SQLite file is named: a libpq connection URL."""
LOCK_SALT = "/provenance-ledger"
"""Appended to the schema name before hashing it into the advisory lock key."""
CONNECT_TIMEOUT_S = 5  # seconds to reach the server before the open fails
CONNECT_DEFAULTS: dict[str, str] = {
    "connect_timeout": str(CONNECT_TIMEOUT_S),
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "10000",
}
"""libpq parameters every connection of a store gets unless its URL sets them (specs/storage.md
section 6.1, "Connection parameters"): a server that does not answer fails an open within
5 s; an idle connection whose server went silent is found dead within 25 s (TCP keepalives:
first probe after 10 s idle, then every 5 s, 3 unanswered), and one whose sent data stays
unacknowledged for 10 s is ended (``tcp_user_timeout``, milliseconds), so a request waits
seconds, not the minutes of the system's TCP defaults, on a database host that drops packets.
A unix socket ignores the TCP ones."""

# The leaf is UTF-8 JSON (specs/storage.md section 1). convert_from() is only STABLE (it
# depends on the database encoding, which the store checks is UTF8), so a generated column
# calls it through this IMMUTABLE wrapper; ``json`` (not ``jsonb``) keeps any leaf PostgreSQL
# can read, and its operators take the last of duplicate members, as SQLite's json_extract.
_LEAF_FUNCTION = """CREATE FUNCTION leaf_json(leaf bytea) RETURNS json
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT convert_from(leaf, 'UTF8')::json $$"""

# Derived from the leaf by PostgreSQL itself, never written beside it (as in SQLite, section
# 2); COLLATE "C" orders text by bytes, as SQLite's BINARY does, so prefix ranges agree.
_ENTRIES = """CREATE TABLE entries (
    idx bigint PRIMARY KEY,
    id bytea NOT NULL,
    leaf bytea NOT NULL,
    work text COLLATE "C" GENERATED ALWAYS AS (leaf_json(leaf) #>> '{event,work}') STORED,
    type text COLLATE "C" GENERATED ALWAYS AS (leaf_json(leaf) #>> '{event,type}') STORED,
    actor text COLLATE "C" GENERATED ALWAYS AS (leaf_json(leaf) #>> '{event,actor}') STORED,
    party text COLLATE "C" GENERATED ALWAYS AS (coalesce(
        leaf_json(leaf) #>> '{event,body,to}',
        leaf_json(leaf) #>> '{event,body,licensee}',
        leaf_json(leaf) #>> '{event,body,grantee}')) STORED
)"""

_RETILE_BATCH = 100_000  # map rows re-keyed per COPY while migrating to schema 5


def _retile(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Schema 5: copy every map row into ``map_nodes_v5`` under its tile key (specs/map.md
    section 10, table), read through a server-side cursor a batch at a time; bytes that name
    no position are kept as they are (for an audit to find)."""
    odd: list[tuple[bytes, bytes]] = []
    with conn.cursor(name="map_nodes_v4") as rows:
        rows.execute("SELECT pos, node FROM map_nodes")
        while batch := rows.fetchmany(_RETILE_BATCH):
            keyed = []
            for key, node in batch:
                pos = position_v4(bytes(key))
                if pos:
                    keyed.append((tile_key(pos), bytes(node)))
                else:
                    odd.append((bytes(key), bytes(node)))
            with conn.cursor() as cur, cur.copy(
                    b"COPY map_nodes_v5 (pos, node) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["bytea", "bytea"])
                for row in sorted(keyed):
                    copy.write_row(row)
    for key, node in odd:
        conn.execute("INSERT INTO map_nodes_v5 VALUES (%s, %s) ON CONFLICT (pos) DO NOTHING",
                     (key, node))


MIGRATIONS: tuple[tuple[str, tuple[str | Callable[[psycopg.Connection[tuple[Any, ...]]], None],
                                   ...]], ...] = (
    ("0001_schema_4", (
        'CREATE TABLE meta (key text COLLATE "C" PRIMARY KEY, value text)',
        _LEAF_FUNCTION,
        _ENTRIES,
        "CREATE UNIQUE INDEX idx_entries_id ON entries(id)",
        "CREATE INDEX idx_entries_work_idx ON entries(work, idx)",
        "CREATE INDEX idx_entries_actor_type ON entries(actor, type, idx)",
        "CREATE INDEX idx_entries_party_type ON entries(party, type, idx)",
        "CREATE TABLE nodes (key bigint PRIMARY KEY, hash bytea NOT NULL)",
        "CREATE TABLE checkpoints (size bigint PRIMARY KEY, root bytea NOT NULL, "
        "note text NOT NULL, at bigint NOT NULL)",
        "CREATE TABLE map_nodes (pos bytea PRIMARY KEY, node bytea NOT NULL)",
    )),
    ("0002_map_tiles", ("CREATE TABLE map_nodes_v5 (pos bytea PRIMARY KEY, node bytea NOT NULL)",
                        _retile,
                        "DROP TABLE map_nodes",
                        "ALTER TABLE map_nodes_v5 RENAME TO map_nodes")),
)
"""The schema's history (specs/storage.md section 6.1): name and steps of each migration, in
order (a step is a statement, or a function given the connection). A PostgreSQL store started
at schema 4; ``0002_map_tiles`` brings it to 5, the SQLite store's current version."""

EXPORT_BATCH = 10_000  # rows per round trip while a log is exported (store/freeze.py)
EXPORTED = {
    "meta": 'SELECT key, value FROM meta ORDER BY key',
    "entries": "SELECT idx, id, leaf FROM entries ORDER BY idx",
    "nodes": "SELECT key, hash FROM nodes ORDER BY key",
    "checkpoints": "SELECT size, root, note, at FROM checkpoints ORDER BY size",
    "map_nodes": "SELECT pos, node FROM map_nodes ORDER BY pos",
}
"""The log's tables as exported (specs/storage.md section 6.4): their stored columns, in key
order (bytes order for ``meta``'s "C" keys and ``bytea``, as SQLite orders TEXT and BLOB)."""

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || %s, 0))"


def is_url(store: str) -> bool:
    """Whether ``store`` names a PostgreSQL database (a ``postgresql://`` URL)."""
    return store.startswith(URL_SCHEMES)


_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*:)[^/?#]*@")
"""``scheme://user:password@``: up to the last ``@`` of the authority, so a password holding
an unescaped ``@`` is hidden whole."""
_PARAM_PASSWORD = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL as it may be shown or logged: any password replaced by ``***``."""
    return _PARAM_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


def check_url(url: str, what: str = "--store") -> str:
    """A PostgreSQL URL libpq can parse, else StorageError naming ``what`` (never the
    password)."""
    if not is_url(url):
        raise StorageError(f"{what} must be a postgresql:// URL, not {quoted(redact(url), 62)}")
    driver = _driver()
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(url)
    except driver.ProgrammingError as e:
        raise StorageError(f"{what} is not a valid PostgreSQL URL: {redact(url)[:200]}") from e
    return url


def connect_params(url: str) -> dict[str, str]:
    """The :data:`CONNECT_DEFAULTS` that ``url`` does not set itself (its own value wins;
    so does ``$PGCONNECT_TIMEOUT`` over the default ``connect_timeout``)."""
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(url)
    return {k: v for k, v in CONNECT_DEFAULTS.items()
            if k not in given and not (k == "connect_timeout" and os.environ.get(
                "PGCONNECT_TIMEOUT"))}


def _driver() -> Any:
    try:
        import psycopg
    except ImportError as e:  # pragma: no cover - the test extra installs it
        raise StorageError("a postgresql:// store needs psycopg: install "
                           "provenance-ledger[postgresql]") from e
    return psycopg


def _storage_errors(method: Callable[P, R]) -> Callable[P, R]:
    """A database failure is a :class:`StorageError`, never a bare psycopg error. A
    connection the server closed (a restart, a failover) is opened again first, and a read
    outside a transaction that finds it closed is tried once more on a new one (section 6)."""
    @functools.wraps(method)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        import psycopg

        store = args[0]
        assert isinstance(store, PostgresStore)
        outside = store.revive()
        for attempt in (1, 2):
            try:
                return method(*args, **kwargs)
            except psycopg.Error as e:
                lost = isinstance(e, psycopg.OperationalError) and store.conn.closed
                if attempt == 2 or not (outside and lost):
                    raise failure("ledger database read failed", e) from e
            store.revive()  # the server ended it since: once more on a new connection
        raise AssertionError("unreachable")  # pragma: no cover
    return wrapped


def _one_line(e: BaseException) -> str:
    return redact(" ".join(str(e).split()))[:300]


_OUTAGE_STATES = frozenset({"57P01", "57P02", "57P03", "57P05", "53300", "25006"})
"""SQLSTATEs of a server that ended the connection or takes none now: admin_shutdown (a stop,
a restart), crash_shutdown, cannot_connect_now (starting up, shutting down, in recovery),
idle_session_timeout, too_many_connections, read_only_sql_transaction (a write sent to a
read-only standby after a failover, or to a database set read-only meanwhile); and class 08
(connection_exception) but 08P01 (protocol_violation)."""
_OUTAGE_WORDS = ("the database system is starting up", "the database system is shutting down",
                 "the database system is in recovery mode",
                 "the database system is not yet accepting connections",
                 "the database system is not accepting connections",
                 "sorry, too many clients already", "remaining connection slots are reserved",
                 "too many connections for",
                 "terminating connection", "server closed the connection unexpectedly")
"""What the server says when it refuses a new connection (libpq gives no SQLSTATE then) or
ends one, for the same conditions as :data:`_OUTAGE_STATES`."""


def is_outage(e: BaseException) -> bool:
    """Whether a psycopg error means the database cannot be reached for now (specs/storage.md
    section 6.2): the server is down or cannot be reached (the connection is refused, times
    out, is lost), is starting up, shutting down or in recovery, ended the connection, or takes
    no more connections, or takes no writes now (a read-only standby). Anything else (a
    constraint, a bad row, a refused password, a missing database or role, a full disk) is
    not: the node is at fault, or its data."""
    import psycopg

    if not isinstance(e, psycopg.Error):
        return False
    state = e.sqlstate
    if state is not None:
        return (state.startswith("08") and state != "08P01") or state in _OUTAGE_STATES
    if not isinstance(e, psycopg.OperationalError):
        return False
    text = " ".join(str(e).split())
    if "FATAL:" in text or "fe_sendauth" in text:  # the server answered, or no password
        return any(words in text for words in _OUTAGE_WORDS)
    return True  # no server answered: refused, no socket, a timeout, a lost connection


def failure(what: str, e: BaseException) -> StorageError:
    """``what: <the driver's reason>`` (the URL's password left out) as the error to raise:
    :class:`StorageUnavailableError` for an outage (:func:`is_outage`), else
    :class:`StorageError`."""
    kind = StorageUnavailableError if is_outage(e) else StorageError
    return kind(f"{what}: {_one_line(e)}")


class _NotReady(Exception):  # noqa: N818 - not an error: a block not to be committed
    """Raised inside a block's transaction to roll it back."""


class PostgresStore:
    """A log's store in a PostgreSQL database, named by a ``postgresql://`` URL."""

    def __init__(self, url: str, node_cache: NodeCache | None = None,
                 readonly: bool = False, local: Path | None = None,
                 reconnect: bool = True) -> None:
        """``node_cache``: as for :class:`SqliteStore`. ``readonly``: nothing is migrated or
        written. ``local``: the home folder, where the SQLite sidecar files (the similarity
        index) are kept (section 6.3); ``path`` is ``local / "ledger.db"`` as a name for them
        (no such file is made). ``reconnect``: a connection the server ended is opened again
        on the next use (section 6.2, "Restarts of the database"); False: that use fails as
        an outage instead, and the owner opens a new store where waiting is harmless (the
        node's hot read path, which runs on the event loop: node/reads.py)."""
        driver = _driver()
        self.url = url
        self.readonly = readonly
        self.reconnect = reconnect
        self.path: Path | None = None if local is None else local / "ledger.db"
        self._node_cache = node_cache
        shown = redact(url)
        self.conn: psycopg.Connection[tuple[Any, ...]] = self._connect()
        try:
            self._check_server(shown)
            if readonly:
                version = self._schema()
                if version != SCHEMA_VERSION:
                    raise StorageError(f"database schema {version} cannot be read by this "
                                       f"software (schema {SCHEMA_VERSION})")
            else:
                self._migrate()
        except driver.Error as e:
            self.conn.close()
            raise failure(f"cannot open ledger database {shown}", e) from e
        except BaseException:
            self.conn.close()
            raise

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        driver = _driver()
        try:
            conn: psycopg.Connection[tuple[Any, ...]] = driver.connect(
                self.url, autocommit=True, **connect_params(self.url))
        except driver.Error as e:
            raise failure(f"cannot open ledger database {redact(self.url)}", e) from e
        try:
            if self.readonly:
                conn.execute("SET default_transaction_read_only = on")
        except driver.Error as e:
            conn.close()
            raise failure(f"cannot open ledger database {redact(self.url)}", e) from e
        return conn

    def revive(self) -> bool:
        """Open the connection again if the server closed it (a restart of the database, a
        failover: specs/storage.md section 6), so that a node outlives its database's
        restarts; raises :class:`StorageError` while the server cannot be reached. Returns
        whether the connection is outside a transaction (a read may be tried again)."""
        import psycopg

        if self.conn.closed:
            self.conn = self._reconnect()
            return True
        return self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE

    def _reconnect(self) -> psycopg.Connection[tuple[Any, ...]]:
        """A new connection for one the server ended; with ``reconnect`` False, the outage
        instead (the caller must not wait for a connection)."""
        if not self.reconnect:
            raise StorageUnavailableError(f"ledger database {redact(self.url)}: the connection "
                                          "was lost")
        return self._connect()

    def _check_server(self, shown: str) -> None:
        row = self.conn.execute(
            "SELECT current_schema(), current_setting('server_encoding'), "
            "current_setting('synchronous_commit'), current_setting('fsync')").fetchone()
        assert row is not None  # noqa: S101 - a SELECT without FROM returns one row
        schema, encoding, sync, fsync = row
        if schema is None:
            raise StorageError(f"ledger database {shown}: the schema named first in its "
                               "search_path does not exist (create it first)")
        if encoding != "UTF8":
            raise StorageError(f"ledger database {shown} has encoding {encoding}; the store "
                               "needs a UTF8 database")
        if sync == "off" or fsync != "on":
            raise StorageError(f"ledger database {shown} has synchronous_commit={sync} and "
                               f"fsync={fsync}: a committed block could be lost in a crash")
        self.schema = str(schema)

    def _migrate(self) -> None:
        """Bring the schema to ``SCHEMA_VERSION``: every migration not yet recorded in the
        ``migrations`` table, in order, in one transaction under the tree head's lock."""
        if self._schema() == SCHEMA_VERSION:
            return
        with self.conn.transaction():
            self.conn.execute(_LOCK, (LOCK_SALT,))  # one migrating process at a time
            version = self._schema()
            if version == SCHEMA_VERSION:
                return
            if version is not None and int(version) > int(SCHEMA_VERSION):
                raise StorageError(f"database schema {version} is newer than this software's "
                                   f"({SCHEMA_VERSION}): upgrade provenance-ledger")
            if version is None and self._has_table("entries"):
                raise StorageError(f"schema {self.schema} holds an entries table but no "
                                   "ledger metadata: it is not a provenance-ledger store")
            self.conn.execute("CREATE TABLE IF NOT EXISTS migrations "
                              "(name text PRIMARY KEY, applied timestamptz NOT NULL "
                              "DEFAULT now())")
            done = {r[0] for r in self.conn.execute("SELECT name FROM migrations")}
            for name, statements in MIGRATIONS:
                if name in done:
                    continue
                for step in statements:
                    if isinstance(step, str):
                        self.conn.execute(step.encode())
                    else:
                        step(self.conn)
                self.conn.execute("INSERT INTO migrations (name) VALUES (%s)", (name,))
            self.conn.execute("INSERT INTO meta VALUES ('schema', %s) ON CONFLICT (key) DO "
                              "UPDATE SET value = excluded.value", (SCHEMA_VERSION,))

    def _has_table(self, name: str) -> bool:
        # The catalog itself, read with this statement's snapshot: to_regclass() would answer
        # from a cache that can still hold "no such table" for one another writer just made.
        row = self.conn.execute("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE "
                                "schemaname = current_schema() AND tablename = %s)",
                                (name,)).fetchone()
        return bool(row and row[0])

    def _schema(self) -> str | None:
        if not self._has_table("meta"):
            return None
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            raise StorageError("database schema None: its meta table has no schema version")
        if not str(row[0]).isdigit():
            raise StorageError(f"database schema {quoted(row[0], 22)} is not a version number")
        return str(row[0])

    def _one(self, sql: str, args: tuple[object, ...] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.conn.execute(sql.encode(), args).fetchone()
        return row

    def _refuse_write(self) -> None:
        if self.readonly:
            raise StorageError(f"the ledger database {redact(self.url)} is opened read-only")

    # -- meta ---------------------------------------------------------------------------
    @_storage_errors
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = %s", (key,))
        return None if row is None else str(row[0])

    @_storage_errors
    def set_meta(self, key: str, value: str) -> None:
        self._refuse_write()
        self.conn.execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                          "SET value = excluded.value", (key, value))

    # -- tree -----------------------------------------------------------------------------
    @_storage_errors
    def size(self) -> int:
        row = self._one("SELECT max(idx) FROM entries")
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    @_storage_errors
    def nodes(self, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        """Hashes of the given complete subtrees; level 0 comes from the entries table.
        With a node cache, the cached ones are not read again."""
        return read_through(self._node_cache, ids, self._read_nodes)

    def _read_nodes(self, ids: list[NodeId]) -> dict[NodeId, bytes]:
        """One query: leaves from the entries table, inner nodes from the nodes table."""
        keys = {(n[1] if n[0] == 0 else node_key(n)): n for n in ids}
        leaves = [k for k in keys if k < 1 << LEVEL_SHIFT]
        inner = [k for k in keys if k >= 1 << LEVEL_SHIFT]
        out: dict[NodeId, bytes] = {}
        if keys:
            rows = self.conn.execute(
                "SELECT idx, id FROM entries WHERE idx = ANY(%s::bigint[]) UNION ALL "
                "SELECT key, hash FROM nodes WHERE key = ANY(%s::bigint[])", (leaves, inner))
            for key, h in rows:
                out[keys[key]] = h
        if len(out) != len(keys):
            missing = sorted(keys.values() - out.keys())[0]
            raise StorageError(f"tree node {missing} is missing from the database")
        return out

    @_storage_errors
    def node_count(self) -> int:
        row = self._one("SELECT count(*) FROM nodes")
        return 0 if row is None else int(row[0])

    @_storage_errors
    def all_nodes(self) -> Iterator[tuple[NodeId, bytes]]:
        mask = (1 << LEVEL_SHIFT) - 1
        rows = self.conn.execute("SELECT key, hash FROM nodes ORDER BY key").fetchall()
        return iter([((key >> LEVEL_SHIFT, key & mask), h) for key, h in rows])

    def commit_block(self, block: Block, ready: Callable[[], bool] | None = None) -> bool:
        """Write a whole block in one transaction, or nothing (as :class:`SqliteStore`).
        The tree head's advisory lock is taken first, so a second writer waits, then fails on
        the primary keys if it computed the same indexes; ``ready`` is asked before the
        commit, with the lock held."""
        import psycopg

        self._refuse_write()
        self.revive()
        try:
            # A connection lost later is not tried again: whether the commit landed is then
            # read back by the ledger (as another writer's block would be).
            with ExitStack() as stack:
                self._begin(stack)
                self.conn.execute(_LOCK, (LOCK_SALT,))
                if block.map_size is not None:
                    start = block.entries[0].index if block.entries else block.map_start
                    row = self._one("SELECT value FROM meta WHERE key = 'map_size'")
                    if start is not None and int(str(row[0]) if row else 0) != start:
                        raise StorageError("the map was changed by another writer meanwhile")
                # COPY, not one INSERT per row: 4 to 5 times faster, and as atomic (a
                # duplicate key fails the COPY, and with it the whole transaction).
                self._copy("entries (idx, id, leaf)", ("int8", "bytea", "bytea"),
                           [(e.index, e.id, e.leaf) for e in block.entries])
                self._copy("nodes (key, hash)", ("int8", "bytea"),
                           [(node_key(n), h) for n, h in block.nodes if n[0] > 0])
                if block.map_nodes:  # inserted or replaced: through a temporary table
                    self.conn.execute("CREATE TEMPORARY TABLE IF NOT EXISTS map_in "
                                      "(pos bytea, node bytea) ON COMMIT DELETE ROWS")
                    self._copy("map_in (pos, node)", ("bytea", "bytea"),
                               sorted((map_pos(p), n) for p, n in block.map_nodes.items()))
                    self.conn.execute("INSERT INTO map_nodes SELECT pos, node FROM map_in "
                                      "ON CONFLICT (pos) DO UPDATE SET node = excluded.node")
                if block.map_size is not None:
                    self.conn.execute(
                        "INSERT INTO meta VALUES ('map_size', %s) ON CONFLICT (key) DO UPDATE "
                        "SET value = excluded.value", (str(block.map_size),))
                if block.checkpoint is not None:
                    self.conn.execute("INSERT INTO checkpoints VALUES (%s, %s, %s, %s)",
                                      tuple(block.checkpoint))
                if ready is not None and not ready():
                    raise _NotReady
        except _NotReady:
            return False
        except psycopg.Error as e:
            raise failure("could not write block", e) from e
        return True

    def _copy(self, target: str, types: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """``COPY target FROM STDIN`` of ``rows`` in binary, inside the caller's transaction."""
        if not rows:
            return
        with self.conn.cursor() as cur, \
                cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)".encode()) as copy:
            copy.set_types(list(types))
            for row in rows:
                copy.write_row(row)

    # -- verifiable map ------------------------------------------------------------------------
    @_storage_errors
    def map_nodes(self, positions: Iterable[int]) -> dict[int, bytes]:
        keys = {map_pos(p): p for p in positions}
        if not keys:
            return {}
        rows = self.conn.execute("SELECT pos, node FROM map_nodes WHERE pos = ANY(%s)",
                                 (list(keys),))
        return {keys[pos]: node for pos, node in rows}

    def map_size(self) -> int:
        value = self.get_meta("map_size")
        if value is None:
            return 0
        if not value.isdigit():
            raise StorageError(f"map size {quoted(value, 22)} in the database is not a number")
        return int(value)

    def commit_map(self, nodes: Mapping[int, bytes], start: int, end: int) -> None:
        self.commit_block(Block(map_nodes=nodes, map_size=end, map_start=start))

    @_storage_errors
    def map_nodes_above(self, depth: int) -> dict[int, bytes]:
        if depth % 8 or not 0 < depth <= 256:
            raise ValueError("the depth must be a multiple of 8")
        rows = self.conn.execute("SELECT pos, node FROM map_nodes WHERE pos < %s",
                                 (bytes((depth // 8 + 1,)),))
        return {tile_position(pos): node for pos, node in rows}

    @_storage_errors
    def map_nodes_at(self, depth: int) -> dict[int, bytes]:
        """Every stored map node of depth ``depth``: a scan of its tile level."""
        level = depth // 8 + 1
        rows = self.conn.execute("SELECT pos, node FROM map_nodes WHERE pos >= %s AND pos < %s",
                                 (bytes((level,)), bytes((level + 1,))))
        return {p: node for pos, node in rows
                if (p := tile_position(pos)).bit_length() == depth + 1}

    @_storage_errors
    def map_node_count(self) -> int:
        row = self._one("SELECT count(*) FROM map_nodes")
        return 0 if row is None else int(row[0])

    def all_map_nodes(self) -> Iterator[tuple[int, bytes]]:
        for pos, node in self._stream("SELECT pos, node FROM map_nodes ORDER BY pos", ()):
            yield tile_position(pos), node

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the database (a REPEATABLE READ, READ ONLY
        transaction), so a checkpoint and the map nodes read with it agree."""
        import psycopg

        if not self.revive():
            yield
            return
        try:
            with ExitStack() as stack:
                self._begin(stack)
                self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield
        except psycopg.Error as e:
            raise failure("ledger database read failed", e) from e

    def _begin(self, stack: ExitStack) -> None:
        """BEGIN a transaction that ``stack`` ends. A connection the server closed since its
        last use (a restart, a failover: section 6) fails on the BEGIN itself, before any of
        the transaction was sent, so it is opened again and the BEGIN sent on the new one."""
        import psycopg

        try:
            stack.enter_context(self.conn.transaction())
        except psycopg.OperationalError:
            if not self.conn.closed:
                raise
            self.conn = self._reconnect()
            stack.enter_context(self.conn.transaction())

    # -- entries ----------------------------------------------------------------------------
    _ROW = "SELECT idx, id, work, type, leaf FROM entries"

    @_storage_errors
    def entry(self, index: int) -> EntryRow:
        row = self._one(f"{self._ROW} WHERE idx = %s", (index,))
        if row is None:
            raise StorageError(f"entry {index} is missing from the database")
        return EntryRow(*row)

    @_storage_errors
    def entry_by_id(self, event_id: bytes) -> EntryRow | None:
        row = self._one(f"{self._ROW} WHERE id = %s", (event_id,))
        return None if row is None else EntryRow(*row)

    @_storage_errors
    def ids_between(self, lo: bytes, hi: bytes | None, limit: int) -> list[bytes]:
        if hi is None:
            rows = self.conn.execute("SELECT id FROM entries WHERE id >= %s ORDER BY id LIMIT %s",
                                     (lo, limit))
        else:
            rows = self.conn.execute("SELECT id FROM entries WHERE id >= %s AND id < %s "
                                     "ORDER BY id LIMIT %s", (lo, hi, limit))
        return [bytes(r[0]) for r in rows]

    def entries(self, start: int, end: int) -> Iterator[EntryRow]:
        for row in self._stream(f"{self._ROW} WHERE idx >= %s AND idx < %s ORDER BY idx",
                                (start, end)):
            yield EntryRow(*row)

    def _stream(self, sql: str, args: tuple[object, ...]) -> Iterator[tuple[Any, ...]]:
        """Rows in pages of 10,000 (a range of a large log is never held whole in memory),
        a failure while reading being a :class:`StorageError`."""
        import psycopg

        try:
            cur = self.conn.execute(sql.encode(), args)
            while rows := cur.fetchmany(10_000):
                yield from rows
        except psycopg.Error as e:
            raise failure("ledger database read failed", e) from e

    @_storage_errors
    def work_entries(self, work: str) -> list[EntryRow]:
        rows = self.conn.execute(f"{self._ROW} WHERE work = %s ORDER BY idx".encode(), (work,))
        return [EntryRow(*r) for r in rows]

    @_storage_errors
    def entries_by_key(self, role: str, key: str, types: Iterable[str], after: int = -1,
                       limit: int = 1000) -> list[EntryRow]:
        if role not in ("actor", "party"):
            raise ValueError(f"role must be 'actor' or 'party', not {role!r}")
        q = (f"{self._ROW} WHERE {role} = %s AND type = ANY(%s) AND idx > %s "
             "ORDER BY idx LIMIT %s")
        rows = self.conn.execute(q.encode(), (key, sorted(set(types)), after, limit))
        return [EntryRow(*r) for r in rows]

    # -- works ---------------------------------------------------------------------------------
    @_storage_errors
    def works_present(self, works: Iterable[str]) -> set[str]:
        items = list(works)
        if not items:
            return set()
        rows = self.conn.execute("SELECT DISTINCT work FROM entries WHERE work = ANY(%s)",
                                 (items,))
        return {r[0] for r in rows}

    @_storage_errors
    def works_with_prefix(self, prefix: str, limit: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT work FROM entries WHERE work >= %s AND work < %s ORDER BY work "
            "LIMIT %s", (prefix, prefix + "\U0010ffff", limit))
        return [r[0] for r in rows]

    # -- checkpoints ---------------------------------------------------------------------------
    _CP = "SELECT size, root, note, at FROM checkpoints"

    @_storage_errors
    def latest_checkpoint(self) -> CheckpointRow | None:
        row = self._one(f"{self._CP} ORDER BY size DESC LIMIT 1")
        return None if row is None else CheckpointRow(*row)

    @_storage_errors
    def latest_checkpoint_size(self) -> int | None:
        row = self._one("SELECT max(size) FROM checkpoints")
        return None if row is None or row[0] is None else int(row[0])

    @_storage_errors
    def checkpoint(self, size: int) -> CheckpointRow | None:
        row = self._one(f"{self._CP} WHERE size = %s", (size,))
        return None if row is None else CheckpointRow(*row)

    @_storage_errors
    def checkpoint_at_most(self, size: int) -> int | None:
        row = self._one("SELECT max(size) FROM checkpoints WHERE size <= %s", (size,))
        return None if row is None or row[0] is None else int(row[0])

    def checkpoints(self, above: int = -1) -> Iterator[CheckpointRow]:
        for row in self._stream(f"{self._CP} WHERE size > %s ORDER BY size", (above,)):
            yield CheckpointRow(*row)

    def integrity_problems(self) -> list[str]:
        """What the store can check of itself without privileges (specs/storage.md section
        6.2): the entries are contiguous from 0, every id is 32 bytes, every node and checkpoint
        root 32 bytes, and no checkpoint is beyond the log's size. PostgreSQL enforces the
        keys and NOT NULL constraints itself; the audit recomputes every hash."""
        import psycopg

        checks = (
            ("SELECT CASE WHEN count(*) = coalesce(max(idx) + 1, 0) THEN NULL "
             "WHEN min(idx) <> 0 THEN 0 ELSE (SELECT e.idx + 1 FROM entries e LEFT JOIN "
             "entries f ON f.idx = e.idx + 1 WHERE f.idx IS NULL ORDER BY e.idx LIMIT 1) END "
             "FROM entries", "the entry at index {} is missing (the entries are not contiguous)"),
            ("SELECT min(idx) FROM entries WHERE length(id) <> 32",
             "the entry id at index {} is not 32 bytes"),
            ("SELECT min(key) FROM nodes WHERE length(hash) <> 32",
             "the node hash of key {} is not 32 bytes"),
            ("SELECT min(size) FROM checkpoints WHERE length(root) <> 32",
             "the root of the checkpoint of size {} is not 32 bytes"),
            ("SELECT min(size) FROM checkpoints WHERE size > "
             "(SELECT coalesce(max(idx) + 1, 0) FROM entries)",
             "the checkpoint of size {} is beyond the log's entries"),
        )
        try:
            with self.snapshot():
                return [problem.format(row[0]) for query, problem in checks
                        if (row := self._one(query)) is not None and row[0] is not None]
        except (psycopg.Error, StorageError) as e:
            return [_one_line(e)]

    # -- leaving PostgreSQL: the export and reset of a rotation (section 6.4) --------------
    def export_rows(self, table: str, batch: int = EXPORT_BATCH
                    ) -> Iterator[list[tuple[Any, ...]]]:
        """The stored columns of every row of one of the log's tables (``EXPORTED``; the
        derived columns of ``entries`` left out), in key order, ``batch`` rows at a time
        through a server-side cursor, so memory stays bounded however long the log. Called
        inside :meth:`snapshot`, so every table is read at one state of the log."""
        import psycopg

        query = EXPORTED[table]  # KeyError: not a table of the log
        if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            raise ValueError("export_rows reads inside snapshot()")
        try:
            with self.conn.cursor(name=f"export_{table}") as cur:
                cur.execute(query.encode())
                while rows := cur.fetchmany(batch):
                    yield rows
        except psycopg.Error as e:
            raise failure("ledger database read failed", e) from e

    @_storage_errors
    def row_count(self, table: str) -> int:
        """How many rows one of the ``EXPORTED`` tables holds."""
        if table not in EXPORTED:
            raise KeyError(table)
        row = self._one(f"SELECT count(*) FROM {table}")  # noqa: S608 - a fixed name
        return 0 if row is None else int(row[0])

    def reset_log(self, source: str, target: str, size: int) -> bool:
        """Make the schema that holds the log ``source`` of ``size`` entries the empty log
        ``target`` (specs/storage.md section 6.4), in one transaction under the tree head's
        lock: every row of ``entries``, ``nodes``, ``checkpoints`` and ``map_nodes`` and every
        ``meta`` row but the schema version go, and ``meta.origin`` becomes ``target``.
        Nothing is done (False) when the schema holds ``target``'s log already; a schema
        holding any other log, or ``source`` grown beyond ``size`` (a writer appended after
        the caller copied it out), is a :class:`StorageError`, and nothing changes."""
        import psycopg

        self._refuse_write()
        self.revive()
        try:
            # A connection lost later is not tried again: whether the commit landed is then
            # read back by the ledger (as another writer's block would be).
            with ExitStack() as stack:
                self._begin(stack)
                self.conn.execute(_LOCK, (LOCK_SALT,))
                row = self._one("SELECT value FROM meta WHERE key = 'origin'")
                origin = None if row is None else str(row[0])
                if origin == target:
                    return False
                if origin != source:
                    what = "no log" if origin is None else f"the log {origin}"
                    raise StorageError(f"{redact(self.url)} holds {what}, not {source}: it "
                                       "is not reset")
                row = self._one("SELECT coalesce(max(idx) + 1, 0) FROM entries")
                held = 0 if row is None else int(row[0])
                if held != size:
                    raise StorageError(f"the log {source} holds {held} entries, not the "
                                       f"{size} copied out: it is not reset")
                self.conn.execute("TRUNCATE entries, nodes, checkpoints, map_nodes")
                self.conn.execute("DELETE FROM meta WHERE key <> 'schema'")
                self.conn.execute("INSERT INTO meta VALUES ('origin', %s)", (target,))
        except psycopg.Error as e:
            raise failure("could not reset the log", e) from e
        return True

    def close(self) -> None:
        self.conn.close()
