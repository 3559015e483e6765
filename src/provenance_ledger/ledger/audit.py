"""Re-verify a stored log from scratch (specs/ledger.md section 5).

Reads every entry in order and checks, without trusting anything derived: (1) indexes are
contiguous; (2) each leaf parses strictly and its signature verifies; (3) the stored event id
is the leaf hash and the work and type columns match the leaf; (4) the rules accept it on a
replay from the empty state; (5) every stored subtree hash equals the recomputed one; (6) each
checkpoint's root equals the recomputed root at its size (the empty tree's at size 0) and
its note verifies with the log key, and checkpoint times never go backwards; (7) every entry
is covered by a checkpoint (a block and its checkpoint commit together) and the store holds
no tree hash beyond the ones recomputed. The first failure names its index.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import merkle, rules
from ..core.events import parse_leaf
from ..core.note import Checkpoint, SignedNote, verify_note
from ..errors import LedgerError, VerificationError
from .ledger import Ledger

AUDIT_CHUNK = 2048  # entries read per query


@dataclass(frozen=True, slots=True)
class AuditReport:
    entries: int
    checkpoints: int
    works: int
    root: bytes


def audit(ledger: Ledger) -> AuditReport:
    """Raise :class:`VerificationError` naming the first bad index; else report what held."""
    store = ledger.store
    checkpoints = {cp[0]: cp for cp in store.checkpoints()}
    states: dict[str, rules.WorkState] = {}
    frontier = merkle.Frontier()
    size = store.size()
    seen_cps = 0
    last_cp_time = -1
    empty = checkpoints.get(0)  # (6) the empty tree's checkpoint, if the log signed one
    if empty is not None:
        seen_cps += 1
        problem = _checkpoint_problem(ledger, empty, merkle.EMPTY_ROOT, last_cp_time)
        if problem:
            raise VerificationError(f"audit failed at index 0: {problem}")
        last_cp_time = empty[3]
    for start in range(0, size, AUDIT_CHUNK):
        end = min(start + AUDIT_CHUNK, size)
        made: list[tuple[merkle.NodeId, bytes]] = []
        rows = list(store.entries(start, end))
        for expect, row in enumerate(rows, start):
            def bad(what: str, index: int = expect) -> VerificationError:
                return VerificationError(f"audit failed at index {index}: {what}")

            if row.index != expect:  # (1)
                raise bad(f"entry {expect} is missing")
            try:
                ev = parse_leaf(row.leaf)  # (2)
            except LedgerError as e:
                raise bad(str(e)) from e
            if row.id.hex() != ev.id or row.work != ev.event.work or row.type != ev.event.type:
                raise bad("stored id, work or type does not match the leaf")  # (3)
            try:
                states[ev.event.work] = rules.apply(states.get(ev.event.work), ev)  # (4)
            except LedgerError as e:
                raise bad(f"rules refuse the event: {e}") from e
            made.extend(frontier.append(row.id))
            cp = checkpoints.get(frontier.size)
            if cp is not None:  # (6)
                seen_cps += 1
                problem = _checkpoint_problem(ledger, cp, frontier.root(), last_cp_time)
                if problem:
                    raise bad(problem)
                last_cp_time = cp[3]
        if len(rows) != end - start:
            raise VerificationError(f"audit failed at index {start + len(rows)}: entry missing")
        stored = store.nodes(n for n, _ in made)  # (5)
        for node, h in made:
            if stored[node] != h:
                level, idx = node
                raise VerificationError(
                    f"audit failed at index {idx << level}: stored tree hash at level {level} "
                    "is not the recomputed one")
    if len(checkpoints) != seen_cps:
        raise VerificationError("audit failed: a checkpoint names a size the log never had")
    covered = max(checkpoints, default=0)
    if covered != size:  # (7)
        raise VerificationError(
            f"audit failed at index {covered}: entries {covered}..{size - 1} are not covered "
            "by any checkpoint")
    if store.node_count() != size - size.bit_count():
        raise VerificationError("audit failed: the database holds tree hashes the log never made")
    return AuditReport(size, seen_cps, len(states), frontier.root())


def _checkpoint_problem(ledger: Ledger, cp: tuple[int, bytes, str, int], root: bytes,
                        last_time: int) -> str | None:
    """What is wrong with stored checkpoint ``cp`` (size, root, note, time), given the
    recomputed ``root`` at its size and the time of the checkpoint before it; None if
    nothing."""
    size, stored_root, text, at = cp
    if at < last_time:
        return f"checkpoint at size {size} is older than the one before"
    if stored_root != root:
        return f"checkpoint at size {size} has a root that is not the log's"
    try:
        note = SignedNote.from_text(text)
        verify_note(note, [ledger.verifier])
        if note.text != Checkpoint(ledger.origin, size, stored_root).to_text():
            raise VerificationError("note text does not match the stored root")
    except LedgerError as e:
        return f"checkpoint at size {size}: {e}"
    return None
