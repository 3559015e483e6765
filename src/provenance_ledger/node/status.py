"""What ``provenance node status`` shows of a node home (specs/cli.md section 2.3): whether
``node serve`` runs on it, its log's size and latest checkpoint, how far each witness has
cosigned it, how far each peer is mirrored and cosigned by this node, and how much evidence it
holds. Read from the home alone, while the node serves or not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.timefmt import format_time
from ..ledger import Home, Ledger
from ..store import SqliteStore
from .config import NodeConfig, load_config, open_node_ledger, witness_db_path
from .mirror import mirror_path, open_mirror
from .shards import is_serving
from .witness import Witness, node_witness


def node_status(home: Path) -> dict[str, Any]:
    """The status of the node at ``home`` as the JSON of ``node status --json``."""
    config = load_config(home)
    out: dict[str, Any] = {"origin": config.origin, "listen": config.listen,
                           "serving": is_serving(home)}
    ledger = open_node_ledger(home, config)
    try:
        row = ledger.store.latest_checkpoint()
        out["size"] = ledger.size
        out["checkpoint_at"] = None if row is None else format_time(row.at)
    finally:
        ledger.close()
    readonly = not Home(home).writable()
    if readonly and not witness_db_path(home).is_file():  # it never witnessed anything
        out.update(cosigners=_cosigners(config, None), quorum=config.quorum,
                   peers=[_peer(home, config, p.origin, None) for p in config.peers],
                   evidence=0)
        return out
    with node_witness(home, readonly) as witness:
        out["cosigners"] = _cosigners(config, witness)
        out["quorum"] = config.quorum
        out["peers"] = [_peer(home, config, p.origin, witness) for p in config.peers]
        out["evidence"] = len(witness.evidence())
    return out


def _cosigners(config: NodeConfig, witness: Witness | None) -> list[dict[str, Any]]:
    """Each witness of this log (those asked after each block, then the peers' witness keys)
    with the largest checkpoint it cosigned and when."""
    keys = [(w.name, "witness", w.verifier.name) for w in config.witnesses]
    listed = {name for _, _, name in keys}
    keys += [(p.origin, "peer", v.name) for p in config.peers
             if (v := p.witness_verifier) is not None and v.name not in listed]
    found = []
    for label, kind, key_name in keys:
        latest = None if witness is None else witness.latest_own_cosignature(key_name)
        found.append({"name": label, "kind": kind,
                      "cosigned_size": None if latest is None else latest[0],
                      "cosigned_at": None if latest is None or latest[1] is None
                      else format_time(latest[1])})
    return found


def _peer(home: Path, config: NodeConfig, origin: str,
          witness: Witness | None) -> dict[str, Any]:
    """How far the peer ``origin`` is mirrored here, and cosigned by this node."""
    peer = config.peer(origin)
    out: dict[str, Any] = {"origin": origin, "url": peer.url, "mirrored_size": None,
                           "mirrored_at": None, "cosigned_size": None, "cosigned_at": None,
                           "faulty": False}
    path = mirror_path(home, origin)
    if path.exists():
        mirror = (open_mirror(home, peer) if Home(home).writable()
                  else Ledger(SqliteStore(path, readonly=True), None, peer.log_verifier))
        try:
            row = mirror.store.latest_checkpoint()
            if row is not None:
                out["mirrored_size"], out["mirrored_at"] = row.size, format_time(row.at)
        finally:
            mirror.close()
    if witness is not None:
        cosigned = witness.latest(origin)
        if cosigned is not None:
            out["cosigned_size"] = cosigned.size
            out["cosigned_at"] = format_time(cosigned.at)
        out["faulty"] = witness.is_faulty(origin)
    return out
