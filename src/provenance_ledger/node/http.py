"""How the node's HTTP layer refuses: package errors to status codes, the service's own
refusals (:class:`HttpError`: sizes, queue, shutdown), the JSON error body
``{"error": "..."}``, and what a storage failure answers: 500 and nothing of its detail, or
503 with ``Retry-After`` while the database cannot be reached (specs/node.md section 2,
"HTTP API" and "Storage unavailable")."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..errors import (
    ConflictError,
    LedgerError,
    NotFoundError,
    RuleError,
    StorageError,
    StorageUnavailableError,
    error_line,
)

if TYPE_CHECKING:  # FastAPI is loaded by the commands that serve, not by node status
    from fastapi.responses import JSONResponse

log = logging.getLogger("provenance_ledger.node")

TEXT = "text/plain; charset=utf-8"

_STATUS = [(ConflictError, 409), (RuleError, 422), (NotFoundError, 404),
           (StorageUnavailableError, 503), (StorageError, 500), (LedgerError, 400)]
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
    """``{"error": message, **extra}``: the message as one line of at most
    ``MAX_ERROR_CHARS`` characters (errors.error_line), whatever of the request it echoes."""
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": error_line(message), **extra}, status_code=status,
                        headers=headers)


INTERNAL = "internal storage error"
"""The whole error line of a storage failure (500): its detail is logged, never answered."""
UNAVAILABLE = ("storage unavailable: the node's database cannot be reached; try again "
               "shortly")
"""The whole error line of a 503 while the store cannot reach its database."""
UNAVAILABLE_RETRY_AFTER_S = 5
"""``Retry-After`` of that 503, in seconds: about what a database server takes to restart."""
UNAVAILABLE_HEADERS = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}


def storage_failure(exc: Exception, path: str) -> tuple[int, str]:
    """The status and the error line of a storage failure, logged once with ``path``: 503 and
    :data:`UNAVAILABLE` (a warning) while the database cannot be reached, else 500 and
    :data:`INTERNAL` (an error). The log holds the store's message, whose database URL has
    its password left out (store/postgres.py); the answer holds neither."""
    fields = {"fields": {"path": path, "error": str(exc)}}
    if isinstance(exc, StorageUnavailableError):
        log.warning("storage unavailable", extra=fields)
        return 503, UNAVAILABLE
    log.error("storage error" if isinstance(exc, LedgerError) else "database error",
              extra=fields)
    return 500, INTERNAL


def storage_failure_response(exc: Exception, path: str) -> JSONResponse:
    """:func:`storage_failure` as the answer: with ``Retry-After`` for a 503."""
    status, line = storage_failure(exc, path)
    return error_response(status, line,
                          headers=UNAVAILABLE_HEADERS if status == 503 else None)
