"""``provenance verify`` and ``provenance receipt``: make and check receipts offline."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.compliance import (
    COMPLIANCE_RECEIPT_FORMATS,
    COMPLIANCE_RECEIPT_SCOPE,
    NOT_ALLOWED,
    ComplianceReceipt,
    check_decoded_compliance,
    verify_compliance_receipt,
)
from ..core.current import (
    DECISION_RECEIPT_FORMAT,
    DECISION_RECEIPT_SCOPE,
    MAX_CURRENT_RECEIPT_BYTES,
    NO_KEY_RECORDS,
    STATE_RECEIPT_V2_FORMAT,
    STATE_RECEIPT_V2_SCOPE,
    CurrentWork,
    DecisionReceipt,
    StateReceiptV2,
    VerifiedStateV2,
    check_decoded_current,
    check_decoded_decision,
    citations,
    fresh_as_of,
    verify_decision_receipt,
    verify_state_receipt_v2,
)
from ..core.dataset import PROOF_FORMAT as DATASET_PROOF_FORMAT
from ..core.disclosure import MAX_PROOF_FILE_BYTES, verify_dataset_proof
from ..core.duration import format_duration, parse_duration
from ..core.encoding import b64encode
from ..core.events import work_id_of
from ..core.identity import is_key_record_id, key_record_id
from ..core.policy import MAX_POLICY_BYTES, Policy, parse_policy
from ..core.receipt import (
    MAX_RECEIPT_BYTES,
    MAX_STATE_RECEIPT_BYTES,
    STATE_RECEIPT_FORMAT,
    STATE_RECEIPT_SCOPE,
    Receipt,
    StateReceipt,
    check_decoded_event,
    check_decoded_state,
    load_receipt_json,
    verify_receipt,
    verify_state_receipt,
)
from ..core.royalty_receipt import ROYALTY_RECEIPT_FORMATS, RoyaltyReceipt
from ..core.rules import WorkState
from ..core.timefmt import format_time
from ..errors import LedgerError, MalformedError, NotFoundError, VerificationError, quoted
from ..ledger.dataset import file_code
from ..ledger.files import read_bounded
from ..ledger.folder import file_kind
from .receipt_show import receipt_json
from .session import (
    NodeOpt,
    Session,
    TimeoutOpt,
    emit_json,
    hash_file,
    output_file,
    write_text_atomic,
)
from .words import event_words


def verify(
    receipt_path: Annotated[Path, typer.Argument(metavar="RECEIPT", help="Receipt JSON file.")],
    log_key: Annotated[str | None, typer.Option(help="Trusted log verifier key (vkey).")] = None,
    policy: Annotated[Path | None, typer.Option(
        help="Trust policy file (C2SP tlog-policy): log keys, witnesses, quorum.")] = None,
    file: Annotated[Path | None, typer.Option(
        help="Also check that this file is the anchored content.")] = None,
    evidence: Annotated[Path | None, typer.Option(
        help="Evidence against logs (JSON from `node evidence --json` or GET /evidence: "
             "split views, inconsistencies, wrong map roots): a receipt from an origin it "
             "proves faulty is refused.")] = None,
    max_age: Annotated[str | None, typer.Option(
        "--max-age", metavar="DURATION",
        help="For a state receipt v2 or a decision receipt: refuse it when the time as of "
             "which the witness quorum vouches for its checkpoint (without required "
             "witnesses: its checkpoint's time) is older than this (90s, 10m, 24h, 7d).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Verify a receipt offline: exit 0 when valid, 1 with one line saying what failed.

    A decision receipt (`may --proof`) or a state receipt v2 also proves current state:
    that no later event of the work exists up to its checkpoint, or that the work was not
    registered there; the answer of a decision receipt is re-derived from the rules.

    Checks the event's signature, its inclusion in the checkpoint, the log's signature
    and, with --policy, the quorum of witness cosignatures. No ledger or network is used.
    A receipt that is malformed (not JSON, a missing field, bad base64, ...) does not verify
    either (exit 1); exit 2 is for the verifier's own inputs: options, policy, log key,
    evidence, a file that cannot be read.

    Example: provenance verify receipt.json --log-key "$(provenance log key)"
    """
    if log_key is not None and policy is not None:
        raise MalformedError("give exactly one of --log-key or --policy, not both")
    if log_key is None and policy is None:
        raise MalformedError(
            "give exactly one of --log-key or --policy: the log's verifier key comes from the "
            "log's operator, never from the receipt ('provenance log key' prints a home's, "
            "'provenance log key --node URL' a node's as first seen)")
    max_age_s = parse_duration(max_age, "--max-age:") if max_age is not None else None
    if policy is not None:
        pol = parse_policy(_read_input(policy, "--policy", MAX_POLICY_BYTES).decode(
            "utf-8", "replace"))
    else:
        try:
            pol = Policy.for_log_key(log_key or "")
        except MalformedError as e:
            raise MalformedError(f"--log-key: {e}") from e
    if file is not None:  # an input of the verifier, not the receipt: exit 2 (cli.md 1.1)
        _readable(file, "--file")
    faulty = _load_evidence(evidence, pol) if evidence is not None else {}
    # What the receipt says is the answer, whatever is wrong with it: a malformed receipt
    # does not verify (exit 1, specs/cli.md 1.1), exactly as a forged one does.
    current: StateReceiptV2 | DecisionReceipt | None = None
    compliance: ComplianceReceipt | None = None
    try:
        raw_bytes = read_bounded(receipt_path, "receipt", MAX_CURRENT_RECEIPT_BYTES)
        data = receipt_json(raw_bytes, str(receipt_path), MAX_CURRENT_RECEIPT_BYTES)
        kind = data.get("format") if isinstance(data, dict) else None
        if kind == DATASET_PROOF_FORMAT:
            if len(raw_bytes) > MAX_PROOF_FILE_BYTES:
                raise MalformedError(f"dataset proof is larger than {MAX_PROOF_FILE_BYTES} "
                                     "bytes")
            _verify_dataset(data, pol, faulty, max_age_s, file, as_json)
            return
        if kind in ROYALTY_RECEIPT_FORMATS:  # specs/receipts.md section 15
            from .payments import verify_royalties

            verify_royalties(data, RoyaltyReceipt.from_json(data), pol, file, faulty,
                             max_age_s, as_json)
            return
        if kind in COMPLIANCE_RECEIPT_FORMATS:
            compliance = ComplianceReceipt.from_json(data)
        elif kind in (STATE_RECEIPT_V2_FORMAT, DECISION_RECEIPT_FORMAT):
            current = _parse_current(data)
        elif len(raw_bytes) > MAX_STATE_RECEIPT_BYTES:
            raise MalformedError(f"receipt is larger than {MAX_STATE_RECEIPT_BYTES} bytes")
        elif kind == STATE_RECEIPT_FORMAT:
            state_receipt = StateReceipt.from_json(data)
        else:
            if len(raw_bytes) > MAX_RECEIPT_BYTES:
                raise MalformedError(f"receipt is larger than {MAX_RECEIPT_BYTES} bytes")
            receipt = Receipt.from_json(data)
            state_receipt = None
    except MalformedError as e:
        raise VerificationError(f"receipt does not verify: {e}") from e
    if compliance is not None:
        _verify_compliance(data, raw_bytes, compliance, pol, file, faulty, max_age_s, as_json)
        return
    if current is not None:
        _verify_current(data, current, pol, file, faulty, max_age_s, as_json)
        return
    if max_age_s is not None:
        raise VerificationError(
            f"receipt does not verify: a receipt of format {str(kind)[:60]!r} proves no current "
            "state, so it cannot meet --max-age (give a decision receipt or a state receipt v2)")
    if state_receipt is not None:
        _verify_state(data, state_receipt, pol, file, as_json, faulty)
        return
    try:
        result = verify_receipt(receipt, pol.logs, pol.witnesses)
        check_decoded_event(data, result.event)
        _not_faulty(faulty, result.checkpoint.origin)
        _quorum(pol, set(result.cosigners))
        _check_file(file, result.event.event.work)
    except (VerificationError, MalformedError) as e:
        raise VerificationError(f"receipt does not verify: {e}") from e
    ev = result.event.event
    out: dict[str, Any] = {
        "valid": True,
        "id": result.event.id,
        "type": ev.type,
        "work": ev.work,
        "actor": ev.actor,
        "at": format_time(ev.at),
        "origin": result.checkpoint.origin,
        "leaf_index": result.leaf_index,
        "tree_size": result.checkpoint.size,
        "cosigners": {k: format_time(v) for k, v in sorted(result.cosigners.items())},
        "file_matches": True if file is not None else None,
    }
    said = event_words(ev)
    if said is not None:
        out["says"] = {"verb": said[0], "words": said[1]}
    if as_json:
        emit_json(out)
        return
    typer.echo(f"OK: {ev.type} {result.event.id}")
    of_key = ev.body.get("key")
    if isinstance(of_key, str) and key_record_id(of_key) == ev.work:
        typer.echo(f"  key:    {of_key} (its key record {ev.work})")
        if ev.type == "key.rotate":
            typer.echo(f"  to:     {ev.body.get('to')}")
    else:
        typer.echo(f"  work:   {ev.work}" + ("  (file matches)" if file is not None else ""))
    if ev.type == "dataset.disclose":  # the work is the series id: name what it stands for
        typer.echo(f"  dataset: {ev.body['name']} version {ev.body['version']} "
                   f"({ev.body['count']} items, root {ev.body['root']})")
    said = event_words(ev)
    if said is not None:  # a consent or licence: what it grants, as status says it
        typer.echo(f"  {said[0] + ':':<7} {said[1]}")
    typer.echo(f"  actor:  {ev.actor}")
    typer.echo(f"  at:     {format_time(ev.at)} (signer's clock)")
    typer.echo(f"  log:    {result.checkpoint.origin}, entry {result.leaf_index} of "
               f"{result.checkpoint.size}")
    for name, ts in sorted(result.cosigners.items()):
        typer.echo(f"  cosigned by {name} at {format_time(ts)}")
    typer.echo(f"  note: {EVENT_RECEIPT_NOTE}")


def _readable(path: Path, option: str, regular: bool = True) -> None:
    """That ``path``, given as ``option`` (``--file``, ``--policy``), is a file this process
    can open (``regular``: a regular file; else a pipe too, ``--policy <(...)``), or one line
    naming the option (exit 2: an input of the verifier, specs/cli.md section 1.1)."""
    shown = quoted(str(path))
    try:
        mode = path.stat().st_mode
        if stat.S_ISREG(mode):  # opened only then: opening a FIFO may block
            with path.open("rb"):
                return
    except FileNotFoundError as e:
        raise NotFoundError(f"{option}: no such file {shown}") from e
    except OSError as e:
        raise NotFoundError(f"{option}: cannot read {shown}: {e.strerror}") from e
    if stat.S_ISDIR(mode) or regular:
        raise MalformedError(f"{option}: {shown} is {file_kind(mode)}, not "
                             + ("a regular file" if regular else "a file"))


def _read_input(path: Path, option: str, limit: int) -> bytes:
    """The bytes of the file ``option`` names, at most ``limit`` of them, or one line naming
    the option (:func:`_readable`)."""
    _readable(path, option, regular=False)
    return read_bounded(path, option, limit)


EVENT_RECEIPT_NOTE = (
    "this proves that this event is in the log at this checkpoint, not that nothing later "
    "changed it (a grant revoked, a work transferred, a key rotated): a state receipt "
    "(provenance receipt WORK --state) proves that")
"""The last line of an event receipt's text output (specs/cli.md section 3.6)."""


def _verify_dataset(data: Any, pol: Policy, faulty: dict[str, str], max_age_s: int | None,
                    file: Path | None, as_json: bool) -> None:
    """A dataset proof (specs/datasets.md section 6.2): ITEM is, or is not, in the disclosed
    set. A proof that verifies exits 0 whatever its answer; the answer is in the output."""
    if max_age_s is not None:
        raise VerificationError("dataset proof does not verify: it proves no current state, "
                                "so it cannot meet --max-age")
    try:
        answer = verify_dataset_proof(data, pol.logs, pol.witnesses)
        _not_faulty(faulty, answer.receipt.checkpoint.origin)
        _quorum(pol, set(answer.receipt.cosigners))
        if file is not None and work_id_of(hash_file(file)[0]) != answer.item:
            raise VerificationError(f"{file} is not the item of this proof: its hash is "
                                    f"{work_id_of(hash_file(file)[0])}, the proof is for "
                                    f"{answer.item}")
    except (VerificationError, MalformedError) as e:
        raise VerificationError(f"dataset proof does not verify: {e}") from e
    body, cp = answer.body, answer.receipt.checkpoint
    ev = answer.receipt.event
    out = {"valid": True, "item": answer.item, "in_dataset": answer.member,
           "name": body["name"], "version": body["version"], "model": body.get("model"),
           "purposes": list(body["purposes"]), "count": body["count"], "root": body["root"],
           "compliance": body.get("compliance"), "key": ev.event.actor, "event": ev.id,
           "previous": ev.event.prev, "disclosed_at": format_time(ev.event.at),
           "origin": cp.origin, "leaf_index": answer.receipt.leaf_index, "tree_size": cp.size,
           "checkpoint_root": b64encode(cp.root),
           "cosigners": {k: format_time(v) for k, v in sorted(answer.receipt.cosigners.items())},
           "file_matches": True if file is not None else None}
    if as_json:
        emit_json(out)
        return
    verb = "is" if answer.member else "is not"
    typer.echo(f"OK: {answer.item} {verb} in dataset {body['name']} version {body['version']} "
               f"disclosed by {ev.event.actor} at log {cp.origin} index "
               f"{answer.receipt.leaf_index} (checkpoint size {cp.size}, root "
               f"{b64encode(cp.root)})")
    typer.echo(f"  set:      {body['count']} items, root {body['root']}")
    typer.echo(f"  purposes: {', '.join(body['purposes'])}"
               + (f"; model {body['model']}" if "model" in body else ""))
    if "compliance" in body:  # the digest verify prints for that compliance receipt
        typer.echo(f"  compliance receipt: {body['compliance']}")
    if ev.event.prev is not None:
        typer.echo(f"  previous version: event {ev.event.prev}")
    if file is not None:
        typer.echo(f"  file {file}: its SHA-256 is the item")
    for name, ts in sorted(answer.receipt.cosigners.items()):
        typer.echo(f"  cosigned by {name} at {format_time(ts)}")


MAX_EVIDENCE_BYTES = 128 << 20
"""Largest evidence file read, in bytes: one ``map-root`` evidence at its caps (64 MiB of
entries and a 16 MiB map proof, in base64: core/evidence.py) with room to spare."""


def _load_evidence(path: Path, pol: Policy) -> dict[str, str]:
    """Origins that verified evidence proves faulty, with the reason. Evidence about logs the
    policy does not trust is passed over; evidence about a trusted log that does not verify
    proves nothing and is passed over too, with a warning on stderr saying why."""
    from ..core.evidence import Evidence, verify_evidence

    data = load_receipt_json(read_bounded(path, "evidence", MAX_EVIDENCE_BYTES), MAX_EVIDENCE_BYTES)
    items = data.get("evidence") if isinstance(data, dict) and "evidence" in data else data
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise MalformedError(f"{path} is not evidence JSON (node evidence --json)")
    faulty: dict[str, str] = {}
    for n, raw in enumerate(items, 1):
        try:
            ev = Evidence.from_json(raw)
        except LedgerError as e:
            _warn(f"item {n} of {path} is not evidence ({e})")
            continue
        for log_key in pol.logs:
            if log_key.name != ev.origin:
                continue
            try:
                verify_evidence(ev, log_key.to_vkey())
            except LedgerError as e:
                _warn(f"evidence {ev.id} about {ev.origin} in {path} does not verify ({e})")
                continue
            faulty[ev.origin] = f"{ev.kind}: {ev.detail}"
    return faulty


def _warn(what: str) -> None:
    typer.echo(f"warning: {what}: it proves nothing and is not used", err=True)


def _not_faulty(faulty: dict[str, str], origin: str) -> None:
    if origin in faulty:
        raise VerificationError(
            f"log {origin} is proven faulty by the evidence given ({faulty[origin]}): its "
            "checkpoints cannot be trusted")


def _quorum(pol: Policy, cosigners: set[str]) -> None:
    if not pol.satisfied(cosigners):
        have = ", ".join(sorted(cosigners)) or "none"
        raise VerificationError(
            f"witness quorum not met: {pol.describe()}; valid cosignatures from: {have}")


def _state_json(state: WorkState, at: int) -> dict[str, Any]:
    """A verified state's JSON (specs/receipts.md section 5.1) with the grants and licences in
    force at ``at``: the last event's time (v1), the checkpoint's time (v2)."""
    doc = state.to_json()
    doc["grants_in_force"] = [g.id for g in state.grants if g.in_force(at)]
    doc["licences_in_force"] = [x.id for x in state.licences if x.in_force(at)]
    return doc


def _check_file(file: Path | None, work: str) -> None:
    if file is not None:
        digest = work_id_of(hash_file(file)[0])
        if digest != work:
            raise VerificationError(f"{file} is not the anchored content: its hash is "
                                    f"{digest}, the receipt is for {work}")


def _verify_state(
    raw: Any, sr: StateReceipt, pol: Policy, file: Path | None, as_json: bool,
    faulty: dict[str, str],
) -> None:
    try:
        result = verify_state_receipt(sr, pol.logs, pol.witnesses)
        check_decoded_state(raw, result)
        _not_faulty(faulty, result.checkpoint.origin)
        _quorum(pol, set(result.cosigners))
        _check_file(file, sr.work)
    except (VerificationError, MalformedError) as e:
        raise VerificationError(f"state receipt does not verify: {e}") from e
    st = result.state
    latest = max(ev.event.at for ev in result.events)
    doc = _state_json(st, latest)
    out = {"valid": True, "scope": STATE_RECEIPT_SCOPE, "origin": result.checkpoint.origin,
           "tree_size": result.checkpoint.size,
           "cosigners": {k: format_time(v) for k, v in sorted(result.cosigners.items())},
           "state": doc}
    if as_json:
        emit_json(out)
        return
    typer.echo(f"OK: state of {st.work} from {len(result.events)} events")
    typer.echo(f"  log:         {result.checkpoint.origin}, checkpoint size "
               f"{result.checkpoint.size}")
    typer.echo(f"  registered:  {format_time(st.registered_at)} by {st.registrant}")
    typer.echo(f"  controller:  {st.controller}")
    for k, bps in st.effective_payees():
        typer.echo(f"  payee:       {k} {bps / 100:.2f}%")
    typer.echo(f"  in force as of the last event ({format_time(latest)}):")
    for g in st.grants:
        if g.in_force(latest):
            who = "anyone" if g.grantee == "*" else g.grantee
            typer.echo(f"    consent {g.id[:12]} {', '.join(g.purposes)} to {who}")
    for x in st.licences:
        if x.in_force(latest):
            typer.echo(f"    licence {x.id[:12]} {', '.join(x.purposes)} to {x.licensee}")
    for name, ts in sorted(result.cosigners.items()):
        typer.echo(f"  cosigned by {name} at {format_time(ts)}")
    typer.echo(f"  note: this {STATE_RECEIPT_SCOPE}")


def _parse_current(data: Any) -> StateReceiptV2 | DecisionReceipt:
    if data.get("format") == DECISION_RECEIPT_FORMAT:
        return DecisionReceipt.from_json(data)
    return StateReceiptV2.from_json(data)


def _verify_current(
    raw: Any, receipt: StateReceiptV2 | DecisionReceipt, pol: Policy, file: Path | None,
    faulty: dict[str, str], max_age: int | None, as_json: bool,
) -> None:
    """A state receipt v2 or a decision receipt (specs/receipts.md sections 11-13): verified,
    then its freshness against --max-age, then what it proves in words."""
    what = "decision receipt" if isinstance(receipt, DecisionReceipt) else "state receipt"
    try:
        if isinstance(receipt, DecisionReceipt):
            decided = verify_decision_receipt(receipt, pol.logs, pol.witnesses)
            check_decoded_decision(raw, decided)
            current = decided.current
        else:
            decided = None
            current = verify_state_receipt_v2(receipt, pol.logs, pol.witnesses)
            check_decoded_current(raw, current)
        cp = current.checkpoint
        # Key records (receipts.md section 12) name no content: a file is never one.
        works = {w.work for w in current.works if not is_key_record_id(w.work)}
        fresh, age = _trusted_current(pol, faulty, current, max_age, file, "a work", works)
    except (VerificationError, MalformedError) as e:
        raise VerificationError(f"{what} does not verify: {e}") from e
    head = _as_of(current)
    out: dict[str, Any] = {
        "valid": True,
        "format": STATE_RECEIPT_V2_FORMAT if decided is None else DECISION_RECEIPT_FORMAT,
        "scope": STATE_RECEIPT_V2_SCOPE if decided is None else DECISION_RECEIPT_SCOPE,
        "origin": cp.origin,
        "tree_size": cp.size,
        "checkpoint_time": format_time(cp.block.time) if cp.block is not None else None,
        "map_root": b64encode(current.map_root),
        "cosigners": {k: format_time(v) for k, v in sorted(current.cosigners.items())},
        "fresh_as_of": format_time(fresh),
        "age_seconds": age,
        "max_age_seconds": max_age,
    }
    if decided is not None:
        w, q, d = decided.work, decided.question, decided.decision
        cites = citations(d, decided.answered_from, q.at)
        if w.state is None:
            statement = (f"{head}, work {w.work} was not registered on log {cp.origin} as of "
                         f"tree size {cp.size}: key {q.key} may not use it for purpose "
                         f"{q.purpose} at {format_time(q.at)}")
        else:
            verb = "may" if d.allowed else "may not"
            why = "" if d.allowed else f": {d.reason}"
            citing = f", citing {'; '.join(cites)}" if cites else ""
            statement = (f"{head}, key {q.key} {verb} use work {w.work} for purpose "
                         f"{q.purpose} at {format_time(q.at)}{why}{citing}; no later event of "
                         f"{w.work} exists up to {cp.size}" + (
                             "" if decided.keys_proven else f"; {NO_KEY_RECORDS}"))
        out.update({"statement": statement, "work": w.work, "registered": w.registered,
                    "key": q.key, "purpose": q.purpose, "at": format_time(q.at),
                    "allowed": d.allowed, "reason": d.reason, "events": list(d.events),
                    "conditions": list(d.conditions), "citing": list(cites),
                    "state": None if w.state is None else w.state.to_json(),
                    "keys_proven": decided.keys_proven})
        if as_json:
            emit_json(out)
            return
        typer.echo(f"OK: {statement}")
        if w.state is not None:  # specs/receipts.md 12.1 step 2
            typer.echo("  the controller's key: " + (
                "its record is in the receipt, with those of every grantee, licensee and "
                "payee of the work: no rotation or compromise of these keys up to this size "
                "is left out"
                if decided.keys_proven else "its record is not in this receipt: a rotation or "
                "compromise of it is not ruled out"))
        if d.conditions:
            typer.echo(f"  conditions: {', '.join(d.conditions)}")
    else:
        as_of = cp.block.time if cp.block is not None else max(
            (ev.event.at for w in current.works for ev in w.events), default=0)
        out["works"] = [{"work": w.work, "registered": w.registered, "events": len(w.events),
                         "head": w.events[-1].id if w.events else None,
                         "index": None if w.value is None else w.value.index,
                         "statement": _work_statement(w, current),
                         "state": None if w.state is None else _state_json(w.state, as_of)}
                        for w in current.works]
        if as_json:
            emit_json(out)
            return
        typer.echo(f"OK: {head}:")
        for w in current.works:
            typer.echo(f"  {_work_statement(w, current)}")
    typer.echo(f"  fresh as of {format_time(fresh)} ({format_duration(age)} ago"
               + (f", within --max-age {format_duration(max_age)})" if max_age is not None
                  else ")"))
    typer.echo(f"  note: this {out['scope']}")


LISTED_REFUSALS = 50
"""Items not allowed that the text of ``verify`` names one by one; ``--json`` lists all."""


def _trusted_current(pol: Policy, faulty: dict[str, str], current: VerifiedStateV2,
                     max_age: int | None, file: Path | None, noun: str,
                     works: Collection[str | None]) -> tuple[int, int]:
    """The checks every proof of current state passes after its own: its log not proven
    faulty, the policy's witness quorum, ``file`` (if given) one of ``works`` (``noun`` names
    one in the message), and ``--max-age``. Returns (fresh as of, age)."""
    _not_faulty(faulty, current.checkpoint.origin)
    _quorum(pol, set(current.cosigners))
    if file is not None:
        digest = work_id_of(hash_file(file)[0])
        if digest not in works:
            raise VerificationError(f"{file} is not {noun} of this receipt: its hash is "
                                    f"{digest}")
    return _fresh(pol, current, max_age)


def _fresh(pol: Policy, current: VerifiedStateV2, max_age: int | None) -> tuple[int, int]:
    """(fresh as of, age) of a proof of current state; raises past ``--max-age``
    (specs/receipts.md section 13)."""
    cp = current.checkpoint
    fresh = fresh_as_of(cp, current.cosigners, pol.quorum is not None,
                        lambda names: pol.satisfied(set(names)))
    age = max(0, int(time.time()) - fresh)
    if max_age is not None and age > max_age:
        raise VerificationError(
            f"it is fresh as of {format_time(fresh)}, {format_duration(age)} ago, older "
            f"than --max-age {format_duration(max_age)}"
            + ("" if pol.quorum is not None else " (no witnesses required: the checkpoint's "
               "own time counts)"))
    return fresh, age


def _verify_compliance(
    raw: Any, raw_bytes: bytes, receipt: ComplianceReceipt, pol: Policy, file: Path | None,
    faulty: dict[str, str], max_age: int | None, as_json: bool,
) -> None:
    """A compliance receipt (specs/receipts.md section 14): verified, every item's answer
    re-derived, then evidence, quorum, --file and --max-age; summarised in words."""
    import hashlib

    try:
        verified = verify_compliance_receipt(receipt, pol.logs, pol.witnesses)
        check_decoded_compliance(raw, verified)
        current = verified.current
        cp = current.checkpoint
        fresh, age = _trusted_current(pol, faulty, current, max_age, None, "an item", ())
        as_item = _compliance_file(file, receipt) if file is not None else None
    except (VerificationError, MalformedError) as e:
        raise VerificationError(f"compliance receipt does not verify: {e}") from e
    q = verified.question
    summary = verified.summary
    refused = [a for a in verified.answers if a.outcome == NOT_ALLOWED]
    head = _as_of(current)
    items = f"{summary['items']} item" + ("" if summary["items"] == 1 else "s")
    statement = (f"{head}, key {q.key} asked to use {items} for purpose "
                 f"{q.purpose} at {format_time(q.at)}: {summary['allowed']} allowed, "
                 f"{summary['not_allowed']} not allowed, {summary['unregistered']} not "
                 f"registered on log {cp.origin}; no later event of any of their works exists "
                 f"up to {cp.size}")

    similar = {id(a): i.similar for a, i in zip(verified.answers, receipt.items, strict=True)}

    def item(a: Any) -> dict[str, Any]:
        match = similar[id(a)]
        return {"item": a.name, "work": a.work, "outcome": a.outcome,
                "similar": match.to_json() if match is not None else None,
                "controller": a.state.controller if a.state is not None else None,
                **a.decision.to_json(), "citing": list(citations(a.decision, a.state, q.at))}

    out: dict[str, Any] = {
        "valid": True, "format": receipt.format, "scope": COMPLIANCE_RECEIPT_SCOPE,
        "digest": "sha256:" + hashlib.sha256(raw_bytes).hexdigest(),
        "origin": cp.origin, "tree_size": cp.size,
        "checkpoint_time": format_time(cp.block.time) if cp.block is not None else None,
        "map_root": b64encode(current.map_root),
        "cosigners": {k: format_time(v) for k, v in sorted(current.cosigners.items())},
        "fresh_as_of": format_time(fresh), "age_seconds": age, "max_age_seconds": max_age,
        "statement": statement, "key": q.key, "purpose": q.purpose, "at": format_time(q.at),
        "summary": summary, "not_allowed": [item(a) for a in refused],
        "items": [item(a) for a in verified.answers],
        "file_item": as_item[0] if as_item is not None else None}
    if as_json:
        emit_json(out)
        return
    typer.echo(f"OK: {statement}")
    for a in refused[:LISTED_REFUSALS]:
        cites = citations(a.decision, a.state, q.at)
        citing = f", citing {'; '.join(cites)}" if cites else ""
        match = similar[id(a)]
        near = f", similar at distance {match.distance}" if match is not None else ""
        typer.echo(f"  not allowed: {a.name} ({a.work}{near}): {a.decision.reason}{citing}")
    if len(refused) > LISTED_REFUSALS:
        typer.echo(f"  ... {len(refused) - LISTED_REFUSALS} more not allowed in --json")
    typer.echo(f"  digest {out['digest']}")
    if as_item is not None:
        typer.echo(f"  file {file}: {as_item[1]}")
    typer.echo(f"  fresh as of {format_time(fresh)} ({format_duration(age)} ago"
               + (f", within --max-age {format_duration(max_age)})" if max_age is not None
                  else ")"))
    typer.echo(f"  note: this {COMPLIANCE_RECEIPT_SCOPE}")


def _compliance_file(file: Path, receipt: ComplianceReceipt) -> tuple[str, str]:
    """``--file`` of a compliance receipt (specs/receipts.md section 14.1): the file is an
    item when its work id is an item's ``work``, or when its content code, computed as
    ``dataset check --similar`` computes it, is the ``code`` of an item's ``similar`` member
    (a re-encoded copy has its own SHA-256). Returns (the item's name, how it matched)."""
    digest = work_id_of(hash_file(file)[0])
    for i in receipt.items:
        if i.work == digest and i.similar is None:
            return i.name, f"item {i.name} (its SHA-256 is the item's work)"
    similar = [i for i in receipt.items if i.similar is not None]
    code = file_code(file) if similar else None
    for i in similar:
        if code is not None and i.similar is not None and i.similar.code == code.to_text():
            near = (f"similar at distance {i.similar.distance} to {i.work}" if i.work
                    is not None else "no registered work within the distance asked")
            return i.name, f"item {i.name} (its content code is the item's: {near})"
    for i in similar:  # the registered work a similar item was matched to
        if i.work == digest:
            return i.name, f"item {i.name} (its SHA-256 is the work the item is similar to)"
    also = f" and its content code {code.to_text()}" if code is not None else ""
    raise VerificationError(f"{file} is not an item of this receipt: its hash is {digest}"
                            f"{also}")


def _as_of(current: VerifiedStateV2) -> str:
    """``as of checkpoint N of L (tree size N, cosigned at T by witnesses X, Y)``."""
    cp = current.checkpoint
    if current.cosigners:
        by_time: dict[int, list[str]] = {}
        for name, ts in sorted(current.cosigners.items()):
            by_time.setdefault(ts, []).append(name)
        signed = "cosigned " + " and ".join(
            f"at {format_time(ts)} by witness{'es' if len(names) > 1 else ''} "
            f"{', '.join(names)}" for ts, names in sorted(by_time.items()))
    else:
        when = f" at {format_time(cp.block.time)}" if cp.block is not None else ""
        signed = f"signed by the log{when}, no witness cosignature counted"
    return f"as of checkpoint {cp.size} of {cp.origin} (tree size {cp.size}, {signed})"


def _work_statement(w: CurrentWork, current: VerifiedStateV2) -> str:
    cp = current.checkpoint
    if w.state is None:
        return f"{w.work} was not registered on log {cp.origin} as of tree size {cp.size}"
    return (f"{w.work}: {len(w.events)} events, controller {w.state.controller}, head "
            f"{w.state.head}; no later event of it exists up to {cp.size}")


MAX_WORKS_FILE_BYTES = 4 << 20  # a --works-from list, bytes


def receipt(
    ctx: typer.Context,
    works: Annotated[list[str] | None, typer.Argument(
        help="File path, work id or unique id prefix; several with --state.",
        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", parser=output_file("-o"),
        help="Write here (default: print).")] = None,
    state: Annotated[bool, typer.Option(
        "--state", help="A state receipt: the work's whole history, each event proven, and "
                        "that nothing later exists (or that it was never registered).")] = False,
    works_from: Annotated[Path | None, typer.Option(
        "--works-from", help="With --state: the works in this file too, one path or id per "
                             "line, all in one receipt with one map proof.")] = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
) -> None:
    """Write the receipt of a work's registration, or with --state of its current state.

    The receipt proves inclusion against the latest checkpoint. A state receipt is complete
    (specs/receipts.md section 11): every event of the work, and the map proof that no later
    one exists; for a work that is not registered, the proof of its absence. Several works
    (--state) share one map proof.

    Example: provenance receipt page-012.png --state -o page-012.state.json
    """
    session = Session.from_ctx(ctx).use_node(node, timeout)
    items = list(works or [])
    if works_from is not None:
        if not state:
            raise MalformedError("--works-from needs --state")
        text = read_bounded(works_from, "--works-from", MAX_WORKS_FILE_BYTES).decode(
            "utf-8", "replace")
        items += [line.strip() for line in text.splitlines() if line.strip()]
    if not items:
        raise MalformedError("give a WORK (a file path, work id or id prefix)")
    if len(items) > 1 and not state:
        raise MalformedError("several works need --state (one state receipt for all of them)")
    ids = list(dict.fromkeys(session.resolve_work(w) for w in items))
    if len(ids) == 1:
        doc = (session.state_receipt(ids[0]) if state
               else session.registration_receipt(ids[0])[0])
        absent = state and [w.get("events") for w in doc.get("works", [{}])] == [[]]
    else:
        doc, verified = session.complete_state(ids)
        absent = False
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    write_text_atomic(output, text)
    if absent:
        typer.echo(f"{ids[0]} is not registered on this ledger: the proof of its absence "
                   f"is written to {output}")
    elif len(ids) == 1:
        typer.echo(f"{'state receipt' if state else 'receipt'} of {ids[0]} written to {output}")
    else:
        held = sum(1 for w in verified.works if w.registered)
        typer.echo(f"state receipt of {len(ids)} works ({held} registered, "
                   f"{len(ids) - held} not) written to {output}")

