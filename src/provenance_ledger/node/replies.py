"""The answers of a node's HTTP API (specs/node.md section 2) as typed values.

Bytes in, a frozen value or one :class:`MalformedError` out, with no I/O (python-tuf's
``ngclient`` reads its metadata the same way): mirroring and the ``--node`` client never
index into JSON they have not checked. JSON is read with :func:`load_json` (duplicate keys
refused). Whatever a reply says is still not trusted: checkpoints, receipts and entries are
verified by the callers; here only the form is checked. Sizes are bounded by the fetcher
(node/fetch.py) before the bytes get here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..core.encoding import b64decode, load_json
from ..core.merkle import HASH_SIZE
from ..errors import MalformedError, PeerError, quoted
from .config import MAX_WITNESSES, WITNESS_LABEL
from .fetch import Answer

T = TypeVar("T")

MAX_PROOF_HASHES = 128  # hashes in a consistency proof of any tree up to 2^63 entries
MAX_REGISTRATIONS = 1024  # registrations of one work a node may list
MAX_TEXT_CHARS = 300  # longest text of a node's kept for display


def parse(answer: Answer, who: str, what: str, parser: Callable[[bytes], T]) -> T:
    """``parser(answer.body)``, or one :class:`PeerError` naming ``who``, the URL and what
    was expected."""
    try:
        return parser(answer.body)
    except MalformedError as e:
        raise PeerError(who, f"{answer.where}: {what} is not in the documented form: "
                        f"{e}") from e


def _object(body: bytes, what: str) -> dict[str, Any]:
    data = load_json(body, what)
    if not isinstance(data, dict):
        raise MalformedError(f"{what} is not a JSON object")
    return data


def _int(data: dict[str, Any], name: str, what: str) -> int:
    value = data.get(name)
    if type(value) is not int or value < 0:
        raise MalformedError(f"{what} field {name!r} is missing or not a non-negative integer")
    return value


def _str(data: dict[str, Any], name: str, what: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise MalformedError(f"{what} field {name!r} is missing or not a string")
    return value


def one_line(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """A node's text as one printable line of at most ``limit`` characters: it is shown to
    the user, so it cannot add lines or terminal controls of its own."""
    printable = "".join(c if c.isprintable() else " " for c in text[:4 * limit])
    line = " ".join(printable.split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def checkpoint_text(body: bytes) -> str:
    """A ``text/plain`` signed note as text (strict UTF-8)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedError("the checkpoint is not UTF-8 text") from e


def witness_names(value: str) -> tuple[str, ...]:
    """A ``Provenance-Refusing-Witnesses`` header (specs/node.md section 9): the witnesses'
    configured names, space-separated, each once, at most ``MAX_WITNESSES``; () for none."""
    names = tuple(dict.fromkeys(value.split()))
    if len(names) > MAX_WITNESSES:
        raise MalformedError(f"it names {len(names)} witnesses; a node has at most "
                             f"{MAX_WITNESSES}")
    for name in names:
        if not WITNESS_LABEL.fullmatch(name):
            raise MalformedError(f"{quoted(name, 64)} is not a witness name")
    return names


@dataclass(frozen=True, slots=True)
class EntriesPage:
    """``GET /entries?start=S&end=E``: the leaves from ``start`` on, in order."""

    start: int
    leaves: tuple[bytes, ...]

    @classmethod
    def from_bytes(cls, body: bytes, start: int, end: int) -> EntriesPage:
        data = _object(body, "entries page")
        items = data.get("entries")
        if not isinstance(items, list) or not items:
            raise MalformedError(f"no entries for [{start}, {end})")
        if len(items) > end - start:
            raise MalformedError(f"{len(items)} entries for [{start}, {end})")
        leaves = []
        for n, item in enumerate(items, start):
            if not isinstance(item, dict) or type(item.get("index")) is not int:
                raise MalformedError(f"entry {n} is not an object with an index")
            if item["index"] != n:
                raise MalformedError(f"entries out of order at {n}")
            leaf = item.get("leaf")
            if not isinstance(leaf, str):
                raise MalformedError(f"entry {n} has no leaf")
            leaves.append(b64decode(leaf, f"entry {n} leaf"))
        return cls(start, tuple(leaves))


@dataclass(frozen=True, slots=True)
class ConsistencyReply:
    """``GET /proof/consistency?old=A&new=B``."""

    old: int
    new: int
    proof: tuple[bytes, ...]

    @classmethod
    def from_bytes(cls, body: bytes, old: int, new: int) -> ConsistencyReply:
        what = "consistency proof"
        data = _object(body, what)
        if (_int(data, "old", what), _int(data, "new", what)) != (old, new):
            raise MalformedError(f"it is between {quoted(data['old'])} and "
                                 f"{quoted(data['new'])}, not {old} and {new}")
        hashes = data.get("consistency_proof")
        if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES or not all(
                isinstance(h, str) for h in hashes):
            raise MalformedError(f"'consistency_proof' is not a list of at most "
                                 f"{MAX_PROOF_HASHES} base64 hashes")
        return cls(old, new, tuple(b64decode(h, "consistency proof hash", HASH_SIZE)
                                   for h in hashes))


@dataclass(frozen=True, slots=True)
class NodeKeys:
    """``GET /keys``: the node's log verifier key (the other fields are not needed)."""

    log: str

    @classmethod
    def from_bytes(cls, body: bytes) -> NodeKeys:
        return cls(_str(_object(body, "keys"), "log", "keys"))


@dataclass(frozen=True, slots=True)
class Registration:
    """One registration of a work on a log, as a node lists it (specs/node.md section 6);
    shown to the user as the node's word, never trusted."""

    origin: str
    registrant: str
    id: str
    index: int
    cosigned_at: str | None
    faulty: bool | None = None  # present for mirrored logs only

    @classmethod
    def from_json(cls, data: Any) -> Registration:
        what = "registration"
        if not isinstance(data, dict):
            raise MalformedError("a registration is not a JSON object")
        at = data.get("cosigned_at")
        if at is not None and not isinstance(at, str):
            raise MalformedError("registration field 'cosigned_at' is not a string or null")
        faulty = data.get("faulty")
        if faulty is not None and not isinstance(faulty, bool):
            raise MalformedError("registration field 'faulty' is not a boolean")
        return cls(one_line(_str(data, "origin", what)), one_line(_str(data, "registrant", what)),
                   one_line(_str(data, "id", what)), _int(data, "index", what),
                   None if at is None else one_line(at), faulty)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"origin": self.origin, "registrant": self.registrant,
                               "id": self.id, "index": self.index,
                               "cosigned_at": self.cosigned_at}
        if self.faulty is not None:
            out["faulty"] = self.faulty
        return out


@dataclass(frozen=True, slots=True)
class SimilarRegistration:
    """A registration of another work with similar content, as a node lists it (specs/node.md
    section 6.1); the node's word, shown to the user, never trusted."""

    origin: str
    work: str
    registrant: str
    controller: str
    id: str
    index: int
    distance: int

    @classmethod
    def from_json(cls, data: Any) -> SimilarRegistration:
        what = "similar registration"
        if not isinstance(data, dict):
            raise MalformedError("a similar registration is not a JSON object")
        distance = _int(data, "distance", what)
        if distance > 64:
            raise MalformedError("similar registration field 'distance' is over 64")
        return cls(one_line(_str(data, "origin", what)), one_line(_str(data, "work", what)),
                   one_line(_str(data, "registrant", what)),
                   one_line(_str(data, "controller", what)), one_line(_str(data, "id", what)),
                   _int(data, "index", what), distance)

    def to_json(self) -> dict[str, Any]:
        return {"origin": self.origin, "work": self.work, "registrant": self.registrant,
                "controller": self.controller, "id": self.id, "index": self.index,
                "distance": self.distance}


@dataclass(frozen=True, slots=True)
class WorkView:
    """``GET /works/{work}``: the resolved work id, its registrations across logs and the
    registrations of similar content."""

    work: str
    disputed: bool
    registrations: tuple[Registration, ...]
    similar: tuple[SimilarRegistration, ...] = ()

    @classmethod
    def from_bytes(cls, body: bytes) -> WorkView:
        data = _object(body, "work")
        work = _str(data, "work", "work")
        if not work.startswith("sha256:") or len(work) != 71:
            raise MalformedError(f"{quoted(work)} is not a work id")
        disputed = data.get("disputed", False)
        if not isinstance(disputed, bool):
            raise MalformedError("field 'disputed' is not a boolean")
        items = data.get("registrations", [])
        if not isinstance(items, list) or len(items) > MAX_REGISTRATIONS:
            raise MalformedError(f"field 'registrations' is not a list of at most "
                                 f"{MAX_REGISTRATIONS}")
        similar = data.get("similar", [])
        if not isinstance(similar, list) or len(similar) > MAX_REGISTRATIONS:
            raise MalformedError(f"field 'similar' is not a list of at most "
                                 f"{MAX_REGISTRATIONS}")
        return cls(work, disputed, tuple(Registration.from_json(r) for r in items),
                   tuple(SimilarRegistration.from_json(r) for r in similar))


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """The JSON body of a refusal, ``{"error", "head"?, "elsewhere"?}``, as far as it has
    that form; anything else is an error without words."""

    error: str | None
    head: str | None
    body: Any

    @classmethod
    def from_bytes(cls, body: bytes) -> ErrorReply:
        try:
            data = load_json(body, "error")
        except MalformedError:
            return cls(None, None, None)
        if not isinstance(data, dict):
            return cls(None, None, data)
        error, head = data.get("error"), data.get("head")
        return cls(error if isinstance(error, str) else None,
                   head if isinstance(head, str) else None, data)


MAX_RETRY_AFTER_DIGITS = 6
"""A ``Retry-After`` of more digits (over 11 days) is not repeated in a message."""


def refused(answer: Answer) -> str:
    """``METHOD URL answered STATUS: ...``, one line, for an answer that is not the one asked
    for: the start of its body; for a 503, that the party is unavailable for now and to try
    again later (after its ``Retry-After`` seconds), with its error line (specs/node.md
    section 2, "Storage unavailable"): not a fault of the party."""
    if answer.status != 503:
        return f"{answer.where} answered {answer.status}: {answer.excerpt()}"
    error = ErrorReply.from_bytes(answer.body).error
    text = answer.excerpt() if error is None else one_line(error)
    after = answer.retry_after or ""
    wait = (f" (Retry-After: {after} s)"
            if after.isdigit() and len(after) <= MAX_RETRY_AFTER_DIGITS else "")
    return f"{answer.where} answered 503, unavailable for now: try again later{wait}: {text}"
