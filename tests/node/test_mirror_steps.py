"""A mirror catches up with a peer far ahead through the peer's own checkpoints."""

from __future__ import annotations

from pathlib import Path

import httpx

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.ledger import Home, audit
from provenance_ledger.node import add_peer, init_node, load_config, node_keys, node_witness
from provenance_ledger.node.mirror import open_mirror, sync_peer

from ..conftest import NOW, Signer
from .conftest import HOST, ORIGIN, PEER, free_port, grow, running


def _peer_with_blocks(tmp_path: Path, sign: Signer, blocks: int, per_block: int) -> Path:
    home = tmp_path / "peer"
    init_node(home, PEER, f"{HOST}:{free_port()}")
    ledger = Home(home).open_ledger(origin=PEER)
    key = PrivateKey.from_seed(bytes([3]) * 32)
    for b in range(blocks):
        grow(ledger, sign, key, [f"work {b}.{i}" for i in range(per_block)])
    ledger.close()
    return home


def _node_trusting(tmp_path: Path, peer_home: Path, url: str) -> Path:
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    add_peer(home, PEER, url, node_keys(peer_home)["log"])
    return home


def test_a_peer_far_ahead_is_mirrored_through_its_checkpoints(tmp_path: Path,
                                                              sign: Signer) -> None:
    peer_home = _peer_with_blocks(tmp_path, sign, blocks=4, per_block=10)
    with running(peer_home) as peer:
        home = _node_trusting(tmp_path, peer_home, peer.url)
        with node_witness(home) as witness, httpx.Client() as client:
            result = sync_peer(home, load_config(home).peer(PEER), witness, client, NOW,
                               max_step=12)
    assert (result.status, result.old_size, result.new_size) == ("mirrored", 0, 40)
    assert result.cosigned
    mirror = open_mirror(home, load_config(home).peer(PEER))
    try:
        # Each step stored one of the peer's own signed checkpoints; the mirror audits clean.
        assert [size for size, *_ in mirror.store.checkpoints()] == [10, 20, 30, 40]
        assert audit(mirror).entries == 40
    finally:
        mirror.close()


def test_a_step_needs_a_peer_checkpoint_within_reach(tmp_path: Path, sign: Signer) -> None:
    peer_home = _peer_with_blocks(tmp_path, sign, blocks=2, per_block=10)
    with running(peer_home) as peer:
        home = _node_trusting(tmp_path, peer_home, peer.url)
        with node_witness(home) as witness, httpx.Client() as client:
            result = sync_peer(home, load_config(home).peer(PEER), witness, client, NOW,
                               max_step=5)
    assert result.status == "error"
    assert "no checkpoint between 0 and 5" in result.detail
