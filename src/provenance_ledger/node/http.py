"""How the node's HTTP layer refuses: package errors to status codes, the service's own
refusals (:class:`HttpError`: sizes, queue, shutdown) and the JSON error body
``{"error": "..."}`` (specs/node.md, "HTTP API")."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from ..errors import (
    ConflictError,
    LedgerError,
    NotFoundError,
    RuleError,
    StorageError,
    error_line,
)

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
    """``{"error": message, **extra}``: the message as one line of at most
    ``MAX_ERROR_CHARS`` characters (errors.error_line), whatever of the request it echoes."""
    return JSONResponse({"error": error_line(message), **extra}, status_code=status,
                        headers=headers)
