"""Re-verify a stored log from scratch (specs/ledger.md section 5).

First (0) the database file itself: SQLite's integrity check (b-trees, every index against its
table). The stored origin names the log key in every note, so an edited one fails every
checkpoint. Then every entry in order, without trusting anything derived: (1) indexes are
contiguous; (2) each leaf parses strictly and its signature verifies; (3) the stored event id
is the leaf hash and the work and type columns match the leaf; (4) the rules accept it on a
replay from the empty state; (5) every stored subtree hash equals the recomputed one; (6) each
checkpoint's root equals the recomputed root at its size (the empty tree's at size 0), its
note verifies with the log key and its text is exactly the checkpoint of that size and root;
its block line names the checkpoint stored before it and signs the stored time, so no history
point can be deleted and no time edited unnoticed; (7) every entry is covered by a checkpoint
(a block and its checkpoint commit together) and the store holds no tree hash beyond the ones
recomputed; (8) the stored verifiable map is the map of the entries (specs/map.md section 10,
audit): every stored node is its children's hash, in the canonical shape, its leaves are
exactly each work's recomputed value, it holds no other row, and its root is the one the
latest checkpoint signs. The first failure names its index.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import merkle, rules, vmap
from ..core.events import parse_leaf
from ..core.identity import KeyRecord, key_record_id
from ..core.note import Checkpoint, SignedNote, verify_note
from ..errors import LedgerError, VerificationError
from ..store import CheckpointRow, Store
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
    problems = store.integrity_problems()  # (0)
    if problems:
        raise VerificationError(f"audit failed: the database file is damaged: {problems[0]}")
    checkpoints = {cp.size: cp for cp in store.checkpoints()}
    chain = _Chain(own=ledger.signer is not None)
    states: dict[str, rules.WorkState] = {}
    last: dict[str, int] = {}  # work -> index of its last event
    frontier = merkle.Frontier()
    size = store.size()
    seen_cps = 0
    empty = checkpoints.get(0)  # (6) the empty tree's checkpoint, if the log signed one
    if empty is not None:
        seen_cps += 1
        problem = _checkpoint_problem(ledger, empty, merkle.EMPTY_ROOT, chain)
        if problem:
            raise VerificationError(f"audit failed at index 0: {problem}")
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
                states[ev.event.work] = rules.apply(  # (4), key records as of this entry
                    states.get(ev.event.work), ev, keys=lambda k: _record(states, k),
                    strict=True)
            except LedgerError as e:
                raise bad(f"rules refuse the event: {e}") from e
            last[ev.event.work] = row.index
            made.extend(frontier.append(row.id))
            cp = checkpoints.get(frontier.size)
            if cp is not None:  # (6)
                seen_cps += 1
                problem = _checkpoint_problem(ledger, cp, frontier.root(), chain)
                if problem:
                    raise bad(problem)
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
    if store.map_size() == size:  # (8); a map still to be built is built before any append
        values = {vmap.map_key(w): vmap.MapValue(bytes.fromhex(st.head), st.events,
                                                 last[w]).to_bytes() for w, st in states.items()}
        root = _map_problem(store, values)
        latest = store.latest_checkpoint()
        signed = (Checkpoint.from_text(SignedNote.from_text(latest.note).text).map_root
                  if latest is not None else None)
        if signed is not None and signed != root:
            raise VerificationError(
                f"audit failed: the map root signed at size {size} is not the map of the entries")
    return AuditReport(size, seen_cps, len(states), frontier.root())


def _map_problem(store: Store, values: dict[bytes, bytes]) -> bytes:
    """Walk the stored map from its root, a level at a time (memory: two levels), checking
    each inner node against its children and the canonical shape (specs/map.md section 2),
    each leaf against ``values``; return the root's hash."""
    def bad(what: str) -> VerificationError:
        return VerificationError(f"audit failed: the stored map {what}")

    expected = dict(values)
    level = store.map_nodes([1])
    visited = len(level)
    if not level and expected:
        raise bad("is empty, but the log has works")
    root = vmap.stored_hash(level.get(1))
    depth = 0
    while level:
        inner = [p for p, n in level.items() if len(n) == vmap.HASH_SIZE]
        children = store.map_nodes([c for p in inner for c in (p << 1, p << 1 | 1)])
        visited += len(children)
        for pos, node in level.items():
            if len(node) == vmap.LEAF_SIZE:
                key, value = node[:vmap.KEY_SIZE], node[vmap.KEY_SIZE:]
                if vmap.position(depth, int.from_bytes(key, "big")) != pos:
                    raise bad(f"holds the leaf of key {key.hex()[:16]}... off its path")
                if expected.pop(key, None) != value:
                    raise bad(f"holds a value for key {key.hex()[:16]}... that is not the "
                              "recomputed one")
            elif len(node) != vmap.HASH_SIZE:
                raise bad(f"has a node of {len(node)} bytes")
        for pos in inner:
            left, right = children.get(pos << 1), children.get(pos << 1 | 1)
            only = right if left is None else left if right is None else None
            if (left is None and right is None) or (
                    only is not None and len(only) == vmap.LEAF_SIZE):
                # a subtree of one entry is that entry's leaf, and an empty one has no node
                raise bad(f"is not in its canonical shape at depth {depth}")
            if vmap.node_hash(depth, vmap.stored_hash(left), vmap.stored_hash(right)) != level[pos]:
                raise bad(f"has an inner node at depth {depth} that is not its children's hash")
        level = children
        depth += 1
    if expected:
        raise bad(f"lacks the work whose key is {next(iter(expected)).hex()[:16]}...")
    if visited != store.map_node_count():
        raise bad("holds rows that are not in the tree")
    return root


@dataclass(slots=True)
class _Chain:
    """The checkpoints seen so far, for the block lines' links (specs/checkpoints.md 2.1).
    ``own``: the log's own checkpoints, every one stored; a mirror stores only those of its
    peer's checkpoints it fetched, so there a link may skip sizes and ``at`` is the mirror's
    own clock."""

    own: bool
    last_size: int | None = None
    last_time: int = -1
    chained: bool = False  # a checkpoint with a block line was seen: all later ones have one


def _checkpoint_problem(ledger: Ledger, cp: CheckpointRow, root: bytes,
                        chain: _Chain) -> str | None:
    """What is wrong with stored checkpoint ``cp``, given the recomputed ``root`` at its
    size and the checkpoints before it; None if nothing."""
    if cp.root != root:
        return f"checkpoint at size {cp.size} has a root that is not the log's"
    try:
        note = SignedNote.from_text(cp.note)
        verify_note(note, [ledger.verifier])
        signed = Checkpoint.from_text(note.text)
    except LedgerError as e:
        return f"checkpoint at size {cp.size}: {e}"
    if (signed.origin, signed.size, signed.root) != (ledger.origin, cp.size, cp.root):
        return f"checkpoint at size {cp.size}: note text does not match the stored root"
    block = signed.block
    previous, chain.last_size = chain.last_size, cp.size
    if block is None:
        if chain.chained:
            return (f"checkpoint at size {cp.size} has no block line, but an earlier one "
                    "did: a checkpoint was replaced")
        if cp.at < chain.last_time:
            return f"checkpoint at size {cp.size} is older than the one before"
        chain.last_time = cp.at
        return None
    if chain.own and block.prev != previous:
        before = "none" if previous is None else f"size {previous}"
        named = "none" if block.prev is None else f"size {block.prev}"
        return (f"checkpoint at size {cp.size} signs that the checkpoint before it is at "
                f"{named}, but the database holds {before}: a checkpoint was deleted")
    if chain.own and block.time != cp.at:
        return (f"checkpoint at size {cp.size}: stored time {cp.at} is not the signed time "
                f"{block.time}")
    if block.time < chain.last_time:
        return f"checkpoint at size {cp.size} is older than the one before"
    chain.chained = True
    chain.last_time = block.time
    return None


def _record(states: dict[str, rules.WorkState], key: str) -> KeyRecord | None:
    st = states.get(key_record_id(key))
    return None if st is None else st.identity
