"""``provenance verify`` and ``provenance receipt``: make and check receipts offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.events import work_id_of
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
from ..core.timefmt import format_time
from ..errors import LedgerError, MalformedError, VerificationError
from .session import (
    NodeOpt,
    Session,
    TimeoutOpt,
    emit_json,
    hash_file,
    read_bounded,
    write_text_atomic,
)


def verify(
    receipt_path: Annotated[Path, typer.Argument(metavar="RECEIPT", help="Receipt JSON file.")],
    log_key: Annotated[str | None, typer.Option(help="Trusted log verifier key (vkey).")] = None,
    policy: Annotated[Path | None, typer.Option(
        help="Trust policy file (C2SP tlog-policy): log keys, witnesses, quorum.")] = None,
    file: Annotated[Path | None, typer.Option(
        help="Also check that this file is the anchored content.")] = None,
    evidence: Annotated[Path | None, typer.Option(
        help="Split-view evidence (JSON from `node evidence --json` or GET /evidence): a "
             "receipt from an origin it proves faulty is refused.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Verify a receipt offline: exit 0 when valid, 1 with one line saying what failed.

    Checks the event's signature, its inclusion in the checkpoint, the log's signature
    and, with --policy, the quorum of witness cosignatures. No ledger or network is used.
    A receipt that is malformed (not JSON, a missing field, bad base64, ...) does not verify
    either (exit 1); exit 2 is for the verifier's own inputs: options, policy, log key,
    evidence, a file that cannot be read.

    Example: provenance verify receipt.json --log-key "$(provenance log key)"
    """
    if (log_key is None) == (policy is None):
        raise MalformedError("give exactly one of --log-key or --policy")
    if policy is not None:
        text = read_bounded(policy, "policy", MAX_POLICY_BYTES).decode("utf-8", "replace")
        pol = parse_policy(text)
    else:
        pol = Policy.for_log_key(log_key or "")
    faulty = _load_evidence(evidence, pol) if evidence is not None else {}
    # What the receipt says is the answer, whatever is wrong with it: a malformed receipt
    # does not verify (exit 1, specs/cli.md 1.1), exactly as a forged one does.
    try:
        raw_bytes = read_bounded(receipt_path, "receipt", MAX_STATE_RECEIPT_BYTES)
        data = load_receipt_json(raw_bytes, MAX_STATE_RECEIPT_BYTES)
        if isinstance(data, dict) and data.get("format") == STATE_RECEIPT_FORMAT:
            state_receipt = StateReceipt.from_json(data)
        else:
            if len(raw_bytes) > MAX_RECEIPT_BYTES:
                raise MalformedError(f"receipt is larger than {MAX_RECEIPT_BYTES} bytes")
            receipt = Receipt.from_json(data)
            state_receipt = None
    except MalformedError as e:
        raise VerificationError(f"receipt does not verify: {e}") from e
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
    if as_json:
        emit_json(out)
        return
    typer.echo(f"OK: {ev.type} {result.event.id}")
    typer.echo(f"  work:   {ev.work}" + ("  (file matches)" if file is not None else ""))
    typer.echo(f"  actor:  {ev.actor}")
    typer.echo(f"  at:     {format_time(ev.at)} (signer's clock)")
    typer.echo(f"  log:    {result.checkpoint.origin}, entry {result.leaf_index} of "
               f"{result.checkpoint.size}")
    for name, ts in sorted(result.cosigners.items()):
        typer.echo(f"  cosigned by {name} at {format_time(ts)}")


MAX_EVIDENCE_BYTES = 4 << 20  # an evidence file, bytes


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
    doc = st.to_json()
    doc["grants_in_force"] = [g.id for g in st.grants if g.in_force(latest)]
    doc["licences_in_force"] = [x.id for x in st.licences if x.in_force(latest)]
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


def receipt(
    ctx: typer.Context,
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    output: Annotated[Path | None, typer.Option("-o", "--output",
                                                help="Write here (default: print).")] = None,
    state: Annotated[bool, typer.Option(
        "--state", help="A state receipt: the work's whole history, each event proven.")] = False,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
) -> None:
    """Write the receipt of a work's registration, or with --state of its whole history.

    The receipt proves inclusion against the latest checkpoint.

    Example: provenance receipt page-012.png --state -o page-012.state.json
    """
    session = Session.from_ctx(ctx).use_node(node, timeout)
    work_id = session.resolve_work(work)
    doc = session.state_receipt(work_id) if state else session.registration_receipt(work_id)[0]
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    write_text_atomic(output, text)
    typer.echo(f"receipt of {work_id} written to {output}")

