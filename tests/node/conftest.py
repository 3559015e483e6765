"""Node test helpers: real node homes, a real uvicorn server on 127.0.0.1, real peer logs.

A server runs in a thread of the test process (``running``), or in a subprocess where a
signal must reach it (test_shutdown.py). Its clock is the fixed ``NOW`` of tests/conftest.py,
so that events signed at ``NOW`` are admitted and no test reads the clock. The "peer log" is a
second, ordinary ledger in the temporary folder; a *fork* of it is a third ledger with the
same log key and origin but other entries: a test-only way to make a log sign two histories.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import SignedEvent, work_id_of
from provenance_ledger.core.merkle import leaf_hash
from provenance_ledger.core.note import NoteSigner, SignedNote
from provenance_ledger.core.witness import add_checkpoint_body
from provenance_ledger.ledger import Home, Ledger
from provenance_ledger.node import add_peer, init_node
from provenance_ledger.node.server import make_server

from ..conftest import NOW, Signer

HOST = "127.0.0.1"
ORIGIN = "node-a.test/log"
PEER = "peer.test/log"
PEER_WITNESS = "peer.test/witness"
STARTUP_TIMEOUT = 20  # seconds for a server to start listening

if TYPE_CHECKING:
    from .network_helpers import Processes


def poll_until(condition: Callable[[], bool], what: str, timeout: float = STARTUP_TIMEOUT,
               every: float = 0.01) -> None:
    """Return once ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds (a
    test waits for a state, never for time to pass)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(every)



def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def work(name: str) -> str:
    return work_id_of(hashlib.sha256(name.encode()).hexdigest())


def register(sign: Signer, key: PrivateKey, name: str, at: int = NOW) -> SignedEvent:
    return sign(key, "work.register", work(name),
                {"size": len(name), "media_type": "image/png", "title": name}, at=at)


def grant(sign: Signer, key: PrivateKey, name: str, prev: str) -> SignedEvent:
    return sign(key, "consent.grant", work(name),
                {"grantee": "*", "purposes": ["ai_inference"]}, prev=prev)


@dataclass
class RunningNode:
    home: Path
    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kw)


@contextmanager
def running(home: Path, **options: Any) -> Iterator[RunningNode]:
    """A node server for ``home`` on a free port of 127.0.0.1, in a thread; stopped (and its
    lifespan shut down) on exit."""
    port = free_port()
    server = make_server(home, port=port, clock=lambda: NOW, **options)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the node server did not start")
        time.sleep(0.01)
    try:
        yield RunningNode(home, server, thread, f"http://{HOST}:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)


@pytest.fixture
def peer_log(tmp_path: Path) -> Iterator[Ledger]:
    """The peer's own log (a real ledger in its own data directory)."""
    ledger = Home(tmp_path / "peer").open_ledger(origin=PEER)
    yield ledger
    ledger.close()


@pytest.fixture
def peer_witness() -> NoteSigner:
    """The peer's witness key, which cosigns this node's checkpoints."""
    key = PrivateKey.from_seed(hashlib.sha256(b"peer witness").digest())
    return NoteSigner(PEER_WITNESS, key, cosigner=True)


@pytest.fixture
def node_home(tmp_path: Path, peer_log: Ledger, peer_witness: NoteSigner) -> Path:
    """A node home (origin ORIGIN) that trusts the peer log and the peer's witness key."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    add_peer(home, PEER, f"http://{HOST}:9", peer_log.vkey,
             peer_witness.verifier.to_vkey())
    return home


def fork(ledger_home: Path, dest: Path, origin: str) -> Ledger:
    """Test-only fork tool: a new ledger signing with the same log key and origin."""
    dest.mkdir(mode=0o700)
    shutil.copy2(ledger_home / "log.key", dest / "log.key")
    return Home(dest).open_ledger(origin=origin)


def grow(ledger: Ledger, sign: Signer, key: PrivateKey, names: list[str]) -> str:
    """Append one block registering ``names``; return the checkpoint note it signed."""
    for r in ledger.append_block([register(sign, key, n).leaf for n in names], NOW):
        assert not isinstance(r, Exception), r
    return ledger.latest_checkpoint()[1]


def body_for(ledger: Ledger, old: int, note: str | None = None) -> bytes:
    """An add-checkpoint body for the ledger's latest checkpoint, proved from ``old``."""
    cp, latest = ledger.latest_checkpoint()
    proof = ledger.consistency_proof(old, cp.size) if old else []
    return add_checkpoint_body(old, proof, note or latest)


def with_line(note: str, line: str) -> str:
    """``note`` with one more signature line."""
    return note + line


def leaf_id(leaf: bytes) -> str:
    return leaf_hash(leaf).hex()


def note_size(note: str) -> int:
    return int(SignedNote.from_text(note).text.split("\n")[1])


# -- stand-ins for a node: plain http.server servers on 127.0.0.1 ---------------------------------


def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    """Answer ``handler``'s request with ``body``."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def serving_http(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """``server`` (bound to 127.0.0.1) answering in a thread; shut down and closed on exit."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def processes() -> Iterator[Processes]:
    """The node processes a test starts (network_helpers.py), each stopped at its end."""
    from .network_helpers import Processes

    started = Processes()
    try:
        yield started
    finally:
        started.close()
