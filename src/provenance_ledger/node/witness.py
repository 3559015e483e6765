"""The node's witness: C2SP tlog-witness ``add-checkpoint``, cosignatures and split-view evidence.

Implements c2sp.org/tlog-witness, "add-checkpoint", over cosignature/v1 (c2sp.org/
tlog-cosignature) signatures made with the node's witness key (specs/node.md section 4).
Known logs are the node's peers (origin and log vkey from ``node.toml``) plus the node's own
log. The decisions are pure (core/witness.py, which lists the replies in the order of the
checks); the state is ``witness.db`` (store/witness.py); this module runs each decision inside
one witness transaction, records what it finds, logs, and signs.

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

A checkpoint of one of the node's *frozen shards* (specs/node.md sections 3 and 10.3) is taken
the same way, against that frozen log (node/frozen_cosign.py): it must be one the frozen log
signed, and the cosignatures on it by configured witness keys are verified and stored in the
shard's ``cosignatures.db``, which ``GET /shards/{id}/checkpoint`` and the frozen receipts
read; with tiles, the shard's tiles checkpoint is written again. So a witness that was down
at the rotation, and a mirror of the frozen shard, can still add their cosignatures.

Not here: fetching checkpoints and entries from peers, which is mirroring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Protocol

from ..core.evidence import Evidence, verify_evidence
from ..core.note import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    Checkpoint,
    NoteSignature,
    NoteSigner,
    SignedNote,
    Verifier,
)
from ..core.witness import (
    FOREIGN,
    INCONSISTENT,
    MAX_ADD_CHECKPOINT_BYTES,
    MAX_PROOF_LINES,
    SIZE_CONTENT_TYPE,
    SPLIT_VIEW,
    AddCheckpointRequest,
    Cosigned,
    Finding,
    Reply,
    add_checkpoint_body,
    check_signed,
    full_path,
    own_decision,
    own_fork,
    parse_request,
    peer_decision,
    prefix_root,
)
from ..errors import VerificationError
from ..ledger import Ledger
from ..store.witness import WitnessStore, WitnessTx
from .config import (
    NodeConfig,
    load_config,
    open_node_ledger,
    tiles_dir,
    witness_db_path,
    witness_signer,
)
from .freshness import cosignature_time
from .frozen_cosign import FrozenShards
from .shard_manifest import FrozenShard

log = logging.getLogger(__name__)

__all__ = ["FOREIGN", "INCONSISTENT", "MAX_ADD_CHECKPOINT_BYTES", "MAX_PROOF_LINES",
           "SIZE_CONTENT_TYPE", "SPLIT_VIEW", "AddCheckpointRequest", "Cosigned", "Evidence",
           "LedgerLog", "OwnLog", "Reply", "Witness", "add_checkpoint_body", "node_witness",
           "open_witness", "prefix_root", "verify_evidence"]


class CosignatureTx(Protocol):
    """Where a log's delivered cosignatures are kept: ``witness.db`` for the own log
    (store/witness.py), a frozen shard's ``cosignatures.db`` (store/shard_cosignatures.py)."""

    def own_cosignature_line(self, size: int, witness: str) -> str | None:
        """The line kept for checkpoint ``size`` by witness key ``witness``."""

    def store_own_cosignature(self, size: int, root: bytes, witness: str, line: str,
                              at: int) -> None:
        """Keep ``line`` as that witness's newest (its first is kept apart)."""


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
        return None if row is None else (row.size, row.note)

    def consistency(self, old: int, new: int) -> Sequence[bytes]:
        with self._snapshot() as ledger:
            return ledger.consistency_proof(old, new)


class Witness:
    """The node's witness over ``witness.db``; thread-safe and safe across processes (each
    check-and-store is one ``BEGIN IMMEDIATE`` transaction)."""

    def __init__(
        self,
        path: Path,
        signer: NoteSigner,
        logs: Mapping[str, Verifier],
        own_origin: str,
        own_log: OwnLog,
        peer_witnesses: Sequence[Verifier] = (),
        readonly: bool = False,
        frozen: FrozenShards | None = None,
    ) -> None:
        """``frozen``: the node's frozen shards, whose checkpoints take late cosignatures
        (their origins must be among ``logs``, with the shard's log key)."""
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
        self._db = WitnessStore(path, readonly)
        self.frozen = frozen
        for shard in () if frozen is None else frozen.shards:
            known = logs.get(shard.origin)
            if known is None or known.to_vkey() != shard.vkey:
                raise ValueError(f"the frozen shard {shard.origin} must be a known log")
        self.on_own_cosigned: Callable[[int], object] | None = None
        """Called with the size of this node's checkpoint once new cosignatures on it are
        stored (outside the transaction): the tiles folder's checkpoint is written again
        (node/tiles.py, specs/tiles.md section 4)."""

    @property
    def name(self) -> str:
        return self._signer.name

    @property
    def vkey(self) -> str:
        return self._signer.verifier.to_vkey()

    def close(self) -> None:
        self._db.close()

    # -- add-checkpoint ---------------------------------------------------------------------
    def add_checkpoint(self, body: bytes, now: int, shard: str | None = None) -> Reply:
        """Handle one add-checkpoint request; returns (HTTP status, response body). A 409
        body is ``<size>\\n`` (content type :data:`SIZE_CONTENT_TYPE`); a 200 body is the
        cosignature line(s); other bodies are one line of explanation. ``shard``: the
        request came to ``POST /shards/{id}/add-checkpoint`` of the frozen shard of that
        origin, which knows that one log only (specs/node.md section 10.3)."""
        req = parse_request(body)
        if not isinstance(req, AddCheckpointRequest):
            return req
        logs = self._logs if shard is None else {shard: self._logs[shard]}
        refused = check_signed(req, logs)
        if refused is not None:
            return refused
        cp = req.checkpoint
        if cp.origin == self._own:
            return self._add_own(req, now)
        frozen = None if self.frozen is None else self.frozen.shard(cp.origin)
        if frozen is not None:
            return self._add_frozen(req, frozen, now)
        with self._db.transaction() as tx:
            decision = peer_decision(req, tx.latest(cp.origin), tx.cosigned_at(cp.origin, cp.size),
                                     tx.is_faulty(cp.origin))
            if decision.finding is not None:
                self._record(tx, cp.origin, decision.finding, now)
            elif decision.reply is not None and decision.reply[0] == 422 and req.old > 0:
                log.warning("bad consistency proof", extra={"fields": {
                    "origin": cp.origin, "old": req.old, "new": cp.size}})
            if not decision.cosign:
                assert decision.reply is not None
                return decision.reply
            # (8) store, then cosign.
            tx.store_cosigned(Cosigned(cp.origin, cp.size, cp.root, req.note.to_text(), now))
            sig = self._signer.sign(cp.to_text(), now)
        log.info("cosigned", extra={"fields": {"origin": cp.origin, "size": cp.size}})
        return 200, sig.to_line()

    def _add_own(self, req: AddCheckpointRequest, now: int) -> Reply:
        """A checkpoint of this node's own log, usually carrying a peer's cosignature."""
        cp = req.checkpoint
        ours = self._own_log.root_at(cp.size)
        with self._db.transaction() as tx:
            faulty = tx.is_faulty(cp.origin)
            old_root = self._own_log.root_at(req.old) if req.old > 0 else None
            decision = own_decision(req, ours, old_root, faulty, self._own_size())
            if not faulty and (ours is None or ours != cp.root):
                self._record(tx, cp.origin, self._own_fork(req, ours, self._own_log), now)
            if not decision.cosign:
                assert decision.reply is not None
                return decision.reply
            stored = self._store_own_cosignatures(tx, req.note, cp, now)
            sig = self._signer.sign(cp.to_text(), now)
        if stored:
            log.info("cosignatures received", extra={"fields": {
                "size": cp.size, "witnesses": sorted(set(stored))}})  # each witness once
            if self.on_own_cosigned is not None:
                self.on_own_cosigned(cp.size)
        return 200, sig.to_line()

    def _add_frozen(self, req: AddCheckpointRequest, shard: FrozenShard, now: int) -> Reply:
        """A checkpoint of one of this node's frozen shards, usually carrying a late
        cosignature (specs/node.md section 3): decided as for the own log, against the
        frozen log; the cosignatures go to the shard's ``cosignatures.db``."""
        assert self.frozen is not None
        cp = req.checkpoint
        frozen_log = self.frozen.log(shard)
        ours = frozen_log.root_at(cp.size)
        with self._db.transaction() as tx:
            faulty = tx.is_faulty(cp.origin)
            old_root = frozen_log.root_at(req.old) if req.old > 0 else None
            decision = own_decision(req, ours, old_root, faulty, shard.final_size)
            if not faulty and (ours is None or ours != cp.root):
                self._record(tx, cp.origin, self._own_fork(req, ours, frozen_log), now)
            if not decision.cosign:
                assert decision.reply is not None
                return decision.reply
            with self.frozen.cosignatures(shard).transaction() as ctx:
                stored = self._store_own_cosignatures(ctx, req.note, cp, now)
            sig = self._signer.sign(cp.to_text(), now)
        if stored:
            log.info("late cosignatures received", extra={"fields": {
                "origin": cp.origin, "size": cp.size, "witnesses": stored}})
            self.frozen.cosigned(shard, cp.size)
        return 200, sig.to_line()

    def keep_frozen_cosignatures(self, shard: FrozenShard, note: SignedNote, cp: Checkpoint,
                                 now: int) -> list[str]:
        """Cosignatures on the frozen shard's checkpoint ``cp`` that the witnessing rounds
        gathered (specs/node.md section 9.3): stored as :meth:`keep_cosignatures` stores the
        own log's, in the shard's ``cosignatures.db``; returns their key names."""
        if self.frozen is None:
            raise ValueError("this witness knows no frozen shard")
        with self.frozen.cosignatures(shard).transaction() as ctx:
            stored = self._store_own_cosignatures(ctx, note, cp, now)
        if stored:
            self.frozen.cosigned(shard, cp.size)
        return stored

    def _own_size(self) -> int:
        latest = self._own_log.note_at(None)
        return 0 if latest is None else latest[0]

    @staticmethod
    def _own_fork(req: AddCheckpointRequest, ours: bytes | None, own: OwnLog) -> Finding:
        """What shows that our log key signed a checkpoint our log ``own`` (the current one
        or a frozen shard) does not hold."""
        cp = req.checkpoint
        same = own.note_at(cp.size) if ours is not None else None
        latest = own.note_at(None)
        path = None
        if same is None and ours is not None and latest is not None and latest[0] > cp.size:
            root = own.root_at(cp.size)
            if root is not None and cp.size > 0:
                path = full_path(cp.size, root, own.consistency(cp.size, latest[0]))
        return own_fork(req, ours, None if same is None else same[1], latest, path)

    def _store_own_cosignatures(self, tx: CosignatureTx, note: SignedNote, cp: Checkpoint,
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
                kept = tx.own_cosignature_line(cp.size, w.name)
                if kept is not None and _newer(kept, sig):
                    stored.append(w.name)  # an older one (a replay, a clock set back) is
                    continue               # not kept over the newest (section 9.2)
                tx.store_own_cosignature(cp.size, cp.root, w.name, sig.to_line(), now)
                stored.append(w.name)
        return stored

    def keep_cosignatures(self, note: SignedNote, cp: Checkpoint, now: int) -> list[str]:
        """Cosignatures on this node's own checkpoint ``cp`` that synchronous witnessing
        gathered (node/witnessing.py): those by configured witness keys that verify are
        stored and served with the checkpoint; returns their key names. Per witness and
        checkpoint the newest cosignature is kept: one made later replaces it, one made
        earlier is not stored over it (specs/node.md section 9.2)."""
        with self._db.transaction() as tx:
            stored = self._store_own_cosignatures(tx, note, cp, now)
        if stored and self.on_own_cosigned is not None:
            self.on_own_cosigned(cp.size)
        return stored

    def own_cosigned_size(self, name: str) -> int | None:
        """The largest checkpoint of this node's log that witness key ``name`` cosigned."""
        return self._db.own_cosigned_size(name)

    def record(self, origin: str, finding: Finding, now: int) -> None:
        """Keep evidence found outside add-checkpoint (a mirror's map check) and mark
        ``origin`` faulty."""
        with self._db.transaction() as tx:
            self._record(tx, origin, finding, now)

    @staticmethod
    def _record(tx: WitnessTx, origin: str, finding: Finding, now: int) -> None:
        tx.record(origin, finding, now)
        log.error("evidence: origin marked faulty", extra={"fields": {
            "origin": origin, "kind": finding.kind, "detail": finding.detail}})

    # -- queries ---------------------------------------------------------------------------
    def latest(self, origin: str) -> Cosigned | None:
        """The largest checkpoint of ``origin`` this witness cosigned."""
        return self._db.latest(origin)

    def is_faulty(self, origin: str) -> bool:
        return self._db.is_faulty(origin)

    def faulty_origins(self) -> dict[str, int]:
        """Faulty origins and the id of the first evidence against each."""
        return self._db.faulty_origins()

    def evidence(self, origin: str | None = None) -> list[Evidence]:
        """Evidence recorded, oldest first; only ``origin``'s when given."""
        return self._db.evidence(origin)

    def cosignatures(self, size: int, root: bytes) -> list[NoteSignature]:
        """Peer witnesses' cosignatures stored for this node's checkpoint (size, root)."""
        return [NoteSignature.from_line(line.rstrip("\n"))
                for line in self._db.cosignature_lines(size, root)]

    def latest_own_cosignature(self, key_name: str) -> tuple[int, int | None] | None:
        """(size, time) of the newest cosignature by witness key ``key_name`` on the largest
        of this node's checkpoints it cosigned; None when it cosigned none."""
        line = self._db.latest_own_cosignature_line(key_name)
        if line is None:
            return None
        sig = NoteSignature.from_line(line.rstrip("\n"))
        size = self._db.own_cosigned_size(key_name)
        return (0 if size is None else size), cosignature_time(sig)

    def vouched_at(self, index: int, quorum: int) -> int | None:
        """When entry ``index`` of this node's log was vouched for by ``quorum`` of the
        witnesses this node knows (specs/node.md section 6): each witness's first cosignature
        on the smallest checkpoint including the entry that it cosigned, and of those times
        the ``quorum``-th earliest, so that no fewer than ``quorum`` witnesses date an entry.
        None while fewer have cosigned one."""
        times = sorted(t for t in (self._first_vouched(w.name, index)
                                   for w in self._peer_witnesses) if t is not None)
        return times[quorum - 1] if 0 < quorum <= len(times) else None

    def _first_vouched(self, name: str, index: int) -> int | None:
        line = self._db.first_cosignature_line_of(name, index)
        return None if line is None else cosignature_time(
            NoteSignature.from_line(line.rstrip("\n")))

    def cosigned_note(self, note: str, size: int, root: bytes) -> str:
        """``note`` (this node's signed checkpoint) with the cosignatures collected for it."""
        extra = self.cosignatures(size, root)
        if not extra:
            return note
        return SignedNote.from_text(note).with_signatures(extra).to_text()


def _newer(line: str, sig: NoteSignature) -> bool:
    """Whether the stored cosignature ``line`` was made later than ``sig`` (by their
    cosignature/v1 times)."""
    kept = cosignature_time(NoteSignature.from_line(line.rstrip("\n")))
    new = cosignature_time(sig)
    return kept is not None and new is not None and kept > new


def open_witness(home: Path, config: NodeConfig, own_log: OwnLog, own_vkey: str,
                 readonly: bool = False) -> Witness:
    """The witness of the node at ``home``: known logs are the configured peers, the node's
    own log (``own_vkey``) and its frozen shards (their late cosignatures, specs/node.md
    section 3); peer witness keys come from the configuration.
    ``readonly``: its database is only read (a home this process cannot write)."""
    logs = {p.origin: p.log_verifier for p in config.peers}
    frozen = FrozenShards.of_home(home, config.origin, tiles_dir(home, config))
    for shard in frozen.shards:  # a frozen origin is this node's, never a peer's
        logs[shard.origin] = Verifier.from_vkey(shard.vkey)
    logs[config.origin] = Verifier.from_vkey(own_vkey)
    witnesses = [w for w in (p.witness_verifier for p in config.peers) if w is not None]
    known = {v.to_vkey() for v in witnesses}
    witnesses += [v for v in (w.verifier for w in config.witnesses)
                  if v.to_vkey() not in known]
    return Witness(witness_db_path(home), witness_signer(home, config), logs, config.origin,
                   own_log, witnesses, readonly, frozen)


@contextmanager
def node_witness(home: Path, readonly: bool = False) -> Iterator[Witness]:
    """The witness of the node at ``home`` for one command (``node evidence``, ``node sync``):
    opens the node's ledger for the witness's own-log checks and closes both afterwards.
    ``readonly``: its database is only read (``node evidence`` on a read-only home)."""
    config = load_config(home)
    ledger = open_node_ledger(home, config)
    try:
        witness = open_witness(home, config, LedgerLog(lambda: nullcontext(ledger)), ledger.vkey,
                               readonly)
        try:
            yield witness
        finally:
            witness.close()
    finally:
        ledger.close()
