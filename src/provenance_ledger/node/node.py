"""What a running node holds: its ledger (written only by the sequencer), read snapshots,
the witness; and the answers several routes share (checkpoints with their cosignatures,
receipts, the inclusion proof body of the hot path)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..core.encoding import b64encode
from ..core.note import NoteSigner
from ..core.receipt import Receipt
from ..errors import ConflictError, LedgerError, NotFoundError, StorageError
from ..ledger import Home, Ledger, inclusion_proof_with_leaf
from .autosync import AutoSync
from .block_receipts import ReceiptReply
from .config import NodeConfig, log_signer, open_node_ledger, refusals_path, tiles_dir
from .fetch import Timeouts
from .freshness import LOOK_S, Freshness
from .http import HttpError
from .mirror import EMPTY_LOG
from .reads import Reads
from .sequencer import Sequencer
from .tiles import TilesWriter
from .witness import LedgerLog, Witness, open_witness
from .witnessing import Witnessing

log = logging.getLogger("provenance_ledger.node")


class HaltingSequencer(Sequencer):
    """The sequencer of a node that stops signing once witnessing shows its log was rolled
    back (specs/node.md sections 8 and 9): from then on every submission is refused with a
    503 carrying :attr:`halted`, and a block already queued is not integrated (no checkpoint
    is signed for it)."""

    halted: str | None = None

    def _refuse(self) -> None:
        if self.halted is not None:
            raise HttpError(503, self.halted)

    async def submit_reply(self, leaf: bytes) -> ReceiptReply:
        self._refuse()
        return await super().submit_reply(leaf)

    def submit_many(self, leaves: Sequence[bytes]) -> list[asyncio.Future[ReceiptReply]]:
        self._refuse()
        return super().submit_many(leaves)

    def _integrate(self, leaves: list[bytes]) -> list[ReceiptReply | LedgerError]:
        if self.halted is not None:  # queued before the halt: nothing more is signed (a 409:
            # the refusal must keep its line, which a storage error's answer does not)
            return [ConflictError(self.halted)] * len(leaves)
        return super()._integrate(leaves)


class Node:
    """What a running node holds; set up and torn down by the app's lifespan."""

    def __init__(self, home: Path, config: NodeConfig, clock: Callable[[], float],
                 queue_limit: int, batch_max: int, linger_s: float, *,
                 mirror_interval_s: float | None = None,
                 peer_timeouts: Timeouts | None = None,
                 freshness_interval_s: float | None = None,
                 freshness_look_s: float = LOOK_S) -> None:
        self.home = home
        self.config = config
        self.clock = clock
        self._queue_limit = queue_limit
        self._batch_max = batch_max
        self._linger = linger_s
        signer: NoteSigner = log_signer(home, config)
        self.log_verifier = signer.verifier
        self.vkey = self.log_verifier.to_vkey()
        self._ledger: Ledger | None = None
        self._sequencer: HaltingSequencer | None = None
        self._reads: Reads | None = None
        self._witness: Witness | None = None
        self.witnessing: Witnessing | None = None
        """Synchronous witnessing (specs/node.md section 9); None with no witnesses listed."""
        # Mirroring inside serve (node/autosync.py): node.toml's interval unless overridden.
        self._mirror_interval = (config.mirror_interval if mirror_interval_s is None
                                 else mirror_interval_s)
        self._peer_timeouts = peer_timeouts
        self.autosync: AutoSync | None = None
        # Re-cosigning the latest checkpoint (node/freshness.py): node.toml's interval unless
        # overridden; ``freshness_look_s`` bounds the wait between two looks at its age.
        self._freshness_interval = (config.freshness_interval if freshness_interval_s is None
                                    else freshness_interval_s)
        self._freshness_look_s = freshness_look_s

    async def start(self) -> None:
        ledger = open_node_ledger(self.home, self.config)
        if ledger.vkey != self.vkey:  # pragma: no cover - the same key file was just read
            ledger.close()
            raise StorageError("the ledger's log key changed while the node started")
        if ledger.checkpoint_empty_log(self.now()):  # witnessable before its first event
            log.info("signed the empty tree's checkpoint", extra={"fields": {"size": 0}})
        self._ledger = ledger
        self._reads = Reads(Home(self.home).location(), self.log_verifier)
        self._witness = open_witness(self.home, self.config, LedgerLog(self._reads.snapshot),
                                     self.vkey)
        if self.config.witnesses:
            freshness = (Freshness(self._freshness_interval) if self._freshness_interval > 0
                         else None)
            self.witnessing = Witnessing(self.config.witnesses, self.config.quorum,
                                         self.config.witnessing.timeout, self._witness,
                                         self._reads.snapshot, self.clock,
                                         freshness=freshness, look_s=self._freshness_look_s,
                                         refusals=refusals_path(self.home),
                                         on_halt=self._halt)
            await self.witnessing.start()
        tiles = self._tiles_writer(ledger)
        ledger.holds_map_levels = True  # the sequencer's blocks are small and many
        self._sequencer = HaltingSequencer(ledger, self.clock, self._queue_limit, self._batch_max,
                                    self._linger,
                                    None if self.witnessing is None else self.witnessing.notify,
                                    tiles=tiles)
        self._sequencer.start()
        if self.witnessing is not None and self.witnessing.halted is not None:
            self._sequencer.halted = self.witnessing.halted  # halted before the sequencer
        if self._mirror_interval > 0 and self.config.peers:
            self.autosync = AutoSync(self.home, self.config, lambda: self.witness, self.now,
                                     self._mirror_interval, self._peer_timeouts)
            self.autosync.start()
        log.info("node started", extra={"fields": {
            "origin": self.config.origin, "witness": self.config.witness_name,
            "size": ledger.size, "peers": len(self.config.peers),
            "witnesses": len(self.config.witnesses), "quorum": self.config.quorum,
            "freshness_interval_s": self._freshness_interval if self.config.witnesses else 0}})

    def _halt(self, line: str) -> None:
        """A witness holds a larger checkpoint of this log: sign nothing more (the error line
        answers every write from now on, specs/node.md section 9)."""
        if self._sequencer is not None:
            self._sequencer.halted = line
        log.error("signing stopped", extra={"fields": {"error": line}})

    def _tiles_writer(self, ledger: Ledger) -> TilesWriter | None:
        """The writer of ``tiles`` in node.toml, the folder caught up with the latest
        checkpoint first (specs/tiles.md section 4), the checkpoint written again as
        cosignatures on it arrive; None when the node writes no tiles."""
        folder = tiles_dir(self.home, self.config)
        if folder is None:
            return None
        writer = TilesWriter(folder, ledger.store, self.witness.cosigned_note)
        self.witness.on_own_cosigned = writer.cosigned  # before catch_up reads them
        try:
            written = writer.catch_up()
        except OSError as e:
            raise StorageError(f"cannot write the tiles to {folder} (node.toml 'tiles'): "
                               f"{e.strerror or e}") from e
        log.info("tiles caught up", extra={"fields": {
            "folder": str(folder), "size": writer.size, "written": written}})
        return writer

    async def stop(self) -> None:
        if self.autosync is not None:  # first: a round uses the witness and the peers
            await self.autosync.stop()
        if self._sequencer is not None:
            await self._sequencer.stop()
        if self.witnessing is not None:
            await self.witnessing.stop()
        if self._witness is not None:
            self._witness.close()
        if self._reads is not None:
            self._reads.close()
        if self._ledger is not None:
            log.info("node stopped", extra={"fields": {"size": self._ledger.size}})
            self._ledger.close()

    @property
    def sequencer(self) -> Sequencer:
        if self._sequencer is None:
            raise HttpError(503, "the node is not running")
        return self._sequencer

    @property
    def reads(self) -> Reads:
        if self._reads is None:
            raise HttpError(503, "the node is not running")
        return self._reads

    @property
    def witness(self) -> Witness:
        if self._witness is None:
            raise HttpError(503, "the node is not running")
        return self._witness

    def now(self) -> int:
        return int(self.clock())

    def checkpoint(self, ledger: Ledger, size: int | None) -> tuple[int, str]:
        """(size, note with cosignatures) of the latest checkpoint or the one at ``size``."""
        row = ledger.store.latest_checkpoint() if size is None else ledger.store.checkpoint(size)
        if row is None:
            raise NotFoundError(EMPTY_LOG if size is None
                                else f"no checkpoint of size {size} (checkpoints end blocks)")
        return row.size, self.witness.cosigned_note(row.note, row.size, row.root)

    def receipt(self, ledger: Ledger, index: int, size: int | None) -> Receipt:
        cp_size, note = self.checkpoint(ledger, size)
        if index >= cp_size:
            raise NotFoundError(f"entry {index} is not covered by the checkpoint of size "
                                f"{cp_size}")
        entry = ledger.store.entry(index)
        return Receipt(self.vkey, note, index, entry.leaf,
                       tuple(ledger.inclusion_proof(index, cp_size)))

    def receipt_json(self, index: int, size: int | None) -> dict[str, Any]:
        """Entry ``index``'s receipt against the checkpoint of ``size`` (None: the latest),
        with the cosignatures collected for it (on a worker thread)."""
        with self.reads.snapshot() as ledger:
            return self.receipt(ledger, index, size).to_json()

    def inclusion_json(self, index: int | None, event_id: str | None,
                       size: int | None) -> bytes:
        """The JSON body of ``GET /proof/inclusion`` (specs/node.md "Proofs"), against the
        latest checkpoint unless ``size`` is given. Runs on the event loop: one batched read
        of the nodes not in the node cache (~0.05 ms at 10^6 entries) on one warm connection
        costs less than a hop to a worker thread. No read transaction is needed: the size
        comes from the sequencer, which publishes it only once its block is committed, and a
        committed tree node never changes."""
        if (index is None) == (event_id is None):
            raise HttpError(400, "give exactly one of index and id")
        store = self.reads.store()
        if event_id is not None:
            ledger = Ledger(store, None, self.log_verifier)
            index = ledger.entry_by_id(ledger.resolve_event(event_id)).index
        assert index is not None
        latest = self.sequencer.checkpoint_size
        if (size is not None and size > latest) or (size is None and index >= latest):
            # A block may have committed a moment ago, before the sequencer published its
            # size: ask the database, which holds only committed checkpoints.
            latest = max(latest, store.latest_checkpoint_size() or 0)
        if size is None:
            size = latest
        if not 0 <= index < size <= latest:
            raise NotFoundError(f"no leaf {index} in a tree of size {size} (log size {latest})")
        proof, leaf_hash = inclusion_proof_with_leaf(store, index, size)
        # Formatted by hand (integers, hex and base64 need no JSON escaping): json.dumps,
        # let alone FastAPI's validation of a returned dict, costs more than the proof.
        hashes = ", ".join(f'"{b64encode(h)}"' for h in proof)
        return (f'{{"index": {index}, "size": {size}, "id": "{leaf_hash.hex()}", '
                f'"inclusion_proof": [{hashes}]}}').encode()
