"""Mirroring rounds that stop part-way or meet a bad answer, and the round after them
(issue 4, points 4 and 7; specs/node.md section 4).

- A round that stored the mirror but died before cosigning (the window between the two
  transactions) is finished by the next round: it finds nothing new, cosigns and delivers.
- A peer that grew honestly but serves a consistency proof that does not verify (a bug, or
  something between the two nodes) is an error, not evidence: nothing is stored or cosigned,
  the origin is not marked faulty, and the next round with a good proof mirrors it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import Checkpoint, SignedNote
from provenance_ledger.ledger import Home, audit
from provenance_ledger.node import add_peer, init_node, load_config, node_keys, node_witness
from provenance_ledger.node.mirror import open_mirror, sync_peer

from ..conftest import NOW, Signer
from .conftest import HOST, ORIGIN, PEER, free_port, grow, reply, running, serving_http

CREATOR = PrivateKey.from_seed(bytes([5]) * 32)


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True
    upstream = ""
    corrupt = True  # flip a byte of every consistency proof served


class _Forward(BaseHTTPRequestHandler):
    server: _Proxy

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def _relay(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        r = httpx.request(method, self.server.upstream + self.path, content=body or None,
                          timeout=30)
        content = r.content
        if self.path.startswith("/proof/consistency") and self.server.corrupt:
            doc = json.loads(content)
            first = bytearray(base64.b64decode(doc["consistency_proof"][0]))
            first[0] ^= 1
            doc["consistency_proof"][0] = base64.b64encode(bytes(first)).decode()
            content = json.dumps(doc).encode()
        reply(self, r.status_code, content, r.headers.get("content-type", "text/plain"))

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self._relay("GET")

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        self._relay("POST")


@contextmanager
def proxy(upstream: str) -> Iterator[_Proxy]:
    """An HTTP relay on 127.0.0.1 in front of ``upstream`` that corrupts consistency proofs."""
    server = _Proxy((HOST, 0), _Forward)
    server.upstream = upstream
    with serving_http(server):
        yield server


def peer_home(tmp_path: Path, sign: Signer, names: list[str]) -> Path:
    """A peer node home whose log holds one block registering ``names``."""
    home = tmp_path / "peer"
    init_node(home, PEER, f"{HOST}:{free_port()}")
    ledger = Home(home).open_ledger(origin=PEER)
    try:
        grow(ledger, sign, CREATOR, names)
    finally:
        ledger.close()
    return home


def node_for(tmp_path: Path, peer: Path) -> Path:
    """A node home; the peer (not yet serving) trusts its witness key, so that the
    cosignatures the node delivers are kept and served."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    add_peer(peer, ORIGIN, "http://127.0.0.1:9", node_keys(home)["log"],
             node_keys(home)["witness"])
    return home


def trust(home: Path, peer: Path, url: str) -> None:
    """The node mirrors the peer, reached at ``url``."""
    add_peer(home, PEER, url, node_keys(peer)["log"])


def one_round(home: Path) -> tuple[str, int, int, bool, bool, str]:
    with node_witness(home) as witness, httpx.Client() as client:
        r = sync_peer(home, load_config(home).peer(PEER), witness, client, NOW)
    return r.status, r.old_size, r.new_size, r.cosigned, r.delivered, r.detail


def witnessed(home: Path) -> tuple[int, int | None, bool]:
    """(mirror size, largest peer checkpoint cosigned, peer marked faulty)."""
    mirror = open_mirror(home, load_config(home).peer(PEER))
    try:
        size = audit(mirror).entries
    finally:
        mirror.close()
    with node_witness(home) as witness:
        latest = witness.latest(PEER)
        return size, None if latest is None else latest.size, witness.is_faulty(PEER)


def test_a_round_that_stored_the_mirror_but_did_not_cosign_is_finished_next_round(
        tmp_path: Path, sign: Signer) -> None:
    peer = peer_home(tmp_path, sign, [f"page {i}" for i in range(10)])
    home = node_for(tmp_path, peer)
    with running(peer) as served:
        trust(home, peer, served.url)
        # The first half of a round (verify and store), as a round killed right after it.
        note = httpx.get(f"{served.url}/checkpoint").text
        cp = Checkpoint.from_text(SignedNote.from_text(note).text)
        entries = httpx.get(f"{served.url}/entries", params={"start": 0, "end": 10}).json()
        mirror = open_mirror(home, load_config(home).peer(PEER))
        try:
            mirror.mirror_block([base64.b64decode(e["leaf"]) for e in entries["entries"]],
                                cp, note, NOW)
        finally:
            mirror.close()
        assert witnessed(home) == (10, None, False)

        status, old, new, cosigned, delivered, _ = one_round(home)
        assert (status, old, new, cosigned, delivered) == ("up-to-date", 10, 10, True, True)
        assert witnessed(home) == (10, 10, False)
        # The peer serves the cosignature the round delivered.
        served_note = httpx.get(f"{served.url}/checkpoint").text
        assert served_note.startswith(note)
        (extra,) = served_note[len(note):].splitlines()
        assert extra.startswith(f"— {load_config(home).witness_name} ")


def test_a_bad_consistency_proof_for_honest_growth_is_an_error_not_evidence(
        tmp_path: Path, sign: Signer) -> None:
    peer = peer_home(tmp_path, sign, [f"page {i}" for i in range(10)])
    home = node_for(tmp_path, peer)
    with running(peer) as served, proxy(served.url) as relay:
        trust(home, peer, f"http://{HOST}:{relay.server_address[1]}")
        assert one_round(home)[:4] == ("mirrored", 0, 10, True)
        ledger = Home(peer).open_ledger(origin=PEER)
        try:
            grow(ledger, sign, CREATOR, [f"page {i}" for i in range(10, 15)])
        finally:
            ledger.close()

        status, old, new, cosigned, _, detail = one_round(home)
        assert (status, old, new, cosigned) == ("error", 10, 10, False), detail
        assert "consisten" in detail
        assert witnessed(home) == (10, 10, False)  # no evidence: a proof proves nothing

        relay.corrupt = False
        assert one_round(home)[:4] == ("mirrored", 10, 15, True)
        assert witnessed(home) == (15, 15, False)

