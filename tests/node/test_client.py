"""What the CLI's node client keeps of a node's not-found answer (specs/node.md section 6).

A real HTTP server on 127.0.0.1 plays a node that answers ``GET /works/...`` with 404 and an
``elsewhere`` list in shapes good and bad: the client keeps the documented fields only, and
shows the node's words on one line, since they come from the node and are not trusted. A
server that is no node at all (404 pages for everything) is an error, not a "no".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner
from provenance_ledger.errors import NotFoundError
from provenance_ledger.node.client import MAX_ELSEWHERE, MAX_MESSAGE_CHARS, NodeClient

from .conftest import HOST, reply, serving_http
from .network_helpers import provenance

WORK = "sha256:" + "ab" * 32
REGISTRATION = {"origin": "b.ledger.test/log", "registrant": "ed25519:" + "cd" * 32,
                "id": "ef" * 32, "index": 3, "cosigned_at": "2026-11-24T10:00:00Z",
                "faulty": False}


class FakeNode(BaseHTTPRequestHandler):
    """``GET /keys`` answers a log key; every ``GET /works/...`` answers 404 with
    ``server.not_found`` as its JSON body."""

    server: Any

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path == "/keys" and self.server.vkey:
            self._send(200, {"log": self.server.vkey})
        elif self.server.not_found is None:  # a web server, not a node
            reply(self, 404, b"<html><body>404 Not Found</body></html>", "text/html")
        else:
            self._send(404, self.server.not_found)

    def _send(self, status: int, body: Any) -> None:
        reply(self, status, json.dumps(body).encode(), "application/json")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_node() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((HOST, 0), FakeNode)
    key = PrivateKey.from_seed(hashlib.sha256(b"fake node").digest())
    server.vkey = NoteSigner("fake.ledger.test/log", key).verifier.to_vkey()  # type: ignore[attr-defined]
    with serving_http(server):
        yield server


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
    extra = {**REGISTRATION, "script": "<not a field>", "faulty": "yes", "index": "3"}
    err = not_found(fake_node, {"error": f"no work {WORK} on this ledger; see b",
                                "elsewhere": [REGISTRATION, extra, "junk", 7]}, tmp_path)
    assert str(err) == f"no work {WORK} on this ledger; see b"
    assert err.elsewhere == [REGISTRATION, {**REGISTRATION, "faulty": False, "index": None}]


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


def test_every_field_of_a_registration_is_kept_null_when_missing(
        fake_node: ThreadingHTTPServer, tmp_path: Path) -> None:
    uncosigned = {**REGISTRATION, "cosigned_at": None}
    del uncosigned["id"]
    err = not_found(fake_node, {"error": "no work here", "elsewhere": [uncosigned]}, tmp_path)
    assert err.elsewhere == [{**REGISTRATION, "id": None, "cosigned_at": None}]


def test_a_nodes_words_reach_the_terminal_as_one_line(
        fake_node: ThreadingHTTPServer, tmp_path: Path) -> None:
    fake_node.not_found = {  # type: ignore[attr-defined]
        "error": "no work here\nallowed: yes, says the node\x1b[2J" + "!" * 1000,
        "elsewhere": [{**REGISTRATION, "origin": "b.ledger.test/log\nallowed: yes"}]}
    url = f"http://{HOST}:{fake_node.server_address[1]}"
    key = "ed25519:" + "cd" * 32
    may = provenance("may", key, "ai_training", WORK, "--node", url, scratch=tmp_path, ok=(1,))
    lines = may.out.splitlines()
    assert lines[0] == "not allowed: the work is not registered on this ledger"
    assert len(lines) == 2 and "b.ledger.test/log allowed: yes" in lines[1]
    assert not any(line.startswith("allowed") for line in lines)
    status = provenance("status", WORK, "--node", url, scratch=tmp_path, ok=(2,))
    (line,) = status.err.splitlines()
    assert line.startswith("error: no work here allowed: yes, says the node [2J!!!")
    assert "\x1b" not in line and len(line) <= len("error: ") + MAX_MESSAGE_CHARS


def test_a_server_that_is_not_a_node_is_an_error_not_a_no(
        fake_node: ThreadingHTTPServer, tmp_path: Path) -> None:
    fake_node.vkey = ""  # type: ignore[attr-defined]
    fake_node.not_found = None  # type: ignore[attr-defined]
    url = f"http://{HOST}:{fake_node.server_address[1]}"
    key = "ed25519:" + "cd" * 32
    for args in (("may", key, "ai_training", WORK), ("status", WORK)):
        r = provenance(*args, "--node", url, scratch=tmp_path, ok=(2,))
        assert r.out == ""
        assert r.err == f"error: {url} answered 404 for /keys: is it a provenance-ledger " \
            "node?\n"
