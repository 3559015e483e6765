"""``provenance anchor DIR``: the report of a folder anchored by ``ledger/folder.py``, or
through a node in batches of registrations (specs/cli.md sections 2 and 3.2)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from ..core.events import Event, sign_event
from ..core.receipt import verify_checkpoint_note
from ..core.similarity import CODE_BITS
from ..core.timefmt import format_time
from ..errors import LedgerError, NodeFailure, NotFoundError, error_line
from ..ledger.folder import (
    REGISTER,
    Content,
    FileResult,
    FolderListing,
    FolderRun,
    Payees,
    Status,
    folder_title,
    list_folder,
    read_content,
    register_body,
)
from .progress import Bars
from .session import DEFAULT_KEY, Session, json_text

LISTED_FILES = 20  # files named per list in the text report; --json has them all
ANCHOR_BATCH = 500  # registrations per POST /events/batch of anchor DIR --node

_LABELS = {
    Status.ANCHORED: "anchored now",
    Status.EXISTS: "already yours",
    Status.DUPLICATE: "same content twice",
    Status.CONFLICT: "owned by another key",
    Status.REFUSED: "refused",
    Status.SKIPPED: "skipped",
}


def rotated_away(session: Session, key_name: str | None) -> str | None:
    """The warning for works just registered with a key that was rotated away (specs/cli.md
    section 2.1): the key it was rotated to controls them, but they are signed by a key its
    holder gave up. None otherwise. Through ``--node``, the key's record is the node's, read
    and verified as every state the node answers (cli/identity.py ``key_record``)."""
    public = session.public_key(key_name)
    if public is None:
        return None
    if session.node_url is None:
        record = session.ledger.key_record(public)
    else:
        from .identity import key_record

        record = key_record(session, public)
    rotation = None if record is None else record.rotation()
    if rotation is None:
        return None
    names = session.key_names(rotation.to)
    use = f"--key {names[0]}" if names else "the key it was rotated to"
    return (f"warning: your key '{key_name or DEFAULT_KEY}' was rotated to {rotation.to} at "
            f"{format_time(rotation.at)}: what it registered now is that key's to control, but "
            f"signed by a key you gave up; sign with {use}")


def payees_kept(files: int | None = None) -> str:
    """The note for ``--payee`` given for works registered before, one (``files`` None) or
    several files' (specs/cli.md section 2.2): a registration is never changed."""
    if files is None:
        which = ": the work was registered before, and its payees stay"
    else:
        which = f" for the {files:,} files registered before: their payees stay"
    return f"note: --payee was not recorded{which} as registered (only a transfer names new ones)"


def anchor_dir(session: Session, root: Path, key_name: str | None, as_json: bool,
               target: Path | None = None, payees: Payees = None) -> None:
    """Anchor every file below ``root`` and report; exit 1 if any file is another key's or
    was refused. ``target``: where ``root``, a symbolic link, points; ``payees``: the
    royalty split of every work registered now."""
    listing = list_folder(root)
    if not listing.files:
        skipped = f" ({len(listing.skipped)} skipped)" if listing.skipped else ""
        raise NotFoundError(f"no files to anchor in {root}{skipped}")
    report: list[str] = []  # the --json report, made while the last receipts are written
    with Bars.for_output(as_json) as bars:
        if session.node_url is not None:
            results = _anchor_remote(session, listing, key_name, bars, payees)
        else:
            # The worker starts reading the files while the ledger is opened.
            with FolderRun(session.signing_key(key_name), listing, session.now(),
                           payees) as run:
                results = run.anchor(session.ledger, session.home.receipts, bars, (
                    lambda done: report.append(_json_report(root, target, done)))
                    if as_json else None)
    voided = _void_registrations(session, results)
    if voided is not None:
        results, report = voided, []  # the --json report is made again with the refusals
    if any(r.status is Status.ANCHORED for r in results) and (
            rotated := rotated_away(session, key_name)) is not None:
        typer.echo(rotated, err=True)
    kept = sum(r.status is Status.EXISTS for r in results)
    if payees is not None and kept:  # said before the report, which may exit 1
        typer.echo(payees_kept(kept), err=True)
    _report(session, root, target, results, as_json, *report)


def _void_registrations(session: Session, results: Sequence[FileResult]
                        ) -> tuple[FileResult, ...] | None:
    """``results`` (None when it stays as it is) with each file whose content was registered
    by a key declared compromised at that time ``refused``, saying so, not ``exists`` or
    ``conflict``: that registration does not count, and no key can register the content
    again on this log (specs/rules.md R22; specs/cli.md section 3.2). One key record per
    registrant; a work's state is read only when its registrant's key is declared
    compromised at all."""
    from .identity import key_lookup, void_registration, void_words

    lookup = key_lookup(session)
    out, changed = list(results), False
    for i, r in enumerate(results):
        if r.status not in (Status.EXISTS, Status.CONFLICT) or r.work is None:
            continue
        record = lookup(r.registrant) if r.registrant is not None else None
        if r.registrant is not None and (record is None or record.compromised_since is None):
            continue
        state = session.state(r.work)
        void = void_registration(state, lookup)
        if void is None or state is None:
            continue
        out[i] = replace(r, status=Status.REFUSED, receipt=None, registrant=state.registrant,
                         error=f"{void_words(session, state, void)}; no key can register this "
                               "content again here")
        changed = True
    return tuple(out) if changed else None


def _anchor_remote(session: Session, listing: FolderListing, key_name: str | None,
                   bars: Bars, payees: Payees) -> tuple[FileResult, ...]:
    """Through a node: the new files' registrations signed here and submitted
    ``ANCHOR_BATCH`` at a time (``POST /events/batch``), each receipt verified and kept; a
    file the node refuses (registered meanwhile, already registered) is looked at again on
    its own, so it is reported ``exists`` or ``conflict`` as one submission would be."""
    results: list[FileResult] = []
    seen: dict[str, Path] = {}
    fresh: list[Content] = []
    total = len(listing.files)
    root = str(listing.root)
    for n, path in enumerate(listing.files, 1):
        bars("anchoring on the node", n, total)
        try:
            content = read_content(path, follow_symlinks=False)
        except LedgerError as e:
            results.append(FileResult(path, Status.REFUSED, error=str(e)))
            continue
        if content.size == 0:
            results.append(FileResult(path, Status.SKIPPED, content.work,
                                      reason="empty (an empty file is nobody's work)"))
        elif content.work in seen:
            results.append(FileResult(path, Status.DUPLICATE, content.work,
                                      duplicate_of=seen[content.work]))
        else:
            seen[content.work] = path
            fresh.append(content)
            if len(fresh) == ANCHOR_BATCH:
                results.extend(_register_batch(session, fresh, key_name, payees, root))
                fresh = []
    if fresh:
        results.extend(_register_batch(session, fresh, key_name, payees, root))
    return tuple(sorted((*results, *listing.skipped), key=lambda r: r.file.parts))


def _register_batch(session: Session, contents: Sequence[Content], key_name: str | None,
                    payees: Payees, root: str) -> list[FileResult]:
    """Register ``contents`` (distinct works) of the folder ``root`` through the node in one
    batch, each titled by its path below ``root`` (specs/cli.md section 2.1)."""
    key = session.signing_key(key_name)
    now = session.now()
    events = [sign_event(Event(REGISTER, c.work, None, key.public.text, now,
                               register_body(c, folder_title(str(c.path), root), payees)), key)
              for c in contents]
    # The log's size before the batch: an event the node answers with an index below it was
    # in the log already (the same registration, signed in the same second by an earlier
    # run: Ed25519 signatures are deterministic), so the file ``exists``.
    from ..node.client import fetch_checkpoint  # the node's client: only with --node

    before, _, _ = verify_checkpoint_note(fetch_checkpoint(session.client),
                                          [session.client.verifier])
    answers = session.client.submit_batch(events)
    failed = next((a for a in answers if isinstance(a, NodeFailure)), None)
    out: list[FileResult] = []
    for content, event, answer in zip(contents, events, answers, strict=True):
        if isinstance(answer, NodeFailure):
            continue  # the node failed: asking again, one by one, fails the same way
        if isinstance(answer, LedgerError):
            result = _register_one(session, content, key_name, payees,
                                   folder_title(str(content.path), root))
        else:
            index, doc = answer
            receipt = session.write_receipt_doc(doc, event)
            session.warn_unwitnessed(receipt)
            status = Status.EXISTS if index < before.size else Status.ANCHORED
            body = event.event.body
            result = FileResult(content.path, status, content.work, event.id, index,
                                receipt, similarity=body.get("similarity"),
                                title=body.get("title"), registrant=(
                                    event.event.actor if status is Status.EXISTS else None))
        if result.status is Status.ANCHORED and result.similarity and result.work:
            result = replace(result, similar=tuple(
                session.similar_works(result.work, session.public_key(key_name))))
        out.append(result)
    if failed is not None:  # the receipts of the batch's stored events are kept above
        raise NodeFailure(f"{failed}; nothing more was sent: run the same command again once "
                          "the node works (the files anchored so far keep their receipts)")
    return out


def _register_one(session: Session, content: Content, key_name: str | None,
                  payees: Payees, title: str) -> FileResult:
    """One file on its own, after the node refused its registration in a batch."""
    try:
        return session.register_content(content, title, key_name, keep_receipt=True,
                                        payees=payees)
    except NodeFailure:
        raise
    except LedgerError as e:
        return FileResult(content.path, Status.REFUSED, content.work, error=str(e))


def _json_report(root: Path, target: Path | None, results: Sequence[FileResult]) -> str:
    """The ``--json`` report, as ``emit_json`` prints it (specs/cli.md section 3.2)."""
    doc: dict[str, Any] = {"folder": str(root)}
    if target is not None:
        doc["target"] = str(target)
    doc["summary"] = {str(status): n for status, n in Counter(r.status for r in results).items()}
    doc["files"] = [r.to_json() for r in results]
    return json_text(doc)


def _report(session: Session, root: Path, target: Path | None,
            results: Sequence[FileResult], as_json: bool, made: str | None = None) -> None:
    """Print the report (``made``: the ``--json`` one, made already)."""
    counts = Counter(r.status for r in results)
    if as_json:
        typer.echo(made if made is not None else _json_report(root, target, results))
    else:
        if target is not None:
            typer.echo(f"following symbolic link {root} -> {target}")
        typer.echo(f"anchored folder {root}")
        typer.echo(f"  {'status':<20} {'files':>7}")
        for status, label in _LABELS.items():
            typer.echo(f"  {label:<20} {counts.get(status, 0):>7}")
        typer.echo(f"  {'total':<20} {len(results):>7}")
        typer.echo(f"  receipts in {session.home.receipts}")
        _list([r for r in results if r.status is Status.SKIPPED], err=False)
        _list([r for r in results if r.status in (Status.CONFLICT, Status.REFUSED)], err=True)
    similar = [r for r in results if r.similar]
    for r in similar[:LISTED_FILES]:  # on stderr whatever the output, like anchor FILE
        for s in r.similar:
            typer.echo(similar_warning(r.file, s), err=True)
    if len(similar) > LISTED_FILES:
        typer.echo(f"warning: {len(similar) - LISTED_FILES} more files are similar to works "
                   "of other keys: see 'similar' in --json", err=True)
    if counts.get(Status.CONFLICT) or counts.get(Status.REFUSED):
        raise typer.Exit(1)


def similar_warning(path: Path, s: Mapping[str, Any]) -> str:
    """The stderr line for a similar work of another key (specs/cli.md section 2.1)."""
    owner = (f"controller {s['controller']}" if s["controller"] == s["registrant"] else
             f"controller {s['controller']}, registered by {s['registrant']}")
    return (f"warning: {path} is similar to work {s['work']} of another key ({owner}): "
            f"distance {s['distance']} of {CODE_BITS} bits, event {s['id'][:12]} on log "
            f"{s['origin']}; a possible dispute (anchored all the same)")


def _list(rows: Sequence[FileResult], err: bool) -> None:
    """The first ``LISTED_FILES`` rows, one line each, then how many more ``--json`` lists."""
    for r in rows[:LISTED_FILES]:
        why = (error_line(r.error) if r.error else
               r.reason or f"registered by another key ({r.registrant})")
        typer.echo(f"  {r.status}: {r.file}: {why}", err=err)
    if len(rows) > LISTED_FILES:
        typer.echo(f"  ... {len(rows) - LISTED_FILES} more in --json", err=err)
