"""Read snapshots of a served ledger (specs/node.md section 2, "Reads"): a bounded pool of
SQLite read connections (WAL: readers never wait for the writer), one read transaction per
snapshot, so a checkpoint and the proofs built against it come from one snapshot; and one more
connection for the hot read path on the event loop, outside any transaction.

Memory is bounded whatever the log's size or the number of worker threads: at most
``READ_CONNECTIONS + 1`` connections, each with a page cache of ``READ_CACHE_KIB`` and no
memory map (a map of the file counts in the resident memory once per connection and grows
with the log), plus the shared :class:`NodeCache`.

On PostgreSQL (specs/node.md section 2, "Storage unavailable") the hot path's connection is
never opened on the event loop: it is opened on a thread of its own, the loop waiting for it
at most :data:`HOT_OPEN_WAIT_S`, and not at all while the last try outlasted that wait (a
database host that drops packets): the proof is then a 503 at once, the try going on behind.
That connection is not opened again by the store itself when the server ends it; it is
replaced here, the same way.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

from ..core.note import Verifier
from ..errors import StorageError, StorageUnavailableError
from ..ledger import Ledger
from ..store import NodeCache, SqliteStore, Store
from ..store.postgres import PostgresStore, redact

READ_CONNECTIONS = 4
"""Most connections serving read snapshots at once; more readers wait for one (2 cores gain
nothing from more, and each holds its own page cache)."""
READ_CACHE_KIB = 8 * 1024  # page cache of one read connection, KiB
READ_MMAP_BYTES = 0  # read connections do not map the file (see the module docstring)
HOT_OPEN_WAIT_S = 1.0
"""Longest wait of the event loop for the hot path's PostgreSQL connection being opened (a
reachable server takes milliseconds; one that does not answer, up to its connect_timeout)."""


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
        self._opening = 0  # snapshot connections being opened (outside the lock)
        self._hot_open: Future[Store] | None = None  # the hot connection being opened
        self._hot_slow = False  # the last try to open it outlasted HOT_OPEN_WAIT_S

    def _new_store(self, reconnect: bool = True) -> Store:
        """A new read connection (not yet counted in ``_stores``)."""
        if isinstance(self._path, str):  # a PostgreSQL URL (specs/storage.md section 6)
            return PostgresStore(self._path, self._nodes, readonly=True, reconnect=reconnect)
        lite = SqliteStore(self._path, self._nodes)
        lite.conn.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
        lite.conn.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
        return lite

    def _open(self) -> Store:
        store = self._new_store()
        self._stores.append(store)
        return store

    @property
    def connections(self) -> int:
        """Connections open now (snapshot pool and hot path)."""
        with self._lock:
            return len(self._stores)

    def store(self) -> Store:
        """The hot path's connection (used on the event loop), outside any transaction. On
        PostgreSQL it is opened off the loop (see the module docstring): while it cannot be,
        :class:`StorageUnavailableError` (or the :class:`StorageError` the open raised)."""
        with self._lock:
            if self._closed:
                raise StorageError("the node is shutting down")
            direct = self._direct
            if not isinstance(self._path, str):
                if direct is None:
                    direct = self._direct = self._open()
                return direct
            if isinstance(direct, PostgresStore) and not direct.conn.closed:
                return direct
            if direct is not None:  # the server ended it: replaced by a new one
                self._direct = None
                self._stores.remove(direct)
                direct.close()
            opening = self._hot_open
            if opening is None:
                opening = self._hot_open = Future()
                threading.Thread(target=self._open_hot, args=(opening,), daemon=True,
                                 name="hot-read-open").start()
            slow = self._hot_slow
        if slow and not opening.done():
            raise StorageUnavailableError(f"ledger database {redact(self._path)}: opening "
                                          "the connection takes long; it goes on meanwhile")
        try:
            return opening.result(timeout=HOT_OPEN_WAIT_S)
        except TimeoutError:
            with self._lock:
                self._hot_slow = True
            raise StorageUnavailableError(
                f"ledger database {redact(self._path)}: no connection within "
                f"{HOT_OPEN_WAIT_S} s; it goes on meanwhile") from None

    def _open_hot(self, opening: Future[Store]) -> None:
        """Open the hot path's PostgreSQL connection (on a thread of its own)."""
        began = time.monotonic()
        try:
            store = self._new_store(reconnect=False)
        except BaseException as e:
            with self._lock:
                self._hot_open = None
                self._hot_slow = time.monotonic() - began > HOT_OPEN_WAIT_S
            opening.set_exception(e)
            return
        with self._lock:
            self._hot_open = None
            self._hot_slow = False
            if self._closed:
                store.close()
                opening.set_exception(StorageError("the node is shutting down"))
                return
            self._direct = store
            self._stores.append(store)
        opening.set_result(store)

    def _take(self) -> Store:
        with self._lock:
            if self._closed:
                raise StorageError("the node is shutting down")
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                opened = len(self._stores) - (self._direct is not None) + self._opening
                if opened < self._limit:
                    self._opening += 1  # opened outside the lock: the hot path takes it
        if opened >= self._limit:
            return self._idle.get()  # every connection is busy: wait for one
        try:
            store = self._new_store()
        finally:
            with self._lock:
                self._opening -= 1
        with self._lock:
            if self._closed:
                store.close()
                raise StorageError("the node is shutting down")
            self._stores.append(store)
        return store

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
