"""``provenance dataset``: the AI developer's side (specs/cli.md section 3.14).

``dataset check``: may this dataset be used for this purpose? Each item of a folder or a
manifest is resolved to a work (ledger/dataset.py), each work's complete state is read as of
one checkpoint (the local ledger's, checked against its signed map, or a node's batch of state
receipts v2, verified here against its pinned log key), and the answer of ``may``
(specs/rules.md section 5) is given for every item; ``--receipt`` keeps it all as a compliance
receipt (core/compliance.py, specs/receipts.md section 14) that ``verify`` re-checks offline.
"""

from __future__ import annotations

import csv
import io
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.compliance import (
    MAX_COMPLIANCE_ITEMS,
    NOT_ALLOWED,
    OUTCOMES,
    Item,
    ItemAnswer,
    SimilarClaim,
    Trust,
    build_compliance_receipt,
    decide_items_v2,
    needed_keys,
)
from ..core.current import (
    MAX_CURRENT_WORKS,
    ProvenEvent,
    Question,
    StateReceiptV2,
    citations,
    decision_keys,
    replay_unverified,
    verify_state_receipt_v2,
)
from ..core.encoding import thaw
from ..core.events import SignedEvent, check_purpose
from ..core.identity import key_record_id
from ..core.keystate import KeyLookup, affected, effective, holder
from ..core.note import Checkpoint
from ..core.rules import Decision, WorkState, apply
from ..core.similarity import DEFAULT_DISTANCE, MAX_DISTANCE
from ..core.timefmt import format_time
from ..errors import MalformedError, NotFoundError, RuleError, quoted
from ..ledger.dataset import (
    Dataset,
    LocalMatcher,
    Matcher,
    Resolved,
    SimilarResolver,
    read_dataset,
)
from ..ledger.folder import FileResult, folder_title
from ..node.similar import NodeMatcher
from . import dataset_disclose
from .identity import AttesterOpt, PolicyOpt, key_lookup, trusted_attesters
from .listing import _cell as csv_cell  # the one CSV-injection rule (specs/cli.md 3.10)
from .numbers import whole
from .progress import Bars
from .receipt_show import condition_words
from .session import NodeOpt, Session, TimeoutOpt, output_file, write_text_atomic
from .words import describe_terms

app = typer.Typer(
    help="Check a dataset against the ledger (may a key use its items for a purpose?), and "
    "disclose it: commit to its items on the log, prove whether a work is in it.\n\n"
    "Example: provenance dataset check ./images --purpose ai_training --as studio",
    no_args_is_help=True)

SKIPPED = "skipped"
DEFAULT_DENY_NOTE = (
    "unregistered items are not works on this log as of its checkpoint: the rules' default "
    "deny (no use without a consent or licence) is about registered works, and an "
    "unregistered item carries no consent either")
CSV_COLUMNS = ("item", "outcome", "work", "controller", "reason", "citing", "conditions",
               "match", "distance", "terms")
EXACT = "exact"
SIMILAR = "similar"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the report: an item's answer, or a folder entry skipped."""

    name: str
    outcome: str
    work: str | None
    controller: str | None
    reason: str
    events: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    citing: tuple[str, ...] = ()
    match: str | None = None  # exact or similar, for a registered work
    distance: int | None = None  # of a similar match
    code: str | None = None  # the item's content code, when matched by it
    granted_by: dict[str, Any] | None = None  # rules.md section 8, for an allowed item
    terms: dict[str, Any] | None = None  # of the licence that allows the item, as may says

    def to_json(self) -> dict[str, Any]:
        return {"item": self.name, "outcome": self.outcome, "work": self.work,
                "registered": self.outcome not in ("unregistered", SKIPPED),
                "match": self.match, "distance": self.distance, "code": self.code,
                "controller": self.controller, "reason": self.reason,
                "events": list(self.events), "conditions": list(self.conditions),
                "citing": list(self.citing), "granted_by": self.granted_by,
                "terms": self.terms}


@app.command("check")
def check(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(
        metavar="PATH",
        help="A folder (every file is hashed, as anchor does) or a manifest: one path, "
             "sha256: work id or ISCC code per line, or JSON Lines with one of path, work, "
             "sha256, iscc (and an optional name) per object.", show_default=False)],
    purpose: Annotated[str, typer.Option(
        "--purpose", help="Purpose asked about, e.g. ai_training.", show_default=False)],
    as_key: Annotated[str, typer.Option(
        "--as", metavar="KEY", help="The user's key: ed25519:... or the name of one of your "
                                    "keys.", show_default=False)],
    similar: Annotated[int | None, typer.Option(
        "--similar", metavar="D", parser=whole(
            "--similar", 0, MAX_DISTANCE, unit="the 64 bits that may differ",
            note=f"{DEFAULT_DISTANCE} is the usual"),
        help=f"Match an item whose exact work is not registered to the nearest registered "
             f"work whose content code is within D bits (0 to {MAX_DISTANCE}); ISCC lines use "
             f"D too (else {DEFAULT_DISTANCE}). With --node, the node's index is asked.")
    ] = None,
    receipt: Annotated[Path | None, typer.Option(
        "--receipt", metavar="FILE", parser=output_file("--receipt"),
        help=f"Write a compliance receipt (at most {MAX_COMPLIANCE_ITEMS} items): one "
             "checkpoint and one map proof for every item's state, checked offline by "
             "provenance verify FILE.")] = None,
    controller: Annotated[str | None, typer.Option(
        "--controller", metavar="KEY",
        help="Report only the items whose work this key controls (a creator checking a "
             "published manifest for their own works).")] = None,
    require_attested: Annotated[bool, typer.Option(
        "--require-attested",
        help="Count an item as allowed only when the key that granted it is attested by an "
             "attester you trust (--attester, or 'attester' lines of --policy).")] = False,
    attester: AttesterOpt = None,
    policy: PolicyOpt = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="OUTCOME",
        help="List only the items of this outcome: allowed, not-allowed, unregistered or "
             "skipped (repeat for several). The summary, the exit code and --receipt still "
             "cover every item.")] = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV, one row per item.")] = False,
) -> None:
    """May KEY use every item of a dataset for PURPOSE? Exit 1 if any registered one is not.

    Each item: registered or not, its controller, the decision citing the consent or licence.

    Unregistered items are listed as such: the default deny is about registered works.

    Example: provenance dataset check ./images --purpose ai_training --as studio
    """
    if as_json and as_csv:
        raise MalformedError("give --json or --csv, not both")
    shown = _outcomes(only) if only else None
    try:
        check_purpose(purpose, "--purpose")
    except MalformedError as e:
        raise MalformedError(f"--purpose: {e}") from e
    s = Session.from_ctx(ctx).use_node(node, timeout)
    trust = _trust(s, require_attested, policy, attester)
    key = s.key_option(as_key, "--as")
    mine = s.key_option(controller, "--controller") if controller is not None else None
    dataset = read_dataset(path)
    if receipt is not None and len(dataset.items) > MAX_COMPLIANCE_ITEMS:
        raise MalformedError(f"--receipt: a compliance receipt lists at most "
                             f"{MAX_COMPLIANCE_ITEMS} items; {path} has "
                             f"{len(dataset.items)} (split the manifest)")
    with Bars.for_output(as_json or as_csv) as bars:
        matcher: Matcher = NodeMatcher(s.client) if s.node_url is not None else LocalMatcher(
            s.ledger, s.ledger.store.latest_checkpoint_size() or 0)
        found = SimilarResolver(matcher, similar, DEFAULT_DISTANCE if similar is None
                                else similar).resolve(dataset.items, bars)
        resolved = [r for r in found if not r.empty and r.skipped is None]
        empty = [Row(r.item.name, SKIPPED, None, None,
                     r.skipped or "empty (an empty file is nobody's work)", code=r.code)
                 for r in found if r.empty or r.skipped is not None]
        if not resolved:
            why = f": {empty[0].name}: {empty[0].reason}" if empty else ""
            raise MalformedError(f"{path} has no item to check (only empty or skipped "
                                 f"items{why})")
        if receipt is not None and len(resolved) > MAX_COMPLIANCE_ITEMS:
            raise MalformedError(f"--receipt: a compliance receipt lists at most "
                                 f"{MAX_COMPLIANCE_ITEMS} items")
        question = Question(key, purpose, s.now())
        named = [(r.item.name, r.checked_work) for r in resolved]
        works = list(dict.fromkeys(w for _, w in named if w is not None))
        lookup = key_lookup(s)  # the key records: rotations, compromises, attestations
        try:
            states, checkpoint, sr = _states(s, works, receipt is not None, bars, lookup)
        except RuleError:  # the proof's replay needs key records it does not list yet
            states, checkpoint, sr = _states(s, works, False, Bars(False), lookup)
    # specs/rules.md sections 8-9: each answer from the events that count, the controller
    # read through its rotations, and who granted it (under --require-attested, vouched for)
    histories = {w: (st, _events(s, w, st, lookup)) for w, st in states.items()}
    answers = decide_items_v2(question, named, histories, lookup, trust)
    if receipt is not None:
        # Every key record a replay of these works reads (a rotated licensee's reports, a
        # payee's compromise: specs/receipts.md 12.2); the controllers' are among them (14.3).
        records = list(dict.fromkeys(k for st in states.values() if st is not None
                                     for k in (*needed_keys(st, lookup),
                                               *decision_keys(st, lookup))))
        v2 = trust.require_attested or bool(trust.attesters) or any(
            lookup(k) is not None for k in records)
        if v2:  # the works and every key record the answers read, in one proof (14.3)
            listed = works + [key_record_id(k) for k in records]
            if len(listed) > MAX_CURRENT_WORKS:
                raise MalformedError(f"--receipt: {len(works)} works and their key records "
                                     f"are more than the {MAX_CURRENT_WORKS} a receipt lists "
                                     "(split the manifest)")
            _, _, sr = _states(s, listed, True, Bars(False), lookup)
        assert sr is not None  # noqa: S101 - _states proves what it is asked
        compliance = build_compliance_receipt(question, [_item(r) for r in resolved], sr,
                                              trust if v2 else None)
        write_text_atomic(receipt, json.dumps(compliance.to_json(), ensure_ascii=False) + "\n")
    held = {w: _controller_now(st, events, question.at, lookup)
            for w, (st, events) in histories.items()}
    rows = _rows(answers, resolved, dataset, held, question.at) + empty
    if mine is not None:
        mine = _controller_named(mine, question.at, lookup)
        rows = [r for r in rows if r.controller == mine]
    vkey = (s.client.verifier if s.node_url is not None else s.ledger.verifier).to_vkey()
    _report(rows, dataset, question, checkpoint, receipt, mine, as_json, as_csv, vkey, shown)
    if any(r.outcome == NOT_ALLOWED for r in rows):
        raise typer.Exit(1)


ONLY_OUTCOMES = {"allowed": "allowed", "not-allowed": NOT_ALLOWED,
                 "unregistered": "unregistered", SKIPPED: SKIPPED}
"""``--only``'s words (``not-allowed``, one word for the shell; ``not allowed`` too) and
the outcome each lists."""


def _outcomes(only: list[str]) -> tuple[str, ...]:
    """The outcomes ``--only`` lists, in the summary's order (specs/cli.md section 3.14)."""
    asked = set()
    for word in only:
        outcome = ONLY_OUTCOMES.get(word.strip().lower().replace(" ", "-"))
        if outcome is None:
            raise MalformedError(f"--only: {quoted(word)} is not an outcome (allowed, "
                                 "not-allowed, unregistered, skipped)")
        asked.add(outcome)
    return tuple(o for o in (*OUTCOMES, SKIPPED) if o in asked)


def _trust(s: Session, require_attested: bool, policy: Path | None,
           attester: list[str] | None) -> Trust:
    """The asker's trust policy (specs/rules.md section 8)."""
    trusted = trusted_attesters(s, policy, attester)
    if require_attested and not trusted:
        raise MalformedError("--require-attested needs the attesters you trust: give "
                             "--attester KEY, or --policy FILE with 'attester KEY' lines")
    return Trust(require_attested, tuple(sorted(set(trusted))))


def _events(s: Session, work: str, state: WorkState | None,
            lookup: KeyLookup) -> Sequence[SignedEvent]:
    """A work's events, read only when a key event may have made one stop counting."""
    if state is None or not affected(state, lookup):
        return ()
    return [ev for _, ev in s.history(work)]


def _controller_now(state: WorkState | None, events: Sequence[SignedEvent], at: int,
                    lookup: KeyLookup) -> str | None:
    """Who controls the work at ``at`` (specs/rules.md section 9): the controller of its
    effective state (a compromised key's later transfer does not count), read through its
    key's rotations to the key that holds that control now."""
    if state is None:
        return None
    if events:  # only read when a key event may have made one stop counting
        state = effective(events, lookup, apply).state or state
    return holder(state.controller, at, lookup)


def _controller_named(key: str, at: int, lookup: KeyLookup) -> str:
    """``--controller KEY`` (specs/cli.md section 3.14): KEY, or when it was rotated away,
    the key that holds its control now; the works that key controls are the user's, so
    naming the old key still finds them. Said on stderr."""
    now = holder(key, at, lookup)
    if now != key:
        typer.echo(f"note: --controller {key} was rotated to {now}: listing the works {now} "
                   "controls now", err=True)
    return now


def _states(s: Session, works: list[str], proofs: bool, bars: Bars, lookup: KeyLookup
            ) -> tuple[dict[str, WorkState | None], Checkpoint | None, StateReceiptV2 | None]:
    """Each work's state as of one checkpoint per ``MAX_CURRENT_WORKS`` works (a receipt
    holds at most that many, so it has exactly one), the checkpoint of the first, and with
    ``proofs`` the state receipt v2 the receipt embeds."""
    states: dict[str, WorkState | None] = {}
    checkpoint: Checkpoint | None = None
    sr: StateReceiptV2 | None = None
    total = len(works)
    for lo in range(0, total, MAX_CURRENT_WORKS):
        chunk = works[lo:lo + MAX_CURRENT_WORKS]
        if s.node_url is not None:
            doc, verified = s.client.complete_states(chunk)
            states.update({w.work: w.state for w in verified.works})
            checkpoint = checkpoint or verified.checkpoint
            if proofs:
                sr = StateReceiptV2.from_json(doc)
        elif proofs:
            complete = s.ledger.complete_state_receipt(chunk)
            if complete is None:
                raise NotFoundError(_no_map_line(s))
            verified = verify_state_receipt_v2(complete, [s.ledger.verifier], keys=lookup)
            states.update({w.work: w.state for w in verified.works})
            checkpoint, sr = verified.checkpoint, complete
        else:
            current = s.ledger.current(chunk)
            if current is None:
                if s.ledger.store.latest_checkpoint() is not None:
                    raise NotFoundError(_no_map_line(s))
                states.update(dict.fromkeys(chunk))  # nothing anchored yet
            else:
                checkpoint = checkpoint or current.checkpoint
                for w in chunk:
                    states[w] = _replay(current.works[w], lookup)
        bars("checking", min(lo + MAX_CURRENT_WORKS, total), total)
    if proofs and sr is None:
        raise NotFoundError("this ledger is empty: there is no checkpoint to prove a "
                            "compliance receipt against (anchor something first)")
    return states, checkpoint, sr


def _no_map_line(s: Session) -> str:
    return ("this ledger's latest checkpoint carries no map line yet: complete state "
            "receipts start with its next block")


def _replay(events: Sequence[tuple[int, bytes, Sequence[bytes]]],
            lookup: KeyLookup) -> WorkState | None:
    """The state of a work's events, read from the local ledger and checked against its
    signed map (Ledger.current), with the key records (a rotated controller's new key)."""
    return replay_unverified((ProvenEvent(i, leaf, ()) for i, leaf, _ in events), lookup)


def _item(r: Resolved) -> Item:
    """An item as the compliance receipt lists it (specs/receipts.md section 14)."""
    if r.similar is not None:
        return Item(r.item.name, r.similar.work,
                    SimilarClaim(r.similar.code, r.similar.distance))
    if r.work is None and r.code is not None:
        return Item(r.item.name, None, SimilarClaim(r.code, None))
    return Item(r.item.name, r.work)


def _rows(answers: Sequence[ItemAnswer], resolved: Sequence[Resolved], dataset: Dataset,
          held: dict[str, str | None], at: int) -> list[Row]:
    """One row per answer; its citations are those ``verify`` gives for the question's time
    ``at`` (specs/receipts.md section 12.1)."""
    rows = []
    for a, r in zip(answers, resolved, strict=True):
        d, state = a.decision, a.state
        m = r.similar
        if state is None:
            reason = ("no registered work within the distance asked" if r.work is None
                      else "not registered on this log")
        elif m is not None:
            reason = f"similar to {m.work} at distance {m.distance}: {d.reason}"
        else:
            reason = d.reason
        rows.append(Row(a.name, a.outcome, r.checked_work,
                        held.get(a.work) if a.work is not None else None,
                        reason, d.events, d.conditions, citations(d, state, at),
                        None if state is None else SIMILAR if m is not None else EXACT,
                        m.distance if m is not None else None,
                        m.code if m is not None else r.code,
                        None if a.vouching is None else a.vouching.to_json(),
                        _licence_terms(d, state)))
    rows += [_skipped(f, dataset) for f in dataset.skipped]
    return rows


def _licence_terms(d: Decision, state: WorkState | None) -> dict[str, Any] | None:
    """The terms of the licence an allowed answer cites (a fee, territories: what limits the
    use it allows), as ``may`` says them (specs/cli.md section 3.5); None otherwise."""
    cited = state.licence(d.events[0]) if state is not None and d.allowed and d.events else None
    return thaw(cited.terms) if cited is not None else None


def _skipped(f: FileResult, dataset: Dataset) -> Row:
    """A folder entry skipped, named as ``anchor DIR`` shows it (specs/cli.md section 2.1: a
    character of a name that is not text, such as a byte that is not UTF-8, as U+FFFD)."""
    name = folder_title(str(f.file), str(dataset.source)) if f.file.is_relative_to(
        dataset.source) else str(f.file)
    return Row(name, SKIPPED, None, None, f.reason or f.error or "skipped")


def _summary(rows: Sequence[Row]) -> dict[str, int]:
    counts = {o: 0 for o in (*OUTCOMES, SKIPPED)}
    for r in rows:
        counts[r.outcome] += 1
    return {"items": len(rows), **{o.replace(" ", "_"): n for o, n in counts.items()}}


def _as_of(checkpoint: Checkpoint | None) -> str:
    if checkpoint is None:  # a developer's own new home: every item would seem nobody's
        return ("as of the empty log of this home (nothing anchored here yet): the works of "
                "others are on the ledger they anchored them on; ask it with --node URL")
    when = f", {format_time(checkpoint.block.time)}" if checkpoint.block is not None else ""
    return f"as of checkpoint {checkpoint.size} of {checkpoint.origin}{when}"


def _report(rows: Sequence[Row], dataset: Dataset, q: Question, checkpoint: Checkpoint | None,
            receipt: Path | None, only: str | None, as_json: bool, as_csv: bool,
            vkey: str, listed: tuple[str, ...] | None = None) -> None:
    summary = _summary(rows)  # every item's outcome; --only lists some of them
    if listed is not None:
        rows = [r for r in rows if r.outcome in listed]
    if as_json:  # one line: a dataset has many items, and indenting them costs seconds
        typer.echo(json.dumps({
            "dataset": str(dataset.source), "key": q.key, "purpose": q.purpose,
            "at": format_time(q.at), "controller": only,
            "origin": checkpoint.origin if checkpoint is not None else None,
            "tree_size": checkpoint.size if checkpoint is not None else 0,
            "summary": summary, "only": list(listed) if listed is not None else None,
            "items": [r.to_json() for r in rows],
            "receipt": str(receipt) if receipt is not None else None,
            "note": DEFAULT_DENY_NOTE if summary["unregistered"] else None},
            ensure_ascii=False))
        return
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for r in rows:  # a name is anyone's words: never a spreadsheet formula
            writer.writerow(tuple(map(csv_cell, (
                r.name, r.outcome, r.work, r.controller, r.reason, "; ".join(r.citing),
                "; ".join(r.conditions), r.match, r.distance,
                describe_terms(r.terms) if r.terms is not None else None))))
        typer.echo(out.getvalue(), nl=False)
        return
    whose = f" (only works controlled by {only})" if only is not None else ""
    typer.echo(f"dataset {dataset.source}: may {q.key} use it for {q.purpose} at "
               f"{format_time(q.at)}?{whose}")
    typer.echo(f"  {_as_of(checkpoint)}")
    if listed is not None:
        typer.echo(f"  listing only the items {' or '.join(listed)}: {len(rows)} of "
                   f"{summary['items']} (the summary counts them all)")
    shown = [r.outcome if r.match != SIMILAR else f"{r.outcome} ~{r.distance}" for r in rows]
    wide = max(13, 0, *map(len, shown))  # "not allowed ~16" keeps the columns in line
    typer.echo(f"  {'outcome':<{wide}} {'work':<20} {'controller':<21} item: why")
    for r, outcome in zip(rows, shown, strict=True):
        why = (r.reason + (f" (citing {'; '.join(r.citing)})" if r.citing else "")
               + condition_words(r.conditions)
               + (f" [licence terms: {describe_terms(r.terms)}]" if r.terms is not None
                  else ""))
        typer.echo(f"  {outcome:<{wide}} {_short(r.work, 19):<20} {_short(r.controller, 20):<21} "
                   f"{r.name}: {why}")
    typer.echo("summary:")
    for o in (*OUTCOMES, SKIPPED):
        typer.echo(f"  {o:<13} {summary[o.replace(' ', '_')]:>7}")
    typer.echo(f"  {'total':<13} {summary['items']:>7}")
    if summary["unregistered"]:
        typer.echo(f"note: {DEFAULT_DENY_NOTE}")
    if receipt is not None:
        # The key the check trusted (this home's log, or the node's as pinned on first
        # contact), spelled out: no command prints a node's key for its users.
        typer.echo(f"compliance receipt written to {receipt} (check it with: provenance verify "
                   f"{shlex.quote(str(receipt))} --log-key {shlex.quote(vkey)})")


def _short(text: str | None, width: int) -> str:
    if text is None:
        return "-"
    return text if len(text) <= width else text[:width - 3] + "..."


dataset_disclose.register(app)  # disclose, prove, versions (cli/dataset_disclose.py)
