"""The append path and queries of one log (specs/ledger.md).

Append: parse and verify each signed event, check it against the admission window and the
rules, integrate the accepted ones into the Merkle tree, sign a checkpoint, and commit the
whole block in one transaction. Queries: work state, receipts, inclusion and consistency
proofs from O(log n) stored hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from ..core import merkle, rules, vmap
from ..core.current import MAX_CURRENT_WORKS, StateReceiptV2, build_state_receipt_v2
from ..core.events import (
    SignedEvent,
    parse_leaf,
    signature_error,
    signature_parts,
    verify_signature,
)
from ..core.identity import KeyRecord, key_record_id
from ..core.note import BlockLine, Checkpoint, NoteSigner, SignedNote, Verifier, verify_note
from ..core.receipt import Receipt, StateReceipt
from ..core.royalties import admit_period
from ..core.timefmt import format_time
from ..errors import (
    LedgerError,
    MalformedError,
    MapRootError,
    NotFoundError,
    RuleError,
    StorageError,
    VerificationError,
    quoted,
)
from ..store import Block, CheckpointRow, EntryRow, Store
from . import verifier

MAX_BLOCK_EVENTS = 10_000
"""Most events integrated under one checkpoint."""
MAX_MIRROR_EVENTS = 100_000
"""Most of a peer's entries a mirror integrates in one step (its memory bound)."""
MAX_FUTURE_SKEW = 300  # seconds an event's time may be ahead of the ledger's clock
MAX_EVENT_AGE = 3600  # seconds an event's time may be behind the ledger's clock
STATE_CACHE_WORKS = 4096
VERIFY_THREADS = 2  # Ed25519 verification releases the GIL, so threads use both cores
PARALLEL_VERIFY_MIN = 64  # smaller blocks are verified inline
VERIFY_SHARES = 8  # a large block's signatures go to the verify threads in this many shares
APPEND_ATTEMPTS = 5  # tries of one block while other writers commit between validation and ours
MAP_UPPER_DEPTH = 16
"""Map levels a writer holds in memory across blocks (at 10^6 works: about 65,000 nodes)."""
TAIL_PROOFS_MIN = 16  # fewer receipts of a checkpoint's last leaves are planned one by one
MAP_UPPER_MIN_BLOCK = 64  # a smaller block reads its few paths whole: no upper levels loaded
MAP_BUILD_ENTRIES = 100_000
"""Entries read per step when the map of an existing log is built (its memory bound)."""

MapProgress = Callable[[str, int, int], None]
"""Told how far building the map has come: (stage, entries done, entries in all)."""


Checked = list[SignedEvent | LedgerError]
"""Leaves parsed and verified, in order: each the event, or why it was refused."""

@dataclass(frozen=True, slots=True)
class CurrentState:
    """What one signed checkpoint proves about some works (:meth:`Ledger.current`): the
    note as stored, its checkpoint, one map proof for all the works, and each work's events
    as (index, leaf, inclusion proof), empty for a work the map proves absent."""

    note: str
    checkpoint: Checkpoint
    map_proof: bytes
    works: dict[str, tuple[tuple[int, bytes, tuple[bytes, ...]], ...]]


@dataclass(frozen=True, slots=True)
class Appended:
    """An event that is now in the log, at ``index``, under checkpoint ``size``."""

    event: SignedEvent
    index: int


class Ledger:
    """One append-only log over a :class:`Store`, signed with the log key."""

    def __init__(self, store: Store, signer: NoteSigner | None,
                 verifier: Verifier | None = None) -> None:
        """A log we sign (``signer``), or a mirror of a peer's log, checked with the peer's
        ``verifier`` and holding the peer's own signed checkpoints."""
        if signer is not None and verifier is None:
            self.verifier = signer.verifier
        elif verifier is not None and signer is None:
            self.verifier = verifier
        else:
            raise ValueError("give a signer (own log) or a verifier (mirror), not both")
        self.store = store
        self.signer = signer
        self._states: dict[str, rules.WorkState] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._map_upper: vmap.UpperLevels | None = None
        self.holds_map_levels = False
        """Whether even a small block loads the map's upper levels and keeps them (specs/map.md
        section 10): a long-lived writer (a node) sets it, so that its blocks of a few events
        read and check only the nodes below those levels; a command that appends once does
        not pay for loading them."""
        self._note: tuple[str, Checkpoint] | None = None  # the last note whose signature held
        # Loaded on first use: a read-only Ledger (one per request on a node) never needs it.
        self._front: merkle.Frontier | None = None

    @property
    def _frontier(self) -> merkle.Frontier:
        if self._front is None:
            self._load_frontier()
        assert self._front is not None  # noqa: S101 - set by _load_frontier
        return self._front

    @_frontier.setter
    def _frontier(self, frontier: merkle.Frontier) -> None:
        self._front = frontier

    @property
    def origin(self) -> str:
        return self.verifier.name

    @property
    def vkey(self) -> str:
        return self.verifier.to_vkey()

    def _load_frontier(self) -> None:
        size = self.store.size()
        plan = merkle.root_plan(size)
        hashes = self.store.nodes(plan)
        self._front = merkle.Frontier(size, [hashes[n] for n in plan])
        self._states.clear()
        self._map_upper = None

    # -- state -------------------------------------------------------------------------------
    def state(self, work: str) -> rules.WorkState | None:
        """The work's state, replayed from its events (cached by work)."""
        cached = self._states.get(work)
        if cached is not None:
            return cached
        state: rules.WorkState | None = None
        for row in self.store.work_entries(work):
            state = rules.apply(state, stored_event(row), keys=self.key_record)
        if state is not None:
            self._remember(state)
        return state

    def key_record(self, key: str) -> KeyRecord | None:
        """The record of ``key`` (specs/rules.md section 9), None when the log holds none."""
        state = self.state(key_record_id(key))
        return None if state is None else state.identity

    def _remember(self, state: rules.WorkState) -> None:
        if len(self._states) >= STATE_CACHE_WORKS and state.work not in self._states:
            self._states.clear()  # a bounded cache; replay refills what is used again
        self._states[state.work] = state

    def proven_state(self, work: str) -> rules.WorkState | None:
        """The work's state as of the latest checkpoint, from events the signed map vouches
        for (specs/map.md section 10, reads): the map proof of the work is checked against
        the map root the log signed, and the stored events must end at the head, count and
        index it proves. A database altered under the ledger (an event deleted, hidden from
        the work's index, or a map value changed) raises StorageError, never answers from
        what is left. Before the log's first checkpoint with a map line, the plain replay."""
        proven = self.current([work])
        if proven is None:
            return self.state(work)
        state: rules.WorkState | None = None
        try:
            for _, leaf, _ in proven.works[work]:
                state = rules.apply(state, parse_leaf(leaf, verify=False),
                                    keys=self.key_record)
        except LedgerError as e:  # the events from the head back are chained by their ids
            raise StorageError(f"the stored events of work {work} do not chain up to the head "
                               f"the signed map proves ({e}): the database was altered (run "
                               "'provenance log audit')") from e
        return state

    def current(self, works: Sequence[str], proofs: bool = False) -> CurrentState | None:
        """What the latest checkpoint proves about ``works`` (specs/map.md section 10, reads),
        read in one snapshot of the database: the signed checkpoint, one map proof for all
        of them, and each work's events (with inclusion proofs when ``proofs``), checked
        against the map values the proof gives. None when the latest checkpoint carries no
        map line (a log not yet appended to since its map was built)."""
        keys = {vmap.map_key(w): w for w in works}
        with self.store.snapshot():
            row = self.store.latest_checkpoint()
            if row is None:
                return None
            cp = self._trusted(row.note)
            if cp.map_root is None:
                return None
            proof = vmap.prove(self.store, keys)
            rows = {w: [r for r in self.store.work_entries(w) if r.index < cp.size]
                    for w in works}
            paths = ({w: [merkle.inclusion_plan(r.index, cp.size) for r in rs]
                      for w, rs in rows.items()} if proofs else {})
            hashes = self.store.nodes(set().union(*(merkle.plan_nodes(p) for ps in
                                                    paths.values() for p in ps)))
        try:
            values = vmap.verify_map_proof(cp.map_root, keys, proof)
        except LedgerError as e:
            raise StorageError(f"the stored map does not prove its signed root: {e}; the "
                               "database was altered (run 'provenance log audit')") from e
        out: dict[str, tuple[tuple[int, bytes, tuple[bytes, ...]], ...]] = {}
        for key, w in keys.items():
            got, value = rows[w], values[key]
            if [stored_event(r).id for r in got[-1:]] != (
                    [value.head.hex()] if value is not None else []) or (
                    value is not None and (value.count, value.index) != (len(got),
                                                                         got[-1].index)):
                raise StorageError(
                    f"the stored events of work {w} are not the ones the signed map proves: "
                    "the database was altered (run 'provenance log audit')")
            plans = paths.get(w)
            out[w] = tuple((r.index, r.leaf, tuple(merkle.assemble(plans[n], hashes))
                            if plans is not None else ()) for n, r in enumerate(got))
        return CurrentState(row.note, cp, proof, out)

    def _signed_map_root(self) -> bytes | None:
        """The map root of the latest stored checkpoint (None without a map line): what the
        map must be before a block is built on it. Its note was signed by this log, or, on a
        mirror, by the peer and checked when stored; the map line in it is what counts."""
        row = self.store.latest_checkpoint()
        if row is None:
            return None
        if self._note is not None and self._note[0] == row.note:
            return self._note[1].map_root
        return Checkpoint.from_text(SignedNote.from_text(row.note).text).map_root

    def _trusted(self, note: str) -> Checkpoint:
        """The checkpoint of a stored note, its log signature checked (the last one kept)."""
        if self._note is not None and self._note[0] == note:
            return self._note[1]
        signed = SignedNote.from_text(note)
        verify_note(signed, [self.verifier])
        cp = Checkpoint.from_text(signed.text)
        self._note = (note, cp)
        return cp

    def history(self, work: str) -> list[tuple[int, SignedEvent]]:
        return [(r.index, stored_event(r)) for r in self.store.work_entries(work)]

    # -- append ----------------------------------------------------------------------------------
    def admit(self, event: SignedEvent, now: int) -> None:
        """Admission policy (not a replay rule): the event's time is close to the ledger's."""
        at = event.event.at
        if at > now + MAX_FUTURE_SKEW:
            raise RuleError(f"event time {format_time(at)} is ahead of the ledger clock "
                            f"({format_time(now)}) by more than {MAX_FUTURE_SKEW} s")
        if at < now - MAX_EVENT_AGE:
            raise RuleError(f"event time {format_time(at)} is more than {MAX_EVENT_AGE} s "
                            f"behind the ledger clock ({format_time(now)})")
        admit_period(event, now, MAX_FUTURE_SKEW)  # and its period has begun (rules.md 4)

    def append_block(
        self, leaves: Sequence[bytes], now: int
    ) -> list[Appended | LedgerError]:
        """Validate and integrate a batch; one result per leaf, in order. The accepted events
        and a checkpoint over them are committed together, or nothing is."""
        if self.signer is None:
            raise ValueError("a mirror ledger integrates only its peer's signed blocks")
        if len(leaves) > MAX_BLOCK_EVENTS:
            raise ValueError(f"a block holds at most {MAX_BLOCK_EVENTS} events")
        self.build_map()
        for attempt in range(1, APPEND_ATTEMPTS + 1):
            base = self._frontier.size
            try:
                return self._append_once(leaves, now)
            except StorageError:
                # Another process committed between our validation and our commit (the store
                # refused the block whole, nothing written): validate again on its entries.
                if attempt == APPEND_ATTEMPTS or self.store.size() == base:
                    raise  # not a race we lost: the store itself failed
        raise AssertionError("unreachable")  # pragma: no cover

    def _append_once(self, leaves: Sequence[bytes], now: int) -> list[Appended | LedgerError]:
        """One try of :meth:`append_block`.

        A large batch is parsed here while the verify threads check its signatures; the
        rules, tree and map are worked out, the checkpoint signed and the block written into
        an open transaction meanwhile, as if every signature verified. The transaction
        commits only once every signature has verified; if one does not, it is rolled back
        and the batch is worked out again with that event refused. So what is stored is
        always what checking each signature first would store (specs/ledger.md section 3)."""
        if self.store.size() != self._frontier.size:
            self._load_frontier()  # another writer appended since we last looked
        if len(leaves) < PARALLEL_VERIFY_MIN:
            outcome = self._integrate(leaves, now, _check_all(leaves))
            self._commit(outcome, now)
            return outcome.results
        parsed, pending = self._parse_while_verifying(leaves)
        verification = _Verification(pending)
        try:
            outcome = self._integrate(leaves, now, parsed)
            if outcome.block.entries and self._commit(outcome, now, verification.all_good):
                return outcome.results
        except BaseException:
            verification.cancel()
            raise
        if verification.failures:  # work it out again with the failed signatures refused
            outcome = self._integrate(
                leaves, now, [verification.failures.get(i, ev) for i, ev in enumerate(parsed)])
            self._commit(outcome, now)
        return outcome.results

    def _sign_checkpoint(self, size: int, root: bytes, prev: int | None,
                         now: int, map_root: bytes | None) -> CheckpointRow:
        """The log's checkpoint at ``size``, naming the checkpoint before it (``prev``) and
        the time (specs/checkpoints.md section 2.1) and the map root at ``size`` (specs/map.md
        section 8), signed and ready to store."""
        assert self.signer is not None  # noqa: S101 - callers check
        cp = Checkpoint(self.origin, size, root, BlockLine(prev, now), map_root)
        note = SignedNote(cp.to_text(), (self.signer.sign(cp.to_text()),))
        return CheckpointRow(cp.size, cp.root, note.to_text(), now)

    def checkpoint_empty_log(self, now: int) -> bool:
        """Sign and store the checkpoint of the empty tree (size 0, root SHA-256 of nothing:
        specs/checkpoints.md) if this log has no checkpoint yet, so that it can be fetched,
        mirrored and witnessed before its first event. True when one was made."""
        if self.signer is None:
            raise ValueError("only the log's own key signs its checkpoints")
        if self.store.latest_checkpoint_size() is not None or self.size != 0:
            return False
        self.store.commit_block(Block(
            checkpoint=self._sign_checkpoint(0, merkle.EMPTY_ROOT, None, now, vmap.EMPTY_HASH),
            map_size=0))
        return True

    def mirror_block(self, leaves: Sequence[bytes], checkpoint: Checkpoint, note: str,
                     now: int) -> None:
        """Integrate a peer's entries up to its checkpoint, re-verifying every signature and
        rule and recomputing the root; store the peer's own signed note. All or nothing: any
        refused event or a root that differs raises, and nothing is stored."""
        self.mirror_pages([leaves], checkpoint, note, now)

    def mirror_pages(self, pages: Iterable[Sequence[bytes]], checkpoint: Checkpoint,
                     note: str, now: int) -> None:
        """:meth:`mirror_block` over entries that arrive in pages (e.g. downloaded while
        this runs): each page's signatures are verified on the verify threads as soon as it
        arrives, while the next one is fetched; then the rules, tree and root as one block."""
        if checkpoint.origin != self.origin:
            raise ValueError(f"checkpoint of {checkpoint.origin} offered to mirror {self.origin}")
        self.build_map()
        leaves: list[bytes] = []
        pending: list[Future[Checked]] = []
        try:
            for page in pages:
                leaves.extend(page)
                if len(leaves) > MAX_MIRROR_EVENTS:
                    raise ValueError(f"a block holds at most {MAX_MIRROR_EVENTS} events")
                pending.extend(self._verify_soon(page))
            checked = [r for f in pending for r in f.result()]
        finally:
            for f in pending:
                f.cancel()  # after a failed download: drop the verifications not started
        if checkpoint.size != self.size + len(leaves):
            raise VerificationError(
                f"{len(leaves)} entries after size {self.size} do not reach checkpoint size "
                f"{checkpoint.size}")
        if self.store.size() != self._frontier.size:
            self._load_frontier()  # another writer appended since we last looked
        outcome = self._integrate(leaves, None, checked)
        for index, r in enumerate(outcome.results, self.size):
            if isinstance(r, LedgerError):
                raise VerificationError(f"{self.origin} entry {index}: {r}") from r
        if outcome.frontier.root() != checkpoint.root:
            raise VerificationError(
                f"{self.origin} served entries whose root at size {checkpoint.size} is not the "
                "root it signed")
        self._check_map_line(checkpoint, outcome.block.map_root)
        outcome.block.checkpoint = CheckpointRow(checkpoint.size, checkpoint.root, note, now)
        self._store(outcome)

    def _check_map_line(self, checkpoint: Checkpoint, computed: bytes | None) -> None:
        """A peer's checkpoint states the map root we computed from its entries, or, from a
        log that has never stated one, none (specs/map.md section 10, mirrors)."""
        if computed is None:
            computed = vmap.stored_hash(self.store.map_nodes([1]).get(1))
        if checkpoint.map_root is None:
            latest = self.store.latest_checkpoint()
            if latest is not None and Checkpoint.from_text(
                    SignedNote.from_text(latest.note).text).map_root is not None:
                raise VerificationError(
                    f"{self.origin} signed checkpoint {checkpoint.size} without the map line its "
                    "earlier checkpoints carry")
            return
        if checkpoint.map_root != computed:
            raise MapRootError(
                f"{self.origin} signed checkpoint {checkpoint.size} with map root "
                f"{checkpoint.map_root.hex()[:16]}..., but its entries give "
                f"{computed.hex()[:16]}...: the log lies about its map")

    def build_map(self, progress: MapProgress | None = None) -> bool:
        """Bring the verifiable map up to the log's size when it is behind (a home made before
        the map existed): the entries are read in index order, ``MAP_BUILD_ENTRIES`` at a
        time, each step applied as one batch and committed with how far it reached, so an
        interrupted build resumes (specs/map.md section 10, upgrade). True when it built."""
        done, size = self.store.map_size(), self.store.size()
        if done >= size:
            return False
        while done < size:
            end = min(size, done + MAP_BUILD_ENTRIES)
            heads: dict[bytes, tuple[bytes, int, int]] = {}  # key -> head, new events, index
            for row in self.store.entries(done, end):
                key = vmap.map_key(row.work)
                n = heads[key][1] + 1 if key in heads else 1
                heads[key] = (row.id, n, row.index)
            before = vmap.lookup(self.store, heads)
            changes = {}
            for key, (head, n, index) in heads.items():
                old = before.get(key)
                count = n + (vmap.MapValue.from_bytes(old).count if old is not None else 0)
                changes[key] = vmap.MapValue(head, count, index).to_bytes()
            self._map_upper = None
            update = vmap.MapUpdate(self.store, changes)
            try:
                self.store.commit_map(update.writes, done, end)
            except StorageError:
                if self.store.map_size() == done:
                    raise  # not another process building it at the same time
            done, size = self.store.map_size(), self.store.size()
            if progress is not None:
                progress("building the map", min(done, size), size)
        return True

    def _integrate(self, leaves: Sequence[bytes], now: int | None, checked: Checked
                   ) -> _Outcome:
        """Admit (when ``now`` is given), apply the rules and integrate parsed events (taken
        as verified: ``checked``) into a copy of the tree and the map."""
        results: list[Appended | LedgerError] = []
        overlay: dict[str, rules.WorkState] = {}
        last: dict[str, int] = {}  # work -> index of its last accepted event in this block
        block = Block()
        frontier = self._frontier.copy()  # the committed tree stays as is if the block fails
        # One query tells which works exist; new works need no replay.
        events = [ev for ev in checked if isinstance(ev, SignedEvent)]
        actors = {key_record_id(ev.event.actor) for ev in events}
        present = self.store.works_present({ev.event.work for ev in events} | actors)

        def keys(key: str) -> KeyRecord | None:  # as of this point of the block (R22)
            rid = key_record_id(key)
            if rid in overlay:
                st: rules.WorkState | None = overlay[rid]
            else:  # an actor's record is known present or not; another key's is looked up
                st = None if rid in actors and rid not in present else self.state(rid)
            return None if st is None else st.identity

        for leaf, ev in zip(leaves, checked, strict=True):
            try:
                if isinstance(ev, LedgerError):
                    raise ev
                if now is not None:
                    self.admit(ev, now)
                work = ev.event.work
                if work in overlay:
                    before: rules.WorkState | None = overlay[work]
                else:
                    before = self.state(work) if work in present else None
                overlay[work] = rules.apply(before, ev, keys=keys, strict=True)
            except LedgerError as e:
                results.append(e)
                continue
            index = frontier.size
            leaf_h = bytes.fromhex(ev.id)
            block.nodes.extend(frontier.append(leaf_h))
            block.entries.append(EntryRow(index, leaf_h, work, ev.event.type, leaf))
            results.append(Appended(ev, index))
            last[work] = index
        if block.entries:
            self._update_map(block, {w: (overlay[w], i) for w, i in last.items()},
                             frontier.size)
        return _Outcome(results, block, frontier, overlay)

    def _update_map(self, block: Block, heads: dict[str, tuple[rules.WorkState, int]],
                    size: int) -> None:
        """The block's changes to the verifiable map (specs/map.md section 7): each work with
        accepted events gets its new head, event count and last index. The nodes to write
        and the new root go on the block, committed with it."""
        changes = {vmap.map_key(w): vmap.MapValue(bytes.fromhex(st.head), st.events,
                                                  index).to_bytes()
                   for w, (st, index) in heads.items()}
        source: vmap.NodeSource = self.store
        with self.store.snapshot():  # the signed root and the nodes read agree
            signed = self._signed_map_root()
            if (len(changes) >= MAP_UPPER_MIN_BLOCK or self._map_upper is not None
                    or self.holds_map_levels):
                if self._map_upper is None:
                    self._map_upper = self._load_upper(signed)
                source = self._map_upper
            update = vmap.MapUpdate(source, changes, window=8 if source is not self.store else 24,
                                    check=signed is not None)
        if signed is not None and update.old_root != signed:
            self._map_upper = None
            if self.store.size() != self._frontier.size:
                raise StorageError("another writer appended to this ledger meanwhile")
            raise StorageError("the stored map is not the one the latest checkpoint signs: the "
                               "database was altered (run 'provenance log audit'); nothing "
                               "is appended on it")
        block.map_nodes = update.writes
        block.map_size = size
        block.map_root = update.root

    def _load_upper(self, signed: bytes | None) -> vmap.UpperLevels:
        """The map's upper levels, read once and kept in memory across blocks (specs/map.md
        section 10): checked against the signed root here, so that each block need check
        only the nodes it reads below them."""
        upper = vmap.UpperLevels(self.store, MAP_UPPER_DEPTH,
                                 self.store.map_nodes_above(MAP_UPPER_DEPTH))
        if signed is not None:  # the nodes at 15 are checked by each block that goes below
            upper.verify(None, signed)
        elif not upper.nodes:  # an empty map: every node will be one this writer made
            upper.verified = True
        return upper

    def _commit(self, outcome: _Outcome, now: int,
                ready: Callable[[], bool] | None = None) -> bool:
        """Sign the checkpoint over a worked-out block and store both. False, with nothing
        stored, when ``ready`` (asked with the block written but not committed) says no."""
        if not outcome.block.entries:
            return True
        prev = self.store.latest_checkpoint_size()
        if prev is not None and prev > self._frontier.size:
            raise StorageError("another writer appended to this ledger meanwhile")
        frontier, block = outcome.frontier, outcome.block
        block.checkpoint = self._sign_checkpoint(frontier.size, frontier.root(), prev, now,
                                                 block.map_root)
        return self._store(outcome, ready)

    def _store(self, outcome: _Outcome, ready: Callable[[], bool] | None = None) -> bool:
        if not self.store.commit_block(outcome.block, ready):
            return False
        self._frontier = outcome.frontier
        if self._map_upper is not None:
            self._map_upper.put(outcome.block.map_nodes)
        for st in outcome.overlay.values():
            self._remember(st)
        return True

    def _parse_while_verifying(
        self, leaves: Sequence[bytes]
    ) -> tuple[Checked, list[_Failures]]:
        """Parse every leaf here, a share at a time, handing each share's signatures to the
        verifier process (ledger/verifier.py; the verify threads where it cannot run) as soon
        as it is parsed. Returns the parsed events (or why a leaf does
        not parse) and the verifications under way: each gives the events whose signature
        does not verify, by position."""
        pool, checker = self._verify_pool(), verifier.checker()
        parsed: Checked = []
        pending: list[_Failures] = []
        step = max(PARALLEL_VERIFY_MIN // 2, -(-len(leaves) // VERIFY_SHARES))
        for lo in range(0, len(leaves), step):
            share = []
            for leaf in leaves[lo : lo + step]:
                try:
                    ev: SignedEvent | LedgerError = parse_leaf(leaf, verify=False)
                except LedgerError as e:
                    ev = e
                parsed.append(ev)
                share.append(ev)
            pending.append(_RemoteFailures(checker, lo, share) if checker is not None
                           else pool.submit(_signature_failures, lo, share))
        return parsed, pending

    def _verify_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="verify")
        return self._pool

    def _verify_soon(self, leaves: Sequence[bytes]) -> list[Future[Checked]]:
        """Start parsing and verifying ``leaves``: parsed on a verify thread while the
        verifier process (ledger/verifier.py) checks the signatures of the page before, or,
        where it cannot run, on the verify threads, one share each (one thread's parsing,
        which holds the GIL, overlaps the other's verification, which releases it)."""
        pool = self._verify_pool()
        checker = verifier.checker() if len(leaves) >= PARALLEL_VERIFY_MIN else None
        if checker is not None:
            return [pool.submit(_parse_and_check, leaves, checker)]
        step = max(1, -(-len(leaves) // VERIFY_THREADS))
        return [pool.submit(_check_all, leaves[i : i + step])
                for i in range(0, len(leaves), step)]

    def append(self, leaf: bytes, now: int) -> Appended:
        """Append one event in a block of its own; raise if it is refused."""
        (result,) = self.append_block([leaf], now)
        if isinstance(result, LedgerError):
            raise result
        return result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self.store.close()

    # -- reads -------------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._front.size if self._front is not None else self.store.size()

    def latest_checkpoint(self) -> tuple[Checkpoint, str]:
        row = self.store.latest_checkpoint()
        if row is None:
            raise NotFoundError("the log is empty: nothing has been anchored yet")
        return Checkpoint.from_text(SignedNote.from_text(row.note).text), row.note

    def root(self, size: int) -> bytes:
        if not 0 <= size <= self.size:
            raise NotFoundError(f"tree size {size} is beyond the log size {self.size}")
        plan = merkle.root_plan(size)
        if not plan:
            return merkle.EMPTY_ROOT
        hashes = self.store.nodes(plan)
        return merkle.fold([hashes[n] for n in plan])

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        if not 0 <= index < size <= self.size:
            raise NotFoundError(f"no leaf {index} in a tree of size {size} (log size {self.size})")
        plan = merkle.inclusion_plan(index, size)
        return merkle.assemble(plan, self.store.nodes(merkle.plan_nodes(plan)))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        if not 0 <= old <= new <= self.size:
            raise MalformedError(
                f"sizes must satisfy 0 <= old <= new <= {self.size}; got old {old}, new {new}")
        plan = merkle.consistency_plan(old, new)
        return merkle.assemble(plan, self.store.nodes(merkle.plan_nodes(plan)))

    def entry_by_id(self, event_id: str) -> EntryRow:
        try:
            raw = bytes.fromhex(event_id)
        except ValueError as e:
            raise MalformedError(f"event id {event_id[:80]!r} is not hex") from e
        row = self.store.entry_by_id(raw) if len(raw) == 32 else None
        if row is None:
            raise NotFoundError(f"no event {event_id} in this log")
        return row

    def resolve_event(self, text: str) -> str:
        """A full event id, or a unique hex prefix (at least 4 digits) of one."""
        p = text.lower()
        if len(p) < 4 or len(p) > 64 or any(c not in "0123456789abcdef" for c in p):
            raise MalformedError(f"event id {text[:80]!r} must be 4 to 64 hex digits")
        shift = 4 * (64 - len(p))
        lo = int(p, 16) << shift
        hi = (int(p, 16) + 1) << shift
        ids = self.store.ids_between(
            lo.to_bytes(32, "big"), hi.to_bytes(32, "big") if hi < 1 << 256 else None, 2)
        if not ids:
            raise NotFoundError(f"no event {quoted(text)} in this log")
        if len(ids) > 1:
            raise MalformedError(f"event id prefix {quoted(text)} is ambiguous: give more digits")
        return bytes(ids[0]).hex()

    def receipt(self, index: int) -> Receipt:
        """Receipt of the entry at ``index`` against the latest checkpoint."""
        return self.receipts([(index, self.store.entry(index).leaf)])[0]

    def receipts(self, entries: Sequence[tuple[int, bytes]]) -> list[Receipt]:
        """Receipts of ``(index, leaf)`` entries, all against the latest checkpoint."""
        cp, note = self.latest_checkpoint()
        for index, _ in entries:
            if not 0 <= index < cp.size:
                raise NotFoundError(f"entry {index} is not covered by the latest checkpoint")
        proofs = self._tail_proofs(entries, cp)
        # Proofs in one tree share most of their nodes: plan them all, fetch the union once.
        plans = {index: merkle.inclusion_plan(index, cp.size) for index, _ in entries
                 if index not in proofs}
        if plans:
            hashes = self.store.nodes(set().union(*map(merkle.plan_nodes, plans.values())))
            proofs.update((i, merkle.assemble(plan, hashes)) for i, plan in plans.items())
        return [Receipt(self.vkey, note, index, leaf, tuple(proofs[index]))
                for index, leaf in entries]

    def _tail_proofs(self, entries: Sequence[tuple[int, bytes]], cp: Checkpoint
                     ) -> dict[int, list[bytes]]:
        """The proofs of the entries that are the checkpoint's last leaves (a block just
        appended, as ``anchor DIR`` asks), from one walk of their leaf hashes
        (:func:`merkle.block_proofs`); none when there are few of them, or when the walk's
        root is not the signed one (the others are planned from the store)."""
        leaves = dict(entries)
        first = cp.size
        while first - 1 in leaves:
            first -= 1
        if cp.size - first < TAIL_PROOFS_MIN:
            return {}
        root, proofs = merkle.block_proofs(
            first, [merkle.leaf_hash(leaves[i]) for i in range(first, cp.size)],
            self.store.nodes)
        if root != cp.root:
            return {}
        return dict(zip(range(first, cp.size), proofs, strict=True))

    def state_receipt(self, work: str) -> StateReceipt:
        """Every event of ``work`` with its inclusion proof against the latest checkpoint."""
        cp, note = self.latest_checkpoint()
        rows = [r for r in self.store.work_entries(work) if r.index < cp.size]
        if not rows:
            raise NotFoundError(f"no work {work} on this ledger")
        return StateReceipt(self.vkey, note, work, tuple(
            (r.index, r.leaf, tuple(self.inclusion_proof(r.index, cp.size))) for r in rows))

    def complete_state_receipt(self, works: Sequence[str]) -> StateReceiptV2 | None:
        """A state receipt v2 (specs/receipts.md section 11) of ``works`` against the latest
        checkpoint: one map proof for all of them, each present work's every event with its
        inclusion proof, none for an absent one. None when the latest checkpoint carries no
        map line yet (a state receipt v1 is all the log can give until its next block)."""
        if not 1 <= len(works) <= MAX_CURRENT_WORKS:
            raise MalformedError(f"a state receipt lists 1 to {MAX_CURRENT_WORKS} works")
        unique = list(dict.fromkeys(works))
        current = self.current(unique, proofs=True)
        if current is None:
            return None
        return build_state_receipt_v2(self.vkey, current.note, current.map_proof,
                                      [(w, current.works[w]) for w in unique])

    def resolve_work(self, text: str) -> str:
        """A full work id, or a unique prefix of one (with or without ``sha256:``)."""
        prefix = text if text.startswith("sha256:") else "sha256:" + text
        if len(prefix) < len("sha256:") + 4:
            raise MalformedError(f"work prefix {quoted(text)} is too short (give at least 4 hex "
                                 "digits)")
        matches = self.store.works_with_prefix(prefix.lower(), 2)
        if not matches:
            raise NotFoundError(f"no work {quoted(text)} on this ledger")
        if len(matches) > 1:
            raise MalformedError(f"work prefix {quoted(text)} is ambiguous: give more digits")
        return matches[0]


def inclusion_proof_with_leaf(store: Store, index: int, size: int) -> tuple[list[bytes], bytes]:
    """The inclusion proof of leaf ``index`` in the tree of ``size`` (specs/merkle.md), and
    the leaf's hash, in one batched read of ``store``. The caller has checked that
    ``index < size`` and that the store holds the tree of ``size``: since stored hashes never
    change, no read transaction is needed."""
    plan = merkle.inclusion_plan(index, size)
    leaf = (0, index)
    hashes = store.nodes(merkle.plan_nodes(plan) | {leaf})
    return merkle.assemble(plan, hashes), hashes[leaf]


def stored_event(row: EntryRow) -> SignedEvent:
    """A stored entry's event, read without re-verifying its signature (the audit does) but
    never trusting a stored column: the leaf must hash to the stored id, and the work the
    query matched must be the leaf's (specs/ledger.md section 4)."""
    ev = parse_leaf(row.leaf, verify=False)
    if ev.id != row.id.hex() or ev.event.work != row.work:
        raise StorageError(f"entry {row.index} does not match its stored id or work: the "
                           "database was altered (run 'provenance log audit')")
    return ev


@dataclass(slots=True)
class _Outcome:
    """A batch worked out (:meth:`Ledger._integrate`): one result per leaf, the block to
    commit, and the tree and the works' states once it is committed."""

    results: list[Appended | LedgerError]
    block: Block
    frontier: merkle.Frontier
    overlay: dict[str, rules.WorkState]


class _Failures(Protocol):
    """A share's signature checks under way: the events whose signature does not verify."""

    def result(self) -> list[tuple[int, LedgerError]]: ...

    def cancel(self) -> bool: ...


class _RemoteFailures:
    """A share's signatures checked by the verifier process."""

    __slots__ = ("_events", "_verdicts")

    def __init__(self, checker: verifier.Checker, start: int,
                 events: Sequence[SignedEvent | LedgerError]) -> None:
        self._events = [(i, ev) for i, ev in enumerate(events, start)
                        if isinstance(ev, SignedEvent)]
        self._verdicts = checker.check([signature_parts(ev) for _, ev in self._events])

    def result(self) -> list[tuple[int, LedgerError]]:
        verdicts = self._verdicts.result()
        return [(i, signature_error(ev)) for (i, ev), ok in zip(self._events, verdicts,
                                                                 strict=True) if not ok]

    def cancel(self) -> bool:
        return False  # sent already: its answer is read and dropped


class _Verification:
    """A batch's signature checks under way."""

    __slots__ = ("_failures", "_pending")

    def __init__(self, pending: Sequence[_Failures]) -> None:
        self._pending = pending
        self._failures: dict[int, LedgerError] | None = None

    @property
    def failures(self) -> dict[int, LedgerError]:
        """Why each event whose signature does not verify fails, by position (waits)."""
        if self._failures is None:
            self._failures = {i: e for f in self._pending for i, e in f.result()}
        return self._failures

    def all_good(self) -> bool:
        return not self.failures

    def cancel(self) -> None:
        for f in self._pending:
            f.cancel()


def _signature_failures(start: int, events: Sequence[SignedEvent | LedgerError]
                        ) -> list[tuple[int, LedgerError]]:
    """The events (by position, from ``start``) whose actor's signature does not verify."""
    failed: list[tuple[int, LedgerError]] = []
    for i, ev in enumerate(events, start):
        if isinstance(ev, SignedEvent):
            try:
                verify_signature(ev)
            except LedgerError as e:
                failed.append((i, e))
    return failed


def _parse_and_check(leaves: Sequence[bytes], checker: verifier.Checker) -> Checked:
    """:func:`_check_all`, with the signatures checked by the verifier process."""
    parsed: Checked = []
    for leaf in leaves:
        try:
            parsed.append(parse_leaf(leaf, verify=False))
        except LedgerError as e:
            parsed.append(e)
    for i, error in _RemoteFailures(checker, 0, parsed).result():
        parsed[i] = error
    return parsed


def _check_all(part: Sequence[bytes]) -> Checked:
    """Each leaf parsed strictly with its signature verified, or the reason it is not."""
    out: list[SignedEvent | LedgerError] = []
    for leaf in part:
        try:
            out.append(parse_leaf(leaf))
        except LedgerError as e:
            out.append(e)
    return out
