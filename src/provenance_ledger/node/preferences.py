"""``GET /works/{work}/preferences?format=cawg|tdmrep|aipref|rsl``: a work's consents in the
ecosystem's vocabularies, rendered from the state this node proves (specs/vocabularies.md
section 9; specs/node.md).

The "registry-based preferences" that the aipref attachment draft leaves open: a crawler or a
C2PA tool asks the ledger. The rendering is :func:`..core.vocab.render` of the work's state
now; its pointer to a licence is this node's page for the work (``GET /works/{work}``, from
the request's base URL). Each answer names the standard's version in ``Provenance-Vocabulary``;
an aipref answer also carries the value as a ``Content-Usage`` field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..core.vocab import FORMATS, aipref, preferences, render
from ..errors import NotFoundError
from .disputes import resolve_here
from .node import Node

VOCABULARY_HEADER = "Provenance-Vocabulary"
_ERROR = {"description": "Error", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "string", "description": "one line"}}}}}}
_STRING = {"schema": {"type": "string"}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The rendering: CAWG assertion or tdmrep.json (JSON), aipref "
                         "Content-Usage value (text), or RSL document (XML)",
          "content": {"application/json": {"schema": {"oneOf": [{"type": "object"},
                                                                {"type": "array"}]}},
                      "text/plain": _STRING, "application/rsl+xml": _STRING},
          "headers": {VOCABULARY_HEADER: {"description": "The standard and version followed",
                                          "schema": {"type": "string"}},
                      aipref.FIELD: {"description": "format=aipref: the same value",
                                     "schema": {"type": "string"}}}},
    400: {**_ERROR, "description": "A parameter out of its schema, or a prefix that names "
                                   "more than one work"},
    404: {**_ERROR, "description": "No such work on this log"},
}
WORK_PATTERN = "^(sha256:)?[0-9a-fA-F]{4,64}$"


def preferences_router(node: Callable[[], Node]) -> APIRouter:
    router = APIRouter()

    @router.get("/works/{work}/preferences",
                summary="A work's consents as CAWG, TDMRep, aipref or RSL (default deny)",
                response_class=Response, responses=_RESPONSES)
    async def get_preferences(
        request: Request,
        work: Annotated[str, PathParam(pattern=WORK_PATTERN)],
        format: Annotated[Literal["cawg", "tdmrep", "aipref", "rsl"], Query(
            description=f"One of {', '.join(FORMATS)}")],
        aipref_version: Annotated[Literal["draft-ietf-aipref-vocab-07",
                                          "draft-ietf-aipref-vocab-02"], Query(
            description="format=aipref: the vocabulary draft")] = "draft-ietf-aipref-vocab-07",
    ) -> Response:
        base = str(request.base_url).rstrip("/")
        return await run_in_threadpool(_render, node(), work, format, aipref_version, base)

    return router


def _render(node: Node, work: str, fmt: str, version: str, base: str) -> Response:
    with node.reads.snapshot() as ledger:
        work_id = resolve_here(node.home, node.config, ledger, node.witness, work)
        state = ledger.proven_state(work_id)
    if state is None:  # pragma: no cover - resolve_here found its entries
        raise NotFoundError(f"no work {work} on this ledger")
    out = render(preferences(state, work_id, node.now(), f"{base}/works/{work_id}"), fmt,
                 version)
    headers = {VOCABULARY_HEADER: out.version}
    if fmt == "aipref":
        headers[aipref.FIELD] = out.text.strip()
    media = out.media_type + ("; charset=utf-8" if out.media_type == "text/plain" else "")
    return Response(out.text, media_type=media, headers=headers)
