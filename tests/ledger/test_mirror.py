"""A mirror re-verifies a peer's entries and stores the peer's own signed checkpoints."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, sign_event
from provenance_ledger.core.note import Checkpoint, SignedNote
from provenance_ledger.errors import MapRootError, VerificationError
from provenance_ledger.ledger import Home, Ledger, audit
from provenance_ledger.store import SqliteStore

NOW = 1_790_000_000


def _register(key: PrivateKey, n: int, at: int = NOW) -> bytes:
    work = "sha256:" + hashlib.sha256(f"work {n}".encode()).hexdigest()
    ev = Event("work.register", work, None, key.public.text, at,
               {"size": n, "media_type": "image/png"})
    return sign_event(ev, key).leaf


def _peer_with(tmp_path: Path, count: int) -> tuple[Ledger, list[bytes]]:
    peer = Home(tmp_path / "peer").open_ledger(origin="peer.example/log")
    key = PrivateKey.from_seed(bytes([7]) * 32)
    leaves = [_register(key, i) for i in range(count)]
    peer.append_block(leaves[: count // 2], NOW)
    peer.append_block(leaves[count // 2 :], NOW)
    return peer, leaves


def _mirror(tmp_path: Path, peer: Ledger) -> Ledger:
    return Ledger(SqliteStore(tmp_path / "mirror.db"), None, verifier=peer.verifier)


def test_mirror_reaches_the_peers_root_and_audits(tmp_path: Path) -> None:
    peer, leaves = _peer_with(tmp_path, 40)
    cp, note = peer.latest_checkpoint()
    mirror = _mirror(tmp_path, peer)
    mirror.mirror_block(leaves, cp, note, NOW)
    assert mirror.latest_checkpoint() == (cp, note)
    assert mirror.root(cp.size) == cp.root
    assert audit(mirror).entries == 40
    # Proofs served by the mirror are the peer's proofs.
    assert mirror.inclusion_proof(17, 40) == peer.inclusion_proof(17, 40)


def test_mirror_refuses_entries_that_do_not_give_the_signed_root(tmp_path: Path) -> None:
    peer, leaves = _peer_with(tmp_path, 10)
    cp, note = peer.latest_checkpoint()
    mirror = _mirror(tmp_path, peer)
    other = _register(PrivateKey.from_seed(bytes([8]) * 32), 99)
    with pytest.raises(VerificationError, match="root"):
        mirror.mirror_block(leaves[:-1] + [other], cp, note, NOW)
    assert mirror.size == 0 and mirror.store.size() == 0  # nothing half-written


def test_mirror_refuses_an_event_the_rules_refuse(tmp_path: Path) -> None:
    peer, leaves = _peer_with(tmp_path, 4)
    mirror = _mirror(tmp_path, peer)
    # The same registration twice: a log that accepted it would be breaking the rules.
    bad = leaves + [leaves[0]]
    fake = Checkpoint(peer.origin, 5, bytes(32))
    with pytest.raises(VerificationError, match="entry 4"):
        mirror.mirror_block(bad, fake, "unused", NOW)
    assert mirror.store.size() == 0


def test_mirror_needs_entries_up_to_the_checkpoint(tmp_path: Path) -> None:
    peer, leaves = _peer_with(tmp_path, 6)
    cp, note = peer.latest_checkpoint()
    with pytest.raises(VerificationError, match="do not reach"):
        _mirror(tmp_path, peer).mirror_block(leaves[:5], cp, note, NOW)


def test_paged_mirroring_equals_one_block_and_checks_every_page(tmp_path: Path) -> None:
    """Pages verified as they arrive give the same mirror as one block; a bad signature in
    a late page, or a download failing half-way, stores nothing."""
    peer, leaves = _peer_with(tmp_path, 300)
    cp, note = peer.latest_checkpoint()
    paged = _mirror(tmp_path, peer)
    paged.mirror_pages((leaves[i : i + 64] for i in range(0, 300, 64)), cp, note, NOW)
    assert paged.latest_checkpoint() == (cp, note)
    assert audit(paged).entries == 300

    forged = bytearray(leaves[250])
    at = forged.rindex(b'"sig":"') + 8
    forged[at] = ord("A") if forged[at] != ord("A") else ord("B")  # one base64 digit
    bad = leaves[:250] + [bytes(forged)] + leaves[251:]
    fresh = Ledger(SqliteStore(tmp_path / "fresh.db"), None, verifier=peer.verifier)
    with pytest.raises(VerificationError, match="entry 250"):
        fresh.mirror_pages((bad[i : i + 64] for i in range(0, 300, 64)), cp, note, NOW)
    assert fresh.store.size() == 0

    def broken_download() -> Iterator[list[bytes]]:
        yield leaves[:100]
        raise VerificationError("the peer went away")

    with pytest.raises(VerificationError, match="went away"):
        fresh.mirror_pages(broken_download(), cp, note, NOW)
    assert fresh.store.size() == 0 and fresh.store.latest_checkpoint() is None
    fresh.mirror_pages([leaves], cp, note, NOW)  # and it still works afterwards
    assert fresh.size == 300


def _signed_by_peer(peer: Ledger, cp: Checkpoint) -> str:
    """A checkpoint note the peer's log key signs, whatever it says (a lying log)."""
    assert peer.signer is not None
    return SignedNote(cp.to_text(), (peer.signer.sign(cp.to_text()),)).to_text()


def test_mirror_refuses_a_checkpoint_whose_map_root_is_not_the_map_of_its_entries(
        tmp_path: Path) -> None:
    """specs/map.md section 8: the mirror recomputes the map from the entries it verified;
    a log that signs another map root (say, one that hides a work's last event) is caught,
    and its signed checkpoint is the evidence."""
    peer, leaves = _peer_with(tmp_path, 10)
    cp, _ = peer.latest_checkpoint()
    assert cp.map_root is not None
    lie = Checkpoint(cp.origin, cp.size, cp.root, cp.block, hashlib.sha256(b"other").digest())
    mirror = _mirror(tmp_path, peer)
    with pytest.raises(MapRootError, match="lies about its map") as info:
        mirror.mirror_block(leaves, lie, _signed_by_peer(peer, lie), NOW)
    assert "checkpoint 10" in str(info.value)
    assert mirror.store.size() == 0 and mirror.store.map_node_count() == 0
    # the truth is accepted, and the mirror then holds the same map as the log
    mirror.mirror_block(leaves, cp, peer.latest_checkpoint()[1], NOW)
    assert dict(mirror.store.all_map_nodes()) == dict(peer.store.all_map_nodes())
    assert audit(mirror).entries == 10


def test_mirror_refuses_a_checkpoint_that_drops_the_map_line(tmp_path: Path) -> None:
    peer, leaves = _peer_with(tmp_path, 10)
    mirror = _mirror(tmp_path, peer)
    first = peer.store.checkpoint(5)
    assert first is not None
    mirror.mirror_block(leaves[:5], Checkpoint.from_text(SignedNote.from_text(first.note).text),
                        first.note, NOW)
    cp, _ = peer.latest_checkpoint()
    bare = Checkpoint(cp.origin, cp.size, cp.root, cp.block)
    with pytest.raises(VerificationError, match="without the map line"):
        mirror.mirror_block(leaves[5:], bare, _signed_by_peer(peer, bare), NOW)
