"""``provenance key``: create and show signing keys (public parts only)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import LedgerError
from .session import Session, emit_json

app = typer.Typer(help="Create and list your signing keys.\n\nExample: provenance key new studio",
                  no_args_is_help=True)


@app.command("new")
def new(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Key name: letters, digits, '.', '_', '-'.")],
    encrypt: Annotated[bool, typer.Option(
        help="Encrypt with a passphrase (PROVENANCE_PASSPHRASE, or asked for).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a new Ed25519 signing key (file mode 0600; the private key is never shown).

    Example: provenance key new studio --encrypt
    """
    session = Session.from_ctx(ctx)
    session.home.ensure()
    passphrase = session.passphrase(prompt=encrypt)
    if encrypt and not passphrase:
        raise LedgerError("--encrypt needs a passphrase: set PROVENANCE_PASSPHRASE or use a tty")
    key = session.home.keys.create(name, passphrase)
    _show(name, key.public.text, bool(passphrase), session, as_json)


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List your keys with their public keys.

    Example: provenance key list --json
    """
    session = Session.from_ctx(ctx)
    rows = [_info(session, n) for n in session.home.keys.names()]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("no keys yet (one named 'default' is made on first use)")
    for r in rows:
        flag = " (encrypted)" if r["encrypted"] else ""
        typer.echo(f"{r['name']:<20} {r['public_key']}{flag}")


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Key name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    public: Annotated[bool, typer.Option(
        "--public", help="Print only the public key (for a shell variable).")] = False,
) -> None:
    """Show a key's public key, in the form --to and `may` accept.

    Example: STUDIO=$(provenance key show studio --public)
    """
    session = Session.from_ctx(ctx)
    info = _info(session, name)
    if public:
        typer.echo(str(info["public_key"]))
        return
    _show(name, str(info["public_key"]), bool(info["encrypted"]), session, as_json)


def _info(session: Session, name: str) -> dict[str, object]:
    keys = session.home.keys
    path = keys.path(name)
    encrypted = keys.encrypted(name)
    pub_path = path.with_suffix(".pub")
    if pub_path.exists():
        public = pub_path.read_text().strip()
    else:
        public = keys.load(name, session.passphrase(prompt=encrypted)).public.text
    return {"name": name, "public_key": public, "encrypted": encrypted, "file": str(path)}


def _show(name: str, public: str, encrypted: bool, session: Session, as_json: bool) -> None:
    if as_json:
        emit_json({"name": name, "public_key": public, "encrypted": encrypted,
                   "file": str(session.home.keys.path(name))})
        return
    typer.echo(f"{name}: {public}" + (" (encrypted)" if encrypted else ""))
