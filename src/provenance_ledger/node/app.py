"""The node's HTTP API: FastAPI on uvicorn (DESIGN.md "Nodes"; c2sp.org/tlog-witness).

Routes (the OpenAPI document at ``/openapi.json`` lists the same):

- ``POST /events``: one signed leaf (the exact bytes, at most ``MAX_LEAF_BYTES``); replies
  with its receipt once integrated (200, also for a leaf already in the log: a safe retry).
  400 malformed or bad signature, 409 conflict (with ``head``), 422 refused by the rules,
  413 too large, 503 + ``Retry-After`` when the queue is full or the node is shutting down
  (or, on every route that touches the log's store, while its database cannot be reached).
  With witnesses configured, the receipt waits for their quorum (node/witnessing.py).
- ``POST /events/batch``: many signed leaves, one a line; each one's result in order
  (node/batch.py).
- ``GET /checkpoint[?size=]``: the signed checkpoint note with the cosignatures collected
  (and, with witnesses configured, a header naming those that refuse it).
- ``GET /entries?start=&end=``: leaves ``[start, end)``, at most ``MAX_ENTRIES_PER_REQUEST``.
- ``GET /proof/inclusion?index=|id=[&size=]``, ``GET /proof/consistency?old=[&new=]``.
- ``GET /works/{work}``, ``GET /works/{work}/state-receipt``, ``GET /receipts/{event_id}``.
- ``POST /state-receipts``: one state receipt v2 for up to ``MAX_BATCH_WORKS`` works.
- ``POST /similar``: the nearest registration to each of up to ``MAX_CODES`` content codes.
- ``POST /add-checkpoint`` (node/witness.py), ``GET /evidence[?origin=]``, ``GET /keys``.
- ``GET /works?key=``, ``GET /offers?key=&role=``: a key's works and licence offers, paged.
- ``GET /works/{work}/preferences?format=``: the work's consents as CAWG, TDMRep, aipref or
  RSL (node/preferences.py).
- ``GET /page/``, ``GET /page/{name}``, ``GET /explorer``: the verification page and its
  explorer (node/page.py).

Errors are JSON ``{"error": "..."}`` (plain text for ``add-checkpoint``, as C2SP says).

Writes go through :mod:`.sequencer`; reads through :mod:`.reads` snapshots, and well-formed
``GET /proof/inclusion`` requests through :mod:`.hotpath` ahead of FastAPI (the route here
documents it in OpenAPI and answers everything else). Server start-up: :mod:`.server`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.current import MAX_CURRENT_WORKS
from ..core.encoding import b64encode, load_json
from ..core.events import MAX_LEAF_BYTES, full_work_id
from ..core.note import MAX_TREE_SIZE
from ..core.similarity import CODE_PATTERN, MAX_DISTANCE, ContentCode
from ..core.witness import MAX_ADD_CHECKPOINT_BYTES, SIZE_CONTENT_TYPE
from ..errors import ConflictError, LedgerError, MalformedError, NotFoundError
from ..ledger.listing import offers_by, offers_to, works_of
from .batch import batch_router
from .config import load_config
from .cosigned import cosigned_router
from .disputes import registrations, resolve_here
from .fetch import Timeouts
from .freshness import LOOK_S
from .hotpath import HotReads
from .hotwrite import HotWrites, check_no_trailing_space
from .http import (
    TEXT,
    UNAVAILABLE_RETRY_AFTER_S,
    HttpError,
    error_response,
    status_of,
    storage_failure_response,
)
from .logs import AccessLog
from .node import Node
from .page import page_router
from .preferences import preferences_router
from .sequencer import BATCH_LINGER_S, BATCH_MAX, QUEUE_LIMIT
from .shard_routes import (
    SHARD_HEADER,
    frozen_receipt,
    frozen_state_receipt,
    frozen_work,
    shards_router,
)
from .shards import finish_rotation, serving
from .similar import (
    MAX_CODES,
    MAX_CODES_BODY_BYTES,
    nearest_registrations,
    similar_registrations,
)

log = logging.getLogger("provenance_ledger.node")

MAX_EVENT_BYTES = MAX_LEAF_BYTES
"""Largest POST /events body, in bytes (a signed leaf)."""
MAX_ENTRIES_PER_REQUEST = 1000
"""Most entries one GET /entries returns."""
MAX_BATCH_WORKS = MAX_CURRENT_WORKS
"""Most works one POST /state-receipts names (specs/node.md section 2)."""
MAX_BATCH_BODY_BYTES = 1 << 20
"""Largest POST /state-receipts body, in bytes (10,000 work ids take about 750 KB)."""
DECODED_BATCH_WORKS = 100
"""Up to this many works, a batch answer carries the members written for people."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes (413) before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HttpError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise HttpError(413, f"request body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HttpError(413, f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


_ERROR = {"description": "Error", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"], "properties": {
        "error": {"type": "string", "description": "one line"},
        "head": {"type": "string", "description": "409: the work's current head"},
        "elsewhere": {"type": "array", "items": {"type": "object"}, "description":
                      "404 for a work: its registrations on logs this node mirrors "
                      "(specs/node.md section 6)"}}}}}}
_TEXT_BODY = {"content": {TEXT: {"schema": {"type": "string"}}}}

Size = Annotated[int, Query(ge=0, le=MAX_TREE_SIZE)]
OptSize = Annotated[int | None, Query(ge=0, le=MAX_TREE_SIZE)]
EVENT_ID_PATTERN = "^[0-9a-fA-F]{4,64}$"
"""An event id or a unique prefix of one (at least 4 hex digits)."""
WORK_PATTERN = "^(sha256:)?[0-9a-fA-F]{4,64}$"
"""A work id, or a unique prefix of one (``sha256:`` optional, at least 4 hex digits)."""
EventId = Annotated[str, PathParam(pattern=EVENT_ID_PATTERN)]
OptEventId = Annotated[str | None, Query(pattern=EVENT_ID_PATTERN)]
Work = Annotated[str, PathParam(pattern=WORK_PATTERN)]
KEY_PATTERN = "^ed25519:[0-9a-f]{64}$"
"""A public key, as events name it."""
FULL_WORK_PATTERN = "^(sha256:)?[0-9a-fA-F]{64}$"
"""A whole work id (``sha256:`` optional, any case)."""
_PATTERN_WORDS = {EVENT_ID_PATTERN: "an event id or a prefix of one: 4 to 64 hex digits",
                  WORK_PATTERN: "a work id or a prefix of one: 4 to 64 hex digits, "
                                "sha256: optional",
                  KEY_PATTERN: "a public key: ed25519: and 64 lowercase hex digits",
                  FULL_WORK_PATTERN: "a whole work id: 64 hex digits, sha256: optional"}
"""What a 400 says for a value that does not match a pattern."""


def _error(why: str) -> dict[str, Any]:
    """An error response of the OpenAPI document, saying when it happens."""
    return {**_ERROR, "description": why}


_BAD_QUERY = "A parameter out of its schema"
_UNAVAILABLE = {**_ERROR, "description": (
    "The node's database cannot be reached for now (stopped, restarting, taking no more "
    f"connections): try again after Retry-After ({UNAVAILABLE_RETRY_AFTER_S}) seconds "
    '(specs/node.md section 2, "Storage unavailable")'),
    "headers": {"Retry-After": {"description": "seconds to wait before trying again",
                                "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9]+$"}}}}
"""The 503 of every route that reads or writes the log's store."""
_NO_LOG_STORE = ("/keys", "/page/", "/page/{name}", "/evidence", "/cosigned", "/shards/{sid}/")
"""Routes (a trailing ``/``: and every path below) that never touch the log's store: keys
held in memory, the page's files, the witness's own database and frozen shards (SQLite
files of the home), whose failures are 500s."""
_WITNESSING_HEADERS = {
    "Provenance-Witness-Quorum": {"description": "With witnesses configured: how many of "
                                  "them must cosign", "schema": {"type": "string"}},
    "Provenance-Cosigned": {"description": "With witnesses configured: how many of them "
                            "cosigned the receipt's checkpoint", "schema": {"type": "string"}},
    "Provenance-Pending-Witnesses": {"description": "The configured witnesses whose "
                                     "cosignatures the receipt lacks, space-separated",
                                     "schema": {"type": "string"}},
    "Provenance-Refusing-Witnesses": {"description": "Of those, the ones that refused this "
                                      "log's checkpoint (a fork or split view of the log), "
                                      "space-separated", "schema": {"type": "string"}}}
"""Headers of a receipt from POST /events (specs/node.md section 9)."""
_REFUSING_HEADER = {"Provenance-Refusing-Witnesses": {
    "description": "With witnesses configured: the ones whose last answer refused this log's "
                   "checkpoint (a fork or split view of the log) and whose cosignature the "
                   "checkpoint served lacks, space-separated; absent when none",
    "schema": {"type": "string"}}}
"""The header of GET /checkpoint (specs/node.md section 9, "Refusing witnesses")."""


def create_app(
    home: Path,
    *,
    clock: Callable[[], float] = time.time,
    queue_limit: int = QUEUE_LIMIT,
    batch_max: int = BATCH_MAX,
    linger_s: float = BATCH_LINGER_S,
    mirror_interval_s: float | None = None,
    peer_timeouts: Timeouts | None = None,
    freshness_interval_s: float | None = None,
    freshness_look_s: float = LOOK_S,
    startup_errors: list[LedgerError] | None = None,
    started: Callable[[], None] | None = None,
) -> FastAPI:
    """The node's ASGI application; the ledger, witness and sequencer open in its lifespan.
    ``clock`` (seconds since the epoch) is the ledger's admission clock and the witness's
    cosignature time. ``mirror_interval_s`` overrides node.toml's ``mirror_interval``
    (node/autosync.py); ``peer_timeouts`` bound each peer's answers in those rounds.
    ``freshness_interval_s`` overrides ``freshness_interval`` and ``freshness_look_s`` bounds
    the wait between two looks at the latest checkpoint's age (node/freshness.py).
    ``startup_errors`` gets the :class:`LedgerError` that stopped the node's start, if one
    did (node/server.py says it in one line). ``started`` is called once the node has
    started, before it answers (``node serve`` logs ``listening`` then)."""
    finish_rotation(home)  # a rotation cut short is completed first (node/shards.py)
    config = load_config(home)
    node = Node(home, config, clock, queue_limit, batch_max, linger_s,
                mirror_interval_s=mirror_interval_s, peer_timeouts=peer_timeouts,
                freshness_interval_s=freshness_interval_s, freshness_look_s=freshness_look_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with serving(home):  # no rotation while serving (node/shards.py)
            try:
                await node.start()
            except LedgerError as e:  # node serve says it in one line (server.py)
                if startup_errors is not None:
                    startup_errors.append(e)
                raise
            if started is not None:
                started()
            try:
                yield
            finally:
                await node.stop()

    app = FastAPI(
        title="provenance-ledger node",
        version="1",
        summary=f"Append-only log {config.origin}: events, checkpoints, proofs, witnessing",
        lifespan=lifespan,
        # No /docs or /redoc: their HTML pulls scripts from third-party CDNs. The document
        # itself is /openapi.json (specs/node.md section 2).
        docs_url=None,
        redoc_url=None,
        # No redirect built from the client's Host header: /page is redirected explicitly,
        # with a relative Location (add_redirects), and another path with or without a
        # trailing slash it lacks is 404.
        redirect_slashes=False,
    )
    app.state.node = node
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    add_error_handlers(app)
    add_redirects(app)
    add_write_routes(app, node)
    add_read_routes(app, node)
    add_witness_routes(app, node)
    add_listing_routes(app, node)
    add_batch_routes(app, node)
    app.include_router(cosigned_router(lambda: node.witness))  # GET /cosigned (node.md 8)
    # GET /works/{work}/preferences (specs/vocabularies.md section 9)
    app.include_router(preferences_router(lambda: node))
    app.include_router(page_router(lambda: node))  # GET /page/, /explorer (node/page.py)
    app.include_router(batch_router(lambda: node, _ERROR))  # POST /events/batch (node/batch.py)
    app.include_router(shards_router(lambda: node, _ERROR))  # GET /shards (node.md 10.3)
    return app


def add_error_handlers(app: FastAPI) -> None:
    """Every refusal as ``{"error": "..."}`` with its status (specs/node.md, "HTTP API");
    a storage failure is logged and answered 500 without its details, or 503 with
    ``Retry-After`` while the database cannot be reached ("Storage unavailable")."""

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, exc: LedgerError) -> Response:
        status = status_of(exc)
        if status in (500, 503):
            return storage_failure_response(exc, request.url.path)
        if isinstance(exc, ConflictError):
            return error_response(status, str(exc), head=exc.head)
        if isinstance(exc, NotFoundError) and exc.elsewhere:
            return error_response(status, str(exc), elsewhere=exc.elsewhere)
        return error_response(status, str(exc))

    @app.exception_handler(sqlite3.Error)
    async def database_error(request: Request, exc: sqlite3.Error) -> Response:
        return storage_failure_response(exc, request.url.path)

    @app.exception_handler(HttpError)
    async def http_error(request: Request, exc: HttpError) -> Response:
        return error_response(exc.status, str(exc), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: "
            f"{_PATTERN_WORDS.get(e.get('ctx', {}).get('pattern'), e.get('msg'))}"
            for e in exc.errors())
        return error_response(400, problems or "bad request")

    @app.exception_handler(StarletteHTTPException)
    async def http_exception(request: Request, exc: StarletteHTTPException) -> Response:
        # Starlette's 405 carries ``Allow`` (RFC 9110 section 15.5.6): keep its headers,
        # HEAD listed wherever GET is (it is answered there: HeadAsGet).
        headers = dict(exc.headers) if exc.headers else None
        if headers and "allow" in {k.lower() for k in headers}:
            headers = {("Allow" if k.lower() == "allow" else k): (
                allow_with_head(v) if k.lower() == "allow" else v) for k, v in headers.items()}
        return error_response(exc.status_code, str(exc.detail), headers=headers)


def allow_with_head(allow: str) -> str:
    """An ``Allow`` value with HEAD beside GET (RFC 9110 section 9.3.2)."""
    methods = [m.strip() for m in allow.split(",") if m.strip()]
    if "GET" in methods and "HEAD" not in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods)


PAGE_REDIRECT = "/page/"
"""Where ``GET /`` and ``GET /page`` send a browser: a relative reference (RFC 9110 section
10.2.2), never an absolute URL built from the client's Host header."""


def add_redirects(app: FastAPI) -> None:
    """``GET /`` and ``GET /page``: 307 to ``/page/``, a relative ``Location``: a browser's
    way in, not part of the API, so not in the OpenAPI document."""

    def to_page() -> Response:
        return Response(status_code=307, headers={"location": PAGE_REDIRECT})

    for path in ("/", "/page"):
        app.add_api_route(path, to_page, methods=["GET"], include_in_schema=False)


class HeadAsGet:
    """ASGI middleware: HEAD answered wherever GET is (RFC 9110 section 9.3.2), by the GET
    route itself: the request goes on as a GET, and the server, which still sees HEAD, sends
    that answer's status and headers without its body (uvicorn drops a HEAD's body)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)


def add_write_routes(app: FastAPI, node: Node) -> None:
    """``POST /events``."""

    @app.post(
        "/events",
        summary="Submit a signed event; reply with its receipt once integrated",
        response_description="The receipt (provenance-ledger/receipt/v1)",
        responses={200: {"description": "The receipt (provenance-ledger/receipt/v1)",
                         "headers": _WITNESSING_HEADERS},
                   400: _ERROR, 409: _ERROR, 413: _ERROR, 422: _ERROR,
                   503: _error("The queue is full, or the node is shutting down")},
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary",
                                                    "maxLength": MAX_EVENT_BYTES}}}}},
    )
    async def submit_event(request: Request) -> JSONResponse:
        """The body is exactly the signed leaf bytes (canonical JSON of the event and its
        signature). 200 with the receipt also when the log already holds these bytes (a
        retry: the same id, against the latest checkpoint). 409 names the work's current
        ``head``; 503 asks to retry later. With witnesses configured, the receipt waits for
        their quorum or the timeout; its headers say what it carries (node.md section 9)."""
        leaf = await read_body(request, MAX_EVENT_BYTES)
        check_no_trailing_space(leaf)
        receipt = await node.sequencer.submit(leaf)
        witnessing = node.witnessing
        if witnessing is None:
            return JSONResponse(receipt)
        index = receipt["leaf_index"]
        size = await witnessing.wait(index)
        doc = await run_in_threadpool(node.receipt_json, index, size)
        return JSONResponse(doc, headers=witnessing.status(doc["checkpoint"]).headers())


def _refusing_header(node: Node, note: str) -> dict[str, str]:
    """``Provenance-Refusing-Witnesses`` of a checkpoint served (specs/node.md section 9):
    the listed witnesses that refuse this log's checkpoint and did not cosign ``note``."""
    witnessing = node.witnessing
    if witnessing is None:
        return {}
    refusing = witnessing.status(note).refusing
    return {"Provenance-Refusing-Witnesses": " ".join(refusing)} if refusing else {}


def add_read_routes(app: FastAPI, node: Node) -> None:
    """Checkpoints, entries, proofs, works and receipts; each reads one snapshot."""
    config = node.config

    @app.get("/checkpoint", summary="The latest signed checkpoint, with its cosignatures",
             response_class=PlainTextResponse,
             responses={200: {"description": "C2SP signed note", **_TEXT_BODY,
                              "headers": _REFUSING_HEADER},
                        400: _error(_BAD_QUERY), 404: _ERROR})
    def get_checkpoint(size: OptSize = None, at_most: OptSize = None) -> Response:
        """C2SP tlog-checkpoint signed note text; ``size`` picks an earlier checkpoint, and
        ``at_most`` the largest one not beyond that size (mirrors catch up in steps). The
        witnesses that refuse this log's checkpoint, when any, are named in a header
        (specs/node.md section 9, "Refusing witnesses")."""
        with node.reads.snapshot() as ledger:
            if at_most is not None and size is None:
                size = ledger.store.checkpoint_at_most(at_most)
                if size is None:
                    raise NotFoundError(f"no checkpoint of size {at_most} or less")
            _, note = node.checkpoint(ledger, size)
        return Response(note, media_type=TEXT, headers=_refusing_header(node, note))

    @app.get("/entries", summary="Log entries by index range [start, end)",
             responses={400: _error(f"{_BAD_QUERY}, end not above start, more than "
                                    f"{MAX_ENTRIES_PER_REQUEST} entries, or end beyond the "
                                    "log")})
    def get_entries(start: Size, end: Size) -> dict[str, Any]:
        if end <= start:
            raise HttpError(400, f"end ({end}) must be above start ({start})")
        if end - start > MAX_ENTRIES_PER_REQUEST:
            raise HttpError(400, f"at most {MAX_ENTRIES_PER_REQUEST} entries per request; "
                            f"asked for {end - start}")
        with node.reads.snapshot() as ledger:
            if end > ledger.size:
                raise HttpError(400, f"end ({end}) is beyond the log size ({ledger.size})")
            rows = list(ledger.store.entries(start, end))
        return {"entries": [{"index": r.index, "leaf": b64encode(r.leaf)} for r in rows]}

    @app.get("/proof/inclusion", summary="Inclusion proof of an entry, by index or event id",
             responses={400: _error(f"{_BAD_QUERY}, or not exactly one of index and id"),
                        404: _error("No such entry in a tree of that size, or no such "
                                    "event")})
    async def get_inclusion(index: OptSize = None, id: OptEventId = None,
                            size: OptSize = None) -> Response:
        """``size`` defaults to the latest checkpoint's. Well-formed requests are answered
        by :class:`HotReads` before they reach this route; it answers the rest (the same
        function, so the same answer, or FastAPI's validation error)."""
        return Response(node.inclusion_json(index, id, size), media_type="application/json")

    @app.get("/proof/consistency", summary="Consistency proof between two tree sizes",
             responses={400: _error(f"{_BAD_QUERY}, or not old <= new <= the log size"),
                        404: _error("The log is empty: no checkpoint yet")})
    def get_consistency(old: Size, new: OptSize = None) -> dict[str, Any]:
        """``new`` defaults to the latest checkpoint's size."""
        with node.reads.snapshot() as ledger:
            if new is None:
                new = node.checkpoint(ledger, None)[0]
            proof = ledger.consistency_proof(old, new)
        return {"old": old, "new": new, "consistency_proof": [b64encode(h) for h in proof]}

    @app.get("/works/{work}", summary="A work's state and history",
             responses={400: _error("A prefix that names more than one work"),
                        404: _ERROR})
    def get_work(work: Work, response: Response,
                 other_than: Annotated[str | None, Query(
                     pattern=KEY_PATTERN, description="list only the similar registrations "
                     "neither registered nor controlled by this key")] = None,
                 ) -> dict[str, Any]:
        """``work`` is ``sha256:<hex>`` or a unique prefix of one; a whole id the current
        log lacks is looked up in the frozen shards (specs/node.md section 10.4).
        ``other_than``: the similar registrations of other keys only (section 6.1)."""
        with node.reads.snapshot() as ledger:
            try:
                work_id = resolve_here(node.home, config, ledger, node.witness, work)
            except NotFoundError:
                frozen = frozen_work(node, work)
                if frozen is None:
                    raise
                response.headers[SHARD_HEADER] = frozen[1]
                return frozen[0]
            state = ledger.proven_state(work_id)  # from what the signed map proves
            history = ledger.history(work_id)
        if state is None:  # pragma: no cover - resolve_work found entries
            raise NotFoundError(f"no work {work} on this ledger")
        with node.reads.snapshot() as ledger:
            across = registrations(node.home, config, ledger, node.witness, work_id)
            similar = similar_registrations(node.home, config, ledger, work_id, other_than)
        return {"work": work_id, "state": state.to_json(),
                "history": [{"index": i, "event": ev.to_json()} for i, ev in history],
                **across, "similar": similar}

    @app.get("/works/{work}/state-receipt",
             summary="A work's whole history with inclusion proofs and its map proof (a state "
                     "receipt)",
             responses={400: _error("A prefix that names more than one work"),
                        404: _ERROR})
    def get_state_receipt(work: Work, response: Response) -> dict[str, Any]:
        """A state receipt v2 (receipts.md section 11: complete, with the work's map proof)
        once the latest checkpoint carries a map line, else v1. A full work id this log does
        not hold gets the v2 proof of its absence (404 before the map line), or, when a
        frozen shard holds it, that shard's (specs/node.md section 10.4); a prefix must
        name a work of this log."""
        with node.reads.snapshot() as ledger:
            whole = full_work_id(work)
            if whole is not None and not ledger.store.works_present({whole}):
                frozen = frozen_state_receipt(node, whole)
                if frozen is not None:
                    response.headers[SHARD_HEADER] = frozen[1]
                    return frozen[0]
            work_id = whole if whole is not None else resolve_here(
                node.home, config, ledger, node.witness, work)
            complete = ledger.complete_state_receipt([work_id])
            row = ledger.store.latest_checkpoint()
            if complete is None:
                work_id = resolve_here(node.home, config, ledger, node.witness, work)
                receipt = ledger.state_receipt(work_id)
                state = ledger.state(work_id)
        assert row is not None  # state receipts need a checkpoint
        if complete is not None:
            return replace(complete, checkpoint=node.witness.cosigned_note(
                complete.checkpoint, row.size, row.root)).to_json()
        receipt = replace(receipt, checkpoint=node.witness.cosigned_note(
            receipt.checkpoint, row.size, row.root))
        return receipt.to_json(state.to_json() if state is not None else None)

    @app.get("/receipts/{event_id}", summary="An event's receipt against a checkpoint",
             responses={400: _error(f"{_BAD_QUERY}, or a prefix that names more than one "
                                    "event"),
                        404: _error("No such event, or no checkpoint of that size covering "
                                    "it")})
    def get_receipt(event_id: EventId, response: Response, size: OptSize = None
                    ) -> dict[str, Any]:
        """Against the latest checkpoint, or the one of ``size`` (e.g. one with more
        cosignatures); the checkpoint carries the cosignatures collected for it. An event
        the current log lacks is looked up in the frozen shards (specs/node.md 10.4)."""
        with node.reads.snapshot() as ledger:
            try:
                entry = ledger.entry_by_id(ledger.resolve_event(event_id))
            except NotFoundError:
                frozen = frozen_receipt(node, event_id, size)
                if frozen is None:
                    raise
                response.headers[SHARD_HEADER] = frozen[1]
                return frozen[0]
            receipt = node.receipt(ledger, entry.index, size)
        return receipt.to_json()


def add_witness_routes(app: FastAPI, node: Node) -> None:
    """``POST /add-checkpoint`` (c2sp.org/tlog-witness), ``GET /evidence``, ``GET /keys``."""
    config = node.config

    @app.post(
        "/add-checkpoint",
        summary="C2SP tlog-witness add-checkpoint: verify and cosign a checkpoint",
        response_class=PlainTextResponse,
        responses={200: {"description": "cosignature/v1 signature lines", **_TEXT_BODY},
                   400: {"description": "Malformed request or old size > checkpoint size"},
                   403: {"description": "No valid signature by the log key"},
                   404: {"description": "Unknown log origin"},
                   409: {"description": "Old size is not the witness's size (body: size), "
                                        "split view, or faulty origin",
                         "content": {SIZE_CONTENT_TYPE: {"schema": {"type": "string"}}}},
                   413: {"description": "A body over the limit (one line)", **_TEXT_BODY},
                   422: {"description": "The consistency proof does not verify"}},
        openapi_extra={"requestBody": {"required": True, "content": {
            "text/plain": {"schema": {"type": "string",
                                      "maxLength": MAX_ADD_CHECKPOINT_BYTES}}}}},
    )
    async def add_checkpoint(request: Request) -> Response:
        """c2sp.org/tlog-witness: ``old <size>``, consistency proof lines, an empty line, then
        the signed checkpoint. A checkpoint of this node's own log delivers peers'
        cosignatures, which GET /checkpoint then serves."""
        try:
            body = await read_body(request, MAX_ADD_CHECKPOINT_BYTES)
        except HttpError as e:  # the witness protocol's errors are text/plain (C2SP)
            return PlainTextResponse(f"{e}\n", status_code=e.status, headers=e.headers)
        witness = node.witness
        status, text = await asyncio.get_running_loop().run_in_executor(
            None, witness.add_checkpoint, body, node.now())
        # Set the header itself: Starlette would add "; charset=utf-8" to text/x.tlog.size.
        media = SIZE_CONTENT_TYPE if status == 409 else TEXT
        return Response(text.encode(), status_code=status, headers={"content-type": media})

    @app.get("/evidence", summary="Split-view evidence held by this node's witness")
    def get_evidence(origin: str | None = None) -> dict[str, Any]:
        witness = node.witness
        return {"faulty": sorted(witness.faulty_origins()),
                "evidence": [e.to_json() for e in witness.evidence(origin)]}

    @app.get("/keys", summary="This node's origin and public keys")
    async def get_keys() -> dict[str, str]:
        return {"origin": config.origin, "log": node.vkey,
                "witness_name": config.witness_name, "witness": node.witness.vkey}


def add_batch_routes(app: FastAPI, node: Node) -> None:
    """``POST /state-receipts``: one state receipt v2 for many works (the dataset check)."""

    @app.post(
        "/state-receipts",
        summary="One state receipt v2 for many works: one checkpoint, one map multiproof",
        response_description="A state receipt v2 (receipts.md section 11)",
        responses={400: _error("A body that is not {\"works\": [whole work ids]} or names "
                               f"more than {MAX_BATCH_WORKS} works"),
                   404: _error("The latest checkpoint carries no map line yet"),
                   413: _error(f"A body over {MAX_BATCH_BODY_BYTES} bytes")},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
            "schema": {"type": "object", "required": ["works"], "additionalProperties": False,
                       "properties": {"works": {
                           "type": "array", "minItems": 1, "maxItems": MAX_BATCH_WORKS,
                           "items": {"type": "string", "pattern": FULL_WORK_PATTERN}}}}}}}},
    )
    async def post_state_receipts(request: Request) -> dict[str, Any]:
        """The complete state of each work named (whole ids, ``sha256:`` optional, any case)
        as of the latest checkpoint, with the cosignatures collected for it: the works in the
        order first named, each once; a work this log does not hold gets its proof of
        absence. The body is capped while it streams in."""
        works = _batch_works(await read_body(request, MAX_BATCH_BODY_BYTES))
        return await run_in_threadpool(_batch_receipt, node, works)


    @app.post(
        "/similar",
        summary="The nearest registration on this log to each of many content codes",
        response_description='{"size": the checkpoint size the look-up counted entries below, '
                             '"matches": [a registration, or null, for each code]}',
        responses={400: _error('A body that is not {"codes": [ISCC codes], "distance": D} or '
                               f"names more than {MAX_CODES} codes"),
                   413: _error(f"A body over {MAX_CODES_BODY_BYTES} bytes")},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
            "schema": {"type": "object", "required": ["codes", "distance"],
                       "additionalProperties": False, "properties": {
                           "codes": {"type": "array", "minItems": 1, "maxItems": MAX_CODES,
                                     "items": {"type": "string", "pattern": CODE_PATTERN}},
                           "distance": {"type": "integer", "minimum": 0,
                                        "maximum": MAX_DISTANCE}}}}}}},
    )
    async def post_similar(request: Request) -> dict[str, Any]:
        """For each ISCC content code, the nearest registration (then the earliest) on this
        log within ``distance`` bits, below the latest checkpoint's size (specs/node.md
        section 6.2). The body is capped while it streams in."""
        codes, distance = _similar_query(await read_body(request, MAX_CODES_BODY_BYTES))

        def look_up() -> dict[str, Any]:
            with node.reads.snapshot() as ledger:
                return nearest_registrations(ledger, codes, distance)
        return await run_in_threadpool(look_up)


def _similar_query(body: bytes) -> tuple[list[ContentCode], int]:
    """The codes and distance of a POST /similar body."""
    try:
        data = load_json(body, "request body")
    except MalformedError as e:
        if "int_max_str_digits" not in str(e):
            raise
        raise HttpError(400, "request body holds a number too large (more than "
                        f"{sys.get_int_max_str_digits()} digits)") from None
    if not isinstance(data, dict) or data.keys() != {"codes", "distance"} or not isinstance(
            data["codes"], list):
        raise HttpError(400, 'the body must be {"codes": [ISCC codes], "distance": D}')
    distance = data["distance"]
    if type(distance) is float and distance.is_integer():  # 8.0 is the integer 8 in JSON
        distance = int(distance)
    if type(distance) is not int or not 0 <= distance <= MAX_DISTANCE:
        raise HttpError(400, f"distance must be an integer from 0 to {MAX_DISTANCE}")
    raw = data["codes"]
    if not 1 <= len(raw) <= MAX_CODES:
        raise HttpError(400, f"name 1 to {MAX_CODES} codes; got {len(raw)}")
    codes = []
    for n, text in enumerate(raw):
        code = ContentCode.from_text(text) if isinstance(text, str) else None
        if code is None:
            raise HttpError(400, f"codes[{n}] is not an ISCC content code the ledger compares")
        codes.append(code)
    return codes, distance


def _batch_works(body: bytes) -> list[str]:
    """The distinct whole work ids of a POST /state-receipts body, in first-named order."""
    data = load_json(body, "request body")
    if not isinstance(data, dict) or data.keys() != {"works"} or not isinstance(
            data["works"], list):
        raise HttpError(400, 'the body must be {"works": [work ids]}')
    raw = data["works"]
    if not 1 <= len(raw) <= MAX_BATCH_WORKS:
        raise HttpError(400, f"name 1 to {MAX_BATCH_WORKS} works; got {len(raw)}")
    works = []
    for n, w in enumerate(raw):
        whole = full_work_id(w) if isinstance(w, str) else None
        if whole is None:
            raise HttpError(400, f"works[{n}]: {_PATTERN_WORDS[FULL_WORK_PATTERN]}")
        works.append(whole)
    return list(dict.fromkeys(works))


def _batch_receipt(node: Node, works: list[str]) -> dict[str, Any]:
    with node.reads.snapshot() as ledger:
        complete = ledger.complete_state_receipt(works)
        row = ledger.store.latest_checkpoint()
    if complete is None or row is None:
        raise NotFoundError("this log's latest checkpoint carries no map line yet: complete "
                            "state receipts start with its next block")
    return replace(complete, checkpoint=node.witness.cosigned_note(
        complete.checkpoint, row.size, row.root)).to_json(len(works) <= DECODED_BATCH_WORKS)


# -- listings: GET /works, GET /offers (specs/node.md section 2.1) ------------------------------

MAX_LIST_PAGE = 100
"""Most works or offers one listing answer holds: a title is at most a leaf's size, so a
full page stays well within what the --node client reads (node/client.py)."""
ListKey = Annotated[str, Query(pattern=KEY_PATTERN, description="a public key, ed25519:<hex>")]
ListLimit = Annotated[int, Query(ge=1, le=MAX_LIST_PAGE, description="most items answered")]


def add_listing_routes(app: FastAPI, node: Node) -> None:
    """A key's works and licence offers (ledger/listing.py), a page per request, each page
    read in one snapshot; ``next`` is the cursor of the following page (null: none)."""

    @app.get("/works", summary="The works a key registered or controls, a page at a time",
             responses={400: _error(_BAD_QUERY),
                        404: _error("after names a work the key never held")})
    def list_works(
        key: ListKey,
        controlled: bool = False,
        after: Annotated[str | None, Query(pattern=FULL_WORK_PATTERN)] = None,
        limit: ListLimit = MAX_LIST_PAGE,
    ) -> dict[str, Any]:
        """The works ``key`` registered or now controls (``controlled``: now controls), in
        the order it first held them; ``after`` (a page's ``next``) resumes the list."""
        cursor = None if after is None else full_work_id(after)
        with node.reads.snapshot() as ledger:
            page = list(itertools.islice(
                works_of(ledger, key, controlled_only=controlled, after=cursor), limit + 1))
        shown = page[:limit]
        return {"works": [w.to_json() for w in shown],
                "next": shown[-1].work if len(page) > limit else None}

    @app.get("/offers", summary="Licence offers made to a key, or by it, a page at a time",
             responses={400: _error(_BAD_QUERY)})
    def list_offers(
        key: ListKey,
        role: Annotated[Literal["to_accept", "made"], Query(
            description="to_accept: offers naming the key as licensee; made: offers it "
                        "signed")],
        every: Annotated[bool, Query(alias="all", description="also offers no longer "
                                                              "open")] = False,
        after: Annotated[int | None, Query(ge=0, le=MAX_TREE_SIZE)] = None,
        limit: ListLimit = MAX_LIST_PAGE,
    ) -> dict[str, Any]:
        """Offers in log order, each with its state at the node's time and its log
        ``index``; ``after`` (a page's ``next``, an index) resumes the list."""
        pick = offers_to if role == "to_accept" else offers_by
        with node.reads.snapshot() as ledger:
            page = list(itertools.islice(
                pick(ledger, key, node.now(), open_only=not every,
                     after=-1 if after is None else after), limit + 1))
        shown = page[:limit]
        return {"offers": [{**o.to_json(), "index": o.index} for o in shown],
                "next": shown[-1].index if len(page) > limit else None}


# -- end of listings ----------------------------------------------------------------------------


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, made true: a request out of its schema is answered 400 (not the
    422 FastAPI declares by default, which here means "refused by the rules" on
    ``POST /events`` only). Built once."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, summary=app.summary,
                          routes=app.routes)
        for path, item in doc["paths"].items():
            for op in item.values():
                responses = op.get("responses", {})
                if "HTTPValidationError" in str(responses.get("422", "")):
                    del responses["422"]
                    responses.setdefault("400", _error(_BAD_QUERY))
                if not _touches_no_store(path):
                    _declare_unavailable(responses)
        schemas = doc.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
    return app.openapi_schema


def _touches_no_store(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in _NO_LOG_STORE)


def _declare_unavailable(responses: dict[str, Any]) -> None:
    """The 503 of a route that touches the log's store, in one place: a route that declares
    a 503 of its own (a full queue, a shutdown) has both reasons in one description."""
    own = responses.get("503")
    if own is None:
        responses["503"] = _UNAVAILABLE
        return
    responses["503"] = {**own, "description": f"{own['description']}; or: "
                        f"{_UNAVAILABLE['description']}", "headers": _UNAVAILABLE["headers"]}


def node_app(home: Path, **app_options: Any) -> ASGIApp:
    """What the server runs: :func:`create_app` behind the access log and the hot reads.
    They sit outside FastAPI's own middleware, so a hot read pays for neither FastAPI's nor
    Starlette's layers; an exception escaping them is uvicorn's 500."""
    app = create_app(home, **app_options)
    # submissions ahead of FastAPI too (node/hotwrite.py), while no witness is configured
    return AccessLog(HotReads(HeadAsGet(HotWrites(app, app.state.node)), app.state.node))
