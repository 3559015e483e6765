"""``GET /cosigned?origin=O``: the latest checkpoint of a log that this node's witness
cosigned (specs/node.md section 8).

A node restored from an old backup cannot see locally that it lost blocks it signed; its
peers can. This route is how it asks them: a peer answers with the signed note of ``O`` it
last cosigned, exactly as it received it (signed by ``O``'s log key, with whatever other
signatures it carried), or 404 when its witness never cosigned ``O``. Nothing here is
trusted by the asker: it verifies the note against its own log key (node/rollback.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from ..core.encoding import MAX_KEY_NAME_BYTES
from ..errors import NotFoundError
from .http import TEXT
from .witness import Witness

_ERROR = {"description": "Error", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "string", "description": "one line"}}}}}}


def cosigned_router(witness: Callable[[], Witness]) -> APIRouter:
    """The route, reading the running node's witness through ``witness()``."""
    router = APIRouter()

    @router.get(
        "/cosigned",
        summary="The latest checkpoint of a log this node's witness cosigned",
        response_class=PlainTextResponse,
        responses={200: {"description": "C2SP signed note, as the witness received it",
                         "content": {TEXT: {"schema": {"type": "string"}}}},
                   400: _ERROR, 404: _ERROR},
    )
    def get_cosigned(
        origin: Annotated[str, Query(min_length=1, max_length=MAX_KEY_NAME_BYTES)],
    ) -> Response:
        """``origin`` is a log's origin line. 404 when this witness never cosigned it."""
        latest = witness().latest(origin)
        if latest is None:
            raise NotFoundError(f"this node's witness has cosigned no checkpoint of {origin}")
        return Response(latest.note, media_type=TEXT)

    return router
