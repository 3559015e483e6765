"""The hot read path: ``GET /proof/inclusion`` answered ahead of FastAPI (specs/node.md,
"Proofs"). The FastAPI route in :mod:`.app` declares the same endpoint in the OpenAPI document
and answers every request this path passes on."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.note import MAX_TREE_SIZE
from ..errors import LedgerError
from .http import HttpError

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"] == "/proof/inclusion"
                and scope["method"] == "GET"):
            query = inclusion_query(scope["query_string"])
            if query is not None:
                try:
                    body = self.node.inclusion_json(*query)
                except (LedgerError, HttpError, sqlite3.Error):
                    pass  # the route answers it, with its error status
                else:
                    await send({"type": "http.response.start", "status": 200, "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)


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
