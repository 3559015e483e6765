"""``provenance export`` and ``provenance import``: a work's consents in the ecosystem's
vocabularies, and a document in one of them proposed as consents (specs/vocabularies.md
section 8; specs/cli.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.vocab import FORMATS, Reading, preferences, propose, read, render
from ..core.vocab import aipref as aipref_vocab
from ..core.vocab.render import MAX_DOCUMENT_BYTES
from ..errors import MalformedError, NotFoundError, quoted
from ..ledger.files import read_bounded
from .rights import JsonOpt, KeyOpt, _append
from .session import NodeOpt, Session, TimeoutOpt, emit_json
from .writes import report

FormatHelp = f"One of {', '.join(FORMATS)}."
AiprefOpt = Annotated[str, typer.Option(
    "--aipref-version",
    help=f"The aipref vocabulary draft: {', '.join(aipref_vocab.VERSIONS)}.")]


def _format(value: str | None) -> str | None:
    if value is not None and value not in FORMATS:
        raise MalformedError(f"--format must be one of {', '.join(FORMATS)}, not {quoted(value)}")
    return value


def _aipref_version(value: str) -> str:
    if value not in aipref_vocab.VERSIONS:
        raise MalformedError(f"--aipref-version must be one of "
                             f"{', '.join(aipref_vocab.VERSIONS)}, not {quoted(value)}")
    return value


def export(
    ctx: typer.Context,
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    fmt: Annotated[str, typer.Option("--format", help=FormatHelp)],
    aipref_version: AiprefOpt = aipref_vocab.CURRENT,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", metavar="URL",
        help="Public URL of the node that serves the work, for the pointer to its page "
             "(default: the --node URL).")] = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a work's consents as CAWG, TDMRep, aipref or RSL. Default deny: only a consent
    to anyone is "allowed"; per-key consents and licences are "constrained", pointing to the
    work's page on its node.

    Example: provenance export page-012.png --format cawg
    """
    _format(fmt)
    _aipref_version(aipref_version)
    s = Session.from_ctx(ctx).use_node(node, timeout)
    w = s.resolve_work(work)
    state, missing = s.find_state(w)
    if state is None:
        raise missing or NotFoundError(f"no work {w} on this ledger")
    base = (base_url or s.node_url or "").rstrip("/")
    if base and not base.startswith(("https://", "http://")):
        raise MalformedError(f"--base-url: {quoted(base)} is not an https:// or http:// URL")
    prefs = preferences(state, w, s.now(), f"{base}/works/{w}" if base else None)
    out = render(prefs, fmt, aipref_version)
    if as_json:
        emit_json({"work": w, "format": out.format, "version": out.version,
                   "media_type": out.media_type, "rendering": out.text})
        return
    typer.echo(out.text, nl=False)


def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The document: a CAWG assertion (JSON), a "
                                              "tdmrep.json, a Content-Usage value or an "
                                              "RSL file.", dir_okay=False)],
    work: Annotated[str, typer.Option("--work", help="File path, work id or unique id "
                                                     "prefix of the work it is about.")],
    fmt: Annotated[str | None, typer.Option(
        "--format", help=f"{FormatHelp} Default: from the document.")] = None,
    location: Annotated[str | None, typer.Option(
        "--location", metavar="PATH",
        help="TDMRep: the work's path on that server, to pick its rule.")] = None,
    aipref_version: AiprefOpt = aipref_vocab.CURRENT,
    yes: Annotated[bool, typer.Option(
        "--yes", help="Sign and append without asking.")] = False,
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose the consents a document gives to anyone, and sign them as the controller.

    Only what the document allows to anyone is imported; "constrained", unknown or absent
    preferences import as nothing. The events are shown first; nothing is appended unless
    you confirm (or give --yes).

    Example: provenance import tdmrep.json --work page-012.png --yes
    """
    _format(fmt)
    _aipref_version(aipref_version)
    data = read_bounded(file, "document", MAX_DOCUMENT_BYTES)
    reading = read(data, fmt, path=location, aipref_version=aipref_version)
    s = Session.from_ctx(ctx).use_node(node, timeout)
    w = s.resolve_work(work)
    state, missing = s.find_state(w)
    if state is None:
        raise missing or NotFoundError(f"no work {w} on this ledger")
    bodies = propose(state, reading, s.now())
    if as_json and not yes and bodies:
        raise MalformedError("--json needs --yes: there is no prompt to confirm on")
    if not as_json:
        _show(reading, w, bodies)
    if bodies and not yes:
        if not sys.stdin.isatty():
            raise MalformedError("add --yes to sign and append these events (no terminal "
                                 "to confirm on)")
        if not typer.confirm(f"sign and append {len(bodies)} event(s)?", default=False):
            raise typer.Abort()
    done = [_append(s, key, "consent.grant", w, body) for body in bodies]
    if as_json:
        emit_json({"work": w, "vocabulary": reading.vocabulary, "notes": list(reading.notes),
                   "events": [{"id": e.id, "type": e.event.type, "body": body, "index": i,
                               "receipt": str(p)}
                              for (e, i, p), body in zip(done, bodies, strict=True)]})
        return
    for result in done:
        report("granted", result, False)


def _show(reading: Reading, work: str, bodies: tuple[dict[str, Any], ...]) -> None:
    typer.echo(f"read: {reading.vocabulary}")
    for note in reading.notes:
        typer.echo(f"  {note}")
    if not bodies:
        typer.echo("nothing to import: the document allows anyone nothing that is not "
                   "already granted")
        return
    typer.echo(f"proposed events on {work}:")
    for body in bodies:
        typer.echo(f"  consent.grant {json.dumps(body, sort_keys=True)}")
