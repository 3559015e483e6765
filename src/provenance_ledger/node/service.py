"""The node's HTTP API: FastAPI on uvicorn (DESIGN.md "Nodes"; c2sp.org/tlog-witness).

Routes (the OpenAPI document at ``/openapi.json`` lists the same):

- ``POST /events``: one signed leaf (the exact bytes, at most ``MAX_LEAF_BYTES``); replies
  with its receipt once integrated. 400 malformed or bad signature, 409 conflict (with
  ``head``), 422 refused by the rules, 413 too large, 503 + ``Retry-After`` when the queue
  is full or the node is shutting down.
- ``GET /checkpoint[?size=]``: the signed checkpoint note with the cosignatures collected.
- ``GET /entries?start=&end=``: leaves ``[start, end)``, at most ``MAX_ENTRIES_PER_REQUEST``.
- ``GET /proof/inclusion?index=|id=[&size=]``, ``GET /proof/consistency?old=[&new=]``.
- ``GET /works/{work}``, ``GET /works/{work}/state-receipt``, ``GET /receipts/{event_id}``.
- ``POST /add-checkpoint`` (node/witness.py), ``GET /evidence[?origin=]``, ``GET /keys``.

Errors are JSON ``{"error": "..."}`` (plain text for ``add-checkpoint``, as C2SP says).

Writes: submissions wait in a bounded asyncio queue; one sequencer task takes up to
``batch_max`` of them (lingering ``BATCH_LINGER_S`` for more) and integrates them as one block
with ``Ledger.append_block`` on a single writer thread, so the event loop stays free and one
SQLite connection does every write. Reads: each request reads inside one SQLite read
transaction on a per-thread connection (WAL: readers never wait for the writer) through a
key-less ``Ledger(store, None, verifier)``, so a checkpoint and the proofs built against it
come from one snapshot.

Shutdown (SIGTERM/SIGINT, handled by uvicorn): stop accepting connections, let requests in
flight finish (their events are integrated by the still-running sequencer), then refuse new
submissions, integrate whatever is still queued, and close. An event is acknowledged only
after its block is committed (``synchronous=FULL``), so an acknowledged event survives even
SIGKILL.

Logs are JSON lines through :mod:`logging`; they never carry keys or request bodies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import uvicorn
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.encoding import b64encode
from ..core.events import MAX_LEAF_BYTES
from ..core.note import MAX_TREE_SIZE, NoteSigner, Verifier
from ..core.receipt import Receipt
from ..errors import (
    ConflictError,
    LedgerError,
    NotFoundError,
    RuleError,
    StorageError,
)
from ..ledger import MAX_BLOCK_EVENTS, Appended, Home, Ledger, inclusion_proof_with_leaf
from ..store import NodeCache, SqliteStore
from .config import NodeConfig, load_config, log_signer, open_node_ledger, parse_listen
from .cosigned import cosigned_router
from .disputes import registrations, resolve_here
from .witness import (
    MAX_ADD_CHECKPOINT_BYTES,
    SIZE_CONTENT_TYPE,
    LedgerLog,
    Witness,
    open_witness,
)

log = logging.getLogger("provenance_ledger.node")

QUEUE_LIMIT = 4096
"""Most submitted events waiting for the sequencer; beyond it, 503 with Retry-After."""
BATCH_MAX = 1024
"""Most events integrated as one block (at most ledger.MAX_BLOCK_EVENTS)."""
BATCH_LINGER_S = 0.002  # seconds the sequencer waits for more events to fill a block
RETRY_AFTER_S = 1  # seconds a client is asked to wait after a 503
MAX_EVENT_BYTES = MAX_LEAF_BYTES
"""Largest POST /events body, in bytes (a signed leaf)."""
MAX_ENTRIES_PER_REQUEST = 1000
"""Most entries one GET /entries returns."""
LISTEN_BACKLOG = 2048  # pending connections the socket queues, as uvicorn's default
GRACEFUL_SHUTDOWN_S = 30  # seconds in-flight requests get to finish on shutdown
TEXT = "text/plain; charset=utf-8"

_STATUS = [(ConflictError, 409), (RuleError, 422), (NotFoundError, 404), (StorageError, 500),
           (LedgerError, 400)]
"""HTTP status of each package error, most specific first (malformed, bad signature: 400)."""


def status_of(error: LedgerError) -> int:
    return next(code for kind, code in _STATUS if isinstance(error, kind))


class HttpError(Exception):
    """A refusal decided by the service itself (sizes, queue, shutdown)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def error_response(status: int, message: str, *, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


# -- logging -------------------------------------------------------------------------------------


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and ``extra={"fields": {}}``."""

    _second = -1
    _stamp = ""

    def _time(self, created: float) -> str:
        """ISO 8601 UTC with milliseconds; the part up to the second is formatted once a
        second (a busy node logs thousands of lines a second)."""
        second = int(created)
        if second != self._second:
            self._stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._stamp}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Send every log record (ours and uvicorn's) to ``stream`` as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLinesFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class AccessLog:
    """ASGI middleware: one log line per request (method, path, status, milliseconds); the
    path only, never the query string or a body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            log.info("request", extra={"fields": {
                "method": scope.get("method"), "path": scope.get("path"), "status": status,
                "ms": round(1000 * (time.perf_counter() - t0), 2)}})


# -- reads ---------------------------------------------------------------------------------------


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


class Reads:
    """Read snapshots of the ledger: one SQLite connection per thread, one read transaction
    per snapshot, and a key-less ``Ledger`` over it (its frontier loaded in the snapshot)."""

    def __init__(self, db_path: Path, verifier: Verifier) -> None:
        self._path = db_path
        self._verifier = verifier
        self._local = threading.local()
        self._nodes = NodeCache()  # shared by every read connection: hashes never change
        self._stores: list[SqliteStore] = []
        self._lock = threading.Lock()
        self._closed = False

    def store(self) -> SqliteStore:
        """This thread's read connection, outside any transaction."""
        if self._closed:
            raise StorageError("the node is shutting down")
        store: SqliteStore | None = getattr(self._local, "store", None)
        if store is None:
            with self._lock:
                if self._closed:
                    raise StorageError("the node is shutting down")
                store = SqliteStore(self._path, self._nodes)
                self._stores.append(store)
            self._local.store = store
        return store

    @contextmanager
    def snapshot(self) -> Iterator[Ledger]:
        store = self.store()
        store.conn.execute("BEGIN")
        try:
            yield Ledger(store, None, self._verifier)
        finally:
            if store.conn.in_transaction:
                store.conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for s in self._stores:
                s.close()
            self._stores.clear()


# -- the sequencer ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Pending:
    leaf: bytes
    done: asyncio.Future[dict[str, Any]]


class Sequencer:
    """Integrates queued submissions in blocks, one block at a time, on one writer thread."""

    def __init__(self, ledger: Ledger, clock: Callable[[], float], queue_limit: int,
                 batch_max: int, linger_s: float) -> None:
        if not 1 <= batch_max <= MAX_BLOCK_EVENTS:
            raise ValueError(f"batch_max must be 1 to {MAX_BLOCK_EVENTS}")
        if queue_limit < 1:
            raise ValueError("queue_limit must be at least 1")
        self._ledger = ledger
        self._clock = clock
        self._batch_max = batch_max
        self._linger = linger_s
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue(queue_limit)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sequencer")
        self._task: asyncio.Task[None] | None = None
        self.accepting = False
        self.checkpoint_size = ledger.store.latest_checkpoint_size() or 0
        """Size of the latest checkpoint, set once its block is committed (0: none yet)."""

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sequencer")
        self.accepting = True

    async def stop(self) -> None:
        """Refuse new submissions, integrate everything queued, stop the writer thread."""
        self.accepting = False
        if self._task is not None and not self._task.done():
            await self._queue.put(None)
            await self._task
        self._writer.shutdown(wait=True)

    async def submit(self, leaf: bytes) -> dict[str, Any]:
        """Queue ``leaf``; return its receipt JSON once integrated, or raise its refusal."""
        if not self.accepting:
            raise HttpError(503, "the node is shutting down", {"Retry-After": str(RETRY_AFTER_S)})
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Pending(leaf, done))
        except asyncio.QueueFull:
            raise HttpError(503, f"the submission queue is full ({self._queue.maxsize} events); "
                            "retry later", {"Retry-After": str(RETRY_AFTER_S)}) from None
        return await done

    def _drain(self, batch: list[_Pending]) -> bool:
        """Move queued submissions into ``batch`` (up to the block size); True at the stop
        marker."""
        while len(batch) < self._batch_max:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return False
            if item is None:
                return True
            batch.append(item)
        return False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            stopping = self._drain(batch)
            if not stopping and len(batch) < self._batch_max and self._linger > 0:
                await asyncio.sleep(self._linger)
                stopping = self._drain(batch)
            leaves = [p.leaf for p in batch]
            try:
                results = await loop.run_in_executor(self._writer, self._integrate, leaves)
            except Exception as e:  # noqa: BLE001 - every submitter must get an answer
                log.exception("block failed", extra={"fields": {"events": len(batch)}})
                failure = e if isinstance(e, LedgerError) else StorageError(
                    "the block could not be integrated")
                results = [failure] * len(batch)
            for pending, result in zip(batch, results, strict=True):
                if pending.done.done():
                    continue  # the client went away; the event is integrated all the same
                if isinstance(result, LedgerError):
                    pending.done.set_exception(result)
                else:
                    pending.done.set_result(result)

    def _integrate(self, leaves: list[bytes]) -> list[dict[str, Any] | LedgerError]:
        """On the writer thread: one block, then each accepted event's receipt against the
        checkpoint the block signed."""
        t0 = time.perf_counter()
        results = self._ledger.append_block(leaves, int(self._clock()))
        accepted = [r for r in results if isinstance(r, Appended)]
        out: list[dict[str, Any] | LedgerError] = []
        if accepted:
            self.checkpoint_size = self._ledger.size  # committed, with its checkpoint
            cp, note = self._ledger.latest_checkpoint()
        for r in results:
            if isinstance(r, LedgerError):
                out.append(r)
                continue
            proof = self._ledger.inclusion_proof(r.index, cp.size)
            out.append(Receipt(self._ledger.vkey, note, r.index, r.event.leaf,
                               tuple(proof)).to_json())
        log.info("block", extra={"fields": {
            "events": len(leaves), "accepted": len(accepted),
            "size": self._ledger.size, "ms": round(1000 * (time.perf_counter() - t0), 2)}})
        return out


# -- the application ----------------------------------------------------------------------------


class Node:
    """What a running node holds; set up and torn down by the app's lifespan."""

    def __init__(self, home: Path, config: NodeConfig, clock: Callable[[], float],
                 queue_limit: int, batch_max: int, linger_s: float) -> None:
        self.home = home
        self.config = config
        self.clock = clock
        self._queue_limit = queue_limit
        self._batch_max = batch_max
        self._linger = linger_s
        signer: NoteSigner = log_signer(home, config)
        self.log_verifier = signer.verifier
        self.vkey = self.log_verifier.to_vkey()
        self._ledger: Ledger | None = None
        self._sequencer: Sequencer | None = None
        self._reads: Reads | None = None
        self._witness: Witness | None = None

    async def start(self) -> None:
        ledger = open_node_ledger(self.home, self.config)
        if ledger.vkey != self.vkey:  # pragma: no cover - the same key file was just read
            ledger.close()
            raise StorageError("the ledger's log key changed while the node started")
        if ledger.checkpoint_empty_log(self.now()):  # witnessable before its first event
            log.info("signed the empty tree's checkpoint", extra={"fields": {"size": 0}})
        self._ledger = ledger
        self._reads = Reads(Home(self.home).db_path, self.log_verifier)
        self._witness = open_witness(self.home, self.config, LedgerLog(self._reads.snapshot),
                                     self.vkey)
        self._sequencer = Sequencer(ledger, self.clock, self._queue_limit, self._batch_max,
                                    self._linger)
        self._sequencer.start()
        log.info("node started", extra={"fields": {
            "origin": self.config.origin, "witness": self.config.witness_name,
            "size": ledger.size, "peers": len(self.config.peers)}})

    async def stop(self) -> None:
        if self._sequencer is not None:
            await self._sequencer.stop()
        if self._witness is not None:
            self._witness.close()
        if self._reads is not None:
            self._reads.close()
        if self._ledger is not None:
            log.info("node stopped", extra={"fields": {"size": self._ledger.size}})
            self._ledger.close()

    @property
    def sequencer(self) -> Sequencer:
        if self._sequencer is None:
            raise HttpError(503, "the node is not running")
        return self._sequencer

    @property
    def reads(self) -> Reads:
        if self._reads is None:
            raise HttpError(503, "the node is not running")
        return self._reads

    @property
    def witness(self) -> Witness:
        if self._witness is None:
            raise HttpError(503, "the node is not running")
        return self._witness

    def now(self) -> int:
        return int(self.clock())

    def checkpoint(self, ledger: Ledger, size: int | None) -> tuple[int, str]:
        """(size, note with cosignatures) of the latest checkpoint or the one at ``size``."""
        row = ledger.store.latest_checkpoint() if size is None else ledger.store.checkpoint(size)
        if row is None:
            raise NotFoundError("the log is empty: no checkpoint yet" if size is None
                                else f"no checkpoint of size {size} (checkpoints end blocks)")
        return row[0], self.witness.cosigned_note(row[2], row[0], row[1])

    def receipt(self, ledger: Ledger, index: int, size: int | None) -> Receipt:
        cp_size, note = self.checkpoint(ledger, size)
        if index >= cp_size:
            raise NotFoundError(f"entry {index} is not covered by the checkpoint of size "
                                f"{cp_size}")
        entry = ledger.store.entry(index)
        return Receipt(self.vkey, note, index, entry.leaf,
                       tuple(ledger.inclusion_proof(index, cp_size)))

    def inclusion_json(self, index: int | None, event_id: str | None,
                       size: int | None) -> bytes:
        """The JSON body of ``GET /proof/inclusion`` (specs/node.md "Proofs"), against the
        latest checkpoint unless ``size`` is given. Runs on the event loop: one batched read
        of the nodes not in the node cache (~0.05 ms at 10^6 entries) on one warm connection
        costs less than a hop to a worker thread. No read transaction is needed: the size
        comes from the sequencer, which publishes it only once its block is committed, and a
        committed tree node never changes."""
        if (index is None) == (event_id is None):
            raise HttpError(400, "give exactly one of index and id")
        store = self.reads.store()
        if event_id is not None:
            ledger = Ledger(store, None, self.log_verifier)
            index = ledger.entry_by_id(ledger.resolve_event(event_id)).index
        assert index is not None
        latest = self.sequencer.checkpoint_size
        if (size is not None and size > latest) or (size is None and index >= latest):
            # A block may have committed a moment ago, before the sequencer published its
            # size: ask the database, which holds only committed checkpoints.
            latest = max(latest, store.latest_checkpoint_size() or 0)
        if size is None:
            size = latest
        if not 0 <= index < size <= latest:
            raise NotFoundError(f"no leaf {index} in a tree of size {size} (log size {latest})")
        proof, leaf_hash = inclusion_proof_with_leaf(store, index, size)
        # Formatted by hand (integers, hex and base64 need no JSON escaping): json.dumps,
        # let alone FastAPI's validation of a returned dict, costs more than the proof.
        hashes = ", ".join(f'"{b64encode(h)}"' for h in proof)
        return (f'{{"index": {index}, "size": {size}, "id": "{leaf_hash.hex()}", '
                f'"inclusion_proof": [{hashes}]}}').encode()


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


def create_app(
    home: Path,
    *,
    clock: Callable[[], float] = time.time,
    queue_limit: int = QUEUE_LIMIT,
    batch_max: int = BATCH_MAX,
    linger_s: float = BATCH_LINGER_S,
) -> FastAPI:
    """The node's ASGI application; the ledger, witness and sequencer open in its lifespan.
    ``clock`` (seconds since the epoch) is the ledger's admission clock and the witness's
    cosignature time."""
    config = load_config(home)
    node = Node(home, config, clock, queue_limit, batch_max, linger_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await node.start()
        try:
            yield
        finally:
            await node.stop()

    app = FastAPI(
        title="provenance-ledger node",
        version="1",
        summary=f"Append-only log {config.origin}: events, checkpoints, proofs, witnessing",
        lifespan=lifespan,
    )

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, exc: LedgerError) -> Response:
        status = status_of(exc)
        if status == 500:
            log.error("storage error", extra={"fields": {"path": request.url.path,
                                                         "error": str(exc)}})
            return error_response(500, "internal storage error")
        if isinstance(exc, ConflictError):
            return error_response(status, str(exc), head=exc.head)
        if isinstance(exc, NotFoundError) and exc.elsewhere:
            return error_response(status, str(exc), elsewhere=exc.elsewhere)
        return error_response(status, str(exc))

    @app.exception_handler(sqlite3.Error)
    async def database_error(request: Request, exc: sqlite3.Error) -> Response:
        log.error("database error", extra={"fields": {"path": request.url.path,
                                                      "error": str(exc)}})
        return error_response(500, "internal storage error")

    @app.exception_handler(HttpError)
    async def http_error(request: Request, exc: HttpError) -> Response:
        return error_response(exc.status, str(exc), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}"
            for e in exc.errors())
        return error_response(400, problems or "bad request")

    @app.exception_handler(StarletteHTTPException)
    async def http_exception(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(exc.status_code, str(exc.detail))

    app.state.node = node
    app.include_router(cosigned_router(lambda: node.witness))  # node/cosigned.py

    # -- writes ---------------------------------------------------------------------------
    @app.post(
        "/events",
        summary="Submit a signed event; reply with its receipt once integrated",
        response_description="The receipt (provenance-ledger/receipt/v1)",
        responses={400: _ERROR, 409: _ERROR, 413: _ERROR, 422: _ERROR, 503: _ERROR},
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary",
                                                    "maxLength": MAX_EVENT_BYTES}}}}},
    )
    async def submit_event(request: Request) -> JSONResponse:
        """The body is exactly the signed leaf bytes (canonical JSON of the event and its
        signature). 409 names the work's current ``head``; 503 asks to retry later."""
        leaf = await read_body(request, MAX_EVENT_BYTES)
        return JSONResponse(await node.sequencer.submit(leaf))

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
                   413: _ERROR,
                   422: {"description": "The consistency proof does not verify"}},
        openapi_extra={"requestBody": {"required": True, "content": {
            "text/plain": {"schema": {"type": "string",
                                      "maxLength": MAX_ADD_CHECKPOINT_BYTES}}}}},
    )
    async def add_checkpoint(request: Request) -> Response:
        """c2sp.org/tlog-witness: ``old <size>``, consistency proof lines, an empty line, then
        the signed checkpoint. A checkpoint of this node's own log delivers peers'
        cosignatures, which GET /checkpoint then serves."""
        body = await read_body(request, MAX_ADD_CHECKPOINT_BYTES)
        witness = node.witness
        status, text = await asyncio.get_running_loop().run_in_executor(
            None, witness.add_checkpoint, body, node.now())
        # Set the header itself: Starlette would add "; charset=utf-8" to text/x.tlog.size.
        media = SIZE_CONTENT_TYPE if status == 409 else TEXT
        return Response(text.encode(), status_code=status, headers={"content-type": media})

    # -- reads ----------------------------------------------------------------------------
    @app.get("/checkpoint", summary="The latest signed checkpoint, with its cosignatures",
             response_class=PlainTextResponse,
             responses={200: {"description": "C2SP signed note", **_TEXT_BODY}, 404: _ERROR})
    def get_checkpoint(size: OptSize = None, at_most: OptSize = None) -> Response:
        """C2SP tlog-checkpoint signed note text; ``size`` picks an earlier checkpoint, and
        ``at_most`` the largest one not beyond that size (mirrors catch up in steps)."""
        with node.reads.snapshot() as ledger:
            if at_most is not None and size is None:
                size = ledger.store.checkpoint_at_most(at_most)
                if size is None:
                    raise NotFoundError(f"no checkpoint of size {at_most} or less")
            _, note = node.checkpoint(ledger, size)
        return Response(note, media_type=TEXT)

    @app.get("/entries", summary="Log entries by index range [start, end)",
             responses={400: _ERROR})
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
             responses={400: _ERROR, 404: _ERROR})
    async def get_inclusion(index: OptSize = None, id: str | None = None,
                            size: OptSize = None) -> Response:
        """``size`` defaults to the latest checkpoint's. Well-formed requests are answered
        by :class:`HotReads` before they reach this route; it answers the rest (the same
        function, so the same answer, or FastAPI's validation error)."""
        return Response(node.inclusion_json(index, id, size), media_type="application/json")

    @app.get("/proof/consistency", summary="Consistency proof between two tree sizes",
             responses={400: _ERROR})
    def get_consistency(old: Size, new: OptSize = None) -> dict[str, Any]:
        """``new`` defaults to the latest checkpoint's size."""
        with node.reads.snapshot() as ledger:
            if new is None:
                new = node.checkpoint(ledger, None)[0]
            proof = ledger.consistency_proof(old, new)
        return {"old": old, "new": new, "consistency_proof": [b64encode(h) for h in proof]}

    @app.get("/works/{work}", summary="A work's state and history", responses={404: _ERROR})
    def get_work(work: str) -> dict[str, Any]:
        """``work`` is ``sha256:<hex>`` or a unique prefix of one."""
        with node.reads.snapshot() as ledger:
            work_id = resolve_here(node.home, config, ledger, node.witness, work)
            state = ledger.state(work_id)
            history = ledger.history(work_id)
        if state is None:  # pragma: no cover - resolve_work found entries
            raise NotFoundError(f"no work {work} on this ledger")
        with node.reads.snapshot() as ledger:
            across = registrations(node.home, config, ledger, node.witness, work_id)
        return {"work": work_id, "state": state.to_json(),
                "history": [{"index": i, "event": ev.to_json()} for i, ev in history],
                **across}

    @app.get("/works/{work}/state-receipt",
             summary="A work's whole history with inclusion proofs (a state receipt)",
             responses={404: _ERROR})
    def get_state_receipt(work: str) -> dict[str, Any]:
        with node.reads.snapshot() as ledger:
            work_id = resolve_here(node.home, config, ledger, node.witness, work)
            receipt = ledger.state_receipt(work_id)
            row = ledger.store.latest_checkpoint()
            state = ledger.state(work_id)
        assert row is not None  # state_receipt needs a checkpoint
        receipt = replace(receipt, checkpoint=node.witness.cosigned_note(
            receipt.checkpoint, row[0], row[1]))
        return receipt.to_json(state.to_json() if state is not None else None)

    @app.get("/receipts/{event_id}", summary="An event's receipt against a checkpoint",
             responses={400: _ERROR, 404: _ERROR})
    def get_receipt(event_id: str, size: OptSize = None) -> dict[str, Any]:
        """Against the latest checkpoint, or the one of ``size`` (e.g. one with more
        cosignatures); the checkpoint carries the cosignatures collected for it."""
        with node.reads.snapshot() as ledger:
            entry = ledger.entry_by_id(ledger.resolve_event(event_id))
            receipt = node.receipt(ledger, entry.index, size)
        return receipt.to_json()

    @app.get("/evidence", summary="Split-view evidence held by this node's witness")
    def get_evidence(origin: str | None = None) -> dict[str, Any]:
        witness = node.witness
        return {"faulty": sorted(witness.faulty_origins()),
                "evidence": [e.to_json() for e in witness.evidence(origin)]}

    @app.get("/keys", summary="This node's origin and public keys")
    async def get_keys() -> dict[str, str]:
        return {"origin": config.origin, "log": node.vkey,
                "witness_name": config.witness_name, "witness": node.witness.vkey}

    return app


def node_app(home: Path, **app_options: Any) -> ASGIApp:
    """What the server runs: :func:`create_app` behind the access log and the hot reads.
    They sit outside FastAPI's own middleware, so a hot read pays for neither FastAPI's nor
    Starlette's layers; an exception escaping them is uvicorn's 500."""
    app = create_app(home, **app_options)
    return AccessLog(HotReads(app, app.state.node))


def make_server(
    home: Path,
    host: str | None = None,
    port: int | None = None,
    **app_options: Any,
) -> uvicorn.Server:
    """A uvicorn server for the node at ``home``, listening where ``node.toml`` says
    (127.0.0.1 by default) unless ``host``/``port`` are given."""
    config = load_config(home)
    listen_host, listen_port = parse_listen(config.listen)
    server_config = uvicorn.Config(
        node_app(home, **app_options),
        host=listen_host if host is None else host,
        port=listen_port if port is None else port,
        log_config=None,
        access_log=False,  # the app logs each request itself, as JSON
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        lifespan="on",
        server_header=False,
        proxy_headers=False,  # it binds 127.0.0.1 by default: no proxy's headers to trust
    )
    return uvicorn.Server(server_config)


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, made before the server starts so that an address in
    use (or not this machine's) is one clear error rather than a startup failure in the log."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as e:
        sock.close()
        raise LedgerError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    return sock


def serve(home: Path, host: str | None = None, port: int | None = None,
          log_level: str = "info", **app_options: Any) -> None:
    """Run the node until SIGTERM or SIGINT, then shut down gracefully (specs/node.md
    section 2); uvicorn then ends the process by that signal."""
    configure_logging(log_level)
    server = make_server(home, host, port, **app_options)
    sock = listening_socket(server.config.host, server.config.port)
    host = f"[{server.config.host}]" if ":" in server.config.host else server.config.host
    log.info("listening", extra={"fields": {"url": f"http://{host}:{sock.getsockname()[1]}"}})
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
