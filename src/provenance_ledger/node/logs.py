"""The node's logs: JSON lines through :mod:`logging` (ours and uvicorn's) and one access-log
line per request. Logs never carry keys, request bodies or query strings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import MAX_ERROR_CHARS, error_line

log = logging.getLogger("provenance_ledger.node")

_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
"""``json.dumps(..., ensure_ascii=False, default=str)``, made once (``json.dumps`` with
options makes an encoder per call)."""


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and ``extra={"fields": {}}``.
    A text field longer than an error line (a peer's answer quoted in an error, a path a
    client sent) is cut as one (:func:`..errors.error_line`): a peer cannot make a node's log
    line as long as it likes (specs/node.md section 1, logs)."""

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
            for key, value in fields.items():  # an error a peer worded, a path a client sent
                if isinstance(value, str) and len(value) > MAX_ERROR_CHARS:
                    out[key] = error_line(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(out)


ACCESS = "AccessLog"
"""The ``funcName`` of the access log's records (:class:`AccessLog`)."""


class TurnBufferedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler whose access-log lines logged on a running event loop are written
    together at the end of the loop's turn, one write for all of them (a busy node answers
    many requests a turn, each with its access line: a write each cost as much as the line).
    Any other line is written at once, after those held."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._held: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:  # noqa: BLE001 - logging's own rule: a bad record never raises
            self.handleError(record)
            return
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and record.funcName == ACCESS:  # under the handler's lock
            if not self._held:
                loop.call_soon(self.flush_held)
            self._held.append(line)
            return
        self._held.append(line)
        self._write_held()

    def flush_held(self) -> None:
        with self.lock or contextlib.nullcontext():
            self._write_held()

    def _write_held(self) -> None:
        if self._held:
            text = "".join(self._held)
            self._held.clear()
            try:
                self.stream.write(text)
                super().flush()
            except Exception:  # noqa: BLE001 - as logging.StreamHandler.emit
                self.handleError(logging.makeLogRecord({"msg": "log lines lost"}))

    def flush(self) -> None:
        with self.lock or contextlib.nullcontext():  # an RLock: logging.shutdown holds it
            self._write_held()
        super().flush()

    def close(self) -> None:
        self.flush_held()
        super().close()


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Send every log record (ours and uvicorn's) to ``stream`` as JSON lines."""
    # No line shows the thread, process or process name: not looking them up makes each
    # record about 1.5 us cheaper (the logging HOWTO's "Optimization"), per request here.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = TurnBufferedHandler(stream or sys.stderr)
    handler.setFormatter(JsonLinesFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The HTTP client's line per request to a peer or witness (with its query string) is
    # left out: the node's own records say what came of each (specs/node.md section 2).
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


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
            log_request(scope.get("method"), scope.get("path"), status, t0)


def log_request(method: str | None, path: str | None, status: int, t0: float) -> None:
    """The access-log line of one request that started at ``perf_counter()`` ``t0``: its
    method, path (never the query string), status and milliseconds."""
    if log.isEnabledFor(logging.INFO):
        # What log.info would pass on, less the look up the stack for the caller's file and
        # line, which no line of ours shows: a record per request.
        log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None,
                                  ACCESS, {"fields": {
            "method": method, "path": path, "status": status,
            "ms": round(1000 * (time.perf_counter() - t0), 2)}}))
