"""What ``provenance node status`` shows of a node home (specs/cli.md section 2.3): whether
``node serve`` runs on it, its log's size and latest checkpoint, how far each witness has
cosigned it, how far each peer is mirrored and cosigned by this node, the evidence it holds
(per peer: what was recorded against it, where it is kept and how a receipt is checked against
it). Read from the home alone, while the node serves or not; while the node's PostgreSQL
database cannot be reached, everything but the log's size and checkpoint is still shown, with
``store_error`` saying so."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..core.evidence import Evidence
from ..core.timefmt import format_time
from ..errors import StorageUnavailableError
from ..ledger import Home, Ledger
from ..store import SqliteStore
from ..store.postgres import redact
from .config import (
    NodeConfig,
    load_config,
    node_keys,
    open_node_ledger,
    refusals_path,
    require_log_key,
    witness_db_path,
)
from .mirror import mirror_path, open_mirror
from .shards import is_serving
from .witness import Witness, open_witness
from .witnessing import read_refusals


class _NoLog:
    """The own log while its database cannot be reached: status only queries the witness's
    records, which never read the log; anything that would is the outage."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def root_at(self, size: int) -> bytes | None:
        raise StorageUnavailableError(self._reason)

    def note_at(self, size: int | None) -> tuple[int, str] | None:
        raise StorageUnavailableError(self._reason)

    def consistency(self, old: int, new: int) -> Sequence[bytes]:
        raise StorageUnavailableError(self._reason)


def node_status(home: Path) -> dict[str, Any]:
    """The status of the node at ``home`` as the JSON of ``node status --json``."""
    config = load_config(home)
    url = Home(home).store_url()
    out: dict[str, Any] = {"origin": config.origin, "listen": config.listen,
                           "serving": is_serving(home),
                           "store": str(Home(home).db_path) if url is None else redact(url),
                           "store_error": None}
    try:
        ledger = open_node_ledger(home, config)
    except StorageUnavailableError as e:
        reason = str(e).removeprefix(f"cannot open ledger database {out['store']}: ")
        out.update(size=None, checkpoint_at=None, store_error=reason)
    else:
        try:
            row = ledger.store.latest_checkpoint()
            out["size"] = ledger.size
            out["checkpoint_at"] = None if row is None else format_time(row.at)
        finally:
            ledger.close()
    out["keys"] = node_keys(home)
    readonly = not Home(home).writable()
    if readonly and not witness_db_path(home).is_file():  # it never witnessed anything
        out.update(cosigners=_cosigners(home, config, None), quorum=config.quorum,
                   peers=[_peer(home, config, p.origin, None) for p in config.peers],
                   evidence=0, log_evidence=[])
        return out
    with records_witness(home, readonly) as witness:
        out["cosigners"] = _cosigners(home, config, witness)
        out["quorum"] = config.quorum
        out["peers"] = [_peer(home, config, p.origin, witness) for p in config.peers]
        out["evidence"] = len(witness.evidence())
        out["log_evidence"] = [_item(e) for e in witness.evidence(config.origin)]
    return out


@contextmanager
def records_witness(home: Path, readonly: bool = False) -> Iterator[Witness]:
    """The node's witness for reading its records (``node status``, ``node evidence``),
    opened without the node's log: its database may be unreachable (a PostgreSQL server
    down), and these reads never need it."""
    config = load_config(home)
    require_log_key(home)
    vkey = node_keys(home)["log"]
    witness = open_witness(home, config, _NoLog("the node's log is not opened to read the "
                                                "witness's records"), vkey, readonly)
    try:
        yield witness
    finally:
        witness.close()


def _item(e: Evidence) -> dict[str, Any]:
    """One evidence item as status shows it (``node evidence --json`` has it whole)."""
    return {"id": e.id, "kind": e.kind, "at": format_time(e.at), "detail": e.detail}


def _cosigners(home: Path, config: NodeConfig,
               witness: Witness | None) -> list[dict[str, Any]]:
    """Each witness of this log (those asked after each block, then the peers' witness keys)
    with the largest checkpoint it cosigned and when, and (those asked) whether its last
    answer refused this log's checkpoint: the checkpoint's size and when it refused it."""
    refused = read_refusals(refusals_path(home))
    keys = [(w.name, "witness", w.verifier.name) for w in config.witnesses]
    listed = {name for _, _, name in keys}
    keys += [(p.origin, "peer", v.name) for p in config.peers
             if (v := p.witness_verifier) is not None and v.name not in listed]
    found = []
    for label, kind, key_name in keys:
        latest = None if witness is None else witness.latest_own_cosignature(key_name)
        refusal = refused.get(label) if kind == "witness" else None
        found.append({"name": label, "kind": kind,
                      "cosigned_size": None if latest is None else latest[0],
                      "cosigned_at": None if latest is None or latest[1] is None
                      else format_time(latest[1]),
                      "refused": None if refusal is None else {
                          "size": refusal[0], "at": format_time(refusal[1])}})
    return found


def _peer(home: Path, config: NodeConfig, origin: str,
          witness: Witness | None) -> dict[str, Any]:
    """How far the peer ``origin`` is mirrored here, and cosigned by this node, and the
    evidence recorded against it."""
    peer = config.peer(origin)
    out: dict[str, Any] = {"origin": origin, "url": peer.url,
                           "vkey": peer.log_verifier.to_vkey(), "mirrored_size": None,
                           "mirrored_at": None, "cosigned_size": None, "cosigned_at": None,
                           "faulty": False, "evidence": []}
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
        out["evidence"] = [_item(e) for e in witness.evidence(origin)]
    return out
