"""Files written whole or not at all: key files, receipts, a node's config (specs/storage.md
section 3, specs/cli.md section 1.2).

One way to write a file: a temporary file beside it, fsync, rename over the target (or link, to
never replace one), fsync the folder. A reader sees the old file or the new one, never half of
one, and after a crash or power loss the new one is there whole or not at all.

A process killed mid-write leaves its temporary file. They are named
``.<name>.<pid>.<random>.tmp``: :func:`remove_stale_temps` removes those of processes that are
gone (a live writer's are kept), and every writer of a folder calls it first, so a kill leaves
nothing behind once the folder is written again.

Left out: the SQLite database, which has its own journal (``store/``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import stat
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from ..errors import LedgerError, MalformedError, NotFoundError

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
SYNCFS_MIN_FILES = 8
"""From this many files on, one ``syncfs`` of their file system replaces one fsync per file: a
folder's thousands of receipts would otherwise wait for a disk flush each (about 1 ms)."""

_TEMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]{1,10})\.[0-9a-z]+\.tmp")
"""Temporary files of :func:`write_atomic`; also matches ``.<name>.<pid>.<thread>.tmp``, the
names that earlier versions left behind."""


def temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path``, naming this process."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def write_atomic(path: Path, data: bytes, *, mode: int | None = PRIVATE_FILE,
                 exclusive: bool = False) -> None:
    """Replace (or, ``exclusive``, create: never replace) ``path`` with ``data``, durably.

    ``mode``: the file's permissions whatever the umask; None: a new file's default
    (``0o666`` less the umask). Raises :class:`LedgerError` naming the file."""
    _write_all([(path, data)], mode, exclusive)


PAUSE_FILES = 64  # files written between two calls of write_atomic_all's ``pause``


def write_atomic_all(items: Sequence[tuple[Path | str, bytes]], *,
                     mode: int | None = PRIVATE_FILE, owner: int | None = None,
                     pause: Callable[[], None] | None = None) -> None:
    """:func:`write_atomic` for many files, with one flush to disk for all of them.
    ``owner``: the process the temporary files are named after, which a later run checks is
    gone before it removes them (default: this one; a worker writing for its parent names the
    parent, so that the parent's death is enough). ``pause`` is called every
    ``PAUSE_FILES`` files (a worker runs what cannot wait meanwhile)."""
    _write_all(items, mode, exclusive=False, owner=owner, pause=pause)


def _write_all(items: Sequence[tuple[Path | str, bytes]], mode: int | None, exclusive: bool,
               owner: int | None = None, pause: Callable[[], None] | None = None) -> None:
    """(1) write every temporary file, (2) make them durable, (3) put each in place (a link
    fails if the name exists, a rename replaces it), (4) fsync each folder, so that the new
    names are durable too. The temporary names share one random part (and a counter), and
    permissions are set by ``fchmod`` only when the umask would take bits from ``mode``: a
    folder's thousands of receipts cost four system calls each (open, write, close, rename).
    The names are handled as text (a receipt's path object costs more than its writing's
    Python part)."""
    many = len(items) >= SYNCFS_MIN_FILES
    names = _TempNames(owner)
    chmod = mode is not None and mode & _umask() != 0
    targets = [os.fspath(p) for p, _ in items]
    temps: list[str] = []
    placed = 0  # temporary files put in place so far: they are gone
    path = ""
    try:
        for path, (_, data) in zip(targets, items, strict=True):
            temps.append(_write_temp(names.next(path), data, mode, chmod=chmod, sync=not many))
            if pause is not None and len(temps) % PAUSE_FILES == 0:
                pause()
        if many:
            _sync_file_systems(temps)
        for tmp, path in zip(temps, targets, strict=True):
            if exclusive:
                os.link(tmp, path)
                os.unlink(tmp)
            else:
                os.rename(tmp, path)
            placed += 1
            if pause is not None and placed % PAUSE_FILES == 0:
                pause()
        for folder in {_folder_of(p) for p in targets}:
            fsync_folder(Path(folder))
    except FileExistsError as e:
        raise LedgerError(f"{path} already exists") from e
    except OSError as e:
        raise LedgerError(f"cannot write {path}: {e.strerror}") from e
    finally:
        for tmp in temps[placed:]:  # left only when a step failed
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _folder_of(path: str) -> str:
    """The folder a file's path names (``.`` for a bare name)."""
    return os.path.dirname(path) or os.curdir


class _TempNames:
    """Temporary names beside their targets, ``.<name>.<pid>.<random><n>.tmp``: one random
    part for a batch of files, and a counter."""

    def __init__(self, owner: int | None = None) -> None:
        self._prefix = f".{os.getpid() if owner is None else owner}.{secrets.token_hex(4)}"
        self._n = 0

    def next(self, path: str) -> str:
        self._n += 1
        folder, sep, name = path.rpartition(os.sep)
        return f"{folder}{sep}.{name}{self._prefix}{self._n:x}.tmp"


def _umask() -> int:
    """The process's umask, read without changing it (Linux's /proc); when it cannot be read,
    every bit (so that permissions are always set by ``fchmod``)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o777


def _write_temp(tmp: str, data: bytes, mode: int | None, *, chmod: bool, sync: bool) -> str:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o666 if mode is None else mode)
    try:
        if chmod and mode is not None:
            os.fchmod(fd, mode)  # exactly ``mode``: the umask took bits from it
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def _sync_file_systems(paths: Sequence[str]) -> None:
    """Flush ``paths`` to disk: one ``syncfs`` per file system where Linux has it, else one
    fsync per file."""
    syncfs = _syncfs()
    if syncfs is None:
        for p in paths:
            _fsync_path(p)
        return
    done: set[int] = set()
    for folder in {_folder_of(p) for p in paths}:
        fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_DIRECTORY", 0))
        try:
            dev = os.fstat(fd).st_dev
            if dev not in done:
                if syncfs(fd) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, os.strerror(err), str(folder))
                done.add(dev)
        finally:
            os.close(fd)


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@cache
def _syncfs() -> Callable[[int], int] | None:
    """The C library's ``syncfs(fd)`` (Linux), or None."""
    try:
        fn: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    return fn


def fsync_folder(folder: Path) -> None:
    """Make the names in ``folder`` durable (a rename is a change of the folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # a platform that cannot open folders (Windows) has no fsync for them either
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename itself is done
    finally:
        os.close(fd)


def private_folder(folder: Path) -> Path:
    """Create ``folder`` (mode 0700), or make an existing one 0700 if others could read it;
    then remove the temporary files that killed writers left in it. Returns ``folder``."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        st = folder.stat()
        if not stat.S_ISDIR(st.st_mode):
            raise LedgerError(f"{folder} is not a folder")
        if stat.S_IMODE(st.st_mode) & 0o077:
            folder.chmod(stat.S_IMODE(st.st_mode) & PRIVATE_FOLDER)
    except OSError as e:
        raise LedgerError(f"cannot create folder {folder}: {e.strerror}") from e
    remove_stale_temps(folder)
    return folder


def remove_stale_temps(folder: Path) -> int:
    """Remove the temporary files in ``folder`` whose writing process no longer runs; return
    how many. Files of live processes (this one included) are left alone."""
    removed = 0
    try:
        with os.scandir(folder) as entries:
            stale = [e.path for e in entries
                     if e.name.endswith(".tmp") and _is_stale(e.name) and e.is_file(
                         follow_symlinks=False)]
    except OSError:
        return 0  # no folder yet, or not ours to list: nothing of ours in it
    for path in stale:
        try:
            os.unlink(path)
            removed += 1
        except FileNotFoundError:
            pass  # another run removed it first
        except OSError as e:
            raise LedgerError(f"cannot remove stale temporary file {path}: {e.strerror}") from e
    return removed


def _is_stale(name: str) -> bool:
    m = _TEMP.fullmatch(name)
    if m is None:
        return False
    pid = int(m["pid"])
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False  # alive under another user, or no such pid on this system
    return False


def receipt_path(folder: Path, work: str, event_type: str, event_id: str) -> Path:
    """Where a receipt is kept: ``<first 16 hex of the work>-<event type>-<first 12 hex of the
    event id>.json`` in ``folder`` (specs/cli.md section 1.2)."""
    return folder / receipt_name(work, event_type, event_id)


def receipt_name(work: str, event_type: str, event_id: str) -> str:
    """The file name of :func:`receipt_path`."""
    return f"{work.removeprefix('sha256:')[:16]}-{event_type}-{event_id[:12]}.json"


def read_bounded(path: Path, what: str, limit: int) -> bytes:
    """A file the user named (a receipt, a policy, evidence), read whole but never more than
    ``limit`` bytes: a larger one is refused before it is in memory."""
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise NotFoundError(f"cannot read {what} {path}: {e.strerror}") from e
    if len(data) > limit:
        raise MalformedError(f"{what} {path} is larger than {limit} bytes")
    return data
