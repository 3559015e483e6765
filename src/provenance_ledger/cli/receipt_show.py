"""``provenance receipt``: the command group of kept receipts, and ``receipt show FILE``, a
receipt in words with nothing verified (specs/cli.md section 3.12), as ``ots info`` and
``c2patool FILE`` show what a proof claims.

``provenance receipt WORK`` (write a work's receipt) stays what it always was: the group runs
its default command, ``receipt get``, whenever the first word is not a subcommand's name. A
file literally named like a subcommand is given as ``./show``.
"""

from __future__ import annotations

import json
import shlex
import struct
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ..core.compliance import (
    COMPLIANCE_RECEIPT_FORMATS,
    COMPLIANCE_RECEIPT_SCOPE,
    ComplianceReceipt,
)
from ..core.current import (
    DECISION_RECEIPT_FORMAT,
    DECISION_RECEIPT_SCOPE,
    MAX_CURRENT_RECEIPT_BYTES,
    STATE_RECEIPT_V2_FORMAT,
    STATE_RECEIPT_V2_SCOPE,
    DecisionReceipt,
    StateReceiptV2,
)
from ..core.dataset import PROOF_FORMAT as DATASET_PROOF_FORMAT
from ..core.disclosure import DatasetProof
from ..core.encoding import b64encode
from ..core.events import SignedEvent, parse_leaf
from ..core.identity import is_key_record_id, key_record_id
from ..core.note import Checkpoint, SignedNote, Verifier
from ..core.receipt import (
    RECEIPT_FORMAT,
    STATE_RECEIPT_FORMAT,
    STATE_RECEIPT_SCOPE,
    Receipt,
    StateReceipt,
    load_receipt_json,
)
from ..core.royalty_receipt import ROYALTY_RECEIPT_FORMATS, RoyaltyReceipt
from ..core.timefmt import MAX_TIME, format_time
from ..errors import MalformedError, quoted
from ..ledger.files import read_bounded
from .session import emit_json
from .words import event_words

DEFAULT_COMMAND = "get"
NOTHING_VERIFIED = "NOTHING WAS VERIFIED"
COSIGNATURE_BYTES = 8 + 64  # cosignature/v1: big-endian seconds, then an Ed25519 signature


class DefaultCommandGroup(TyperGroup):
    """A group whose first argument, when it names no subcommand, is the default command's:
    ``provenance receipt page.png -o x.json`` is ``provenance receipt get page.png -o
    x.json``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DefaultCommandGroup,
    help="Write, show and check kept receipts. `provenance receipt WORK` is `receipt get "
    "WORK`; a file named like a subcommand is given as ./show.\n\n"
    "Example: provenance receipt show receipts/3f9a0c1d-work.register-5f2c91.json",
    no_args_is_help=True,
)


def show(
    receipt_path: Annotated[Path, typer.Argument(metavar="FILE", help="Receipt JSON file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what a receipt says, in words. NOTHING IS VERIFIED.

    Any file provenance writes as evidence: a receipt, a state or decision receipt, a
    compliance receipt (dataset check --receipt), a royalty receipt, a dataset proof.

    No key is trusted and no signature or proof is checked.
    The first line says so, and names the command that verifies it: provenance verify.

    Example: provenance receipt show page-012.receipt.json
    """
    doc = describe(read_bounded(receipt_path, "receipt", MAX_CURRENT_RECEIPT_BYTES),
                   str(receipt_path))
    if as_json:
        emit_json(doc)
        return
    typer.echo(f"{NOTHING_VERIFIED}: this is what {receipt_path} claims. "
               f"Check it with: {doc['verify_with']}")
    kind = {"state-receipt": "state receipt", "complete-state-receipt":
            "complete state receipt", "decision-receipt": "decision receipt",
            "compliance-receipt": "complete state receipt",
            "royalty-receipt": "complete state receipt"}.get(doc["kind"], "receipt")
    if doc["kind"] == "dataset-proof":
        d = doc["dataset"]
        verb = "is" if d["answer"] == "in" else "is not"
        typer.echo(f"dataset:     {d['item']} {verb} in dataset {d['name']} version "
                   f"{d['version']} ({d['count']} items, root {d['root']}; as the proof "
                   "states it)")
        if d.get("compliance"):
            typer.echo(f"compliance receipt: {d['compliance']}")
        typer.echo("the disclosure's receipt:")
    elif doc["kind"] == "royalty-receipt":
        q = doc["query"]
        typer.echo("query:       " + ", ".join(f"{k} {v}" for k, v in q.items()
                                               if v is not None))
    elif doc["kind"] == "compliance-receipt":
        q, items = doc["question"], doc["items"]
        typer.echo(f"question:    may {q['key']} use each item for {q['purpose']} at "
                   f"{q['at']}?")
        summary = doc.get("summary")
        typer.echo(f"items:       {len(items)}" + (
            f" ({summary['allowed']} allowed, {summary['not_allowed']} not allowed, "
            f"{summary['unregistered']} unregistered, as the receipt states it)"
            if isinstance(summary, dict) else ""))
        # an item whose work the state receipt proves absent is unregistered, in the word
        # of its summary and of dataset check (specs/cli.md section 3.14)
        absent = {w["work"] for w in doc.get("works", []) if not w["events"]}
        for it in items:
            match = it.get("similar")
            near = (f", similar at distance {match['distance']}" if match is not None
                    and match.get("distance") is not None else
                    ", no registered work within the distance" if match is not None else "")
            said = it.get("decision")
            answer = "" if not isinstance(said, dict) else (
                ": allowed" + condition_words(said.get("conditions"))
                if said.get("allowed") is True
                else f": unregistered ({said.get('reason')})"
                if it["work"] is None or it["work"] in absent
                else f": not allowed ({said.get('reason')})")
            typer.echo(f"  item {it['name']}: {it['work'] or '-'}{near}{answer}")
    if "question" in doc and doc["kind"] != "compliance-receipt":
        q = doc["question"]
        typer.echo(f"question:    may {q['key']} use the work for {q['purpose']} at {q['at']}?")
        if doc.get("decision") is not None:
            d = doc["decision"]
            typer.echo(f"answer:      {'allowed' if d.get('allowed') else 'not allowed'}: "
                       f"{d.get('reason')} (as the receipt states it)")
    for w in doc.get("works", [{"work": doc["work"], "events": doc["events"]}]):
        if w.get("key_record"):  # a key's record, proven with the work (receipts.md 12.1)
            whose = f" of {w['key']}" if w.get("key") else ""
            typer.echo(f"key record{whose} ({w['work']})" + (
                "" if w["events"] else ": no events (claims none is logged: the key was "
                "neither rotated, declared compromised nor attested up to this size)"))
        else:
            typer.echo(f"{kind} of work {w['work']}" + (
                "" if w["events"] or kind == "receipt" else ": no events (claims it is absent)"))
        for ev in w["events"]:
            typer.echo(f"  {ev['type']} {ev['id']}")
            typer.echo(f"    actor:      {ev['actor']}")
            typer.echo(f"    at:         {ev['at']} (signer's clock)")
            typer.echo(f"    leaf index: {quoted(ev['leaf_index'])}")
            if "says" in ev:  # a consent or licence: what it grants, as status says it
                typer.echo(f"    {ev['says']['verb'] + ':':<11} {ev['says']['words']}")
    cp = doc["checkpoint"]
    typer.echo(f"log:         {cp['origin']}, tree size {cp['tree_size']}"
               + (f", checkpoint time {cp['time']}" if cp["time"] else ""))
    typer.echo(f"log key:     {doc['log_key']} (as the receipt gives it: compare it with "
               "the key you trust)")
    others = [s for s in doc["signatures"] if s["name"] != cp["origin"]]
    if not others:
        typer.echo("cosigners:   none named in the checkpoint")
    for s in others:
        when = f", claims time {s['claimed_time']}" if s["claimed_time"] else ""
        typer.echo(f"cosigner:    {s['name']}{when}")
    if doc.get("map_root"):
        typer.echo(f"map root:    {doc['map_root']}")
    if "scope" in doc:
        typer.echo(f"scope:       {doc['scope']}")


def condition_words(conditions: object) -> str:
    """An allowed answer's conditions, as ``dataset check`` and ``receipt show`` print them
    after it: `` [condition: payment-required]``, `` [conditions: attribution,
    payment-required]``; nothing without any. Who filters for allowed must see them."""
    said = [c for c in conditions if isinstance(c, str)] if isinstance(
        conditions, (list, tuple)) else []
    if not said:
        return ""
    return f" [{'condition' if len(said) == 1 else 'conditions'}: {', '.join(said)}]"


def describe(raw: bytes, name: str) -> dict[str, Any]:
    """What a receipt file claims, parsed strictly but checked not at all: the events are read
    without their signatures, the checkpoint without the log's, the cosignatures without the
    witnesses'."""
    data = receipt_json(raw, name, MAX_CURRENT_RECEIPT_BYTES)
    fmt = data.get("format") if isinstance(data, dict) else None
    if fmt in COMPLIANCE_RECEIPT_FORMATS or fmt in ROYALTY_RECEIPT_FORMATS or (
            fmt == DATASET_PROOF_FORMAT):
        return _describe_embedding(data, name)
    extra: dict[str, Any] = {}
    if fmt in (STATE_RECEIPT_V2_FORMAT, DECISION_RECEIPT_FORMAT):
        if fmt == DECISION_RECEIPT_FORMAT:
            dr = DecisionReceipt.from_json(data)
            v2, kind, scope = dr.state_receipt, "decision-receipt", DECISION_RECEIPT_SCOPE
            extra["question"] = dr.question.to_json()
            extra["decision"] = data.get("decision")
        else:
            v2, kind = StateReceiptV2.from_json(data), "complete-state-receipt"
            scope = STATE_RECEIPT_V2_SCOPE
        log_key, note_text, work = v2.log_key, v2.checkpoint, v2.works[0].work
        events = [(e.leaf_index, parse_leaf(e.leaf, verify=False)) for e in v2.works[0].events]
        parsed = [(w.work, [(e.leaf_index, parse_leaf(e.leaf, verify=False))
                            for e in w.events]) for w in v2.works]
        named = _named_keys([ev for _, evs in parsed for _, ev in evs],
                            [dr.question.key] if fmt == DECISION_RECEIPT_FORMAT else [])
        extra["works"] = [{"work": w, "events": [_event(i, ev) for i, ev in evs],
                           "key_record": is_key_record_id(w), "key": named.get(w)}
                          for w, evs in parsed]
        claimed = data.get("scope")
        extra["scope"] = claimed if claimed in (None, scope) else (
            f"not the standard statement: {quoted(claimed)}")
    elif fmt == STATE_RECEIPT_FORMAT:
        sr = StateReceipt.from_json(data)
        kind, log_key, note_text, work = "state-receipt", sr.log_key, sr.checkpoint, sr.work
        events = [(index, parse_leaf(leaf, verify=False)) for index, leaf, _ in sr.events]
    elif fmt == RECEIPT_FORMAT:
        r = Receipt.from_json(data)
        event = parse_leaf(r.leaf, verify=False)
        kind, log_key, note_text, work = "receipt", r.log_key, r.checkpoint, event.event.work
        events = [(r.leaf_index, event)]
    else:
        raise MalformedError(f"{name} is not a receipt: its format is none of a receipt, "
                             "state receipt, decision receipt, compliance receipt (dataset "
                             "check --receipt), dataset proof (dataset prove) or royalty "
                             "receipt (royalties --receipt)")
    try:
        Verifier.from_vkey(log_key)
    except MalformedError as e:
        raise MalformedError(f"{name}: the receipt's log_key is not a verifier key ({e})") from e
    note = SignedNote.from_text(note_text)
    cp = Checkpoint.from_text(note.text)
    doc: dict[str, Any] = {
        "verified": False,
        "kind": kind,
        "work": work,
        "events": [_event(index, ev) for index, ev in events],
        "checkpoint": {"origin": cp.origin, "tree_size": cp.size,
                       "time": format_time(cp.block.time) if cp.block else None},
        "log_key": log_key,
        "signatures": [{"name": s.name, "claimed_time": _claimed_time(s.signature)}
                       for s in note.signatures],
        "verify_with": f"provenance verify {shlex.quote(name)} --log-key VKEY (or --policy "
                       "FILE)",
    }
    if cp.map_root is not None:
        doc["map_root"] = b64encode(cp.map_root)
    doc.update(extra)
    if kind == "state-receipt":
        scope = data.get("scope")
        doc["scope"] = scope if scope in (None, STATE_RECEIPT_SCOPE) else (
            f"not the standard statement: {quoted(scope)}")
    return doc


def _describe_embedding(data: dict[str, Any], name: str) -> dict[str, Any]:
    """A compliance receipt, a dataset proof or a royalty receipt (specs/cli.md section 3.12):
    what it claims of its own (the question and items, the dataset and answer, the query),
    then the receipt it embeds, described as that receipt is, all unchecked."""
    fmt = data["format"]
    extra: dict[str, Any]
    if fmt == DATASET_PROOF_FORMAT:
        proof = DatasetProof.from_json(data)
        inner, kind = data["disclosure"], "dataset-proof"
        body = parse_leaf(proof.disclosure.leaf, verify=False).event.body
        extra = {"dataset": {"item": proof.path.item, "answer": proof.path.answer,
                             **{k: body.get(k) for k in ("name", "version", "count", "root",
                                                         "model", "compliance")}}}
    elif fmt in COMPLIANCE_RECEIPT_FORMATS:
        receipt = ComplianceReceipt.from_json(data)
        inner, kind = data["state_receipt"], "compliance-receipt"
        extra = {"question": receipt.question.to_json(),
                 "items": [{**item.to_json(), "similar": item.to_json().get("similar"),
                            "decision": raw.get("decision")}
                           for item, raw in zip(receipt.items, data["items"], strict=True)],
                 "summary": data.get("summary")}
        claimed = data.get("scope")
        extra["scope"] = claimed if claimed in (None, COMPLIANCE_RECEIPT_SCOPE) else (
            f"not the standard statement: {quoted(claimed)}")
    else:
        royalty = RoyaltyReceipt.from_json(data)
        inner, kind = data["state_receipt"], "royalty-receipt"
        extra = {"query": royalty.query.to_json()}
    doc = describe(json.dumps(inner).encode("utf-8"), name)
    doc.pop("question", None)
    doc.pop("decision", None)
    if kind != "compliance-receipt":
        doc.pop("scope", None)
    doc.update(extra, kind=kind)
    return doc


def _named_keys(events: list[SignedEvent], also: list[str]) -> dict[str, str]:
    """Key record id -> key, for every key the receipt names: the question's, and every
    ``ed25519:`` key an event's actor or body holds (a grantee, a licensee, a payee)."""
    keys = set(also)

    def walk(value: object) -> None:
        if isinstance(value, str) and value.startswith("ed25519:"):
            keys.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for ev in events:
        keys.add(ev.event.actor)
        walk(ev.event.body)
    return {key_record_id(k): k for k in keys}


def _event(index: int, ev: SignedEvent) -> dict[str, Any]:
    """An event's row; a consent's or a licence's with ``says``, what it grants or ends in
    words (cli/words.py, the words of ``status``)."""
    e = ev.event
    row: dict[str, Any] = {"id": ev.id, "type": e.type, "work": e.work, "actor": e.actor,
                           "at": format_time(e.at), "leaf_index": index}
    said = event_words(e)
    if said is not None:
        row["says"] = {"verb": said[0], "words": said[1]}
    return row


def _claimed_time(signature: bytes) -> str | None:
    """The time a cosignature/v1 states, unchecked; None for any other signature."""
    if len(signature) != COSIGNATURE_BYTES:
        return None
    (seconds,) = struct.unpack(">Q", signature[:8])
    return format_time(seconds) if seconds <= MAX_TIME else None


def receipt_json(raw: bytes, name: str, limit: int) -> Any:
    """A receipt file's JSON (``load_receipt_json``); a file that is not JSON text at all (a
    picture, a PDF: the work's own file given for its receipt) is told so, by its name."""
    head = raw.lstrip()[:1]
    if raw and head != b"{":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            head = b""
        if not head or head not in b'["0123456789-tfn':
            raise MalformedError(
                f"receipt is not valid UTF-8 JSON: {quoted(name)} is not a receipt (a receipt "
                "is the JSON file a command wrote; a work's own file goes with --file)")
    return load_receipt_json(raw, limit)
