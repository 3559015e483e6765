"""A peer whose log holds an entry that no honest log would accept (issue 4, point 4).

The peer here is dishonest, not forked: it signs valid checkpoints over a valid tree, but the
tree contains an event with a bad signature, or a well-signed event that the rules refuse
given what came before it in that log (an earlier round the mirror already verified). A
mirroring round (``provenance node sync``, a real process, against the peer served on
127.0.0.1) must re-verify every entry against its own replay of the peer's state: it reports
the round as an error naming the entry, stores nothing of the step, and cosigns nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from provenance_ledger.core import merkle
from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import parse_leaf
from provenance_ledger.core.note import BlockLine, Checkpoint, SignedNote
from provenance_ledger.ledger import Home, Ledger, audit
from provenance_ledger.node import add_peer, init_node, load_config, node_keys, node_witness
from provenance_ledger.node.mirror import open_mirror
from provenance_ledger.store.base import Block, CheckpointRow, EntryRow

from ..conftest import NOW, Signer
from .conftest import HOST, ORIGIN, PEER, free_port, grow, register, running, work
from .network_helpers import provenance

ALICE = PrivateKey.from_seed(bytes([1]) * 32)
BOB = PrivateKey.from_seed(bytes([2]) * 32)
HONEST = [f"page {i}" for i in range(10)]  # the first block, which the mirror verifies


def append_unchecked(ledger: Ledger, leaves: Sequence[bytes],
                     map_root: bytes | None = None) -> None:
    """What a dishonest operator can do with its own log key: put any leaves in its log, under
    a valid tree and a checkpoint signed by that key, skipping every check; with ``map_root``,
    the checkpoint's map line says that root (whatever the map of the entries is)."""
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
    if map_root is None:
        cp = Checkpoint(ledger.origin, frontier.size, frontier.root())
    else:
        cp = Checkpoint(ledger.origin, frontier.size, frontier.root(),
                        BlockLine(ledger.store.latest_checkpoint_size(), NOW), map_root)
    note = SignedNote(cp.to_text(), (ledger.signer.sign(cp.to_text()),)).to_text()
    block.checkpoint = CheckpointRow(cp.size, cp.root, note, NOW)
    ledger.store.commit_block(block)


def sync(home: Path, scratch: Path, ok: Sequence[int]) -> dict[str, object]:
    """``provenance node sync --json`` in a process of its own: the result for the peer."""
    r = provenance("node", "sync", "--home", home, "--json", scratch=scratch, ok=ok)
    (result,) = json.loads(r.out)
    assert result["origin"] == PEER
    return dict(result)


def mirrored_and_cosigned(home: Path) -> tuple[int, int | None]:
    """(entries in the mirror of the peer, largest peer checkpoint the witness cosigned)."""
    mirror = open_mirror(home, load_config(home).peer(PEER))
    try:
        assert audit(mirror).entries == mirror.size
        size = mirror.size
    finally:
        mirror.close()
    with node_witness(home) as witness:
        latest = witness.latest(PEER)
    return size, None if latest is None else latest.size


def round_refusing(tmp_path: Path, sign: Signer, bad: bytes, reason: str) -> None:
    """The peer's honest first block is mirrored and cosigned; after ``bad`` is slipped into
    its log (with a valid, signed checkpoint), the next round refuses it: exit 1, the error
    names entry 10 and ``reason``, and the mirror and the witness stay at size 10."""
    peer_home = tmp_path / "peer"
    init_node(peer_home, PEER, f"{HOST}:{free_port()}")
    peer = Home(peer_home).open_ledger(origin=PEER)
    try:
        grow(peer, sign, ALICE, HONEST)
        home = tmp_path / "node"
        init_node(home, ORIGIN, f"{HOST}:{free_port()}")
        with running(peer_home) as served:
            add_peer(home, PEER, served.url, node_keys(peer_home)["log"])
            first = sync(home, tmp_path, ok=(0,))
            assert (first["status"], first["new_size"], first["cosigned"]) == (
                "mirrored", len(HONEST), True)
            assert mirrored_and_cosigned(home) == (10, 10)

            append_unchecked(peer, [bad, register(sign, BOB, "after the bad one").leaf])
            refused = sync(home, tmp_path, ok=(1,))
    finally:
        peer.close()
    assert refused["status"] == "error", refused
    assert (refused["old_size"], refused["new_size"], refused["cosigned"]) == (10, 10, False)
    error = str(refused["detail"])
    assert "entry 10" in error and reason in error, error
    assert mirrored_and_cosigned(home) == (10, 10)


def test_an_entry_with_a_bad_signature_is_refused(tmp_path: Path, sign: Signer) -> None:
    # An event that says Alice registered the work, signed by Bob's key.
    honest = register(sign, BOB, "page claimed for alice")
    forged = honest.leaf.replace(BOB.public.text.encode(), ALICE.public.text.encode())
    assert forged != honest.leaf
    round_refusing(tmp_path, sign, forged, "signature")


def test_a_rule_broken_against_an_earlier_rounds_state_is_refused(
        tmp_path: Path, sign: Signer) -> None:
    # Bob transfers page 0, which Alice registered in the block mirrored the round before:
    # only the mirror's replay of the peer's state shows that Bob does not control it.
    peer_home = tmp_path / "probe"
    probe = Home(peer_home).open_ledger(origin=PEER)
    try:
        grow(probe, sign, ALICE, HONEST)
        head = probe.state(work(HONEST[0]))
        assert head is not None
    finally:
        probe.close()
    theft = sign(BOB, "work.transfer", work(HONEST[0]), {"to": BOB.public.text},
                 prev=head.head)
    round_refusing(tmp_path, sign, theft.leaf, "controller")
