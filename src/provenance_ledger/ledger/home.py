"""The data directory of an embedded ledger (specs/storage.md section 3).

``~/.provenance`` by default, or ``PROVENANCE_HOME``, or ``--home``::

    ledger.db        the SQLite store
    log.key          the log's Ed25519 signing key (0600)
    keys/<name>.key  creators' signing keys (0600); "default" is made on first use
    receipts/        receipts written by the CLI

Everything is created on first use; the folder is 0700.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..core.note import NoteSigner
from ..errors import LedgerError, StorageError
from ..store import SqliteStore
from .files import remove_stale_temps
from .keys import KeyStore, read_private_key, write_private_key
from .ledger import Ledger, MapProgress

HOME_ENV = "PROVENANCE_HOME"
DEFAULT_HOME = "~/.provenance"
ORIGIN_PREFIX = "provenance-ledger.local/"


def default_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser()


@dataclass(frozen=True, slots=True)
class Home:
    path: Path

    @property
    def db_path(self) -> Path:
        return self.path / "ledger.db"

    @property
    def log_key_path(self) -> Path:
        return self.path / "log.key"

    @property
    def keys(self) -> KeyStore:
        return KeyStore(self.path / "keys")

    @property
    def receipts(self) -> Path:
        return self.path / "receipts"

    def ensure(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as e:
            raise StorageError(f"cannot create data directory {self.path}: {e.strerror}") from e
        if not self.path.is_dir():
            raise StorageError(f"data directory {self.path} is not a directory")

    def writable(self) -> bool:
        """Whether this process may write the home's database: false for a read-only mount
        or a copy it may only read (specs/storage.md section 2.2)."""
        db = self.db_path
        return os.access(self.path, os.W_OK) and (not db.exists() or os.access(db, os.W_OK))

    def open_ledger(self, origin: str | None = None,
                    progress: MapProgress | None = None) -> Ledger:
        """Open (creating on first use) the ledger, its log key and its origin. A home this
        process cannot write is opened read-only: reads answer, writes fail with one line.
        A home made before the verifiable map gets its map built now, told to ``progress``
        (specs/map.md section 10, upgrade)."""
        if self.path.is_dir() and self.db_path.exists() and not self.writable():
            store = SqliteStore(self.db_path, readonly=True)
            try:
                stored = store.get_meta("origin")
                if stored is None or not self.log_key_path.exists():
                    raise StorageError(f"{self.path} holds no complete ledger to read")
                return Ledger(store, NoteSigner(stored, read_private_key(self.log_key_path,
                                                                         None)))
            except BaseException:
                store.close()
                raise
        self.ensure()
        remove_stale_temps(self.path)  # e.g. of a log key being written when a run was killed
        store = SqliteStore(self.db_path)
        if not self.log_key_path.exists():
            from ..core.crypto import PrivateKey

            try:
                write_private_key(self.log_key_path, PrivateKey.generate(), None)
            except LedgerError:
                if not self.log_key_path.exists():
                    raise  # not another command creating the home at the same moment
        key = read_private_key(self.log_key_path, None)
        stored = store.get_meta("origin")
        if stored is None:
            stored = origin or ORIGIN_PREFIX + hashlib.sha256(key.public.raw).hexdigest()[:12]
            store.set_meta("origin", stored)
        elif origin is not None and origin != stored:
            raise StorageError(f"this ledger's origin is {stored}, not {origin}")
        ledger = Ledger(store, NoteSigner(stored, key))
        try:
            ledger.build_map(progress)
        except BaseException:
            ledger.close()
            raise
        return ledger
