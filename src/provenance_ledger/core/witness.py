"""The witness's decisions, pure: parsing an add-checkpoint body and deciding each reply of
c2sp.org/tlog-witness "add-checkpoint" from the checkpoint, the proof and the witness's state
(specs/node.md section 4). No I/O: the state comes in as values (:class:`Cosigned`), and what
to store or record goes out as values; node/witness.py reads and writes the witness database
(store/witness.py) around these functions and signs.

Replies for a peer's log, in the order of the checks (:func:`check_signed` then
:func:`peer_decision`):

- 400: the body does not parse (``old <size>``, at most 63 base64 hash lines, an empty line,
  a signed checkpoint without extension lines), or old size > checkpoint size;
- 404: unknown origin; 403: no valid signature by the origin's log key;
- 409 (body ``<size>\\n``, ``text/x.tlog.size``): the origin is faulty, or the checkpoint
  has the size of one already cosigned but another root (a split view: evidence, whatever
  old size was claimed), or old size is not the size last cosigned;
- 422: the consistency proof does not verify (also a non-empty proof from size 0). It is
  *evidence* only when the proof is conclusive (:func:`prefix_root`): it leads to the new
  signed root but implies another root for the old size than the one cosigned. A proof that
  simply does not verify proves nothing (anyone can send garbage for a valid checkpoint);
- 200: cosign, storing the new state.

For the node's own origin, :func:`own_decision`: the checkpoint must be one this log signed
(its root is this log's root at its size); otherwise our key signed another history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import MalformedError, VerificationError, error_line, quoted
from .encoding import b64decode, b64encode
from .merkle import EMPTY_ROOT, HASH_SIZE, consistency_path_roots, verify_consistency
from .note import MAX_NOTE_BYTES, Checkpoint, SignedNote, Verifier, verify_note

if TYPE_CHECKING:  # core/evidence.py imports this module
    from .evidence import MapRecomputation

MAX_PROOF_LINES = 63
"""Most consistency proof lines in an add-checkpoint body (c2sp.org/tlog-witness)."""
MAX_ADD_CHECKPOINT_BYTES = MAX_NOTE_BYTES + 4096
"""Largest add-checkpoint body, in bytes: a signed note plus the old size line and 63 proof
lines (45 bytes each)."""
SIZE_CONTENT_TYPE = "text/x.tlog.size"
"""Content type of a 409 reply (c2sp.org/tlog-witness)."""

SPLIT_VIEW = "split-view"
"""Evidence: two signed checkpoints of one size with different roots."""
INCONSISTENT = "inconsistent"
"""Evidence: a consistency path that leads to the newer signed root but to another root than
the older signed checkpoint's at its size."""
FOREIGN = "foreign-checkpoint"
"""Evidence only the log's operator can judge: a checkpoint signed with this node's own log key
for a size its log never reached."""
MAP_ROOT = "map-root"
"""Evidence a mirror holds against a log (specs/map.md section 10, mirrors; specs/node.md
section 5): the log's checkpoint before (its map root recomputed and agreed) and a checkpoint
whose map line is not the map of the log's entries, with the entries between them, the border
of the tree and a map proof (:class:`~provenance_ledger.core.evidence.MapRecomputation`), from
which anyone recomputes the map offline. Without them (as kept before) it cannot be judged,
so ``verify --evidence`` does not use it."""

Reply = tuple[int, str]
"""(HTTP status, response body) of an add-checkpoint request."""


def prefix_root(old: int, new: int, path: Sequence[bytes], new_root: bytes) -> bytes | None:
    """The root of the first ``old`` leaves that a consistency path commits to, if the path
    leads to ``new_root``; None otherwise (RFC 9162 section 2.1.4.2, steps 3-7, keeping the
    first root). ``path`` is the full verification path: the RFC proof, preceded by the old
    tree's root when ``old`` is a power of two. By collision resistance a path that reaches
    the signed new root shows what that tree's prefix of ``old`` leaves is."""
    if any(len(h) != HASH_SIZE for h in path):
        return None
    try:
        fr, sr = consistency_path_roots(old, new, path)
    except VerificationError:
        return None
    return fr if sr == new_root else None


def full_path(old: int, root: bytes, proof: Sequence[bytes]) -> tuple[bytes, ...]:
    """The consistency path of :func:`prefix_root`: ``proof``, preceded by the old ``root``
    when ``old`` is a power of two."""
    return (root, *proof) if old & (old - 1) == 0 else tuple(proof)


@dataclass(frozen=True, slots=True)
class AddCheckpointRequest:
    """A parsed add-checkpoint body."""

    old: int
    proof: tuple[bytes, ...]
    note: SignedNote
    checkpoint: Checkpoint

    @classmethod
    def from_bytes(cls, body: bytes) -> AddCheckpointRequest:
        if len(body) > MAX_ADD_CHECKPOINT_BYTES:
            raise MalformedError(f"body is larger than {MAX_ADD_CHECKPOINT_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MalformedError("body is not UTF-8") from e
        head, sep, rest = text.partition("\n")
        if not sep or not head.startswith("old "):
            raise MalformedError("body does not start with an 'old <size>' line")
        size_text = head[len("old "):]
        if not size_text.isascii() or not size_text.isdigit() or (
                size_text != "0" and size_text.startswith("0")) or len(size_text) > 19:
            raise MalformedError(f"old size {quoted(size_text, 42)} is not a decimal number")
        proof: list[bytes] = []
        while True:
            line, sep, rest = rest.partition("\n")
            if not sep:
                raise MalformedError("body has no empty line before the checkpoint")
            if line == "":
                break
            if len(proof) == MAX_PROOF_LINES:
                raise MalformedError(f"more than {MAX_PROOF_LINES} consistency proof lines")
            proof.append(b64decode(line, "consistency proof line", HASH_SIZE))
        note = SignedNote.from_text(rest)
        return cls(int(size_text), tuple(proof), note, Checkpoint.from_text(note.text))


def add_checkpoint_body(old: int, proof: Sequence[bytes], note: str) -> bytes:
    """The add-checkpoint request body for ``note`` with a proof from size ``old``."""
    return (f"old {old}\n" + "".join(b64encode(h) + "\n" for h in proof) + "\n" + note).encode()


@dataclass(frozen=True, slots=True)
class Cosigned:
    """A checkpoint the witness cosigned: its size, root, the note as received, and when."""

    origin: str
    size: int
    root: bytes
    note: str
    at: int


@dataclass(frozen=True, slots=True)
class Finding:
    """Evidence to record: ``kind``, the two notes (older first), the consistency path, a
    one-line ``detail`` and, for ``map-root``, what recomputes the map."""

    kind: str
    note_a: str
    note_b: str
    path: tuple[bytes, ...]
    detail: str
    map: MapRecomputation | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with an add-checkpoint request: ``cosign`` (store the state, then sign), or
    refuse with ``reply``; ``finding`` is evidence to record either way."""

    cosign: bool
    reply: Reply | None = None
    finding: Finding | None = None


COSIGN = Decision(True)


def size_reply(size: int) -> Reply:
    """The 409 reply naming the size the witness holds."""
    return 409, f"{size}\n"


def parse_request(body: bytes) -> AddCheckpointRequest | Reply:
    """The parsed request, or its 400 reply."""
    try:
        return AddCheckpointRequest.from_bytes(body)
    except MalformedError as e:
        return 400, f"malformed add-checkpoint request: {error_line(str(e))}\n"


def check_signed(req: AddCheckpointRequest, logs: Mapping[str, Verifier]) -> Reply | None:
    """Steps (1)-(3): the origin is known (404), its log key signed the checkpoint (403), and
    the old size is not above the checkpoint's (400). None when all hold."""
    cp = req.checkpoint
    # (1) the origin is known and (2) its log key signed the checkpoint.
    logkey = logs.get(cp.origin)
    if logkey is None:
        return 404, f"unknown log origin {cp.origin}\n"
    try:
        verify_note(req.note, [logkey])
    except VerificationError as e:
        return 403, (f"checkpoint is not signed by the log key of {cp.origin}: "
                     f"{error_line(str(e))}\n")
    # (3) the old size is not above the checkpoint's.
    if req.old > cp.size:
        return 400, f"old size {req.old} is larger than checkpoint size {cp.size}\n"
    return None


def peer_decision(req: AddCheckpointRequest, stored: Cosigned | None, same: Cosigned | None,
                  faulty: bool) -> Decision:
    """Steps (4)-(7) for a peer's log, given the largest checkpoint cosigned (``stored``), the
    one cosigned at the new checkpoint's size (``same``) and whether the origin is faulty."""
    cp = req.checkpoint
    stored_size = 0 if stored is None else stored.size
    # (4) a faulty origin stays refused.
    if faulty:
        return Decision(False, size_reply(stored_size))
    # (5) a cosigned checkpoint of the same size with another root is a split view, whatever
    # old size the client claims.
    if same is not None and same.root != cp.root:
        return Decision(False, size_reply(stored_size), Finding(
            SPLIT_VIEW, same.note, req.note.to_text(), (), f"two roots for size {cp.size}"))
    # (6) the old size is the size last cosigned.
    if req.old != stored_size:
        return Decision(False, size_reply(stored_size))
    # (7) the proof shows the stored tree is a prefix of the new one.
    if stored is None or req.old == 0:
        if req.proof:
            return Decision(False, (422, "the consistency proof from size 0 must be empty\n"))
        if cp.size == 0 and cp.root != EMPTY_ROOT:
            return Decision(False, (422, "a checkpoint of size 0 must have the empty tree's "
                                         "root\n"))
        return COSIGN
    try:
        verify_consistency(stored.size, cp.size, req.proof, stored.root, cp.root)
    except VerificationError as e:
        reply = (422, f"consistency proof from {stored.size} to {cp.size}: {e}\n")
        return Decision(False, reply, inconsistency(stored, req))
    return COSIGN


def inconsistency(stored: Cosigned, req: AddCheckpointRequest) -> Finding | None:
    """Evidence when a failed proof is conclusive (see :func:`prefix_root`); None when the
    proof simply does not verify."""
    cp = req.checkpoint
    old = stored.size
    path = full_path(old, stored.root, req.proof)
    implied = prefix_root(old, cp.size, path, cp.root)
    if implied is None or implied == stored.root:
        return None
    return Finding(INCONSISTENT, stored.note, req.note.to_text(), path,
                   f"the tree of size {cp.size} does not extend the cosigned tree of size {old}")


def own_decision(req: AddCheckpointRequest, ours: bytes | None, old_root: bytes | None,
                 faulty: bool, own_size: int) -> Decision:
    """A checkpoint of this node's own log: ``ours`` is this log's root at the checkpoint's
    size, ``old_root`` at the claimed old size (None: the log is smaller), ``own_size`` the
    size of its latest checkpoint. A 409 for a root this log does not hold carries no finding
    here: :func:`own_fork` builds it from more of the log."""
    cp = req.checkpoint
    if faulty or ours is None or ours != cp.root:
        return Decision(False, size_reply(own_size))
    if req.old > 0:
        try:
            if old_root is None:
                raise VerificationError(f"this log has no tree of size {req.old}")
            verify_consistency(req.old, cp.size, req.proof, old_root, cp.root)
        except VerificationError as e:
            return Decision(False, (422, f"consistency proof from {req.old} to {cp.size}: {e}\n"))
    elif req.proof:
        return Decision(False, (422, "the consistency proof from size 0 must be empty\n"))
    return COSIGN


def own_fork(req: AddCheckpointRequest, ours: bytes | None, same_note: str | None,
             latest: tuple[int, str] | None, path: tuple[bytes, ...] | None) -> Finding:
    """Our log key signed a checkpoint our log does not hold: what shows it. ``same_note`` is
    our checkpoint of the same size, ``latest`` our latest (size, note), ``path`` our
    consistency path from the checkpoint's size to ``latest`` (None: none exists)."""
    cp = req.checkpoint
    presented = req.note.to_text()
    if same_note is not None:
        return Finding(SPLIT_VIEW, same_note, presented, (),
                       f"two roots for size {cp.size} of this node's own log")
    if ours is not None and latest is not None and latest[0] > cp.size and path is not None:
        return Finding(INCONSISTENT, presented, latest[1], path,
                       f"a checkpoint of size {cp.size} that this log's tree of size "
                       f"{latest[0]} does not extend")
    return Finding(FOREIGN, latest[1] if latest else "", presented, (),
                   f"a checkpoint of size {cp.size} signed with this node's log key that this "
                   "log does not hold")
