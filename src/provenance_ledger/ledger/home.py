"""The data directory of an embedded ledger (specs/storage.md section 3).

``~/.provenance`` by default, or ``PROVENANCE_HOME``, or ``--home``::

    ledger.db        the SQLite store (the embedded default)
    store.url        or: the postgresql:// URL of the PostgreSQL store holding the log (0600)
    log.key          the log's Ed25519 signing key (0600)
    keys/<name>.key  creators' signing keys (0600); "default" is made on first use
    receipts/        receipts written by the CLI

Everything is created on first use; the folder is 0700. A home this user owns has its folder,
``keys/`` and ``receipts/`` made 0700 again when others could open them, and a signing key file
that group or others may read is refused, as ssh refuses one (specs/cli.md section 1).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..core.crypto import PrivateKey
from ..core.note import NoteSigner
from ..errors import LedgerError, OtherOriginError, StorageError
from ..store import SqliteStore, Store
from ..store.postgres import PostgresStore, check_url, redact
from .files import remove_stale_temps, write_atomic
from .keys import KeyStore, read_private_key, write_private_key
from .ledger import Ledger, MapProgress

HOME_ENV = "PROVENANCE_HOME"
DEFAULT_HOME = "~/.provenance"
ORIGIN_PREFIX = "provenance-ledger.local/"
STORE_ENV = "PROVENANCE_STORE"
STORE_FILE = "store.url"
MAX_STORE_URL_BYTES = 4096  # a store.url file larger than this is refused


def default_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser()


@dataclass(frozen=True, slots=True)
class Home:
    path: Path
    store: str | None = None
    """For a new home: the postgresql:// URL to keep its log in (else ``$PROVENANCE_STORE``
    when set, else ``ledger.db``); recorded in ``store.url`` (specs/storage.md section 6)."""

    @property
    def db_path(self) -> Path:
        return self.path / "ledger.db"

    @property
    def log_key_path(self) -> Path:
        return self.path / "log.key"

    @property
    def keys(self) -> HomeKeys:
        return HomeKeys(self.path / "keys")

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
        for folder in (self.path, self.path / "keys", self.receipts):
            tighten(folder)

    def tighten_files(self) -> list[tuple[Path, int]]:
        """Make the home's private files (:data:`PRIVATE_FILES`) 0600 again (:func:`tighten`):
        for the CLI, which then tells the user; returns those that were open to others, each
        with the mode it had (one may have been copied). A node's start refuses such a key
        file instead (specs/node.md section 1), so that its operator decides."""
        opened = ((self.path / name, tighten(self.path / name)) for name in PRIVATE_FILES)
        return [(path, was) for path, was in opened if was is not None]

    # -- the store: ledger.db, or a PostgreSQL database named in store.url -------------------
    def store_url(self) -> str | None:
        """The PostgreSQL URL the home's log is kept in, None for ``ledger.db``: the one
        recorded in ``store.url``, else (a home without a ledger yet) the one asked for. A
        URL asked for that is not the recorded one is refused, never silently ignored."""
        asked = self.store if self.store is not None else (os.environ.get(STORE_ENV) or None)
        recorded = self._recorded_url()
        if recorded is not None:
            if asked is not None and asked != recorded:
                raise StorageError(f"{self.path} keeps its log in {redact(recorded)}, not "
                                   f"{redact(asked)}")
            return recorded
        if asked is not None and self.db_path.exists():
            raise StorageError(f"{self.path} keeps its log in {self.db_path.name}: a "
                               f"PostgreSQL store ({STORE_ENV}, --store) is for a new home")
        return None if asked is None else check_url(asked)

    def _recorded_url(self) -> str | None:
        path = self.path / STORE_FILE
        try:
            with path.open("rb") as f:
                raw = f.read(MAX_STORE_URL_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StorageError(f"cannot read {path}: {e.strerror}") from e
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as e:
            raise StorageError(f"{path} is not UTF-8 text") from e
        if len(raw) > MAX_STORE_URL_BYTES:
            raise StorageError(f"{path} is larger than {MAX_STORE_URL_BYTES} bytes")
        return check_url(text, str(path))

    def location(self) -> str | Path:
        """Where the log is: its PostgreSQL URL, or the path of ``ledger.db``."""
        url = self.store_url()
        return self.db_path if url is None else url

    def _open_store(self) -> Store:
        url = self.store_url()
        if url is None:
            return SqliteStore(self.db_path)
        store = PostgresStore(url, local=self.path)
        try:
            if self._recorded_url() is None:  # a new home: record where its log is
                if store.get_meta("origin") is not None:
                    raise StorageError(f"{redact(url)} already holds the log "
                                       f"{store.get_meta('origin')}: a new home needs an "
                                       "empty schema")
                write_atomic(self.path / STORE_FILE, (url + "\n").encode(), exclusive=True)
        except BaseException:
            store.close()
            raise
        return store

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
        if (self.path.is_dir() and self.db_path.exists() and not self.writable()
                and self.store is None):
            store: Store = SqliteStore(self.db_path, readonly=True)
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
        store = self._open_store()
        if not self.log_key_path.exists():
            if store.latest_checkpoint() is not None or store.size():
                store.close()
                raise LedgerError(
                    f"this home's log key {self.log_key_path} is missing and its log was "
                    "signed with it: restore log.key from your backup of the home (a new key "
                    "would sign another log, against which no receipt made here verifies)")
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
            raise OtherOriginError(stored, origin)
        ledger = Ledger(store, NoteSigner(stored, key))
        try:
            _check_signed_by(ledger, self.log_key_path)
            ledger.build_map(progress)
        except BaseException:
            ledger.close()
            raise
        return ledger


PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILES = ("log.key", STORE_FILE)
"""Files of a home that are its owner's alone (0600, specs/cli.md section 1) besides its
databases (store/sqlite.py ``create_private``): the log's signing key and the PostgreSQL URL
(which may hold a password)."""


def tighten(path: Path) -> int | None:
    """Take group's and others' rights away from ``path``, a folder (0700) or a file (0600),
    when it is this user's own and they have any (a home made by hand with ``mkdir -m 0777``,
    a database copied with a loose umask): the home holds private keys, the log's key and
    receipts. One that is missing, someone else's, or cannot be changed (a read-only mount)
    is left as it is: the key files in it are checked one by one before they sign. Returns
    the mode it had when it was changed, else None."""
    try:
        st = path.lstat()
        if ((stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode))
                and st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077):
            path.chmod(stat.S_IMODE(st.st_mode) & PRIVATE_FOLDER_MODE)
            return stat.S_IMODE(st.st_mode)
    except (OSError, AttributeError):  # missing, not ours, read-only; no geteuid (Windows)
        pass
    return None


def check_private_key_file(path: Path) -> None:
    """Refuse a private key file that group or others may read or write, as ssh does: a
    key someone else could have copied no longer proves who signed (specs/cli.md section 1,
    signing key). Says how to fix it."""
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # missing or unreadable: reading it says so
    if mode & 0o077:
        raise LedgerError(
            f"key file {path} is open to others (mode {mode:04o}): a private key must be "
            f"readable by you alone; fix it with: chmod 600 {path} (and if others could have "
            "copied it, declare it compromised: provenance key compromised)")


class HomeKeys(KeyStore):
    """The signing keys of a home (``keys/``): its folders are made private when a key is
    read (:func:`tighten`); a key that signs is checked by :func:`check_private_key_file`
    (cli/session.py), one read for its public key (``key show``) is not."""

    def load(self, name: str, passphrase: str | None = None) -> PrivateKey:
        tighten(self.folder.parent)  # the home, also when no ledger is opened (--node)
        tighten(self.folder)
        return super().load(name, passphrase)


def _check_signed_by(ledger: Ledger, key_path: Path) -> None:
    """Refuse a ``log.key`` that is not the key of the log's latest checkpoint (a key file
    copied from another home, or made anew): checkpoints it signed would extend the log under
    a key no receipt made here names (specs/cli.md section 1, "log key"). The key is told by
    the key id of the checkpoint's signatures (C2SP signed-note: the hash of the checkpoint's
    own origin line and the key), not by the signature itself: a checkpoint or origin altered
    in the database is not a wrong key, and ``log audit`` must still open the home to name
    it."""
    from ..core.note import SignedNote, key_id
    from ..errors import MalformedError

    row = ledger.store.latest_checkpoint()
    if row is None or ledger.signer is None:
        return
    try:
        note = SignedNote.from_text(row.note)
    except MalformedError:
        return  # an altered note: the audit names it
    origin = note.text.split("\n", 1)[0]
    verifier = ledger.signer.verifier
    mine = key_id(origin, verifier.sig_type, verifier.public_key.raw)
    if not any(sig.key_id == mine for sig in note.signatures if sig.name == origin):
        raise LedgerError(
            f"this home's log key {key_path} did not sign its log's checkpoints (latest: size "
            f"{row.size}): restore the home's own log.key from your backup")
