"""Peers that answer what no honest node would (issue 9, section 4; specs/node.md section 8).

A real HTTP server on 127.0.0.1 plays the peer: it signs its checkpoints with the log key the
node trusts, then answers the rest with garbage, JSON of the wrong shape, an endless body, a
declared size over the limit, a compressed body, bytes trickling in, or nothing at all. A
mirroring round must turn each into that peer's ``error`` (naming it), never a traceback,
read no more than the limit while the answer streams in, give up after the timeout, and go
on with the other peers.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.encoding import b64encode
from provenance_ledger.core.note import Checkpoint, NoteSigner, SignedNote
from provenance_ledger.errors import MalformedError, PeerError
from provenance_ledger.ledger import Home
from provenance_ledger.node import Peer, add_peer, init_node, load_config, node_keys, node_witness
from provenance_ledger.node.fetch import DEFAULT_TIMEOUT_S, Fetcher, Timeouts
from provenance_ledger.node.mirror import MAX_ENTRIES_PAGE_BYTES, SyncResult, sync_all, sync_peer
from provenance_ledger.node.replies import ConsistencyReply, EntriesPage

from ..conftest import NOW, Signer
from .conftest import HOST, ORIGIN, PEER, free_port, grow, reply, running, serving_http
from .network_helpers import provenance

HOSTILE = "hostile.test/log"
HOSTILE_KEY = PrivateKey.from_seed(hashlib.sha256(b"hostile peer").digest())
SIGNER = NoteSigner(HOSTILE, HOSTILE_KEY)
QUICK = 0.5  # seconds: the timeout given where a peer is meant to be too slow
Handler = Callable[[BaseHTTPRequestHandler], None]


def signed_checkpoint(size: int) -> bytes:
    """A checkpoint of the hostile log, validly signed by its key (the root is made up:
    the entries never get far enough to be checked against it)."""
    text = Checkpoint(HOSTILE, size, bytes([7]) * 32).to_text()
    return SignedNote(text, (SIGNER.sign(text),)).to_text().encode()


class Hostile(BaseHTTPRequestHandler):
    """Answers each path with ``server.routes[path]``; a signed checkpoint of size 5 for
    ``/checkpoint`` unless told otherwise; 404 for the rest."""

    server: Any

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        path = self.path.split("?")[0]
        route = self.server.routes.get(path)
        if route is not None:
            route(self)
        elif path == "/checkpoint":
            reply(self, 200, signed_checkpoint(5), "text/plain; charset=utf-8")
        else:
            reply(self, 404, b'{"error": "no such route"}', "application/json")

    def log_message(self, *args: Any) -> None:
        pass


def answer(body: bytes, content_type: str = "application/json") -> Handler:
    return lambda h: reply(h, 200, body, content_type)


def endless(h: BaseHTTPRequestHandler) -> None:
    """200 and a body that never ends (HTTP/1.0: no length, no end but the close)."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.end_headers()
    chunk = b'{"entries": [' + b" " * (64 << 10)
    try:
        while True:
            h.wfile.write(chunk)
    except OSError:
        pass  # the client hung up, as it should


def declared_too_large(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(10 << 30))
    h.end_headers()
    try:
        h.wfile.write(b'{"entries": [')
    except OSError:
        pass


def compressed(h: BaseHTTPRequestHandler) -> None:
    body = gzip.compress(b'{"entries": [' + b" " * (1 << 20) + b"]}")
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def stalls(h: BaseHTTPRequestHandler) -> None:
    """Headers and the start of a body, then silence until the client gives up."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", "1000")
    h.end_headers()
    h.wfile.write(b'{"entries": [')
    h.wfile.flush()
    h.server.release.wait(30)


def trickles(h: BaseHTTPRequestHandler) -> None:
    """A byte at a time, each well within the read timeout, for ever."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.end_headers()
    try:
        while not h.server.release.wait(0.05):
            h.wfile.write(b" ")
            h.wfile.flush()
    except OSError:
        pass


@pytest.fixture
def hostile() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((HOST, 0), Hostile)
    server.daemon_threads = True
    server.routes = {}  # type: ignore[attr-defined]
    server.release = threading.Event()  # type: ignore[attr-defined]
    with serving_http(server):
        try:
            yield server
        finally:
            server.release.set()  # type: ignore[attr-defined]


def url_of(server: ThreadingHTTPServer) -> str:
    return f"http://{HOST}:{server.server_address[1]}"


@pytest.fixture
def home(tmp_path: Path, hostile: ThreadingHTTPServer) -> Path:
    """A node that trusts the hostile peer's log key."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    add_peer(home, HOSTILE, url_of(hostile), SIGNER.verifier.to_vkey())
    return home


def one_round(home: Path, timeouts: Timeouts | None = None) -> SyncResult:
    with node_witness(home) as witness:
        (result,) = sync_all(home, load_config(home), witness, NOW, timeouts=timeouts)
    return result


def assert_error(result: SyncResult, *words: str) -> None:
    assert result.status == "error", result
    assert (result.old_size, result.new_size, result.cosigned) == (0, 0, False)
    assert result.detail.startswith(f"peer {HOSTILE} ("), result.detail
    for w in words:
        assert w in result.detail, result.detail


# -- bodies that do not parse, or have the wrong shape --------------------------------------------

WRONG_PAGES = {
    "not JSON": b"<html>Service Unavailable</html>",
    "not UTF-8": b'{"entries": "\xff"}',
    "a list": b"[]",
    "no entries": b'{"entries": []}',
    "entries a string": b'{"entries": "all of them"}',
    "index a string": b'{"entries": [{"index": "0", "leaf": "AA=="}]}',
    "no leaf": b'{"entries": [{"index": 0}]}',
    "leaf a number": b'{"entries": [{"index": 0, "leaf": 5}]}',
    "leaf not base64": b'{"entries": [{"index": 0, "leaf": "**"}]}',
    "out of order": b'{"entries": [{"index": 1, "leaf": "AA=="}]}',
    "duplicate key": b'{"entries": [], "entries": [{"index": 0, "leaf": "AA=="}]}',
    "more than asked": json.dumps({"entries": [{"index": i, "leaf": "AA=="}
                                               for i in range(6)]}).encode(),
    "nested deep": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", WRONG_PAGES.values(), ids=WRONG_PAGES.keys())
def test_an_entries_page_that_does_not_parse_is_the_peers_error(
        home: Path, hostile: ThreadingHTTPServer, body: bytes) -> None:
    hostile.routes["/entries"] = answer(body)  # type: ignore[attr-defined]
    assert_error(one_round(home), "/entries", "entries page is not in the documented form")


WRONG_CHECKPOINTS = {
    "not a note": b"hello\n",
    "not UTF-8": b"\xff\xfe" + signed_checkpoint(5),
    "JSON": b'{"checkpoint": 5}',
    "signed by another key": SignedNote(
        Checkpoint(HOSTILE, 5, bytes(32)).to_text(),
        (NoteSigner(HOSTILE, PrivateKey.from_seed(bytes(32))).sign(
            Checkpoint(HOSTILE, 5, bytes(32)).to_text()),)).to_text().encode(),
}


@pytest.mark.parametrize("body", WRONG_CHECKPOINTS.values(), ids=WRONG_CHECKPOINTS.keys())
def test_a_checkpoint_that_does_not_parse_or_verify_is_the_peers_error(
        home: Path, hostile: ThreadingHTTPServer, body: bytes) -> None:
    hostile.routes["/checkpoint"] = answer(body, "text/plain")  # type: ignore[attr-defined]
    assert_error(one_round(home), "/checkpoint")


WRONG_PROOFS = {
    "not JSON": b"proof",
    "a list": b"[]",
    "other sizes": b'{"old": 1, "new": 9, "consistency_proof": []}',
    "sizes as strings": b'{"old": "2", "new": "5", "consistency_proof": []}',
    "proof a string": b'{"old": 2, "new": 5, "consistency_proof": "AA=="}',
    "hash too short": b'{"old": 2, "new": 5, "consistency_proof": ["AA=="]}',
    "too many hashes": json.dumps({"old": 2, "new": 5,
                                   "consistency_proof": ["A" * 43 + "="] * 129}).encode(),
}


@pytest.mark.parametrize("body", WRONG_PROOFS.values(), ids=WRONG_PROOFS.keys())
def test_a_consistency_proof_of_the_wrong_shape_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedError):
        ConsistencyReply.from_bytes(body, 2, 5)


def test_the_typed_replies_keep_what_a_well_formed_answer_says() -> None:
    page = EntriesPage.from_bytes(b'{"entries": [{"index": 3, "leaf": "AAE="}, '
                                  b'{"index": 4, "leaf": "AgM="}]}', 3, 10)
    assert page == EntriesPage(3, (b"\x00\x01", b"\x02\x03"))
    proof = ConsistencyReply.from_bytes(
        json.dumps({"old": 2, "new": 5, "consistency_proof": [b64encode(bytes(32))]}).encode(),
        2, 5)
    assert (proof.old, proof.new, len(proof.proof), len(proof.proof[0])) == (2, 5, 1, 32)


def test_a_consistency_proof_of_the_wrong_shape_from_a_peer_is_its_error(
        tmp_path: Path, hostile: ThreadingHTTPServer, sign: Signer) -> None:
    """A mirror at size 2 asks for a proof to 5; the peer answers with the wrong shape: an
    error naming it, and the mirror stays at 2."""
    real = Home(tmp_path / "real-peer").open_ledger(origin=HOSTILE)
    try:
        first = grow(real, sign, HOSTILE_KEY, ["one", "two"])
        entries = [{"index": r.index, "leaf": b64encode(r.leaf)} for r in real.store.entries(0, 2)]
        assert real.signer is not None
        text = Checkpoint(HOSTILE, 5, bytes([7]) * 32).to_text()
        later = SignedNote(text, (real.signer.sign(text),)).to_text()
        vkey = real.vkey
    finally:
        real.close()
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    add_peer(home, HOSTILE, url_of(hostile), vkey)
    routes = hostile.routes  # type: ignore[attr-defined]
    routes["/checkpoint"] = answer(first.encode(), "text/plain")
    routes["/entries"] = answer(json.dumps({"entries": entries}).encode())
    mirrored = one_round(home)
    assert (mirrored.status, mirrored.new_size) == ("mirrored", 2), mirrored
    routes["/checkpoint"] = answer(later.encode(), "text/plain")
    routes["/proof/consistency"] = answer(b'{"old": 2, "new": 5}')
    result = one_round(home)
    assert (result.status, result.old_size, result.new_size) == ("error", 2, 2), result
    assert result.detail.startswith(f"peer {HOSTILE} (") and "/proof/consistency" in \
        result.detail and "consistency proof is not in the documented form" in result.detail


# -- sizes: capped while the answer streams in -----------------------------------------------------


def test_an_endless_body_is_cut_at_the_limit_while_it_streams(
        home: Path, hostile: ThreadingHTTPServer) -> None:
    """An answer that never ends can only be refused by counting while it streams: reading it
    whole first would never finish."""
    hostile.routes["/entries"] = endless  # type: ignore[attr-defined]
    assert_error(one_round(home), "/entries", f"over the limit of {MAX_ENTRIES_PAGE_BYTES} bytes")


def test_an_endless_checkpoint_is_cut_at_the_note_limit(
        home: Path, hostile: ThreadingHTTPServer) -> None:
    hostile.routes["/checkpoint"] = endless  # type: ignore[attr-defined]
    assert_error(one_round(home), "/checkpoint", "over the limit of 65536 bytes")


def test_a_declared_length_over_the_limit_is_refused_before_the_body(
        home: Path, hostile: ThreadingHTTPServer) -> None:
    hostile.routes["/entries"] = declared_too_large  # type: ignore[attr-defined]
    assert_error(one_round(home), f"the answer is {10 << 30} bytes, over the limit")


def test_a_compressed_answer_is_refused(home: Path, hostile: ThreadingHTTPServer) -> None:
    """The count is of the bytes kept: a gzip body (here 1 KiB growing to 1 MiB) could grow
    past any limit in one decompressed chunk, so it is not accepted at all."""
    hostile.routes["/entries"] = compressed  # type: ignore[attr-defined]
    assert_error(one_round(home), "content encoding 'gzip'")


# -- time: connect, read, and the whole answer -------------------------------------------------


def test_a_body_that_stops_halfway_times_out(home: Path, hostile: ThreadingHTTPServer) -> None:
    hostile.routes["/entries"] = stalls  # type: ignore[attr-defined]
    t0 = time.monotonic()
    result = one_round(home, Timeouts.of(QUICK))
    assert time.monotonic() - t0 < 5
    assert_error(result, "/entries", f"the answer stopped for over {QUICK:g} s")


def test_a_body_trickling_in_is_cut_at_the_answer_deadline(
        hostile: ThreadingHTTPServer) -> None:
    """Each byte comes well within the read timeout; the whole answer does not come within
    its deadline."""
    hostile.routes["/entries"] = trickles  # type: ignore[attr-defined]
    t0 = time.monotonic()
    with Fetcher(Timeouts(connect=1, read=1, answer=1)) as fetch, \
            pytest.raises(PeerError) as caught:
        fetch.get("peer x", f"{url_of(hostile)}/entries", 1 << 20)
    assert time.monotonic() - t0 < 5
    assert str(caught.value).startswith(f"peer x: GET {url_of(hostile)}/entries: the answer "
                                        "took over 1 s")


@pytest.fixture
def silent() -> Iterator[str]:
    """A server on 127.0.0.1 whose kernel accepts connections that nobody ever answers."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen(16)
        yield f"http://{HOST}:{s.getsockname()[1]}"


def test_a_peer_that_accepts_and_never_answers_times_out_and_the_round_goes_on(
        tmp_path: Path, silent: str, sign: Signer) -> None:
    """``node sync --timeout`` through the real CLI: the silent peer is reported (text and
    --json), the honest one is mirrored all the same, and the round does not wait longer
    than the timeout asks."""
    honest_home = tmp_path / "honest"
    init_node(honest_home, PEER, f"{HOST}:{free_port()}")
    honest = Home(honest_home).open_ledger(origin=PEER)
    try:
        grow(honest, sign, PrivateKey.from_seed(bytes([3]) * 32), ["a", "b", "c"])
    finally:
        honest.close()
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    add_peer(home, HOSTILE, silent, SIGNER.verifier.to_vkey())
    scratch = tmp_path / "cli"
    scratch.mkdir()
    with running(honest_home) as served:
        add_peer(home, PEER, served.url, node_keys(honest_home)["log"])
        t0 = time.monotonic()
        r = provenance("node", "sync", "--home", home, "--json", "--timeout", str(QUICK),
                       scratch=scratch, ok=(1,))
        took = time.monotonic() - t0
        text = provenance("node", "sync", "--home", home, "--timeout", str(QUICK),
                          scratch=scratch, ok=(1,))
    # The CLI's own start included (up to ~11 s on a loaded host); the silent peer is asked
    # twice (rollback check, checkpoint), so the default 10 s timeout would take over 20.
    assert took < 15, took
    by_origin = {item["origin"]: item for item in r.json()}
    assert by_origin[PEER]["status"] == "mirrored" and by_origin[PEER]["new_size"] == 3
    silent_result = by_origin[HOSTILE]
    assert silent_result["status"] == "error"
    assert silent_result["detail"] == (f"peer {HOSTILE} ({silent}): GET {silent}/checkpoint: "
                                       f"no answer within {QUICK:g} s (--timeout)")
    # The rollback check asked the silent peer too, and said so; it did not stop the round.
    assert f"warning: rollback check: peer {HOSTILE} ({silent}): GET {silent}/cosigned" in r.err
    lines = text.out.splitlines()
    assert lines[-1] == f"1 of 2 peers failed: {HOSTILE}"
    assert f"{PEER}: up-to-date 3 -> 3, cosigned, delivered" in lines
    assert "Traceback" not in r.err + text.err


def test_a_peer_that_is_down_is_one_error_naming_it(home: Path) -> None:
    with socket.socket() as s:  # a port that was free: nothing listens there
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    config = load_config(home)
    with node_witness(home) as witness:
        bad = Peer(HOSTILE, f"http://{HOST}:{port}", config.peers[0].vkey)
        with httpx.Client() as client:
            result = sync_peer(home, bad, witness, client, NOW, timeouts=Timeouts.of(QUICK))
    assert result.status == "error"
    assert result.detail.startswith(f"peer {HOSTILE} (http://{HOST}:{port}): GET "
                                    f"http://{HOST}:{port}/checkpoint: cannot reach it")


def test_the_stated_default_timeout_is_the_one_used() -> None:
    assert Timeouts() == Timeouts.of(None)
    assert (Timeouts().connect, Timeouts().read) == (DEFAULT_TIMEOUT_S, DEFAULT_TIMEOUT_S) \
        == (10.0, 10.0)


def test_a_peer_is_mirrored_when_its_answers_are_good(
        tmp_path: Path, sign: Signer) -> None:
    """The control case for the tests above: the same round against an honest node."""
    peer_home = tmp_path / "peer"
    init_node(peer_home, PEER, f"{HOST}:{free_port()}")
    peer = Home(peer_home).open_ledger(origin=PEER)
    try:
        grow(peer, sign, PrivateKey.from_seed(bytes([4]) * 32), ["x", "y"])
    finally:
        peer.close()
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    with running(peer_home) as served:
        add_peer(home, PEER, served.url, node_keys(peer_home)["log"])
        result = one_round(home, Timeouts.of(QUICK))
    assert (result.status, result.new_size, result.cosigned) == ("mirrored", 2, True), result
