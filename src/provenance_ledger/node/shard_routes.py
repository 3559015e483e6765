"""The HTTP routes of a node's shards (specs/node.md section 10.3): ``GET /shards`` lists
them; ``/shards/{id}/...`` serves a frozen shard as the node serves its current log
(checkpoint, entries, proofs, receipts, keys), so that a mirror or a client can use
``<node URL>/shards/<id>`` as the base URL of that log, ``POST /shards/{id}/add-checkpoint``
included: a mirror of the frozen shard delivers its cosignature there, as to any log it
mirrors (node/witness.py takes it, node/frozen_cosign.py keeps it). And the look-ups that
span shards:
a work the current log lacks is answered from the newest frozen shard that holds it.

Each request opens the frozen shard's database read-only for its own use: frozen shards are
read rarely, and a frozen database never changes, so nothing is cached or shared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response

from ..core.encoding import b64encode
from ..core.events import full_work_id
from ..core.note import MAX_TREE_SIZE
from ..core.timefmt import format_time
from ..core.witness import MAX_ADD_CHECKPOINT_BYTES, SIZE_CONTENT_TYPE
from ..errors import NotFoundError
from .http import TEXT, HttpError
from .shard_manifest import SHARD_ID, FrozenShard, Manifest, load_manifest
from .shards import frozen_ledger, frozen_note, shard_of

if TYPE_CHECKING:
    from ..ledger import Ledger
    from .node import Node

SHARD_HEADER = "Provenance-Shard"
"""On an answer from a frozen shard: its origin."""
MAX_ENTRIES = 1000  # as GET /entries
ShardId = Annotated[str, PathParam(pattern=f"^{SHARD_ID.pattern}$",
                                   description="a frozen shard's id (GET /shards)")]
Size = Annotated[int, Query(ge=0, le=MAX_TREE_SIZE)]
OptSize = Annotated[int | None, Query(ge=0, le=MAX_TREE_SIZE)]
OptEventId = Annotated[str | None, Query(pattern="^[0-9a-fA-F]{4,64}$")]
EventId = Annotated[str, PathParam(pattern="^[0-9a-fA-F]{4,64}$")]


def manifest_of(node: Node) -> Manifest:
    return load_manifest(node.home, node.config.origin)


def _time(t: int | None) -> str | None:
    return None if t is None else format_time(t)


def shards_json(node: Node) -> dict[str, Any]:
    """``GET /shards``: the current log and the frozen ones, newest first."""
    manifest = manifest_of(node)
    with node.reads.snapshot() as ledger:
        latest = ledger.store.latest_checkpoint()
        first = next(ledger.store.checkpoints(), None)
    frozen = [{"origin": s.origin, "id": s.id, "vkey": s.vkey,
               "first_at": _time(s.first_at), "frozen_at": _time(s.frozen_at),
               "final_size": s.final_size, "final_root": s.final_root,
               "final_checkpoint": s.final_checkpoint} for s in reversed(manifest.frozen)]
    return {"current": {"origin": node.config.origin, "vkey": node.vkey,
                        "first_at": _time(manifest.current_first_at if manifest.current_first_at
                                          is not None else (first.at if first else None)),
                        "size": latest.size if latest else 0},
            "frozen": frozen}


def frozen_holding(node: Node, work: str) -> FrozenShard | None:
    """The newest frozen shard that holds the whole work id ``work`` (it holds all its
    history: node/carry.py), or None."""
    for shard in reversed(manifest_of(node).frozen):
        with frozen_ledger(node.home, shard) as ledger:
            if ledger.store.works_present({work}):
                return shard
    return None


def frozen_work(node: Node, work: str) -> tuple[dict[str, Any], str] | None:
    """``GET /works/{work}`` for a whole work id the current log lacks: the newest frozen
    shard's answer, with its origin (None: no shard holds it)."""
    whole = full_work_id(work)
    shard = None if whole is None else frozen_holding(node, whole)
    if shard is None or whole is None:
        return None
    with frozen_ledger(node.home, shard) as ledger:
        state = ledger.proven_state(whole)
        history = ledger.history(whole)
    assert state is not None  # noqa: S101 - the shard holds the work
    first = history[0]
    return {
        "work": whole, "state": state.to_json(),
        "history": [{"index": i, "event": ev.to_json()} for i, ev in history],
        "disputed": False,
        "registrations": [{"origin": shard.origin, "registrant": first[1].event.actor,
                           "id": first[1].id, "index": first[0], "cosigned_at": None}],
        "shard": shard.origin}, shard.origin


def frozen_state_receipt(node: Node, work: str) -> tuple[dict[str, Any], str] | None:
    """``GET /works/{work}/state-receipt`` for a whole work id the current log lacks: the
    newest frozen shard's complete state receipt against its final checkpoint (None: no
    shard holds it). With the current log's proof of its absence, it is the work's current
    state (specs/node.md section 10.4)."""
    shard = frozen_holding(node, work)
    if shard is None:
        return None
    with frozen_ledger(node.home, shard) as ledger:
        complete = ledger.complete_state_receipt([work])
        row = ledger.store.latest_checkpoint()
    if complete is None or row is None:
        return None  # a shard frozen before the map existed: v1 receipts only
    doc = replace(complete, checkpoint=frozen_note(
        node.home, shard, complete.checkpoint, row.size, row.root)).to_json()
    return doc, shard.origin


def frozen_receipt(node: Node, event_id: str, size: int | None
                   ) -> tuple[dict[str, Any], str] | None:
    """``GET /receipts/{event_id}`` for an event the current log lacks: its receipt in the
    newest frozen shard holding it, against that shard's final checkpoint (or the one of
    ``size``), with the shard's origin; None when no frozen shard holds it."""
    for shard in reversed(manifest_of(node).frozen):
        with frozen_ledger(node.home, shard) as ledger:
            try:
                entry = ledger.entry_by_id(ledger.resolve_event(event_id))
            except NotFoundError:
                continue
            return _receipt(node.home, shard, ledger, entry.index, size), shard.origin
    return None


def shards_router(get_node: Callable[[], Node], error: dict[str, Any]) -> APIRouter:
    """``GET /shards`` and ``/shards/{id}/...``."""
    router = APIRouter()
    missing = {**error, "description": "No frozen shard of that id, or no such entry or "
                                        "checkpoint in it"}

    def shard(sid: str) -> tuple[Path, FrozenShard]:
        node = get_node()
        return node.home, shard_of(manifest_of(node), sid)

    @router.get("/shards", summary="The logs this node keeps: the current one and the "
                                   "frozen shards, newest first")
    def get_shards() -> dict[str, Any]:
        return shards_json(get_node())

    @router.get("/shards/{sid}/keys", summary="A frozen shard's origin and log key",
                responses={404: missing})
    def shard_keys(sid: ShardId) -> dict[str, Any]:
        _, s = shard(sid)
        return {"origin": s.origin, "log": s.vkey, "frozen": True,
                "final_size": s.final_size}

    @router.get("/shards/{sid}/checkpoint", summary="A frozen shard's final checkpoint (or "
                "an earlier one)", response_class=Response,
                responses={200: {"description": "C2SP signed note",
                                 "content": {TEXT: {"schema": {"type": "string"}}}},
                           404: missing})
    def shard_checkpoint(sid: ShardId, size: OptSize = None,
                         at_most: OptSize = None) -> Response:
        home, s = shard(sid)
        with frozen_ledger(home, s) as ledger:
            if at_most is not None and size is None:
                size = ledger.store.checkpoint_at_most(at_most)
                if size is None:
                    raise NotFoundError(f"no checkpoint of size {at_most} or less")
            row = (ledger.store.latest_checkpoint() if size is None
                   else ledger.store.checkpoint(size))
        if row is None:
            raise NotFoundError(f"no checkpoint of size {size} in the shard {s.origin}")
        note = frozen_note(home, s, row.note, row.size, row.root)
        return Response(note, media_type=TEXT, headers={SHARD_HEADER: s.origin})

    @router.get("/shards/{sid}/entries", summary="A frozen shard's entries [start, end)",
                responses={404: missing})
    def shard_entries(sid: ShardId, start: Size, end: Size) -> dict[str, Any]:
        home, s = shard(sid)
        if not 0 < end - start <= MAX_ENTRIES:
            raise HttpError(400, f"end must be above start, by at most {MAX_ENTRIES}")
        with frozen_ledger(home, s) as ledger:
            size = min(ledger.size, s.final_size)
            if end > size:
                raise HttpError(400, f"end ({end}) is beyond the shard's size ({size})")
            rows = list(ledger.store.entries(start, end))
        return {"entries": [{"index": r.index, "leaf": b64encode(r.leaf)} for r in rows]}

    @router.get("/shards/{sid}/proof/inclusion", summary="Inclusion proof in a frozen shard",
                responses={404: missing})
    def shard_inclusion(sid: ShardId, index: OptSize = None, id: OptEventId = None,
                        size: OptSize = None) -> dict[str, Any]:
        home, s = shard(sid)
        if (index is None) == (id is None):
            raise HttpError(400, "give exactly one of index and id")
        with frozen_ledger(home, s) as ledger:
            if id is not None:
                index = ledger.entry_by_id(ledger.resolve_event(id)).index
            assert index is not None  # noqa: S101 - one of the two is given
            size = s.final_size if size is None else size
            proof = ledger.inclusion_proof(index, size)
            leaf = ledger.store.entry(index).id
        return {"index": index, "size": size, "id": leaf.hex(),
                "inclusion_proof": [b64encode(h) for h in proof]}

    @router.get("/shards/{sid}/proof/consistency", summary="Consistency proof in a frozen "
                "shard", responses={404: missing})
    def shard_consistency(sid: ShardId, old: Size, new: OptSize = None) -> dict[str, Any]:
        home, s = shard(sid)
        new = s.final_size if new is None else new
        with frozen_ledger(home, s) as ledger:
            proof = ledger.consistency_proof(old, new)
        return {"old": old, "new": new, "consistency_proof": [b64encode(h) for h in proof]}

    @router.get("/shards/{sid}/receipts/{event_id}", summary="An event's receipt in a frozen "
                "shard, against its final checkpoint (or the one of size)",
                responses={404: missing})
    def shard_receipt(sid: ShardId, event_id: EventId, size: OptSize = None
                      ) -> JSONResponse:
        home, s = shard(sid)
        with frozen_ledger(home, s) as ledger:
            entry = ledger.entry_by_id(ledger.resolve_event(event_id))
            receipt = _receipt(home, s, ledger, entry.index, size)
        return JSONResponse(receipt, headers={SHARD_HEADER: s.origin})

    @router.post(
        "/shards/{sid}/add-checkpoint",
        summary="C2SP tlog-witness add-checkpoint for a frozen shard: late cosignatures of "
                "its checkpoints (as POST /add-checkpoint for it)",
        response_class=Response,
        responses={200: {"description": "cosignature/v1 signature lines",
                         "content": {TEXT: {"schema": {"type": "string"}}}},
                   400: {"description": "Malformed request, old size > checkpoint size, or "
                                        "a shard id that is not 16 lowercase hex digits"},
                   403: {"description": "No valid signature by the shard's log key"},
                   404: {"description": "No frozen shard of that id, or a checkpoint of "
                                        "another origin"},
                   409: {"description": "A checkpoint this frozen log did not sign (body: "
                                        "its final size)",
                         "content": {SIZE_CONTENT_TYPE: {"schema": {"type": "string"}}}},
                   413: error,
                   422: {"description": "The consistency proof does not verify"}},
        openapi_extra={"requestBody": {"required": True, "content": {
            "text/plain": {"schema": {"type": "string",
                                      "maxLength": MAX_ADD_CHECKPOINT_BYTES}}}}},
    )
    async def shard_add_checkpoint(sid: ShardId, request: Request) -> Response:
        """c2sp.org/tlog-witness for the frozen shard's origin alone (specs/node.md sections
        3 and 10.3): the cosignatures on a checkpoint that frozen log signed are kept."""
        from .app import read_body  # app.py imports this module: read at call time

        node = get_node()
        s = shard_of(manifest_of(node), sid)
        body = await read_body(request, MAX_ADD_CHECKPOINT_BYTES)
        status, text = await asyncio.get_running_loop().run_in_executor(
            None, node.witness.add_checkpoint, body, node.now(), s.origin)
        media = SIZE_CONTENT_TYPE if status == 409 else TEXT
        return Response(text.encode(), status_code=status,
                        headers={"content-type": media, SHARD_HEADER: s.origin})

    @router.post("/shards/{sid}/events", summary="Refused: a frozen shard takes no events",
                 responses={403: {**error, "description": "The shard is frozen: the answer "
                                  "names the current log"}, 404: missing})
    @router.post("/shards/{sid}/events/batch", include_in_schema=False)
    def shard_append(sid: ShardId) -> None:
        _, s = shard(sid)
        raise HttpError(403, f"the shard {s.origin} is frozen at size {s.final_size}: nothing "
                        f"more is appended to it; submit to the current log "
                        f"{get_node().config.origin} (POST /events)")

    return router


def _receipt(home: Path, shard: FrozenShard, ledger: Ledger, index: int, size: int | None
             ) -> dict[str, Any]:
    from ..core.receipt import Receipt

    row = (ledger.store.latest_checkpoint() if size is None else ledger.store.checkpoint(size))
    if row is None or index >= row.size:
        raise NotFoundError(f"no checkpoint of size {size} covering entry {index}")
    note = frozen_note(home, shard, row.note, row.size, row.root)
    return Receipt(ledger.vkey, note, index, ledger.store.entry(index).leaf,
                   tuple(ledger.inclusion_proof(index, row.size))).to_json()
