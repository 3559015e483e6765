"""``provenance key``: create and show signing keys (public parts only); rotate a key,
name its recovery keys, declare it compromised (specs/rules.md section 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.crypto import PrivateKey
from ..core.encoding import b64encode
from ..core.events import Event, SignedEvent, check_body, sign_event
from ..core.identity import key_record_id
from ..core.keystate import statement
from ..core.timefmt import parse_time
from ..errors import LedgerError, MalformedError
from .session import Session, emit_json, parse_public_key

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


# -- rotation, recovery and compromise (specs/events.md 6.16-6.18, specs/rules.md section 9) ---

NodeOption = Annotated[str | None, typer.Option(
    "--node", metavar="URL", help="Send the event to this node instead of the local ledger.")]
SignerOpt = Annotated[str | None, typer.Option(
    "--key", help="Sign as this key of yours instead of KEY itself: one of KEY's recovery keys, "
                  "or its association.")]
CosignOpt = Annotated[list[str] | None, typer.Option(
    "--cosign", metavar="NAME",
    help="Another recovery key of yours that signs too (repeat up to the threshold).")]


def _append_key_event(session: Session, signer: PrivateKey, type_: str, subject: str,
                      body: dict[str, Any], new: PrivateKey | None,
                      cosigners: list[PrivateKey]) -> tuple[SignedEvent, int, Path]:
    """Sign a key event whose statement the new key and the cosigners sign first (they sign
    the very prev and time of the event, so it is built here, not by sign_and_append)."""
    work = key_record_id(subject)
    state = session.state(work)
    prev = state.head if state is not None else None
    now = session.now()
    # the statement leaves to_sig out; a placeholder lets the draft pass the body's checks
    placeholder = {"to_sig": b64encode(bytes(64))} if new is not None else {}
    draft = Event(type_, work, prev, signer.public.text, now, {**body, **placeholder})
    message = statement(draft)
    if new is not None:
        body = {**body, "to_sig": b64encode(new.sign(message))}
    if cosigners:
        body = {**body, "cosigs": [{"key": c.public.text, "sig": b64encode(c.sign(message))}
                                   for c in cosigners]}
    event = sign_event(Event(type_, work, prev, signer.public.text, now, body), signer)
    if session.node_url is not None:
        index, doc = session.client.submit(event)
        return event, index, session.write_receipt_doc(doc, event)
    appended = session.ledger.append(event.leaf, now)
    return event, appended.index, session.write_receipt(
        session.ledger.receipt(appended.index), event)


def _subject(session: Session, text: str) -> tuple[str, str | None]:
    """KEY as given: a public key, or a name of yours (and then that name)."""
    t = text.strip()
    if t.startswith("ed25519:"):
        return parse_public_key(t), None
    public = session.public_key(t)
    if public is None:
        raise MalformedError(f"KEY: no key named {t!r} (provenance key list)")
    return public, t


def _signer(session: Session, subject_name: str | None, key: str | None) -> PrivateKey:
    if key is not None:
        return session.signing_key(key)
    if subject_name is None:
        raise MalformedError("KEY is not one of your keys: sign with --key (a recovery key of "
                             "it, or its association)")
    return session.signing_key(subject_name)


def _done(what: str, event: SignedEvent, index: int, path: Path, as_json: bool) -> None:
    if as_json:
        emit_json({"id": event.id, "type": event.event.type, "work": event.event.work,
                   "index": index, "receipt": str(path)})
        return
    typer.echo(f"{what}: {event.id}")
    typer.echo(f"  key:     {event.event.body['key']}")
    typer.echo(f"  entry:   {index}")
    typer.echo(f"  receipt: {path}")


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(
        metavar="KEY", help="The key to retire: one of your key names, or a public key you "
                            "recover with --key.")],
    to: Annotated[str, typer.Option("--to", metavar="NEW_NAME",
                                    help="Your new key's name (it signs too).")],
    key: SignerOpt = None,
    cosign: CosignOpt = None,
    node: NodeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Move control of every work KEY controls to the key NEW_NAME, in one event signed by
    both (or, to recover a lost key, by its recovery keys or association with --key).

    Example: provenance key rotate studio --to studio-2026
    """
    session = Session.from_ctx(ctx).use_node(node)
    subject, subject_name = _subject(session, name)
    new = session.signing_key(to)
    signer = _signer(session, subject_name, key)
    cosigners = [session.signing_key(n) for n in cosign or ()]
    event, index, path = _append_key_event(
        session, signer, "key.rotate", subject, {"key": subject, "to": new.public.text}, new,
        cosigners)
    _done("rotated", event, index, path, as_json)


@app.command("recovery")
def recovery(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Your key.")],
    keys: Annotated[str | None, typer.Option(
        "--keys", metavar="K1,K2,...", help="Recovery keys (public keys or names of yours), "
                                            "comma-separated.")] = None,
    threshold: Annotated[int | None, typer.Option(
        "--threshold", help="How many recovery keys must sign (default: all).")] = None,
    association: Annotated[str | None, typer.Option(
        "--association", metavar="KEY",
        help="An association that may act for the key while it attests it.")] = None,
    node: NodeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Name in advance who may rotate NAME if it is lost or stolen: k of n recovery keys,
    and/or the association that attests it.

    Example: provenance key recovery studio --keys rescue-1,rescue-2,rescue-3 --threshold 2
    """
    session = Session.from_ctx(ctx).use_node(node)
    subject, subject_name = _subject(session, name)
    body: dict[str, Any] = {"key": subject}
    if keys:
        listed = [_subject(session, k)[0] for k in keys.split(",") if k.strip()]
        body["keys"] = list(dict.fromkeys(listed))
        body["threshold"] = len(body["keys"]) if threshold is None else threshold
        if not 1 <= body["threshold"] <= len(body["keys"]):
            raise MalformedError(f"--threshold must be from 1 to {len(body['keys'])}")
    elif threshold is not None:
        raise MalformedError("--threshold needs --keys")
    if association is not None:
        body["association"] = _subject(session, association)[0]
    if len(body) == 1:
        raise MalformedError("give --keys K1,K2,... and/or --association KEY")
    check_body("key.recovery", body)
    event, index, path = _append_key_event(
        session, _signer(session, subject_name, None), "key.recovery", subject, body, None, [])
    _done("recovery set", event, index, path, as_json)


@app.command("compromised")
def compromised(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="KEY", help="The stolen key: a name of yours "
                                                            "or a public key.")],
    since: Annotated[str, typer.Option(
        "--since", help="From when (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ) what it signed "
                        "no longer counts.")],
    key: SignerOpt = None,
    cosign: CosignOpt = None,
    node: NodeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Declare KEY compromised from a time on: the events it signed from then no longer
    count, and status shows them as disputed.

    Example: provenance key compromised studio --since 2026-03-01
    """
    from .rights import parse_date

    session = Session.from_ctx(ctx).use_node(node)
    subject, subject_name = _subject(session, name)
    body = {"key": subject, "since": parse_date(since, "--since")}
    if parse_time(body["since"]) > session.now():
        raise MalformedError("--since is in the future")
    signer = _signer(session, subject_name, key)
    cosigners = [session.signing_key(n) for n in cosign or ()]
    event, index, path = _append_key_event(session, signer, "key.compromised", subject, body,
                                           None, cosigners)
    _done("declared compromised", event, index, path, as_json)
