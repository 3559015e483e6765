"""Proving from a tiles URL alone (specs/tiles.md sections 4-6): a serving node writes its
tiles, a real nginx on 127.0.0.1 serves the folder, and the real CLI builds a receipt from
it that `provenance verify` accepts; what the tiles say is checked, never trusted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from provenance_ledger.core.merkle import verify_consistency
from provenance_ledger.core.note import Checkpoint, SignedNote
from provenance_ledger.core.receipt import verify_receipt
from provenance_ledger.core.tiles import inclusion_tiles
from provenance_ledger.errors import NotFoundError, PeerError, VerificationError
from provenance_ledger.ledger import Appended, Home, audit
from provenance_ledger.node import add_peer, init_node, node_witness
from provenance_ledger.node.config import load_config, tiles_dir
from provenance_ledger.node.mirror import open_mirror, sync_peer
from provenance_ledger.node.tiles_client import TilesClient

from ..cli.conftest import run
from ..conftest import NOW
from .conftest import HOST, ORIGIN, PEER, free_port, poll_until, running
from .nginx import serving
from .tiles_kat import kat_events

BEFORE = 300  # entries in the log before the node starts (its tiles are caught up)


@dataclass
class Served:
    url: str
    folder: Path
    vkey: str
    notes: dict[int, str]  # size -> the log's checkpoint note


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A node home with ``tiles = "tiles"``, 300 entries appended before it serves and two
    submitted over HTTP while it serves; its tiles folder served by nginx."""
    tmp = tmp_path_factory.mktemp("tiles")
    home = tmp / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}", tiles="tiles")
    events = kat_events()
    ledger = Home(home).open_ledger(origin=ORIGIN)
    notes = {}
    try:
        assert all(isinstance(r, Appended)
                   for r in ledger.append_block([e.leaf for e in events[:BEFORE]], NOW))
        notes[BEFORE] = ledger.latest_checkpoint()[1]
        vkey = ledger.vkey
    finally:
        ledger.close()
    folder = tiles_dir(home, load_config(home))
    assert folder == home / "tiles"
    with running(home) as node, node.client() as http:
        for e in events[BEFORE:BEFORE + 2]:
            assert http.post("/events", content=e.leaf).status_code == 200
        poll_until(lambda: (folder / "checkpoint").is_file() and Checkpoint.from_text(
            SignedNote.from_text((folder / "checkpoint").read_text()).text).size == BEFORE + 2,
            "the tiles folder has the checkpoint of the last block")
        notes[BEFORE + 2] = http.get("/checkpoint").text
    with serving(folder, tmp / "nginx") as url:
        yield Served(url, folder, vkey, notes)


def test_the_cli_builds_a_receipt_from_the_tiles_url_that_verify_accepts(
        served: Served, tmp_path: Path) -> None:
    receipt = tmp_path / "r.json"
    result = run("log", "proof", "257", "--tiles", served.url, "--log-key", served.vkey,
                 "-o", receipt, home=tmp_path / "home")
    assert "receipt of entry 257 written" in result.err
    data = json.loads(receipt.read_text())
    assert data["leaf_index"] == 257
    assert data["checkpoint"] == served.notes[BEFORE + 2]  # as the node signed it
    out = run("verify", receipt, "--log-key", served.vkey, "--json", home=tmp_path / "home")
    assert json.loads(out.out)["tree_size"] == BEFORE + 2
    # Another log's key: the checkpoint does not verify, exit 1, one line, nothing written.
    other = Home(tmp_path / "other").open_ledger(origin=ORIGIN)
    try:
        wrong = other.vkey
    finally:
        other.close()
    bad = run("log", "proof", "0", "--tiles", served.url, "--log-key", wrong, "-o",
              tmp_path / "bad.json", home=tmp_path / "home", ok_codes=(1,))
    assert bad.err.startswith("error: ") and bad.err.count("\n") == 1
    assert "does not verify" in bad.err and not (tmp_path / "bad.json").exists()


def test_receipts_of_every_kind_of_entry_verify(served: Served) -> None:
    with TilesClient(served.url, served.vkey) as client:
        for index in (0, 1, 255, 256, BEFORE - 1, BEFORE, BEFORE + 1):
            before = client.fetches
            receipt = client.receipt(index)
            verify_receipt(receipt, [client.verifier])
            assert client.fetches - before == 2 + len(inclusion_tiles(index, BEFORE + 2))
        with pytest.raises(NotFoundError, match="302 entries"):
            client.receipt(BEFORE + 2)


def test_a_consistency_proof_from_the_tiles_proves_the_log_only_grew(served: Served) -> None:
    old = Checkpoint.from_text(SignedNote.from_text(served.notes[BEFORE]).text)
    with TilesClient(served.url, served.vkey) as client:
        new, _ = client.checkpoint()
        verify_consistency(BEFORE, new.size, client.consistency(BEFORE, new), old.root,
                           new.root)


def test_what_the_server_changes_does_not_verify(served: Served, tmp_path: Path) -> None:
    """A tile or an entry changed on the server, or a checkpoint of another key: refused."""
    tile = served.folder / "tile/0/000"
    good = tile.read_bytes()
    tile.write_bytes(good[:32] + bytes(32) + good[64:])
    try:
        with TilesClient(served.url, served.vkey) as client, pytest.raises(
                VerificationError, match="does not verify"):
            client.receipt(0)
    finally:
        tile.write_bytes(good)
    bundle = served.folder / "tile/entries/000"
    good = bundle.read_bytes()
    bundle.write_bytes(good[:-1])  # the last entry cut short
    try:
        with TilesClient(served.url, served.vkey) as client, pytest.raises(
                VerificationError, match="malformed|does not verify"):
            client.receipt(3)
    finally:
        bundle.write_bytes(good)
    with TilesClient(served.url + "/nothing-here", served.vkey) as client, pytest.raises(
            NotFoundError, match="checkpoint was not found"):
        client.receipt(0)


def test_an_answer_over_the_size_of_a_tile_is_abandoned(served: Served) -> None:
    """Every fetch is capped while it streams in: a hash tile of width 1 is 32 bytes, and a
    server answering more is cut off there."""
    path = served.folder / "tile/1/000.p/1"
    good = path.read_bytes()
    path.write_bytes(good * 100)
    try:
        with TilesClient(served.url, served.vkey) as client, pytest.raises(
                PeerError, match="over the limit of 32 bytes"):
            client.receipt(BEFORE)  # its proof needs the level-1 tile
    finally:
        path.write_bytes(good)
    assert httpx.get(served.url + "/tile/1/000.p/1").content == good


def test_a_node_mirrors_a_peer_from_its_tiles_url(served: Served, tmp_path: Path) -> None:
    """A peer configured with ``tiles``: its checkpoint, consistency proofs and entries come
    from nginx; every entry is re-verified as from a node (specs/tiles.md section 5.2)."""
    home = tmp_path / "mirroring"
    init_node(home, PEER, f"{HOST}:{free_port()}")
    add_peer(home, ORIGIN, served.url, served.vkey, tiles=served.url)  # no node: tiles only
    peer = load_config(home).peer(ORIGIN)
    assert peer.tiles == served.url
    latest = (served.folder / "checkpoint").read_bytes()
    (served.folder / "checkpoint").write_text(served.notes[BEFORE])  # the log at 300
    try:
        with node_witness(home) as witness, httpx.Client() as client:
            first = sync_peer(home, peer, witness, client, NOW)
    finally:
        (served.folder / "checkpoint").write_bytes(latest)
    assert (first.status, first.old_size, first.new_size) == ("mirrored", 0, BEFORE)
    assert first.cosigned and not first.delivered  # a static server takes no cosignature
    with node_witness(home) as witness, httpx.Client() as client:
        second = sync_peer(home, peer, witness, client, NOW)  # consistency from the tiles
        third = sync_peer(home, peer, witness, client, NOW)
    assert (second.status, second.old_size, second.new_size) == ("mirrored", BEFORE, BEFORE + 2)
    assert third.status == "up-to-date"
    mirror = open_mirror(home, peer)
    try:
        assert audit(mirror).entries == BEFORE + 2
        assert [size for size, *_ in mirror.store.checkpoints()] == [BEFORE, BEFORE + 2]
    finally:
        mirror.close()
