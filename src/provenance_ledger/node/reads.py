"""Read snapshots of a served ledger (specs/node.md section 2, "Reads"): a bounded pool of
SQLite read connections (WAL: readers never wait for the writer), one read transaction per
snapshot, so a checkpoint and the proofs built against it come from one snapshot; and one more
connection for the hot read path on the event loop, outside any transaction.

Memory is bounded whatever the log's size or the number of worker threads: at most
``READ_CONNECTIONS + 1`` connections, each with a page cache of ``READ_CACHE_KIB`` and no
memory map (a map of the file counts in the resident memory once per connection and grows
with the log), plus the shared :class:`NodeCache`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.note import Verifier
from ..errors import StorageError
from ..ledger import Ledger
from ..store import NodeCache, SqliteStore, Store
from ..store.postgres import PostgresStore

READ_CONNECTIONS = 4
"""Most connections serving read snapshots at once; more readers wait for one (2 cores gain
nothing from more, and each holds its own page cache)."""
READ_CACHE_KIB = 8 * 1024  # page cache of one read connection, KiB
READ_MMAP_BYTES = 0  # read connections do not map the file (see the module docstring)


class Reads:
    """Read snapshots of the ledger over a pool of connections, and a key-less ``Ledger`` over
    each (its frontier loaded in the snapshot)."""

    def __init__(self, db_path: Path | str, verifier: Verifier,
                 connections: int = READ_CONNECTIONS) -> None:
        if connections < 1:
            raise ValueError("a node needs at least one read connection")
        self._path = db_path
        self._verifier = verifier
        self._nodes = NodeCache()  # shared by every read connection: hashes never change
        self._idle: queue.LifoQueue[Store] = queue.LifoQueue()
        self._stores: list[Store] = []
        self._limit = connections
        self._direct: Store | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _open(self) -> Store:
        store: Store
        if isinstance(self._path, str):  # a PostgreSQL URL (specs/storage.md section 6)
            store = PostgresStore(self._path, self._nodes, readonly=True)
        else:
            store = lite = SqliteStore(self._path, self._nodes)
            lite.conn.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
            lite.conn.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
        self._stores.append(store)
        return store

    @property
    def connections(self) -> int:
        """Connections open now (snapshot pool and hot path)."""
        with self._lock:
            return len(self._stores)

    def store(self) -> Store:
        """The hot path's connection (used on the event loop), outside any transaction."""
        with self._lock:
            if self._closed:
                raise StorageError("the node is shutting down")
            if self._direct is None:
                self._direct = self._open()
            return self._direct

    def _take(self) -> Store:
        with self._lock:
            if self._closed:
                raise StorageError("the node is shutting down")
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                if len(self._stores) - (self._direct is not None) < self._limit:
                    return self._open()
        return self._idle.get()  # every connection is busy: wait for one

    @contextmanager
    def snapshot(self) -> Iterator[Ledger]:
        store = self._take()
        try:
            with store.snapshot():
                yield Ledger(store, None, self._verifier)
        finally:
            self._idle.put(store)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for s in self._stores:
                s.close()
            self._stores.clear()
            self._direct = None
