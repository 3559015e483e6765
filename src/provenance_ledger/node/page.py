"""The verification page and the explorer, served by a node (its HTTP API, specs/node.md
section 2).

- ``GET /page/`` and ``GET /page/{name}``: the static verification page shipped in the
  package (``provenance_ledger/page``), the same files a person opens from disk. It checks
  receipts in the browser; the node serves bytes and nothing it says is trusted by the page.
- ``GET /explorer``: what the page's explorer shows: the log's origin and key, a trust policy
  built from this node's configuration (its log key, its own witness and the witnesses it asks,
  with the quorum it waits for), its most recent checkpoints with the cosignatures collected
  (the browser verifies each against that policy), and the split-view evidence its witness
  holds. Search by file uses the existing ``GET /works/{work}``: the browser hashes the file,
  only the hash is sent.

Leaves out: anything stateful; the page is read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

from .node import Node

PAGE_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "verify.js": "text/javascript; charset=utf-8",
    "state.js": "text/javascript; charset=utf-8",
    "compliance.js": "text/javascript; charset=utf-8",
    "dataset.js": "text/javascript; charset=utf-8",
    "words.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
"""The page's files and their media types; nothing else under ``/page/`` is served."""
PageFile = Literal["index.html", "app.js", "verify.js", "state.js", "compliance.js", "dataset.js",
                   "words.js", "style.css"]

PAGE_HEADERS = {
    # The page runs only its own scripts and talks only to this node.
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
EXPLORER_CHECKPOINTS = 20
"""Most recent checkpoints ``GET /explorer`` lists by default."""
MAX_EXPLORER_CHECKPOINTS = 100
"""Most checkpoints one ``GET /explorer`` lists."""

_ERROR = {"description": "Error", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "string", "description": "one line"}}}}}}


def page_bytes(name: str) -> bytes:
    """One of the page's shipped files."""
    return (resources.files("provenance_ledger") / "page" / name).read_bytes()


def node_policy(node: Node) -> str:
    """A C2SP tlog-policy text (specs/receipts.md section 4) of what this node itself waits
    for: its log key, the witnesses it asks to cosign its checkpoints (by their labels) and the
    quorum of them it waits for. Its own witness is left out: it witnesses other logs, not
    this one. A reader should prefer a policy got out of band."""
    config = node.config
    lines = [f"# the published keys of {config.origin}: trust them as far as you trust this node",
             f"log {node.vkey}"]
    lines += [f"witness {w.name} {w.vkey}" for w in config.witnesses]
    k = config.witnessing.quorum
    members = [w.name for w in config.witnesses]
    if members and k != 0:
        threshold = len(members) if k is None else min(k, len(members))
        lines += [f"group witnessing {threshold} {' '.join(members)}", "quorum witnessing"]
    else:
        lines.append("quorum none")
    return "\n".join(lines) + "\n"


def page_router(node: Callable[[], Node]) -> APIRouter:
    """The page's and the explorer's routes, reading the running node through ``node()``."""
    router = APIRouter()

    @router.get("/page/", summary="The verification page (HTML)",
                response_class=Response,
                responses={200: {"description": "The page",
                                 "content": {"text/html": {"schema": {"type": "string"}}}}})
    def get_page_index() -> Response:
        return Response(page_bytes("index.html"), media_type=PAGE_FILES["index.html"],
                        headers=PAGE_HEADERS)

    @router.get("/page/{name}", summary="One file of the verification page",
                response_class=Response,
                responses={200: {"description": "The file (HTML, JavaScript or CSS)",
                                 "content": {"text/html": {"schema": {"type": "string"}},
                                             "text/javascript": {"schema": {"type": "string"}},
                                             "text/css": {"schema": {"type": "string"}}}}})
    def get_page_file(name: Annotated[PageFile, PathParam()]) -> Response:
        return Response(page_bytes(name), media_type=PAGE_FILES[name], headers=PAGE_HEADERS)

    @router.get("/explorer",
                summary="Recent checkpoints with cosignatures, this node's policy and evidence",
                responses={404: _ERROR})
    def get_explorer(
        limit: Annotated[int, Query(ge=1, le=MAX_EXPLORER_CHECKPOINTS)] = EXPLORER_CHECKPOINTS,
    ) -> dict[str, Any]:
        """``checkpoints``: the latest ``limit`` checkpoints, newest first, each ``{"size",
        "note"}`` with the cosignatures collected; ``evidence`` as ``GET /evidence``."""
        n = node()
        checkpoints: list[dict[str, Any]] = []
        with n.reads.snapshot() as ledger:
            size = ledger.store.latest_checkpoint_size()
            while size is not None and len(checkpoints) < limit:
                cp_size, note = n.checkpoint(ledger, size)
                checkpoints.append({"size": cp_size, "note": note})
                size = ledger.store.checkpoint_at_most(cp_size - 1) if cp_size > 0 else None
        witness = n.witness
        return {"origin": n.config.origin, "log": n.vkey, "policy": node_policy(n),
                "checkpoints": checkpoints,
                "faulty": sorted(witness.faulty_origins()),
                "evidence": [e.to_json() for e in witness.evidence()]}

    return router
