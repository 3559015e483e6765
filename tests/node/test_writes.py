"""Fewer writes per answer: one write to the socket per response (node/coalesce.py: what a
loop turn writes is sent as one write at the end of the turn, nothing is held past it, and
closing sends it first), and one write for the access-log lines of a turn (node/logs.py)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from provenance_ledger.node.coalesce import CoalescingHttpToolsProtocol, CoalescingTransport
from provenance_ledger.node.logs import ACCESS, TurnBufferedHandler

from .conftest import running

T = TypeVar("T")


def alone(fn: Callable[[], T]) -> T:
    """``fn()`` on a thread of its own, where no event loop runs but the one it makes (the
    test's own thread may have one running, left by another test)."""
    out: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as e:  # noqa: BLE001 - raised again below
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if errors:
        raise errors[0]
    return out[0]


class Recording:
    """A transport that records what reaches it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


def test_the_writes_of_one_turn_go_as_one_at_its_end() -> None:
    async def run() -> list[list[bytes]]:
        real = Recording()
        t = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        seen = []
        t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        t.write(b"{}")
        assert real.writes == [] and t.get_write_buffer_size() == 40
        await asyncio.sleep(0)  # the end of the turn
        seen.append(list(real.writes))
        t.write(b"next")  # a later turn's write is not held past that turn
        await asyncio.sleep(0)
        seen.append(list(real.writes))
        t.write(b"last")
        t.close()  # sends what is held before closing
        seen.append(list(real.writes))
        assert real.closed and t.get_extra_info("peername") == ("127.0.0.1", 1)
        return seen

    first, second, third = alone(lambda: asyncio.run(run()))
    assert first == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    assert second == [*first, b"next"]
    assert third == [*second, b"last"]


def test_a_node_serves_through_it_and_answers_each_request_whole(node_home: Path) -> None:
    """A node runs this protocol, and answers requests sent one after another on one
    connection, each whole (status line, headers, then as many body bytes as it says)."""
    with running(node_home) as node:
        assert issubclass(node.server.config.http, CoalescingHttpToolsProtocol)
        url = httpx.URL(node.url)
        with socket.create_connection((url.host, url.port), timeout=10) as s:
            stream = s.makefile("rb")
            for path in ("/keys", "/checkpoint", "/keys", "/no-such-route"):
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                status = stream.readline()
                headers = {}
                while (line := stream.readline()) != b"\r\n":
                    name, _, value = line.decode().partition(":")
                    headers[name.lower()] = value.strip()
                body = stream.read(int(headers["content-length"]))
                expected = b"404" if path == "/no-such-route" else b"200"
                assert status.split()[1] == expected and len(body) == int(
                    headers["content-length"])


class Lines:
    """A text stream that records each write."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_a_turns_access_lines_are_one_write_and_other_lines_are_not_held() -> None:
    stream = Lines()
    handler = TurnBufferedHandler(stream)  # type: ignore[arg-type]
    log = logging.getLogger("provenance_ledger.test.writes")
    log.propagate, log.handlers = False, [handler]
    log.setLevel(logging.INFO)

    def access(path: str) -> None:
        log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, path, (), None,
                                  ACCESS))

    async def turns() -> list[list[str]]:
        seen = []
        access("a")
        access("b")
        seen.append(list(stream.writes))  # held until the turn ends
        await asyncio.sleep(0)
        seen.append(list(stream.writes))
        access("c")
        log.info("node stopped")  # not held: written at once, after what is held
        seen.append(list(stream.writes))
        access("d")
        return seen

    def outside() -> None:
        log.info("outside a loop")
        access("e")  # no loop runs here: written at once

    held, first, second = alone(lambda: asyncio.run(turns()))
    assert held == [] and first == ["a\nb\n"]
    assert second == ["a\nb\n", "c\nnode stopped\n"]  # the held line first, one write
    alone(outside)
    assert stream.writes[-3:] == ["d\n", "outside a loop\n", "e\n"]  # the turn's end wrote "d"
    log.handlers = []
