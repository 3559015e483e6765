"""The node's sequencer: submissions wait in a bounded asyncio queue; one task takes up to
``batch_max`` of them (lingering ``BATCH_LINGER_S`` for more) and integrates them as one block
with ``Ledger.append_block`` on a single writer thread, so the event loop stays free and one
SQLite connection does every write. An event is acknowledged only after its block is
committed (``synchronous=FULL``), so an acknowledged event survives even SIGKILL
(specs/node.md section 2)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.merkle import leaf_hash
from ..errors import LedgerError, StorageError, StorageUnavailableError
from ..ledger import MAX_BLOCK_EVENTS, Appended, Ledger
from .block_receipts import ReceiptReply, block_receipts
from .http import HttpError

if TYPE_CHECKING:
    from .tiles import TilesWriter

log = logging.getLogger("provenance_ledger.node")

QUEUE_LIMIT = 4096
"""Most submitted events waiting for the sequencer; beyond it, 503 with Retry-After."""
BATCH_MAX = 1024
"""Most events integrated as one block (at most ledger.MAX_BLOCK_EVENTS)."""
BATCH_LINGER_S = 0.002  # seconds the sequencer waits for more events to fill a block
RETRY_AFTER_S = 1  # seconds a client is asked to wait after a 503


@dataclass(slots=True)
class _Pending:
    leaf: bytes
    done: asyncio.Future[ReceiptReply]


class Sequencer:
    """Integrates queued submissions in blocks, one block at a time, on one writer thread."""

    def __init__(self, ledger: Ledger, clock: Callable[[], float], queue_limit: int,
                 batch_max: int, linger_s: float,
                 on_block: Callable[[int], None] | None = None, *,
                 tiles: TilesWriter | None = None) -> None:
        if not 1 <= batch_max <= MAX_BLOCK_EVENTS:
            raise ValueError(f"batch_max must be 1 to {MAX_BLOCK_EVENTS}")
        if queue_limit < 1:
            raise ValueError("queue_limit must be at least 1")
        self._ledger = ledger
        self._clock = clock
        self._batch_max = batch_max
        self._linger = linger_s
        self._on_block = on_block
        """Called on the event loop with the checkpoint size after each committed block
        (synchronous witnessing, node/witnessing.py)."""
        self._tiles = tiles
        """Writes each committed block's tiles and checkpoint (specs/tiles.md section 4)."""
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue(queue_limit)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sequencer")
        self._task: asyncio.Task[None] | None = None
        self.accepting = False
        self.checkpoint_size = ledger.store.latest_checkpoint_size() or 0
        """Size of the latest checkpoint, set once its block is committed (0: none yet)."""

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sequencer")
        self.accepting = True

    async def stop(self) -> None:
        """Refuse new submissions, integrate everything queued, stop the writer thread."""
        self.accepting = False
        if self._task is not None and not self._task.done():
            await self._queue.put(None)
            await self._task
        self._writer.shutdown(wait=True)

    async def submit(self, leaf: bytes) -> dict[str, Any]:
        """Queue ``leaf``; return its receipt JSON once integrated, or raise its refusal."""
        return (await self.submit_reply(leaf)).to_json()

    async def submit_reply(self, leaf: bytes) -> ReceiptReply:
        """Queue ``leaf``; return its receipt, encoded, once integrated, or raise its
        refusal."""
        if not self.accepting:
            raise HttpError(503, "the node is shutting down", {"Retry-After": str(RETRY_AFTER_S)})
        done: asyncio.Future[ReceiptReply] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Pending(leaf, done))
        except asyncio.QueueFull:
            raise HttpError(503, f"the submission queue is full ({self._queue.maxsize} events); "
                            "retry later", {"Retry-After": str(RETRY_AFTER_S)}) from None
        return await done

    def submit_many(self, leaves: Sequence[bytes]) -> list[asyncio.Future[ReceiptReply]]:
        """Queue every leaf of a batch (node/batch.py) or none: 503 when the queue lacks room
        for all. Each future gives the leaf's encoded receipt or raises its refusal."""
        if not self.accepting:
            raise HttpError(503, "the node is shutting down", {"Retry-After": str(RETRY_AFTER_S)})
        if self._queue.maxsize - self._queue.qsize() < len(leaves):
            raise HttpError(503, f"the submission queue cannot take {len(leaves)} more events "
                            f"({self._queue.maxsize} at most); retry later",
                            {"Retry-After": str(RETRY_AFTER_S)})
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[ReceiptReply]] = []
        for leaf in leaves:
            futures.append(loop.create_future())
            self._queue.put_nowait(_Pending(leaf, futures[-1]))
        return futures

    def _drain(self, batch: list[_Pending]) -> bool:
        """Move queued submissions into ``batch`` (up to the block size); True at the stop
        marker."""
        while len(batch) < self._batch_max:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return False
            if item is None:
                return True
            batch.append(item)
        return False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            stopping = self._drain(batch)
            if not stopping and len(batch) < self._batch_max and self._linger > 0:
                await asyncio.sleep(self._linger)
                stopping = self._drain(batch)
            leaves = [p.leaf for p in batch]
            try:
                results = await loop.run_in_executor(self._writer, self._integrate, leaves)
            except StorageUnavailableError as e:  # no traceback: nothing of the node failed
                log.warning("block failed: storage unavailable", extra={"fields": {
                    "events": len(batch), "error": str(e)}})
                results = [e] * len(batch)
            except Exception as e:  # noqa: BLE001 - every submitter must get an answer
                log.exception("block failed", extra={"fields": {"events": len(batch)}})
                failure = e if isinstance(e, LedgerError) else StorageError(
                    "the block could not be integrated")
                results = [failure] * len(batch)
            if self._on_block is not None:
                self._on_block(self.checkpoint_size)
            for pending, result in zip(batch, results, strict=True):
                if pending.done.done():
                    continue  # the client went away; the event is integrated all the same
                if isinstance(result, LedgerError):
                    pending.done.set_exception(result)
                else:
                    pending.done.set_result(result)

    def _publish_tiles(self) -> None:
        """The block's tiles, then its checkpoint. The block is committed whatever happens
        here: a failure is logged, and the next block (or the next start) writes what is
        missing (specs/tiles.md section 4)."""
        if self._tiles is None:
            return
        try:
            self._tiles.publish()
        except (OSError, LedgerError) as e:
            log.error("tiles not written", extra={"fields": {
                "size": self.checkpoint_size, "error": str(e)}})

    def _integrate(self, leaves: list[bytes]) -> list[ReceiptReply | LedgerError]:
        """On the writer thread: one block, then each accepted event's receipt against the
        checkpoint the block signed, as the JSON the reply carries (node/block_receipts.py).
        A refused leaf that the log already holds (the same bytes, so the same event id: a
        client retrying after a lost reply) is answered with its receipt against the latest
        checkpoint instead (specs/node.md section 2)."""
        t0 = time.perf_counter()
        results = self._ledger.append_block(leaves, int(self._clock()))
        appended = [r for r in results if isinstance(r, Appended)]
        if appended:
            self.checkpoint_size = self._ledger.size  # committed, with its checkpoint
            self._publish_tiles()
        held: dict[int, tuple[int, bytes]] = {}  # position in the block -> (index, leaf)
        for n, (leaf, r) in enumerate(zip(leaves, results, strict=True)):
            if isinstance(r, LedgerError):
                row = self._ledger.store.entry_by_id(leaf_hash(leaf))
                if row is not None and row.leaf == leaf:
                    held[n] = (row.index, leaf)
        new, old = (block_receipts(self._ledger, appended, list(held.values()))
                    if appended or held else ([], []))
        fresh, again = iter(new), dict(zip(held, old, strict=True))
        out: list[ReceiptReply | LedgerError] = []
        for n, r in enumerate(results):
            if isinstance(r, Appended):
                out.append(next(fresh))
            else:
                out.append(again.get(n, r))
        log.info("block", extra={"fields": {
            "events": len(leaves), "accepted": len(appended), "resubmitted": len(held),
            "size": self._ledger.size, "ms": round(1000 * (time.perf_counter() - t0), 2)}})
        return out
