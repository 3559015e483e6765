"""The hot read path: ``GET /proof/inclusion`` answered ahead of FastAPI (specs/node.md,
"Proofs"). The FastAPI route in :mod:`.app` declares the same endpoint in the OpenAPI document
and answers every request this path passes on.

Two places answer it: :class:`HotReads`, an ASGI middleware (any ASGI server), and, under
``node serve``, :class:`HotReadsProtocol`, the HTTP protocol itself, as soon as a request's
headers are parsed. The protocol's answer skips what uvicorn does for every request (a
request-response object, an asyncio task, the ASGI calls and their messages), which cost
more than the proof; its bytes on the wire and its access-log line are the ones the ASGI path
gives.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import TYPE_CHECKING

import httptools
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from ..core.note import MAX_TREE_SIZE
from ..errors import LedgerError
from .coalesce import CoalescingHttpToolsProtocol
from .http import HttpError
from .logs import AccessLog, log, log_request

if TYPE_CHECKING:
    from .node import Node


class HotReads:
    """ASGI middleware: a well-formed ``GET /proof/inclusion`` is answered here, without
    FastAPI's routing, validation and exception layers, which cost more than the proof
    itself. Anything else, an error included, goes on to the FastAPI route, which calls the
    same :meth:`Node.inclusion_json` and so gives the same answer (or its validation error)."""

    def __init__(self, app: ASGIApp, node: Node) -> None:
        self.app = app
        self.node = node

    def answer(self, query_string: bytes) -> bytes | None:
        """The 200 body for ``GET /proof/inclusion?<query_string>``, or None when the FastAPI
        route must answer (a query of another form, or any error, with its status)."""
        query = inclusion_query(query_string)
        if query is None:
            return None
        try:
            return self.node.inclusion_json(*query)
        except (LedgerError, HttpError, sqlite3.Error):
            return None  # the route answers it, with its error status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"] == HOT_PATH
                and scope["method"] == "GET"):
            body = self.answer(scope["query_string"])
            if body is not None:
                # The headers of the route's Response, in its order.
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


HOT_PATH = "/proof/inclusion"


_SIZE_DIGITS = len(str(MAX_TREE_SIZE))


def inclusion_query(raw: bytes) -> tuple[int | None, str | None, int | None] | None:
    """(index, id, size) of a plain query string (``index=5&size=9``, ``id=ab12``: the
    three names at most once each, decimal sizes within ``MAX_TREE_SIZE``, ids of hex
    digits); None for anything else, which the FastAPI route then validates."""
    index = event_id = size = None
    seen: set[bytes] = set()
    for part in raw.split(b"&") if raw else ():
        name, eq, value = part.partition(b"=")
        if not eq or name in seen or not value:
            return None
        seen.add(name)
        if name == b"id":
            if len(value) > 64 or not all(c in b"0123456789abcdefABCDEF" for c in value):
                return None
            event_id = value.decode()
        elif name in (b"index", b"size"):
            if len(value) > _SIZE_DIGITS or not value.isdigit() or int(value) > MAX_TREE_SIZE:
                return None
            if name == b"index":
                index = int(value)
            else:
                size = int(value)
        else:
            return None
    return index, event_id, size


class _Answered:
    """Stands for the request-response cycle of a request the protocol answered itself: the
    parser's later callbacks for that request (its body, its end), ``shutdown`` and
    ``connection_lost`` find a cycle that is complete, as uvicorn's is once answered."""

    __slots__ = ()
    response_started = response_complete = True
    disconnected = keep_alive = more_body = waiting_for_100_continue = False
    body = b""
    message_event = asyncio.Event()  # set by connection_lost: nothing ever waits on it


_ANSWERED = _Answered()
_HOT_PATH = HOT_PATH.encode()
_LENGTH = b"content-length: "
_TYPE = b"\r\ncontent-type: application/json\r\n"
HOT_PER_READ = 64
"""Most requests of one read of the socket answered in the protocol: a client pipelining
thousands of requests in one read has the rest go through uvicorn, which answers one at a time
and stops reading meanwhile, so the event loop is never held long by one connection."""
MAX_REQUEST_HEAD = 64 * 1024
"""Most bytes of a request's head (request line and headers) ``node serve`` reads: beyond,
431 and the connection closed (specs/node.md section 2). uvicorn's httptools protocol keeps
a head whole in memory, however long, until it ends."""
HEAD_TIMEOUT_S = 20.0
"""Seconds a connection has to send a whole request head: from the connection's start for
its first request, from the head's first byte for a later one (specs/node.md section 2).
A connection silent that long is closed; one with a head begun gets 408 and is closed."""
BODY_TIMEOUT_S = 20.0
"""Most seconds between two reads of a request's body (and from its head to the first):
beyond, 408 (unless the answer has begun) and the connection closed."""
MAX_CONNECTIONS = 1024
"""Most connections ``node serve`` holds open at once: one more is answered 503 with
``Retry-After`` and closed at once."""
RETRY_AFTER_S = 1
_UVICORN_PARTS = ("cycle", "pipeline", "flow", "parser", "server_state",
                  "limit_concurrency", "on_response_complete", "_unset_keepalive_if_required")


def head_size(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """The bytes of a parsed request head, to within its optional white space: a method of
    at most 7 letters, the target, `` HTTP/1.1`` and each ``name: value`` line."""
    return 20 + len(url) + sum(len(n) + len(v) + 4 for n, v in headers)


class HotReadsProtocol(CoalescingHttpToolsProtocol):
    """``node serve``'s HTTP protocol: uvicorn's, one write per answer
    (:mod:`.coalesce`), and a plain ``GET /proof/inclusion`` answered in the parser's
    callback when the node's app is :class:`.logs.AccessLog` over :class:`HotReads`.

    A request is taken only when uvicorn would start it at once: nothing before it still to
    answer (no pipelined request pending), its connection's writing not paused and its write
    buffer under uvicorn's high-water mark (a client that does not read its answers is slowed
    down as uvicorn slows it), and at most :data:`HOT_PER_READ` a read. Anything else, and
    anything :meth:`HotReads.answer` declines or fails on, goes on to the app as before (a
    failure then gets the app's 500 and its logged traceback).

    Every request's head (request line and headers) is capped at :data:`MAX_REQUEST_HEAD`
    while it streams in (431 and the connection closed beyond), for every route; it must be
    in within :attr:`head_timeout` seconds and each read of its body come within
    :attr:`body_timeout` seconds (408 and closed otherwise); at most
    :attr:`max_connections` connections are open at once (503 beyond)."""

    hot: HotReads | None = None
    head_timeout: float = HEAD_TIMEOUT_S
    body_timeout: float = BODY_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS
    _taken = 0
    _head: int | None = None  # bytes of the request head being read
    _heads = 0  # request heads begun on this connection
    _read_used = 0  # bytes of the current read that belong to bodies and to heads ended in it
    _head_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # node serve's limits (node/server.py), set on uvicorn's Config
        for name, value in getattr(self.config, "connection_limits", {}).items():
            setattr(self, name, value)
        if len(self.connections) > self.max_connections:
            log.warning("too many connections", extra={"fields": {
                "limit": self.max_connections}})
            self._close_with(503, f"the node holds {self.max_connections} connections "
                             "already; try again shortly",
                             (b"retry-after", str(RETRY_AFTER_S).encode()))
            return
        app = self.app
        inner = app.app if isinstance(app, AccessLog) else None
        if isinstance(inner, HotReads) and all(hasattr(self, a) for a in _UVICORN_PARTS):
            self.hot = inner
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def _cancel_timers(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def data_received(self, data: bytes) -> None:
        self._taken = 0
        self._read_used = 0
        inside, heads = self._head is not None, self._heads
        super().data_received(data)
        # Every read counts: all of a read inside one head, and of a read where a head begins,
        # what is not another request's body or head (measured as they end).
        if self._head is not None and not self.transport.is_closing():
            self._head += len(data) if inside and self._heads == heads else max(
                0, len(data) - self._read_used)
            if self._head > MAX_REQUEST_HEAD:
                self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head = 0
        self._heads += 1
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def on_body(self, body: bytes) -> None:
        self._read_used += len(body)
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head is None and (self.cycle is not None and not self.cycle.response_complete):
            return  # a request in flight: its head is in (a later head re-arms the timer)
        if self._head is None:  # nothing sent: closed without an answer
            self.transport.close()
            return
        log.warning("request head timed out", extra={"fields": {
            "timeout_s": self.head_timeout}})
        self._close_with(408, f"request head not received within {self.head_timeout:g} s")

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # the app has not taken what came: not the client's delay
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)
            return
        log.warning("request body timed out", extra={"fields": {
            "timeout_s": self.body_timeout}})
        cycle = self.cycle
        started = cycle is not None and cycle.response_started
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's receive() says the client went away
            cycle.message_event.set()
        if started:
            self.transport.close()
        else:
            self._close_with(408, "request body not received: no bytes for "
                             f"{self.body_timeout:g} s")

    def _refuse_head(self) -> None:
        """431 and close, as uvicorn answers a request it cannot parse (a 400)."""
        log.warning("request head over the limit",
                    extra={"fields": {"limit": MAX_REQUEST_HEAD}})
        self._close_with(431, f"request head over the limit of {MAX_REQUEST_HEAD} bytes")

    def _close_with(self, status: int, text: str, *headers: tuple[bytes, bytes]) -> None:
        """A one-line ``text/plain`` answer with ``connection: close``, then close."""
        self._cancel_timers()
        msg = text.encode()
        out = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *headers):
            out += (name, b": ", value, b"\r\n")
        out += (b"content-type: text/plain; charset=utf-8\r\ncontent-length: ",
                str(len(msg)).encode(), b"\r\nconnection: close\r\n\r\n", msg)
        self.transport.write(b"".join(out))
        self.transport.close()

    def on_headers_complete(self) -> None:
        counted, self._head = self._head or 0, None
        if self.transport.is_closing():  # refused or timed out: nothing more is answered
            self.cycle = _ANSWERED  # type: ignore[assignment]
            return
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        size = head_size(self.url, self.headers)
        self._read_used += max(0, size - counted)
        if size > MAX_REQUEST_HEAD:
            self._refuse_head()
            self.cycle = _ANSWERED  # type: ignore[assignment]
            return
        self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)
        hot = self.hot
        if (hot is not None and (self.cycle is None or self.cycle.response_complete)
                and not self.pipeline and self.limit_concurrency is None
                and self._taken < HOT_PER_READ and not self.flow.write_paused
                and self.transport.get_write_buffer_size() < HIGH_WATER_LIMIT
                and self.parser.get_method() == b"GET" and not self.parser.should_upgrade()):
            t0 = time.perf_counter()
            url = httptools.parse_url(self.url)
            if url.path == _HOT_PATH:
                try:
                    body = hot.answer(url.query or b"")
                except Exception:  # noqa: BLE001 - the app answers it: its 500, logged
                    body = None
                if body is not None:
                    self._taken += 1
                    self._send_hot(body, t0)
                    return
        # An answer of this read armed the keep-alive timer: a request in flight has none.
        self._unset_keepalive_if_required()
        super().on_headers_complete()

    def _send_hot(self, body: bytes, t0: float) -> None:
        """Write the 200 answer as uvicorn's cycle would (status line, its default headers,
        the route's two headers in its order, ``connection: close`` when the request does
        not keep the connection alive), log it, and end the request as uvicorn ends one."""
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        out = [STATUS_LINE[200]]
        for name, value in self.server_state.default_headers:
            out += (name, b": ", value, b"\r\n")
        out += (_LENGTH, str(len(body)).encode(), _TYPE)
        if not keep_alive:
            out.append(b"connection: close\r\n")
        out += (b"\r\n", body)
        self.cycle = _ANSWERED  # type: ignore[assignment]
        self.transport.write(b"".join(out))
        log_request("GET", HOT_PATH, 200, t0)
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()
