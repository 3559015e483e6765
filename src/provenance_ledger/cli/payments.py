"""Usage, payment and royalty commands: ``usage report``, ``payment record|ack|dispute`` and
``royalties`` (specs/cli.md section 3.15, specs/royalties.md).

Each write signs one event with the user's key and appends it (or submits it with ``--node``)
exactly as ``licence accept`` does: the rules (specs/rules.md section 6) check it before it is
stored. ``royalties`` replays the works' events into a statement (core/royalties.py) and can
keep it as a royalty receipt that ``provenance verify`` re-derives offline.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core import payments
from ..core.current import MAX_CURRENT_RECEIPT_BYTES, StateReceiptV2, VerifiedStateV2
from ..core.events import MAX_REFERENCE_CHARS, MAX_TEXT_CHARS, SignedEvent, parse_leaf
from ..core.identity import is_key_record_id, key_record_id
from ..core.keystate import KeyLookup, holder
from ..core.money import MAX_AMOUNT, major_units, parse_amount
from ..core.royalties import FIGURES, Period, Query, Statement, describe, statement, words
from ..core.royalty_receipt import (
    ROYALTY_RECEIPT_SCOPE,
    ROYALTY_RECEIPT_VERSION,
    RoyaltyReceipt,
    check_decoded_royalties,
    involved_keys,
    verify_royalty_receipt,
)
from ..core.timefmt import format_time
from ..errors import MalformedError, NotFoundError, RuleError, VerificationError
from ..ledger.listing import _pages, works_of
from .identity import key_lookup
from .listing import _cell, _node_offers, _node_works
from .numbers import whole
from .session import (
    DEFAULT_KEY,
    NodeOpt,
    Session,
    TimeoutOpt,
    emit_json,
    output_file,
    write_text_atomic,
)
from .writes import (
    AGAIN_HINT,
    Found,
    History,
    Written,
    last_event,
    report,
    report_exists,
    same_body,
    write_once,
)

usage_app = typer.Typer(
    help="Report a licence's usage (signed by the licensee).\n\n"
    "Example: provenance usage report 9a41c3 --period 2026-Q3 --units 1200 --revenue 8450.00 EUR",
    no_args_is_help=True)
payment_app = typer.Typer(
    help="Record, acknowledge and dispute payments under a licence.\n\n"
    "Example: provenance payment record 9a41c3 --to ed25519:3b6a... --amount 1056.25 EUR",
    no_args_is_help=True)

KeyOpt = Annotated[str | None, typer.Option("--key", help="Signing key (default: 'default').")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OFFER = "licence.offer"
PERIOD_HELP = "A year (2026), a quarter (2026-Q3) or a month (2026-09), in UTC."


def _begun(s: Session, text: str, why: str) -> str:
    """``--period``, refused when it has not begun at the signer's clock (specs/cli.md
    section 2.4, specs/royalties.md section 5): usage is reported, and a payment recorded,
    for a period that has begun. Checked here before signing; a ledger's admission refuses it
    too, against its own clock (specs/rules.md section 4); neither is a rule of the log."""
    period = Period.parse(text.strip(), "--period")
    if period.start > s.now():
        raise MalformedError(f"--period {period.text} has not begun (it starts "
                             f"{format_time(period.start)[:10]}): {why}")
    return period.text


def _append(s: Session, key: str | None, type_: str, work: str,
            body: dict[str, Any]) -> Written:
    """Sign and append; a refusal because another key must sign (the licensee, the payee)
    names that key as one of yours, and the --key that picks it, when it is."""
    signer = s.signing_key(key)
    try:
        return s.sign_and_append(signer, type_, work, body)
    except RuleError as e:
        needed = _needed_signer(s, work, type_, body)
        if needed is None or needed == signer.public.text:
            raise
        names = s.key_names(needed)
        if names:
            hint = (f"that is your key '{names[0]}': add --key {names[0]}"
                    if names[0] != DEFAULT_KEY else "that is your key 'default': drop --key")
        else:
            hint = "that is none of your keys (provenance key list)"
        raise RuleError(f"{e}; {hint}") from e


def _needed_signer(s: Session, work: str, type_: str, body: dict[str, Any]) -> str | None:
    state = s.state(work)
    if state is None:
        return None
    if type_ in (payments.USAGE, payments.PAYMENT):
        lic = state.licence(str(body["licence"]))
        role = lic.licensee if lic is not None else None
    else:
        pay = state.accounts.payments.get(str(body["payment"]))
        role = pay.payee if pay is not None else None
    # from a rotation on, the key the licensee or payee was rotated to signs (rules.md 9)
    return None if role is None else holder(role, s.now(), key_lookup(s))


def _amount(value: tuple[str, str], option: str) -> dict[str, Any]:
    amount, code = parse_amount(value[0], value[1], option)
    return {"amount": amount, "currency": code}


AGAIN_HELP = ("Log it even when the same statement is logged already (specs/cli.md "
              "section 2.4).")
AgainOpt = Annotated[bool, typer.Option("--again", help=AGAIN_HELP)]


def _log_once(s: Session, key: str | None, type_: str, work: str, body: dict[str, Any],
              what: str, again: bool, as_json: bool) -> None:
    """Append the statement, unless the log holds one of the same type whose body is this one
    and ``--again`` is not given: then report that one (exit 0) and say how to log another
    (specs/cli.md section 2.4). Only the key that would sign it now is answered so: another
    key is refused as any write of it would be, naming the key that signs."""
    found = None if again else next(
        ((i, e) for i, e in reversed(s.history(work))
         if e.event.type == type_ and same_body(e, body)), None)
    if found is not None and _needed_signer(s, work, type_, body) not in (
            None, s.public_key(key)):
        found = None  # not this key's to say: the rules refuse it, naming the key that signs
    if found is None:
        report(what, _append(s, key, type_, work, body), as_json)
        return
    noun = "report" if type_ == payments.USAGE else "payment"
    report_exists(s, what.split()[-1], found, f"this {noun} is logged as", as_json, AGAIN_HINT)


def _answer(s: Session, key: str | None, type_: str, work: str, body: dict[str, Any],
            what: str, as_json: bool) -> None:
    """``payment ack`` or ``dispute``; run again once the payment has that answer, the
    answer logged is reported (specs/cli.md section 2.4). Only the payee's key is answered
    so: another key is refused as any answer of it would be, naming the key that signs."""
    pid = body["payment"]
    payees = _needed_signer(s, work, type_, body) in (None, s.public_key(key))

    def settled(history: History) -> tuple[Found, str] | None:
        if not payees:
            return None  # not this key's to say: the rules refuse it, naming the payee's key
        answers = [f for f in (last_event(history, payments.ACK, payment=pid),
                               last_event(history, payments.DISPUTE, payment=pid)) if f]
        last = max(answers, key=lambda f: f[0], default=None)
        if last is None or last[1].event.type != type_:
            return None
        return last, f"payment {pid} was {what.split()[-1]} in"

    write_once(s, what.split()[-1], lambda: _append(s, key, type_, work, body), work, settled,
               as_json)


@usage_app.command("report")
def usage_report(
    ctx: typer.Context,
    licence: Annotated[str, typer.Argument(help="Id (or unique prefix) of the licence (its "
                                                "offer).")],
    period: Annotated[str, typer.Option(help=PERIOD_HELP)],
    units: Annotated[int, typer.Option(
        parser=whole("--units", 0, MAX_AMOUNT, unit="units"),
        help="Units used in the period (uses, items, ...).")],
    revenue: Annotated[tuple[str, str], typer.Option(
        metavar="AMOUNT CUR",
        help="Revenue in the period and its ISO 4217 currency, in major units: "
             "--revenue 8450.00 EUR, --revenue 120000 JPY.")],
    key: KeyOpt = None,
    again: AgainOpt = False,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report a period's usage and revenue under a licence (signed by its licensee). Reports
    of a period add up; the same report again is not logged unless --again is given.

    Example: provenance usage report 9a41c3 --period 2026-Q3 --units 1200 --revenue 8450.00 EUR
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    reported = _begun(s, period, "usage is reported after the fact")
    body = {"period": reported, "units": units, "revenue": _amount(revenue, "--revenue")}
    lid, w = s.event_work(licence, "LICENCE")
    body["licence"] = lid
    _log_once(s, key, payments.USAGE, w, body, "usage reported", again, as_json)


@payment_app.command("record")
def payment_record(
    ctx: typer.Context,
    licence: Annotated[str, typer.Argument(help="Id (or unique prefix) of the licence.")],
    to: Annotated[str, typer.Option(
        "--to", help="The payee: ed25519:... or one of your key names.")],
    amount: Annotated[tuple[str, str], typer.Option(
        metavar="AMOUNT CUR", help="Amount paid and its ISO 4217 currency, in major units: "
                                   "--amount 1056.25 EUR.")],
    reference: Annotated[str | None, typer.Option(
        help="Your reference for the transfer (an invoice or bank reference).")] = None,
    period: Annotated[str | None, typer.Option(help="The period it pays for. " + PERIOD_HELP)
                      ] = None,
    key: KeyOpt = None,
    again: AgainOpt = False,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a payment to one payee under a licence (signed by its licensee). The same
    payment again (payee, amount, period and reference) is not logged unless --again is given.

    Example: provenance payment record 9a41c3 --to ed25519:3b6a... --amount 1056.25 EUR
    """
    paid = _amount(amount, "--amount")
    if paid["amount"] == 0:
        raise MalformedError(f"--amount: 0 {paid['currency']} is no payment: give the amount "
                             "paid")
    s = Session.from_ctx(ctx).use_node(node, timeout)
    body: dict[str, Any] = {"to": s.key_option(to, "--to"), "amount": paid}
    if reference is not None:
        if not 0 < len(reference) <= MAX_REFERENCE_CHARS or not reference.isprintable():
            raise MalformedError(f"--reference: give 1 to {MAX_REFERENCE_CHARS} printable "
                                 "characters")
        body["reference"] = reference
    if period is not None:
        body["period"] = _begun(s, period, "a payment is recorded for a period that has begun")
    lid, w = s.event_work(licence, "LICENCE")
    body["licence"] = lid
    _log_once(s, key, payments.PAYMENT, w, body, "payment recorded", again, as_json)


@payment_app.command("ack")
def payment_ack(
    ctx: typer.Context,
    payment: Annotated[str, typer.Argument(help="Id (or unique prefix) of the payment.record.")],
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Acknowledge a payment made to your key (signed by the payee).

    Example: provenance payment ack 5c02e1
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    pid, w = s.event_work(payment, "PAYMENT")
    _answer(s, key, payments.ACK, w, {"payment": pid}, "payment acknowledged", as_json)


@payment_app.command("dispute")
def payment_dispute(
    ctx: typer.Context,
    payment: Annotated[str, typer.Argument(help="Id (or unique prefix) of the payment.record.")],
    reason: Annotated[str, typer.Option(help="Why, recorded in the event.")],
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Dispute a payment recorded to your key (signed by the payee); a later ack settles it.

    Example: provenance payment dispute 5c02e1 --reason "not received"
    """
    if not 0 < len(reason) <= MAX_TEXT_CHARS or not reason.isprintable():
        raise MalformedError(f"--reason: give 1 to {MAX_TEXT_CHARS} printable characters")
    s = Session.from_ctx(ctx).use_node(node, timeout)
    pid, w = s.event_work(payment, "PAYMENT")
    _answer(s, key, payments.DISPUTE, w, {"payment": pid, "reason": reason},
            "payment disputed", as_json)


# --- royalties ---------------------------------------------------------------------------------


def _works(s: Session, work: str | None, payee: str | None, licensee: str | None) -> list[str]:
    """The works whose licences the statement looks at: the one given, else those with
    licences to the licensee, else those the payee registered, controls or was paid on."""
    if work is not None:
        return [s.resolve_work(work)]
    found: Iterator[str]
    if licensee is not None:
        if s.node_url is not None:
            found = (o.work for o in _node_offers(s.client, licensee, "to_accept", True))
        else:  # the offers' index rows name the works: no replay needed to find them
            found = (r.work for r in _pages(s.ledger, "party", licensee, (OFFER,), -1))
    else:
        assert payee is not None  # noqa: S101 - the caller checks
        if s.node_url is not None:  # the node lists works by key, not payments by payee
            found = (w.work for w in _node_works(s.client, payee, False, None, None))
        else:
            held = [w.work for w in works_of(s.ledger, payee)]
            paid = [r.work for r in _pages(s.ledger, "party", payee, (payments.PAYMENT,), -1)]
            found = iter(held + paid)
    return list(dict.fromkeys(found))


def _histories(s: Session, works: list[str], receipt: Path | None, query: Query,
               keys: KeyLookup) -> list[list[SignedEvent]]:
    """Each work's events as the log proves them (the map proof of the latest checkpoint);
    with ``receipt``, the royalty receipt is written too, from the very same proof: a v3
    receipt listing the key records of the keys involved, present or proven absent
    (specs/receipts.md sections 15.3 and 15.4)."""
    if not works:
        if receipt is not None:
            raise NotFoundError("no licence to report on: no royalty receipt to write")
        return []
    if s.node_url is not None:
        _, verified = _proof(s, works)
        histories = [list(w.events) for w in verified.works if w.registered]
    else:
        histories = _local(s, works)
    if receipt is None:
        return histories
    # one proof of the works and of every involved key's record, present or absent
    listed = works + [key_record_id(k) for k in involved_keys(histories, keys)]
    doc, verified = _proof(s, listed)
    rr = RoyaltyReceipt(query, StateReceiptV2.from_json(doc), ROYALTY_RECEIPT_VERSION)
    text = json.dumps(rr.to_json(), indent=2, ensure_ascii=False) + "\n"
    if len(text.encode("utf-8")) > MAX_CURRENT_RECEIPT_BYTES:  # no verifier reads it
        raise MalformedError(f"--receipt: the receipt would be over "
                             f"{MAX_CURRENT_RECEIPT_BYTES >> 20} MiB, more than a "
                             "verifier reads: keep the statement as several receipts "
                             "(--work W)")
    write_text_atomic(receipt, text)
    return [list(w.events) for w in verified.works
            if w.registered and not is_key_record_id(w.work)]


def _local(s: Session, works: list[str]) -> list[list[SignedEvent]]:
    """The works' events from the local ledger, checked against its signed map."""
    current = s.ledger.current(works)
    if current is None:
        return [[ev for _, ev in s.ledger.history(w)] for w in works]
    return [[parse_leaf(leaf, verify=False) for _, leaf, _ in current.works[w]]
            for w in works if current.works[w]]


def _proof(s: Session, works: list[str]) -> tuple[dict[str, Any], VerifiedStateV2]:
    """One verified state receipt v2 of ``works``, from the node or the local ledger."""
    try:
        if s.node_url is not None:
            return s.client.complete_states(works)
        return s.complete_state(works)
    except ValueError as e:  # a receipt's limits (specs/receipts.md section 8)
        raise MalformedError(f"--receipt: {e}: keep the statement as several receipts "
                             "(--work W, or --period P)") from e


CSV_FIELDS = ("licence", "work", "licensee", "payee", "currency", *FIGURES, "events")


def royalties(
    ctx: typer.Context,
    work: Annotated[str | None, typer.Option(
        help="The licences of this work (file path, work id or unique id prefix).")] = None,
    payee: Annotated[str | None, typer.Option(
        help="What is due to this key (ed25519:... or one of your key names): its "
             "lines only.")] = None,
    licensee: Annotated[str | None, typer.Option(
        help="The licences of this licensee (ed25519:... or one of your key names).")] = None,
    period: Annotated[str | None, typer.Option(help="Only this period. " + PERIOD_HELP)] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV, a row per licence and "
                                                       "payee, amounts in major units of "
                                                       "its currency column (120.00).")
                      ] = False,
    receipt: Annotated[Path | None, typer.Option(
        "--receipt", metavar="FILE", parser=output_file("--receipt"),
        help="Also write a royalty receipt: the statement with the proof of every event it "
             "comes from, which anyone re-checks offline (provenance verify FILE).")] = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Royalty statement: due, paid, acknowledged, disputed, outstanding and overpaid per
    licence and payee, with the events each figure comes from. Amounts in the licence's
    currency (--json: integers in minor units).

    Example: provenance royalties --work page-012.png --period 2026-Q3
    """
    if work is None and payee is None and licensee is None:
        raise MalformedError("give --work W, --payee KEY or --licensee KEY")
    if as_json and as_csv:
        raise MalformedError("give --json or --csv, not both")
    s = Session.from_ctx(ctx).use_node(node, timeout)
    q = Query(s.key_option(licensee, "--licensee") if licensee else None,
              s.key_option(payee, "--payee") if payee else None,
              Period.parse(period.strip(), "--period") if period else None)
    works = _works(s, work, q.payee, q.licensee)
    keys = key_lookup(s)  # a rotated payee's or licensee's successor (specs/royalties.md 3.1)
    result = statement(_histories(s, works, receipt, q, keys), q, keys)
    if as_json:
        emit_json(result.to_json())
    elif as_csv:
        _csv(result)
    else:
        _text(s, result)
    if receipt is not None:
        typer.echo(f"royalty receipt written to {receipt}", err=as_json or as_csv)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _csv(result: Statement) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(CSV_FIELDS)
    for lic in result.licences:
        for line in (lic.to_json()["payees"]):
            events = " ".join(dict.fromkeys(line["due_from"] + line["paid_in"]
                                            + line["answered_in"]))
            # amounts in major units of the row's currency, exact decimals (specs/cli.md
            # section 3.15): never negative, so no formula; only text is escaped
            out.writerow([*(_cell(v) for v in (lic.licence, lic.work, lic.licensee,
                                                line["payee"], lic.currency or "")),
                          *(major_units(line[f], lic.currency) for f in FIGURES),
                          _cell(events)])


def _text(s: Session, result: Statement) -> None:
    def who(k: str) -> str:
        names = s.key_names(k) if s.node_url is None else []
        return k + (f" (your key '{names[0]}')" if names else "")

    q = result.query
    period = f" for {q.period.text}" if q.period is not None else ""
    if not result.licences:
        typer.echo(f"no accepted licence with royalties{period}")
        return
    for lic in result.licences:
        typer.echo(f"licence {lic.licence}{period}")
        typer.echo(f"  work:      {lic.work}")
        typer.echo(f"  licensee:  {who(lic.licensee)}")
        typer.echo(f"  usage:     {_n(len(lic.reports), 'report')}, {lic.units} units, revenue "
                   f"{describe(lic.revenue, lic.currency)}")
        typer.echo("  " + words({f: result.total(lic, f) for f in result.figures},
                                lic.currency))
        for k in sorted(lic.lines):
            line = lic.lines[k]
            typer.echo(f"  payee {who(k)}")
            typer.echo("    " + words({f: line.figure(f, result.version)
                                        for f in result.figures}, lic.currency))
            if line.due_from:
                typer.echo(f"    due from:    {' '.join(e[:12] for e in line.due_from)}")
            if line.paid_in:
                typer.echo(f"    paid in:     {' '.join(e[:12] for e in line.paid_in)}")
            if line.answered_in:
                typer.echo(f"    answered in: {' '.join(e[:12] for e in line.answered_in)}")
    if len(result.licences) > 1:
        typer.echo("totals:")
        for row in result.totals():
            typer.echo(f"  {row['payee']}: " + words(row, row["currency"]))


def version_words(receipt: RoyaltyReceipt) -> str:
    """Which statement version a royalty receipt was verified with (specs/receipts.md
    section 15.4), as ``verify`` says it after the licence lines."""
    if receipt.statement_version >= 2:
        return (f"statement version 2 (royalty receipt v{receipt.version}): outstanding and "
                "overpaid per payee, never netted")
    return (f"statement version 1 (royalty receipt v{receipt.version}): outstanding is due "
            "less paid, summed over the payees, so one payee's overpayment lowers another's "
            "outstanding (a receipt made now says outstanding and overpaid apart)")


def verify_royalties(raw: Any, receipt: RoyaltyReceipt, pol: Any, file: Path | None,
                     faulty: dict[str, str], max_age: int | None, as_json: bool) -> None:
    """``verify`` of a royalty receipt (specs/receipts.md section 15.1): the state receipt
    verified, the statement re-derived and compared, then evidence, quorum, --file and
    --max-age as for every proof of current state."""
    from .verify import _as_of, _trusted_current

    try:
        verified = verify_royalty_receipt(receipt, pol.logs, pol.witnesses)
        check_decoded_royalties(raw, verified)
        current = verified.current
        fresh, age = _trusted_current(pol, faulty, current, max_age, file, "a work",
                                      {w.work for w in current.works})
    except (VerificationError, MalformedError) as e:
        raise VerificationError(f"royalty receipt does not verify: {e}") from e
    result = verified.statement
    cp = current.checkpoint
    statement_words = (f"{_as_of(current)}, {_n(len(result.licences), 'licence')} of "
                       f"{_n(len(current.works), 'work')}: the statement below is what all of "
                       f"their events up to {cp.size} give")
    if as_json:
        emit_json({"valid": True, "format": receipt.format,
                   "statement_version": result.version, "scope": ROYALTY_RECEIPT_SCOPE,
                   "origin": cp.origin, "tree_size": cp.size,
                   "cosigners": {k: format_time(v) for k, v in sorted(current.cosigners.items())},
                   "fresh_as_of": format_time(fresh), "age_seconds": age,
                   "max_age_seconds": max_age, "statement_words": statement_words,
                   "statement": result.to_json()})
        return
    typer.echo(f"OK: {statement_words}")
    for lic in result.licences:
        typer.echo(f"  licence {lic.licence}: "
                   + words({f: result.total(lic, f) for f in result.figures},
                           lic.currency))
    typer.echo(f"  {version_words(receipt)}")
    typer.echo(f"  fresh as of {format_time(fresh)}")
    typer.echo(f"  note: this {ROYALTY_RECEIPT_SCOPE}")
