"""Anchoring content: reading a file, listing a folder, and anchoring every file of a folder in
blocks with a receipt for each (specs/rules.md section 5.1; specs/cli.md sections 1.2, 2
and 3.2).

Covers: the content of a regular file (a FIFO, socket or device is refused before it is
opened, so nothing hangs; zero bytes are nobody's work), a folder's files (hidden names
ignored; symbolic links and special files skipped and reported), the decision of rules.md 5.1
for each work, signing on two threads, appending in blocks of ``MAX_BLOCK_EVENTS``, and a kept
receipt for every file. Leaves out printing, progress bars and the node client: the CLI does
those.

Crash recovery: a run killed after its block committed leaves registrations whose receipts were
not all written. A second run finds those works registered by the same key (``exists``) and
writes every receipt that is missing, against the latest checkpoint; receipts already kept are
not written again, so a re-run of a complete folder writes nothing.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import mimetypes
import os
import stat
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from ..core.crypto import PrivateKey
from ..core.events import Event, SignedEvent, sign_event, work_id_of
from ..core.rules import WorkState
from ..core.similarity import DEFAULT_DISTANCE, ContentCode
from ..errors import LedgerError, MalformedError, NotFoundError, StorageError
from .content_code import content_code
from .files import private_folder, receipt_path, write_atomic_all
from .ledger import MAX_BLOCK_EVENTS, Appended, Ledger
from .similarity import Similar, SimilarityIndex

HASH_CHUNK = 1 << 20  # bytes read at a time when hashing a file
RECEIPT_BATCH = 1000  # receipts built and flushed to disk together (bounds memory)
SIGN_THREADS = 2  # Ed25519 signing releases the GIL: two threads use both cores
CODE_SHARE = 32  # files per content-code task
Payees = Sequence[Mapping[str, Any]] | None
"""A royalty split as ``work.register`` carries it (``[{"key", "share_bps"}]``, specs/events.md
section 6), or None for none."""
REGISTER = "work.register"


class Status(StrEnum):
    """What became of one file (specs/cli.md section 3.2)."""

    ANCHORED = "anchored"  # registered now
    EXISTS = "exists"  # registered before, by this key (or it controls the work now)
    DUPLICATE = "duplicate"  # the same content as an earlier file of this run
    CONFLICT = "conflict"  # registered by another key
    REFUSED = "refused"  # could not be read, or the ledger refused the event
    SKIPPED = "skipped"  # not a regular file (a symbolic link, a FIFO, ...) or empty


@dataclass(frozen=True, slots=True)
class Content:
    """A regular file's content: SHA-256 (hex), size in bytes and media type."""

    path: Path
    sha256: str
    size: int
    media_type: str

    @property
    def work(self) -> str:
        return work_id_of(self.sha256)


@dataclass(frozen=True, slots=True)
class FileResult:
    """One file's outcome, as ``anchor`` reports it (specs/cli.md sections 3.1 and 3.2)."""

    file: Path
    status: Status
    work: str | None = None
    id: str | None = None  # the registration event
    index: int | None = None  # its log entry
    receipt: Path | None = None
    duplicate_of: Path | None = None
    registrant: str | None = None
    error: str | None = None  # why refused
    reason: str | None = None  # why skipped
    target: Path | None = None  # what a named symbolic link points to
    similarity: str | None = None  # the ISCC content code registered (specs/events.md 6.1)
    similar: tuple[Mapping[str, Any], ...] = ()  # other keys' works with a similar code

    def to_json(self) -> dict[str, Any]:
        """The JSON row: fields that do not apply are left out."""
        out: dict[str, Any] = {"file": str(self.file)}
        if self.work is not None:
            out["work"] = self.work
        out["status"] = str(self.status)
        for name in ("id", "index", "registrant", "error", "reason"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        for name in ("receipt", "duplicate_of", "target"):
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value)
        if self.similarity is not None:
            out["similarity"] = self.similarity
        if self.similar:
            out["similar"] = [dict(s) for s in self.similar]
        return out


@dataclass(frozen=True, slots=True)
class FolderListing:
    """The files below a folder that are anchored, sorted, and the entries skipped."""

    root: Path
    files: tuple[Path, ...]
    skipped: tuple[FileResult, ...]


class Progress(Protocol):
    """Told how far a long stage has come (the CLI draws a bar on a terminal)."""

    def __call__(self, stage: str, done: int, total: int) -> None: ...


def _quiet(stage: str, done: int, total: int) -> None:
    """No progress shown."""


# -- reading ---------------------------------------------------------------------------------
def file_kind(mode: int) -> str:
    """The kind of a file that is not a regular one, in words."""
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a regular file"


def read_content(path: Path, *, follow_symlinks: bool = True,
                 progress: Progress = _quiet) -> Content:
    """Hash a regular file in chunks. Anything else is refused before it is opened (a FIFO
    would block the read forever), and again after (it may have been swapped meanwhile).
    ``follow_symlinks=False``: a symbolic link is refused too. ``progress`` is told the bytes
    hashed so far (stage ``hashing``)."""
    try:
        st = os.stat(path, follow_symlinks=follow_symlinks)
    except FileNotFoundError as e:
        raise NotFoundError(f"no such file: {path}") from e
    except OSError as e:
        raise NotFoundError(f"cannot read {path}: {e.strerror}") from e
    if not stat.S_ISREG(st.st_mode):
        raise MalformedError(f"{path} is {file_kind(st.st_mode)}, not a regular file")
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    h = hashlib.sha256()
    size = 0
    try:
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise MalformedError(f"{path} is {file_kind(mode)}, not a regular file")
            while chunk := f.read(HASH_CHUNK):
                h.update(chunk)
                size += len(chunk)
                progress("hashing", size, max(st.st_size, size))
    except OSError as e:
        raise NotFoundError(f"cannot read {path}: {e.strerror}") from e
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Content(path, h.hexdigest(), size, media_type.lower())


def check_not_empty(content: Content) -> None:
    """Refuse zero bytes: every empty file has the same work id, and it is nobody's work."""
    if content.size == 0:
        raise MalformedError(f"{content.path} is empty: an empty file is nobody's work")


def list_folder(root: Path) -> FolderListing:
    """Every regular file below ``root``, sorted by path. Names starting with "." are ignored
    (hidden files and folders); symbolic links are not followed and, with FIFOs, sockets and
    devices, are listed as skipped; a folder that cannot be read is listed as refused."""
    files: list[Path] = []
    others: list[FileResult] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as e:
            if folder == root:
                raise NotFoundError(f"cannot read folder {root}: {e.strerror}") from e
            others.append(FileResult(folder, Status.REFUSED,
                                     error=f"cannot read folder {folder}: {e.strerror}"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    others.append(FileResult(path, Status.SKIPPED,
                                             reason="a symbolic link (not followed)"))
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                elif entry.is_file(follow_symlinks=False):
                    files.append(path)
                else:
                    kind = file_kind(entry.stat(follow_symlinks=False).st_mode)
                    others.append(FileResult(path, Status.SKIPPED,
                                             reason=f"{kind}, not a regular file"))
            except OSError as e:  # vanished while listed
                others.append(FileResult(path, Status.REFUSED,
                                         error=f"cannot read {path}: {e.strerror}"))
    return FolderListing(root, tuple(sorted(files, key=_path_order)),
                         tuple(sorted(others, key=_result_order)))


def _path_order(path: Path) -> tuple[str, ...]:
    """Path order (a tuple compares faster than two paths do)."""
    return path.parts


def _result_order(result: FileResult) -> tuple[str, ...]:
    return result.file.parts


# -- the decision of rules.md 5.1 --------------------------------------------------------------
def is_yours(state: WorkState, actor: str) -> bool:
    """Whether ``actor`` registered the work or controls it now (rules.md 5.1)."""
    return actor in (state.registrant, state.controller)


def registered(path: Path, state: WorkState, actor: str) -> FileResult:
    """The result for content already registered: ``exists`` when it is the actor's, else
    ``conflict`` naming the registrant."""
    status = Status.EXISTS if is_yours(state, actor) else Status.CONFLICT
    return FileResult(path, status, state.work, state.registration,
                      registrant=state.registrant)


# -- a folder ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Plan:
    """What a run will do: a result so far for every file (in listing order), and the events to
    append, each with the position of its file's result."""

    results: tuple[FileResult, ...]
    to_append: tuple[tuple[int, SignedEvent], ...]


def plan_folder(ledger: Ledger, key: PrivateKey, listing: FolderListing, now: int,
                progress: Progress = _quiet, payees: Payees = None) -> Plan:
    """Hash every file, look each work up once, and sign a registration for each new one
    (with ``payees``, the royalty split of every new work, when given)."""
    results: list[FileResult] = []
    contents: list[tuple[int, Content]] = []
    total = len(listing.files)
    for n, path in enumerate(listing.files, 1):
        try:
            content = read_content(path, follow_symlinks=False)
        except LedgerError as e:
            results.append(FileResult(path, Status.REFUSED, error=str(e)))
        else:
            if content.size == 0:
                results.append(FileResult(path, Status.SKIPPED, content.work,
                                          reason="empty (an empty file is nobody's work)"))
            else:
                contents.append((len(results), content))
                results.append(FileResult(path, Status.ANCHORED, content.work))
        progress("hashing", n, total)
    # One indexed query per 900 works tells which are registered already.
    present = ledger.store.works_present({c.work for _, c in contents})
    first_seen: dict[str, Path] = {}
    new: list[tuple[int, Content]] = []
    actor = key.public.text
    for pos, content in contents:
        work = content.work
        if work in first_seen:
            results[pos] = FileResult(content.path, Status.DUPLICATE, work,
                                      duplicate_of=first_seen[work])
            continue
        first_seen[work] = content.path
        state = ledger.state(work) if work in present else None
        if state is not None:
            results[pos] = registered(content.path, state, actor)
            continue
        new.append((pos, content))
    unsigned: list[tuple[int, Event]] = []
    # Decoding and resampling an image release the GIL (the ISCC hash does not): two threads,
    # a share of files per task (a future per file costs more than a file that is no image).
    shares = [new[i : i + CODE_SHARE] for i in range(0, len(new), CODE_SHARE)]
    done = 0
    with ThreadPoolExecutor(SIGN_THREADS) as pool:
        for share, bodies in zip(shares, pool.map(
                lambda share: [register_body(c, None, payees) for _, c in share], shares),
                strict=True):
            for (pos, content), body in zip(share, bodies, strict=True):
                if "similarity" in body:
                    results[pos] = replace(results[pos], similarity=body["similarity"])
                unsigned.append((pos, Event(REGISTER, content.work, None, actor, now, body)))
            done += len(share)
            progress("computing content codes", done, len(new))
    return Plan(tuple(results), tuple(zip((pos for pos, _ in unsigned),
                                          _sign_all(key, [e for _, e in unsigned]),
                                          strict=True)))


def register_body(content: Content, title: str | None = None,
                  payees: Payees = None) -> dict[str, Any]:
    """The body of ``content``'s registration: size, media type, the title and the payees if
    any, and its ISCC content code when it has one (specs/events.md section 6.1)."""
    body: dict[str, Any] = {"size": content.size, "media_type": content.media_type}
    if title:
        body["title"] = title
    if payees:
        body["payees"] = [dict(p) for p in payees]
    code = content_code(content.path, content.media_type)
    if code is not None:
        body["similarity"] = code.to_text()
    return body


def similar_elsewhere(index: SimilarityIndex, text: str | None, work: str | None,
                      actor: str, max_distance: int = DEFAULT_DISTANCE) -> tuple[Similar, ...]:
    """Works of other keys (neither registrant nor controller is ``actor``) whose content code
    is within ``max_distance`` of ``text`` (specs/cli.md section 2.1)."""
    code = ContentCode.from_text(text) if text is not None else None
    if code is None:
        return ()
    return tuple(s for s in index.near(code, max_distance, exclude_work=work)
                 if actor not in (s.registrant, s.controller))


def _sign_all(key: PrivateKey, events: Sequence[Event]) -> list[SignedEvent]:
    if not events:
        return []
    step = -(-len(events) // SIGN_THREADS)
    with ThreadPoolExecutor(SIGN_THREADS) as pool:
        parts = pool.map(lambda i: [sign_event(e, key) for e in events[i : i + step]],
                         range(0, len(events), step))
        return [ev for part in parts for ev in part]


def commit_plan(ledger: Ledger, key: PrivateKey, plan: Plan, now: int) -> tuple[FileResult, ...]:
    """Append the plan's events in blocks; each file's result once its block is committed.

    An event refused because the work was registered meanwhile (another run anchoring the same
    files committed first) is ``exists`` when that run used this key, ``conflict`` otherwise."""
    results = list(plan.results)
    actor = key.public.text
    todo = plan.to_append
    for start in range(0, len(todo), MAX_BLOCK_EVENTS):
        chunk = todo[start : start + MAX_BLOCK_EVENTS]
        answers = ledger.append_block([ev.leaf for _, ev in chunk], now)
        for (pos, ev), answer in zip(chunk, answers, strict=True):
            path = results[pos].file
            if isinstance(answer, Appended):
                results[pos] = replace(results[pos], status=Status.ANCHORED, id=ev.id,
                                       index=answer.index)
                continue
            state = ledger.state(ev.event.work)
            if state is not None:
                results[pos] = registered(path, state, actor)
            else:
                results[pos] = FileResult(path, Status.REFUSED, ev.event.work,
                                          error=str(answer))
    return tuple(results)


def keep_receipts(ledger: Ledger, results: Sequence[FileResult], folder: Path,
                  appended: Mapping[str, SignedEvent] | None = None,
                  progress: Progress = _quiet) -> tuple[FileResult, ...]:
    """Give every ``anchored`` and ``exists`` result its index and kept receipt, writing the
    receipts missing from ``folder`` (against the latest checkpoint; files 0600 in a folder
    made 0700). A receipt already kept is not written again. ``appended``: the events this run
    appended, by id, so that they need not be read back."""
    private_folder(folder)
    appended = appended or {}
    out = list(results)
    missing: list[tuple[int, int, bytes]] = []  # (position, index, leaf)
    for pos, r in enumerate(results):
        if r.status not in (Status.ANCHORED, Status.EXISTS) or r.work is None or r.id is None:
            continue
        path = receipt_path(folder, r.work, REGISTER, r.id)
        event = appended.get(r.id)
        if r.index is not None and event is not None:
            index, leaf = r.index, event.leaf
        else:
            row = ledger.store.entry_by_id(bytes.fromhex(r.id))
            if row is None:
                raise StorageError(f"event {r.id} is missing from the database")
            index, leaf = row.index, row.leaf
        out[pos] = replace(r, index=index, receipt=path)
        if r.status is Status.ANCHORED or not _kept(path):
            missing.append((pos, index, leaf))
    total = len(missing)
    for start in range(0, total, RECEIPT_BATCH):
        chunk = missing[start : start + RECEIPT_BATCH]
        receipts = ledger.receipts([(index, leaf) for _, index, leaf in chunk])
        write_atomic_all([
            (_receipt_file(out[pos]),
             (json.dumps(rc.to_json(appended.get(out[pos].id or "")), ensure_ascii=False)
              + "\n").encode("utf-8"))
            for (pos, _, _), rc in zip(chunk, receipts, strict=True)])
        progress("writing receipts", start + len(chunk), total)
    return tuple(out)


def _kept(path: Path) -> bool:
    """A receipt is kept: a regular file with content (never half of one: written atomically)."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise LedgerError(f"cannot read {path}: {e.strerror}") from e
    return stat.S_ISREG(st.st_mode) and st.st_size > 0


def _receipt_file(result: FileResult) -> Path:
    if result.receipt is None:
        raise ValueError("a result without a receipt path")
    return result.receipt


def anchor_folder(ledger: Ledger, key: PrivateKey, listing: FolderListing, receipts: Path,
                  now: int, progress: Progress = _quiet,
                  payees: Payees = None) -> tuple[FileResult, ...]:
    """Anchor every file of ``listing`` with ``key`` (specs/rules.md section 5.1) and keep a
    receipt for each in ``receipts``; the results, sorted by path, skipped entries included."""
    plan = plan_folder(ledger, key, listing, now, progress, payees)
    results = commit_plan(ledger, key, plan, now)
    results = keep_receipts(ledger, results, receipts, {ev.id: ev for _, ev in plan.to_append},
                            progress)
    results = find_similar(ledger, key.public.text, results, progress)
    return tuple(heapq.merge(results, listing.skipped, key=_result_order))


def find_similar(ledger: Ledger, actor: str, results: Sequence[FileResult],
                 progress: Progress = _quiet) -> tuple[FileResult, ...]:
    """Each newly anchored file's similar works of other keys (specs/cli.md section 2.1)."""
    coded = [i for i, r in enumerate(results)
             if r.status is Status.ANCHORED and r.similarity is not None]
    if not coded:
        return tuple(results)
    out = list(results)
    with SimilarityIndex(ledger) as index:
        for n, i in enumerate(coded, 1):
            r = out[i]
            found = similar_elsewhere(index, r.similarity, r.work, actor)
            out[i] = replace(r, similar=tuple(MappingProxyType({"origin": ledger.origin,
                                                                 **s.to_json()})
                                              for s in found))
            progress("looking for similar works", n, len(coded))
    return tuple(out)
