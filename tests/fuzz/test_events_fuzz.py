"""Fuzz and properties of signed events (specs/events.md): any bytes give an event or a
MalformedError/VerificationError; every event round-trips; a change to a signed leaf is
refused; a re-signed envelope parses to exactly what was signed, or is refused."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from provenance_ledger.core.encoding import canonical_json, load_json, parse_canonical_json
from provenance_ledger.core.events import (
    EVENT_SIGNING_PREFIX,
    Event,
    SignedEvent,
    parse_leaf,
    sign_event,
)
from provenance_ledger.core.merkle import leaf_hash
from provenance_ledger.core.timefmt import format_time, parse_time
from provenance_ledger.errors import MalformedError, VerificationError

from .strategies import (
    byte_mutation,
    events,
    fuzz,
    json_mutation,
    json_values,
    signed_events,
)

REFUSALS = (MalformedError, VerificationError)


@fuzz(300)
@given(st.binary(max_size=600))
def test_any_bytes_parse_or_are_refused(data: bytes) -> None:
    try:
        ev = parse_leaf(data)
    except REFUSALS:
        return
    assert ev.leaf == data  # accepted only if canonical and signed: then it is these bytes


@fuzz(200)
@given(json_values)
def test_any_json_value_as_a_leaf_is_refused(value: Any) -> None:
    data = json.dumps(value).encode()
    try:
        parse_leaf(data)
    except REFUSALS:
        return
    raise AssertionError(f"accepted {data!r}")


@fuzz(150)
@given(events())
def test_sign_parse_round_trip(made: tuple[Event, Any]) -> None:
    event, key = made
    signed = sign_event(event, key)
    parsed = parse_leaf(signed.leaf)
    assert parsed == signed and parsed.event == event
    assert parsed.id == leaf_hash(signed.leaf).hex()
    assert signed.leaf == canonical_json(json.loads(signed.leaf))
    # to_json carries the envelope, the id and the signature, and nothing else.
    doc = signed.to_json()
    assert doc.pop("id") == signed.id
    assert doc.pop("sig") is not None and doc == event.envelope()
    # Event.from_envelope is the inverse of envelope().
    assert Event.from_envelope(event.envelope()) == event


@fuzz(200)
@given(signed_events, st.data())
def test_any_change_to_a_signed_leaf_is_refused(signed: SignedEvent, data: st.DataObject) -> None:
    changed = data.draw(byte_mutation(signed.leaf))
    try:
        parse_leaf(changed)
    except REFUSALS:
        return
    raise AssertionError(f"a changed leaf was accepted: {changed!r}")


@fuzz(200)
@given(events(), st.data())
def test_a_re_signed_envelope_parses_to_what_was_signed_or_is_refused(
        made: tuple[Event, Any], data: st.DataObject) -> None:
    """Mutate the envelope, sign it with the actor's key (so the signature is good): the parser
    accepts it only as exactly the signed value, never a repaired or different one."""
    event, key = made
    env, what = data.draw(json_mutation(event.envelope()))
    try:
        message = canonical_json(env)
    except (MalformedError, TypeError):
        return  # not even encodable (a float, a huge integer): nothing to sign
    leaf = canonical_json({"event": env, "sig": _b64(key.sign(EVENT_SIGNING_PREFIX + message))})
    try:
        parsed = parse_leaf(leaf)
    except REFUSALS:
        return
    assert parsed.event.envelope() == env, what
    assert parsed.event.actor == key.public.text, what


@fuzz(100)
@given(st.binary(max_size=200))
def test_json_parsers_refuse_with_one_error(data: bytes) -> None:
    for parse in (lambda: load_json(data, "x"), lambda: load_json(data, "x", True),
                  lambda: parse_canonical_json(data, "x")):
        try:
            parse()
        except MalformedError:
            pass


@fuzz(200)
@given(st.text(max_size=30))
def test_time_parser(text: str) -> None:
    try:
        t = parse_time(text)
    except MalformedError:
        return
    assert format_time(t) == text  # one spelling per time


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()
