"""``POST /events/batch``: many signed events in one request, each answered with its own
result, in order (specs/node.md section 2.2).

The body is the signed leaves, each exactly the bytes ``POST /events`` takes, each followed by
a line feed (the last one optional): a canonical leaf never holds a raw line feed
(specs/events.md section 2.2), so the lines are the leaves byte for byte, with no second
encoding to undo. The count and the bytes are capped while the body streams in. The whole
batch enters the sequencer's queue or none of it does (503), so its events are integrated
together, mostly in one block; a leaf the log already holds is answered with its receipt, as a
single submission is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..core.events import MAX_LEAF_BYTES
from ..core.merkle import leaf_hash
from ..errors import ConflictError, LedgerError, error_line
from .block_receipts import ENCODER, ReceiptReply
from .http import INTERNAL, UNAVAILABLE, HttpError, status_of

if TYPE_CHECKING:
    from .node import Node

MAX_BATCH_EVENTS = 1000
"""Most events one ``POST /events/batch`` holds (a block is at most 1024)."""
MAX_BATCH_BYTES = 4 << 20
"""Largest ``POST /events/batch`` body, in bytes (1000 typical leaves take about 0.5 MiB)."""

_RESULT = {"type": "object", "required": ["id", "status"], "properties": {
    "id": {"type": "string", "pattern": "^[0-9a-f]{64}$",
           "description": "the event id the line would have: SHA-256 of its bytes"},
    "status": {"type": "integer", "description": "what POST /events would have answered"},
    "receipt": {"type": "object", "description": "200: the receipt (receipt/v1)"},
    "error": {"type": "string", "description": "otherwise: one line"},
    "head": {"type": "string", "description": "409: the work's current head"}}}


async def read_batch(request: Request) -> list[bytes]:
    """:func:`batch_lines` of a request's body."""
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise HttpError(400, "Content-Length is not a number")
    return await batch_lines(request.stream(), None if declared is None else int(declared))


async def batch_lines(chunks: AsyncIterator[bytes], declared: int | None) -> list[bytes]:
    """The body's lines (each a leaf), refusing (413) more than ``MAX_BATCH_BYTES`` or more
    than ``MAX_BATCH_EVENTS`` lines as soon as the stream shows it; none for an empty body."""
    if declared is not None and declared > MAX_BATCH_BYTES:
        raise HttpError(413, f"request body is {declared} bytes; the limit is "
                        f"{MAX_BATCH_BYTES}")
    parts: list[bytes] = []
    total = lines = 0
    async for chunk in chunks:
        total += len(chunk)
        lines += chunk.count(b"\n")
        if total > MAX_BATCH_BYTES:
            raise HttpError(413, f"request body is over the limit of {MAX_BATCH_BYTES} bytes")
        if lines > MAX_BATCH_EVENTS:
            raise HttpError(413, f"a batch holds at most {MAX_BATCH_EVENTS} events")
        parts.append(chunk)
    leaves = b"".join(parts).split(b"\n")
    if leaves[-1] == b"":
        leaves.pop()  # the last line feed ends the last leaf (an empty body: no leaf)
    if len(leaves) > MAX_BATCH_EVENTS:
        raise HttpError(413, f"a batch holds at most {MAX_BATCH_EVENTS} events")
    return leaves


def refusal(error: LedgerError) -> dict[str, Any]:
    """A refused event's result, as ``POST /events`` would have answered it."""
    status = status_of(error)
    if status == 500:
        return {"status": 500, "error": INTERNAL}
    if status == 503:  # the database cannot be reached: that line may be sent again later
        return {"status": 503, "error": UNAVAILABLE}
    out: dict[str, Any] = {"status": status, "error": error_line(str(error))}
    if isinstance(error, ConflictError):
        out["head"] = error.head
    return out


async def submit_batch(node: Node, leaves: Sequence[bytes]) -> tuple[bytes, dict[str, str]]:
    """The reply's JSON, ``{"results": [...]}``, each leaf's result in order, and the
    witnessing headers of the batch's receipts. A receipt is the JSON the sequencer encoded
    (node/block_receipts.py), put in as is: the body is what ``JSONResponse`` would encode."""
    results: list[ReceiptReply | dict[str, Any] | None] = [None] * len(leaves)
    queued: list[int] = []
    for i, leaf in enumerate(leaves):
        if len(leaf) > MAX_LEAF_BYTES:
            results[i] = {"status": 413, "error": f"event is {len(leaf)} bytes, over the "
                          f"{MAX_LEAF_BYTES}-byte limit"}
        else:
            queued.append(i)
    futures = node.sequencer.submit_many([leaves[i] for i in queued])
    answers = await asyncio.gather(*futures, return_exceptions=True)
    top = -1
    for i, answer in zip(queued, answers, strict=True):
        if isinstance(answer, LedgerError):
            results[i] = refusal(answer)
        elif isinstance(answer, BaseException):
            raise answer
        else:
            results[i] = answer
            top = max(top, answer.index)
    headers: dict[str, str] = {}
    witnessing = node.witnessing
    if witnessing is not None and top >= 0:
        size = await witnessing.wait(top)
        accepted = [(n, a.index) for n, a in enumerate(results) if isinstance(a, ReceiptReply)]
        docs = await run_in_threadpool(
            lambda: [node.receipt_json(index, size) for _, index in accepted])
        for (n, _), doc in zip(accepted, docs, strict=True):
            results[n] = {"status": 200, "receipt": doc}
        headers = witnessing.status(docs[-1]["checkpoint"]).headers()
    parts = []
    for leaf, result in zip(leaves, results, strict=True):
        assert result is not None  # every line was refused above or queued and answered
        event_id = leaf_hash(leaf).hex()
        if isinstance(result, ReceiptReply):
            parts.append(b'{"id":"%s","status":200,"receipt":%s}' % (event_id.encode(),
                                                                     result.body))
        else:
            parts.append(ENCODER.encode({"id": event_id, **result}).encode("utf-8"))
    return b'{"results":[' + b",".join(parts) + b"]}", headers


def json_reply(body: bytes, headers: Mapping[str, str] | None = None) -> Response:
    """A 200 with JSON ``body`` already encoded, with the headers ``JSONResponse`` gives."""
    return Response(body, headers=headers, media_type="application/json")


def batch_router(get_node: Callable[[], Node], error: Any) -> APIRouter:
    """``POST /events/batch``; ``error``: the app's error response declaration."""
    router = APIRouter()

    @router.post(
        "/events/batch",
        summary="Submit many signed events; reply with each one's result once integrated",
        response_description="Each line's result, in order",
        responses={
            200: {"description": "Each line's result, in order: its receipt (status 200) or "
                  "why it was refused (the status and error POST /events would answer)",
                  "content": {"application/json": {"schema": {
                      "type": "object", "required": ["results"], "properties": {
                          "results": {"type": "array", "items": _RESULT}}}}}},
            413: {**error, "description": f"Over {MAX_BATCH_EVENTS} events or "
                  f"{MAX_BATCH_BYTES} bytes"},
            503: {**error, "description": "The queue cannot take the whole batch, or the "
                  "node is shutting down"}},
        # No body is an empty batch (no results), so the body is not required.
        openapi_extra={"requestBody": {"required": False, "content": {
            "application/octet-stream": {"schema": {
                "type": "string", "format": "binary", "maxLength": MAX_BATCH_BYTES}}}}},
    )
    async def submit_events(request: Request) -> Response:
        """The body is signed leaves, each exactly the bytes ``POST /events`` takes, each
        followed by a line feed (``\\n``; the last one optional), at most
        ``MAX_BATCH_EVENTS`` of them (an empty body: no results). The whole batch is queued
        or none of it (503); the reply comes once every event is integrated (with witnesses
        configured, once the last receipt's checkpoint meets their quorum or the wait
        ends)."""
        node = get_node()
        leaves = await read_batch(request)
        body, headers = await submit_batch(node, leaves)
        return json_reply(body, headers)

    return router
