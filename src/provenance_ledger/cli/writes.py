"""What a write command prints, and how a write that was made already is answered
(specs/cli.md sections 2.4 and 3.3).

A write run a second time, after an answer that was lost (a node that timed out after storing
the event, a script re-run), must neither log the statement twice nor fail as if the first
run had not happened: it finds the event that made the change and reports that one, exit 0,
with ``"status": "exists"`` in ``--json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer

from ..core.events import SignedEvent
from ..core.rules import WorkState
from ..errors import NotFoundError, RuleError
from .session import Session, emit_json

Written = tuple[SignedEvent, int, Path]
"""An event, its entry and the receipt kept for it."""
History = Sequence[tuple[int, SignedEvent]]
Found = tuple[int, SignedEvent]

LOGGED = "logged"
EXISTS = "exists"
AGAIN_HINT = "; to log it a second time, add --again"
"""What the stderr line adds for a statement the rules would take twice (specs/cli.md
section 2.4)."""


def report(what: str, result: Written, as_json: bool, status: str = LOGGED, *,
           why: str | None = None, record: bool = False) -> None:
    """``WHAT: ID`` (with ``why``, an event logged before: ``already WHAT: WHY ID``), then the
    event's work (``record``: an event of a key record, its key and record), entry and
    receipt; or, with ``--json``, specs/cli.md section 3.3."""
    event, index, path = result
    if as_json:
        emit_json({"id": event.id, "type": event.event.type, "work": event.event.work,
                   "index": index, "receipt": str(path), "status": status})
        return
    typer.echo(f"{what}: {event.id}" if why is None else f"already {what}: {why} {event.id}")
    if record:
        typer.echo(f"  key:     {event.event.body['key']}")
        typer.echo(f"  record:  {event.event.work}")
    else:
        typer.echo(f"  work:    {event.event.work}")
    typer.echo(f"  entry:   {index}")
    typer.echo(f"  receipt: {path}")


def same_body(event: SignedEvent, body: dict[str, Any]) -> bool:
    """Whether ``event`` says exactly ``body`` (as JSON: a tuple and a list alike, and an
    event's frozen members as the dicts they are)."""
    return (json.dumps(event.event.body, sort_keys=True, default=dict)
            == json.dumps(body, sort_keys=True, default=dict))


def same_statement(event: SignedEvent, body: dict[str, Any],
                   unordered: tuple[str, ...] = ()) -> bool:
    """Whether ``event`` says what ``body`` says, the lists named in ``unordered`` (purposes,
    conditions, territories: sets in the rules) compared as sets."""
    def norm(b: Any) -> dict[str, Any]:
        d: dict[str, Any] = json.loads(json.dumps(b, default=dict))
        for k in unordered:
            if isinstance(d.get(k), list):
                d[k] = sorted(map(str, d[k]))
        return d

    return norm(event.event.body) == norm(body)


def event_by_id(history: History, event_id: str) -> Found | None:
    """The event ``event_id`` of a work's history, with its entry."""
    return next(((i, e) for i, e in history if e.id == event_id), None)


def state_and_history(s: Session, work: str) -> tuple[WorkState | None, History]:
    """The work's state and its events, oldest first, read at once (through a node, from one
    state receipt verified here); none for a work the log does not hold."""
    if s.node_url is None:
        if not s.has_ledger():  # a fresh home holds no work: reading it makes nothing
            return None, []
        return s.ledger.proven_state(work), s.ledger.history(work)
    client = s.client  # reaching and pinning the node fail loudly, outside the try
    try:
        return client.verified_state(work)
    except NotFoundError:
        return None, []


def last_event(history: History, type_: str, **fields: Any) -> Found | None:
    """The latest event of ``type_`` whose body has ``fields``."""
    for index, event in reversed(history):
        body = event.event.body
        if event.event.type == type_ and all(body.get(k) == v for k, v in fields.items()):
            return index, event
    return None


def kept_again(s: Session, found: Found) -> Written:
    """An event logged before, with its receipt kept again under ``receipts/``."""
    index, event = found
    doc = (s.client.receipt(event.id) if s.node_url is not None
           else s.ledger.receipt(index).to_json(event))
    return event, index, s.write_receipt_doc(doc, event)


def report_exists(s: Session, what: str, found: Found, why: str, as_json: bool,
                  hint: str = "", record: bool = False) -> None:
    """Report the event that made the change already: ``already WHAT: WHY ID``, nothing
    appended (specs/cli.md section 2.4)."""
    report(what, kept_again(s, found), as_json, EXISTS, why=why, record=record)
    if not as_json:
        typer.echo(f"  nothing appended{hint}", err=True)


def write_once(s: Session, what: str, append: Callable[[], Written], work: str,
               settled: Callable[[History], tuple[Found, str] | None], as_json: bool) -> None:
    """Append; when the rules refuse it, and the work's history shows the change made already
    (``settled``: the event that made it, and the words before its id), report that event
    instead of the refusal."""
    try:
        result = append()
    except RuleError:
        done = settled(s.history(work))
        if done is None:
            raise
        report_exists(s, what, done[0], done[1], as_json)
        return
    report(what, result, as_json)
