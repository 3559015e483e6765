"""Writing the log as C2SP tlog-tiles to a folder as blocks commit (specs/tiles.md section 4).

The folder holds ``checkpoint`` and ``tile/...`` exactly as a reader fetches them below the
log's URL prefix, so any static web server can serve it. Each file is written to a temporary
file in its own folder and renamed into place, so a reader sees a whole file or none; full
tiles are written once and never change; a partial tile is a new file per width, kept until
the full tile replaces it (C2SP lets the log delete it then). The checkpoint is written
last, once every tile of its tree is in place, so a reader never sees a checkpoint whose tiles
are missing. A node started again (after a crash, or with ``tiles`` newly set) first writes
whatever its latest checkpoint's tree lacks (:meth:`TilesWriter.catch_up`).

The checkpoint is written with the cosignatures stored for it, and written again, atomically,
when more arrive later (from witnesses or peers' mirrors: :meth:`TilesWriter.cosigned`), so a
verifier reading only the tiles URL sees what ``GET /checkpoint`` serves. A frozen shard's
tiles checkpoint (``<tiles>/shards/<id>/checkpoint``, specs/tiles.md section 4.7) is written
again the same way when a late cosignature of its final checkpoint is stored
(:func:`rewrite_frozen_checkpoint`; specs/node.md section 10.3).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from ..core.note import Checkpoint, SignedNote
from ..core.tiles import ENTRIES, Tile, bundle, new_tiles, tree_tiles
from ..errors import LedgerError, StorageError
from ..store.base import CheckpointRow, Store

log = logging.getLogger("provenance_ledger.node")

CHECKPOINT_FILE = "checkpoint"
Cosign = Callable[[str, int, bytes], str]
"""(log-signed note, size, root) -> the note with the cosignatures stored for it
(``Witness.cosigned_note``)."""
FILE_MODE = 0o644  # tiles are public: the web server's user reads them
DIR_MODE = 0o755


def _make_folders(folder: Path) -> None:
    """``folder`` and its missing parents, each 0755 whatever the umask (a web server running
    as another user reads them)."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(exist_ok=True)
        os.chmod(made, DIR_MODE)


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all: a temporary file in the same folder
    (``.<name>.<random>.tmp``), renamed over the old one."""
    if not path.parent.is_dir():
        _make_folders(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, FILE_MODE)  # whatever the umask
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_folder(folder: Path, what: str = "node.toml 'tiles'") -> None:
    """Make ``folder`` if need be and check that files can be written in it; StorageError
    naming it and ``what`` set it otherwise (``node serve`` checks before it listens,
    ``node config --tiles`` before it writes node.toml)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise StorageError(f"cannot write the tiles to {folder} ({what}): {existing} is a "
                           "file, not a folder")
    try:
        write_atomically(folder / ".write-check", b"")
        (folder / ".write-check").unlink()
    except OSError as e:
        raise StorageError(f"cannot write the tiles to {folder} ({what}): "
                           f"{e.strerror or e}") from e


class TilesWriter:
    """Publishes a store's tree, entries and latest checkpoint as tiles in ``directory``.

    Runs where the store is written (the sequencer's thread): it reads the tree nodes and
    entries of committed blocks only. ``cosign`` adds the cosignatures stored for a
    checkpoint to the note written; :meth:`cosigned`, called from any thread when more are
    stored, writes the checkpoint again. A lock orders the two, so the file never goes back
    to an older checkpoint."""

    def __init__(self, directory: Path, store: Store, cosign: Cosign | None = None) -> None:
        self.directory = directory
        self._store = store
        self._cosign = cosign
        self._lock = threading.Lock()
        self._row: CheckpointRow | None = None
        """The checkpoint the folder holds (as the log signed it)."""
        self._written = ""
        """The note last written to ``checkpoint``, cosignatures included."""
        self.size = 0
        """Size of the checkpoint last written to the folder."""

    def _data(self, tile: Tile) -> bytes:
        if tile.level == ENTRIES:
            first = tile.index * 256
            return bundle(row.leaf for row in self._store.entries(first, first + tile.width))
        nodes = tile.nodes
        found = self._store.nodes(nodes)
        if len(found) != len(nodes):
            raise StorageError(f"the store lacks tree nodes of {tile.path}")
        return b"".join(found[n] for n in nodes)

    def _write(self, tile: Tile) -> None:
        path = self.directory / tile.path
        write_atomically(path, self._data(tile))
        if tile.full:  # its partial tiles are no longer needed by anyone
            shutil.rmtree(path.with_name(path.name + ".p"), ignore_errors=True)

    def _note(self, row: CheckpointRow) -> str:
        return row.note if self._cosign is None else self._cosign(row.note, row.size, row.root)

    def _write_checkpoint(self, row: CheckpointRow) -> None:
        """``checkpoint``: ``row``'s note with the cosignatures stored for it, last."""
        with self._lock:
            note = self._note(row)
            write_atomically(self.directory / CHECKPOINT_FILE, note.encode())
            self._row, self._written, self.size = row, note, row.size

    def cosigned(self, size: int) -> bool:
        """New cosignatures on this log's checkpoint of ``size`` were stored: when it is the
        folder's checkpoint, write it again with them (specs/tiles.md section 4.6). True
        when the file was rewritten; a write that fails is logged, not raised (the
        cosignatures are stored, and the next block or start writes them)."""
        with self._lock:
            row = self._row
            if row is None or row.size != size or self._cosign is None:
                return False
            try:
                note = self._note(row)
                if note == self._written:
                    return False
                write_atomically(self.directory / CHECKPOINT_FILE, note.encode())
            except (OSError, LedgerError) as e:
                log.error("tiles checkpoint not rewritten", extra={"fields": {
                    "size": size, "error": str(e)}})
                return False
            self._written = note
        log.info("tiles checkpoint cosigned", extra={"fields": {"size": size}})
        return True

    def _published_size(self) -> int:
        """The size of the folder's checkpoint (0 when there is none that parses)."""
        try:
            note = SignedNote.from_text((self.directory / CHECKPOINT_FILE).read_text("utf-8"))
            return Checkpoint.from_text(note.text).size
        except (OSError, UnicodeDecodeError, LedgerError):
            return 0

    def _remove_temporary(self, size: int) -> None:
        """Temporary files a process killed while writing left behind: in the folders of the
        tiles written since the folder's checkpoint, and beside the checkpoint."""
        since = min(self._published_size(), size)
        folders = {self.directory} | {(self.directory / t.path).parent
                                      for t in new_tiles(since, size)}
        for folder in folders:
            for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
                tmp.unlink(missing_ok=True)

    def catch_up(self) -> int:
        """Write every tile of the latest checkpoint's tree that the folder lacks (a full
        tile present is kept as it is; the right edge's partial tiles are written again),
        then the checkpoint with its cosignatures; remove the temporary files of a writer
        killed on the way. Returns how many tiles were written."""
        row = self._store.latest_checkpoint()
        if row is None:
            return 0
        self._remove_temporary(row.size)
        written = 0
        for tile in tree_tiles(row.size):
            if tile.full and (self.directory / tile.path).is_file():
                continue
            self._write(tile)
            written += 1
        self._write_checkpoint(row)
        return written

    def publish(self) -> int:
        """After a block commits: write the tiles its growth changed, then its checkpoint.
        Returns how many tiles were written (0 when there is no new checkpoint)."""
        row = self._store.latest_checkpoint()
        if row is None or row.size <= self.size:
            return 0
        tiles = new_tiles(self.size, row.size)
        for tile in tiles:
            self._write(tile)
        self._write_checkpoint(row)
        return len(tiles)


_FROZEN_LOCK = threading.Lock()
"""Orders the rewrites of frozen shards' tiles checkpoints in this process."""


def rewrite_frozen_checkpoint(folder: Path, origin: str, size: int,
                              note: Callable[[], str]) -> bool:
    """Write ``folder/checkpoint`` (a frozen shard's tiles, specs/tiles.md section 4.7) again,
    atomically, with ``note()`` (its checkpoint of ``size`` with every cosignature kept, read
    under the lock so that the last writer writes the newest): only when the file there is
    that shard's checkpoint of that size (a folder the rotation moved) and the note differs.
    True when rewritten; a write that fails is logged, not raised (the cosignatures are
    stored, and ``GET /shards/{id}/checkpoint`` serves them)."""
    path = folder / CHECKPOINT_FILE
    with _FROZEN_LOCK:
        try:
            held = path.read_text("utf-8")
            cp = Checkpoint.from_text(SignedNote.from_text(held).text)
            if (cp.origin, cp.size) != (origin, size):
                return False
            text = note()
            if text == held:
                return False
            write_atomically(path, text.encode())
        except FileNotFoundError:
            return False
        except (OSError, UnicodeDecodeError, LedgerError) as e:
            log.error("frozen tiles checkpoint not rewritten", extra={"fields": {
                "origin": origin, "size": size, "error": str(e)}})
            return False
    log.info("frozen tiles checkpoint cosigned", extra={"fields": {
        "origin": origin, "size": size}})
    return True
