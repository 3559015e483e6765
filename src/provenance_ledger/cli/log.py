"""``provenance log``: the log's key, checkpoints, consistency proofs and audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..core.encoding import b64encode
from ..ledger import audit as run_audit
from .numbers import whole
from .session import NodeOpt, Session, TimeoutOpt, emit_json, output_file, timeout_seconds

app = typer.Typer(help="Inspect and audit the embedded log.\n\nExample: provenance log audit",
                  no_args_is_help=True)


@app.command()
def key(ctx: typer.Context, node: NodeOpt = None, timeout: TimeoutOpt = None) -> None:
    """Print the log's verifier key (C2SP vkey), to give to verifiers. With --node, the
    node's log key as this home pinned it on first contact (pinned now if never asked).

    Example: provenance log key --node https://ledger.example.org
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    typer.echo(s.client.verifier.to_vkey() if s.node_url is not None else s.ledger.vkey)


@app.command()
def checkpoint(ctx: typer.Context) -> None:
    """Print the latest checkpoint as a C2SP signed note.

    Example: provenance log checkpoint
    """
    _, note = Session.from_ctx(ctx).ledger.latest_checkpoint()
    typer.echo(note, nl=False)


@app.command()
def consistency(
    ctx: typer.Context,
    old: Annotated[int, typer.Argument(
        help="Older tree size.", parser=whole("OLD", 0, note="a tree size"))],
    new: Annotated[int, typer.Argument(
        help="Newer tree size.", parser=whole("NEW", 0, note="a tree size"))],
) -> None:
    """Print the RFC 9162 consistency proof between two tree sizes as JSON.

    Example: provenance log consistency 10 42
    """
    proof = Session.from_ctx(ctx).ledger.consistency_proof(old, new)
    emit_json({"old_size": old, "new_size": new,
               "consistency_proof": [b64encode(h) for h in proof]})


@app.command()
def audit(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Re-verify the whole stored log from scratch; exit 1 naming the first bad index.

    Checks every signature, rule, stored hash and checkpoint.

    Example: provenance log audit
    """
    report = run_audit(Session.from_ctx(ctx).ledger)
    if as_json:
        emit_json({"ok": True, "entries": report.entries, "checkpoints": report.checkpoints,
                   "works": report.works, "root": b64encode(report.root)})
        return
    typer.echo(f"OK: {report.entries} entries, {report.checkpoints} checkpoints, "
               f"{report.works} works verified; root {b64encode(report.root)}")


@app.command()
def proof(
    index: Annotated[int, typer.Argument(help="The entry's index in the log.", parser=whole(
        "INDEX", 0, note="an entry's index in the log"))],
    tiles: Annotated[str, typer.Option(
        "--tiles", metavar="URL", help="The log's C2SP tiles URL (the folder holding "
        "'checkpoint' and 'tile/').")],
    log_key: Annotated[str, typer.Option(
        "--log-key", metavar="VKEY", help="The log's verifier key: the checkpoint must be "
        "signed by it.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FILE", parser=output_file("-o"),
        help="Write the receipt to this file instead of standard output.")] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", metavar="SECONDS", parser=timeout_seconds, show_default=False,
        help="Seconds to wait for the connection and for each part of an answer (default "
        "10; specs/cli.md section 1.3).")] = None,
) -> None:
    """Build and verify an entry's receipt from a log's static tiles alone.

    Fetches the checkpoint, checks its signature against --log-key, fetches the entry
    and the tiles of its inclusion proof, and prints the receipt (verify it offline
    with provenance verify). Exit 1 when what the tiles say does not verify.

    Example: provenance log proof 42 --tiles https://tiles.example.org/log --log-key VKEY
    """
    from ..node.fetch import Timeouts
    from ..node.tiles_client import TilesClient
    from .session import write_text_atomic

    with TilesClient(tiles, log_key, Timeouts.of(timeout)) as client:
        receipt = client.receipt(index)
    text = json.dumps(receipt.to_json(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text_atomic(out, text)
        typer.echo(f"receipt of entry {index} written to {out}", err=True)
