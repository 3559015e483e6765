"""The node's witness: C2SP tlog-witness ``add-checkpoint``, cosignatures and split-view evidence.

Implements c2sp.org/tlog-witness, "add-checkpoint", over cosignature/v1 (c2sp.org/
tlog-cosignature) signatures made with the node's witness key. Known logs are the node's
peers (origin and log vkey from ``node.toml``) plus the node's own log.

State lives in its own SQLite file, ``witness.db`` in the node home, not in ``ledger.db``:
the ledger's store owns that schema, and the witness must also serve a ``provenance node
sync`` process while the server runs (both open the file; every check-and-store is one
``BEGIN IMMEDIATE`` transaction, so two processes cannot interleave). Tables:

``cosigned``        every checkpoint the witness cosigned, per origin and size (size, root,
                    the note as received, time); the largest size is the witness's state
``evidence``        two validly signed, inconsistent checkpoints of one origin
``faulty``          origins with evidence; the witness refuses their checkpoints
``own_cosignatures`` cosignatures that peers' witnesses delivered for this node's own
                    checkpoints, served with them by ``GET /checkpoint``

Replies to ``add-checkpoint`` for a peer's log, in the order of the checks:

- 400: the body does not parse (``old <size>``, at most 63 base64 hash lines, an empty line,
  a signed checkpoint without extension lines), or old size > checkpoint size;
- 404: unknown origin; 403: no valid signature by the origin's log key;
- 409 (body ``<size>\\n``, ``text/x.tlog.size``): the origin is faulty, or the checkpoint
  has the size of one already cosigned but another root (a split view: recorded as
  evidence and the origin marked faulty, whatever old size was claimed), or old size is not
  the size last cosigned;
- 422: the consistency proof does not verify (also a non-empty proof from size 0). It is
  *evidence* only when the proof is conclusive: it leads to the new signed root but implies
  another root for the old size than the one cosigned. A proof that simply does not verify
  proves nothing (anyone can send garbage for a valid checkpoint), so it does not mark the
  origin faulty: otherwise any client could silence a log's witnesses;
- 200: one cosignature/v1 line; the new state is stored in the same transaction.

Refusals for a faulty origin use 409, not 422: the conflict is with the witness's state
(it holds evidence), and the body tells the client the size the witness holds.

For the node's *own* origin the node holds the whole tree, so ``old`` is not compared with a
stored size (a peer delivering its cosignature may send ``old 0`` and no proof): the
checkpoint must be one this log signed, i.e. its root must be this log's root at its size.
Cosignatures on it from configured peer witnesses are verified and stored; invalid ones are
dropped. The reply cosigns with this node's witness key (a self-cosignature that a trust
policy should not count). A validly signed checkpoint of our own origin that our tree does not
hold means the log key signed another history: it is recorded as evidence and the origin is
marked faulty (409).

Not here: fetching checkpoints and entries from peers, which is mirroring.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..core.encoding import b64decode, b64encode
from ..core.merkle import EMPTY_ROOT, HASH_SIZE, consistency_path_roots, verify_consistency
from ..core.note import (
    MAX_NOTE_BYTES,
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    Checkpoint,
    NoteSignature,
    NoteSigner,
    SignedNote,
    Verifier,
    verify_note,
)
from ..errors import MalformedError, StorageError, VerificationError
from ..ledger import Ledger
from .config import (
    NodeConfig,
    load_config,
    open_node_ledger,
    witness_db_path,
    witness_signer,
)

log = logging.getLogger(__name__)

MAX_PROOF_LINES = 63
"""Most consistency proof lines in an add-checkpoint body (c2sp.org/tlog-witness)."""
MAX_ADD_CHECKPOINT_BYTES = MAX_NOTE_BYTES + 4096
"""Largest add-checkpoint body, in bytes: a signed note plus the old size line and 63 proof
lines (45 bytes each)."""
SIZE_CONTENT_TYPE = "text/x.tlog.size"
"""Content type of a 409 reply (c2sp.org/tlog-witness)."""
BUSY_TIMEOUT_MS = 10_000  # wait for another process's transaction on witness.db
SCHEMA_VERSION = "1"

SPLIT_VIEW = "split-view"
"""Evidence: two signed checkpoints of one size with different roots."""
INCONSISTENT = "inconsistent"
"""Evidence: a consistency path that leads to the newer signed root but to another root than
the older signed checkpoint's at its size."""
FOREIGN = "foreign-checkpoint"
"""Evidence only the log's operator can judge: a checkpoint signed with this node's own log key
for a size its log never reached."""

Reply = tuple[int, str]


class OwnLog(Protocol):
    """What the witness reads of the node's own log."""

    def root_at(self, size: int) -> bytes | None:
        """The root at ``size``, or None when the log is smaller."""

    def note_at(self, size: int | None) -> tuple[int, str] | None:
        """The signed checkpoint (size, note) at ``size`` (None: the latest), if there is one."""

    def consistency(self, old: int, new: int) -> Sequence[bytes]:
        """The RFC 9162 consistency proof between two sizes the log holds."""


class LedgerLog:
    """:class:`OwnLog` over a ledger; ``snapshot`` yields a ledger to read (for a server, a
    consistent read snapshot; for a one-shot command, ``lambda: nullcontext(ledger)``)."""

    def __init__(self, snapshot: Callable[[], AbstractContextManager[Ledger]]) -> None:
        self._snapshot = snapshot

    def root_at(self, size: int) -> bytes | None:
        with self._snapshot() as ledger:
            return ledger.root(size) if 0 <= size <= ledger.size else None

    def note_at(self, size: int | None) -> tuple[int, str] | None:
        with self._snapshot() as ledger:
            row = (ledger.store.latest_checkpoint() if size is None
                   else ledger.store.checkpoint(size))
        return None if row is None else (row[0], row[2])

    def consistency(self, old: int, new: int) -> Sequence[bytes]:
        with self._snapshot() as ledger:
            return ledger.consistency_proof(old, new)


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
            raise MalformedError(f"old size {size_text[:40]!r} is not a decimal number")
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
class Evidence:
    """Two validly signed checkpoints of one origin that cannot both be true.

    ``checkpoints`` are the two notes, older first. For ``inconsistent``, ``path`` is the
    consistency path (see :func:`prefix_root`) from the first to the second."""

    id: int
    origin: str
    kind: str
    checkpoints: tuple[str, str]
    path: tuple[bytes, ...]
    detail: str
    at: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "origin": self.origin, "kind": self.kind,
                "checkpoints": list(self.checkpoints),
                "consistency_path": [b64encode(h) for h in self.path],
                "detail": self.detail, "at": self.at}

    @classmethod
    def from_json(cls, data: Any) -> Evidence:
        try:
            return cls(int(data["id"]), str(data["origin"]), str(data["kind"]),
                       (str(data["checkpoints"][0]), str(data["checkpoints"][1])),
                       tuple(b64decode(h, "consistency path hash", HASH_SIZE)
                             for h in data["consistency_path"]),
                       str(data["detail"]), int(data["at"]))
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise MalformedError(f"evidence is not in the expected form: {e}") from e


def verify_evidence(evidence: Evidence, log_vkey: str) -> None:
    """Check offline that ``evidence`` proves the log with ``log_vkey`` signed two histories:
    (1) both notes are checkpoints of the origin signed by the log key; (2) for a split view,
    one size and two roots; for an inconsistency, the path leads to the second root and
    implies another root than the first at its size. Raises :class:`VerificationError`."""
    v = Verifier.from_vkey(log_vkey)
    if v.sig_type != SIG_TYPE_ED25519 or v.name != evidence.origin:
        raise VerificationError(f"{log_vkey[:60]!r} is not the log key of {evidence.origin}")
    # (1)
    cps = []
    for text in evidence.checkpoints:
        note = SignedNote.from_text(text)
        cp = Checkpoint.from_text(note.text)
        if cp.origin != evidence.origin:
            raise VerificationError(f"evidence checkpoint is of {cp.origin}, not {v.name}")
        verify_note(note, [v])
        cps.append(cp)
    a, b = cps
    # (2)
    if evidence.kind == SPLIT_VIEW:
        if a.size != b.size or a.root == b.root:
            raise VerificationError("split-view evidence needs one size and two roots")
    elif evidence.kind == INCONSISTENT:
        implied = prefix_root(a.size, b.size, evidence.path, b.root)
        if implied is None:
            raise VerificationError("the consistency path does not lead to the newer root")
        if implied == a.root:
            raise VerificationError("the two checkpoints are consistent")
    else:
        raise VerificationError(
            f"evidence of kind {evidence.kind!r} cannot be checked by a third party")


class Witness:
    """Witness state over ``witness.db``; thread-safe (one connection behind a lock) and safe
    across processes (each check-and-store is one ``BEGIN IMMEDIATE`` transaction)."""

    def __init__(
        self,
        path: Path,
        signer: NoteSigner,
        logs: Mapping[str, Verifier],
        own_origin: str,
        own_log: OwnLog,
        peer_witnesses: Sequence[Verifier] = (),
    ) -> None:
        if not signer.cosigner:
            raise ValueError("the witness signs cosignature/v1 (NoteSigner(cosigner=True))")
        if own_origin not in logs:
            raise ValueError("the node's own log must be among the known logs")
        for origin, v in logs.items():
            if v.name != origin or v.sig_type != SIG_TYPE_ED25519:
                raise ValueError(f"log key for {origin} is not an Ed25519 key named {origin}")
        for w in peer_witnesses:
            if w.sig_type != SIG_TYPE_COSIGNATURE_V1:
                raise ValueError(f"peer witness key {w.name} is not a cosignature/v1 key")
        self._signer = signer
        self._logs = dict(logs)
        self._own = own_origin
        self._own_log = own_log
        self._peer_witnesses = tuple(peer_witnesses)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(str(path), isolation_level=None,
                                         check_same_thread=False,
                                         timeout=BUSY_TIMEOUT_MS / 1000)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._create()
        except sqlite3.DatabaseError as e:
            raise StorageError(f"cannot open witness database {path}: {e}") from e

    @property
    def name(self) -> str:
        return self._signer.name

    @property
    def vkey(self) -> str:
        return self._signer.verifier.to_vkey()

    def _create(self) -> None:
        with self._transaction():
            c = self._conn
            c.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = c.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is not None:
                if row[0] != SCHEMA_VERSION:
                    raise StorageError(f"witness schema {row[0]!r} is not {SCHEMA_VERSION!r}")
                return
            c.execute("CREATE TABLE cosigned (origin TEXT NOT NULL, size INTEGER NOT NULL, "
                      "root BLOB NOT NULL, note TEXT NOT NULL, at INTEGER NOT NULL, "
                      "PRIMARY KEY (origin, size))")
            c.execute("CREATE TABLE evidence (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                      "origin TEXT NOT NULL, kind TEXT NOT NULL, note_a TEXT NOT NULL, "
                      "note_b TEXT NOT NULL, path TEXT NOT NULL, detail TEXT NOT NULL, "
                      "at INTEGER NOT NULL)")
            c.execute("CREATE INDEX evidence_origin ON evidence (origin, id)")
            c.execute("CREATE TABLE faulty (origin TEXT PRIMARY KEY, evidence INTEGER NOT NULL, "
                      "at INTEGER NOT NULL)")
            c.execute("CREATE TABLE own_cosignatures (size INTEGER NOT NULL, root BLOB NOT NULL, "
                      "name TEXT NOT NULL, line TEXT NOT NULL, at INTEGER NOT NULL, "
                      "PRIMARY KEY (size, name))")
            c.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, under the thread lock; commits on any normal exit (returns
        included), rolls back on an exception."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as e:
                raise StorageError(f"witness database is busy or unwritable: {e}") from e
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as e:
                raise StorageError(f"could not commit witness state: {e}") from e

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- add-checkpoint ---------------------------------------------------------------------
    def add_checkpoint(self, body: bytes, now: int) -> Reply:
        """Handle one add-checkpoint request; returns (HTTP status, response body). A 409
        body is ``<size>\\n`` (content type :data:`SIZE_CONTENT_TYPE`); a 200 body is the
        cosignature line(s); other bodies are one line of explanation."""
        try:
            req = AddCheckpointRequest.from_bytes(body)
        except MalformedError as e:
            return 400, f"malformed add-checkpoint request: {e}\n"
        cp = req.checkpoint
        # (1) the origin is known and (2) its log key signed the checkpoint.
        logkey = self._logs.get(cp.origin)
        if logkey is None:
            return 404, f"unknown log origin {cp.origin}\n"
        try:
            verify_note(req.note, [logkey])
        except VerificationError as e:
            return 403, f"checkpoint is not signed by the log key of {cp.origin}: {e}\n"
        # (3) the old size is not above the checkpoint's.
        if req.old > cp.size:
            return 400, f"old size {req.old} is larger than checkpoint size {cp.size}\n"
        if cp.origin == self._own:
            return self._add_own(req, now)
        with self._transaction() as c:
            # (4) a faulty origin stays refused.
            stored = self._latest(c, cp.origin)
            stored_size = 0 if stored is None else stored.size
            if self._faulty(c, cp.origin):
                return 409, f"{stored_size}\n"
            # (5) a cosigned checkpoint of the same size with another root is a split view,
            # whatever old size the client claims.
            same = self._cosigned_at(c, cp.origin, cp.size)
            if same is not None and same.root != cp.root:
                self._record(c, cp.origin, SPLIT_VIEW, same.note, req.note.to_text(), (),
                             f"two roots for size {cp.size}", now)
                return 409, f"{stored_size}\n"
            # (6) the old size is the size last cosigned.
            if req.old != stored_size:
                return 409, f"{stored_size}\n"
            # (7) the proof shows the stored tree is a prefix of the new one.
            if stored is None or req.old == 0:
                if req.proof:
                    return 422, "the consistency proof from size 0 must be empty\n"
                if cp.size == 0 and cp.root != EMPTY_ROOT:
                    return 422, "a checkpoint of size 0 must have the empty tree's root\n"
            else:
                try:
                    verify_consistency(stored.size, cp.size, req.proof, stored.root, cp.root)
                except VerificationError as e:
                    self._maybe_inconsistent(c, stored, req, now)
                    return 422, f"consistency proof from {stored.size} to {cp.size}: {e}\n"
            # (8) store, then cosign.
            c.execute("INSERT OR REPLACE INTO cosigned VALUES (?, ?, ?, ?, ?)",
                      (cp.origin, cp.size, cp.root, req.note.to_text(), now))
            sig = self._signer.sign(cp.to_text(), now)
        log.info("cosigned", extra={"fields": {"origin": cp.origin, "size": cp.size}})
        return 200, sig.to_line()

    def _maybe_inconsistent(self, c: sqlite3.Connection, stored: Cosigned,
                            req: AddCheckpointRequest, now: int) -> None:
        """Record evidence when a failed proof is conclusive (see :func:`prefix_root`)."""
        cp = req.checkpoint
        old = stored.size
        path = (stored.root, *req.proof) if old & (old - 1) == 0 else req.proof
        implied = prefix_root(old, cp.size, path, cp.root)
        if implied is not None and implied != stored.root:
            self._record(c, cp.origin, INCONSISTENT, stored.note, req.note.to_text(), path,
                         f"the tree of size {cp.size} does not extend the cosigned tree of "
                         f"size {old}", now)
        else:
            log.warning("bad consistency proof", extra={"fields": {
                "origin": cp.origin, "old": old, "new": cp.size}})

    def _add_own(self, req: AddCheckpointRequest, now: int) -> Reply:
        """A checkpoint of this node's own log, usually carrying a peer's cosignature."""
        cp = req.checkpoint
        ours = self._own_log.root_at(cp.size)
        with self._transaction() as c:
            if self._faulty(c, cp.origin):
                return 409, f"{self._own_size()}\n"
            if ours is None or ours != cp.root:
                self._record_own_fork(c, req, ours, now)
                return 409, f"{self._own_size()}\n"
            if req.old > 0:
                old_root = self._own_log.root_at(req.old)
                try:
                    if old_root is None:
                        raise VerificationError(f"this log has no tree of size {req.old}")
                    verify_consistency(req.old, cp.size, req.proof, old_root, cp.root)
                except VerificationError as e:
                    return 422, f"consistency proof from {req.old} to {cp.size}: {e}\n"
            elif req.proof:
                return 422, "the consistency proof from size 0 must be empty\n"
            stored = self._store_own_cosignatures(c, req.note, cp, now)
            sig = self._signer.sign(cp.to_text(), now)
        if stored:
            log.info("cosignatures received", extra={"fields": {
                "size": cp.size, "witnesses": stored}})
        return 200, sig.to_line()

    def _own_size(self) -> int:
        latest = self._own_log.note_at(None)
        return 0 if latest is None else latest[0]

    def _store_own_cosignatures(self, c: sqlite3.Connection, note: SignedNote, cp: Checkpoint,
                                now: int) -> list[str]:
        stored = []
        for sig in note.signatures:
            for w in self._peer_witnesses:
                if not w.matches(sig):
                    continue
                try:
                    w.verify(sig, note.text)
                except VerificationError:
                    log.warning("invalid cosignature dropped", extra={"fields": {
                        "witness": w.name, "size": cp.size}})
                    continue
                c.execute("INSERT OR REPLACE INTO own_cosignatures VALUES (?, ?, ?, ?, ?)",
                          (cp.size, cp.root, w.name, sig.to_line(), now))
                stored.append(w.name)
        return stored

    def _record_own_fork(self, c: sqlite3.Connection, req: AddCheckpointRequest,
                         ours: bytes | None, now: int) -> None:
        """Our log key signed a checkpoint our log does not hold: keep what shows it."""
        cp = req.checkpoint
        presented = req.note.to_text()
        same = self._own_log.note_at(cp.size) if ours is not None else None
        if same is not None:
            self._record(c, cp.origin, SPLIT_VIEW, same[1], presented, (),
                         f"two roots for size {cp.size} of this node's own log", now)
            return
        latest = self._own_log.note_at(None)
        if ours is not None and latest is not None and latest[0] > cp.size:
            path = self._own_path(cp.size, latest[0])
            if path is not None:
                self._record(c, cp.origin, INCONSISTENT, presented, latest[1], path,
                             f"a checkpoint of size {cp.size} that this log's tree of size "
                             f"{latest[0]} does not extend", now)
                return
        self._record(c, cp.origin, FOREIGN, latest[1] if latest else "", presented, (),
                     f"a checkpoint of size {cp.size} signed with this node's log key "
                     "that this log does not hold", now)

    def _own_path(self, old: int, new: int) -> tuple[bytes, ...] | None:
        """This log's consistency path (see :func:`prefix_root`) from ``old`` to ``new``."""
        root = self._own_log.root_at(old)
        if root is None or old == 0:
            return None
        proof = tuple(self._own_log.consistency(old, new))
        return (root, *proof) if old & (old - 1) == 0 else proof

    # -- queries ---------------------------------------------------------------------------
    @staticmethod
    def _latest(c: sqlite3.Connection, origin: str) -> Cosigned | None:
        row = c.execute("SELECT origin, size, root, note, at FROM cosigned WHERE origin = ? "
                        "ORDER BY size DESC LIMIT 1", (origin,)).fetchone()
        return None if row is None else Cosigned(*row)

    @staticmethod
    def _cosigned_at(c: sqlite3.Connection, origin: str, size: int) -> Cosigned | None:
        row = c.execute("SELECT origin, size, root, note, at FROM cosigned WHERE origin = ? "
                        "AND size = ?", (origin, size)).fetchone()
        return None if row is None else Cosigned(*row)

    @staticmethod
    def _faulty(c: sqlite3.Connection, origin: str) -> bool:
        return c.execute("SELECT 1 FROM faulty WHERE origin = ?", (origin,)).fetchone() is not None

    def _record(self, c: sqlite3.Connection, origin: str, kind: str, note_a: str, note_b: str,
                path: Sequence[bytes], detail: str, now: int) -> None:
        cur = c.execute(
            "INSERT INTO evidence (origin, kind, note_a, note_b, path, detail, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (origin, kind, note_a, note_b, "".join(b64encode(h) + "\n" for h in path),
             detail, now))
        c.execute("INSERT OR IGNORE INTO faulty VALUES (?, ?, ?)", (origin, cur.lastrowid, now))
        log.error("split view: origin marked faulty", extra={"fields": {
            "origin": origin, "kind": kind, "detail": detail}})

    def latest(self, origin: str) -> Cosigned | None:
        """The largest checkpoint of ``origin`` this witness cosigned."""
        with self._lock:
            return self._latest(self._conn, origin)

    def is_faulty(self, origin: str) -> bool:
        with self._lock:
            return self._faulty(self._conn, origin)

    def faulty_origins(self) -> dict[str, int]:
        """Faulty origins and the id of the first evidence against each."""
        with self._lock:
            return dict(self._conn.execute("SELECT origin, evidence FROM faulty ORDER BY origin"))

    def evidence(self, origin: str | None = None) -> list[Evidence]:
        """Evidence recorded, oldest first; only ``origin``'s when given."""
        q = "SELECT id, origin, kind, note_a, note_b, path, detail, at FROM evidence"
        args: tuple[str, ...] = ()
        if origin is not None:
            q += " WHERE origin = ?"
            args = (origin,)
        with self._lock:
            rows = self._conn.execute(q + " ORDER BY id", args).fetchall()
        return [Evidence(i, o, k, (a, b),
                         tuple(b64decode(h, "stored path hash", HASH_SIZE)
                               for h in p.splitlines()), d, at)
                for i, o, k, a, b, p, d, at in rows]

    def cosignatures(self, size: int, root: bytes) -> list[NoteSignature]:
        """Peer witnesses' cosignatures stored for this node's checkpoint (size, root)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT line FROM own_cosignatures WHERE size = ? AND root = ? ORDER BY name",
                (size, root)).fetchall()
        return [NoteSignature.from_line(r[0].rstrip("\n")) for r in rows]

    def first_cosigned_above(self, index: int) -> list[NoteSignature]:
        """Peer witnesses' cosignatures on the smallest of this node's checkpoints larger
        than ``index`` that has any: the first cosigned checkpoint including entry
        ``index`` (one indexed query, however many checkpoints the log has)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT line FROM own_cosignatures WHERE size = (SELECT min(size) FROM "
                "own_cosignatures WHERE size > ?) ORDER BY name", (index,)).fetchall()
        return [NoteSignature.from_line(r[0].rstrip("\n")) for r in rows]

    def cosigned_note(self, note: str, size: int, root: bytes) -> str:
        """``note`` (this node's signed checkpoint) with the cosignatures collected for it."""
        extra = self.cosignatures(size, root)
        if not extra:
            return note
        return SignedNote.from_text(note).with_signatures(extra).to_text()


def open_witness(home: Path, config: NodeConfig, own_log: OwnLog, own_vkey: str) -> Witness:
    """The witness of the node at ``home``: known logs are the configured peers and the
    node's own log (``own_vkey``); peer witness keys come from the configuration."""
    logs = {p.origin: p.log_verifier for p in config.peers}
    logs[config.origin] = Verifier.from_vkey(own_vkey)
    witnesses = [w for w in (p.witness_verifier for p in config.peers) if w is not None]
    return Witness(witness_db_path(home), witness_signer(home, config), logs, config.origin,
                   own_log, witnesses)


@contextmanager
def node_witness(home: Path) -> Iterator[Witness]:
    """The witness of the node at ``home`` for one command (``node evidence``, ``node sync``):
    opens the node's ledger for the witness's own-log checks and closes both afterwards."""
    config = load_config(home)
    ledger = open_node_ledger(home, config)
    try:
        witness = open_witness(home, config, LedgerLog(lambda: nullcontext(ledger)), ledger.vkey)
        try:
            yield witness
        finally:
            witness.close()
    finally:
        ledger.close()
