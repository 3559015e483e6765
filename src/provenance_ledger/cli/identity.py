"""``provenance identity``: attest who is behind a key, revoke that, and show it.

specs/cli.md section "identity"; the events are specs/events.md sections 6.13-6.14, the rules
specs/rules.md sections 7-8. The helpers at the bottom (trusted attesters, a key's record)
are shared with ``may`` and ``status``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.events import check_body
from ..core.identity import KeyRecord, cawg_credential, key_record_id, vouching
from ..core.keystate import KeyLookup, affected, effective
from ..core.policy import MAX_POLICY_BYTES, parse_policy
from ..core.rules import WorkState, apply
from ..core.timefmt import format_time, parse_time
from ..errors import MalformedError, NotFoundError
from ..ledger.files import read_bounded
from .keys import report_key_event
from .session import NodeOpt, Session, TimeoutOpt, emit_json
from .writes import Found, last_event, report_exists, same_body, state_and_history

app = typer.Typer(
    help="Attest who is behind a key (as an association), revoke that, and show it.\n\n"
    "Example: provenance identity attest ed25519:3b6a... --name 'Mika Sato' --member 1042 "
    "--key guild",
    no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AttesterOpt = Annotated[list[str] | None, typer.Option(
    "--attester", metavar="KEY",
    help="An attester you trust (ed25519:... or one of your key names). Repeat for several.")]
PolicyOpt = Annotated[Path | None, typer.Option(
    "--policy", metavar="FILE",
    help="Trust policy whose 'attester KEY' lines name the attesters you trust.")]


def trusted_attesters(s: Session, policy: Path | None, attesters: list[str] | None
                      ) -> tuple[str, ...]:
    """The attesters the verifier trusts: its policy's ``attester`` lines and ``--attester``."""
    keys: list[str] = []
    if policy is not None:
        text = read_bounded(policy, "policy", MAX_POLICY_BYTES).decode("utf-8", "replace")
        keys += parse_policy(text).attesters
    keys += [s.key_option(a, "--attester") for a in attesters or ()]
    return tuple(dict.fromkeys(keys))


def key_record(s: Session, key: str) -> KeyRecord | None:
    """The record of ``key`` on the log asked (None when no one attested it there)."""
    state, _ = s.find_state(key_record_id(key))
    return None if state is None else state.identity


def key_lookup(s: Session) -> KeyLookup:
    """The key records of the log asked, each read once (specs/rules.md section 9)."""
    cache: dict[str, KeyRecord | None] = {}

    def lookup(key: str) -> KeyRecord | None:
        if key not in cache:
            cache[key] = key_record(s, key)
        return cache[key]

    return lookup


def void_registration(state: WorkState | None, lookup: KeyLookup) -> KeyRecord | None:
    """The record of the key that registered the work when its registration does not count
    (specs/rules.md R22: signed at or after the key's ``compromised_since``), else None. A key
    record has no registration to void."""
    if state is None or state.identity is not None:
        return None
    record = lookup(state.registrant)
    return record if record is not None and record.compromised_at(state.registered_at) else None


def void_words(s: Session, state: WorkState, record: KeyRecord) -> str:
    """``registered in event <id>, but its registration does not count: it was signed by
    ...``: what ``anchor`` says of content whose registration is void (``record``: its
    registrant's, from :func:`void_registration`)."""
    return (f"registered in event {state.registration[:12]}, but its registration does not "
            f"count: it was signed by {compromised_words(s, record)}")


def compromised_words(s: Session, record: KeyRecord) -> str:
    """``key 'NAME' (ed25519:...), declared compromised since T`` for a record declared
    compromised (the user's key name when it is one of theirs)."""
    names = s.key_names(record.key)
    who = f"your key '{names[0]}' ({record.key})" if names else f"the key {record.key}"
    since = format_time(record.compromised_since) if record.compromised_since else "?"
    return f"{who}, declared compromised since {since}"


def effective_state(s: Session, work: str, state: WorkState | None
                    ) -> tuple[WorkState | None, tuple[str, ...], KeyLookup]:
    """The work's state from the events that count (R22), the ids of those that do not
    (disputed), and the key lookup used. A work whose keys were never rotated nor declared
    compromised is answered from ``state`` as it is, without a replay."""
    lookup = key_lookup(s)
    if state is None or state.identity is not None or not affected(state, lookup):
        return state, (), lookup
    eff = effective((ev for _, ev in s.history(work)), lookup, apply)
    return eff.state, eff.disputed, lookup


def _date(text: str, option: str) -> str:
    from .rights import parse_date  # the date forms every command accepts

    return parse_date(text, option)


@app.command("attest")
def attest(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(
        metavar="KEY", help="The member's public key (ed25519:...) or one of your key names.")],
    name: Annotated[str, typer.Option("--name", help="The member's display name.")],
    key: Annotated[str, typer.Option(
        "--key", help="Your signing key, the attester's (an association's key).")],
    url: Annotated[str | None, typer.Option(help="The member's page (https://... or urn:...).")
                   ] = None,
    registry_id: Annotated[str | None, typer.Option(
        "--registry-id", help="The member's id in a registry (e.g. an ISNI or a Liccium id).")
    ] = None,
    member: Annotated[str | None, typer.Option(
        "--member", help="The member's number with your association.")] = None,
    start: Annotated[str | None, typer.Option(
        "--from", help="Valid from: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (default: now). An "
                       "attestation is in force only once logged: an earlier --from is noted, "
                       "never backdated.")
    ] = None,
    until: Annotated[str | None, typer.Option(
        help="Valid until, exclusive: the first moment not covered, YYYY-MM-DD (midnight "
             "UTC) or YYYY-MM-DDTHH:MM:SSZ.")] = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Attest that KEY belongs to a member of yours (signed with --key, the attester's key).

    Anyone may attest any key; a verifier counts it only when it trusts the attester
    (an 'attester KEY' line in its policy, or --attester KEY).

    Example: provenance identity attest ed25519:3b6a... --name 'Mika Sato' --member 1042 --key guild
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    body: dict[str, Any] = {"key": s.key_option(subject, "KEY"), "name": name}
    for field, value in (("url", url), ("registry_id", registry_id), ("member", member)):
        if value is not None:
            body[field] = value
    if start is not None:
        body["from"] = _date(start, "--from")
    if until is not None:
        body["until"] = _date(until, "--until")
        _in_force_some_time(body, format_time(s.now()))
    _check_body("identity.attest", body)
    attester = s.public_key(key)  # read without the passphrase: a repeat signs nothing
    done = None if attester is None else _standing(s, body, attester)
    if done is not None:  # run again: this attestation stands (specs/cli.md section 2.4)
        report_exists(s, "attested", done, "this attestation stands (not revoked), logged as",
                      as_json, record=True)
        return
    signer = s.signing_key(key)
    event, index, path = s.sign_and_append(signer, "identity.attest", key_record_id(body["key"]),
                                           body)
    if "from" in body and parse_time(body["from"]) < event.event.at:
        made = format_time(event.event.at)
        typer.echo(f"note: --from {body['from']} is in the past (the attestation is made at "
                   f"{made}): it is in force from {made} on, not before, as an attestation is "
                   "never backdated", err=True)
    report_key_event("attested", event, index, path, as_json)


def _in_force_some_time(body: dict[str, Any], now: str) -> None:
    """Refuse, naming the option, an ``--until`` that would leave the attestation never in
    force (specs/cli.md section 1, errors, as ``consent grant`` and ``licence offer`` do):
    the rules (specs/rules.md R17) would refuse it in words that name no option."""
    until = body["until"]
    if parse_time(until, "--until") <= parse_time(now, "--until"):
        raise MalformedError(f"--until: {until} is not after now ({now}): the attestation "
                             "would never be in force")
    if "from" in body and parse_time(until, "--until") <= parse_time(body["from"], "--from"):
        raise MalformedError(f"--until: {until} is not after --from ({body['from']}): the "
                             "attestation would end before it starts")


def _standing(s: Session, body: dict[str, Any], attester: str) -> Found | None:
    """The latest ``identity.attest`` by ``attester`` that says exactly ``body`` (the key,
    name, url, registry id, member number, from and until) and is neither revoked nor past
    its ``until``: the very attestation a second run would log again (specs/cli.md section
    2.4)."""
    state, history = state_and_history(s, key_record_id(body["key"]))
    record = state.identity if state is not None else None
    if record is None:
        return None
    now = s.now()
    for index, event in reversed(history):
        a = record.attestation(event.id)
        if (event.event.type == "identity.attest" and event.event.actor == attester
                and same_body(event, body) and a is not None and a.revoked_at is None
                and (a.until is None or now < a.until)):
            return index, event
    return None


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    attestation: Annotated[str, typer.Argument(
        help="Id (or unique prefix) of the identity.attest event.")],
    key: Annotated[str, typer.Option("--key", help="Your signing key (the attester's).")],
    reason: Annotated[str | None, typer.Option(help="Why, in a few words.")] = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw an attestation you made (signed with --key, the attester's key).

    Example: provenance identity revoke 5f2c91 --key guild --reason 'left the guild'
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    aid, work = s.event_work(attestation, "ATTESTATION")
    state = s.state(work)
    if state is None or state.identity is None or state.identity.attestation(aid) is None:
        raise MalformedError(f"ATTESTATION: event {aid[:12]} is not an identity attestation")
    body: dict[str, Any] = {"key": state.identity.key, "attestation": aid}
    if reason is not None:
        body["reason"] = reason
    _check_body("identity.revoke", body)
    done = last_event(s.history(work), "identity.revoke", attestation=aid)
    if done is not None:  # run again: the attestation was withdrawn (specs/cli.md section 2.4)
        report_exists(s, "revoked", done, f"attestation {aid} was revoked in", as_json,
                      record=True)
        return
    event, index, path = s.sign_and_append(s.signing_key(key), "identity.revoke", work, body)
    report_key_event("revoked", event, index, path, as_json)


@app.command("show")
def show(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(
        metavar="KEY", help="A public key (ed25519:...) or one of your key names.")],
    attester: AttesterOpt = None,
    policy: PolicyOpt = None,
    at: Annotated[str | None, typer.Option(help="As of this time (default: now).")] = None,
    cawg: Annotated[bool, typer.Option(
        "--cawg", help="Print the attestations in force as CAWG identity claims aggregation "
                       "credentials (JSON, unsigned; specs/events.md section 6.15).")] = False,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who is behind KEY: every attestation of it, which are in force, by whom, and whether
    you trust that attester. Exit 0 if an attestation is in force (from an attester you
    trust, when you name any), 1 if not.

    Example: provenance identity show ed25519:3b6a... --policy trust.txt
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    k = s.key_option(subject, "KEY")
    trusted = trusted_attesters(s, policy, attester)
    when = parse_time(_date(at, "--at")) if at else s.now()
    try:
        record = key_record(s, k)
    except NotFoundError:
        record = None
    v = vouching(k, record, when, trusted)
    ok = bool(v.trusted) if trusted else v.attested
    if cawg:
        emit_json([cawg_credential(record, a) for a in v.attestations] if record else [])
    elif as_json:
        emit_json({"key": k, "at": format_time(when), "record": key_record_id(k),
                   "in_force": v.to_json(),
                   "attestations": [a.to_json() for a in record.attestations]
                   if record else []})
    else:
        typer.echo(f"key:     {k}")
        typer.echo(f"record:  {key_record_id(k)}")
        typer.echo(f"as of {format_time(when)}: {v.describe()}")
        past = [a for a in (record.attestations if record else ()) if not a.in_force(when)]
        for a in past:
            state = (f"revoked {format_time(a.revoked_at)}" if a.revoked_at is not None
                     else "not in force")
            typer.echo(f"  {a.id[:12]} {a.name!r} by {a.attester} [{state}]")
    if not ok:
        raise typer.Exit(1)


def _check_body(type_: str, body: dict[str, Any]) -> None:
    """The body's checks of specs/events.md, before a key is unlocked, with option names."""
    try:
        check_body(type_, body)
    except MalformedError as e:
        message = (str(e).replace("body.registry_id", "--registry-id")
                   .replace("body.", "--"))
        if message.startswith("--url ") and message.endswith("is not in the expected form"):
            message += ": an https://, http:// or urn: URI, without spaces"
        raise MalformedError(message) from e
