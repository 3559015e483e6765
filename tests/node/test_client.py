"""What the CLI's node client keeps of a node's not-found answer (specs/node.md section 6).

A real HTTP server on 127.0.0.1 plays a node that answers ``GET /works/...`` with 404 and an
``elsewhere`` list in shapes good and bad: the client keeps the documented fields only, and
shows the node's words on one line, since they come from the node and are not trusted. A
server that is no node at all (404 pages for everything) is an error, not a "no".
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner
from provenance_ledger.errors import NotFoundError
from provenance_ledger.node.client import (
    MAX_ELSEWHERE,
    MAX_MESSAGE_CHARS,
    MAX_RESPONSE_BYTES,
    NodeClient,
)
from provenance_ledger.node.fetch import DEFAULT_TIMEOUT_S

from .conftest import HOST, reply, serving_http
from .network_helpers import CliResult, provenance

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


# -- a node that answers what no node would, or nothing at all (issue 9 section 4, issue 10) ------

PREFIX = "abab"  # a prefix of WORK: resolving it asks the node


class Scripted(BaseHTTPRequestHandler):
    """Answers ``server.routes[path]`` (status, body) for each path; a well-formed /keys."""

    server: Any
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        route = self.server.routes.get(self.path.split("?")[0])
        if route is not None:
            route(self)
        elif self.path == "/keys":
            reply(self, 200, json.dumps({"log": self.server.vkey}).encode(), "application/json")
        else:
            reply(self, 404, b'{"error": "no such thing"}', "application/json")

    def log_message(self, *args: Any) -> None:
        pass


def endless(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.end_headers()
    try:
        while True:
            h.wfile.write(b" " * (64 << 10))
    except OSError:
        pass  # the client hung up


@pytest.fixture
def scripted() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((HOST, 0), Scripted)
    server.daemon_threads = True
    key = PrivateKey.from_seed(hashlib.sha256(b"scripted node").digest())
    server.vkey = NoteSigner("scripted.ledger.test/log", key).verifier.to_vkey()  # type: ignore[attr-defined]
    server.routes = {}  # type: ignore[attr-defined]
    with serving_http(server):
        yield server


def answering(body: bytes) -> Any:
    return lambda h: reply(h, 200, body, "application/json")


def one_error_line(r: CliResult) -> str:
    assert r.out == "" and "Traceback" not in r.err
    (line,) = r.err.splitlines()
    return line


HOSTILE_ANSWERS = {
    "keys not JSON": ("/keys", answering(b"<html>hello</html>"),
                      "/keys: keys is not in the documented form"),
    "keys without a log key": ("/keys", answering(b'{"origin": "x"}'),
                               "/keys: keys is not in the documented form"),
    "keys a list": ("/keys", answering(b'["log"]'), "keys is not a JSON object"),
    "log key that does not parse": ("/keys", answering(b'{"log": "not a key"}'),
                                    "GET /keys: the log key does not parse"),
    "keys never end": ("/keys", endless, f"over the limit of {MAX_RESPONSE_BYTES} bytes"),
    "work view not JSON": (f"/works/{PREFIX}", answering(b"{{{"),
                           f"/works/{PREFIX}: work is not in the documented form"),
    "work view of the wrong shape": (f"/works/{PREFIX}", answering(b'{"work": 5}'),
                                     "field 'work' is missing or not a string"),
    "registrations of the wrong shape": (
        f"/works/{PREFIX}", answering(json.dumps({"work": WORK, "registrations": [
            {"origin": "b", "registrant": 3}]}).encode()),
        "registration field 'registrant' is missing or not a string"),
    "similar registrations of the wrong shape": (
        f"/works/{PREFIX}", answering(json.dumps({"work": WORK, "similar": [
            {"origin": "b", "work": WORK, "registrant": "k", "controller": "k", "id": "e",
             "index": 0, "distance": -1}]}).encode()),
        "similar registration field 'distance' is missing or not a non-negative integer"),
    "similar registrations not a list": (
        f"/works/{PREFIX}", answering(json.dumps({"work": WORK, "similar": {}}).encode()),
        "field 'similar' is not a list of at most 1024"),
}


@pytest.mark.parametrize("route", HOSTILE_ANSWERS.values(), ids=HOSTILE_ANSWERS.keys())
def test_a_node_answering_what_does_not_parse_is_one_line_naming_it(
        scripted: ThreadingHTTPServer, tmp_path: Path, route: Any) -> None:
    path, handler, words = route
    scripted.routes[path] = handler  # type: ignore[attr-defined]
    url = f"http://{HOST}:{scripted.server_address[1]}"
    line = one_error_line(provenance("status", PREFIX, "--node", url, scratch=tmp_path,
                                     ok=(2,)))
    assert line.startswith(f"error: node {url}: "), line
    assert words in line, line


def test_a_state_receipt_of_the_wrong_shape_is_one_line_naming_the_node(
        scripted: ThreadingHTTPServer, tmp_path: Path) -> None:
    scripted.routes[f"/works/{WORK}/state-receipt"] = answering(  # type: ignore[attr-defined]
        b'{"format": "provenance-ledger/state-receipt/v1", "events": "all"}')
    url = f"http://{HOST}:{scripted.server_address[1]}"
    for args in (("status", WORK), ("may", "ed25519:" + "cd" * 32, "ai_training", WORK)):
        line = one_error_line(provenance(*args, "--node", url, scratch=tmp_path, ok=(2,)))
        assert line.startswith(f"error: node {url}: the state receipt of {WORK} is "
                               "malformed: "), line


def test_a_node_that_accepts_and_never_answers_is_one_line_after_the_timeout(
        tmp_path: Path) -> None:
    """The kernel accepts the connection; nobody ever answers. ``--timeout 0.5``: the CLI
    gives up within seconds with one line naming the URL."""
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen(4)
        url = f"http://{HOST}:{silent.getsockname()[1]}"
        t0 = time.monotonic()
        r = provenance("status", WORK, "--node", url, "--timeout", "0.5", scratch=tmp_path,
                       ok=(2,))
        took = time.monotonic() - t0
    assert one_error_line(r) == (f"error: node {url}: GET {url}/keys: no answer within 0.5 s "
                                 "(--timeout)")
    assert took < 8, took  # the CLI's start included; the default would be 10 s


@pytest.mark.parametrize("value", ["0", "-1", "nan", "abc", "1e9"])
def test_a_timeout_that_is_not_a_number_of_seconds_is_bad_input(
        tmp_path: Path, value: str) -> None:
    r = provenance("status", WORK, "--node", f"http://{HOST}:9", "--timeout", value,
                   scratch=tmp_path, ok=(2,))
    line = one_error_line(r)
    assert line.startswith("error: ") and "--timeout" in line, line


def test_every_command_with_node_takes_timeout_and_states_its_default(tmp_path: Path) -> None:
    commands = [("anchor",), ("transfer",), ("status",), ("may",), ("receipt", "get"),
                ("consent", "grant"), ("consent", "revoke"), ("licence", "offer"),
                ("licence", "accept"), ("licence", "terminate")]
    assert DEFAULT_TIMEOUT_S == 10

    def help_text(*command: str) -> str:  # the words of the help, without the panels' frames
        out = provenance(*command, "--help", scratch=tmp_path).out
        return " ".join(out.replace("\u2502", " ").split())

    for command in commands:
        text = help_text(*command)
        assert "--node" in text and "--timeout SECONDS" in text, command
        assert "(default 10; specs/cli.md section 1.3)" in text, command
    for command in (("node", "sync"), ("node", "serve")):
        text = help_text(*command)
        assert "--timeout SECONDS" in text and "(default 10;" in text, command
