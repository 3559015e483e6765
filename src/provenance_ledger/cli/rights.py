"""Rights commands: transfer, consent, licence, status and may (specs/cli.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ..core.events import ANYONE, CONDITIONS, check_purpose
from ..core.rules import may as decide
from ..core.timefmt import format_time, parse_time
from ..errors import MalformedError, NotFoundError
from .session import NodeOpt, Session, emit_json, parse_public_key

consent_app = typer.Typer(
    help="Grant and revoke consent to use a work.\n\n"
    "Example: provenance consent grant page-012.png --purpose ai_training --anyone",
    no_args_is_help=True)
licence_app = typer.Typer(
    help="Offer, accept and terminate licences.\n\n"
    "Example: provenance licence offer page-012.png --to ed25519:3b6a... --purpose ai_inference",
    no_args_is_help=True)

KeyOpt = Annotated[str | None, typer.Option("--key", help="Signing key (default: 'default').")]
UNTIL_HELP = "End (exclusive): YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ."
FROM_HELP = "Start: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ."
EXPIRES_HELP = "The offer lapses if not accepted before this time."
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def parse_date(text: str, what: str) -> str:
    """Accept YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ; return the event form."""
    t = text.strip()
    if len(t) == 10:
        try:
            d = datetime.strptime(t, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError as e:
            raise MalformedError(f"{what} {text!r} is not a date (YYYY-MM-DD)") from e
        return format_time(int(d.timestamp()))
    return format_time(parse_time(t, what))


def _purposes(values: list[str]) -> list[str]:
    if not values:
        raise MalformedError("give at least one --purpose")
    for v in values:
        check_purpose(v, "--purpose")
    return list(dict.fromkeys(values))


def _report(session: Session, what: str, result: tuple[Any, int, Any], as_json: bool) -> None:
    event, index, path = result
    if as_json:
        emit_json({"id": event.id, "type": event.event.type, "work": event.event.work,
                   "index": index, "receipt": str(path)})
        return
    typer.echo(f"{what}: {event.id}")
    typer.echo(f"  work:    {event.event.work}")
    typer.echo(f"  entry:   {index}")
    typer.echo(f"  receipt: {path}")


def transfer(
    ctx: typer.Context,
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    to: Annotated[str, typer.Option("--to", help="New controller's public key (ed25519:...).")],
    key: KeyOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Transfer control of a work to another key (signed by the current controller).

    Example: provenance transfer page-012.png --to ed25519:3b6a...
    """
    s = Session.from_ctx(ctx).use_node(node)
    w = s.resolve_work(work)
    body = {"to": parse_public_key(to)}
    _report(s, "transferred", s.sign_and_append(s.signing_key(key), "work.transfer", w, body),
            as_json)


@consent_app.command("grant")
def consent_grant(
    ctx: typer.Context,
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    purpose: Annotated[list[str], typer.Option(
        help="Purpose: ai_training, ai_generative_training, ai_inference, data_mining, "
             "ai_generation, or <domain>:<name>. Repeat for several.")],
    to: Annotated[str | None, typer.Option("--to", help="Grantee's public key.")] = None,
    anyone: Annotated[bool, typer.Option("--anyone", help="Grant to every key.")] = False,
    until: Annotated[str | None, typer.Option(help=UNTIL_HELP)] = None,
    condition: Annotated[list[str] | None, typer.Option(
        help=f"Condition: {', '.join(CONDITIONS)}. Repeat for several.")] = None,
    key: KeyOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Grant consent to use a work for some purposes (opt-in).

    Example: provenance consent grant page-012.png --purpose ai_training --to ed25519:3b6a...
    """
    if to is not None and anyone:
        raise MalformedError("give --to KEY or --anyone, not both")
    if to is None and not anyone:
        raise MalformedError("give --to KEY or --anyone")
    s = Session.from_ctx(ctx).use_node(node)
    body: dict[str, Any] = {"grantee": ANYONE if anyone else parse_public_key(to or ""),
                            "purposes": _purposes(purpose)}
    if until:
        body["until"] = parse_date(until, "--until")
    if condition:
        for c in condition:
            if c not in CONDITIONS:
                raise MalformedError(f"--condition must be one of {', '.join(CONDITIONS)}")
        body["conditions"] = list(dict.fromkeys(condition))
    w = s.resolve_work(work)
    _report(s, "granted", s.sign_and_append(s.signing_key(key), "consent.grant", w, body),
            as_json)


@consent_app.command("revoke")
def consent_revoke(
    ctx: typer.Context,
    grant: Annotated[str, typer.Argument(help="Id (or unique prefix) of the consent.grant.")],
    key: KeyOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a consent grant.

    Example: provenance consent revoke 5f2c91
    """
    s = Session.from_ctx(ctx).use_node(node)
    gid, w = s.event_work(grant)
    _report(s, "revoked", s.sign_and_append(s.signing_key(key), "consent.revoke", w,
                                            {"grant": gid}), as_json)


@licence_app.command("offer")
def licence_offer(
    ctx: typer.Context,
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    to: Annotated[str, typer.Option("--to", help="Licensee's public key.")],
    purpose: Annotated[list[str], typer.Option(help="Licensed purpose. Repeat for several.")],
    fee: Annotated[tuple[int, str] | None, typer.Option(
        help="Fee in integer minor units and ISO 4217 currency, e.g. --fee 50000 JPY.")] = None,
    royalty_bps: Annotated[int | None, typer.Option(
        help="Royalty in basis points (100 = 1%).")] = None,
    territory: Annotated[list[str] | None, typer.Option(
        help="ISO 3166 country code. Repeat for several; none = worldwide.")] = None,
    start: Annotated[str | None, typer.Option("--from", help=FROM_HELP)] = None,
    until: Annotated[str | None, typer.Option(help=UNTIL_HELP)] = None,
    terms_uri: Annotated[str | None, typer.Option(help="URI of the full licence terms.")] = None,
    expires: Annotated[str | None, typer.Option(help=EXPIRES_HELP)] = None,
    key: KeyOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Offer a licence to one key; it takes effect when that key accepts it.

    Example: provenance licence offer page-012.png --to ed25519:3b6a... --purpose ai_training
    --fee 50000 JPY
    """
    s = Session.from_ctx(ctx).use_node(node)
    body: dict[str, Any] = {"licensee": parse_public_key(to), "purposes": _purposes(purpose)}
    if fee is not None:
        amount, currency = fee
        if amount < 0:
            raise MalformedError("--fee amount must be a non-negative integer of minor units")
        body["fee"] = {"amount": amount, "currency": currency.upper()}
    if royalty_bps is not None:
        body["royalty_bps"] = royalty_bps
    if territory:
        body["territories"] = [t.upper() for t in territory]
    for field, value, option in (("from", start, "--from"), ("until", until, "--until"),
                                 ("offer_expires", expires, "--expires")):
        if value:
            body[field] = parse_date(value, option)
    if terms_uri:
        body["terms_uri"] = terms_uri
    w = s.resolve_work(work)
    _report(s, "offered", s.sign_and_append(s.signing_key(key), "licence.offer", w, body),
            as_json)


@licence_app.command("accept")
def licence_accept(
    ctx: typer.Context,
    offer: Annotated[str, typer.Argument(help="Id (or unique prefix) of the licence.offer.")],
    key: KeyOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Accept a licence offer made to your key.

    Example: provenance licence accept 9a41c3 --key studio
    """
    s = Session.from_ctx(ctx).use_node(node)
    oid, w = s.event_work(offer)
    _report(s, "accepted", s.sign_and_append(s.signing_key(key), "licence.accept", w,
                                             {"offer": oid}), as_json)


@licence_app.command("terminate")
def licence_terminate(
    ctx: typer.Context,
    licence: Annotated[str, typer.Argument(help="Id (or prefix) of the licence (its offer).")],
    reason: Annotated[str | None, typer.Option(help="Why, recorded in the event.")] = None,
    key: KeyOpt = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Terminate a licence (or withdraw an open offer).

    Example: provenance licence terminate 9a41c3 --reason "unpaid"
    """
    s = Session.from_ctx(ctx).use_node(node)
    lid, w = s.event_work(licence)
    body: dict[str, Any] = {"licence": lid}
    if reason:
        body["reason"] = reason
    _report(s, "terminated", s.sign_and_append(s.signing_key(key), "licence.terminate", w,
                                               body), as_json)


def status(
    ctx: typer.Context,
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a work's controller, payees, consents and licences in force, and its history.

    Example: provenance status page-012.png
    """
    s = Session.from_ctx(ctx).use_node(node)
    w = s.resolve_work(work)
    state, missing = s.find_state(w)
    if state is None:
        raise missing or NotFoundError(f"no work {w} on this ledger")
    now = s.now()
    history = [{"index": i, **ev.to_json()} for i, ev in s.history(w)]
    doc = state.to_json()
    doc["grants_in_force"] = [g.id for g in state.grants if g.in_force(now)]
    doc["licences_in_force"] = [x.id for x in state.licences if x.in_force(now)]
    doc["history"] = history
    if s.node_url is not None:
        doc.update(s.client.registrations(w))
    if as_json:
        emit_json(doc)
        return
    if doc.get("disputed"):
        typer.echo("DISPUTED: this content is registered on several logs by different keys")
        for r in doc["registrations"]:
            when = r["cosigned_at"] or "not cosigned yet"
            typer.echo(f"  {r['origin']}: by {r['registrant']} (event {r['id'][:12]}, "
                       f"earliest cosigned {when})")
    typer.echo(f"work:        {w}")
    c = state.content
    typer.echo(f"content:     {c.get('media_type')}, {c.get('size')} bytes"
               + (f", {c['title']!r}" if "title" in c else ""))
    typer.echo(f"registered:  {format_time(state.registered_at)} by {state.registrant}")
    typer.echo(f"controller:  {state.controller}")
    for k, bps in state.effective_payees():
        typer.echo(f"payee:       {k} {bps / 100:.2f}%")
    typer.echo("consents in force:" + ("" if doc["grants_in_force"] else " none"))
    for g in state.grants:
        if g.in_force(now):
            who = "anyone" if g.grantee == ANYONE else g.grantee
            until = f" until {format_time(g.until)}" if g.until else ""
            typer.echo(f"  {g.id[:12]} {', '.join(g.purposes)} to {who}{until}")
    typer.echo("licences in force:" + ("" if doc["licences_in_force"] else " none"))
    for x in state.licences:
        if x.in_force(now):
            fee = x.terms.get("fee")
            fee_text = f" fee {fee['amount']} {fee['currency']}" if fee else ""
            typer.echo(f"  {x.id[:12]} {', '.join(x.purposes)} to {x.licensee}{fee_text}")
    typer.echo("history:")
    for h in history:
        typer.echo(f"  {h['index']:>6} {h['at']} {h['type']:<18} {h['id'][:12]} by "
                   f"{h['actor'][:24]}...")


def may(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The user's public key (ed25519:...).")],
    purpose: Annotated[str, typer.Argument(help="Purpose, e.g. ai_training.")],
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    at: Annotated[str | None, typer.Option(help="Ask about this time (default: now).")] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """May KEY use WORK for PURPOSE? Exit 0 if allowed, 1 if not. Default: not allowed.

    Example: provenance may ed25519:3b6a... ai_training page-012.png
    """
    s = Session.from_ctx(ctx).use_node(node)
    k = parse_public_key(key)
    check_purpose(purpose, "PURPOSE")
    when = parse_time(parse_date(at, "--at")) if at else s.now()
    w = s.resolve_work(work)
    state, missing = s.find_state(w)
    d = decide(state, k, purpose, when)
    elsewhere = missing.elsewhere if missing is not None else []
    if as_json:
        emit_json({"work": w, "key": k, "purpose": purpose, "at": format_time(when),
                   **d.to_json(), "elsewhere": elsewhere})
    else:
        typer.echo(("allowed: " if d.allowed else "not allowed: ") + d.reason)
        if elsewhere:
            from ..node.disputes import describe_elsewhere

            typer.echo(f"  {describe_elsewhere(elsewhere)} (per {s.node_url})")
        for eid in d.events:
            typer.echo(f"  event {eid}")
        for c in d.conditions:
            typer.echo(f"  condition: {c}")
    if not d.allowed:
        raise typer.Exit(1)
