"""``provenance anchor``: register a file's content, or every file in a folder (specs/cli.md
sections 2, 3.1 and 3.2)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ..core.events import MAX_TITLE_CHARS
from ..core.keystate import final_holder
from ..errors import ConflictError, LedgerError, MalformedError, quoted
from ..ledger.folder import (
    FileResult,
    Progress,
    Status,
    check_not_empty,
    is_yours,
    read_content,
)
from ..ledger.media_code import take_notices
from .folder import anchor_dir, payees_kept, rotated_away, similar_warning
from .payees import PayeeOpt, parse_payees
from .progress import LARGE_FILE_BYTES, Bars
from .session import DEFAULT_KEY, NodeOpt, Session, TimeoutOpt, emit_json


def anchor(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File (or folder) to anchor.", show_default=False)],
    title: Annotated[str | None, typer.Option(help="Title recorded with the work.")] = None,
    key: Annotated[str | None, typer.Option(help="Signing key name (default: 'default').")] = None,
    payee: PayeeOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register FILE's SHA-256, size and media type (or every file in a folder) as your work.

    Images, text, audio and video files also get their ISCC content code (ISO 24138; audio
    and video with the 'media' extra or an ffmpeg on PATH); a warning on stderr
    names any work of another key whose content is similar (a possible dispute).
    Prints the work id and where the receipt was written.
    Anchoring content you already registered reports it and appends nothing.
    A symbolic link named here is followed (its target is printed); links inside a folder
    are skipped and counted. Only regular files with content are anchored.

    Example: provenance anchor page-012.png --title "Chapter 1, page 12"
    """
    session = Session.from_ctx(ctx).use_node(node, timeout)
    ctx.call_on_close(_media_notices)  # whatever the outcome, once the command ends
    target = Path(os.path.realpath(path)) if path.is_symlink() else None
    # before --payee is read: a payee named 'default' makes that key (specs/cli.md 2.1, 2.2)
    first_key = key in (None, DEFAULT_KEY) and session.public_key(None) is None
    payees = parse_payees(session, payee)
    if path.is_dir():
        _refuse_compromised(session, key)
        if title is not None:
            raise MalformedError("--title names one work; it cannot be used with a folder")
        try:
            anchor_dir(session, path, key, as_json, target, payees)
        except typer.Exit as done:  # exit 1: some file is another key's; the key was made
            if first_key and done.exit_code in (0, 1):
                session.say_default_made()
            raise
        if first_key:
            session.say_default_made()
        return
    if title is not None and not 0 < len(title) <= MAX_TITLE_CHARS:
        raise MalformedError(f"--title must be 1 to {MAX_TITLE_CHARS} characters")
    with Bars.for_output(as_json) as bars:
        content = read_content(path, progress=_hashing(bars, path))
    check_not_empty(content)
    _refuse_void_registration(session, path, content.work)
    _refuse_compromised(session, key)
    result = replace(session.register_content(content, title, key, payees=payees),
                     target=target)
    if result.status is Status.CONFLICT:
        result = _rotated_to_you(session, result, key)
    if result.status is Status.CONFLICT:
        raise ConflictError(f"{path} is already registered by another key ({result.registrant}) "
                            f"in event {result.id}{_yours(session, result.registrant)}")
    if result.status is Status.EXISTS and title is not None:
        typer.echo(_title_kept(session, result.work, title), err=True)
    if result.status is Status.EXISTS and payees is not None:
        typer.echo(payees_kept(), err=True)
    if result.status is Status.ANCHORED and (rotated := rotated_away(session, key)) is not None:
        typer.echo(rotated, err=True)
    if result.status is Status.ANCHORED and result.similarity is not None and result.work:
        similar = session.similar_works(result.work, session.public_key(key))
        for s in similar:
            typer.echo(similar_warning(path, s), err=True)
        if similar:
            result = replace(result, similar=tuple(similar))
    if as_json:
        emit_json(result.to_json())
        if first_key:
            session.say_default_made()
        return
    if target is not None:
        typer.echo(f"following symbolic link {path} -> {target}")
    if result.status is Status.EXISTS:
        typer.echo(f"already registered: {result.work}")
        typer.echo(f"  registered in event {result.id} (entry {result.index}); "
                   "this key is its registrant or controller")
        typer.echo(f"  nothing appended; receipt: {result.receipt}")
        if first_key:
            session.say_default_made()
        return
    typer.echo(f"anchored {path}")
    typer.echo(f"  work:    {result.work}")
    typer.echo(f"  event:   {result.id} (entry {result.index})")
    typer.echo(f"  receipt: {result.receipt}")
    if first_key:
        session.say_default_made()


def _refuse_compromised(session: Session, key: str | None) -> None:
    """Refuse to sign with a key declared compromised since a time before now: what it signs
    from then does not count (specs/rules.md R22), a registration neither, so the work would
    be lost to this ledger (its content registered once, by a void registration)."""
    public = session.public_key(key)
    if public is None:
        return
    from .identity import compromised_words, key_record

    record = key_record(session, public)
    if record is None or not record.compromised_at(session.now()):
        return
    raise LedgerError(f"{compromised_words(session, record)}: a registration it signs now "
                      "would not count, and the content could not be registered again on "
                      "this ledger; sign with another key (--key NAME, or provenance key new "
                      "NAME)")


def _refuse_void_registration(session: Session, path: Path, work: str) -> None:
    """Content registered by a key declared compromised at its registration's time: its
    registration does not count (specs/rules.md R22) and no key can register it again here;
    say so instead of ``already registered`` or a conflict."""
    from .identity import key_lookup, void_registration, void_words

    state = session.state(work)
    record = void_registration(state, key_lookup(session))
    if record is None or state is None:
        return
    raise LedgerError(
        f"{path} was {void_words(session, state, record)}; the content is registered once on "
        f"a ledger, so no key can register it again here (see: provenance status {path})")


def _rotated_to_you(session: Session, result: FileResult, key: str | None) -> FileResult:
    """A conflict whose registrant or controller was rotated to the signing key is the key's
    own work (specs/rules.md sections 5.1 and 9; ``works`` lists it so): ``exists``, with the
    registration's receipt kept. Local ledger only (through a node, the conflict stands)."""
    if session.node_url is None and result.work is not None:
        state = session.state(result.work)
        public = session.public_key(key)
        if (state is not None and public is not None
                and is_yours(state, public, session.ledger.key_record)):
            doc, event = session.registration_receipt(result.work)
            return replace(result, status=Status.EXISTS, index=doc["leaf_index"],
                           receipt=session.write_receipt_doc(doc, event))
    return result


def _yours(session: Session, registrant: str | None) -> str:
    """``; that is your key 'NAME': ...`` when the key that registered the work is one of
    the user's own keys (specs/cli.md section 1, errors), or ``; it was rotated to your key
    'NAME': ...`` when that key was rotated to one of them (it holds the work now), else
    nothing."""
    if registrant is None:
        return ""
    held = (registrant if session.node_url is not None
            else final_holder(registrant, session.ledger.key_record))
    names = session.key_names(held)
    if not names:
        return ""
    which = "that is" if held == registrant else "it was rotated to"
    if names[0] == "default":
        return f"; {which} your key 'default': drop --key"
    return f"; {which} your key '{names[0]}': add --key {names[0]}"


def _title_kept(session: Session, work: str | None, title: str) -> str:
    """The note for a ``--title`` given for a work registered before: a registration is never
    changed, so the title it was given then stays (specs/cli.md section 2.1)."""
    state = session.ledger.state(work) if session.node_url is None and work else None
    if state is None:
        then = "the title it was given then"
    elif state.content.get("title") is None:
        then = "no title"
    else:
        then = f"its title {quoted(state.content['title'])}"
    return (f"note: --title {quoted(title)} was not recorded: the work was registered before, "
            f"and its registration keeps {then}")


def _media_notices() -> None:
    """How to get similarity codes for the audio or video files anchored without one
    (ledger/media_code.py): a line on stderr per media kind."""
    for line in take_notices():
        typer.echo(line, err=True)


def _hashing(bars: Bars, path: Path) -> Progress:
    """A bar for hashing ``path`` when it is large (a small file is hashed in a blink)."""
    try:
        large = path.stat().st_size >= LARGE_FILE_BYTES
    except OSError:
        large = False  # read_content says why it cannot be read
    if not large:
        return _no_progress
    return lambda _stage, done, total: bars.in_bytes(f"hashing {path.name}", done, total)


def _no_progress(stage: str, done: int, total: int) -> None:
    """Nothing shown."""
