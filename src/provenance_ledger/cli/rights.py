"""Rights commands: transfer, consent, licence, status and may (specs/cli.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ..core import keystate
from ..core.current import (
    DecisionReceipt,
    Question,
    StateReceiptV2,
    VerifiedStateV2,
    decision_keys,
)
from ..core.encoding import thaw
from ..core.events import ANYONE, CONDITIONS, MAX_LIST_ITEMS, MAX_URI_CHARS, check_purpose
from ..core.identity import KeyRecord, key_record_id, vouching
from ..core.money import parse_amount
from ..core.rules import WorkState
from ..core.rules import may as decide
from ..core.similarity import CODE_BITS, DEFAULT_DISTANCE
from ..core.timefmt import format_time, parse_time
from ..core.vouch import granter, vouch
from ..errors import MalformedError, NotFoundError, RuleError, quoted
from ..ledger.listing import IN_FORCE, NOT_YET, OPEN, grant_status, licence_status
from .identity import (
    AttesterOpt,
    PolicyOpt,
    effective_state,
    key_lookup,
    trusted_attesters,
)
from .numbers import whole
from .payees import PayeeOpt, parse_payees
from .session import (
    DEFAULT_KEY,
    NodeOpt,
    Session,
    TimeoutOpt,
    emit_json,
    output_file,
    write_text_atomic,
)
from .words import describe_terms, grant_words, licence_words
from .writes import (
    AGAIN_HINT,
    Found,
    History,
    Written,
    last_event,
    report,
    report_exists,
    same_statement,
    state_and_history,
    write_once,
)

consent_app = typer.Typer(
    help="Grant and revoke consent to use a work.\n\n"
    "Example: provenance consent grant page-012.png --purpose ai_training --anyone",
    no_args_is_help=True)
licence_app = typer.Typer(
    help="Offer, accept and terminate licences.\n\n"
    "Example: provenance licence offer page-012.png --to ed25519:3b6a... --purpose ai_inference",
    no_args_is_help=True)

KeyOpt = Annotated[str | None, typer.Option("--key", help="Signing key (default: 'default').")]
UNTIL_HELP = ("End, exclusive: the first moment not covered, YYYY-MM-DD (midnight UTC: "
              "--until 2028-01-01 covers all of 2027) or YYYY-MM-DDTHH:MM:SSZ.")
FROM_HELP = "Start: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ."
EXPIRES_HELP = "The offer lapses if not accepted before this time."
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
MAX_PROOF_ROUNDS = 3
"""Most times ``may --proof`` asks again for key records an event logged meanwhile needs."""
_URI = re.compile(r"(https?://|urn:)[!-~]+")  # specs/events.md section 3: terms_uri


def check_currency(text: str, option: str) -> str:
    """An ISO 4217 currency code (pycountry's table), upper-cased; else a one-line error that
    names the option and, when the text names a currency, its code."""
    import pycountry  # its tables load in about 15 ms: only for a command that reads a code

    code = text.strip().upper()
    if len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None:
        return code
    hint = _suggest(pycountry.currencies, text, "alpha_3") or "e.g. EUR, JPY"
    raise MalformedError(f"{option}: currency {quoted(text, 42)} is not an ISO 4217 code ({hint})")


def check_territory(text: str, option: str) -> str:
    """An ISO 3166-1 alpha-2 country code (pycountry's table), upper-cased."""
    import pycountry

    code = text.strip().upper()
    if len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None:
        return code
    hint = _suggest(pycountry.countries, text, "alpha_2") or "e.g. JP, FR, US"
    raise MalformedError(
        f"{option}: {quoted(text, 42)} is not an ISO 3166-1 two-letter country code ({hint})")


def _suggest(table: Any, text: str, field: str) -> str | None:
    """``did you mean XX?`` when ``text`` is another name or code of exactly one entry."""
    try:
        found = table.lookup(text.strip())
    except LookupError:
        return None
    return f"did you mean {getattr(found, field)}?"


def parse_date(text: str, what: str) -> str:
    """Accept YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ; return the event form."""
    t = text.strip()
    if len(t) == 10:
        try:
            d = datetime.strptime(t, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError as e:
            raise MalformedError(f"{what} {quoted(text)} is not a date (YYYY-MM-DD)") from e
        return format_time(int(d.timestamp()))
    if _TIME_FORM.fullmatch(t) is None:  # neither form: say both (specs/cli.md section 1)
        raise MalformedError(f"{what} {quoted(text)} is neither a date (YYYY-MM-DD) nor a UTC "
                             "time (YYYY-MM-DDTHH:MM:SSZ)")
    return format_time(parse_time(t, what))


_TIME_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
"""The shape of a UTC time; whether it is a real one is ``parse_time``'s to say."""


_EVERYONE = frozenset({"anyone", "everyone", "all", "*"})
"""What people write for every key, which ``--to`` takes for a key name (specs/cli.md section
1, key arguments): ``--anyone`` says it."""


def _grantee(s: Session, to: str) -> str:
    """The key ``--to`` names; a word for everyone that is none of the user's keys is told
    to use ``--anyone``."""
    try:
        return s.key_option(to, "--to")
    except MalformedError as e:
        if to.strip().lower() in _EVERYONE:
            raise MalformedError(f"{e}; to grant to every key, use --anyone instead of --to"
                                 ) from e
        raise


def _purposes(values: list[str]) -> list[str]:
    if not values:
        raise MalformedError("give at least one --purpose")
    if len(set(values)) > MAX_LIST_ITEMS:
        raise MalformedError(f"--purpose: at most {MAX_LIST_ITEMS} purposes")
    for v in values:
        try:
            check_purpose(v, "--purpose")
        except MalformedError as e:  # core's words name no option: say which one
            message = str(e)
            raise MalformedError(message if message.startswith("--purpose")
                                 else f"--purpose: {message}") from e
    return list(dict.fromkeys(values))


def _after(option: str, value: str, earlier: str, what: str, mistake: str) -> None:
    """Refuse, naming the option, a time that is not after ``earlier`` (specs/cli.md section
    1, errors): the rules would refuse the event with words that name no option."""
    if parse_time(value, option) <= parse_time(earlier, option):
        raise MalformedError(f"{option}: {value} is not after {what} ({earlier}): {mistake}")


def _append(s: Session, key: str | None, type_: str, work: str,
            body: dict[str, Any]) -> Written:
    """Sign and append; a refusal because another key must sign names that key as one of
    yours (and the --key that picks it) when it is. The key ``default`` is made only for an
    event the rules take (:meth:`Session.signer_for`)."""
    lookup = key_lookup(s) if s.node_url is not None or s.has_ledger() else None
    signer = None
    try:
        signer = s.signer_for(key, type_, work, body, lookup)
        return s.sign_and_append(signer, type_, work, body)
    except RuleError as e:
        needed = _needed_signer(s.state(work), type_, body)
        if needed is not None and type_ != "licence.accept":  # rotated: the key holding it
            needed = keystate.holder(needed, s.now(), key_lookup(s))
        if needed is None or (signer is not None and needed == signer.public.text):
            raise
        names = s.key_names(needed)
        if names:
            hint = (f"that is your key '{names[0]}': add --key {names[0]}"
                    if names[0] != DEFAULT_KEY else "that is your key 'default': drop --key")
        else:
            hint = "that is none of your keys (provenance key list)"
        raise RuleError(f"{e}; {hint}") from e


def _settled_by(type_: str, why: str, **fields: str
                ) -> Callable[[History], tuple[Found, str] | None]:
    """The change made already, by an event of ``type_`` whose body has ``fields`` (a grant
    revoked, an offer accepted, a licence terminated: each is final, specs/rules.md section
    3), for :func:`write_once`."""
    def settled(history: History) -> tuple[Found, str] | None:
        found = last_event(history, type_, **fields)
        return None if found is None else (found, why)
    return settled


_OFFER_WORDS = {OPEN: "open", IN_FORCE: "accepted, in force",
                NOT_YET: "accepted, not yet started"}
"""The states of an offer that a second run of ``licence offer`` finds standing."""


def _standing(s: Session, work: str, type_: str, body: dict[str, Any],
              unordered: tuple[str, ...]) -> tuple[Found, str] | None:
    """The latest consent or offer of ``type_`` that says what ``body`` says and still
    stands (a grant in force or not yet started; an offer open, or accepted and not ended),
    with its state: what a second run would log again (specs/cli.md section 2.4)."""
    state, history = state_and_history(s, work)
    if state is None:
        return None
    now = s.now()
    for index, event in reversed(history):
        if event.event.type != type_ or not same_statement(event, body, unordered):
            continue
        grant = state.grant(event.id)
        licence = state.licence(event.id)
        status = (grant_status(grant, now) if grant is not None
                  else licence_status(licence, now) if licence is not None else None)
        if status in (IN_FORCE, NOT_YET) or (licence is not None and status == OPEN):
            return (index, event), str(status)
    return None


def _needed_signer(state: WorkState | None, type_: str, body: dict[str, Any]) -> str | None:
    """The key that may sign this event on this state (specs/rules.md section 3)."""
    if state is None:
        return None
    if type_ == "licence.accept":
        offer = state.licence(str(body.get("offer")))
        return offer.licensee if offer is not None else None
    return state.controller


def transfer(
    ctx: typer.Context,
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    to: Annotated[str, typer.Option("--to", help="New controller: ed25519:... or one of your key "
                                    "names.")],
    payee: PayeeOpt = None,
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Transfer control of a work to another key (signed by the current controller).

    The work's payee split is replaced by the --payee ones, or cleared (the new controller
    is paid everything) when none is given.

    Example: provenance transfer page-012.png --to ed25519:3b6a...
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    w = s.resolve_work(work)
    body: dict[str, Any] = {"to": s.key_option(to, "--to")}
    payees = parse_payees(s, payee)
    if payees is not None:
        body["payees"] = payees
    def settled(history: History) -> tuple[Found, str] | None:
        """The transfer that made ``--to`` the controller, with the payees asked for (in any
        order), when it is; a transfer to the controller otherwise is refused in words that
        say so (the rules' refusal would name the signer first)."""
        state = s.state(w)
        if state is None or state.controller != body["to"]:
            return None
        names = s.key_names(body["to"])
        who = body["to"] + (f" (your key '{names[0]}')" if names else "")
        last = last_event(history, "work.transfer", to=body["to"])
        asked = sorted((p["key"], p["share_bps"]) for p in body.get("payees", ()))
        if last is not None and asked == sorted(state.payees):
            return last, f"the work is controlled by {who} since"
        since = (f"since {last[1].id}, with other payees" if last is not None
                 else "since its registration")
        raise RuleError(f"--to: the work is controlled by {who} already ({since}): a "
                        "transfer to its controller changes nothing, not even its payees")

    write_once(s, "transferred", lambda: _append(s, key, "work.transfer", w, body), w, settled,
               as_json)


@consent_app.command("grant")
def consent_grant(
    ctx: typer.Context,
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    purpose: Annotated[list[str], typer.Option(
        metavar="PURPOSE",
        help="Purpose: ai_training, ai_generative_training, ai_inference, data_mining, "
             "ai_generation, or <domain>:<name>. Repeat for several.")],
    to: Annotated[str | None, typer.Option("--to", help="Grantee: ed25519:... or one of your key "
                                                  "names.")] = None,
    anyone: Annotated[bool, typer.Option("--anyone", help="Grant to every key.")] = False,
    until: Annotated[str | None, typer.Option(help=UNTIL_HELP)] = None,
    condition: Annotated[list[str] | None, typer.Option(
        metavar="CONDITION",
        help=f"Condition: {', '.join(CONDITIONS)}. Repeat for several.")] = None,
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Grant consent to use a work for some purposes (opt-in).

    Example: provenance consent grant page-012.png --purpose ai_training --to ed25519:3b6a...
    """
    if to is not None and anyone:
        raise MalformedError("give --to KEY or --anyone, not both")
    if to is None and not anyone:
        raise MalformedError("give --to KEY or --anyone")
    s = Session.from_ctx(ctx).use_node(node, timeout)
    body: dict[str, Any] = {"grantee": ANYONE if anyone else _grantee(s, to or ""),
                            "purposes": _purposes(purpose)}
    if until:
        body["until"] = parse_date(until, "--until")
        _after("--until", body["until"], format_time(s.now()), "now",
               "the consent would never be in force")
    if condition:
        for c in condition:
            if c not in CONDITIONS:
                raise MalformedError(f"--condition must be one of {', '.join(CONDITIONS)}")
        body["conditions"] = list(dict.fromkeys(condition))
    w = s.resolve_work(work)
    done = _standing(s, w, "consent.grant", body, ("purposes", "conditions"))
    if done is not None:  # run again: this consent is in force (specs/cli.md section 2.4)
        report_exists(s, "granted", done[0], "this consent is in force, granted in", as_json)
        return
    report("granted", _append(s, key, "consent.grant", w, body), as_json)


@consent_app.command("revoke")
def consent_revoke(
    ctx: typer.Context,
    grant: Annotated[str, typer.Argument(help="Id (or unique prefix) of the consent.grant.")],
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a consent grant.

    Example: provenance consent revoke 5f2c91
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    gid, w = s.event_work(grant, "GRANT")
    write_once(s, "revoked", lambda: _append(s, key, "consent.revoke", w, {"grant": gid}), w,
               _settled_by("consent.revoke", f"grant {gid} was revoked in", grant=gid),
               as_json)


@licence_app.command("offer")
def licence_offer(
    ctx: typer.Context,
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    to: Annotated[str, typer.Option(
        "--to", help="Licensee: ed25519:... or one of your key names.")],
    purpose: Annotated[list[str], typer.Option(
        metavar="PURPOSE", help="Licensed purpose. Repeat for several.")],
    fee: Annotated[tuple[str, str] | None, typer.Option(
        metavar="AMOUNT CURRENCY",
        help="Fee and its ISO 4217 currency, written as people write amounts (at most the "
             "currency's decimals), e.g. --fee 50000 JPY or --fee 1200.50 EUR.")] = None,
    royalty_bps: Annotated[int | None, typer.Option(
        parser=whole("--royalty-bps", 0, 10_000, unit="basis points", note="1250 is 12.5 %"),
        help="Royalty in basis points (100 = 1%).")] = None,
    territory: Annotated[list[str] | None, typer.Option(
        metavar="CC", help="ISO 3166 country code. Repeat for several; none = worldwide.")] = None,
    start: Annotated[str | None, typer.Option("--from", help=FROM_HELP)] = None,
    until: Annotated[str | None, typer.Option(help=UNTIL_HELP)] = None,
    terms_uri: Annotated[str | None, typer.Option(help="URI of the full licence terms.")] = None,
    expires: Annotated[str | None, typer.Option(help=EXPIRES_HELP)] = None,
    key: KeyOpt = None,
    again: Annotated[bool, typer.Option(
        "--again", help="Offer it even when the same offer is open or accepted and not "
                        "ended (a second licence of the same terms; specs/cli.md section "
                        "2.4).")] = False,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Offer a licence to one key; it takes effect when that key accepts it.

    Example: provenance licence offer page-012.png --to ed25519:3b6a... --purpose ai_training
    --fee 50000 JPY
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    body: dict[str, Any] = {"licensee": s.key_option(to, "--to"), "purposes": _purposes(purpose)}
    if fee is not None:
        text, currency = fee
        amount, code = parse_amount(text, check_currency(currency, "--fee"), "--fee")
        body["fee"] = {"amount": amount, "currency": code}
    if royalty_bps is not None:
        body["royalty_bps"] = royalty_bps
    if territory:
        codes = list(dict.fromkeys(check_territory(t, "--territory") for t in territory))
        if len(codes) > MAX_LIST_ITEMS:
            raise MalformedError(f"--territory: at most {MAX_LIST_ITEMS} countries")
        body["territories"] = codes
    for field, value, option in (("from", start, "--from"), ("until", until, "--until"),
                                 ("offer_expires", expires, "--expires")):
        if value:
            body[field] = parse_date(value, option)
    now = format_time(s.now())
    if "until" in body:
        _after("--until", body["until"], now, "now", "the licence would never be in force")
        if "from" in body:
            _after("--until", body["until"], body["from"], "--from",
                   "the licence would end before it starts")
    if "offer_expires" in body:
        _after("--expires", body["offer_expires"], now, "now",
               "the offer would lapse before it is made")
    if terms_uri:
        if len(terms_uri) > MAX_URI_CHARS or not _URI.fullmatch(terms_uri):
            raise MalformedError(f"--terms-uri: {quoted(terms_uri)} is not an https://, http:// "
                                 f"or urn: URI of at most {MAX_URI_CHARS} characters, without "
                                 "spaces")
        body["terms_uri"] = terms_uri
    w = s.resolve_work(work)
    done = None if again else _standing(s, w, "licence.offer", body,
                                         ("purposes", "territories"))
    if done is not None:  # run again: this offer stands (specs/cli.md section 2.4)
        found, state = done
        report_exists(s, "offered", found, f"this offer ({_OFFER_WORDS.get(state, state)}) "
                      "is logged as", as_json, AGAIN_HINT)
        return
    written = _append(s, key, "licence.offer", w, body)
    if "from" in body and parse_time(body["from"]) < written[0].event.at:
        typer.echo(f"note: --from {body['from']} is in the past (the offer is made at "
                   f"{format_time(written[0].event.at)}): once accepted, the licence covers "
                   "the time from then on, as a backdated licence", err=True)
    report("offered", written, as_json)


@licence_app.command("accept")
def licence_accept(
    ctx: typer.Context,
    offer: Annotated[str, typer.Argument(help="Id (or unique prefix) of the licence.offer.")],
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Accept a licence offer made to your key.

    Example: provenance licence accept 9a41c3 --key studio
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    oid, w = s.event_work(offer, "OFFER")
    write_once(s, "accepted", lambda: _append(s, key, "licence.accept", w, {"offer": oid}), w,
               _settled_by("licence.accept", f"offer {oid} was accepted in", offer=oid),
               as_json)


@licence_app.command("terminate")
def licence_terminate(
    ctx: typer.Context,
    licence: Annotated[str, typer.Argument(help="Id (or prefix) of the licence (its offer).")],
    reason: Annotated[str | None, typer.Option(help="Why, recorded in the event.")] = None,
    key: KeyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Terminate a licence (or withdraw an open offer).

    Example: provenance licence terminate 9a41c3 --reason "unpaid"
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    lid, w = s.event_work(licence, "LICENCE")
    body: dict[str, Any] = {"licence": lid}
    if reason is not None:  # an empty one too: refused as a long one is (--reason must be ...)
        body["reason"] = reason
    write_once(s, "terminated", lambda: _append(s, key, "licence.terminate", w, body), w,
               _settled_by("licence.terminate", f"licence {lid} was terminated in",
                           licence=lid), as_json)


NOT_HERE_HINT = ("this home's log holds only the works anchored here: the works of others are "
                 "on the ledger they anchored them on; ask it with --node URL")
"""What ``may`` and ``status`` add when a developer's own home (no ``--node``, not a node's
data directory) does not hold the work asked about (specs/cli.md sections 3.4 and 3.5), in
the words of ``dataset check`` on an empty home."""


def _not_here_hint(s: Session) -> str | None:
    """:data:`NOT_HERE_HINT` when the log asked is the home's own and no node's: a node's data
    directory answers for its log and the logs it mirrors, and ``--node`` asks a node."""
    if s.node_url is not None:
        return None
    from ..node.config import config_path

    return None if config_path(s.home.path).is_file() else NOT_HERE_HINT


def status(
    ctx: typer.Context,
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    attester: AttesterOpt = None,
    policy: PolicyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a work's controller (and who attests it), payees, consents and licences in
    force, and its history.

    Example: provenance status page-012.png
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    w = s.resolve_work(work)
    state, missing = s.find_state(w)
    if state is None:
        hint = _not_here_hint(s)
        raise missing or NotFoundError(f"no work {w} on this ledger"
                                       + (f" ({hint})" if hint is not None else ""))
    now = s.now()
    # specs/rules.md section 9: the events that count, and the key holding control now.
    logged = state
    state, disputed_events, lookup = effective_state(s, w, state)
    if state is None:
        _void_status(s, logged, disputed_events, lookup, as_json)
    holder_now = keystate.holder(state.controller, now, lookup)
    history = [{"index": i, **ev.to_json()} for i, ev in s.history(w)]
    doc = state.to_json()
    doc["grants_in_force"] = [g.id for g in state.grants if g.in_force(now)]
    doc["licences_in_force"] = [x.id for x in state.licences if x.in_force(now)]
    doc["open_offers"] = [x.id for x in state.licences if licence_status(x, now) == OPEN]
    doc["grant_status"] = {g.id: grant_status(g, now) for g in state.grants}
    doc["licence_status"] = {x.id: licence_status(x, now) for x in state.licences}
    doc["history"] = history
    doc["disputed_events"] = list(disputed_events)
    doc["holder"] = holder_now
    # specs/rules.md section 8: who vouches for the controller's key, as of now.
    trusted = trusted_attesters(s, policy, attester)
    controller_vouching = None
    if state.identity is None and state.dataset is None:
        controller_vouching = vouching(holder_now, lookup(holder_now), now, trusted)
        doc["controller_identity"] = controller_vouching.to_json()
    if s.node_url is not None:
        doc.update(s.client.registrations(w))
    else:
        doc["similar"] = s.similar_works(w)
    if as_json:
        emit_json(doc)
        return
    if doc.get("disputed"):
        typer.echo("DISPUTED: this content is registered on several logs by different keys")
        for r in doc["registrations"]:
            when = r["cosigned_at"] or "not yet"
            typer.echo(f"  {r['origin']}: by {r['registrant']} (event {r['id'][:12]}, "
                       f"witnessed {when})")
    if doc["similar"]:
        typer.echo(f"POSSIBLE DISPUTE: similar content is registered as other works "
                   f"(ISCC distance <= {DEFAULT_DISTANCE} of {CODE_BITS} bits)")
        for r in doc["similar"]:
            typer.echo(f"  {r['work']} on {r['origin']}: distance {r['distance']}, controller "
                       f"{r['controller']} (registered by {r['registrant']}, event "
                       f"{r['id'][:12]})")
    if state.identity is not None:  # a key record (specs/rules.md section 7)
        _key_record_text(s, w, state.identity, now)
        _history_text(history, disputed_events)
        return
    typer.echo(f"work:        {w}")
    c = state.content
    if state.dataset is not None:  # a dataset series (specs/rules.md R12)
        typer.echo(f"dataset:     {state.dataset!r}, versions {', '.join(state.versions)}")
    else:
        typer.echo(f"content:     {c.get('media_type')}, {c.get('size')} bytes"
                   + (f", {c['title']!r}" if "title" in c else ""))
        if "similarity" in c:
            typer.echo(f"similarity:  {c['similarity']}")
    typer.echo(f"registered:  {format_time(state.registered_at)} by "
               f"{_who(s, state.registrant)}")
    typer.echo(f"controller:  {_who(s, state.controller)}")
    if holder_now != state.controller:
        typer.echo(f"held by:     {_who(s, holder_now)} (the controller's key was rotated to it)")
    if controller_vouching is not None:
        whose = "" if holder_now == state.controller else f"{_short(s, holder_now)}: "
        typer.echo(f"identity:    {whose}{controller_vouching.describe()}")
    for k, bps in state.effective_payees():
        # paid is the key holding the payee's role now (specs/rules.md section 9, Roles)
        typer.echo(f"payee:       {_held(s, k, keystate.holder(k, now, lookup))} "
                   f"{bps / 100:.2f}%")
    _rights_text(s, state, now)
    _history_text(history, disputed_events)


def _void_status(s: Session, logged: WorkState, disputed: Collection[str], lookup: Any,
                 as_json: bool) -> NoReturn:
    """``status`` of a work whose registration does not count (signed by a key declared
    compromised at its time, specs/rules.md R22): its history, every event marked disputed,
    what happened and what the user can do; exit 1, a negative answer (specs/cli.md 3.4)."""
    from .identity import compromised_words, void_registration

    w = logged.work
    history = [{"index": i, **ev.to_json()} for i, ev in s.history(w)]
    record = void_registration(logged, lookup)
    since = (format_time(record.compromised_since)
             if record is not None and record.compromised_since is not None else None)
    if as_json:
        emit_json({"work": w, "registration_counts": False, "registration": logged.registration,
                   "registrant": logged.registrant,
                   "registered_at": format_time(logged.registered_at),
                   "compromised_since": since, "history": history,
                   "disputed_events": list(disputed)})
        raise typer.Exit(1)
    who = (compromised_words(s, record) if record is not None
           else f"{logged.registrant}, declared compromised")
    title = logged.content.get("title")
    typer.echo(f"work:        {w}")
    typer.echo(f"content:     {logged.content.get('media_type')}, {logged.content.get('size')} "
               f"bytes" + (f", {title!r}" if title else ""))
    typer.echo(f"registered:  {format_time(logged.registered_at)} by "
               f"{_who(s, logged.registrant)} [DISPUTED: does not count]")
    typer.echo(f"NOT REGISTERED: its registration does not count: it was signed by {who}; "
               "nothing of this work counts on this ledger: may answers 'the work is not "
               "registered on this ledger', and no key can register this content again here")
    typer.echo("  what you can do: if the key was stolen, anchor the file with a key of yours "
               "that is not compromised on another ledger (provenance anchor FILE --key NAME "
               "--node URL); a declaration is never taken back")
    _history_text(history, disputed)
    raise typer.Exit(1)


def _history_text(history: list[dict[str, Any]], disputed_events: Collection[str]) -> None:
    typer.echo("history:")
    for h in history:
        flag = " [DISPUTED: does not count]" if h["id"] in disputed_events else ""
        typer.echo(f"  {h['index']:>6} {h['at']} {h['type']:<18} {h['id'][:12]} by "
                   f"{h['actor'][:24]}...{flag}")


def _key_record_text(s: Session, record_id: str, record: KeyRecord, now: int) -> None:
    """``status`` of a key record: whose key, who attests it, its recovery setting, its
    rotations and whether it is declared compromised (specs/rules.md section 7); a key
    record has no content, payees, consents or licences."""
    typer.echo(f"key record:  {record_id}")
    typer.echo(f"key:         {_who(s, record.key)}")
    in_force = record.in_force(now)
    typer.echo("attested:    " + ("; ".join(
        f"as {a.name!r}{f', member {a.member}' if a.member else ''} by {_who(s, a.attester)}"
        + (f" until {format_time(a.until)}" if a.until else "") for a in in_force)
        if in_force else "not attested by anyone (in force now)"))
    recovery = record.recovery
    typer.echo("recovery:    " + ("none set" if recovery is None else
                                  f"{recovery.threshold} of {len(recovery.keys)}: "
                                  + ", ".join(_who(s, k) for k in recovery.keys)
                                  + (f" (association {recovery.association})"
                                     if recovery.association else "")))
    for r in record.rotations:
        counts = "" if record.counts(r) else " [does not count: signed while compromised]"
        typer.echo(f"rotated to:  {_who(s, r.to)} at {format_time(r.at)}{counts}")
    if record.compromised_since is not None:
        typer.echo(f"compromised: from {format_time(record.compromised_since)}: what it "
                   "signed from then counts for nothing")


def _who(s: Session, key: str) -> str:
    """A key as ``status`` names it: with the name of the user's own key when it is one."""
    if key == ANYONE:
        return "anyone"
    names = s.key_names(key)
    return key + (f" (your key '{names[0]}')" if names else "")


def _short(s: Session, key: str) -> str:
    """A key in a few words: ``your key 'NAME'`` for one of the user's, else the key."""
    names = s.key_names(key)
    return f"your key '{names[0]}'" if names else key


def _held(s: Session, key: str, held: str) -> str:
    """The key ``held`` holding the role of ``key`` now, as ``status`` names it:
    ``KEY (your key 'NEW', rotated from 'OLD')`` when ``key`` was rotated to it."""
    if held == key:
        return _who(s, key)
    new, old = s.key_names(held), s.key_names(key)
    was = f"'{old[0]}'" if old else key
    return f"{held} ({f'your key {new[0]!r}, ' if new else ''}rotated from {was})"


def _rights_text(s: Session, state: WorkState, now: int) -> None:
    """Consents, licences and open offers of ``status``, each with its state at ``now``."""
    def who(key: str) -> str:
        return _who(s, key)

    def grant_line(g: Any) -> str:  # cli/words.py: a receipt says it in the same words
        return f"  {g.id[:12]} {grant_words(g.purposes, g.grantee, g.until, who)}"

    def licence_line(x: Any) -> str:
        return f"  {x.id[:12]} {licence_words(x.purposes, x.licensee, x.terms, who)}"

    grants = [(g, grant_status(g, now)) for g in state.grants]
    licences = [(x, licence_status(x, now)) for x in state.licences]
    in_force = [g for g, st in grants if st == IN_FORCE]
    typer.echo("consents in force:" + ("" if in_force else " none"))
    for g in in_force:
        typer.echo(grant_line(g))
    others = [(g, st) for g, st in grants if st != IN_FORCE]
    if others:
        typer.echo("other consents:")
    for g, st in others:
        when = (f" {format_time(g.revoked_at)}" if st == "revoked" and g.revoked_at
                else f" {format_time(g.until)}" if st == "expired" and g.until else "")
        typer.echo(f"{grant_line(g)} [{st}{when}]")
    in_force_l = [x for x, st in licences if st == IN_FORCE]
    typer.echo("licences in force:" + ("" if in_force_l else " none"))
    for x in in_force_l:
        typer.echo(licence_line(x))
    offers = [x for x, st in licences if st == OPEN]
    past = [(x, st) for x, st in licences if st not in (IN_FORCE, OPEN)]
    if past:
        typer.echo("other licences:")
    for x, st in past:
        typer.echo(f"{licence_line(x)} [{st}]")
    typer.echo("open offers:" + ("" if offers else " none"))
    for x in offers:
        expires = (f", offer expires {format_time(x.offer_expires)}" if x.offer_expires
                   else "")
        typer.echo(f"{licence_line(x)}{expires}")
        names = s.key_names(x.licensee)
        flag = "" if not names or names[0] == DEFAULT_KEY else f" --key {names[0]}"
        typer.echo(f"    to accept (as the licensee): provenance licence accept {x.id[:12]}"
                   f"{flag}")


def _key_records_to_prove(s: Session, work: str) -> list[str]:
    """The key record ids a decision receipt lists after the work: the record of every key
    the decision relies on, reachable from each controller, grantee, licensee and payee
    (specs/receipts.md section 12.2)."""
    state, _ = s.find_state(work)
    return [key_record_id(k) for k in decision_keys(state, key_lookup(s))]


def _decision_proof(s: Session, work: str) -> tuple[Any, VerifiedStateV2]:
    """The work's state receipt v2 with every key record its decision relies on: the keys
    are read from the state the receipt proves, so an event logged since the first look (a
    new licensee) is asked for again, a few times at most."""
    works = [work, *_key_records_to_prove(s, work)]
    for _ in range(MAX_PROOF_ROUNDS):
        doc, verified = (s.client.complete_states(works) if s.node_url is not None
                         and len(works) > 1 else s.complete_state(works))
        missing = [key_record_id(k) for k in decision_keys(verified.works[0].state,
                                                           verified.key_record)
                   if not verified.proves_key(k)]
        if not missing:
            break
        works += missing
    return doc, verified


def _registrations(s: Session, work: str, missing: NotFoundError | None
                   ) -> tuple[list[dict[str, Any]], str | None]:
    """Every registration of ``work`` that the log asked knows of, on itself and on the logs
    it mirrors (specs/node.md section 6), and that log's origin. Through ``--node``: the
    node's word (``GET /works/{work}``, or the ``elsewhere`` of its 404); locally: a node's
    own data directory reads its mirrors; a plain ledger knows no other log."""
    if s.node_url is not None:
        client = s.client
        if missing is not None:
            return list(missing.elsewhere), client.verifier.name
        return list(client.registrations(work)["registrations"]), client.verifier.name
    from ..node.config import config_path

    if not config_path(s.home.path).is_file():
        return [], None
    from contextlib import nullcontext

    from ..node import load_config, open_witness
    from ..node.config import witness_db_path
    from ..node.disputes import registrations
    from ..node.witness import LedgerLog

    config = load_config(s.home.path)
    ledger = s.ledger
    readonly = not s.home.writable()  # a copy handed to an auditor, a read-only mount
    if readonly and not witness_db_path(s.home.path).is_file():
        return [], config.origin  # this node never witnessed nor mirrored: no other log
    witness = open_witness(s.home.path, config, LedgerLog(lambda: nullcontext(ledger)),
                           ledger.vkey, readonly)
    try:
        found = registrations(s.home.path, config, ledger, witness, work)["registrations"]
    finally:
        witness.close()
    return list(found), config.origin


def describe_others(others: list[dict[str, Any]]) -> str:
    """The registrations on other logs, in one line: ``also registered on O by K (...)``."""
    return "; ".join(
        f"also registered on {r.get('origin')} by {r.get('registrant')}"
        + (f" (witnessed {r['cosigned_at']})" if r.get("cosigned_at") else "")
        + (" (log marked faulty)" if r.get("faulty") else "")
        for r in others)


PROOF_NOT_ATTESTED = (
    "--proof with --require-attested: a decision receipt proves the rules' answer, which "
    "counts no attestation, so it could say 'may use' where this answer is no; for a receipt "
    "that records the attesters you trust, list the work in a manifest and run 'provenance "
    "dataset check MANIFEST --require-attested --attester KEY --receipt FILE' "
    "(specs/receipts.md section 14.3)")
"""``may --require-attested --proof`` is refused (specs/cli.md section 3.5): the decision
receipt (specs/receipts.md section 12) has no trust policy, and a kept "may use" for a use
the asker's own check refused would mislead in a dispute."""


def may(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The user's key: ed25519:... or one of your key "
                                              "names.")],
    purpose: Annotated[str, typer.Argument(help="Purpose, e.g. ai_training.")],
    work: Annotated[str, typer.Argument(help="File path, work id or unique id prefix.")],
    at: Annotated[str | None, typer.Option(help="Ask about this time (default: now).")] = None,
    accept_disputed: Annotated[bool, typer.Option(
        "--accept-disputed",
        help="Answer for a disputed work too, from the registration on the log asked (the "
             "answer still says the work is disputed).")] = False,
    proof: Annotated[Path | None, typer.Option(
        "--proof", metavar="FILE", parser=output_file("--proof"),
        help="Also write a decision receipt here: the answer with the proof that anyone can "
             "check offline (provenance verify FILE), including that no later event of the "
             "work exists, or that it was never registered. Not with --require-attested: "
             "the receipt counts no attestation (use dataset check --receipt).")] = None,
    require_attested: Annotated[bool, typer.Option(
        "--require-attested",
        help="Count a consent or licence only when the key that granted it is attested by an "
             "attester you trust (--attester, or 'attester' lines of --policy).")] = False,
    attester: AttesterOpt = None,
    policy: PolicyOpt = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """May KEY use WORK for PURPOSE? Exit 0 if allowed, 1 if not. Default: not allowed.

    A work registered on several logs by different keys is disputed: the answer says so,
    names the other registrations, and is no (exit 1) unless --accept-disputed.

    Example: provenance may ed25519:3b6a... ai_training page-012.png
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    k = s.key_option(key, "KEY")
    check_purpose(purpose, "PURPOSE")
    trusted = trusted_attesters(s, policy, attester)
    if require_attested and not trusted:
        raise MalformedError("--require-attested needs the attesters you trust: give "
                             "--attester KEY, or --policy FILE with 'attester KEY' lines")
    if require_attested and proof is not None:
        raise MalformedError(PROOF_NOT_ATTESTED)
    when = parse_time(parse_date(at, "--at")) if at else s.now()
    w = s.resolve_work(work)
    if proof is not None:  # answer from the very state the receipt proves
        # with the records of the keys control passed through (specs/receipts.md 12.1 step 2)
        doc, verified = _decision_proof(s, w)
        state = verified.works[0].state
        missing = None if state is not None else NotFoundError(f"no work {w} on this ledger")
        receipt = DecisionReceipt(Question(k, purpose, when), StateReceiptV2.from_json(doc))
    else:
        state, missing = s.find_state(w)
    held = state is not None  # by the log asked, whether its registration counts or not
    # specs/rules.md section 9: only the events whose signatures count; rotated keys hold.
    state, disputed_events, lookup = effective_state(s, w, state)
    d = decide(state, k, purpose, when, keys=lookup)
    # specs/rules.md section 8: whose grant this is, and who vouches for that key.
    by = granter(state, d, when, lookup)
    vouched = vouch(state, d, when, lookup(by) if by else None, trusted, require_attested,
                    lookup)
    d = vouched.decision
    found, origin = _registrations(s, w, missing)
    disputed = len({r.get("registrant") for r in found}) > 1
    others = [r for r in found if state is None or r.get("origin") != origin]
    elsewhere = found if state is None else []
    allowed, reason = d.allowed, d.reason
    if disputed and d.allowed and not accept_disputed:
        allowed = False
        reason = (f"the work is disputed (registered on several logs by different keys); "
                  f"on this log: {d.reason}; add --accept-disputed to rely on this log's "
                  "registration")
    # A decision receipt proves this log's answer alone: for a disputed work that this log
    # allows, it would keep a "may use" where the answer is no (specs/cli.md section 3.5).
    # specs/cli.md section 3.5: content alike to this work registered by other keys (a copy
    # re-encoded and registered by someone else may carry a consent its author never gave).
    alike = s.similar_works(w, actor=state.registrant) if state is not None else []
    # A licence's terms limit the use it allows (territories, fees): said with the answer.
    cited = state.licence(d.events[0]) if state is not None and d.allowed and d.events else None
    terms = thaw(cited.terms) if cited is not None else None
    kept = proof if proof is not None and allowed == d.allowed else None
    if kept is not None:
        write_text_atomic(kept, json.dumps(receipt.to_json(), indent=2, ensure_ascii=False)
                          + "\n")
    if as_json:
        emit_json({"work": w, "key": k, "purpose": purpose, "at": format_time(when),
                   **d.to_json(), "allowed": allowed, "reason": reason,
                   "elsewhere": elsewhere, "disputed": disputed, "registrations": found,
                   "allowed_on_this_log": d.allowed,
                   "granted_by": vouched.vouching.to_json() if vouched.vouching else None,
                   "disputed_events": list(disputed_events), "similar": alike,
                   "terms": terms,
                   "proof": None if kept is None else str(kept)})
    else:
        typer.echo(("allowed: " if allowed else "not allowed: ") + reason)
        hint = _not_here_hint(s) if not held else None
        if hint is not None:
            typer.echo(f"  {hint}")
        if disputed:
            accepted = (" (answered from this log's registration: --accept-disputed)"
                        if accept_disputed and d.allowed else "")
            typer.echo(f"  DISPUTED: {describe_others(others)}{accepted}")
        if elsewhere:
            from ..node.disputes import describe_elsewhere

            per = f" (per {s.node_url})" if s.node_url is not None else ""
            typer.echo(f"  {describe_elsewhere(elsewhere)}{per}")
        for eid in d.events:
            typer.echo(f"  event {eid}")
        for r in alike:
            typer.echo(f"  POSSIBLE DISPUTE: similar content is registered as {r['work']} on "
                       f"{r['origin']} by {r['registrant']} (distance {r['distance']} of "
                       f"{CODE_BITS} bits, controller {r['controller']}): check whose work "
                       "this is before relying on this answer")
        if disputed_events:
            typer.echo(f"  {len(disputed_events)} later event(s) do not count (signed by a key "
                       f"declared compromised or rotated away): {disputed_events[0][:12]}...")
        if vouched.vouching is not None:
            typer.echo(f"  granted by {vouched.vouching.key}: {vouched.vouching.describe()}")
        for c in d.conditions:
            typer.echo(f"  condition: {c}")
        if terms is not None:
            typer.echo(f"  licence terms: {describe_terms(terms)}")
        if kept is not None:
            typer.echo(f"  decision receipt written to {kept} (check it with: provenance "
                       f"verify {kept} --log-key ...)")
        elif proof is not None:
            typer.echo(f"  no decision receipt written to {proof}: it would prove this log's "
                       "answer (allowed) without the dispute; add --accept-disputed to keep it")
    if not allowed:
        raise typer.Exit(1)
