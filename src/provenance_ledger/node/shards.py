"""Period shards: rotating a node to a new log and keeping the old one frozen (specs/node.md
section 10).

``rotate`` freezes the current log at its latest signed checkpoint (the empty tree's when
it has none) and makes a new, empty log with a new origin the node's current log. The steps
are journalled in ``shards.json`` (node/shard_manifest.py) before any file moves, and
:func:`finish_rotation`, run by every command that opens the node's log and by ``node
serve`` before it starts, completes a rotation an interruption left half done; each step
checks whether it is done already, so running it again is harmless:

1. ``ledger.db`` (and its ``-wal``/``-shm`` and ``ledger.similarity.db``) of the old origin
   move to ``shards/<id>/``; a home whose log is in PostgreSQL instead copies its log into a
   new SQLite file ``shards/<id>/ledger.db``, checked before it is put in place
   (store/freeze.py), and moves its ``ledger.similarity.db``; with ``tiles`` set, the old
   tiles and checkpoint move to ``<tiles>/shards/<id>/``;
2. a new ``ledger.db`` with the new origin is made (in PostgreSQL: the schema is emptied and
   made the new origin's log, in one transaction, once the copy is in place) and its empty
   tree's checkpoint signed (same log key: section 10.2);
3. ``node.toml`` gets the new origin;
4. the manifest lists the old log as frozen and the rotation as done.

A rotation needs the node stopped: ``node serve`` holds ``serve.lock`` (shared) while it
runs, and ``rotate`` takes it exclusively, without waiting.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.note import NoteSigner, Verifier, check_key_name
from ..errors import LedgerError, MalformedError, NotFoundError, StorageError
from ..ledger import Home, Ledger
from ..ledger.files import fsync_folder
from ..ledger.home import STORE_FILE
from ..ledger.keys import read_private_key
from ..store import PostgresStore, SqliteStore, Store
from ..store.postgres import redact
from ..store.shard_cosignatures import cosignature_lines, move_own_cosignatures
from .config import (
    NodeConfig,
    _write_config,
    load_config,
    open_own_ledger,
    require_log_key,
    tiles_dir,
    witness_db_path,
)
from .shard_manifest import (
    SHARDS_DIR,
    FrozenShard,
    Manifest,
    Rotation,
    load_manifest,
    save_manifest,
    shard_dir,
    shard_id,
)

if TYPE_CHECKING:
    from ..store.freeze import Progress

SERVE_LOCK = "serve.lock"
COSIGNATURES_FILE = "cosignatures.db"
"""In a frozen shard's folder: the cosignatures of its checkpoints (store/shard_cosignatures)."""
SIMILARITY_FILES = ("ledger.similarity.db", "ledger.similarity.db-wal",
                    "ledger.similarity.db-shm")
"""The similarity index of the home's log (specs/storage.md section 3.1), a PostgreSQL
home's too (section 6.3)."""
LEDGER_FILES = ("ledger.db", "ledger.db-wal", "ledger.db-shm", *SIMILARITY_FILES)
"""The files of a log that move with it when it is frozen (the database last: its presence
in the home says the move is not over)."""
TILE_ENTRIES = ("tile", "checkpoint")
"""What a tiles folder holds of one log (specs/tiles.md section 4), moved in this order."""


# -- the serving lock -----------------------------------------------------------------------


@contextmanager
def serving(home: Path) -> Iterator[None]:
    """Held (exclusively) by a serving node for as long as it runs: no rotation, and no
    second ``node serve`` of the same home (two sequencers, witnessing and mirroring loops of
    one log), starts meanwhile (specs/node.md section 1). A home this process cannot write (a
    read-only copy) is served without it: it cannot be rotated either."""
    if not os.access(home, os.W_OK):
        yield
        return
    with _lock(home, fcntl.LOCK_EX, serve=True):
        yield


def served_already(home: Path) -> LedgerError:
    """What a second ``node serve`` of a home is told (specs/node.md section 1)."""
    return LedgerError(f"the node at {home} is served already, or being rotated to a new log "
                       f"(another node serve or node shard rotate holds {home / SERVE_LOCK}): "
                       "stop it first; one node serve serves a home")


def is_serving(home: Path) -> bool:
    """Whether a ``node serve`` (or a rotation) holds this home's ``serve.lock`` now: a change
    to ``node.toml`` then waits for its next start."""
    try:
        fd = os.open(home / SERVE_LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # and with it the lock, if it was taken
    return False


@contextmanager
def _lock(home: Path, how: int, serve: bool = False) -> Iterator[None]:
    path = home / SERVE_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
        except BlockingIOError as e:
            if serve:
                raise served_already(home) from e
            raise LedgerError(f"the node at {home} is serving (node serve holds {path}): stop "
                              "it, rotate, then start it again") from e
        yield
    finally:
        os.close(fd)


# -- rotation -------------------------------------------------------------------------------


def check_new_origin(home: Path, config: NodeConfig, manifest: Manifest, origin: str) -> str:
    """``origin`` as a new shard's: a valid origin that this node has never logged as and
    that names none of its peers or its witness."""
    check_key_name(origin, "--origin")
    if origin == config.origin:
        if manifest.frozen:  # the same rotate run again once it was done: say it was
            last = manifest.frozen[-1]
            raise MalformedError(
                f"--origin {origin} is the current log's origin: this node rotated to it "
                f"already, freezing {last.origin} at size {last.final_size} (node shard "
                "list); to rotate again, give a new one")
        raise MalformedError(f"--origin {origin} is the current log's origin: give a new one, "
                             "such as <name>/2026")
    if origin in manifest.origins():
        raise MalformedError(f"--origin {origin} is a frozen shard of this node: an origin "
                             "names one log, forever")
    if origin == config.witness_name or any(p.origin == origin for p in config.peers):
        raise MalformedError(f"--origin {origin} is the name of this node's witness or of a "
                             "peer")
    if any(s.id == shard_id(origin) for s in manifest.frozen):  # pragma: no cover - 2^-64
        raise MalformedError(f"--origin {origin}: its shard id is taken")
    return origin


def rotate(home: Path, origin: str, now: int, progress: Progress | None = None) -> Manifest:
    """Freeze the current log and make ``origin`` the current one (module docstring). The
    node must not be serving. ``progress``: told the rows copied out of PostgreSQL. Returns
    the manifest after the rotation. Run again after a rotation to ``origin`` was cut short,
    it finishes that one: the command's job, done (section 10.1)."""
    under_way = load_manifest(home, load_config(home).origin).rotating
    current = finish_rotation(home, progress)  # an earlier rotation first, whole
    if under_way is not None and under_way.target == origin and current.current == origin:
        return current
    config = load_config(home)
    require_log_key(home)
    open_own_ledger(home, config.origin).close()  # node.toml's origin edited by hand: said
    check_new_origin(home, config, current, origin)
    with _lock(home, fcntl.LOCK_EX):
        require_log_key(home)
        ledger = open_own_ledger(home, config.origin)
        try:
            ledger.checkpoint_empty_log(now)  # a log frozen before its first event
            row = ledger.store.latest_checkpoint()
            first = next(ledger.store.checkpoints(), None)
        finally:
            ledger.close()
        assert row is not None and first is not None  # noqa: S101 - signed just above
        rotation = Rotation(config.origin, origin, max(now, row.at), first.at, row.size,
                            row.root.hex(), row.note)
        save_manifest(home, replace(current, rotating=rotation))  # the journal, before moves
        return _finish(home, load_manifest(home, config.origin), progress)


def finish_rotation(home: Path, progress: Progress | None = None) -> Manifest:
    """Complete a rotation an interruption left half done (nothing when none is under way);
    the home's manifest after it."""
    config = load_config(home)
    manifest = load_manifest(home, config.origin)
    if manifest.rotating is None:
        return manifest
    with _lock(home, fcntl.LOCK_EX):
        return _finish(home, manifest, progress)


def _finish(home: Path, manifest: Manifest, progress: Progress | None) -> Manifest:
    assert manifest.rotating is not None  # noqa: S101 - callers check
    # A home on PostgreSQL says so in store.url from its creation on ($PROVENANCE_STORE is
    # for new homes: a SQLite home whose ledger.db has just moved is not one).
    url = Home(home).store_url() if (home / STORE_FILE).exists() else None
    manifest = _journal_latest(home, manifest, url)
    r = manifest.rotating
    assert r is not None  # noqa: S101 - kept by _journal_latest
    old_dir = shard_dir(home, r.source)
    # (1) the old log's files into shards/<id>/ (ledger.db last; a log in PostgreSQL is
    # copied out into a file there), its cosignatures and tiles beside them.
    if url is not None:
        _copy_out(home, url, r, progress)
    elif (home / "ledger.db").exists() and _origin_of(home / "ledger.db") == r.source:
        old_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        (home / SHARDS_DIR).chmod(0o700)
        for name in reversed(LEDGER_FILES):
            _move(home / name, old_dir / name)
    elif not (home / "ledger.db").exists():
        for name in LEDGER_FILES:  # the rest of a move cut short after ledger.db
            _move(home / name, old_dir / name)
    if not (old_dir / "ledger.db").exists():
        raise StorageError(f"the log {r.source} being frozen is in neither {home} nor "
                           f"{old_dir}: restore it from a backup")
    move_own_cosignatures(witness_db_path(home), old_dir / COSIGNATURES_FILE)
    config = load_config(home)
    folder = tiles_dir(home, config)
    if folder is not None and _tiles_origin(folder) == r.source:
        frozen_tiles = folder / SHARDS_DIR / shard_id(r.source)
        frozen_tiles.mkdir(parents=True, exist_ok=True)
        for name in TILE_ENTRIES:
            _move(folder / name, frozen_tiles / name)
    # (2) the new log, its empty tree's checkpoint signed.
    if url is not None:
        _reset_postgres(home, url, r)  # never but for a checked copy in place
    require_log_key(home)
    ledger = Home(home).open_ledger(origin=r.target)
    try:
        ledger.checkpoint_empty_log(r.at)
    finally:
        ledger.close()
    # (3) node.toml, (4) the manifest.
    if config.origin != r.target:
        _write_config(home, replace(config, origin=r.target))
    vkey = NoteSigner(r.source, read_private_key(Home(home).log_key_path, None)).verifier
    frozen = FrozenShard(r.source, vkey.to_vkey(), r.first_at, r.at, r.final_size,
                         r.final_root, r.final_checkpoint)
    done = Manifest(r.target, r.at, (*manifest.frozen, frozen), None)
    save_manifest(home, done)
    return done


def _journal_latest(home: Path, manifest: Manifest, url: str | None) -> Manifest:
    """The journal with the final checkpoint brought up to the old log's latest, when the
    log grew after the rotation was journalled (a command run on the stopped home between
    an interrupted rotation and its finish) and nothing of it has moved yet: the frozen log
    is then exactly the log up to its final checkpoint (specs/node.md section 10.1)."""
    r = manifest.rotating
    assert r is not None  # noqa: S101 - callers check
    store: Store | None = None
    if url is not None:
        store = PostgresStore(url, local=home)
    elif (home / "ledger.db").exists() and not any(
            (shard_dir(home, r.source) / name).exists() for name in LEDGER_FILES):
        store = SqliteStore(home / "ledger.db", readonly=True)
    if store is None:
        return manifest
    try:
        if store.get_meta("origin") != r.source:
            return manifest
        row = store.latest_checkpoint()
    finally:
        store.close()
    if row is None or row.size <= r.final_size:
        return manifest
    later = replace(r, at=max(r.at, row.at), final_size=row.size, final_root=row.root.hex(),
                    final_checkpoint=row.note)
    save_manifest(home, replace(manifest, rotating=later))
    return load_manifest(home, load_config(home).origin)


def _copy_out(home: Path, url: str, r: Rotation, progress: Progress | None) -> None:
    """Step (1) for a log in PostgreSQL (specs/node.md section 10.1): while the database
    still holds the log being frozen, the log is copied into ``shards/<id>/ledger.db`` unless
    the copy is there (store/freeze.py), and the similarity index moves beside it."""
    from ..store.freeze import freeze_postgres

    old_dir = shard_dir(home, r.source)
    store = PostgresStore(url, local=home)
    try:
        held = store.get_meta("origin")
        if held == r.source:
            if (old_dir / "ledger.db").exists() and _size_of(old_dir / "ledger.db") != (
                    r.final_size):
                (old_dir / "ledger.db").unlink()  # appended to since: copied again, whole
            if not (old_dir / "ledger.db").exists():
                old_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                (home / SHARDS_DIR).chmod(0o700)
                freeze_postgres(store, old_dir / "ledger.db", r.final_size,
                                bytes.fromhex(r.final_root), progress)
            for name in SIMILARITY_FILES:
                _move(home / name, old_dir / name)
        elif held != r.target:
            what = "no log" if held is None else f"the log {held}"
            raise StorageError(f"{redact(url)} holds {what}, neither {r.source} being "
                               f"frozen nor {r.target}: restore it from a backup")
    finally:
        store.close()


def _reset_postgres(home: Path, url: str, r: Rotation) -> None:
    """Step (2) for a log in PostgreSQL, up to the signing: once the frozen copy is checked
    to hold the journalled final checkpoint, the database is made the empty log of the new
    origin in one transaction (nothing when it is already)."""
    copy = shard_dir(home, r.source) / "ledger.db"
    _check_frozen_copy(copy, r)
    store = PostgresStore(url, local=home)
    try:
        store.reset_log(r.source, r.target, _size_of(copy))
    finally:
        store.close()


def _size_of(db: Path) -> int:
    store = SqliteStore(db, readonly=True)
    try:
        return store.size()
    finally:
        store.close()


def _check_frozen_copy(db: Path, r: Rotation) -> None:
    """The frozen copy holds the log ``r.source`` with its journalled final checkpoint."""
    store = SqliteStore(db, readonly=True)
    try:
        row = store.checkpoint(r.final_size)
        if store.get_meta("origin") != r.source or row is None or store.size() != (
                r.final_size) or (row.root.hex(), row.note) != (r.final_root,
                                                                 r.final_checkpoint):
            raise StorageError(f"{db} does not hold {r.source} at its final checkpoint (size "
                               f"{r.final_size}): the log in PostgreSQL is left as it is")
    finally:
        store.close()


def _move(src: Path, dest: Path) -> None:
    if src.exists():
        os.replace(src, dest)
        fsync_folder(dest.parent)
        fsync_folder(src.parent)


def _origin_of(db: Path) -> str | None:
    store = SqliteStore(db, readonly=True)
    try:
        return store.get_meta("origin")
    finally:
        store.close()


def _tiles_origin(folder: Path) -> str | None:
    """The origin of the checkpoint in a tiles folder (None: none that parses)."""
    from ..core.note import Checkpoint, SignedNote

    try:
        note = SignedNote.from_text((folder / "checkpoint").read_text("utf-8"))
        return Checkpoint.from_text(note.text).origin
    except (OSError, UnicodeDecodeError, LedgerError):
        return None


# -- reading frozen shards ------------------------------------------------------------------


def frozen_path(home: Path, shard: FrozenShard) -> Path:
    return shard_dir(home, shard.origin) / "ledger.db"


@contextmanager
def frozen_ledger(home: Path, shard: FrozenShard) -> Iterator[Ledger]:
    """A frozen shard's log, opened read-only, checked with its own verifier key."""
    store = SqliteStore(frozen_path(home, shard), readonly=True)
    try:
        if store.get_meta("origin") != shard.origin:
            raise StorageError(f"{frozen_path(home, shard)} does not hold {shard.origin}")
        yield Ledger(store, None, Verifier.from_vkey(shard.vkey))
    finally:
        store.close()


def frozen_stores(home: Path, manifest: Manifest) -> list[tuple[str, SqliteStore]]:
    """Each frozen shard's store, read-only, oldest first (the writer's carry-over)."""
    out: list[tuple[str, SqliteStore]] = []
    try:
        for shard in manifest.frozen:
            out.append((shard.origin, SqliteStore(frozen_path(home, shard), readonly=True)))
    except BaseException:
        for _, s in out:
            s.close()
        raise
    return out


def frozen_note(home: Path, shard: FrozenShard, note: str, size: int, root: bytes) -> str:
    """A frozen shard's checkpoint ``note`` with the cosignatures kept for it."""
    from ..core.note import NoteSignature, SignedNote

    lines = cosignature_lines(shard_dir(home, shard.origin) / COSIGNATURES_FILE, size, root)
    if not lines:
        return note
    return SignedNote.from_text(note).with_signatures(
        [NoteSignature.from_line(line.rstrip("\n")) for line in lines]).to_text()


def shard_of(manifest: Manifest, sid: str) -> FrozenShard:
    shard = manifest.shard(sid)
    if shard is None:
        raise NotFoundError(f"no frozen shard {sid} on this node (GET /shards lists them)")
    return shard
