"""A peer whose log signs a map root that is not the map of its entries (specs/map.md
section 10, mirrors).

The peer's entries, tree and signatures are all valid; only the map line of its new checkpoint
is not the map its entries give (say, one that hides a work's revocation from map proofs). A
mirroring round (``provenance node sync``, a real process, against the peer served on
127.0.0.1) recomputes the map from the entries it verified, refuses the step, cosigns nothing,
keeps both signed checkpoints as evidence, with the entry between them, the border of the tree
and a map proof, so that anyone checks it offline (specs/node.md section 5), and marks the log
faulty. ``provenance verify --evidence`` with what ``GET /evidence`` serves then refuses the
log's receipts; the same evidence altered proves nothing and is passed over with a warning.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import httpx

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.encoding import b64decode, b64encode
from provenance_ledger.core.evidence import Evidence, verify_evidence
from provenance_ledger.ledger import Home
from provenance_ledger.node import add_peer, init_node, node_keys, node_witness

from ..conftest import Signer
from .conftest import HOST, ORIGIN, PEER, free_port, grow, register, running
from .network_helpers import provenance
from .test_dishonest_peer import append_unchecked, mirrored_and_cosigned, sync

ALICE = PrivateKey.from_seed(bytes([1]) * 32)


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
            append_unchecked(peer, [register(sign, ALICE, "page 10").leaf], map_root=lie)
            refused = sync(home, tmp_path, ok=(1,))
            lying_note = peer.latest_checkpoint()[1]
            again = sync(home, tmp_path, ok=(1,))
            receipt = tmp_path / "receipt.json"
            receipt.write_text(json.dumps(peer.receipt(3).to_json()))
        with running(home) as node:
            served = httpx.get(f"{node.url}/evidence", params={"origin": PEER}).json()
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
    # What GET /evidence serves is self-contained: the entry, the border, the map proof.
    (item,) = served["evidence"]
    assert item == evidence.to_json()
    assert len(item["map"]["entries"]) == 1 and len(item["map"]["border"]) == 2  # 10 = 8 + 2
    log_key = node_keys(peer_home)["log"]
    verify_evidence(Evidence.from_json(item), log_key)
    # The real CLI refuses a receipt of that log with it (exit 1) ...
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(served))
    assert provenance("verify", receipt, "--log-key", log_key, scratch=tmp_path).code == 0
    refused = provenance("verify", receipt, "--log-key", log_key, "--evidence", path,
                         scratch=tmp_path, ok=(1,))
    assert f"log {PEER} is proven faulty" in refused.err and "map-root" in refused.err
    # ... and passes over the same evidence with its entry altered, saying why.
    altered = copy.deepcopy(served)
    leaf = bytearray(b64decode(altered["evidence"][0]["map"]["entries"][0], "entry"))
    leaf[-3] ^= 1
    altered["evidence"][0]["map"]["entries"][0] = b64encode(bytes(leaf))
    path.write_text(json.dumps(altered))
    passed = provenance("verify", receipt, "--log-key", log_key, "--evidence", path,
                        scratch=tmp_path)
    (warning,) = passed.err.splitlines()
    assert warning.startswith(f"warning: evidence 1 about {PEER} in ")
    assert "does not verify" in warning and passed.out.startswith("OK:")


def test_a_first_block_that_lies_is_evidence_from_the_empty_tree(tmp_path: Path,
                                                                  sign: Signer) -> None:
    """The log's first block already lies and the mirror holds nothing of it yet: the
    evidence starts at the empty tree and the empty map (no first note, no border) and
    verifies offline."""
    peer_home = tmp_path / "peer"
    init_node(peer_home, PEER, f"{HOST}:{free_port()}")
    peer = Home(peer_home).open_ledger(origin=PEER)
    try:
        home = tmp_path / "node"
        init_node(home, ORIGIN, f"{HOST}:{free_port()}")
        with running(peer_home) as served:
            add_peer(home, PEER, served.url, node_keys(peer_home)["log"])
            append_unchecked(peer, [register(sign, ALICE, f"page {i}").leaf for i in range(3)],
                             map_root=hashlib.sha256(b"not the map").digest())
            refused = sync(home, tmp_path, ok=(1,))
            lying_note = peer.latest_checkpoint()[1]
    finally:
        peer.close()
    assert refused["status"] == "faulty", refused
    with node_witness(home) as witness:
        (evidence,) = witness.evidence(PEER)
    assert evidence.checkpoints == ("", lying_note) and evidence.map is not None
    assert (evidence.map.border, len(evidence.map.entries)) == ((), 3)
    verify_evidence(evidence, node_keys(peer_home)["log"])
