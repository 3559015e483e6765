"""One write to the socket per response: the HTTP protocol ``node serve`` runs (uvicorn's
httptools protocol, its transport wrapped).

uvicorn writes a response's status line and headers, then its body, as two writes to the
transport, and an idle socket sends each at once: two ``send`` system calls and two TCP
segments for every answer, however small. On the node's host a system call costs as much as a
proof, so the two writes of one event-loop turn are joined here and sent as one, at the end of
the turn (``call_soon``), before anything else runs. Nothing is held longer: a response's
writes all happen within one turn, and a write made in a later turn is sent at the end of
that turn. Closing the transport sends what is held first.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """``transport`` with its writes of one loop turn joined into one."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held) if len(self._held) > 1 else self._held[0]
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stream = cast(asyncio.Transport, transport)  # a stream server's
        super().connection_made(CoalescingTransport(stream, self.loop))  # type: ignore[arg-type]
