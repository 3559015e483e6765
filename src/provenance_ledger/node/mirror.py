"""One mirroring round against each peer (DESIGN.md "Nodes"; specs/node.md section 4).

For each peer: (1) fetch its checkpoint and verify the log signature; (2) compare it with the
mirror: the same size with another root is a split view, handed to the witness as evidence;
(3) check the peer's consistency proof from the mirror's size, and when it fails hand both
checkpoints to the witness, which records conclusive evidence; (4) download the new entries
while (5) re-verifying every signature (each page on the verify threads as the next one
downloads), then every rule against this node's own replay of the peer's log, and recompute
the root (:meth:`Ledger.mirror_pages`); only then (6) store the mirror, (7) cosign
with this node's witness (timestamped cosignature/v1) and (8) deliver the cosignature to the
peer through its ``add-checkpoint``. A faulty origin is not mirrored again.

Every answer is read through :class:`Fetcher` (capped while it streams, bounded in time) and
parsed into a typed value (node/replies.py); a peer that cannot be reached or answers what
does not parse is one :class:`PeerError` naming it, reported as that peer's ``error`` while
the round goes on with the next peer (specs/node.md section 8).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..core import merkle, vmap
from ..core.events import MAX_LEAF_BYTES, parse_leaf
from ..core.evidence import Evidence, MapRecomputation, verify_evidence
from ..core.merkle import verify_consistency
from ..core.note import MAX_NOTE_BYTES, Checkpoint, NoteSignature, SignedNote
from ..core.receipt import verify_checkpoint_note
from ..core.tiles import bundle_for_entry, consistency_proof, consistency_tiles
from ..core.witness import (
    INCONSISTENT,
    MAP_ROOT,
    SPLIT_VIEW,
    Finding,
    add_checkpoint_body,
    full_path,
)
from ..errors import (
    LedgerError,
    MalformedError,
    MapRootError,
    PeerError,
    StorageError,
    VerificationError,
    error_line,
    quoted,
)
from ..ledger import Ledger
from ..ledger.ledger import MAX_MIRROR_EVENTS
from ..store import SqliteStore
from .config import NodeConfig, Peer
from .fetch import Answer, Fetcher, Timeouts
from .replies import ConsistencyReply, EntriesPage, checkpoint_text, parse, refused
from .tiles_client import TilesClient
from .witness import Witness

log = logging.getLogger("provenance_ledger.node.mirror")

ENTRIES_PER_REQUEST = 1000  # the service's own bound on GET /entries
ENTRY_JSON_OVERHEAD_BYTES = 64  # ``{"index": N, "leaf": "..."}, `` around one leaf's base64
MAX_ENTRIES_PAGE_BYTES = ENTRIES_PER_REQUEST * (
    4 * -(-MAX_LEAF_BYTES // 3) + ENTRY_JSON_OVERHEAD_BYTES)
"""Largest ``GET /entries`` answer read, in bytes: a full page of the largest leaves."""
MAX_PROOF_BYTES = 64 << 10
"""Largest ``GET /proof/consistency`` answer read, in bytes (128 hashes in base64 JSON)."""
EMPTY_LOG = "the log is empty: no checkpoint yet"
"""The error of a node's ``GET /checkpoint`` (404) while its log has no checkpoint: the one
404 a mirroring round reports as ``empty``; any other 404 is a URL that is not a node's."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one round did for one peer."""

    origin: str
    status: str  # "mirrored", "up-to-date", "empty", "faulty", "error", "frozen"
    old_size: int
    new_size: int
    detail: str = ""
    cosigned: bool = False
    delivered: bool = False

    def to_json(self) -> dict[str, object]:
        return {"origin": self.origin, "status": self.status, "old_size": self.old_size,
                "new_size": self.new_size, "detail": self.detail, "cosigned": self.cosigned,
                "delivered": self.delivered}


def mirror_path(home: Path, origin: str) -> Path:
    """The mirror database of ``origin``: ``mirrors/<first 16 hex of SHA-256(origin)>.db``."""
    return home / "mirrors" / f"{hashlib.sha256(origin.encode()).hexdigest()[:16]}.db"


def open_mirror(home: Path, peer: Peer) -> Ledger:
    path = mirror_path(home, peer.origin)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = SqliteStore(path)
    stored = store.get_meta("origin")
    if stored is None:
        store.set_meta("origin", peer.origin)
    elif stored != peer.origin:
        store.close()
        raise MalformedError(f"mirror {path} holds {stored}, not {peer.origin}")
    return Ledger(store, None, verifier=peer.log_verifier)


def _fix(peer: Peer, option: str) -> str:
    """How to correct a peer's entry in node.toml (there is no edit command)."""
    return (f"(to fix it: node peer remove {peer.origin}, then node peer add with the right "
            f"{option})")


def _who(peer: Peer) -> str:
    return f"peer {peer.origin} ({peer.url})"


def _get(fetch: Fetcher, peer: Peer, path: str, limit: int, **params: int) -> Answer:
    """A 200 answer of at most ``limit`` bytes, or one :class:`PeerError`."""
    answer = fetch.get(_who(peer), f"{peer.url}{path}", limit, params)
    if answer.status != 200:
        raise PeerError(_who(peer), refused(answer))
    return answer


def _checkpoint(fetch: Fetcher, peer: Peer, **params: int) -> tuple[Checkpoint, str]:
    """A checkpoint note the peer serves, verified against its log key."""
    answer = _get(fetch, peer, "/checkpoint", MAX_NOTE_BYTES, **params)
    return _verified(answer, peer)


def _verified(answer: Answer, peer: Peer) -> tuple[Checkpoint, str]:
    note = parse(answer, _who(peer), "checkpoint", checkpoint_text)
    try:
        cp = verify_checkpoint_note(note, [peer.log_verifier])[0]
    except (MalformedError, VerificationError) as e:
        served = note.split("\n", 1)[0]
        why = (f"it serves the log {quoted(served)}, not {peer.origin}: another node's URL "
               + _fix(peer, "--tiles" if peer.tiles else "--url") if served != peer.origin
               else "the peer's log key in node.toml did not sign it: ask its operator for "
               "the key ('provenance node keys --only log' on its node) " + _fix(peer, "--vkey"))
        raise PeerError(_who(peer), f"{answer.where}: {e}; {why}") from e
    return cp, note


def _page(fetch: Fetcher, peer: Peer, lo: int, hi: int) -> list[bytes]:
    """One ``GET /entries`` of ``[lo, hi)``: the leaves from ``lo`` on, at least one and at
    most ``hi - lo``, in order."""
    answer = _get(fetch, peer, "/entries", MAX_ENTRIES_PAGE_BYTES, start=lo, end=hi)
    page = parse(answer, _who(peer), "entries page",
                 lambda body: EntriesPage.from_bytes(body, lo, hi))
    return list(page.leaves)


def _pages(fetch: Fetcher, peer: Peer, start: int, end: int) -> Iterator[list[bytes]]:
    """The leaves ``[start, end)``, a page at a time (fetched when the consumer asks)."""
    n = start
    while n < end:
        page = _page(fetch, peer, n, min(end, n + ENTRIES_PER_REQUEST))
        n += len(page)
        yield page


def _tile_pages(tiles: TilesClient, start: int, end: int) -> Iterator[list[bytes]]:
    """The leaves ``[start, end)`` from the peer's entry bundles (specs/tiles.md section
    5.2), a bundle at a time, each at its width in the tree of ``end`` leaves."""
    n = start
    while n < end:
        tile, at = bundle_for_entry(n, end)
        page = tiles.bundle(tile)[at:]
        n += len(page)
        yield page


def _consistency(fetch: Fetcher, peer: Peer, old: int, new: int) -> list[bytes]:
    if peer.tiles is not None:
        with TilesClient(peer.tiles, peer.vkey, fetcher=fetch) as tiles:
            return consistency_proof(old, new, tiles.tiles(consistency_tiles(old, new)))
    answer = _get(fetch, peer, "/proof/consistency", MAX_PROOF_BYTES, old=old, new=new)
    reply = parse(answer, _who(peer), "consistency proof",
                  lambda body: ConsistencyReply.from_bytes(body, old, new))
    return list(reply.proof)


Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: entries mirrored of those a round downloads from a peer
(specs/cli.md section 1.4: stage ``mirroring <origin>``)."""


def _counted(pages: Iterator[list[bytes]], done: int, total: int, stage: str,
             progress: Progress | None) -> Iterator[list[bytes]]:
    for page in pages:
        yield page
        done += len(page)
        if progress is not None:
            progress(stage, done, total)


def sync_peer(home: Path, peer: Peer, witness: Witness, client: httpx.Client,
              now: int, max_step: int = MAX_MIRROR_EVENTS,
              timeouts: Timeouts | None = None,
              progress: Progress | None = None) -> SyncResult:
    """One round against one peer; never raises for the peer's faults, reports them.
    ``progress`` hears how many of the new entries are mirrored."""
    fetch = Fetcher(timeouts, client)
    mirror = open_mirror(home, peer)
    old = mirror.size
    try:
        if witness.is_faulty(peer.origin):
            return SyncResult(peer.origin, "faulty", old, old,
                              "evidence against this log is held (node evidence); mirroring "
                              "stopped")
        # (1) the peer's latest checkpoint, signed by its log key (from its tiles URL, when
        # it is mirrored from there: specs/tiles.md section 5.2).
        answer = fetch.get(_who(peer), f"{peer.tiles or peer.url}/checkpoint", MAX_NOTE_BYTES)
        if answer.status == 404 and old == 0 and _says_empty(answer):
            return SyncResult(peer.origin, "empty", 0, 0, "the peer's log has no entries yet")
        if answer.status == 404:  # not a node's answer: the URL is not the peer's base URL
            raise PeerError(_who(peer), f"{answer.where} answered 404 ({answer.excerpt()}): "
                            f"{peer.tiles or peer.url} is not the base URL of a log "
                            + _fix(peer, "--tiles" if peer.tiles else "--url"))
        if answer.status != 200:  # a 503: the peer's database is away for now (node.md 2)
            raise PeerError(_who(peer), refused(answer))
        cp, note = _verified(answer, peer)
        own_note = SignedNote.from_text(note)
        if cp.size < old:
            if cp.size > 0 and mirror.root(cp.size) != cp.root:
                # A signed root at a size already mirrored that is not the mirrored one: a
                # fork, shown by the mirror's own signed checkpoints (specs/node.md section 5).
                return _smaller_fork(witness, mirror, peer, note, cp, now)
            raise VerificationError(
                f"{peer.origin} serves size {cp.size}, smaller than the {old} already mirrored")

        # (2), (3) the new checkpoint extends what is mirrored, or there is evidence.
        if old > 0:
            old_root = mirror.root(old)
            try:
                if cp.size == old:
                    verify_consistency(old, old, [], old_root, cp.root)
                else:
                    verify_consistency(old, cp.size, _consistency(fetch, peer, old, cp.size),
                                       old_root, cp.root)
            except VerificationError as e:
                return _evidence(witness, mirror, peer, note, now, str(e))
        # (4), (5), (6) download, re-verify, store; a peer far ahead is caught up through its
        # own intermediate checkpoints, each step a whole, signed, audited block.
        while mirror.size < cp.size:
            step_note, step = note, cp
            if cp.size - mirror.size > max_step and peer.tiles is not None:
                raise PeerError(_who(peer), f"{cp.size - mirror.size} entries ahead, over "
                                f"the {max_step} of one step, and its tiles serve no earlier "
                                "checkpoint: mirror it from its node URL first")
            if cp.size - mirror.size > max_step:
                reach = mirror.size + max_step
                no_step = PeerError(_who(peer), f"no checkpoint between {mirror.size} and "
                                    f"{reach}: cannot mirror it in steps")
                try:
                    step, step_note = _checkpoint(fetch, peer, at_most=reach)
                except PeerError as e:
                    raise no_step from e
                if not mirror.size < step.size <= cp.size:
                    raise no_step
            # Each page is verified on the mirror's verify threads while the next downloads.
            taken: list[bytes] = []
            stage, start = f"mirroring {peer.origin}", mirror.size - old
            try:
                if peer.tiles is not None:
                    with TilesClient(peer.tiles, peer.vkey, fetcher=fetch) as tiles:
                        mirror.mirror_pages(_counted(_kept(
                            _tile_pages(tiles, mirror.size, step.size), taken), start,
                            cp.size - old, stage, progress), step, step_note, now)
                else:
                    mirror.mirror_pages(_counted(_kept(
                        _pages(fetch, peer, mirror.size, step.size), taken), start,
                        cp.size - old, stage, progress), step, step_note, now)
            except MapRootError as e:
                # The log signed a map root that is not the map of its entries: keep its
                # checkpoint (and the one before, whose map agreed) as evidence, with what
                # lets anyone recompute the map (specs/node.md section 5).
                before = mirror.store.latest_checkpoint()
                note_a = before.note if before else ""
                witness.record(peer.origin, Finding(
                    MAP_ROOT, note_a, step_note, (), str(e),
                    map_recomputation(mirror, note_a, step_note, taken)), now)
                return SyncResult(peer.origin, "faulty", old, mirror.size, str(e))
            except StorageError as e:  # the mirror's file (a full disk): say which it is
                raise StorageError(f"mirror {mirror_path(home, peer.origin)}: {e}") from e
        # (7) cosign from the size this witness last cosigned.
        line = _cosign(witness, mirror, note, cp.size, now)
        # (8) deliver: the peer keeps cosignatures from witnesses it trusts.
        delivered = False
        if line is not None:
            sig = NoteSignature.from_line(line.rstrip("\n"))
            body = add_checkpoint_body(0, [], own_note.with_signatures([sig]).to_text())
            try:
                delivered = fetch.request(
                    "POST", _who(peer), f"{peer.url}/add-checkpoint", MAX_NOTE_BYTES,
                    content=body).status == 200
            except PeerError as e:
                log.warning("cosignature not delivered", extra={"fields": {
                    "origin": peer.origin, "error": str(e)}})
        status = "mirrored" if cp.size > old else "up-to-date"
        return SyncResult(peer.origin, status, old, cp.size, "", line is not None, delivered)
    except LedgerError as e:
        return SyncResult(peer.origin, "error", old, mirror.size, error_line(str(e)))
    finally:
        mirror.close()


def _says_empty(answer: Answer) -> bool:
    """Whether a 404 of ``GET /checkpoint`` is a node's saying that its log is empty (a
    static tiles server's 404, or any other, is not)."""
    try:
        return bool(json.loads(answer.body).get("error") == EMPTY_LOG)
    except (ValueError, AttributeError):
        return False


def _kept(pages: Iterator[list[bytes]], taken: list[bytes]) -> Iterator[list[bytes]]:
    """``pages``, each also added to ``taken`` as it passes: the step's leaves, for evidence."""
    for page in pages:
        taken.extend(page)
        yield page


def map_recomputation(mirror: Ledger, note_a: str, note_b: str,
                      leaves: Sequence[bytes]) -> MapRecomputation | None:
    """What makes ``map-root`` evidence checkable offline (specs/node.md section 5): the
    border of the mirror's tree at its size M (the first checkpoint's), the peer's ``leaves``
    from M to the second checkpoint, and one proof from the mirror's map at M for the works
    they touch; checked here as a verifier will check it. None when it cannot be made (a
    first checkpoint without a map line, a step over the evidence caps): the evidence is then
    the two checkpoints alone."""
    plan = merkle.root_plan(mirror.size)
    hashes = mirror.store.nodes(plan)
    try:
        keys = {vmap.map_key(parse_leaf(leaf, verify=False).event.work) for leaf in leaves}
        data = MapRecomputation(tuple(hashes[n] for n in plan), tuple(leaves),
                                vmap.prove(mirror.store, keys))
        verify_evidence(Evidence(0, mirror.origin, MAP_ROOT, (note_a, note_b), (), "", 0,
                                 data), mirror.vkey)
    except (ValueError, LedgerError) as e:
        log.warning("map-root evidence kept without the map recomputation", extra={
            "fields": {"origin": mirror.origin, "error": str(e)}})
        return None
    return data


def _cosign(witness: Witness, mirror: Ledger, note: str, size: int, now: int) -> str | None:
    latest = witness.latest(mirror.origin)
    for _ in range(2):  # a second try covers a concurrent cosigning of the same origin
        base = 0 if latest is None else latest.size
        if base > size:
            return None
        proof = mirror.consistency_proof(base, size) if 0 < base < size else []
        status, text = witness.add_checkpoint(add_checkpoint_body(base, proof, note), now)
        if status == 200:
            return text.splitlines()[0] + "\n"
        if status != 409:
            raise VerificationError(f"witness refused the checkpoint ({status}): {text.strip()}")
        latest = witness.latest(mirror.origin)
    return None


def _smaller_fork(witness: Witness, mirror: Ledger, peer: Peer, note: str, cp: Checkpoint,
                  now: int) -> SyncResult:
    """The peer serves ``note``, a checkpoint signed by its log key of a size the mirror
    passed, whose root is not the mirror's tree at that size: its key signed two histories.
    Evidence from the mirror's own signed checkpoints (specs/node.md section 5): with the
    log's checkpoint of that size among them, ``split-view`` (that one, then ``note``); else
    ``inconsistent``: ``note``, then the mirror's latest checkpoint, with the consistency
    path from ``note``'s size to it in the mirror's tree, which leads to the latest's root
    and implies, at ``note``'s size, the mirror's root, not ``note``'s. Checked as a verifier
    checks it, then kept; the origin is marked faulty."""
    old = mirror.size
    why = f"two roots for size {cp.size}"
    same = mirror.store.checkpoint(cp.size)
    latest = mirror.store.latest_checkpoint()
    if same is not None:
        finding = Finding(SPLIT_VIEW, same.note, note, (),
                          f"{why}: the mirrored checkpoint and one the log serves later")
    elif latest is not None and latest.size == old:
        path = full_path(cp.size, mirror.root(cp.size), mirror.consistency_proof(cp.size, old))
        finding = Finding(INCONSISTENT, note, latest.note, path,
                          f"a checkpoint of size {cp.size} that the mirrored tree of size "
                          f"{old} does not extend")
    else:  # pragma: no cover - a mirror stores whole signed blocks: its size is a checkpoint's
        raise VerificationError(f"the mirror holds no checkpoint of its size {old}")
    verify_evidence(Evidence(0, peer.origin, finding.kind, (finding.note_a, finding.note_b),
                             finding.path, finding.detail, now), peer.vkey)
    witness.record(peer.origin, finding, now)
    return SyncResult(peer.origin, "faulty", old, old,
                      error_line(f"checkpoint not consistent with the mirror: {why}"))


def _evidence(witness: Witness, mirror: Ledger, peer: Peer, note: str, now: int,
              why: str) -> SyncResult:
    """Hand the inconsistent checkpoint to the witness, which keeps conclusive evidence."""
    latest = witness.latest(peer.origin)
    base = 0 if latest is None else latest.size
    proof = mirror.consistency_proof(base, mirror.size) if 0 < base < mirror.size else []
    witness.add_checkpoint(add_checkpoint_body(base, proof, note), now)
    if not witness.is_faulty(peer.origin):
        # Our own mirror's checkpoint and the peer's new one, side by side, as the witness
        # sees them: a same-size fork is conclusive.
        witness.add_checkpoint(add_checkpoint_body(0, [], note), now)
    status = "faulty" if witness.is_faulty(peer.origin) else "error"
    return SyncResult(peer.origin, status, mirror.size, mirror.size,
                      error_line(f"checkpoint not consistent with the mirror: {why}"))


def sync_all(home: Path, config: NodeConfig, witness: Witness, now: int,
             client: httpx.Client | None = None,
             timeouts: Timeouts | None = None,
             progress: Progress | None = None) -> list[SyncResult]:
    """One round against every configured peer; a peer's failure is its result, and the
    round goes on with the next."""
    own = client or httpx.Client(follow_redirects=False)
    try:
        known = frozenset(p.origin for p in config.peers)
        return [frozen_or(sync_peer(home, peer, witness, own, now, timeouts=timeouts,
                                    progress=progress),
                          home, peer, witness, own, now, timeouts, known)
                for peer in config.peers]
    finally:
        if client is None:
            own.close()


def frozen_or(result: SyncResult, home: Path, peer: Peer, witness: Witness,
              client: httpx.Client, now: int, timeouts: Timeouts | None,
              known: frozenset[str] = frozenset()) -> SyncResult:
    """A round that failed against a peer that rotated: run again against the frozen shard
    of that origin, reported ``frozen`` (node/shard_peers.py; specs/node.md section 10.5).
    ``known``: the origins this node has as peers (its detail then says the new one is)."""
    from dataclasses import replace

    from .shard_peers import FROZEN, frozen_detail, frozen_peer

    if result.status != "error":
        return result
    found = frozen_peer(peer, client, timeouts)
    if found is None:
        return result
    shard, listing = found
    again = sync_peer(home, shard, witness, client, now, timeouts=timeouts)
    if again.status not in ("mirrored", "up-to-date"):
        return again
    return replace(again, status=FROZEN, detail=frozen_detail(listing, peer, known))
