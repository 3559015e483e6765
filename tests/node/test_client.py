"""What the CLI's node client keeps of a node's not-found answer (specs/node.md section 6).

A real HTTP server on 127.0.0.1 plays a node that answers ``GET /works/...`` with 404 and an
``elsewhere`` list in shapes good and bad: the client keeps the documented fields only, since
the list comes from the node and is shown to the user, not trusted.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner
from provenance_ledger.errors import NotFoundError
from provenance_ledger.node.client import MAX_ELSEWHERE, NodeClient

from .conftest import HOST

WORK = "sha256:" + "ab" * 32
REGISTRATION = {"origin": "b.ledger.test/log", "registrant": "ed25519:" + "cd" * 32,
                "id": "ef" * 32, "cosigned_at": "2026-11-24T10:00:00Z", "faulty": False}


class FakeNode(BaseHTTPRequestHandler):
    """``GET /keys`` answers a log key; every ``GET /works/...`` answers 404 with
    ``server.not_found`` as its JSON body."""

    server: Any

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path == "/keys":
            self._send(200, {"log": self.server.vkey})
        else:
            self._send(404, self.server.not_found)

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_node() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((HOST, 0), FakeNode)
    key = PrivateKey.from_seed(hashlib.sha256(b"fake node").digest())
    server.vkey = NoteSigner("fake.ledger.test/log", key).verifier.to_vkey()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def not_found(server: ThreadingHTTPServer, body: Any, tmp_path: Path) -> NotFoundError:
    server.not_found = body  # type: ignore[attr-defined]
    client = NodeClient(f"http://{HOST}:{server.server_address[1]}", tmp_path / "pins")
    try:
        with pytest.raises(NotFoundError) as caught:
            client.state_receipt(WORK)
    finally:
        client.close()
    return caught.value


def test_registrations_elsewhere_reach_the_user_in_the_documented_shape(
        fake_node: ThreadingHTTPServer, tmp_path: Path) -> None:
    extra = {**REGISTRATION, "script": "<not a field>", "faulty": "yes"}
    err = not_found(fake_node, {"error": f"no work {WORK} on this ledger; see b",
                                "elsewhere": [REGISTRATION, extra, "junk", 7]}, tmp_path)
    assert str(err) == f"no work {WORK} on this ledger; see b"
    assert err.elsewhere == [REGISTRATION, {**REGISTRATION, "faulty": False}]


@pytest.mark.parametrize("elsewhere", [None, "b.ledger.test/log", {"origin": "b"}, 3])
def test_a_not_found_without_a_list_of_registrations_names_none(
        fake_node: ThreadingHTTPServer, tmp_path: Path, elsewhere: Any) -> None:
    err = not_found(fake_node, {"error": "no work here", "elsewhere": elsewhere}, tmp_path)
    assert (str(err), err.elsewhere) == ("no work here", [])


def test_a_node_listing_too_many_registrations_is_cut_at_the_limit(
        fake_node: ThreadingHTTPServer, tmp_path: Path) -> None:
    err = not_found(fake_node, {"error": "no work here",
                                "elsewhere": [REGISTRATION] * (MAX_ELSEWHERE + 10)}, tmp_path)
    assert len(err.elsewhere) == MAX_ELSEWHERE
