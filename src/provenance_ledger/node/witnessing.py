"""Synchronous witnessing: the node asks its configured witnesses to cosign each new
checkpoint before it hands out receipts against it (specs/node.md section 9).

C2SP tlog-witness, from the log's side (as Sigsum logs and Tessera's appender gather
cosignatures before they publish): after the sequencer commits a block, a *round* sends the
latest checkpoint to every witness at once, ``POST <url>/add-checkpoint`` with ``old <size>``
(the size that witness last cosigned), the consistency proof from that size, an empty line and
the log-signed note. A 409 answer with a ``text/x.tlog.size`` body names the size the witness
holds; the request is sent again from that size. Every cosignature line returned is verified
with the witness's configured key before it is stored in ``witness.db`` (the table that
``GET /checkpoint`` and receipts read); one that does not verify is dropped and not counted.
The size each witness last cosigned is the largest own checkpoint its key cosigned, read back
from that table when the node starts.

Rounds coalesce: a round always carries the *latest* checkpoint, so many blocks committed
while a round runs cost one request per witness in the next round, never one per block. A
witness still answering an earlier round (a slow one) sits the next rounds out.

Freshness (specs/node.md section 9.2): with a ``freshness`` schedule (node/freshness.py), the
same loop also looks at the latest checkpoint's age, and when its quorum's cosignatures are
older than the interval it runs a round for that same checkpoint (``old`` its size, no
proof), which the witnesses answer with cosignatures of a newer time. Such a round waits for
every answer (or the timeout) unless a block is committed meanwhile: then it ends at once, and
the next round witnesses the new checkpoint as usual. Nothing is signed with the log key.

A submitter (``POST /events``) waits until a checkpoint that covers its entry carries the
quorum of valid cosignatures, or until every witness of the round has answered without
the quorum (some refused or could not be reached), or until the configured timeout passes;
then it gets its receipt against the best checkpoint known, with an :class:`Outcome` saying
which witnesses' cosignatures it lacks. A node with no witnesses configured makes none of this.

Frozen shards (specs/node.md section 9.3): a witness that was down when the node rotated
never cosigned the frozen log's final checkpoint. A task of its own asks each witness whose
cosignature of a frozen shard's final checkpoint is not kept (in the shard's
``cosignatures.db``, node/frozen_cosign.py), from the size of that log it last cosigned, with
the consistency proof from the frozen log, 409s handled as for the live log; a witness that
fails is asked again no sooner than a minute later, the wait doubling at each failure up
to an hour (node/frozen_cosign.py ``Backoff``); once every witness has cosigned every frozen final
checkpoint the task ends, so nobody is asked twice about one. Freshness does not apply to
frozen checkpoints.

While the node's own database cannot be reached (a PostgreSQL store: specs/node.md section
2, "Storage unavailable"), a round that cannot read the latest checkpoint or a consistency
proof logs ``witnessing: storage unavailable`` (a warning, naming no witness as at fault) and
is tried again every :data:`OUTAGE_RETRY_S` seconds until the database is back; the
witnesses are not asked meanwhile.

A witness answering that it holds a *larger* checkpoint of this log than the one it was sent
(a 409 naming a size above the checkpoint's) shows the log was restored from an older copy
(specs/node.md section 8): the node has signed, or is about to sign, a second history under
its key. That is no ordinary "did not cosign": witnessing *halts* (:attr:`Witnessing.halted`,
``on_halt``): every waiting and later submitter is refused with a 503 naming the witness and
both sizes, the witness is kept in the refusals file with the size it holds, and the node
signs no further checkpoint (node/node.py).

Not here: what a cosignature asserts (specs/node.md section 9), mirroring (node/mirror.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..core.note import MAX_NOTE_BYTES, Checkpoint, NoteSignature, SignedNote, Verifier
from ..core.witness import SIZE_CONTENT_TYPE, add_checkpoint_body
from ..errors import (
    LedgerError,
    MalformedError,
    PeerError,
    StorageUnavailableError,
    VerificationError,
    quoted,
)
from ..ledger import Ledger
from ..ledger.files import write_atomic
from .config import WitnessEntry
from .fetch import Answer, Fetcher, Timeouts
from .freshness import LOOK_S, Freshness, fresh_as_of
from .frozen_cosign import Backoff, FinalCheckpoint
from .http import HttpError
from .witness import Witness

log = logging.getLogger("provenance_ledger.node.witnessing")

MAX_SIZE_RETRIES = 3
"""Requests to one witness in one round after 409 answers naming its size."""
KEPT_ROUNDS = 256
"""Checkpoints whose cosignature tallies are kept in memory (the latest ones)."""
MAX_SIZE_DIGITS = 19  # a tree size is below 2^63
MAX_REFUSALS_BYTES = 1 << 20  # the most of the refusals file read
OUTAGE_RETRY_S = 1.0
"""Seconds until a round the node's own database failed is tried again (specs/node.md
section 9, "Storage unavailable"): the latest checkpoint, or a consistency proof, could not be
read while the database was away."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checkpoint of this node's log to have cosigned: the log-signed note as stored."""

    checkpoint: Checkpoint
    note: SignedNote

    @property
    def size(self) -> int:
        return self.checkpoint.size


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a receipt handed out carries: the witnesses (by their configured names) whose
    cosignatures its checkpoint carries, those whose it lacks, and the quorum."""

    cosigned: tuple[str, ...]
    pending: tuple[str, ...]
    quorum: int
    refusing: tuple[str, ...] = ()
    """Of ``pending``, those whose last answer refused this log's latest checkpoint it was
    asked to cosign (a 409 naming the size sent: it holds another checkpoint of that size, or
    holds the log as faulty): a fork or split view, which no later checkpoint mends."""

    @property
    def met(self) -> bool:
        return len(self.cosigned) >= self.quorum

    def headers(self) -> dict[str, str]:
        """The reply's headers (specs/node.md section 9)."""
        out = {"Provenance-Witness-Quorum": str(self.quorum),
               "Provenance-Cosigned": str(len(self.cosigned))}
        if self.pending:
            out["Provenance-Pending-Witnesses"] = " ".join(self.pending)
        if self.refusing:
            out["Provenance-Refusing-Witnesses"] = " ".join(self.refusing)
        return out


class Refused(PeerError):
    """A witness answered 409 naming the very size it was sent: it refuses the checkpoint
    (another root at that size, or it holds the log as faulty), not a size to resume from."""


class RolledBack(PeerError):
    """A witness holds a checkpoint of this log larger than the latest: the log was restored
    from an older copy (specs/node.md section 8). Witnessing halts and the node stops
    signing."""

    def __init__(self, peer: str, message: str, held: int) -> None:
        super().__init__(peer, message)
        self.held = held


def halted_line(error: str) -> str:
    """The error line of every write refused once witnessing halted (specs/node.md
    section 9)."""
    return (f"signing stopped: {error}; this node signs no further checkpoint: stop it and "
            "put the lost blocks back (a peer's mirror holds them)")


def read_refusals(path: Path) -> dict[str, tuple[int, int]]:
    """The witnesses that refuse this log's checkpoints, as ``node serve`` keeps them
    (specs/node.md section 1): name: (size refused, when); {} when none, or the file is not
    in its form (it is advice to the operator, never a decision)."""
    try:
        doc = json.loads(path.read_bytes()[:MAX_REFUSALS_BYTES])
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict):
        return {}
    return {name: (r["size"], r["at"]) for name, r in doc.items()
            if isinstance(r, dict) and type(r.get("size")) is int and type(r.get("at")) is int}


def parse_size(body: bytes) -> int:
    """The body of a 409 answer (``text/x.tlog.size``): one decimal size and a newline."""
    text = body.decode("ascii", "replace").rstrip("\n")
    if not text.isascii() or not text.isdigit() or len(text) > MAX_SIZE_DIGITS or (
            text != "0" and text.startswith("0")):
        raise MalformedError(f"the size {quoted(text, 42)} is not a decimal number")
    return int(text)


def cosignatures_by(verifier: Verifier, body: bytes, checkpoint_text: str) -> list[NoteSignature]:
    """The cosignature lines of an add-checkpoint answer that are by ``verifier`` and verify
    over the checkpoint; lines by other keys are passed over. Raises when none does."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedError("the answer is not UTF-8 text") from e
    valid = []
    for line in text.splitlines():
        if not line:
            continue
        sig = NoteSignature.from_line(line)
        if not verifier.matches(sig):
            continue
        verifier.verify(sig, checkpoint_text)  # raises VerificationError
        valid.append(sig)
    if not valid:
        raise VerificationError(f"no cosignature by {verifier.name} in the answer")
    return valid


class Witnessing:
    """Rounds of add-checkpoint requests to the configured witnesses, and the submitters
    waiting for their quorum. Lives on the node's event loop; the requests, proofs and
    database writes run on threads of its own (one per witness)."""

    def __init__(self, witnesses: Sequence[WitnessEntry], quorum: int, timeout_s: float,
                 witness: Witness, snapshot: Callable[[], AbstractContextManager[Ledger]],
                 clock: Callable[[], float], client: httpx.Client | None = None, *,
                 freshness: Freshness | None = None, look_s: float = LOOK_S,
                 refusals: Path | None = None,
                 on_halt: Callable[[str], None] | None = None) -> None:
        """``freshness``: have the latest checkpoint cosigned again on that schedule (None:
        only after blocks); ``look_s``: the longest wait between two looks at its age;
        ``refusals``: the file that keeps which witnesses refuse this log's checkpoints, for
        ``node status`` (:func:`read_refusals`); ``on_halt``: called on the loop, once, with
        the error line when a witness shows the log was rolled back (:attr:`halted`)."""
        if not witnesses:
            raise ValueError("witnessing needs at least one witness")
        if not 0 <= quorum <= len(witnesses):
            raise ValueError(f"quorum must be 0 to {len(witnesses)}")
        self._witnesses = tuple(witnesses)
        self._verifiers = {w.name: w.verifier for w in self._witnesses}
        self.quorum = quorum
        self.timeout_s = timeout_s
        self._witness = witness
        self._snapshot = snapshot
        self._clock = clock
        self._fetch = Fetcher(Timeouts(timeout_s, timeout_s, max(timeout_s, 30.0)), client)
        # One thread per witness, one for reading the log, one for the frozen shards' task.
        self._pool = ThreadPoolExecutor(len(self._witnesses) + 2,
                                        thread_name_prefix="witnessing")
        self._sizes: dict[str, int] = {}
        self._busy: set[str] = set()
        self._refusals = refusals
        self._refusing: dict[str, tuple[int, int]] = (  # witness name: (size refused, when)
            {} if refusals is None else {n: r for n, r in read_refusals(refusals).items()
                                         if n in self._verifiers})
        self._cosigned: dict[int, set[str]] = {}
        self._met_size = 0  # largest checkpoint size with the quorum (0: none yet)
        self._settled = 0  # size of the last round's checkpoint, once the round ended
        self._waiters: list[tuple[int, asyncio.Future[int | None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.frozen_task: asyncio.Task[None] | None = None
        """Asks the witnesses about the frozen shards' final checkpoints (section 9.3); done
        once every one of them is cosigned by every witness (None: no frozen shard)."""
        self._asks: set[asyncio.Task[bool]] = set()
        self._freshness = freshness
        self._look_s = look_s
        self._last_round = clock()  # when the last round began (clock seconds)
        self._outage = False  # a request of the round in progress failed on the own database
        self._holding: dict[str, int] = {}  # witness name: the larger size it holds
        self._on_halt = on_halt
        self.halted: str | None = None
        """The error line once a witness showed this log was rolled back (section 8): every
        submitter is refused with it (503), and the node signs nothing more."""

    # -- life ---------------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for w in self._witnesses:
            size = await loop.run_in_executor(
                self._pool, self._witness.own_cosigned_size, self._verifiers[w.name].name)
            self._sizes[w.name] = size or 0
        self._last_round = self._clock()  # a checkpoint never cosigned waits RETRY_S first
        self._task = loop.create_task(self._run(), name="witnessing")
        self._wake.set()  # the latest checkpoint, from before a restart included
        if self._witness.frozen is not None and self._witness.frozen.shards:
            self.frozen_task = loop.create_task(self._run_frozen(), name="frozen witnessing")

    async def stop(self) -> None:
        """Answer every waiter with what is known, stop the rounds and the requests."""
        for task in (self._task, self.frozen_task, *self._asks):
            if task is not None:
                task.cancel()
        for task in (self._task, self.frozen_task, *self._asks):
            if task is not None:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except Exception as e:  # noqa: BLE001 - a task that died must not stop the rest
                    log.error("witnessing task failed", extra={"fields": {
                        "error": f"{type(e).__name__}: {e}"}})
        self._settle_all()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._fetch.close()

    def notify(self, size: int) -> None:
        """A block was committed with a checkpoint of ``size``: witness it (on the loop)."""
        self._wake.set()

    # -- waiting ------------------------------------------------------------------------------
    async def wait(self, index: int) -> int | None:
        """The size of the checkpoint to issue entry ``index``'s receipt against (None: the
        latest): the first to meet the quorum, or the best known when the round ends without
        it or the timeout passes."""
        if self.halted is not None:
            raise HttpError(503, self.halted)
        if self.quorum == 0:
            return None
        if self._met_size > index:
            return self._met_size
        if self._settled > index:  # the round covering it already ended without the quorum
            return self._best(index)
        done: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._waiters.append((index, done))
        self._wake.set()
        try:
            return await asyncio.wait_for(asyncio.shield(done), self.timeout_s)
        except TimeoutError:
            return self._best(index)
        finally:
            self._waiters = [(i, f) for i, f in self._waiters if f is not done]

    def status(self, note: str) -> Outcome:
        """Which configured witnesses' cosignatures a checkpoint note handed out carries
        (every one stored was verified first)."""
        sigs = SignedNote.from_text(note).signatures
        names = [w.name for w in self._witnesses]
        got = {n for n in names if any(self._verifiers[n].matches(s) for s in sigs)}
        return Outcome(tuple(n for n in names if n in got),
                       tuple(n for n in names if n not in got), self.quorum,
                       tuple(n for n in names if n not in got and n in self._refusing))

    def _best(self, index: int) -> int | None:
        """The checkpoint covering ``index`` with the most cosignatures (the later of two
        with as many); the latest checkpoint when none has any."""
        sizes = [s for s, got in self._cosigned.items() if s > index and got]
        if not sizes:
            return None
        return max(sizes, key=lambda s: (len(self._cosigned[s]), s))

    def _resolve(self, size: int, outcome: Callable[[int], int | None]) -> None:
        """Answer the waiters whose entry a checkpoint of ``size`` covers."""
        for index, done in self._waiters:
            if index < size and not done.done():
                done.set_result(outcome(index))

    def _settle_all(self) -> None:
        for index, done in self._waiters:
            if not done.done():
                done.set_result(self._best(index))

    # -- rounds -------------------------------------------------------------------------------
    async def _run(self) -> None:
        """Rounds for new checkpoints, when woken; with a freshness schedule, also a look at
        the latest checkpoint's age at most every ``look_s`` seconds, and a round for it when
        it is due (specs/node.md section 9.2)."""
        loop = asyncio.get_running_loop()
        delay: float | None = None  # None: sleep until woken
        while True:
            if delay is None:
                await self._wake.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            delay = None if self._freshness is None else self._look_s
            try:
                target = await loop.run_in_executor(self._pool, self._latest)
                if target is None:
                    continue
                if target.size > self._settled:
                    settled = self._settled
                    self._outage = False
                    await self._round(target)
                    if self._outage:  # the own database failed it: the same round again
                        self._settled = settled
                        delay = min(delay or OUTAGE_RETRY_S, OUTAGE_RETRY_S)
                    continue
                if self._freshness is None:
                    continue
                fresh = await loop.run_in_executor(self._pool, self._fresh_as_of, target)
            except StorageUnavailableError as e:  # the own database is away: again soon
                log.warning("witnessing: storage unavailable", extra={"fields": {
                    "error": str(e)}})
                delay = min(delay or OUTAGE_RETRY_S, OUTAGE_RETRY_S)
                continue
            except LedgerError as e:  # pragma: no cover - the database is the node's own
                log.error("witnessing: cannot read the latest checkpoint",
                          extra={"fields": {"error": str(e)}})
                continue
            wait = self._freshness.due(fresh, self._last_round) - self._clock()
            if wait > 0:
                delay = min(wait, self._look_s)
            else:
                await self._round(target, refresh=True)

    def _fresh_as_of(self, target: Target) -> int | None:
        """The time as of which the quorum (at least one witness) vouches for ``target``
        (node/freshness.py)."""
        sigs = self._witness.cosignatures(target.size, target.checkpoint.root)
        return fresh_as_of(sigs, list(self._verifiers.values()), max(self.quorum, 1),
                           self._clock())

    def _latest(self) -> Target | None:
        with self._snapshot() as ledger:
            row = ledger.store.latest_checkpoint()
        if row is None:
            return None
        note = SignedNote.from_text(row.note)
        return Target(Checkpoint.from_text(note.text), note)

    async def _round(self, target: Target, refresh: bool = False) -> None:
        """Ask every witness not busy with an earlier round; end when the quorum is met, when
        every answer is in, or when the timeout passes (requests still running go on, and
        what they bring is stored and counted when it comes). A ``refresh`` round (the same
        checkpoint cosigned again, section 9.2) waits for every answer or the timeout."""
        loop = asyncio.get_running_loop()
        self._last_round = self._clock()
        got = self._cosigned.setdefault(target.size, set())
        while len(self._cosigned) > KEPT_ROUNDS:
            del self._cosigned[next(iter(self._cosigned))]
        running: set[asyncio.Task[bool]] = set()
        asked: dict[asyncio.Task[bool], str] = {}
        for w in self._witnesses:
            if w.name in self._busy:
                continue
            self._busy.add(w.name)
            task = loop.create_task(self._ask(w, target), name=f"witness {w.name}")
            self._asks.add(task)
            task.add_done_callback(self._asks.discard)
            running.add(task)
            asked[task] = w.name
        deadline = loop.time() + self.timeout_s
        # A refresh round gives way to a block committed meanwhile (or a submitter waiting):
        # it ends, its requests go on, and the next round witnesses the new checkpoint.
        woken = loop.create_task(self._woken()) if refresh else None
        try:
            while running and (refresh or len(got) < self.quorum):
                done, _ = await asyncio.wait(
                    running if woken is None else {*running, woken},
                    timeout=max(0.0, deadline - loop.time()),
                    return_when=asyncio.FIRST_COMPLETED)
                running -= done
                if not done or woken in done:
                    break
        finally:
            if woken is not None:
                woken.cancel()
        self._settled = target.size
        if refresh:
            again = sorted(name for task, name in asked.items()
                           if task.done() and not task.cancelled() and task.result())
            level = logging.INFO if len(again) >= max(self.quorum, 1) else logging.WARNING
            log.log(level, "checkpoint cosigned again", extra={"fields": {
                "size": target.size, "cosigned": again, "quorum": self.quorum}})
        if len(got) < self.quorum:
            log.warning("witness quorum not met", extra={"fields": {
                "size": target.size, "quorum": self.quorum, "cosigned": sorted(got)}})
            self._resolve(target.size, self._best)

    async def _woken(self) -> bool:
        await self._wake.wait()
        return True

    async def _ask(self, w: WitnessEntry, target: Target) -> bool:
        """Have ``w`` cosign ``target``; True when its cosignature is stored."""
        loop = asyncio.get_running_loop()
        try:
            size = await loop.run_in_executor(self._pool, self._cosign, w, target,
                                              self._sizes[w.name])
        except StorageUnavailableError as e:  # the own database, not the witness
            self._outage = True
            log.warning("witnessing: storage unavailable", extra={"fields": {
                "witness": w.name, "size": target.size, "error": str(e)}})
            return False
        except RolledBack as e:
            self._halt(w, target, e)
            return False
        except Refused as e:
            kept = self._refusing.get(w.name)
            if kept is None or kept[0] != target.size:
                self._refusing[w.name] = (target.size, int(self._clock()))
                self._save_refusals()
            log.error("witness did not cosign", extra={"fields": {  # level error: a fork
                "witness": w.name, "size": target.size, "error": str(e), "refused": True}})
            return False
        except (LedgerError, MalformedError) as e:
            log.warning("witness did not cosign", extra={"fields": {
                "witness": w.name, "size": target.size, "error": str(e)}})
            return False
        finally:
            self._busy.discard(w.name)
        self._holding.pop(w.name, None)
        if self._refusing.pop(w.name, None) is not None:
            self._save_refusals()
        self._sizes[w.name] = size
        got = self._cosigned.setdefault(target.size, set())
        got.add(w.name)
        if len(got) >= self.quorum and target.size > self._met_size:
            self._met_size = target.size
            self._resolve(target.size, lambda _: target.size)
        return True

    def _halt(self, w: WitnessEntry, target: Target, e: RolledBack) -> None:
        """``w`` holds a larger checkpoint of this log than ``target``: refuse every waiting
        submitter, keep the witness among the refusing ones (with the size it holds), and
        stop the node's signing (once)."""
        first = self.halted is None
        if first:
            self.halted = halted_line(str(e))
        self._refusing[w.name] = (target.size, int(self._clock()))
        self._holding[w.name] = e.held
        self._save_refusals()
        log.error("witness holds a larger checkpoint: signing stopped", extra={"fields": {
            "witness": w.name, "size": target.size, "held": e.held, "error": str(e)}})
        assert self.halted is not None  # noqa: S101 - set above
        for _, done in self._waiters:
            if not done.done():
                done.set_exception(HttpError(503, self.halted))
        if first and self._on_halt is not None:
            self._on_halt(self.halted)

    def _save_refusals(self) -> None:
        """Keep the refusing witnesses in the home for ``node status`` (specs/node.md section
        1): written whole, or removed when none refuses."""
        if self._refusals is None:
            return
        try:
            if self._refusing:
                doc: dict[str, dict[str, int]] = {
                    n: {"size": size, "at": at} for n, (size, at) in self._refusing.items()}
                for n, held in self._holding.items():
                    if n in doc:
                        doc[n]["held"] = held
                write_atomic(self._refusals, (json.dumps(doc, sort_keys=True) + "\n").encode())
            else:
                self._refusals.unlink(missing_ok=True)
        except (LedgerError, OSError) as e:  # status shows less; witnessing goes on
            log.warning("witnessing: refusals not kept", extra={"fields": {"error": str(e)}})

    # -- frozen shards (section 9.3) --------------------------------------------------------------
    async def _run_frozen(self) -> None:
        """Ask each witness lacking a frozen final checkpoint's cosignature, once at start,
        then each one that failed no sooner than its back-off later (node clock; a look at
        most every ``look_s`` seconds); end when none lacks one."""
        loop = asyncio.get_running_loop()
        backoff = Backoff()
        while True:
            try:
                lacking = await loop.run_in_executor(self._pool, self._frozen_lacking)
            except LedgerError as e:
                log.error("witnessing: cannot read the frozen shards",
                          extra={"fields": {"error": str(e)}})
                lacking = None
            if lacking == []:
                log.info("frozen checkpoints cosigned", extra={"fields": {
                    "witnesses": len(self._witnesses)}})
                return
            for final, w, old in lacking or ():
                key = (final.shard.origin, w.name)
                if not backoff.due(key, self._clock()):
                    continue
                backoff.asked(key, self._clock())  # whatever it brings: never sooner again
                try:
                    await loop.run_in_executor(self._pool, self._cosign, w, final, old)
                except (LedgerError, MalformedError) as e:
                    log.warning("witness did not cosign", extra={"fields": {
                        "witness": w.name, "origin": final.shard.origin,
                        "size": final.size, "error": str(e)}})
                    continue
                log.info("frozen checkpoint cosigned", extra={"fields": {
                    "witness": w.name, "origin": final.shard.origin, "size": final.size}})
            # Every witness asked is due again later: sleep until the first is, or a look.
            await asyncio.sleep(backoff.wait(self._clock(), self._look_s))

    def _frozen_lacking(self) -> list[tuple[FinalCheckpoint, WitnessEntry, int]]:
        """(final checkpoint, witness, size it last cosigned) for each witness whose
        cosignature of a frozen shard's final checkpoint is not kept."""
        frozen = self._witness.frozen
        assert frozen is not None
        by_key = {self._verifiers[w.name].name: w for w in self._witnesses}
        return [(final, by_key[name], old)
                for final, name, old in frozen.lacking(list(by_key))]

    # -- one witness (on a thread) ----------------------------------------------------------------
    def _cosign(self, w: WitnessEntry, target: Target | FinalCheckpoint, old: int) -> int:
        """Have ``w`` cosign ``target`` (the live log's, or a frozen shard's final checkpoint)
        from size ``old``, retrying from the size a 409 names; store its verified
        cosignatures. Returns the size it now holds."""
        who = f"witness {w.name} ({w.url})"
        for _ in range(MAX_SIZE_RETRIES):
            self._not_larger(who, target, old)
            answer = self._post(w, who, target, old)
            if answer.status == 409 and answer.media_type == SIZE_CONTENT_TYPE:
                try:
                    held = parse_size(answer.body)
                except MalformedError as e:
                    raise PeerError(who, f"{answer.where}: 409 answer: {e}") from e
                self._not_larger(who, target, held)
                if held == old:  # the size sent: not a size to resume from but a refusal
                    raise Refused(who, f"{answer.where} answered 409 naming the size sent "
                                    f"({old}): it refuses this checkpoint of size "
                                    f"{target.size} (another root at that size, or it holds "
                                    "the log as faulty)")
                old = held
                continue
            if answer.status != 200:
                raise PeerError(who, f"{answer.where} answered {answer.status}: "
                                f"{answer.excerpt()}")
            try:
                sigs = cosignatures_by(self._verifiers[w.name], answer.body,
                                       target.note.text)
            except (MalformedError, VerificationError) as e:
                raise PeerError(who, f"{answer.where}: {e}: not stored") from e
            note = target.note.with_signatures(sigs)
            now = int(self._clock())
            stored = (self._witness.keep_cosignatures(note, target.checkpoint, now)
                      if isinstance(target, Target) else
                      self._witness.keep_frozen_cosignatures(target.shard, note,
                                                             target.checkpoint, now))
            if self._verifiers[w.name].name not in stored:  # pragma: no cover - verified above
                raise PeerError(who, "its cosignature was not stored")
            return target.size
        raise PeerError(who, f"answered 409 {MAX_SIZE_RETRIES} times, each naming another size")

    @staticmethod
    def _not_larger(who: str, target: Target | FinalCheckpoint, held: int) -> None:
        """Raise when the witness holds more of this log than ``target``: for the live log a
        :class:`RolledBack` (the log was restored from an older copy, section 8)."""
        if held <= target.size:
            return
        if isinstance(target, Target):
            raise RolledBack(who, f"it holds a checkpoint of size {held} of this log, larger "
                             f"than the latest ({target.size}): the log was restored from an "
                             "older copy (specs/node.md section 8)", held)
        raise PeerError(who, f"it holds a checkpoint of size {held} of this log, larger than "
                        f"the final checkpoint of the frozen {target.shard.origin} "
                        f"({target.size}): was the log restored from an older copy? "
                        "(specs/node.md section 8)")

    def _post(self, w: WitnessEntry, who: str, target: Target | FinalCheckpoint,
              old: int) -> Answer:
        proof: Sequence[bytes] = []
        if 0 < old < target.size:
            if isinstance(target, Target):
                with self._snapshot() as ledger:
                    proof = ledger.consistency_proof(old, target.size)
            else:
                frozen = self._witness.frozen
                assert frozen is not None
                proof = frozen.log(target.shard).consistency(old, target.size)
        body = add_checkpoint_body(old, proof, target.note.to_text())
        return self._fetch.request("POST", who, f"{w.url}/add-checkpoint", MAX_NOTE_BYTES,
                                   content=body, headers={"content-type": "text/plain"})
