"""Cross-log conflicts: one content hash registered on several logs (specs/node.md section 6).

A node sees its own log and its verified mirrors of its peers. When the same work id is
registered on two logs by different keys the work is *disputed*; each registration is shown
with the earliest time a witness of this node vouches for: the first cosignature (or, for a
mirror, the time this node verified and cosigned it) over a checkpoint that includes it. That
time, not the signer's own clock, is what a dispute can rely on.
"""

from __future__ import annotations

import struct
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


def _own_cosigned_at(witness: Witness, index: int) -> int | None:
    """Earliest peer cosignature over the first of this node's checkpoints that includes
    entry ``index`` and that peers cosigned."""
    times = [struct.unpack(">Q", sig.signature[:8])[0]
             for sig in witness.first_cosigned_above(index)]
    return int(min(times)) if times else None


def _mirror_cosigned_at(mirror: Ledger, index: int) -> int | None:
    """When this node first verified and cosigned a checkpoint of the peer including it."""
    for row in mirror.store.checkpoints(above=index):
        return row.at
    return None


def registrations(home: Path, config: NodeConfig, own: Ledger, witness: Witness,
                  work: str) -> dict[str, Any]:
    """Every registration of ``work`` this node knows of, and whether they disagree."""
    found: list[dict[str, Any]] = []
    first = _first_registration(own, work)
    if first is not None:
        index, ev = first
        found.append({"origin": config.origin, "registrant": ev.event.actor, "id": ev.id,
                      "index": index, "cosigned_at": _fmt(_own_cosigned_at(witness, index))})
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
