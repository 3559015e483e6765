"""``provenance key``: create and show signing keys (public parts only); add, change or
remove a key's passphrase; rotate a key, name its recovery keys, declare it compromised
(specs/rules.md section 9)."""

from __future__ import annotations

import getpass
import hmac
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.crypto import PrivateKey
from ..core.encoding import b64encode
from ..core.events import Event, SignedEvent, check_body, sign_event
from ..core.identity import KeyRecord, key_record_id
from ..core.keystate import statement
from ..core.timefmt import format_time, parse_time
from ..errors import LedgerError, MalformedError, quoted
from ..ledger.keys import KeyProtection
from .numbers import whole
from .session import (
    PASSPHRASE_ENV,
    Session,
    emit_json,
    output_file,
    parse_public_key,
    write_text_atomic,
)
from .writes import Found, History, event_by_id, report, report_exists, state_and_history

app = typer.Typer(help="Create and list your signing keys (back up the key files: key new "
                       "says where), protect one with a passphrase; rotate, recover or "
                       "declare one compromised.\n\n"
                       "Example: provenance key new studio",
                  no_args_is_help=True)


BACKUP_ADVICE = ("keep a copy where only you can reach it: whoever holds this file signs as "
                 "you, and without it you cannot (provenance key recovery names who may "
                 "replace it)")
"""What ``key new`` says after the key file's path (specs/cli.md section 3.7)."""

REPLACED_ADVICE = ("copies of the file made before still open as they did (with the old "
                   "passphrase, or none): replace your backups with this file")
"""What ``key passphrase`` says after the key file's path (specs/cli.md section 3.7)."""


@app.command("new")
def new(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(
        help="Key name: 1-64 ASCII letters, digits, '.', '_', '-' (first a letter or digit).")],
    encrypt: Annotated[bool, typer.Option(
        help="Encrypt with a passphrase (PROVENANCE_PASSPHRASE, or asked for).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a new Ed25519 signing key (file mode 0600; the private key is never shown).

    Example: provenance key new studio --encrypt
    """
    session = Session.from_ctx(ctx)
    session.home.ensure()
    if session.home.keys.exists(name):  # before any passphrase is asked (specs/cli.md 2.4)
        raise LedgerError(
            f"key '{name}' exists already ({session.home.keys.path(name)}): key new makes a "
            f"new random key, never the same one again, and never replaces a key file; see "
            f"this one with provenance key show {name}")
    passphrase = session.passphrase()
    if encrypt and not passphrase:
        if not sys.stdin.isatty():
            raise LedgerError(f"--encrypt needs a passphrase: set {PASSPHRASE_ENV} or use a tty")
        passphrase = _asked_twice("passphrase for the new key: ",
                                  "--encrypt needs a passphrase: nothing was made")
    key = session.home.keys.create(name, passphrase)
    _show(_row(name, key.public.text, session.home.keys.protection(name), session), as_json)
    if not as_json:
        typer.echo(f"  private key: {session.home.keys.path(name)} (mode 0600): {BACKUP_ADVICE}")


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
        typer.echo(f"{r['name']:<20} {r['public_key']}{_flag(r)}{_state_flag(session, r)}")


def _flag(info: dict[str, object]) -> str:
    """What follows a key's public key in text: ` (encrypted)`, or for a key encrypted with a
    weaker KDF than this version's, how to strengthen it (specs/cli.md section 3.7)."""
    if not info["encrypted"]:
        return ""
    if info["weak"]:
        return (f" (encrypted, weakly: {info['kdf']}; strengthen it with: provenance key "
                f"passphrase {info['name']})")
    return " (encrypted)"


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
    _show(info, as_json, _state_flag(session, info))


def _info(session: Session, name: str) -> dict[str, object]:
    keys = session.home.keys
    path = keys.path(name)
    protection = keys.protection(name)
    pub_path = path.with_suffix(".pub")
    if pub_path.exists():
        public = pub_path.read_text().strip()
    else:
        public = keys.load(name, session.passphrase(prompt=protection.encrypted)).public.text
    return {**_row(name, public, protection, session), **_key_state(session, public)}


def _key_state(session: Session, public: str) -> dict[str, object]:
    """What the local log says of the key (specs/rules.md section 9): ``compromised_since``,
    the time from which what it signs does not count, and ``rotated_to``, the key its
    rotation that counts passed its roles to (each null when none). A home with no ledger yet
    is not made for it."""
    if not session.has_ledger():
        return {"compromised_since": None, "rotated_to": None}
    from .identity import key_record

    record = key_record(session, public)
    rotation = record.rotation() if record is not None else None
    since = record.compromised_since if record is not None else None
    return {"compromised_since": format_time(since) if since is not None else None,
            "rotated_to": rotation.to if rotation is not None else None}


def _state_flag(session: Session, info: dict[str, object]) -> str:
    """`` (declared compromised since T: what it signs from then does not count)`` and
    `` (rotated to 'NAME' ed25519:...)`` after a key's line (specs/cli.md section 3.7)."""
    out = ""
    to = info.get("rotated_to")
    if isinstance(to, str):
        names = session.key_names(to)
        out += f" (rotated to {f'your key {names[0]!r} ' if names else ''}{to})"
    if info.get("compromised_since"):
        out += (f" (declared compromised since {info['compromised_since']}: what it signs "
                "from then does not count)")
    return out


def _row(name: str, public: str, protection: KeyProtection,
         session: Session) -> dict[str, object]:
    """A key as ``key new``, ``show``, ``list`` and ``passphrase`` give it (specs/cli.md
    section 3.7)."""
    return {"name": name, "public_key": public, "encrypted": protection.encrypted,
            "file": str(session.home.keys.path(name)), "kdf": protection.describe(),
            "weak": protection.weak}


def _show(info: dict[str, object], as_json: bool, state: str = "") -> None:
    if as_json:
        emit_json(info)
        return
    typer.echo(f"{info['name']}: {info['public_key']}{_flag(info)}{state}")


NEW_PASSPHRASE_ENV = "PROVENANCE_NEW_PASSPHRASE"  # noqa: S105 - the variable's name


def _new_passphrase() -> str:
    """The new passphrase of ``key passphrase``: ``$PROVENANCE_NEW_PASSPHRASE``, else asked
    for twice on a terminal (specs/cli.md section 3.7)."""
    env = os.environ.get(NEW_PASSPHRASE_ENV)
    if env:
        return env
    if not sys.stdin.isatty():
        raise LedgerError(f"a new passphrase is needed: set {NEW_PASSPHRASE_ENV} or use a tty "
                          "(or --remove to keep the key unencrypted)")
    return _asked_twice("new passphrase for the key: ",
                        "the new passphrase is empty: nothing changed (--remove keeps the key "
                        "unencrypted)")


def _asked_twice(prompt: str, empty: str) -> str:
    """A passphrase typed twice on the terminal, the same both times: a typo in a passphrase
    that is set would lock the key away for good (specs/cli.md section 3.7)."""
    first = getpass.getpass(prompt)
    if not first:
        raise LedgerError(empty)
    if not hmac.compare_digest(first.encode(), getpass.getpass("the same again: ").encode()):
        raise LedgerError("the two new passphrases differ: nothing changed")
    return first


@app.command("passphrase")
def passphrase(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Key name.")],
    remove: Annotated[bool, typer.Option(
        "--remove", help="Store the key unencrypted (no new passphrase).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a passphrase to a key, change it, or remove it (--remove); the key is re-encrypted
    with PBKDF2-HMAC-SHA256 at 600,000 iterations.

    The passphrase the key has now comes from PROVENANCE_PASSPHRASE, or is asked for; the new
    one from PROVENANCE_NEW_PASSPHRASE, or is asked for twice on a terminal. Giving the same
    passphrase again strengthens a key encrypted by an earlier version (2,048 iterations: key
    list says 'weakly'). The key file is replaced whole or not at all, mode 0600; a wrong
    passphrase changes nothing. The key and its public key stay the same.

    Example: provenance key passphrase studio
    """
    session = Session.from_ctx(ctx)
    keys = session.home.keys
    if remove and os.environ.get(NEW_PASSPHRASE_ENV):
        raise LedgerError(f"--remove takes no new passphrase: unset {NEW_PASSPHRASE_ENV}")
    before = keys.protection(name)
    old = session.passphrase(prompt=True) if before.encrypted else None
    opened = None
    if before.encrypted and not remove:
        opened, done = _changed_already(session, name, old)
        if done is not None:  # run again (specs/cli.md section 2.4)
            _report_passphrase("the key opens with the new passphrase already: nothing "
                               "changed", "none", name, done.public.text, before, session,
                               as_json)
            return
    if before.encrypted and not old:
        raise LedgerError(f"key {name} is encrypted: set {PASSPHRASE_ENV} or use a tty")
    if remove and not before.encrypted:
        key = keys.load(name)  # a missing or damaged key file is an error here too
        _report_passphrase("not encrypted: nothing changed", "none", name, key.public.text,
                           before, session, as_json)
        return
    # the old passphrase is checked before a new one is asked
    key = opened if opened is not None else keys.load(name, old)
    new = None if remove else _new_passphrase()
    keys.protect(name, key, new)
    if new is None:
        what, change = "passphrase removed: the key file is not encrypted", "removed"
    elif old is None:
        what, change = "passphrase added", "added"
    elif hmac.compare_digest(old.encode(), new.encode()):
        what, change = "re-encrypted with the same passphrase", "kept"
    else:
        what, change = "passphrase changed", "changed"
    _report_passphrase(what, change, name, key.public.text, keys.protection(name), session,
                       as_json)


def _changed_already(session: Session, name: str, old: str | None
                     ) -> tuple[PrivateKey | None, PrivateKey | None]:
    """``key passphrase`` run again after it changed the passphrase: the key opened with the
    passphrase given as the current one (None when it does not open with it, or none is
    given), and, when it does not, the key opened with ``$PROVENANCE_NEW_PASSPHRASE``: the
    change asked for is made already (specs/cli.md section 2.4)."""
    keys = session.home.keys
    new = os.environ.get(NEW_PASSPHRASE_ENV)
    if not new or (old is not None and hmac.compare_digest(old.encode(), new.encode())):
        return None, None
    if old:
        try:
            return keys.load(name, old), None
        except LedgerError:
            pass  # not the passphrase it has: perhaps the new one already
    try:
        return None, keys.load(name, new)
    except LedgerError:
        return None, None


def _report_passphrase(what: str, change: str, name: str, public: str,
                       protection: KeyProtection, session: Session, as_json: bool) -> None:
    """What ``key passphrase`` says (specs/cli.md section 3.7): never a passphrase."""
    row = _row(name, public, protection, session)
    if as_json:
        emit_json({**row, "change": change})
        return
    kdf = f" ({protection.describe()})" if protection.encrypted else ""
    typer.echo(f"{name}: {what}{kdf}")
    if change != "none":
        typer.echo(f"  private key: {row['file']} (mode 0600): {REPLACED_ADVICE}")


# -- rotation, recovery and compromise (specs/events.md 6.16-6.18, specs/rules.md section 9) ---

NodeOption = Annotated[str | None, typer.Option(
    "--node", metavar="URL", help="Send the event to this node instead of the local ledger.")]
SignerOpt = Annotated[str | None, typer.Option(
    "--key", help="Sign as this key of yours instead of KEY itself: one of KEY's recovery keys, "
                  "or its association.")]
CosignOpt = Annotated[list[str] | None, typer.Option(
    "--cosign", metavar="NAME",
    help="Another recovery key of yours that signs too (repeat up to the threshold).")]
RequestOpt = Annotated[Path | None, typer.Option(
    "--recovery-request", metavar="FILE", parser=output_file("--recovery-request"),
    help="Write the event as a request for recovery keys held elsewhere to sign "
         "(provenance key cosign FILE), instead of logging it.")]
RequestSignerOpt = Annotated[str | None, typer.Option(
    "--signer", metavar="KEY",
    help="With --recovery-request: the recovery key (public key or a name of yours) that "
         "signs the event itself, last (default: the first recovery key).")]


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
    return _submit(session, sign_event(Event(type_, work, prev, signer.public.text, now, body),
                                       signer))


def _submit(session: Session, event: SignedEvent) -> tuple[SignedEvent, int, Path]:
    """Append a signed key event to the node or the local ledger; keep its receipt."""
    if session.node_url is not None:
        index, doc = session.client.submit(event)
        return event, index, session.write_receipt_doc(doc, event)
    appended = session.ledger.append(event.leaf, session.now())
    return event, appended.index, session.write_receipt(
        session.ledger.receipt(appended.index), event)


def _subject(session: Session, text: str, option: str = "KEY") -> tuple[str, str | None]:
    """KEY as given: a public key, or a name of yours (and then that name). ``option`` is
    what an error names (the argument, or ``--keys``, ``--association``, ``--signer``)."""
    t = text.strip()
    return session.key_option(t, option), None if t.startswith("ed25519:") else t


def _lost_subject(session: Session, text: str) -> tuple[str, str | None]:
    """KEY of ``key rotate`` and ``key compromised``: as :func:`_subject`, and also the name
    of a key whose private file is lost while its ``.pub`` is still there (recovery is for
    that very case); the name is then not returned, as no key of that name can sign."""
    t = text.strip()
    try:
        return _subject(session, t)
    except MalformedError:
        try:
            pub = session.home.keys.path(t).with_suffix(".pub")
        except LedgerError:  # not even a possible key name
            raise
        if not pub.is_file():
            raise
        return parse_public_key(pub.read_text(encoding="ascii", errors="replace")), None


def _check_quorum(session: Session, subject: str, key: str | None, cosign: list[str] | None,
                  what: str) -> None:
    """Before anything is signed: a rotation or declaration signed by recovery keys (``--key``
    and ``--cosign``) that are fewer than the threshold of ``subject``'s recovery setting is
    refused naming ``--cosign`` (the rules would refuse it in words that name no option)."""
    if key is None:
        return
    signers = {p for p in [session.public_key(key)] + [session.public_key(n) for n in cosign or ()]
               if p is not None}
    if subject in signers:
        return
    record, _ = _record(session, subject)
    rec = record.recovery if record is not None else None
    if rec is None or not rec.keys or not signers <= set(rec.keys):
        return  # not a recovery by recovery keys: the rules say what is wrong
    if len(signers) < rec.threshold:
        raise MalformedError(
            f"--cosign: the {what} of {subject} needs {rec.threshold} of the {len(rec.keys)} "
            f"recovery keys; {len(signers)} signed (--key and --cosign): add --cosign NAME "
            f"for {rec.threshold - len(signers)} more")


def _signer(session: Session, subject_name: str | None, key: str | None) -> PrivateKey:
    if key is not None:
        return session.signing_key(key)
    if subject_name is None:
        raise MalformedError("KEY is not one of your keys: sign with --key (a recovery key of "
                             "it, or its association)")
    return session.signing_key(subject_name)


def _refuse_compromised_self(session: Session, record: KeyRecord | None, what: str) -> None:
    """Refuse, before it signs, ``what`` (a rotation, a recovery setting) that ``subject``
    would sign itself while it is declared compromised: it would not count (specs/rules.md
    section 9: a rotation counts unless its key was compromised when it signed it; the
    recovery setting in effect is the last one before the compromise), though the log
    admits it. Its recovery keys or association, named before, can still rotate it.
    ``record``: the key's record."""
    if record is None or not record.compromised_at(session.now()):
        return
    from .identity import compromised_words

    raise LedgerError(
        f"{compromised_words(session, record)}: {what} it signs now would not count; a key "
        "declared compromised is rotated by the recovery keys or the association it named "
        "before (provenance key rotate KEY --to NEW_NAME --key RECOVERY_KEY [--cosign ...])")


def _record(session: Session, subject: str) -> tuple[KeyRecord | None, History]:
    """``subject``'s key record and its events, read at once (through a node, from one
    verified state receipt)."""
    state, history = state_and_history(session, key_record_id(subject))
    return (state.identity if state is not None else None), history


def _rotated(session: Session, subject: str, to: str) -> Found | None:
    """The rotation of ``subject`` to ``to`` when it is the one that counts (R19: a key is
    rotated once); a rotation to another key is left to the rules to refuse."""
    record, history = _record(session, subject)
    done = record.rotation() if record is not None else None
    return event_by_id(history, done.id) if done and done.to == to else None


def _recovery_in_effect(session: Session, body: dict[str, Any]) -> Found | None:
    """The ``key.recovery`` in effect when it names what ``body`` names: the same recovery
    keys (in any order), threshold and association."""
    record, history = _record(session, body["key"])
    rec = record.recovery if record is not None else None
    if rec is None or (set(rec.keys), rec.threshold, rec.association) != (
            set(body.get("keys", ())), body.get("threshold", 0), body.get("association")):
        return None
    return event_by_id(history, rec.id)


def _compromised_since(session: Session, subject: str, since: int) -> Found | None:
    """The ``key.compromised`` in effect when it declares ``subject`` compromised from
    ``since`` exactly (an earlier or later time is another statement, for the rules)."""
    record, history = _record(session, subject)
    if record is None or record.compromised_since != since or record.compromised_by is None:
        return None
    return event_by_id(history, record.compromised_by)


def report_key_event(what: str, event: SignedEvent, index: int, path: Path,
                     as_json: bool) -> None:
    """What a command that logged an event of a key record says (``key rotate``, ``key
    recovery``, ``key compromised``, ``key submit``, ``identity attest``, ``identity
    revoke``): the event, the key and its record, the entry and the receipt kept."""
    report(what, (event, index, path), as_json, record=True)


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
    request: RequestOpt = None,
    request_signer: RequestSignerOpt = None,
    node: NodeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Move control of every work KEY controls to the key NEW_NAME, in one event signed by
    both (or, to recover a lost key, by its recovery keys or association with --key).

    Recovery keys held elsewhere: --recovery-request FILE writes the rotation for them to sign
    (provenance key cosign FILE --key NAME, each in their own home), then anyone submits it
    (provenance key submit FILE).

    Example: provenance key rotate studio --to studio-2026
    """
    session = Session.from_ctx(ctx).use_node(node)
    subject, subject_name = _lost_subject(session, name)
    to_public = session.public_key(to)  # read without the passphrase: a repeat signs nothing
    done = None if to_public is None else _rotated(session, subject, to_public)
    if done is not None:  # run again: this very rotation is logged (specs/cli.md section 2.4)
        report_exists(session, "rotated", done, f"{subject} was rotated to {to_public} in",
                      as_json, record=True)
        return
    new = session.signing_key(to)
    if request is not None:
        _write_request(session, request, "key.rotate", subject,
                       {"key": subject, "to": new.public.text}, new, key, request_signer,
                       cosign, as_json)
        return
    _check_quorum(session, subject, key, cosign, "rotation")
    if key is None:
        _refuse_compromised_self(session, _record(session, subject)[0], "a rotation")
    signer = _signer(session, subject_name, key)
    cosigners = [session.signing_key(n) for n in cosign or ()]
    session.next_second()  # what KEY signed before this command stays before its rotation
    event, index, path = _append_key_event(
        session, signer, "key.rotate", subject, {"key": subject, "to": new.public.text}, new,
        cosigners)
    report_key_event("rotated", event, index, path, as_json)


@app.command("recovery")
def recovery(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Your key.")],
    keys: Annotated[str | None, typer.Option(
        "--keys", metavar="K1,K2,...", help="Recovery keys (public keys or names of yours), "
                                            "comma-separated.")] = None,
    threshold: Annotated[int | None, typer.Option(
        "--threshold", parser=whole("--threshold", 1, None, unit="keys"),
        help="How many recovery keys must sign (default: all).")] = None,
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
        words = [k for k in keys.split(",") if k.strip()]
        listed = [_subject(session, k, "--keys")[0] for k in words]
        twice = next((w for i, (w, k) in enumerate(zip(words, listed, strict=True))
                      if k in listed[:i]), None)
        if twice is not None:  # a typo would set a weaker recovery than meant
            raise MalformedError(f"--keys: {quoted(twice.strip())} names a recovery key given "
                                 "already: name each recovery key once")
        body["keys"] = listed
        body["threshold"] = len(body["keys"]) if threshold is None else threshold
        if not 1 <= body["threshold"] <= len(body["keys"]):
            raise MalformedError(f"--threshold must be from 1 to {len(body['keys'])}")
    elif threshold is not None:
        raise MalformedError("--threshold needs --keys")
    if association is not None:
        body["association"] = _subject(session, association, "--association")[0]
    if len(body) == 1:
        raise MalformedError("give --keys K1,K2,... and/or --association KEY")
    check_body("key.recovery", body)
    done = _recovery_in_effect(session, body)
    if done is not None:  # run again: this setting is in effect (specs/cli.md section 2.4)
        report_exists(session, "set", done, "this recovery setting is in effect, logged as",
                      as_json, record=True)
        return
    record, _ = _record(session, subject)
    _refuse_compromised_self(session, record, "a recovery setting")
    replaced = record.recovery if record is not None else None
    event, index, path = _append_key_event(
        session, _signer(session, subject_name, None), "key.recovery", subject, body, None, [])
    report_key_event("recovery set", event, index, path, as_json)
    if replaced is not None:  # said, so that a setting is never weakened unnoticed
        typer.echo(f"note: it replaces the setting logged as {replaced.id[:12]}: "
                   + _recovery_words(replaced.keys, replaced.threshold, replaced.association),
                   err=True)


def _recovery_words(keys: Sequence[str], threshold: int, association: str | None) -> str:
    """A recovery setting in words: ``2 of 3 recovery keys (K1, K2, K3)``, and the
    association that may act for the key."""
    parts = [f"{threshold} of {len(keys)} recovery keys ({', '.join(keys)})"] if keys else []
    if association is not None:
        parts.append(f"the association {association}")
    return " and ".join(parts) or "no recovery keys"


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
    request: RequestOpt = None,
    request_signer: RequestSignerOpt = None,
    yes: Annotated[bool, typer.Option(
        "--yes", help="Declare it without asking, whatever stops counting.")] = False,
    node: NodeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Declare KEY compromised from a time on: the events it signed from then no longer
    count, and status shows them as disputed; a work it registered from then on does not
    count at all, and its content cannot be registered again on this ledger. It first says
    which works that touches and asks (--yes: do not ask). With --recovery-request FILE,
    write it for recovery keys held elsewhere to sign (as key rotate does).

    Example: provenance key compromised studio --since 2026-03-01
    """
    from .rights import parse_date

    session = Session.from_ctx(ctx).use_node(node)
    subject, subject_name = _lost_subject(session, name)
    body = {"key": subject, "since": parse_date(since, "--since")}
    if parse_time(body["since"]) > session.now():
        raise MalformedError("--since is in the future")
    done = _compromised_since(session, subject, parse_time(body["since"]))
    if done is not None:  # run again: declared from this very time (specs/cli.md section 2.4)
        report_exists(session, "declared compromised", done,
                      f"{subject} is compromised since {body['since']}, declared in", as_json,
                      record=True)
        return
    if request is not None:
        _confirm_compromise(session, subject, parse_time(body["since"]), yes, as_json)
        _write_request(session, request, "key.compromised", subject, body, None, key,
                       request_signer, cosign, as_json)
        return
    _check_quorum(session, subject, key, cosign, "declaration")
    _confirm_compromise(session, subject, parse_time(body["since"]), yes, as_json)
    signer = _signer(session, subject_name, key)
    cosigners = [session.signing_key(n) for n in cosign or ()]
    event, index, path = _append_key_event(session, signer, "key.compromised", subject, body,
                                           None, cosigners)
    report_key_event("declared compromised", event, index, path, as_json)


SHOWN_WORKS = 5
"""Works ``key compromised`` names before it asks (then how many more)."""


def _stops_counting(session: Session, subject: str, since: int) -> dict[str, bool] | None:
    """The works of the local ledger with an event ``subject`` signed at or after ``since``
    (and before the key's declaration in effect, whose events stop counting already), each
    with whether that event is its registration; None through ``--node`` (not counted)."""
    if session.node_url is not None:
        return None
    if not session.has_ledger():
        return {}
    from ..core.events import IDENTITY_EVENT_TYPES, KEY_EVENT_TYPES, TYPES
    from ..ledger.ledger import stored_event

    record, _ = _record(session, subject)
    before = record.compromised_since if record is not None else None
    types = [t for t in TYPES if t not in IDENTITY_EVENT_TYPES + KEY_EVENT_TYPES]
    store, after = session.ledger.store, -1
    works: dict[str, bool] = {}
    while True:
        page = store.entries_by_key("actor", subject, types, after, 500)
        for row in page:
            at = stored_event(row).event.at
            if at >= since and (before is None or at < before):
                works[row.work] = works.get(row.work, False) or row.type == "work.register"
        if len(page) < 500:
            return works
        after = page[-1].index


def _confirm_compromise(session: Session, subject: str, since: int, yes: bool,
                        as_json: bool) -> None:
    """Say on stderr, before anything is signed, what stops counting when ``subject`` is
    declared compromised from ``since`` (specs/cli.md section 3.7), and ask on a terminal
    (``--yes`` skips it); without one and without ``--yes``, refuse."""
    works = _stops_counting(session, subject, since)
    if works == {}:
        return  # this ledger holds nothing the key signed from then on
    t = format_time(since)
    names = session.key_names(subject)
    who = f"your key '{names[0]}' ({subject})" if names else subject
    if works is None:
        typer.echo(f"key compromised: whatever {who} signed on the node from {t} on stops "
                   "counting there, and a work it registered from then is lost to that ledger "
                   "(its content cannot be registered again)", err=True)
    else:
        voided = sum(works.values())
        typer.echo(f"key compromised: what {who} signed from {t} on stops counting: events "
                   f"of {len(works)} work(s) of this ledger, {voided} of them registered by it "
                   "then (those registrations do not count: the work is lost to this ledger, "
                   "its content cannot be registered again):", err=True)
        for work, registered in list(works.items())[:SHOWN_WORKS]:
            state = session.state(work)
            title = state.content.get("title") if state is not None else None
            typer.echo(f"  {work[:23]}{f' {title!r}' if title else ''} "
                       f"({'its registration' if registered else 'later events'})", err=True)
        if len(works) > SHOWN_WORKS:
            typer.echo(f"  ... and {len(works) - SHOWN_WORKS} more", err=True)
    if yes:
        return
    if as_json:
        raise MalformedError("--json needs --yes: there is no prompt to confirm on")
    if not sys.stdin.isatty():
        raise MalformedError("add --yes to declare it compromised all the same (no terminal "
                             "to confirm on): nothing was signed")
    if not typer.confirm(f"declare {f'key {names[0]!r}' if names else subject} "
                         f"compromised since {t}?", default=False):
        raise typer.Abort()


# -- recovery keys held elsewhere: a request signed in turn (specs/cli.md section 3.7.1) -------


def _write_request(session: Session, path: Path, type_: str, subject: str,
                   body: dict[str, Any], new: PrivateKey | None, key: str | None,
                   signer: str | None, cosign: list[str] | None, as_json: bool) -> None:
    """Write a key request for the recovery keys in effect of ``subject``: the draft event
    (its actor the request's signer), the new key's ``to_sig`` for a rotation, and the
    cosignatures of any recovery keys of this home named by ``--cosign``."""
    from ..core.key_request import KeyRequest

    if key is not None:
        raise MalformedError("--key signs an event here and now; with --recovery-request name "
                             "the recovery key that signs the event last with --signer")
    state = session.state(key_record_id(subject))
    rec = state.identity.recovery if state is not None and state.identity else None
    if rec is None or not rec.keys:
        raise MalformedError(f"{subject} names no recovery keys in effect: a recovery request "
                             "needs them (provenance key recovery NAME --keys ...)")
    actor = rec.keys[0] if signer is None else _subject(session, signer, "--signer")[0]
    if actor not in rec.keys:
        raise MalformedError(f"--signer: {actor} is not one of the {len(rec.keys)} recovery "
                             f"keys of {subject}")
    assert state is not None  # noqa: S101 - it has a recovery setting
    now = session.now()
    placeholder = {"to_sig": b64encode(bytes(64))} if new is not None else {}
    draft = Event(type_, state.work, state.head, actor, now, {**body, **placeholder})
    if new is not None:
        body = {**body, "to_sig": b64encode(new.sign(statement(draft)))}
    request = KeyRequest(Event(type_, state.work, state.head, actor, now, body), rec.keys,
                         rec.threshold)
    mine = [session.signing_key(n) for n in cosign or ()]
    for k in sorted(mine, key=lambda k: k.public.text == actor):  # the signer signs last
        request = request.cosign(k)
    write_text_atomic(path, json.dumps(request.to_json(), indent=2) + "\n")
    _request_status(f"recovery request written to {path}", request, path, as_json)


def _request_status(what: str, request: Any, path: Path, as_json: bool) -> None:
    if as_json:
        emit_json({"request": str(path), "type": request.event.type,
                   "key": request.event.body["key"], "signer": request.signer,
                   "cosigners": list(request.cosigners), "threshold": request.threshold,
                   "missing": request.missing, "complete": request.complete})
        return
    typer.echo(what)
    typer.echo(f"  {request.event.type} of {request.event.body['key']}")
    typer.echo(f"  signer:     {request.signer} (signs the event last)")
    typer.echo(f"  cosigned:   {len(request.cosigners)} of the {request.threshold - 1} "
               "needed besides the signer")
    if request.complete:
        typer.echo(f"  complete: anyone may submit it: provenance key submit {path}")
    elif request.missing:
        typer.echo(f"  next: {request.missing} more recovery key(s): provenance key cosign "
                   f"{path} --key NAME")
        left = [k for k in request.keys if k != request.signer and k not in request.cosigners]
        typer.echo(f"  may cosign: {', '.join(left)} (any {request.missing}; then the signer)")
    else:
        typer.echo(f"  next: the signer signs: provenance key cosign {path} --key NAME")


def _read_request(path: Path) -> Any:
    from ..core.encoding import load_json
    from ..core.key_request import MAX_KEY_REQUEST_BYTES, KeyRequest
    from ..ledger.files import read_bounded

    data = load_json(read_bounded(path, "key request", MAX_KEY_REQUEST_BYTES), "key request")
    try:
        return KeyRequest.from_json(data)
    except MalformedError as e:
        raise MalformedError(f"{path}: {e}") from e


@app.command("cosign")
def cosign_request(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="The recovery request.")],
    key: Annotated[str, typer.Option("--key", help="Your recovery key (its name).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Sign a recovery request (key rotate/compromised --recovery-request) with your
    recovery key: a cosignature, or, as the request's signer, the event itself (last).

    Example: provenance key cosign rotate-studio.json --key rescue-2
    """
    session = Session.from_ctx(ctx)
    request = _read_request(path)
    me = session.public_key(key)
    if me is not None and (me in request.cosigners or (me == request.signer
                                                        and request.complete)):
        request.check()  # run again: this key's signature is there (specs/cli.md section 2.4)
        _request_status(f"already signed {path} as {me}", request, path, as_json)
        if not as_json:
            typer.echo("  nothing written", err=True)
        return
    request = request.cosign(session.signing_key(key))
    write_text_atomic(path, json.dumps(request.to_json(), indent=2) + "\n")
    _request_status(f"signed {path} as {session.public_key(key)}", request, path, as_json)


@app.command("submit")
def submit_request(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A complete recovery request.")],
    node: NodeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Log a recovery request its recovery keys have signed (no key of yours is needed).

    Example: provenance key submit rotate-studio.json --node https://ledger.example
    """
    from ..ledger.ledger import MAX_EVENT_AGE

    session = Session.from_ctx(ctx).use_node(node)
    request = _read_request(path)
    request.check()
    event = request.signed()
    what = "rotated" if event.event.type == "key.rotate" else "declared compromised"
    done = event_by_id(session.history(event.event.work), event.id)
    if done is not None:  # run again: the request is logged (specs/cli.md section 2.4)
        report_exists(session, what, done, "this request is logged as", as_json, record=True)
        return
    if session.now() - event.event.at > MAX_EVENT_AGE:
        raise MalformedError(f"{path} was written at {format_time(event.event.at)}, more than "
                             f"{MAX_EVENT_AGE // 60} minutes ago: a log admits an event only "
                             "that close to its time; write a new request")
    report_key_event(what, *_submit(session, event), as_json)
