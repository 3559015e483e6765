"""Anchoring content: reading a file, listing a folder, and anchoring every file of a folder in
blocks with a receipt for each (specs/rules.md section 5.1; specs/cli.md sections 1.2, 2
and 3.2).

Covers: the content of a regular file (a FIFO, socket or device is refused before it is
opened, so nothing hangs; zero bytes are nobody's work), a folder's files (hidden names
ignored; symbolic links and special files skipped and reported), the decision of rules.md 5.1
for each work, signing and writing receipts on a worker process (ledger/worker.py),
appending in blocks of ``MAX_BLOCK_EVENTS``, and a kept receipt for every file. Leaves out
printing, progress bars and the node client: the CLI does those.

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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from ..core.crypto import PrivateKey
from ..core.events import Event, SignedEvent, sign_event, work_id_of
from ..core.receipt import Receipt
from ..core.rules import WorkState
from ..core.similarity import DEFAULT_DISTANCE, ContentCode
from ..errors import LedgerError, MalformedError, NotFoundError, StorageError
from .content_code import content_code
from .files import private_folder, receipt_path, write_atomic_all
from .ledger import MAX_BLOCK_EVENTS, Appended, Ledger
from .media_code import NOTICES, take_notices
from .similarity import Similar, SimilarityIndex
from .worker import Pending, Worker

HASH_CHUNK = 1 << 20  # bytes read at a time when hashing a file
RECEIPT_BATCH = 1000  # receipts built and flushed to disk together (bounds memory)
CODE_THREADS = 2  # decoding an image releases the GIL: two threads use both cores
CODE_SHARE = 32  # files per content-code task
PIPELINE_FILES = 1000  # files hashed and signed together by anchor DIR
PIPELINE_BLOCK = 1000  # new events from which anchor DIR appends a block and writes its receipts
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
        try:  # unbuffered reads: a buffered file object costs more than a small file's read
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise MalformedError(f"{path} is {file_kind(mode)}, not a regular file")
            while chunk := os.read(fd, HASH_CHUNK):
                h.update(chunk)
                size += len(chunk)
                progress("hashing", size, max(st.st_size, size))
        finally:
            os.close(fd)
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
class Registration(NamedTuple):
    """A signed registration ready to append: its work, event id and exact leaf bytes."""

    work: str
    id: str
    leaf: bytes


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run will do: a result so far for every file (in listing order), and the events to
    append, each with the position of its file's result."""

    results: tuple[FileResult, ...]
    to_append: tuple[tuple[int, Registration], ...]


@dataclass(slots=True)
class Signing:
    """What signing a folder's registrations needs: the worker has it from the fork. ``signed``
    is the worker's own memory (not frozen: it changes as the run goes): the events signed
    whose receipts are not written yet (by id), so that writing a receipt need not decode its
    event again."""

    key: PrivateKey
    now: int
    payees: Payees = None
    signed: dict[str, SignedEvent] = field(default_factory=dict)
    run: int = field(default_factory=os.getpid)  # the run's process, which names temp files


Signed = tuple[list[tuple[str | None, Registration]], tuple[str, ...]]
"""Each content's registration with its content code's text if it has one, and the notices
(media kinds that got no code) that coding them gave."""


def sign_registrations(signing: Signing, contents: Sequence[Content]) -> Signed:
    """Each content's registration, signed, with its ISCC content code's text if it has one.

    Decoding and resampling an image release the GIL (the ISCC hash does not): the bodies are
    made on two threads, a share of files per task (a future per file costs more than a file
    that is no image)."""
    actor, key, now, payees = signing.key.public.text, signing.key, signing.now, signing.payees
    shares = [contents[i : i + CODE_SHARE] for i in range(0, len(contents), CODE_SHARE)]
    out: list[tuple[str | None, Registration]] = []
    with ThreadPoolExecutor(CODE_THREADS) as pool:
        for share, bodies in zip(shares, pool.map(
                lambda share: [register_body(c, None, payees) for c in share], shares),
                strict=True):
            for content, body in zip(share, bodies, strict=True):
                ev = sign_event(Event(REGISTER, content.work, None, actor, now, body), key)
                signing.signed[ev.id] = ev
                out.append((body.get("similarity"), Registration(content.work, ev.id, ev.leaf)))
    return out, take_notices()


def plan_folder(ledger: Ledger, key: PrivateKey, listing: FolderListing, now: int,
                progress: Progress = _quiet, payees: Payees = None) -> Plan:
    """Hash every file, look each work up once, and sign a registration for each new one
    (with ``payees``, the royalty split of every new work, when given)."""
    planner = _Planner(ledger, Signing(key, now, payees), len(listing.files), progress)
    return planner.finish(planner.start(listing.files))


@dataclass(frozen=True, slots=True)
class _Started:
    """A part of a folder read and looked up, its new works being signed."""

    results: list[FileResult]
    new: list[tuple[int, Content]]
    signed: Pending[Signed]


class _Planner:
    """:func:`plan_folder` a part of a folder at a time: the content seen in earlier parts
    makes a file of a later one a ``duplicate``, and progress counts across parts. With a
    ``worker``, a part's registrations are signed there (:meth:`start` returns at once) while
    the caller appends the part before."""

    def __init__(self, ledger: Ledger, signing: Signing, total: int,
                 progress: Progress = _quiet, worker: Worker[Signing] | None = None) -> None:
        self.ledger, self.signing, self.total = ledger, signing, total
        self.progress, self.worker = progress, worker
        self.first_seen: dict[str, Path] = {}
        self.hashed = 0
        self.coded = 0
        self.new = 0

    def start(self, files: Sequence[Path]) -> _Started:
        """Read and hash ``files``, look their works up, and start signing the new ones."""
        ledger, progress = self.ledger, self.progress
        results: list[FileResult] = []
        contents: list[tuple[int, Content]] = []
        for path in files:
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
            self.hashed += 1
            progress("hashing", self.hashed, self.total)
        # One indexed query per 900 works tells which are registered already.
        present = ledger.store.works_present({c.work for _, c in contents})
        first_seen = self.first_seen
        new: list[tuple[int, Content]] = []
        actor = self.signing.key.public.text
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
        self.new += len(new)
        todo = [c for _, c in new]
        signed: Pending[Signed]
        if self.worker is not None and todo:
            signed = self.worker.submit(sign_registrations, todo)
        else:  # nothing to sign, or no worker: signed here, at once
            done: Future[Signed] = Future()
            done.set_result(sign_registrations(self.signing, todo))
            signed = done
        return _Started(results, new, signed)

    def finish(self, started: _Started) -> Plan:
        """The part's plan (positions in the part), once its registrations are signed."""
        results = started.results
        to_append: list[tuple[int, Registration]] = []
        signed, notices = started.signed.result()
        NOTICES.extend(notices)  # said by the worker's process: the CLI prints this one's
        for (pos, _), (code, registration) in zip(started.new, signed, strict=True):
            if code is not None:
                results[pos] = replace(results[pos], similarity=code)
            to_append.append((pos, registration))
        self.coded += len(started.new)
        if started.new:
            self.progress("computing content codes", self.coded, self.new)
        return Plan(tuple(results), tuple(to_append))


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


def commit_plan(ledger: Ledger, key: PrivateKey, plan: Plan, now: int,
                committed: Committed | None = None) -> tuple[FileResult, ...]:
    """Append the plan's events in blocks; each file's result once its block is committed.
    ``committed`` is told each block's results as soon as it is (its receipts can be written
    while the next block is appended).

    An event refused because the work was registered meanwhile (another run anchoring the same
    files committed first) is ``exists`` when that run used this key, ``conflict`` otherwise."""
    results = list(plan.results)
    actor = key.public.text
    todo = plan.to_append
    for start in range(0, len(todo), MAX_BLOCK_EVENTS):
        chunk = todo[start : start + MAX_BLOCK_EVENTS]
        answers = ledger.append_block([reg.leaf for _, reg in chunk], now)
        for (pos, reg), answer in zip(chunk, answers, strict=True):
            path = results[pos].file
            if isinstance(answer, Appended):
                results[pos] = replace(results[pos], status=Status.ANCHORED, id=reg.id,
                                       index=answer.index)
                continue
            state = ledger.state(reg.work)
            if state is not None:
                results[pos] = registered(path, state, actor)
            else:
                results[pos] = FileResult(path, Status.REFUSED, reg.work, error=str(answer))
        if committed is not None:
            committed(results, [pos for pos, _ in chunk])
    return tuple(results)


class Committed(Protocol):
    """Told the results so far (by position) and the positions of a block just committed."""

    def __call__(self, results: Sequence[FileResult], positions: Sequence[int]) -> None: ...


class ReceiptKeeper:
    """Keeps a folder's receipts (files 0600 in a folder made 0700), a batch at a time, while
    the caller goes on (appends the next block): the run's :class:`Worker` encodes and writes
    them on the other core.

    The receipts of a block are made on the calling thread as soon as it is committed (against
    its checkpoint, the latest then: the ledger's reads stay on one thread) and handed to the
    writer; :meth:`keep` writes those of the other results (a receipt already kept is not
    written again) and returns once every receipt is on disk. A failed write is raised by
    :meth:`keep`."""

    def __init__(self, ledger: Ledger, folder: Path, worker: Worker[Any],
                 appended: Mapping[str, Registration] | None = None,
                 progress: Progress = _quiet) -> None:
        self.ledger = ledger
        self.folder = private_folder(folder)
        self.worker = worker
        self.appended = appended if appended is not None else {}
        self.progress = progress
        self._pending: list[Pending[int]] = []
        self._kept: dict[int, tuple[int, Path]] = {}  # position -> (index, receipt) written

    def committed(self, results: Sequence[FileResult], positions: Sequence[int]) -> None:
        """Write the receipts of a block's newly anchored files (a :class:`Committed`)."""
        self._write([(pos, results[pos]) for pos in positions
                     if results[pos].status is Status.ANCHORED])

    def keep(self, results: Sequence[FileResult]) -> tuple[FileResult, ...]:
        """Every ``anchored`` and ``exists`` result with its index and kept receipt, once all
        receipts are written (those handed over by :meth:`committed` and the missing ones)."""
        out = list(results)
        todo: list[tuple[int, FileResult]] = []
        for pos, r in enumerate(results):
            if r.status not in (Status.ANCHORED, Status.EXISTS) or r.work is None or r.id is None:
                continue
            done = self._kept.get(pos)
            if done is not None:
                out[pos] = replace(r, index=done[0], receipt=done[1])
                continue
            path = receipt_path(self.folder, r.work, REGISTER, r.id)
            if r.status is Status.ANCHORED or not _kept(path):
                todo.append((pos, r))
            else:
                out[pos] = replace(r, index=self._index(r)[0], receipt=path)
        for start in range(0, len(todo), RECEIPT_BATCH):
            self._write(todo[start : start + RECEIPT_BATCH])
        total = len(self._kept)
        written = 0
        for batch in self._pending:
            written += batch.result()
            self.progress("writing receipts", written, total)
        for pos, (index, path) in self._kept.items():
            out[pos] = replace(out[pos], index=index, receipt=path)
        return tuple(out)

    def _index(self, r: FileResult) -> tuple[int, bytes]:
        """The log index and leaf of a result's registration."""
        registration = self.appended.get(r.id or "")
        if r.index is not None and registration is not None:
            return r.index, registration.leaf
        row = self.ledger.store.entry_by_id(bytes.fromhex(r.id or ""))
        if row is None:
            raise StorageError(f"event {r.id} is missing from the database")
        return row.index, row.leaf

    def _write(self, rows: Sequence[tuple[int, FileResult]]) -> None:
        """Make the receipts of ``rows`` here and have the worker write them."""
        if not rows:
            return
        entries = [self._index(r) for _, r in rows]
        receipts = self.ledger.receipts(entries)
        items: list[ReceiptItem] = []
        for (pos, r), (index, _), rc in zip(rows, entries, receipts, strict=True):
            path = receipt_path(self.folder, r.work or "", REGISTER, r.id or "")
            self._kept[pos] = (index, path)
            items.append((str(path), r.id or "", rc.log_key, rc.checkpoint, rc.leaf_index,
                          rc.leaf, rc.inclusion_proof))
        self._pending.append(self.worker.submit(write_receipts, items))


ReceiptItem = tuple[str, str, str, str, int, bytes, tuple[bytes, ...]]
"""A receipt to write, in plain values (they cross to the worker faster than objects): the
file, the event id, then the receipt's fields in order."""


def write_receipts(signing: Signing, items: Sequence[ReceiptItem]) -> int:
    """Encode and write receipts, one flush to disk for all (a :class:`Worker` task); how
    many. An event this run signed is not decoded again. The temporary files are named after
    the run's process: once it is killed, the next run removes them, even if the worker was
    still finishing a flush to disk when it was killed with it."""
    signed = signing.signed
    write_atomic_all([
        (Path(path), (json.dumps(Receipt(key, checkpoint, index, leaf, proof).to_json(
            signed.pop(id_, None)), ensure_ascii=False) + "\n").encode("utf-8"))
        for path, id_, key, checkpoint, index, leaf, proof in items], owner=signing.run)
    return len(items)


def _kept(path: Path) -> bool:
    """A receipt is kept: a regular file with content (never half of one: written atomically)."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise LedgerError(f"cannot read {path}: {e.strerror}") from e
    return stat.S_ISREG(st.st_mode) and st.st_size > 0


def anchor_folder(ledger: Ledger, key: PrivateKey, listing: FolderListing, receipts: Path,
                  now: int, progress: Progress = _quiet,
                  payees: Payees = None) -> tuple[FileResult, ...]:
    """Anchor every file of ``listing`` with ``key`` (specs/rules.md section 5.1) and keep a
    receipt for each in ``receipts``; the results, sorted by path, skipped entries included.

    A pipeline: the files are planned (hashed, looked up, signed) ``PIPELINE_FILES`` at a time
    and appended in blocks of at least ``PIPELINE_BLOCK`` new events (the last block may be
    smaller); the receipts of a committed block are written by the keeper's writer, on the
    other core, while the next files are hashed, signed and appended. (Reading the files on a
    thread of their own gained nothing: small files are read faster than the GIL changes
    hands.)"""
    files = listing.files
    results: list[FileResult] = []
    pending: list[tuple[int, Registration]] = []  # planned, not yet appended (by position)
    appended: dict[str, Registration] = {}
    parts = [files[lo : lo + PIPELINE_FILES] for lo in range(0, len(files), PIPELINE_FILES)]
    # The worker is forked first, before the ledger's threads start.
    signing = Signing(key, now, payees)
    worker = Worker(signing)
    failed = True
    try:
        planner = _Planner(ledger, signing, len(files), progress, worker)
        keeper = ReceiptKeeper(ledger, receipts, worker, appended, progress)
        started = planner.start(parts[0]) if parts else None
        for n in range(1, len(parts) + 1):
            part = started
            assert part is not None  # noqa: S101 - one started part per part
            # The next part is read and looked up while the worker signs this one.
            started = planner.start(parts[n]) if n < len(parts) else None
            plan = planner.finish(part)
            base = len(results)
            results.extend(plan.results)
            for pos, reg in plan.to_append:
                pending.append((base + pos, reg))
                appended[reg.id] = reg
            if len(pending) >= PIPELINE_BLOCK or n == len(parts):
                results = list(commit_plan(ledger, key, Plan(tuple(results), tuple(pending)),
                                           now, keeper.committed))
                pending = []
        done = keeper.keep(results)
        failed = False
    finally:
        worker.close(cancel=failed)
    done = find_similar(ledger, key.public.text, done, progress)
    return tuple(heapq.merge(done, listing.skipped, key=_result_order))


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
