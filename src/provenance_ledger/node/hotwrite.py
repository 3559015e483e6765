"""The hot write path: ``POST /events`` and ``POST /events/batch`` answered ahead of FastAPI
(specs/node.md section 2). The FastAPI routes in :mod:`.app` and :mod:`.batch` declare the
same endpoints in the OpenAPI document and answer what this path passes on: every request
while witnesses are configured (a receipt then waits for their quorum, node/witnessing.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.events import MAX_LEAF_BYTES
from ..errors import ConflictError, LedgerError, MalformedError
from .batch import MAX_BATCH_BYTES, batch_lines, json_reply, submit_batch
from .http import HttpError, error_response, status_of, storage_failure_response

if TYPE_CHECKING:
    from .node import Node

_PATHS = {"/events": MAX_LEAF_BYTES, "/events/batch": MAX_BATCH_BYTES}
"""The routes answered here and the largest body of each."""


class HotWrites:
    """ASGI middleware: a submission is read, queued and answered here, without FastAPI's
    routing and exception layers, which cost more per event than integrating it. The answers
    are the routes' own, byte for byte: the same sequencer, the same JSON, the same error
    bodies and statuses (the app's error handlers, :func:`refusal_response`)."""

    def __init__(self, app: ASGIApp, node: Node) -> None:
        self.app = app
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = _PATHS.get(scope["path"]) if scope["type"] == "http" else None
        if limit is None or scope["method"] != "POST" or self.node.witnessing is not None:
            await self.app(scope, receive, send)
            return
        response: Response | None = None
        try:
            declared = _content_length(scope)
            if scope["path"] == "/events":
                body = await read_body(receive, declared, limit)
                check_no_trailing_space(body)
                reply = (await self.node.sequencer.submit_reply(body)).body
            else:
                lines = await batch_lines(_chunks(receive), declared)
                reply, headers = await submit_batch(self.node, lines)
                if headers:  # witnessing headers (none: no witness is configured here)
                    response = json_reply(reply, headers)
        except HttpError as e:
            response = error_response(e.status, str(e), headers=e.headers)
        except LedgerError as e:
            response = refusal_response(e, scope["path"])
        except sqlite3.Error as e:
            response = storage_failure_response(e, scope["path"])
        if response is None:  # the receipts' JSON, encoded already (node/block_receipts.py)
            await send_json(send, reply)
            return
        await response(scope, receive, send)


def check_no_trailing_space(leaf: bytes) -> None:
    """Refuse, with a hint, a leaf that ends in white space after its closing brace (a file
    sent with its trailing newline, ``curl --data-binary @leaf``): the signed bytes are the
    leaf's, and canonical JSON has no white space (specs/node.md section 2)."""
    if leaf[-1:] in (b"\n", b"\r", b" ", b"\t") and leaf.rstrip().endswith(b"}"):
        raise MalformedError("event is not in canonical JSON form (RFC 8785): the body ends in "
                             "white space after the event (a trailing newline?); send the "
                             "signed leaf's exact bytes")


def refusal_response(exc: LedgerError, path: str) -> JSONResponse:
    """A refused submission's answer, as the app's ``LedgerError`` handler gives it."""
    status = status_of(exc)
    if status in (500, 503):
        return storage_failure_response(exc, path)
    if isinstance(exc, ConflictError):
        return error_response(status, str(exc), head=exc.head)
    return error_response(status, str(exc))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                raise HttpError(400, "Content-Length is not a number")
            return int(value)
    return None


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HttpError(400, "the client went away before its request was read")
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def read_body(receive: Receive, declared: int | None, limit: int) -> bytes:
    """The body, refusing (413) more than ``limit`` bytes before reading it all."""
    if declared is not None and declared > limit:
        raise HttpError(413, f"request body is {declared} bytes; the limit is {limit}")
    parts: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HttpError(400, "the client went away before its request was read")
        chunk: bytes = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise HttpError(413, f"request body is over the limit of {limit} bytes")
        if not message.get("more_body", False):
            return b"".join(parts) + chunk if parts else chunk
        parts.append(chunk)


async def send_json(send: Send, body: bytes) -> None:
    """A 200 with JSON ``body``, as ``JSONResponse`` sends it (the same headers, in order)."""
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
