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

import functools
import gc
import hashlib
import heapq
import itertools
import json
import mimetypes
import os
import stat
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, NamedTuple, Protocol, TypeVar

from ..core.crypto import PrivateKey
from ..core.encoding import CANONICAL_ENCODER, b64encode, is_text
from ..core.events import (
    EVENT_SIGNING_PREFIX,
    EVENT_VERSION,
    MAX_LEAF_BYTES,
    MAX_SIMILARITY_CHARS,
    MAX_TITLE_CHARS,
    Event,
    parse_leaf,
    sign_event,
    signed_leaf,
    work_id_of,
)
from ..core.keystate import KeyLookup, final_holder
from ..core.merkle import LEAF_HASH_PREFIX
from ..core.receipt import RECEIPT_FORMAT, TLOG_PROOF_HEADER
from ..core.rules import WorkState
from ..core.similarity import DEFAULT_DISTANCE, ContentCode
from ..core.timefmt import format_time
from ..errors import LedgerError, MalformedError, NotFoundError, StorageError, error_line
from . import verifier
from .content_code import HEAD_BYTES, content_code, needs_decoding
from .files import PAUSE_FILES, private_folder, receipt_name, receipt_path, write_atomic_all
from .ledger import MAX_BLOCK_EVENTS, PARALLEL_VERIFY_MIN, Appended, Ledger
from .media_code import NOTICES, take_notices
from .similarity import Similar, SimilarityIndex
from .worker import Pending, Worker, run_urgent

T = TypeVar("T")
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
ELIDED = "\u2026"  # what stands for the start of a path too long for a title
NOT_TEXT = "\ufffd"  # what stands for a character of a file name that is not text


def folder_title(path: str, root: str) -> str:
    """The title ``anchor DIR`` records for the file ``path`` below ``root`` (specs/cli.md
    section 2.1): its path relative to ``root``, ``/`` between folders, as it is shown in the
    report; a character that is not text (a control character, a byte of a name that is not
    UTF-8) as U+FFFD, and a path longer than ``MAX_TITLE_CHARS`` as ``…`` and its end."""
    prefix = "" if root == os.curdir else root.rstrip(os.sep) + os.sep  # "./a" is listed "a"
    rel = path[len(prefix):] if path.startswith(prefix) else path.rpartition(os.sep)[2]
    if os.sep != "/":  # pragma: no cover - POSIX separators already
        rel = rel.replace(os.sep, "/")
    if not is_text(rel):
        rel = "".join(c if is_text(c) else NOT_TEXT for c in rel)
    if len(rel) > MAX_TITLE_CHARS:
        rel = ELIDED + rel[len(rel) - MAX_TITLE_CHARS + 1:]
    return rel


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
    head: bytes | None = field(default=None, repr=False, compare=False)
    """The first ``HEAD_BYTES`` bytes (all of a smaller file), when they were read: they
    tell that a file named as an image is none without opening it again."""

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
    title: str | None = None  # the title the work is registered with, if any

    def to_json(self) -> dict[str, Any]:
        """The JSON row: fields that do not apply are left out."""
        out: dict[str, Any] = {"file": str(self.file)}
        if self.work is not None:
            out["work"] = self.work
        out["status"] = str(self.status)
        if self.title is not None:
            out["title"] = self.title
        # Field by field (a loop of getattr costs more, for every file of a folder).
        if self.id is not None:
            out["id"] = self.id
        if self.index is not None:
            out["index"] = self.index
        if self.registrant is not None:
            out["registrant"] = self.registrant
        if self.error is not None:
            out["error"] = error_line(self.error)
        if self.reason is not None:
            out["reason"] = self.reason
        if self.receipt is not None:
            out["receipt"] = str(self.receipt)
        if self.duplicate_of is not None:
            out["duplicate_of"] = str(self.duplicate_of)
        if self.target is not None:
            out["target"] = str(self.target)
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
    digest, size, head = _hash_file(path, follow_symlinks, progress)
    return Content(path, digest, size, media_type_of(path.name), head)


def _hash_file(path: Path | str, follow_symlinks: bool = False,
               progress: Progress = _quiet) -> tuple[str, int, bytes]:
    """:func:`read_content`'s reading: the SHA-256 (hex), the size and the first
    ``HEAD_BYTES`` bytes of the regular file at ``path``."""
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
    head = b""
    try:
        fd = os.open(path, flags)
        try:  # unbuffered reads: a buffered file object costs more than a small file's read
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise MalformedError(f"{path} is {file_kind(mode)}, not a regular file")
            while chunk := os.read(fd, HASH_CHUNK):
                if not size:
                    head = chunk[:HEAD_BYTES]
                h.update(chunk)
                size += len(chunk)
                progress("hashing", size, max(st.st_size, size))
        finally:
            os.close(fd)
    except OSError as e:
        raise NotFoundError(f"cannot read {path}: {e.strerror}") from e
    return h.hexdigest(), size, head


@functools.lru_cache(maxsize=256)
def _media_type_of_suffix(suffix: str) -> str:
    return (mimetypes.guess_type("x" + suffix)[0] or "application/octet-stream").lower()


def media_type_of(name: str) -> str:
    """The media type of a file named ``name`` (lower case; ``application/octet-stream`` when
    the name tells none), as ``mimetypes.guess_type`` gives it. A name with one plain suffix
    is answered from a cache of its suffix (the guess depends on nothing else then)."""
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and "." not in stem and ":" not in name and "?" not in name \
            and "#" not in name and "/" not in name and "\\" not in name:
        return _media_type_of_suffix("." + suffix)
    return (mimetypes.guess_type(name)[0] or "application/octet-stream").lower()


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
def is_yours(state: WorkState, actor: str, lookup: KeyLookup | None = None) -> bool:
    """Whether ``actor`` registered the work or controls it now (rules.md 5.1). With
    ``lookup`` (the log's key records), a registrant or controller whose key was rotated to
    ``actor`` (rules.md section 9: rotations that count) is ``actor`` too: ``works`` lists the
    work as its own, and so it is."""
    if actor in (state.registrant, state.controller):
        return True
    return lookup is not None and actor in (
        final_holder(k, lookup) for k in (state.registrant, state.controller) if k is not None)


def registered(path: Path, state: WorkState, actor: str,
               lookup: KeyLookup | None = None) -> FileResult:
    """The result for content already registered: ``exists`` when it is the actor's (through
    the rotations of ``lookup`` when given), else ``conflict`` naming the registrant."""
    status = Status.EXISTS if is_yours(state, actor, lookup) else Status.CONFLICT
    return FileResult(path, status, state.work, state.registration,
                      registrant=state.registrant, title=state.content.get("title"))


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
    """What reading, signing and writing a folder's receipts need: the worker has it from the
    fork. ``read`` and ``signed`` are the worker's own memory (not frozen: they change as the
    run goes): the files hashed and not yet signed (by number in the run), so that signing
    one need not read it again, and the events signed whose receipts are not written yet
    (by id), so that writing a receipt need not decode its event again."""

    key: PrivateKey
    now: int
    payees: Payees = None
    signed: dict[str, Shown] = field(default_factory=dict)
    run: int = field(default_factory=os.getpid)  # the run's process, which names temp files
    read: dict[int, tuple[str, str, int, bytes]] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)  # media types signed the short way
    root: str | None = None  # the folder anchored: each file's path below it is its title


Shown = tuple[dict[str, Any], str]
"""A signed event as a receipt shows it (specs/receipts.md): its envelope, with the time as
text, and its signature in base64; with its id, ``{"id", **envelope, "sig"}``."""


Hashed = list[tuple[str, int] | str]
"""Each file's SHA-256 (hex) and size, or why it was refused (a :class:`LedgerError`'s
words)."""

Signed = tuple[list[tuple[str | None, Registration]], tuple[str, ...]]
"""Each content's registration with its content code's text if it has one, and the notices
(media kinds that got no code) that coding them gave."""


def hash_files(signing: Signing, first: int, paths: Sequence[str]) -> Hashed:
    """Read and hash files, numbered from ``first`` in the run (a :class:`Worker` task), as
    :func:`read_content` does with ``follow_symlinks=False``. Those with content are kept in
    ``signing.read`` for :func:`sign_files`."""
    out: Hashed = []
    read = signing.read
    for n, path in enumerate(paths, first):
        try:
            digest, size, head = _hash_file(path)
        except LedgerError as e:
            out.append(str(e))
            continue
        out.append((digest, size))
        if size:
            read[n] = (path, digest, size, head)
    return out


def sign_files(signing: Signing, first: int, count: int, numbers: Sequence[int]) -> Signed:
    """Sign the registrations of the files ``numbers`` (hashed by :func:`hash_files`), in
    order, and forget the files ``first`` to ``first + count - 1`` (a part of the folder: the
    others are registered already, or duplicates)."""
    read = signing.read
    contents = [read[n] for n in numbers]
    for n in range(first, first + count):
        read.pop(n, None)
    return sign_registrations(signing, [
        Content(Path(path), digest, size, media_type_of(_name(path)), head)
        for path, digest, size, head in contents])


def _name(path: str) -> str:
    return path.rpartition(os.sep)[2]


def sign_registrations(signing: Signing, contents: Sequence[Content]) -> Signed:
    """Each content's registration, signed, with its ISCC content code's text if it has one.

    Decoding and resampling an image release the GIL (the ISCC hash does not): the codes of
    the files that must be decoded are made on two threads, a share of files per task (a
    future per file costs more than a file that is no image); a file that has none by its
    media type or its first bytes (a ``.png`` that is no PNG) is told on this thread."""
    actor, key, now, payees = signing.key.public.text, signing.key, signing.now, signing.payees
    root = signing.root
    codes: list[str | None] = [None] * len(contents)
    decode = [i for i, c in enumerate(contents) if needs_decoding(c.media_type, c.head)]
    if decode:
        def code_share(share: Sequence[int]) -> list[str | None]:
            return [_code_text(contents[i]) for i in share]

        shares = [decode[i : i + CODE_SHARE] for i in range(0, len(decode), CODE_SHARE)]
        if len(shares) == 1:
            coded = [code_share(shares[0])]
        else:
            with ThreadPoolExecutor(CODE_THREADS) as pool:
                coded = list(pool.map(code_share, shares))
        for share, texts in zip(shares, coded, strict=True):
            for i, text in zip(share, texts, strict=True):
                codes[i] = text
    out: list[tuple[str | None, Registration]] = []
    at = format_time(now)
    checked, signed = signing.checked, signing.signed
    for content, code in zip(contents, codes, strict=True):
        title = None if root is None else folder_title(str(content.path), root)
        body = _register_body(content, title, payees, code)
        quick = None
        if content.media_type in checked and (code is None or
                                              len(code) <= MAX_SIMILARITY_CHARS):
            quick = _sign_register(key, content.work, at, body)
        if quick is not None:
            registration, shown = quick
        else:
            ev = sign_event(Event(REGISTER, content.work, None, actor, now, body), key)
            registration = Registration(content.work, ev.id, ev.leaf)
            shown = (ev.event.envelope(), b64encode(ev.signature))
            if content.media_type not in checked and _same(
                    _sign_register(key, content.work, at, body), (registration, shown)):
                checked.add(content.media_type)
        signed[registration.id] = shown
        out.append((code, registration))
    return out, take_notices()




def _sign_register(key: PrivateKey, work: str, at: str, body: dict[str, Any]
                   ) -> tuple[Registration, Shown] | None:
    """``sign_event(Event(REGISTER, work, None, actor, now, body), key)`` (specs/events.md
    sections 3 and 6), the short way: the canonical envelope encoded once, without the
    checks of ``Event`` and ``canonical_json``, and kept for the receipt. Used for a media
    type only once one registration of it made the long way came out the same, byte for
    byte (:func:`sign_registrations`): a body of the folder's own values (size, media type,
    the run's payees, a content code) of a kind that passed those checks. None when the leaf
    would be over the size limit: the long way says why."""
    envelope = {"v": EVENT_VERSION, "type": REGISTER, "work": work, "prev": None,
                "actor": key.public.text, "at": at, "body": body}
    canonical = CANONICAL_ENCODER.encode(envelope).encode()
    sig = b64encode(key.sign(EVENT_SIGNING_PREFIX + canonical))
    leaf = signed_leaf(canonical, sig)
    if len(leaf) > MAX_LEAF_BYTES:
        return None
    return Registration(work, hashlib.sha256(LEAF_HASH_PREFIX + leaf).hexdigest(), leaf), (
        envelope, sig)


def _same(quick: tuple[Registration, Shown] | None, long: tuple[Registration, Shown]) -> bool:
    """Whether the short way made what the long way did, down to the receipt's JSON."""
    return quick is not None and quick[0] == long[0] and json.dumps(
        quick[1], ensure_ascii=False) == json.dumps(long[1], ensure_ascii=False)


def _code_text(content: Content) -> str | None:
    code = content_code(content.path, content.media_type, content.head)
    return None if code is None else code.to_text()


def plan_folder(ledger: Ledger, key: PrivateKey, listing: FolderListing, now: int,
                progress: Progress = _quiet, payees: Payees = None) -> Plan:
    """Hash every file, look each work up once, and sign a registration for each new one
    (with ``payees``, the royalty split of every new work, when given)."""
    signing = Signing(key, now, payees, root=str(listing.root))
    planner = _Planner(ledger, signing, len(listing.files), progress)
    return planner.finish(planner.start(planner.reader.read(listing.files)))


class _Reader:
    """Hands parts of a folder to read and hash, numbering their files in the run."""

    def __init__(self, runner: Worker[Signing] | _Inline) -> None:
        self.runner = runner
        self.numbered = 0

    def read(self, files: Sequence[Path]) -> _Reading:
        """Start reading and hashing ``files``."""
        first = self.numbered
        self.numbered += len(files)
        return _Reading(files, first, self.runner.submit(
            hash_files, first, [os.fspath(p) for p in files]))


class _Inline:
    """Runs a task at once, on the calling thread (a :class:`Worker` stand-in)."""

    def __init__(self, context: Signing) -> None:
        self._context = context

    def submit(self, fn: Callable[..., T], *args: Any, background: bool = False) -> Pending[T]:
        done: Future[T] = Future()
        done.set_result(fn(self._context, *args))
        return done


@dataclass(frozen=True, slots=True)
class _Reading:
    """A part of a folder being read and hashed (numbered from ``first`` in the run)."""

    files: Sequence[Path]
    first: int
    hashed: Pending[Hashed]


@dataclass(frozen=True, slots=True)
class _Started:
    """A part of a folder read and looked up, its new works being signed."""

    results: list[FileResult]
    new: list[tuple[int, str]]  # position in the part, work
    signed: Pending[Signed]


class _Planner:
    """:func:`plan_folder` a part of a folder at a time: the content seen in earlier parts
    makes a file of a later one a ``duplicate``, and progress counts across parts. With a
    ``worker``, a part's files are read and hashed there (:meth:`read` returns at once) and
    its registrations signed there (:meth:`start` returns at once), while the caller looks
    up the part before and appends the one before that."""

    def __init__(self, ledger: Ledger, signing: Signing, total: int,
                 progress: Progress = _quiet, worker: Worker[Signing] | None = None,
                 reader: _Reader | None = None) -> None:
        self.ledger, self.signing, self.total = ledger, signing, total
        self.progress = progress
        self.runner: Worker[Signing] | _Inline = worker if worker is not None else _Inline(
            signing)
        self.reader = reader if reader is not None else _Reader(self.runner)
        self.first_seen: dict[str, Path] = {}
        self.hashed = 0
        self.coded = 0
        self.new = 0

    def start(self, reading: _Reading) -> _Started:
        """Once ``reading``'s files are hashed, look their works up, and start signing the
        new ones."""
        ledger, progress, total = self.ledger, self.progress, self.total
        results: list[FileResult] = []
        contents: list[tuple[int, str, Path, int]] = []  # position, work, file, number
        for n, (path, got) in enumerate(zip(reading.files, reading.hashed.result(),
                                            strict=True), reading.first):
            if isinstance(got, str):
                results.append(FileResult(path, Status.REFUSED, error=got))
            else:
                work = work_id_of(got[0])
                if got[1] == 0:
                    results.append(FileResult(path, Status.SKIPPED, work,
                                              reason="empty (an empty file is nobody's work)"))
                else:
                    contents.append((len(results), work, path, n))
                    results.append(FileResult(path, Status.ANCHORED, work))
            self.hashed += 1
            progress("hashing", self.hashed, total)
        # One indexed query per 900 works tells which are registered already.
        present = ledger.store.works_present({work for _, work, _, _ in contents})
        first_seen = self.first_seen
        new: list[tuple[int, str]] = []
        numbers: list[int] = []
        actor, root = self.signing.key.public.text, self.signing.root
        for pos, work, path, n in contents:
            if work in first_seen:
                results[pos] = FileResult(path, Status.DUPLICATE, work,
                                          duplicate_of=first_seen[work])
                continue
            first_seen[work] = path
            state = ledger.state(work) if work in present else None
            if state is not None:
                results[pos] = registered(path, state, actor, ledger.key_record)
                continue
            if root is not None:  # the title sign_registrations gives it
                results[pos] = FileResult(path, Status.ANCHORED, work,
                                          title=folder_title(str(path), root))
            new.append((pos, work))
            numbers.append(n)
        self.new += len(new)
        signed = self.runner.submit(sign_files, reading.first, len(reading.files), numbers)
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
    return _register_body(content, title, payees, _code_text(content))


def _register_body(content: Content, title: str | None, payees: Payees,
                   code: str | None) -> dict[str, Any]:
    """:func:`register_body` with the content code's text (None: no code) made already."""
    body: dict[str, Any] = {"size": content.size, "media_type": content.media_type}
    if title:
        body["title"] = title
    if payees:
        body["payees"] = [dict(p) for p in payees]
    if code is not None:
        body["similarity"] = code
    return body


def similar_elsewhere(index: SimilarityIndex, text: str | None, work: str | None,
                      actor: str, max_distance: int = DEFAULT_DISTANCE) -> tuple[Similar, ...]:
    """Works of other keys (neither registrant nor controller is ``actor``) whose content code
    is within ``max_distance`` of ``text`` (specs/cli.md section 2.1)."""
    code = ContentCode.from_text(text) if text is not None else None
    if code is None:
        return ()
    return tuple(index.near(code, max_distance, exclude_work=work, other_than=actor))


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
            r = results[pos]
            if isinstance(answer, Appended):
                results[pos] = _anchored(r, reg.id, answer.index)
                continue
            state = ledger.state(reg.work)
            if state is not None:
                results[pos] = registered(r.file, state, actor, ledger.key_record)
            else:
                results[pos] = FileResult(r.file, Status.REFUSED, reg.work, error=str(answer))
        if committed is not None:
            committed(results, [pos for pos, _ in chunk])
    return tuple(results)


def _anchored(r: FileResult, id_: str, index: int) -> FileResult:
    """``r`` anchored as event ``id_`` at ``index`` (``dataclasses.replace``, spelled out:
    three times faster, for every file of a folder)."""
    return FileResult(r.file, Status.ANCHORED, r.work, id_, index, r.receipt, r.duplicate_of,
                      r.registrant, r.error, r.reason, r.target, r.similarity, r.similar,
                      r.title)


def _with_receipt(r: FileResult, index: int, receipt: Path) -> FileResult:
    """``r`` with its log index and kept receipt (``dataclasses.replace``, spelled out)."""
    return FileResult(r.file, r.status, r.work, r.id, index, receipt, r.duplicate_of,
                      r.registrant, r.error, r.reason, r.target, r.similarity, r.similar,
                      r.title)


class Committed(Protocol):
    """Told the results so far (by position) and the positions of a block just committed."""

    def __call__(self, results: Sequence[FileResult], positions: Sequence[int]) -> None: ...


class ReceiptKeeper:
    """Keeps a folder's receipts (files 0600 in a folder made 0700), a batch at a time, while
    the caller goes on (appends the next block): the run's :class:`Worker` encodes and writes
    them on the other core, after any task the caller waits for.

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
        self._prefix = os.path.join(self.folder, "")
        self.worker = worker
        self.appended = appended if appended is not None else {}
        self.progress = progress
        self._pending: list[Pending[int]] = []
        self._kept: dict[int, tuple[int, str]] = {}  # position -> (index, receipt's name)

    def committed(self, results: Sequence[FileResult], positions: Sequence[int]) -> None:
        """Write the receipts of a block's newly anchored files (a :class:`Committed`)."""
        self._write([(pos, results[pos]) for pos in positions
                     if results[pos].status is Status.ANCHORED])

    def keep(self, results: Sequence[FileResult]) -> tuple[FileResult, ...]:
        """Every ``anchored`` and ``exists`` result with its index and kept receipt, once all
        receipts are written (those handed over by :meth:`committed` and the missing ones)."""
        out = self.handed_over(results)
        self.wait()
        return out

    def handed_over(self, results: Sequence[FileResult]) -> tuple[FileResult, ...]:
        """:meth:`keep` without waiting: the receipts may not all be on disk yet
        (:meth:`wait`)."""
        out = list(results)
        todo: list[tuple[int, FileResult]] = []
        for pos, r in enumerate(results):
            if r.status not in (Status.ANCHORED, Status.EXISTS) or r.work is None or r.id is None:
                continue
            if pos in self._kept:
                continue
            path = receipt_path(self.folder, r.work, REGISTER, r.id)
            if r.status is Status.ANCHORED or not _kept(path):
                todo.append((pos, r))
            else:
                out[pos] = _with_receipt(r, self._index(r)[0], path)
        for start in range(0, len(todo), RECEIPT_BATCH):
            self._write(todo[start : start + RECEIPT_BATCH])
        folder = self.folder
        for pos, (index, name) in self._kept.items():
            out[pos] = _with_receipt(out[pos], index, folder / name)
        return tuple(out)

    def wait(self) -> None:
        """Return once every receipt handed over is on disk; raise if one could not be
        written."""
        total = len(self._kept)
        written = 0
        for batch in self._pending:
            written += batch.result()
            self.progress("writing receipts", written, total)

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
        prefix, kept = self._prefix, self._kept
        for (pos, r), (index, _), rc in zip(rows, entries, receipts, strict=True):
            name = receipt_name(r.work or "", REGISTER, r.id or "")
            kept[pos] = (index, name)
            items.append((prefix + name, r.id or "", rc.log_key, rc.checkpoint, rc.leaf_index,
                          rc.leaf, rc.inclusion_proof))
        self._pending.append(self.worker.submit(write_receipts, items, background=True))


ReceiptItem = tuple[str, str, str, str, int, bytes, tuple[bytes, ...]]
"""A receipt to write, in plain values (they cross to the worker faster than objects): the
file, the event id, then the receipt's fields in order."""


def write_receipts(signing: Signing, items: Sequence[ReceiptItem]) -> int:
    """Encode and write receipts, one flush to disk for all (a :class:`Worker` background
    task: it lets the tasks the parent waits for run every few dozen receipts); how many. An
    event this run signed is not decoded again. The temporary files are named after the
    run's process: once it is killed, the next run removes them, even if the worker was
    still finishing a flush to disk when it was killed with it."""
    signed = signing.signed
    encoder = ReceiptEncoder()
    files: list[tuple[Path | str, bytes]] = []
    for path, id_, key, checkpoint, index, leaf, proof in items:
        files.append((path, encoder.encode(key, checkpoint, index, leaf, proof, id_,
                                           signed.pop(id_, None))))
        if len(files) % PAUSE_FILES == 0:
            run_urgent()
    write_atomic_all(files, owner=signing.run, pause=run_urgent)
    return len(items)


class ReceiptEncoder:
    """A receipt file's bytes: ``json.dumps(Receipt(...).to_json(event), ensure_ascii=False)``
    and a newline (specs/receipts.md), byte for byte, put together from its parts' JSON.
    The receipts of a batch share their log key and checkpoint, and most of their proofs'
    hashes: each is encoded once. A JSON string's escaping goes character by character, so
    the checkpoint's escaped text is also the end of the escaped ``tlog_proof``."""

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}  # text -> its JSON string's inside
        self._hashes: dict[bytes, str] = {}  # hash -> base64

    def encode(self, log_key: str, checkpoint: str, index: int, leaf: bytes,
               proof: Sequence[bytes], id_: str = "", shown: Shown | None = None) -> bytes:
        """``shown``: the event of ``leaf`` (whose id is ``id_``) as the receipt shows it,
        when the caller has it (saves a re-parse)."""
        if shown is None:
            event_json = parse_leaf(leaf, verify=False).to_json()
        else:
            event_json = {"id": id_, **shown[0], "sig": shown[1]}
        key_text, cp_text = self._string(log_key), self._string(checkpoint)
        hashes = self._hashes
        proof64 = []
        for h in proof:
            text = hashes.get(h)
            if text is None:
                text = hashes[h] = b64encode(h)
            proof64.append(text)
        listed = '", "'.join(proof64)
        inclusion = f'["{listed}"]' if proof64 else "[]"
        lines = "".join(h + "\\n" for h in proof64)
        event_text = json.dumps(event_json, ensure_ascii=False)
        return (f'{{"format": "{RECEIPT_FORMAT}", "log_key": "{key_text}", '
                f'"checkpoint": "{cp_text}", "leaf_index": {index}, '
                f'"leaf": "{b64encode(leaf)}", "inclusion_proof": {inclusion}, '
                f'"event": {event_text}, "tlog_proof": "{TLOG_PROOF_HEADER}\\nindex '
                f'{index}\\n{lines}\\n{cp_text}"}}\n').encode()

    def _string(self, text: str) -> str:
        out = self._strings.get(text)
        if out is None:
            out = self._strings[text] = json.dumps(text, ensure_ascii=False)[1:-1]
        return out


def _kept(path: Path) -> bool:
    """A receipt is kept: a regular file with content (never half of one: written atomically)."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise LedgerError(f"cannot read {path}: {e.strerror}") from e
    return stat.S_ISREG(st.st_mode) and st.st_size > 0


FIRST_PART = 250
"""Files in a run's first part: the worker hashes and signs it before the first append can
start (the later parts are read ahead)."""
READ_AHEAD = 1  # parts handed to the worker to read before this process needs them


def anchor_folder(ledger: Ledger, key: PrivateKey, listing: FolderListing, receipts: Path,
                  now: int, progress: Progress = _quiet,
                  payees: Payees = None) -> tuple[FileResult, ...]:
    """Anchor every file of ``listing`` with ``key`` (specs/rules.md section 5.1) and keep a
    receipt for each in ``receipts``; the results, sorted by path, skipped entries included.
    (:class:`FolderRun`, with a ledger already open.)"""
    with FolderRun(key, listing, now, payees) as run:
        return run.anchor(ledger, receipts, progress)


class FolderRun:
    """:func:`anchor_folder` in two steps: made (the worker forked, the first files being
    read), then :meth:`anchor` with the ledger, which the caller may open meanwhile. A
    context manager: leaving it waits for the worker (what it was handed is written).

    A pipeline on two processes: the worker reads and hashes the files ``PIPELINE_FILES`` at
    a time (a first part of ``FIRST_PART``), ``READ_AHEAD`` parts ahead; this process looks
    each part's works up and the worker signs the new ones, while this process appends the
    part before in blocks of at least ``PIPELINE_BLOCK`` new events (the last block may be
    smaller) and makes each block's receipts, which the worker encodes and writes when it has
    nothing this process waits for. (Reading the files on a thread of their own gained
    nothing: small files are read faster than the GIL changes hands.)"""

    def __init__(self, key: PrivateKey, listing: FolderListing, now: int,
                 payees: Payees = None) -> None:
        self.key, self.listing, self.now = key, listing, now
        files = listing.files
        cuts = [0, *range(min(FIRST_PART, PIPELINE_FILES), len(files), PIPELINE_FILES),
                len(files)] if files else []
        self._parts = [files[lo:hi] for lo, hi in itertools.pairwise(cuts)]
        # The worker is forked first, before any thread of the ledger starts.
        self.signing = Signing(key, now, payees, root=str(listing.root))
        self.worker = Worker(self.signing)
        self._reader = _Reader(self.worker)
        self._reading: deque[_Reading] = deque()
        if self._parts:
            self._reading.append(self._reader.read(self._parts[0]))
            # Pillow's formats are loaded while the caller opens the ledger, not when this
            # process waits for the first registrations.
            self.worker.submit(prepare_codes, sorted(
                {media_type_of(p.name) for p in self._parts[0][:CODE_SHARE]}))
            self._reading.extend(self._reader.read(part)
                                 for part in self._parts[1 : 1 + READ_AHEAD])
        if len(files) >= PARALLEL_VERIFY_MIN:
            # The ledger's verifier process (a new interpreter) starts now, beside the
            # ledger's opening, rather than in the first append; after the fork (it has a
            # thread in this process).
            verifier.checker()
        self._failed = False

    def __enter__(self) -> FolderRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.worker.close(cancel=exc_type is not None or self._failed)

    def anchor(self, ledger: Ledger, receipts: Path, progress: Progress = _quiet,
               meanwhile: Callable[[tuple[FileResult, ...]], object] | None = None
               ) -> tuple[FileResult, ...]:
        """Anchor every file (once) and keep a receipt for each in ``receipts``; the results,
        sorted by path, skipped entries included. ``meanwhile`` is called with them while
        the worker writes the last receipts (the caller's report is made then, and shown
        only once they are all written: when this returns).

        Python's cycle collector is off meanwhile: a run makes next to no cyclic garbage
        (125 objects for 10,000 files, all freed by reference counting otherwise), and its
        full passes over the run's growing results cost about 0.2 s of this process's CPU for
        10,000 files."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._anchor(ledger, receipts, progress, meanwhile)
        finally:
            if collecting:
                gc.enable()

    def _anchor(self, ledger: Ledger, receipts: Path, progress: Progress,
                meanwhile: Callable[[tuple[FileResult, ...]], object] | None
                ) -> tuple[FileResult, ...]:
        self._failed = True
        key, now, parts, reading = self.key, self.now, self._parts, self._reading
        results: list[FileResult] = []
        pending: list[tuple[int, Registration]] = []  # planned, not appended (by position)
        appended: dict[str, Registration] = {}
        planner = _Planner(ledger, self.signing, len(self.listing.files), progress,
                           self.worker, self._reader)
        keeper = ReceiptKeeper(ledger, receipts, self.worker, appended, progress)
        started = planner.start(reading.popleft()) if parts else None
        for n in range(1, len(parts) + 1):
            part = started
            assert part is not None  # noqa: S101 - one started part per part
            # The next part is looked up while the worker signs this one.
            started = planner.start(reading.popleft()) if n < len(parts) else None
            if n + READ_AHEAD < len(parts):
                reading.append(self._reader.read(parts[n + READ_AHEAD]))
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
        done = keeper.handed_over(results)
        done = find_similar(ledger, key.public.text, done, progress)
        out = tuple(heapq.merge(done, self.listing.skipped, key=_result_order))
        if meanwhile is not None:
            meanwhile(out)
        keeper.wait()
        self._failed = False
        return out


def prepare_codes(signing: Signing, media_types: Sequence[str]) -> None:
    """Load what telling the content codes of files of these media types takes (Pillow's
    formats: about 0.1 s), before the first files are signed (a :class:`Worker` task)."""
    for media_type in media_types:
        needs_decoding(media_type, b"")


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
