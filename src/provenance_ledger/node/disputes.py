"""Cross-log conflicts: one content hash registered on several logs (specs/node.md section 6).

A node sees its own log and its verified mirrors of its peers. When the same work id is
registered on two logs by different keys the work is *disputed*; each registration is shown
with the time its witnesses vouch for: for the own log, the time by which the node's quorum of
witnesses had each cosigned a checkpoint that includes it (so that one witness cannot date a
registration early alone); for a mirror, the time this node verified and cosigned such a
checkpoint. That time, not the signer's own clock, is what a dispute can rely on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.events import full_work_id, parse_leaf
from ..core.timefmt import format_time
from ..errors import NotFoundError
from ..ledger import Ledger
from .config import NodeConfig
from .mirror import mirror_path, open_mirror
from .witness import Witness


def _first_registration(ledger: Ledger, work: str) -> tuple[int, Any] | None:
    rows = ledger.store.work_entries(work)
    if not rows:
        return None
    return rows[0].index, parse_leaf(rows[0].leaf, verify=False)


def _mirror_cosigned_at(mirror: Ledger, index: int) -> int | None:
    """When this node first verified and cosigned a checkpoint of the peer including it."""
    for row in mirror.store.checkpoints(above=index):
        return row.at
    return None


def vouching_quorum(config: NodeConfig) -> int:
    """How many witnesses must have cosigned an entry of the own log before the node dates
    it (section 6): its witnessing quorum (section 9), one when it lists no witnesses (its
    peers' witnesses then vouch, each alone)."""
    return max(1, config.quorum)


def registrations(home: Path, config: NodeConfig, own: Ledger, witness: Witness,
                  work: str) -> dict[str, Any]:
    """Every registration of ``work`` this node knows of, and whether they disagree."""
    found: list[dict[str, Any]] = []
    first = _first_registration(own, work)
    if first is not None:
        index, ev = first
        vouched = witness.vouched_at(index, vouching_quorum(config))
        found.append({"origin": config.origin, "registrant": ev.event.actor, "id": ev.id,
                      "index": index, "cosigned_at": _fmt(vouched)})
    for peer in config.peers:
        if not mirror_path(home, peer.origin).exists():
            continue
        mirror = open_mirror(home, peer)
        try:
            first = _first_registration(mirror, work)
            if first is not None:
                index, ev = first
                found.append({"origin": peer.origin, "registrant": ev.event.actor, "id": ev.id,
                              "index": index,
                              "cosigned_at": _fmt(_mirror_cosigned_at(mirror, index)),
                              "faulty": witness.is_faulty(peer.origin)})
        finally:
            mirror.close()
    found.sort(key=lambda r: (r["cosigned_at"] is None, r["cosigned_at"] or ""))
    return {"disputed": len({r["registrant"] for r in found}) > 1, "registrations": found}


def resolve_here(home: Path, config: NodeConfig, own: Ledger, witness: Witness,
                 work: str) -> str:
    """``own.resolve_work(work)``; for a full work id that the own log lacks but a mirrored
    log holds, the :class:`NotFoundError` names those registrations (``elsewhere``), so
    that a client asking this node learns where the work is registered."""
    try:
        return own.resolve_work(work)
    except NotFoundError as e:
        whole = full_work_id(work)
        if whole is None:
            raise
        found = registrations(home, config, own, witness, whole)["registrations"]
        if not found:
            raise
        raise NotFoundError(f"no work {whole} on this ledger; {describe_elsewhere(found)}",
                            elsewhere=found) from e


def describe_elsewhere(found: list[dict[str, Any]]) -> str:
    """One line naming registrations on other logs (``registrations`` entries)."""
    where = "; ".join(
        f"{r.get('origin')} by {r.get('registrant')}"
        + (f" (cosigned {r['cosigned_at']})" if r.get("cosigned_at") else "")
        + (" (log marked faulty)" if r.get("faulty") else "")
        for r in found)
    if len(found) == 1:
        return f"registered on the mirrored log {where}: ask that log"
    return f"registered on the mirrored logs {where}: ask those logs"


def _fmt(t: int | None) -> str | None:
    return None if t is None else format_time(t)
