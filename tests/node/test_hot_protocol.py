"""``node serve`` answers a plain ``GET /proof/inclusion`` in its HTTP protocol, as soon as the
request's headers are parsed (node/hotpath.py, ``HotReadsProtocol``). What a client receives
must be what the ASGI path gives, byte for byte; requests pipelined on one connection must be
answered in their order; HTTP/1.0 closes; every answer has its access-log line; anything the
hot answer declines (an error, another form of the query) is still the route's."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from provenance_ledger.node.coalesce import CoalescingHttpToolsProtocol
from provenance_ledger.node.hotpath import MAX_REQUEST_HEAD, HotReads, HotReadsProtocol

from ..conftest import KeyFactory, Signer
from .conftest import HOST, ORIGIN, RunningNode, free_port, init_node, register, running

EVENTS = 5


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """One node for the module; the first test to need them submits its events."""
    home = tmp_path_factory.mktemp("hot") / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    with running(home) as node:
        yield node


def _fill(node: RunningNode, sign: Signer, keys: KeyFactory) -> list[str]:
    ids = []
    with node.client() as client:
        size = int(client.get("/checkpoint").text.splitlines()[1])
        key = keys("hot-reader")
        for i in range(size, EVENTS):
            ev = register(sign, key, f"hot{i}")
            r = client.post("/events", content=ev.leaf,
                            headers={"content-type": "application/octet-stream"})
            assert r.status_code == 200
        for i in range(EVENTS):
            ids.append(client.get(f"/proof/inclusion?index={i}").json()["id"])
    return ids


def _exchange(node: RunningNode, raw: bytes) -> bytes:
    """Send ``raw`` (its last request closes the connection) on a new connection and read
    until the server closes it."""
    url = httpx.URL(node.url)
    with socket.create_connection((url.host, url.port), timeout=30) as s:
        s.sendall(raw)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def _answers(stream: bytes) -> list[tuple[bytes, bytes]]:
    """The (head without its date line, body) of each answer in ``stream``."""
    out = []
    while stream:
        head, _, rest = stream.partition(b"\r\n\r\n")
        length = int(re.search(rb"content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        out.append((re.sub(rb"date: [^\r]*\r\n", b"", head + b"\r\n"), rest[:length]))
        stream = rest[length:]
    return out


def _get(path: str, version: str = "1.1", close: bool = False) -> bytes:
    extra = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/{version}\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


def test_node_serve_runs_the_hot_protocol(served: RunningNode) -> None:
    assert served.server.config.http is HotReadsProtocol
    assert issubclass(HotReadsProtocol, CoalescingHttpToolsProtocol)


def test_the_protocols_answer_is_the_asgi_answer_byte_for_byte(
        served: RunningNode, sign: Signer, keys: KeyFactory) -> None:
    """``/proof/%69nclusion`` is the same route, but its raw path is not the hot one: the
    protocol passes it on and the ASGI path answers. Status line, headers (but the date) and
    body must be the same, for every leaf and size."""
    ids = _fill(served, sign, keys)
    for size in range(1, EVENTS + 1):
        for index in range(size):
            query = f"?index={index}&size={size}"
            hot = _answers(_exchange(served, _get("/proof/inclusion" + query, close=True)))
            asgi = _answers(_exchange(served, _get("/proof/%69nclusion" + query, close=True)))
            assert hot == asgi
            head, body = hot[0]
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"content-type: application/json\r\n" in head
            assert json.loads(body)["id"] == ids[index]


def test_the_hot_answers_are_the_fastapi_routes_byte_for_byte(
        served: RunningNode, sign: Signer, keys: KeyFactory) -> None:
    """The protocol's answer, the ASGI layer's (``/proof/%69nclusion``) and the FastAPI
    route's (a parameter given twice with the same value, which only the route takes) are
    the same bytes, headers and their order included (but the date)."""
    ids = _fill(served, sign, keys)
    for index, size in ((0, 1), (2, EVENTS), (EVENTS - 1, EVENTS)):
        query = f"?index={index}&size={size}"
        hot = _answers(_exchange(served, _get("/proof/inclusion" + query, close=True)))
        asgi = _answers(_exchange(served, _get("/proof/%69nclusion" + query, close=True)))
        route = _answers(_exchange(served, _get(f"/proof/inclusion{query}&size={size}",
                                                close=True)))
        assert hot == asgi == route
        assert json.loads(hot[0][1])["id"] == ids[index]


def test_pipelined_requests_are_answered_in_their_order(
        served: RunningNode, sign: Signer, keys: KeyFactory) -> None:
    """Requests sent together on one connection, hot ones among them: each answer comes back
    whole and in the order asked, errors included."""
    ids = _fill(served, sign, keys)
    paths = ["/proof/inclusion?index=0", "/keys", "/proof/inclusion?index=1",
             "/proof/inclusion?index=99", "/proof/inclusion?index=2", "/proof/inclusion?index=3"]
    raw = b"".join(_get(p) for p in paths) + _get("/proof/inclusion?index=4", close=True)
    answers = _answers(_exchange(served, raw))
    assert [h.split(b" ")[1] for h, _ in answers] == [
        b"200", b"200", b"200", b"404", b"200", b"200", b"200"]
    proofs = [json.loads(b)["id"] for h, b in answers if b'"inclusion_proof"' in b]
    assert proofs == ids
    assert b"connection: close" in answers[-1][0]


def test_http_1_0_gets_its_answer_and_the_connection_closes(
        served: RunningNode, sign: Signer, keys: KeyFactory) -> None:
    ids = _fill(served, sign, keys)
    url = httpx.URL(served.url)
    with socket.create_connection((url.host, url.port), timeout=30) as s:
        s.sendall(_get("/proof/inclusion?index=2", version="1.0"))
        out = b""
        while chunk := s.recv(65536):  # ends only because the server closes
            out += chunk
    (head, body), = _answers(out)
    assert b"connection: close\r\n" in head
    assert json.loads(body)["id"] == ids[2]


def test_each_hot_answer_has_its_access_line(
        served: RunningNode, sign: Signer, keys: KeyFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    """Method, path (never the query), status: as the access log writes for any request."""
    _fill(served, sign, keys)
    with caplog.at_level(logging.INFO, logger="provenance_ledger.node"):
        _exchange(served, _get("/proof/inclusion?index=1") + _get("/proof/inclusion?index=0")
                  + _get("/proof/inclusion?index=77") + _get("/keys", close=True))
    lines = [r.fields for r in caplog.records  # type: ignore[attr-defined]
             if r.getMessage() == "request" and r.fields["path"] == "/proof/inclusion"]
    assert [(f["method"], f["status"]) for f in lines] == [("GET", 200), ("GET", 200),
                                                            ("GET", 404)]
    assert all(isinstance(f["ms"], float) and "index" not in json.dumps(f) for f in lines)


def test_what_the_hot_answer_declines_is_the_routes(
        served: RunningNode, sign: Signer, keys: KeyFactory) -> None:
    """Out of range, malformed and both-or-neither queries keep the route's statuses and
    JSON errors."""
    _fill(served, sign, keys)
    with served.client() as client:
        assert client.get("/proof/inclusion?index=5").status_code == 404
        assert client.get("/proof/inclusion?index=1&size=99").status_code == 404
        assert client.get("/proof/inclusion?index=x").status_code == 400
        assert client.get("/proof/inclusion").status_code == 400
        r = client.get("/proof/inclusion?index=1&id=abcd")
        assert r.status_code == 400 and "exactly one" in r.json()["error"]
        r = client.get("/proof/inclusion?index=1&index=2")
        assert r.status_code == 200 and r.json()["index"] in (1, 2)  # the route's choice


@pytest.fixture
def asgi_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests that reached the ASGI app's hot-read layer (so were not
    answered in the protocol)."""
    calls: list[str] = []
    inner = HotReads.__call__

    async def counted(self: HotReads, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope.get("path", ""))
        await inner(self, scope, receive, send)

    monkeypatch.setattr(HotReads, "__call__", counted)
    return calls


def test_plain_proof_requests_never_reach_the_app(
        served: RunningNode, sign: Signer, keys: KeyFactory, asgi_calls: list[str]) -> None:
    """The protocol answers them itself; another spelling of the path goes to the app."""
    _fill(served, sign, keys)
    asgi_calls.clear()
    raw = b"".join(_get(f"/proof/inclusion?index={i}") for i in range(EVENTS))
    answers = _answers(_exchange(served, raw + _get("/proof/%69nclusion?index=1")
                                 + _get("/keys", close=True)))
    assert [h.split(b" ")[1] for h, _ in answers] == [b"200"] * (EVENTS + 2)
    assert asgi_calls == ["/proof/inclusion", "/keys"]  # the %69 one and /keys only


def _protocols(node: RunningNode) -> list[Any]:
    return list(node.server.server_state.connections)


def test_a_request_after_a_hot_answer_in_the_same_read_runs_without_the_idle_timer(
        served: RunningNode, sign: Signer, keys: KeyFactory) -> None:
    """A hot answer arms the keep-alive timer, as any answer does; a request read after it
    (here a submission whose body is still to come) must not be cut off by that timer while
    it is in flight."""
    _fill(served, sign, keys)
    leaf = register(sign, keys("late-body"), "late body").leaf
    url = httpx.URL(served.url)
    with socket.create_connection((url.host, url.port), timeout=30) as s:
        s.sendall(_get("/proof/inclusion?index=0") + (
            f"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            f"application/octet-stream\r\nContent-Length: {len(leaf)}\r\n"
            "Connection: close\r\n\r\n").encode())
        stream = s.makefile("rb")
        head = stream.readline()
        assert head.startswith(b"HTTP/1.1 200")
        while (line := stream.readline()) != b"\r\n":
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        stream.read(length)
        waiting = [p for p in _protocols(served) if p.cycle is not None
                   and not p.cycle.response_complete]
        assert len(waiting) == 1 and waiting[0].timeout_keep_alive_task is None
        s.sendall(leaf)
        rest = stream.read()
    assert rest.startswith(b"HTTP/1.1 200") and b'"inclusion_proof"' in rest


def test_a_client_that_does_not_read_its_answers_is_slowed_down(
        served: RunningNode, sign: Signer, keys: KeyFactory) -> None:
    """Proof requests pipelined by a client that reads none of the answers: the node stops
    reading from it once a little is waiting to be sent, as for any other request, instead of
    answering everything into memory."""
    _fill(served, sign, keys)
    url = httpx.URL(served.url)
    payload = _get("/proof/inclusion?index=3") * 200_000  # ~9 MB of requests
    before = {id(p) for p in _protocols(served)}
    with socket.create_connection((url.host, url.port), timeout=30) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        sent, paused = 0, []
        deadline = time.monotonic() + 120
        while not paused and sent < len(payload) and time.monotonic() < deadline:
            try:
                sent += s.send(payload[sent : sent + 65536])
            except BlockingIOError:
                paused = [p for p in _protocols(served)
                          if id(p) not in before and p.flow.read_paused]
                time.sleep(0.01)  # the node reads on; poll its state again
        assert paused, f"the node read all {sent:,} bytes of requests without pausing"
        assert sent < len(payload)
        assert paused[0].transport.get_write_buffer_size() < 4 * 2**20


def test_a_failure_in_the_hot_answer_is_the_apps_500(
        served: RunningNode, sign: Signer, keys: KeyFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error while answering is not taken for a malformed request (a 400): it
    goes on to the app, whose error is the server's 500, with its traceback logged."""
    _fill(served, sign, keys)
    node = served.server.config.app.app.node

    def broken(*_: Any) -> bytes:
        raise ValueError("a bug")

    monkeypatch.setattr(node, "inclusion_json", broken)
    answers = _answers(_exchange(served, _get("/proof/inclusion?index=1", close=True)))
    assert [(h.split(b" ")[1], b) for h, b in answers] == [(b"500", b"Internal Server Error")]


def _head_answer(node: RunningNode, first: bytes, filler: bytes) -> bytes:
    """Send ``first`` then ``filler`` over and over (a request head that never ends) until
    the node answers and closes, or 16 MiB have gone; what the node answered."""
    url = httpx.URL(node.url)
    with socket.create_connection((url.host, url.port), timeout=30) as s:
        s.sendall(first)
        try:
            for _ in range((16 << 20) // len(filler)):
                s.sendall(filler)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the node closed the connection: its answer is in the receive buffer
        out = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                out += chunk
    return out


@pytest.mark.parametrize(("first", "filler"), [
    (b"GET /proof/inclusion?index=0&x=", b"a" * 65536),  # an endless URL
    (b"GET /keys HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Filler: " + b"b" * 1000 + b"\r\n"),
    (b"GET /keys HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ", b"c" * 65536),  # one endless header
])
def test_a_request_head_is_capped_while_it_streams_in(
        served: RunningNode, first: bytes, filler: bytes) -> None:
    """A peer that sends a request line or headers without end is answered 431 and cut off
    once the head passes MAX_REQUEST_HEAD, rather than have the node keep it all in memory."""
    out = _head_answer(served, first, filler)
    assert out.startswith(b"HTTP/1.1 431 "), out[:200]
    assert b"connection: close\r\n" in out
    assert out.endswith(f"request head over the limit of {MAX_REQUEST_HEAD} bytes".encode())


def test_a_large_body_after_a_small_head_is_not_taken_for_a_large_head(
        served: RunningNode, sign: Signer, keys: KeyFactory) -> None:
    """Only the head counts: requests sent together, a batch body of several reads among them,
    are answered as usual."""
    ids = _fill(served, sign, keys)
    body = b"\n" * 999 + b"x" * (3 << 20)  # refused line by line, but read whole
    raw = (_get("/proof/inclusion?index=0") + (
        f"POST /events/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        "\r\n").encode() + body + _get("/proof/inclusion?index=1", close=True))
    answers = _answers(_exchange(served, raw))
    assert [h.split(b" ")[1] for h, _ in answers] == [b"200", b"200", b"200"]
    assert json.loads(answers[2][1])["id"] == ids[1]
