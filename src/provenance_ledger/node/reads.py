"""Read snapshots of a served ledger: one SQLite connection per thread (WAL: readers never
wait for the writer), one read transaction per snapshot, so a checkpoint and the proofs built
against it come from one snapshot."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.note import Verifier
from ..errors import StorageError
from ..ledger import Ledger
from ..store import NodeCache, SqliteStore


class Reads:
    """Read snapshots of the ledger: one SQLite connection per thread, one read transaction
    per snapshot, and a key-less ``Ledger`` over it (its frontier loaded in the snapshot)."""

    def __init__(self, db_path: Path, verifier: Verifier) -> None:
        self._path = db_path
        self._verifier = verifier
        self._local = threading.local()
        self._nodes = NodeCache()  # shared by every read connection: hashes never change
        self._stores: list[SqliteStore] = []
        self._lock = threading.Lock()
        self._closed = False

    def store(self) -> SqliteStore:
        """This thread's read connection, outside any transaction."""
        if self._closed:
            raise StorageError("the node is shutting down")
        store: SqliteStore | None = getattr(self._local, "store", None)
        if store is None:
            with self._lock:
                if self._closed:
                    raise StorageError("the node is shutting down")
                store = SqliteStore(self._path, self._nodes)
                self._stores.append(store)
            self._local.store = store
        return store

    @contextmanager
    def snapshot(self) -> Iterator[Ledger]:
        store = self.store()
        store.conn.execute("BEGIN")
        try:
            yield Ledger(store, None, self._verifier)
        finally:
            if store.conn.in_transaction:
                store.conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for s in self._stores:
                s.close()
            self._stores.clear()
