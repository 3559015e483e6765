"""Write tests/data/evidence/map-root.json: known-answer ``map-root`` evidence
(specs/node.md section 5).

Run from the repository root: ``.venv/bin/python tests/data/evidence/make_map_root.py``.
Everything is deterministic (keys from seeds, fixed times, Ed25519 signatures). The example
log registers works "alpha" and "beta" (entries 0 and 1, its checkpoint of size 2 with its map
line), then appends a consent grant on alpha, a registration of "gamma" and a consent grant on
beta (entries 2 to 4) under a checkpoint of size 5 whose map line hides alpha's grant: the map
it states still holds alpha's registration as its latest event. Cases:

- ``from-size-2``: the lie, with the checkpoint of size 2 first; it verifies;
- ``from-empty``: a log whose first checkpoint (size 2) already lies: no first note (the empty
  tree and map); it verifies;
- ``truthful``: the same form over a checkpoint of size 5 whose map line is right: it proves
  nothing and is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from provenance_ledger.core import merkle, vmap
from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event
from provenance_ledger.core.evidence import Evidence, MapRecomputation
from provenance_ledger.core.note import BlockLine, Checkpoint, NoteSigner, SignedNote

OUT = Path(__file__).resolve().parent / "map-root.json"
T = 1_767_225_600  # 2026-01-01T00:00:00Z
LOG = NoteSigner("example.org/log",
                 PrivateKey.from_seed(hashlib.sha256(b"evidence example log").digest()))
ALICE = PrivateKey.from_seed(hashlib.sha256(b"evidence example alice").digest())


def work(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def event(type_: str, name: str, body: dict[str, Any], prev: SignedEvent | None = None
          ) -> SignedEvent:
    return sign_event(Event(type_, work(name), prev.id if prev else None, ALICE.public.text,
                            T, body), ALICE)


def register(name: str) -> SignedEvent:
    return event("work.register", name, {"size": len(name), "media_type": "image/png",
                                          "title": name})


def grant(name: str, prev: SignedEvent) -> SignedEvent:
    return event("consent.grant", name, {"grantee": "*", "purposes": ["ai_training"]}, prev)


def values(events: list[SignedEvent]) -> dict[bytes, bytes]:
    """The map of a log of ``events`` (specs/map.md section 1.2)."""
    out: dict[bytes, tuple[bytes, int, int]] = {}
    for index, ev in enumerate(events):
        key = vmap.map_key(ev.event.work)
        out[key] = (bytes.fromhex(ev.id), out[key][1] + 1 if key in out else 1, index)
    return {k: vmap.MapValue(*v).to_bytes() for k, v in out.items()}


def checkpoint(events: list[SignedEvent], prev: int | None, map_root: bytes) -> str:
    frontier = merkle.Frontier()
    for ev in events:
        frontier.append(bytes.fromhex(ev.id))
    cp = Checkpoint(LOG.name, len(events), frontier.root(), BlockLine(prev, T), map_root)
    return SignedNote(cp.to_text(), (LOG.sign(cp.to_text()),)).to_text()


def evidence(before: list[SignedEvent], first: str, after: list[SignedEvent],
             second: str) -> dict[str, Any]:
    plan = merkle.root_plan(len(before))
    hashes: dict[merkle.NodeId, bytes] = {}
    done = merkle.Frontier()
    for ev in before:
        hashes.update(done.append(bytes.fromhex(ev.id)))
    old = vmap.MemoryMap()
    old.apply(values(before))
    keys = {vmap.map_key(ev.event.work) for ev in after}
    data = MapRecomputation(tuple(hashes[n] for n in plan), tuple(ev.leaf for ev in after),
                            vmap.prove(old, keys))
    return Evidence(1, LOG.name, "map-root", (first, second), (), "a map root that hides a "
                    "consent grant", T, data).to_json()


def main() -> None:
    alpha, beta = register("alpha"), register("beta")
    before = [alpha, beta]
    after = [grant("alpha", alpha), register("gamma")]
    after.append(grant("beta", beta))
    log = before + after
    hidden = {**values(log), vmap.map_key(alpha.event.work): values(before)[
        vmap.map_key(alpha.event.work)]}
    first = checkpoint(before, None, vmap.map_root(values(before)))
    lying = checkpoint(log, 2, vmap.map_root(hidden))
    truthful = checkpoint(log, 2, vmap.map_root(values(log)))
    lying_first = checkpoint(before, None, vmap.map_root({vmap.map_key(alpha.event.work):
                                                          values(before)[vmap.map_key(
                                                              alpha.event.work)]}))
    cases = [
        {"name": "from-size-2", "verifies": True,
         "evidence": evidence(before, first, after, lying)},
        {"name": "from-empty", "verifies": True,
         "evidence": evidence([], "", before, lying_first)},
        {"name": "truthful", "verifies": False,
         "evidence": evidence(before, first, after, truthful)},
    ]
    OUT.write_text(json.dumps({"format": "provenance-ledger/evidence-vectors/v1",
                               "log_key": LOG.verifier.to_vkey(), "cases": cases},
                              indent=1) + "\n")


if __name__ == "__main__":
    main()
