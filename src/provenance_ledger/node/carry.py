"""Carrying works forward from frozen shards into the current log (specs/node.md section
10.4).

A node that rotated appends to its current log only; its frozen shards never change. A work
registered in a frozen shard may still get events (a grant, a licence, a transfer), and the
rules must judge them on the work's whole history. So before an event touching such a work
is appended, the work's history is **carried**: its events, the very leaves the frozen shard
holds (the same signed bytes, so the same event ids), are appended to the current log in a
block of their own, in their original order, and the event is then appended after them as
in any log. Carried events pass the rules again (a carried history that the rules refuse is
a storage error: nothing of the submitter's block is appended) but not the admission window
(they were admitted when first logged).

What is carried, for each event of a block: the event's work, the key record of its actor,
and the key record of every key its body names, each when the current log lacks it and a
frozen shard holds it (the newest such shard holds its whole history: it was carried there
whole, or registered there); then the same for every event carried, until nothing more is
needed. So every log holds, for every work it holds, the work's whole history from its
registration: rules replay, the verifiable map, state receipts and mirrors need nothing
from another log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core.events import SignedEvent, parse_leaf, verify_signature
from ..core.identity import key_record_id
from ..core.note import NoteSigner
from ..errors import LedgerError, StorageError
from ..ledger import MAX_BLOCK_EVENTS, Appended, Ledger
from ..store import EntryRow, Store

log = logging.getLogger("provenance_ledger.node")

MAX_CARRIED_EVENTS = 100_000
"""Most events carried for one block (the writer holds them in memory at once)."""
_KEY = re.compile(r"ed25519:[0-9a-f]{64}")


def named_keys(body: Any) -> set[str]:
    """Every public key (``ed25519:<hex>``) a value names, at any depth."""
    found: set[str] = set()
    stack = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _KEY.fullmatch(value):
                found.add(value)
        elif isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return found


def needs(event: SignedEvent) -> set[str]:
    """The works whose state the rules may read for ``event``: its own, its actor's key
    record and the key records of the keys it names."""
    ev = event.event
    return {ev.work, key_record_id(ev.actor)} | {key_record_id(k) for k in named_keys(ev.body)}


class ShardedLedger(Ledger):
    """The current log of a node with frozen shards: appends carry the histories it lacks
    from them first. ``frozen``: the frozen shards' stores, oldest first."""

    def __init__(self, store: Store, signer: NoteSigner, frozen: Sequence[tuple[str, Store]]
                 ) -> None:
        super().__init__(store, signer)
        self._frozen = list(frozen)
        self._carrying: set[str] = set()

    def admit(self, event: SignedEvent, now: int) -> None:
        if event.id in self._carrying:
            return  # admitted when its frozen shard first logged it
        super().admit(event, now)

    def append_block(self, leaves: Sequence[bytes], now: int) -> list[Appended | LedgerError]:
        carried = self.histories(_parsed(leaves))
        for lo in range(0, len(carried), MAX_BLOCK_EVENTS):
            part = carried[lo:lo + MAX_BLOCK_EVENTS]
            self._carrying = {e.id for _, e in part}
            try:
                results = super().append_block([e.leaf for _, e in part], now)
            finally:
                self._carrying = set()
            for (origin, ev), r in zip(part, results, strict=True):
                if isinstance(r, LedgerError):
                    raise StorageError(f"cannot carry the history of {ev.event.work} from the "
                                       f"frozen shard {origin}: event {ev.id} is refused ({r})")
            log.info("carried from frozen shards", extra={"fields": {
                "events": len(part), "size": self.size}})
        return super().append_block(leaves, now)

    def histories(self, events: Iterable[SignedEvent]) -> list[tuple[str, SignedEvent]]:
        """The frozen events to carry before ``events``, each with its shard's origin, in
        the order they were first logged (the oldest shard holding an event, its index)."""
        if not self._frozen:
            return []
        asked = [(ev, needs(ev)) for ev in events]
        everything: set[str] = set().union(*(n for _, n in asked))
        lacking = everything - self.store.works_present(everything)
        if lacking:  # of those, the ones a frozen shard holds (most are simply new works)
            lacking = set().union(*(store.works_present(lacking) for _, store in self._frozen))
        wanted: set[str] = set()
        for ev, n in asked:
            # Only a signed event makes the log carry anything: a forged one naming old
            # works must not make it copy their histories.
            if n & lacking and _signed(ev):
                wanted |= n & lacking
        seen = set(wanted)
        picked: dict[str, tuple[str, SignedEvent]] = {}
        count = 0
        while wanted:
            work = wanted.pop()
            rows, origin = self._newest_history(work)
            count += len(rows)
            if count > MAX_CARRIED_EVENTS:
                raise StorageError(f"more than {MAX_CARRIED_EVENTS} events to carry from the "
                                   "frozen shards for one block")
            more: set[str] = set()
            for row in rows:
                ev = parse_leaf(row.leaf, verify=False)
                picked[ev.id] = (origin, ev)
                more |= needs(ev)
            more -= seen
            seen |= more
            wanted |= more - self.store.works_present(more)
        return sorted(picked.values(), key=lambda item: self._first_logged(item[1].id))

    def _newest_history(self, work: str) -> tuple[list[EntryRow], str]:
        for origin, store in reversed(self._frozen):
            rows = store.work_entries(work)
            if rows:
                return rows, origin
        return [], ""

    def _first_logged(self, event_id: str) -> tuple[int, int]:
        raw = bytes.fromhex(event_id)
        for rank, (_, store) in enumerate(self._frozen):
            row = store.entry_by_id(raw)
            if row is not None:
                return rank, row.index
        raise StorageError(f"event {event_id} vanished from the frozen shards")  # pragma: no cover

    def close(self) -> None:
        for _, store in self._frozen:
            store.close()
        self._frozen = []
        super().close()


def _signed(event: SignedEvent) -> bool:
    try:
        verify_signature(event)
    except LedgerError:
        return False
    return True


def _parsed(leaves: Sequence[bytes]) -> list[SignedEvent]:
    """The leaves that parse (the others are refused by the append itself)."""
    out = []
    for leaf in leaves:
        try:
            out.append(parse_leaf(leaf, verify=False))
        except LedgerError:
            continue
    return out
