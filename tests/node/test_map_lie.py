"""A peer whose log signs a map root that is not the map of its entries (specs/map.md
section 10, mirrors).

The peer's entries, tree and signatures are all valid; only the map line of its new checkpoint
is not the map its entries give (say, one that hides a work's revocation from map proofs). A
mirroring round (``provenance node sync``, a real process, against the peer served on
127.0.0.1) recomputes the map from the entries it verified, refuses the step, cosigns nothing,
keeps both signed checkpoints as evidence and marks the log faulty.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from provenance_ledger.core import merkle
from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import parse_leaf
from provenance_ledger.core.note import BlockLine, Checkpoint, SignedNote
from provenance_ledger.ledger import Home, Ledger
from provenance_ledger.node import add_peer, init_node, node_keys, node_witness
from provenance_ledger.store.base import Block, CheckpointRow, EntryRow

from ..conftest import NOW, Signer
from .conftest import HOST, ORIGIN, PEER, free_port, grow, register, running
from .network_helpers import provenance
from .test_dishonest_peer import mirrored_and_cosigned, sync

ALICE = PrivateKey.from_seed(bytes([1]) * 32)


def append_with_map_root(ledger: Ledger, leaves: list[bytes], map_root: bytes) -> None:
    """What a dishonest operator can do with its own log key: append valid events under a
    valid tree, but sign a checkpoint whose map line says ``map_root``."""
    assert ledger.signer is not None
    frontier = merkle.Frontier()
    for i in range(ledger.size):
        frontier.append(ledger.store.entry(i).id)
    block = Block()
    for leaf in leaves:
        ev = parse_leaf(leaf, verify=False)
        index, leaf_h = frontier.size, merkle.leaf_hash(leaf)
        block.nodes.extend(frontier.append(leaf_h))
        block.entries.append(EntryRow(index, leaf_h, ev.event.work, ev.event.type, leaf))
    prev = ledger.store.latest_checkpoint_size()
    cp = Checkpoint(ledger.origin, frontier.size, frontier.root(), BlockLine(prev, NOW),
                    map_root)
    note = SignedNote(cp.to_text(), (ledger.signer.sign(cp.to_text()),)).to_text()
    block.checkpoint = CheckpointRow(cp.size, cp.root, note, NOW)
    ledger.store.commit_block(block)


def test_a_log_that_lies_about_its_map_is_refused_and_kept_as_evidence(
        tmp_path: Path, sign: Signer) -> None:
    peer_home = tmp_path / "peer"
    init_node(peer_home, PEER, f"{HOST}:{free_port()}")
    peer = Home(peer_home).open_ledger(origin=PEER)
    try:
        grow(peer, sign, ALICE, [f"page {i}" for i in range(10)])
        home = tmp_path / "node"
        init_node(home, ORIGIN, f"{HOST}:{free_port()}")
        with running(peer_home) as served:
            add_peer(home, PEER, served.url, node_keys(peer_home)["log"])
            first = sync(home, tmp_path, ok=(0,))
            assert (first["status"], first["new_size"], first["cosigned"]) == (
                "mirrored", 10, True)
            honest_note = peer.latest_checkpoint()[1]
            lie = hashlib.sha256(b"a map without the new page").digest()
            append_with_map_root(peer, [register(sign, ALICE, "page 10").leaf], lie)
            refused = sync(home, tmp_path, ok=(1,))
            lying_note = peer.latest_checkpoint()[1]
            again = sync(home, tmp_path, ok=(1,))
    finally:
        peer.close()
    assert refused["status"] == "faulty", refused
    assert "lies about its map" in str(refused["detail"])
    assert (refused["old_size"], refused["new_size"], refused["cosigned"]) == (10, 10, False)
    assert mirrored_and_cosigned(home) == (10, 10)  # nothing stored, nothing cosigned
    assert again["status"] == "faulty"  # mirroring stops at the evidence
    with node_witness(home) as witness:
        (evidence,) = witness.evidence(PEER)
        assert witness.is_faulty(PEER)
    assert evidence.kind == "map-root"
    assert evidence.checkpoints == (honest_note, lying_note)
    shown = json.loads(provenance("node", "evidence", "--home", home, "--json",
                                  scratch=tmp_path).out)
    assert [e["kind"] for e in shown["evidence"]] == ["map-root"]
