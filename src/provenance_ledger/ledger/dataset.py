"""A dataset's items and what each resolves to (specs/cli.md section 3.14, ``dataset check``).

Covers: listing a dataset, a folder (every regular file, hashed as ``anchor`` hashes it: the
same rules as ``anchor DIR``, hidden names ignored, symbolic links and special files skipped)
or a manifest (one item a line: a path, a ``sha256:`` work id or an ISCC code; or JSON Lines
with the members of :data:`JSONL_MEMBERS`); and resolving each item to the work it names
(:class:`Resolver`). Leaves out the decisions (core/compliance.py) and printing (the CLI).

Resolution is a small protocol: an item resolves to an exact work id (its content's SHA-256,
or the id the manifest gives), or to a similar registered work with its distance.
:class:`ExactResolver` is the exact one (an ISCC code names no exact work);
:class:`SimilarResolver` adds a similarity index (:class:`Matcher`: the local ledger's,
ledger/similarity.py, or a node's): an item whose exact work is not registered is matched by its
ISCC content code (a file's, computed as ``anchor`` computes it; the code an ISCC line gives) to
the nearest registered work within a distance.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..core.compliance import MAX_ITEM_NAME_CHARS
from ..core.dataset import canonical_item
from ..core.encoding import is_text, load_json
from ..core.events import full_work_id
from ..core.similarity import MAX_DISTANCE, ContentCode
from ..errors import LedgerError, MalformedError, NotFoundError, quoted
from .content_code import content_code
from .files import read_bounded
from .folder import FileResult, Progress, Status, list_folder, read_content
from .ledger import Ledger
from .similarity import SimilarityIndex

MAX_MANIFEST_BYTES = 256 << 20
"""Largest manifest read, in bytes (about two million lines of paths)."""
HASH_THREADS = 2  # hashlib releases the GIL on large buffers: two threads use both cores
HASH_SHARE = 256  # files one thread hashes per task (a task per file costs more than a file)
CODE_SHARE = 32  # files one thread codes per task (as ledger/folder.py)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
JSONL_MEMBERS = ("path", "work", "sha256", "iscc")
"""What a JSON Lines item names, exactly one of: ``path`` (a file, relative to the manifest's
folder), ``work`` (a ``sha256:`` work id), ``sha256`` (64 hex digits), ``iscc`` (an ISCC
code). ``name`` (optional) is how the item is shown; other members are ignored (a dataset's
captions, URLs, licences)."""
ISCC_PREFIX = "ISCC:"


@dataclass(frozen=True, slots=True)
class DatasetItem:
    """One item as the dataset lists it: a name, and a file, a work id or an ISCC code
    (exactly one). ``where``: the manifest line, for messages."""

    name: str
    path: Path | None = None
    work: str | None = None
    iscc: str | None = None
    where: str = ""

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.path, self.work, self.iscc)) != 1:
            raise ValueError("an item names exactly one of a file, a work id, an ISCC code")


@dataclass(frozen=True, slots=True)
class SimilarMatch:
    """A registered work whose similarity code is within ``distance`` of the item's code
    (``code``, its text as the item gives it or as computed from its file)."""

    work: str
    distance: int
    code: str


@dataclass(frozen=True, slots=True)
class Resolved:
    """What an item names: an exact work id (registered or not: the state tells), or,
    when it has none, a similar registered work; neither for an ISCC code that matched no
    registered work (``code``: that code). ``empty``: a file of zero bytes, which is nobody's
    work (rules.md 5.1), skipped. ``skipped``: why an item that names nothing the ledger
    compares is skipped (an ISCC code of another kind than a 64-bit content code)."""

    item: DatasetItem
    work: str | None
    similar: SimilarMatch | None = None
    empty: bool = False
    code: str | None = None
    skipped: str | None = None

    @property
    def checked_work(self) -> str | None:
        """The work whose state answers for the item; None: no work (an unregistered ISCC
        code)."""
        if self.similar is not None:
            return self.similar.work
        return self.work


class Resolver(Protocol):
    """Resolves items to works; ``progress`` is told how far (stage, done, total)."""

    def resolve(self, items: Sequence[DatasetItem], progress: Progress) -> list[Resolved]: ...


class ExactResolver:
    """Exact content ids: a file's SHA-256 (read as ``anchor`` reads it), or the id given.
    An ISCC code names no exact work: it resolves to none (``code``: the code)."""

    def resolve(self, items: Sequence[DatasetItem], progress: Progress) -> list[Resolved]:
        files = [(n, it.path) for n, it in enumerate(items) if it.path is not None]
        works: dict[int, tuple[str, int]] = {}
        total = len(files)
        if files:
            shares = [files[i:i + HASH_SHARE] for i in range(0, total, HASH_SHARE)]
            with ThreadPoolExecutor(HASH_THREADS) as pool:
                done = 0
                for share, hashed in zip(shares, pool.map(
                        lambda share: [_hash(items[n], p) for n, p in share], shares),
                        strict=True):
                    works.update((n, work) for (n, _), work in zip(share, hashed, strict=True))
                    done += len(share)
                    progress("hashing", done, total)
        return [Resolved(it, it.work) if it.work is not None
                else Resolved(it, None, code=it.iscc) if it.iscc is not None
                else Resolved(it, works[n][0], empty=works[n][1] == 0)
                for n, it in enumerate(items)]


def _hash(item: DatasetItem, path: Path) -> tuple[str, int]:
    """The work id of an item's file. A folder's files are read without following links
    (as ``anchor DIR``); a path a manifest names is followed, as a path a user names."""
    try:
        content = read_content(path, follow_symlinks=item.where != "")
    except LedgerError as e:
        where = f"{item.where}: " if item.where else ""
        raise type(e)(f"{where}{e}") from e
    return content.work, content.size


class Matcher(Protocol):
    """Where similar works are looked up: the local similarity index (:class:`LocalMatcher`)
    or a node's (``node/similar.py``). Only registrations the states will be proven at count:
    a matched work's state must be in the answer."""

    def unregistered(self, works: Sequence[str]) -> set[str]:
        """The works of ``works`` that the log does not hold."""
        ...

    def nearest(self, codes: Sequence[ContentCode], distance: int
                ) -> list[tuple[str, int] | None]:
        """For each code, the nearest registered work within ``distance`` (then the earliest
        registered) and its distance; None where there is none."""
        ...


class LocalMatcher:
    """The local ledger's states and similarity index; only registrations below ``upto``
    (the size of the checkpoint the states are read at) count."""

    def __init__(self, ledger: Ledger, upto: int) -> None:
        self.ledger = ledger
        self.upto = upto

    def unregistered(self, works: Sequence[str]) -> set[str]:
        return {w for w in works if self.ledger.state(w) is None}

    def nearest(self, codes: Sequence[ContentCode], distance: int
                ) -> list[tuple[str, int] | None]:
        out: list[tuple[str, int] | None] = []
        with SimilarityIndex(self.ledger) as index:
            for code in codes:
                near = index.near(code, distance, before=self.upto, limit=1)
                out.append((near[0].work, near[0].distance) if near else None)
        return out


class SimilarResolver:
    """Exact ids first; then every item whose exact work the log does not hold is matched by
    its content code (``matcher``): files within ``distance`` (None: files are matched exactly
    only), ISCC codes within ``iscc_distance``."""

    def __init__(self, matcher: Matcher, distance: int | None, iscc_distance: int) -> None:
        for d in (distance, iscc_distance):
            if d is not None and not 0 <= d <= MAX_DISTANCE:
                raise MalformedError(f"--similar must be 0 to {MAX_DISTANCE}")
        self.matcher = matcher
        self.distance = distance
        self.iscc_distance = iscc_distance

    def resolve(self, items: Sequence[DatasetItem], progress: Progress) -> list[Resolved]:
        given = {n: _iscc_code(it) for n, it in enumerate(items) if it.iscc is not None}
        codes = {n: c for n, c in given.items() if isinstance(c, ContentCode)}
        out = dict(enumerate(ExactResolver().resolve(items, progress)))
        for n, c in given.items():
            if isinstance(c, str):  # an ISCC code the ledger never compares: skipped
                out[n] = Resolved(items[n], None, code=items[n].iscc, skipped=c)
        if self.distance is not None:
            files = {n: r for n, r in out.items()
                     if not r.empty and r.item.path is not None and r.work is not None}
            missing = self.matcher.unregistered(
                list(dict.fromkeys(r.work for r in files.values() if r.work is not None)))
            todo = [n for n, r in files.items() if r.work in missing]
            codes.update(_file_codes(items, todo, progress))
        for distance in {self.iscc_distance, self.distance} - {None}:
            assert distance is not None  # noqa: S101 - see the set
            at = [n for n in sorted(codes)
                  if (self.iscc_distance if items[n].iscc is not None else self.distance)
                  == distance]
            found = self.matcher.nearest([codes[n] for n in at], distance) if at else []
            for n, near in zip(at, found, strict=True):
                out[n] = _matched(out[n], codes[n], near)
            progress("matching similar", len(at), len(at))
        return [out[n] for n in range(len(items))]


def _file_codes(items: Sequence[DatasetItem], todo: Sequence[int], progress: Progress
                ) -> dict[int, ContentCode]:
    """The content codes of the files ``todo`` (positions in ``items``), computed as
    ``anchor`` computes them; a file with none (not an image, text, audio or video) is left
    out, and is matched exactly only. Decoding an image releases the GIL: two threads, a
    share each."""
    shares = [todo[i:i + CODE_SHARE] for i in range(0, len(todo), CODE_SHARE)]
    codes: dict[int, ContentCode] = {}
    done = 0
    with ThreadPoolExecutor(HASH_THREADS) as pool:
        for share, found in zip(shares, pool.map(
                lambda share: [_file_code(items[n]) for n in share], shares), strict=True):
            codes.update((n, c) for n, c in zip(share, found, strict=True) if c is not None)
            done += len(share)
            progress("coding for similar matches", done, len(todo))
    return codes


def _file_code(item: DatasetItem) -> ContentCode | None:
    assert item.path is not None  # noqa: S101 - files only
    return file_code(item.path)


def file_code(path: Path) -> ContentCode | None:
    """The content code of the file at ``path`` as ``dataset check --similar`` computes it
    (its media type from its name, then as ``anchor`` codes it), or None: the code a
    compliance receipt keeps for a similar item (specs/receipts.md section 14.2)."""
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return content_code(path, media.lower())


def _matched(exact: Resolved, code: ContentCode, near: tuple[str, int] | None) -> Resolved:
    if near is None:
        return exact
    item = exact.item
    text = item.iscc if item.iscc is not None else code.to_text()
    return Resolved(item, exact.work, SimilarMatch(near[0], near[1], text))


ISCC_NOT_COMPARED = (
    "it is not an ISCC content code the ledger compares (ISCC: and 16 base32 characters, a "
    "64-bit image, text, audio or video unit) but an ISCC code of another kind: not checked")
"""Why an ISCC item that is well formed (as ``dataset disclose`` reads it) but not a content
code the ledger compares (an ISCC-CODE, a meta or instance code) is skipped."""


def _iscc_code(item: DatasetItem) -> ContentCode | str:
    """The content code an ISCC item gives, or why it is skipped (:data:`ISCC_NOT_COMPARED`:
    a well-formed ISCC code of another kind); ISCC text that is not an ISCC code at all is bad
    input."""
    assert item.iscc is not None  # noqa: S101 - called for ISCC items only
    code = ContentCode.from_text(item.iscc)
    if code is None and (canonical_item(item.iscc) or "").startswith(ISCC_PREFIX):
        return ISCC_NOT_COMPARED
    if code is None:
        raise MalformedError(f"{item.where or item.name}: {quoted(item.iscc)} is not an ISCC "
                             "content code the ledger compares (ISCC: and 16 base32 "
                             "characters, a 64-bit image, text, audio or video unit)")
    return code


# -- listing a dataset -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset's items in order, and the folder entries skipped (not regular files)."""

    source: Path
    items: tuple[DatasetItem, ...]
    skipped: tuple[FileResult, ...]


def read_dataset(path: Path) -> Dataset:
    """A folder (its files) or a manifest file (its lines)."""
    if path.is_dir():
        return _folder(path)
    if not path.exists():
        raise NotFoundError(f"no such folder or manifest: {path}")
    return read_manifest(path)


def _folder(root: Path) -> Dataset:
    listing = list_folder(root)
    refused = [r for r in listing.skipped if r.error is not None]
    if refused:
        raise NotFoundError(refused[0].error or f"cannot read {refused[0].file}")
    if not listing.files and not listing.skipped:
        raise NotFoundError(f"no files to check in {root}")
    items, unnamed = [], []
    for p in listing.files:
        name = p.relative_to(root).as_posix()
        why = _name_problem(name)
        if why is None:
            items.append(DatasetItem(name, path=p))
        else:  # a file a receipt could not name is skipped, not the whole check refused
            unnamed.append(FileResult(p, Status.SKIPPED, reason=why))
    return Dataset(root, tuple(items), (*listing.skipped, *unnamed))


def _name_problem(text: str) -> str | None:
    """Why a folder's file cannot be an item (its path is its name, shown and kept in a
    receipt), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, read as lone surrogates
        return "its name is not UTF-8 text, so no report or receipt can name it (rename it)"
    if not is_text(text):
        return "its name holds control characters, so no report or receipt can name it " \
               "(rename it)"
    if len(text) > MAX_ITEM_NAME_CHARS:
        return f"its path is longer than the {MAX_ITEM_NAME_CHARS} characters an item name " \
               "may have"
    return None


def _name(text: str, where: str) -> str:
    """An item's name as shown and kept in a receipt: the text, or a clear error."""
    if not 0 < len(text) <= MAX_ITEM_NAME_CHARS or not is_text(text):
        raise MalformedError(f"{where}: an item name must be 1 to {MAX_ITEM_NAME_CHARS} "
                             "characters without control characters")
    return text


def read_manifest(path: Path) -> Dataset:
    """A manifest: JSON Lines when its name ends in ``.jsonl``/``.ndjson`` or its first item
    line starts with ``{``; else one item a line. Blank lines and lines starting with ``#``
    are passed over. Relative paths are relative to the manifest's folder."""
    raw = read_bounded(path, "manifest", MAX_MANIFEST_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise MalformedError(f"manifest {path} is not UTF-8 text (line {line}): give a folder or a "
                             "manifest of one path, work id or ISCC code per line") from e
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    lines = [(n, s) for n, s in lines if s and not s.startswith("#")]
    if not lines:
        raise MalformedError(f"manifest {path} lists no items")
    jsonl = path.name.lower().endswith(JSONL_SUFFIXES) or lines[0][1].startswith("{")
    parse: Callable[[str, str, Path], DatasetItem] = _jsonl_item if jsonl else _text_item
    # a line starting with "{" is a JSON item in a text manifest too, as dataset disclose
    # reads it: the manifest a developer disclosed is the one they check
    items = tuple((_jsonl_item if s.startswith("{") else parse)(s, f"{path} line {n}",
                                                                path.parent)
                  for n, s in lines)
    return Dataset(path, items, ())


def _text_item(line: str, where: str, base: Path) -> DatasetItem:
    if line.lower().startswith("sha256:"):
        work = full_work_id(line)
        if work is None:
            raise MalformedError(f"{where}: {quoted(line)} is not a work id (sha256: and 64 hex "
                                 "digits)")
        return DatasetItem(_name(line, where), work=work, where=where)
    if line.upper().startswith(ISCC_PREFIX):
        return DatasetItem(_name(line, where), iscc=_iscc_text(line), where=where)
    return DatasetItem(_name(line, where), path=base / line, where=where)


def _iscc_text(text: str) -> str:
    """An ISCC code in its canonical form (``ISCC:`` and upper-case base32, as ``dataset
    disclose`` reads it), or the text as given when it is none."""
    canonical = canonical_item(text)
    return canonical if canonical is not None and canonical.startswith(ISCC_PREFIX) else text


def _jsonl_item(line: str, where: str, base: Path) -> DatasetItem:
    try:
        data = load_json(line, where)
    except MalformedError as e:
        raise MalformedError(e.args[0] if str(e).startswith(where) else f"{where}: {e}") from e
    if not isinstance(data, dict):
        raise MalformedError(f"{where} is not a JSON object")
    given = [m for m in JSONL_MEMBERS if m in data]
    if len(given) != 1:
        raise MalformedError(f"{where}: give exactly one of {', '.join(JSONL_MEMBERS)}")
    (member,) = given
    value = data[member]
    if not isinstance(value, str) or not value:
        raise MalformedError(f"{where}: {member} must be a non-empty string")
    name = data.get("name", value)
    if not isinstance(name, str):
        raise MalformedError(f"{where}: name must be a string")
    name = _name(name, where)
    if member == "path":
        return DatasetItem(name, path=base / value, where=where)
    if member == "iscc":
        return DatasetItem(name, iscc=_iscc_text(value), where=where)
    work = full_work_id(value) if member == "work" else (
        full_work_id(value) if len(value) == 64 else None)
    if work is None or (member == "work" and not value.lower().startswith("sha256:")):
        raise MalformedError(f"{where}: {member} {quoted(value)} is not "
                             + ("a work id (sha256: and 64 hex digits)" if member == "work"
                                else "64 hex digits"))
    return DatasetItem(name, work=work, where=where)
