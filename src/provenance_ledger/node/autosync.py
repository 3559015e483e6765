"""Mirroring inside ``node serve``: a round every ``mirror_interval`` seconds (specs/node.md
section 4.1).

A round is exactly what ``node sync`` does (node/mirror.py, specs/node.md section 4): for each
peer, fetch and verify its checkpoint, download and re-verify the new entries, store them,
cosign with this node's witness and deliver the cosignature; evidence is recorded as it is
found. It runs on a thread of its own, so the event loop keeps answering requests while a
round downloads and verifies, and rounds never overlap: in the process there is one round
thread at a time, and across processes (a ``node sync`` run by hand on the same home) the
round holds ``mirrors/.round.lock`` (:func:`round_lock`).

Each peer's outcome is one log line, ``mirror round`` with the origin, the status and sizes
(``warning`` for ``error`` and ``faulty``). A peer that is down, silent or hostile is that
peer's ``error``; anything else a round raises is logged as ``mirror round failed``; the loop
goes on either way. On shutdown the loop stops waiting, the round in progress is asked to
stop after its current peer, and the node waits for it at most ``STOP_WAIT_S`` seconds: a
step is stored in one transaction, so a round abandoned half-way leaves nothing partial.

Not here: the rollback check of ``node sync``, which ``node serve`` makes once before it
listens (specs/node.md section 8); mirroring itself (node/mirror.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from ..errors import StorageError
from .config import NodeConfig
from .fetch import Timeouts
from .mirror import SyncResult, frozen_or, sync_peer
from .witness import Witness

log = logging.getLogger("provenance_ledger.node.autosync")

ROUND_LOCK = ".round.lock"
"""Lock file of mirroring rounds, in the home's ``mirrors/`` folder."""
STOP_WAIT_S = 10.0
"""Seconds shutdown waits for a round in progress before it leaves it to the process's end."""
FAILED = frozenset({"error", "faulty"})


class RoundBusy(StorageError):
    """Another process is running a mirroring round on this home."""


@contextlib.contextmanager
def round_lock(home: Path, wait: bool,
               on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the home's mirroring-round lock (an advisory ``flock``, released when the process
    ends however it ends). ``wait``: block until it is free, calling ``on_wait`` first when
    it is not; else raise :class:`RoundBusy`."""
    folder = home / "mirrors"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(folder / ROUND_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            if not wait:
                raise RoundBusy(f"another mirroring round is running on {home}") from e
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def log_result(r: SyncResult) -> None:
    """One line for one peer's outcome of a round."""
    level = logging.WARNING if r.status in FAILED else logging.INFO
    log.log(level, "mirror round", extra={"fields": r.to_json()})


class AutoSync:
    """Mirroring rounds on an interval, on a thread, until :meth:`stop`.

    ``witness`` is the running node's witness; ``clock`` the node's clock (the cosignatures'
    time); ``interval_s`` the seconds between the end of one round and the start of the next
    (the first starts one interval after :meth:`start`)."""

    def __init__(self, home: Path, config: NodeConfig, witness: Callable[[], Witness],
                 clock: Callable[[], int], interval_s: float,
                 timeouts: Timeouts | None = None) -> None:
        if interval_s <= 0:
            raise ValueError("a mirroring interval is a positive number of seconds")
        self._home = home
        self._config = config
        self._witness = witness
        self._clock = clock
        self._interval = interval_s
        self._timeouts = timeouts
        self._stopping = threading.Event()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._round: threading.Thread | None = None
        self.rounds = 0  # rounds completed (for the node's own use and its tests)

    def start(self) -> None:
        """Start the loop on the running event loop."""
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="mirroring")
        log.info("mirroring every interval", extra={"fields": {
            "interval_s": self._interval, "peers": len(self._config.peers)}})

    async def stop(self) -> None:
        """Stop waiting; ask a round in progress to stop after its current peer and wait for
        it at most ``STOP_WAIT_S`` seconds."""
        self._stopping.set()
        if self._wake is not None:
            self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_WAIT_S)
        except TimeoutError:
            log.warning("mirror round still running at shutdown: left to end with the process",
                        extra={"fields": {"waited_s": STOP_WAIT_S}})
            self._task.cancel()

    async def _loop(self) -> None:
        assert self._wake is not None
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            if self._stopping.is_set():
                return
            await self._run_on_thread()

    async def _run_on_thread(self) -> None:
        """One round on a daemon thread (a round stuck on a peer never holds the process
        up at exit); the loop waits for it without blocking."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def finished() -> None:
            if not done.done():
                done.set_result(None)

        def run() -> None:
            try:
                self.round()
            finally:
                loop.call_soon_threadsafe(finished)

        self._round = threading.Thread(target=run, name="mirror-round", daemon=True)
        self._round.start()
        await done

    def round(self) -> list[SyncResult]:
        """One round against every peer, as ``node sync`` does; logs each peer's outcome.
        Never raises: a failure is logged and the next round will try again."""
        results: list[SyncResult] = []
        try:
            with round_lock(self._home, wait=False), httpx.Client(
                    follow_redirects=False) as client:
                witness = self._witness()
                for peer in self._config.peers:
                    if self._stopping.is_set():
                        break
                    r = sync_peer(self._home, peer, witness, client, self._clock(),
                                  timeouts=self._timeouts)
                    # a peer that rotated: its frozen shard (specs/node.md section 10.5)
                    r = frozen_or(r, self._home, peer, witness, client, self._clock(),
                                  self._timeouts, frozenset(p.origin for p in self._config.peers))
                    log_result(r)
                    results.append(r)
        except RoundBusy as e:
            log.info("mirror round skipped", extra={"fields": {"reason": str(e)}})
        except Exception as e:  # noqa: BLE001 - the loop must outlive any one round
            log.error("mirror round failed", extra={"fields": {"error": str(e)[:300]}})
        else:
            self.rounds += 1
        return results
