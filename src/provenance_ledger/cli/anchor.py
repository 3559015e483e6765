"""``provenance anchor``: register a file's content, or every file in a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.events import MAX_TITLE_CHARS, work_id_of
from ..errors import ConflictError, MalformedError, NotFoundError
from .session import NodeOpt, Session, TimeoutOpt, emit_json, hash_file


def anchor(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File (or folder) to anchor.", show_default=False)],
    title: Annotated[str | None, typer.Option(help="Title recorded with the work.")] = None,
    key: Annotated[str | None, typer.Option(help="Signing key name (default: 'default').")] = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register FILE's SHA-256, size and media type (or every file in a folder) as your work.

    Prints the work id and where the receipt was written.
    Anchoring content you already registered reports it and appends nothing.

    Example: provenance anchor page-012.png --title "Chapter 1, page 12"
    """
    session = Session.from_ctx(ctx).use_node(node, timeout)
    if path.is_dir():
        from .folder import anchor_folder

        if title is not None:
            raise MalformedError("--title names one work; it cannot be used with a folder")
        anchor_folder(session, path, key, as_json)
        return
    if not path.exists():
        raise NotFoundError(f"no such file: {path}")
    if title is not None and not 0 < len(title) <= MAX_TITLE_CHARS:
        raise MalformedError(f"--title must be 1 to {MAX_TITLE_CHARS} characters")
    result = anchor_file(session, path, title, key)
    if as_json:
        emit_json(result)
        return
    if result["status"] == "exists":
        typer.echo(f"already registered: {result['work']}")
        typer.echo(f"  registered in event {result['id']} (entry {result['index']}); "
                   "this key is its registrant or controller")
        typer.echo(f"  nothing appended; receipt: {result['receipt']}")
        return
    typer.echo(f"anchored {path}")
    typer.echo(f"  work:    {result['work']}")
    typer.echo(f"  event:   {result['id']} (entry {result['index']})")
    typer.echo(f"  receipt: {result['receipt']}")


def anchor_file(
    session: Session, path: Path, title: str | None, key_name: str | None
) -> dict[str, Any]:
    """Anchor one file; return what happened as a JSON-ready dict."""
    digest, size, media_type = hash_file(path)
    work = work_id_of(digest)
    key = session.signing_key(key_name)
    state = session.state(work)
    if state is not None:
        if key.public.text not in (state.registrant, state.controller):
            raise ConflictError(
                f"{path} is already registered by another key ({state.registrant}) "
                f"in event {state.registration}", head=state.head)
        doc, event = session.registration_receipt(work)
        receipt_path = session.write_receipt_doc(doc, event)
        return {"status": "exists", "work": work, "id": state.registration,
                "index": doc["leaf_index"], "receipt": str(receipt_path), "file": str(path)}
    body: dict[str, Any] = {"size": size, "media_type": media_type}
    if title:
        body["title"] = title
    event, index, receipt_path = session.sign_and_append(key, "work.register", work, body)
    return {"status": "anchored", "work": work, "id": event.id, "index": index,
            "receipt": str(receipt_path), "file": str(path)}

