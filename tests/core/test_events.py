"""Tests for provenance_ledger.core.events: the signed envelope, its bodies and the leaf bytes.

Round trips for every event type with realistic bodies, "any single-byte change is detected"
as a property, and one refused case per strictness rule, each checked for the field it names.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.encoding import b64encode, canonical_json, thaw
from provenance_ledger.core.events import (
    EVENT_SIGNING_PREFIX,
    MAX_LEAF_BYTES,
    MAX_LIST_ITEMS,
    MAX_TITLE_CHARS,
    Event,
    SignedEvent,
    parse_leaf,
    sign_event,
    work_id_of,
)
from provenance_ledger.core.merkle import leaf_hash
from provenance_ledger.core.timefmt import format_time, parse_time
from provenance_ledger.errors import LedgerError, MalformedError, VerificationError

from ..conftest import NOW

AUTHOR = PrivateKey.from_seed(hashlib.sha256(b"events author").digest())
PUBLISHER = PrivateKey.from_seed(hashlib.sha256(b"events publisher").digest())
DEVELOPER = PrivateKey.from_seed(hashlib.sha256(b"events developer").digest())
WORK = work_id_of(hashlib.sha256(b"Harbour at Dawn, page 1, PNG bytes").hexdigest())
PREV = hashlib.sha256(b"some earlier event").hexdigest()
LATER = format_time(NOW + 86_400 * 365)

BODIES: dict[str, tuple[PrivateKey, dict[str, Any]]] = {
    "work.register": (AUTHOR, {
        "size": 2_483_112,
        "media_type": "image/png",
        "title": "夜明けの港 (Harbour at Dawn), vol. 1 cover",
        "similarity": "pdq:f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
        "payees": [
            {"key": AUTHOR.public.text, "share_bps": 7_000},
            {"key": PUBLISHER.public.text, "share_bps": 3_000},
        ],
    }),
    "work.transfer": (AUTHOR, {
        "to": PUBLISHER.public.text,
        "payees": [{"key": AUTHOR.public.text, "share_bps": 10_000}],
    }),
    "consent.grant": (PUBLISHER, {
        "grantee": "*",
        "purposes": ["ai_inference", "data_mining", "example.org:search-index"],
        "until": LATER,
        "conditions": ["attribution"],
    }),
    "consent.revoke": (PUBLISHER, {"grant": hashlib.sha256(b"the grant").hexdigest()}),
    "licence.offer": (PUBLISHER, {
        "licensee": DEVELOPER.public.text,
        "purposes": ["ai_training"],
        "fee": {"amount": 500_000, "currency": "JPY"},
        "royalty_bps": 250,
        "territories": ["JP", "US"],
        "from": format_time(NOW),
        "until": LATER,
        "terms_uri": "https://publisher.example.jp/licences/ai-training/v2",
        "offer_expires": format_time(NOW + 86_400 * 30),
    }),
    "licence.accept": (DEVELOPER, {"offer": hashlib.sha256(b"the offer").hexdigest()}),
    "licence.terminate": (PUBLISHER, {
        "licence": hashlib.sha256(b"the offer").hexdigest(),
        "reason": "支払いが遅延したため (payment overdue by 90 days)",
    }),
    "dataset.disclose": (DEVELOPER, {
        "name": "港の画像コーパス (harbour images)",
        "version": "2026-01",
        "model": "harbour-diffusion 1.0",
        "purposes": ["ai_generative_training"],
        "root": hashlib.sha256(b"a dataset root").hexdigest(),
        "count": 1_000_000,
        "compliance": work_id_of(hashlib.sha256(b"a compliance receipt").hexdigest()),
    }),
}


def make(type_: str, prev: str | None = PREV) -> SignedEvent:
    key, body = BODIES[type_]
    return sign_event(Event(type_, WORK, None if type_ == "work.register" else prev,
                            key.public.text, NOW, body), key)


LEAVES = [make(t).leaf for t in BODIES]


def envelope(type_: str = "work.register") -> dict[str, Any]:
    return copy.deepcopy(make(type_).event.envelope())


def leaf_of(env: Any, key: PrivateKey = AUTHOR) -> bytes:
    """A canonical leaf over ``env``, correctly signed, so only the edit we made is wrong."""
    sig = key.sign(EVENT_SIGNING_PREFIX + canonical_json(env))
    return canonical_json({"event": env, "sig": b64encode(sig)})


# -- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("type_", list(BODIES))
def test_sign_parse_round_trip(type_: str) -> None:
    signed = make(type_)
    parsed = parse_leaf(signed.leaf)
    assert parsed == signed
    assert parsed.event.type == type_
    assert thaw(parsed.event.body) == BODIES[type_][1]
    assert parsed.id == leaf_hash(signed.leaf).hex()
    assert signed.leaf == canonical_json(json.loads(signed.leaf))
    assert signed.leaf.startswith(b'{"event":{"actor":')


@pytest.mark.parametrize("type_", list(BODIES))
def test_to_json_carries_id_and_signature(type_: str) -> None:
    signed = make(type_)
    out = signed.to_json()
    assert out["id"] == signed.id
    assert out["sig"] == b64encode(signed.signature)
    assert {k: v for k, v in out.items() if k not in ("id", "sig")} == signed.event.envelope()
    assert out["at"] == "2026-01-01T00:00:00Z"


def test_signature_is_domain_separated() -> None:
    signed = make("work.register")
    AUTHOR.public.verify(signed.signature, signed.event.signing_message())
    with pytest.raises(VerificationError):
        AUTHOR.public.verify(signed.signature, canonical_json(signed.event.envelope()))


def test_event_id_is_the_leaf_hash() -> None:
    signed = make("consent.grant")
    assert signed.id == hashlib.sha256(b"\x00" + signed.leaf).hexdigest()


def test_parse_without_verify_skips_only_the_signature() -> None:
    env = envelope()
    leaf = leaf_of(env, key=PUBLISHER)
    assert parse_leaf(leaf, verify=False).event.envelope() == env
    with pytest.raises(VerificationError):
        parse_leaf(leaf)


def test_sign_with_a_key_that_is_not_the_actor() -> None:
    event = make("work.register").event
    with pytest.raises(ValueError, match="actor"):
        sign_event(event, PUBLISHER)


# -- tampering -------------------------------------------------------------------------------


@given(leaf=st.sampled_from(LEAVES), data=st.data())
def test_any_single_byte_change_is_detected(leaf: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(leaf) - 1), label="index")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != leaf[index]), label="byte")
    tampered = leaf[:index] + bytes([byte]) + leaf[index + 1 :]
    with pytest.raises((MalformedError, VerificationError)):
        parse_leaf(tampered)


@given(leaf=st.sampled_from(LEAVES), data=st.data())
def test_any_truncation_is_detected(leaf: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(leaf) - 1))
    with pytest.raises((MalformedError, VerificationError)):
        parse_leaf(leaf[:cut])


def test_wrong_signature_is_refused() -> None:
    signed = make("work.register")
    other = make("work.transfer")
    leaf = canonical_json({"event": signed.event.envelope(), "sig": b64encode(other.signature)})
    with pytest.raises(VerificationError, match="signature"):
        parse_leaf(leaf)


def test_signature_by_another_key_is_refused() -> None:
    # Well-formed and validly signed, but by the publisher while the actor is the author.
    with pytest.raises(VerificationError, match="signature"):
        parse_leaf(leaf_of(envelope(), key=PUBLISHER))


def test_signature_without_domain_prefix_is_refused() -> None:
    env = envelope()
    sig = AUTHOR.sign(canonical_json(env))
    with pytest.raises(VerificationError):
        parse_leaf(canonical_json({"event": env, "sig": b64encode(sig)}))


# -- strictness: envelope and body fields -------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(env: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = env
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target[p]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(env: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = env
        for p in parents:
            target = target[p]
        del target[last]

    return mutate


CUSTOM_PURPOSES = [f"example.org:purpose-{i}" for i in range(MAX_LIST_ITEMS + 1)]
FIELD_CASES: list[Any] = [
    # envelope
    ("work.register", _set("colour", "blue"), "colour", "unknown-envelope-field"),
    ("work.register", _drop("prev"), "prev", "missing-envelope-field"),
    ("work.register", _set("v", 2), "version", "version-2"),
    ("work.register", _set("v", True), "version", "version-bool"),
    ("work.register", _set("type", 7), "type", "type-not-string"),
    ("work.register", _set("type", "work.delete"), "work.delete", "unknown-type"),
    ("work.register", _set("work", WORK.upper()), "work", "work-uppercase"),
    ("work.register", _set("work", "md5:" + "0" * 32), "work", "work-other-hash"),
    ("work.register", _set("work", 5), "work", "work-not-string"),
    ("work.transfer", _set("prev", "abc"), "prev", "prev-short"),
    ("work.transfer", _set("prev", 5), "prev", "prev-not-string"),
    ("work.register", _set("actor", "ed25519:" + "zz" * 32), "actor", "actor-bad-hex"),
    ("work.register", _set("actor", 5), "actor", "actor-not-string"),
    ("work.register", _set("at", NOW), "at", "at-integer"),
    ("work.register", _set("at", "2026-01-01T00:00:00.5Z"), "at", "at-fractional"),
    ("work.register", _set("at", "2026-01-01T09:00:00+09:00"), "at", "at-offset"),
    ("work.register", _set("at", "2026-01-01T00:00:00+00:00"), "at", "at-zero-offset"),
    ("work.register", _set("at", "2026-01-01T00:00:00z"), "at", "at-lowercase-z"),
    ("work.register", _set("at", "2026-01-01 00:00:00Z"), "at", "at-space"),
    ("work.register", _set("at", "2026-01-01T00:00:00"), "at", "at-no-zone"),
    ("work.register", _set("at", "2026-02-30T00:00:00Z"), "at", "at-feb-30"),
    ("work.register", _set("at", "2025-02-29T00:00:00Z"), "at", "at-not-leap-year"),
    ("work.register", _set("at", "2026-01-01T24:00:00Z"), "at", "at-hour-24"),
    ("work.register", _set("at", "2016-12-31T23:59:60Z"), "at", "at-leap-second"),
    ("work.register", _set("at", "\u0662026-01-01T00:00:00Z"), "at", "at-arabic-indic-digit"),
    ("consent.grant", _set("body.until", "\uff12\uff10\uff12\uff17-01-01T00:00:00Z"), "body.until",
     "until-fullwidth-digits"),
    ("work.register", _set("body", []), "body", "body-not-object"),
    # bodies
    ("work.register", _set("body.colour", "blue"), "colour", "unknown-body-field"),
    ("work.register", _drop("body.media_type"), "media_type", "missing-body-field"),
    ("work.register", _set("body.size", True), "body.size", "bool-for-int"),
    ("work.register", _set("body.size", -1), "body.size", "negative-int"),
    ("work.register", _set("body.size", "2483112"), "body.size", "string-for-int"),
    ("work.register", _set("body.title", "x" * (MAX_TITLE_CHARS + 1)), "body.title",
     "oversized-title"),
    ("work.register", _set("body.title", ""), "body.title", "empty-title"),
    ("work.register", _set("body.title", "two\nlines"), "body.title", "control-in-title"),
    ("work.register", _set("body.title", 7), "body.title", "title-not-string"),
    ("work.register", _set("body.media_type", "image/PNG"), "body.media_type",
     "media-type-uppercase"),
    ("work.register", _set("body.media_type", "png"), "body.media_type", "media-type-no-slash"),
    ("work.register", _set("body.payees.0.share_bps", 6_999), "body.payees", "shares-9999"),
    ("work.register", _set("body.payees.0.share_bps", 7_001), "body.payees", "shares-10001"),
    ("work.register", _set("body.payees.1.key", AUTHOR.public.text), "body.payees",
     "payee-twice"),
    ("work.register", _set("body.payees.0.share_bps", True), "body.payees[0].share_bps",
     "share-bool"),
    ("work.register", _set("body.payees.0.extra", 1), "body.payees[0]", "payee-unknown-field"),
    ("work.register", _set("body.payees", []), "body.payees", "payees-empty"),
    ("work.transfer", _set("body.to", "ed25519:" + "00" * 31), "body.to", "transfer-to-short"),
    ("consent.grant", _set("body.purposes", CUSTOM_PURPOSES), "body.purposes",
     "too-many-purposes"),
    ("consent.grant", _set("body.purposes", []), "body.purposes", "no-purposes"),
    ("consent.grant", _set("body.purposes", ["ai_training", "ai_training"]), "body.purposes",
     "duplicate-purpose"),
    ("consent.grant", _set("body.purposes", ["ai_everything"]), "ai_everything",
     "unknown-purpose"),
    ("consent.grant", _set("body.grantee", "anyone"), "body.grantee", "grantee-not-key"),
    ("consent.grant", _set("body.until", "2027-01-01"), "body.until", "until-date-only"),
    ("consent.grant", _set("body.conditions", ["free"]), "body.conditions[0]",
     "unknown-condition"),
    ("consent.revoke", _set("body.grant", "sha256:" + "0" * 64), "body.grant", "grant-not-id"),
    ("licence.offer", _set("body.fee.currency", "jpy"), "body.fee.currency", "currency-case"),
    ("licence.offer", _set("body.fee.amount", 2**53 - 1), None, "fee-max-ok"),
    ("licence.offer", _drop("body.fee.currency"), "currency", "fee-no-currency"),
    ("licence.offer", _set("body.royalty_bps", 10_001), "body.royalty_bps", "royalty-over"),
    ("licence.offer", _set("body.territories", ["jp"]), "body.territories[0]",
     "territory-case"),
    ("licence.offer", _set("body.terms_uri", "ftp://example.org/t"), "body.terms_uri",
     "terms-uri-scheme"),
    ("licence.offer", _set("body.from", "2026-01-01T00:00:00.000Z"), "body.from",
     "from-fractional"),
    ("licence.offer", _set("body.licensee", "*"), "body.licensee", "licensee-anyone"),
    ("licence.accept", _set("body.offer", PREV.upper()), "body.offer", "offer-uppercase"),
    ("licence.terminate", _set("body.reason", "r" * 1025), "body.reason", "reason-too-long"),
    ("dataset.disclose", _set("body.root", PREV.upper()), "body.root", "root-uppercase"),
    ("dataset.disclose", _set("body.count", -1), "body.count", "count-negative"),
    ("dataset.disclose", _set("body.version", "v" * 65), "body.version", "version-too-long"),
    ("dataset.disclose", _set("body.compliance", PREV), "body.compliance",
     "compliance-not-a-digest"),
    ("dataset.disclose", _set("body.purposes", ["training"]), "unknown purpose",
     "purpose-unknown"),
    ("dataset.disclose", _set("body.previous", PREV), "body", "previous-is-the-envelope-prev"),
]


@pytest.mark.parametrize(("type_", "mutate", "field"),
                         [pytest.param(*c[:3], id=c[3]) for c in FIELD_CASES])
def test_field_rules(type_: str, mutate: Mutation, field: str | None) -> None:
    env = envelope(type_)
    mutate(env)
    key = BODIES[type_][0]
    leaf = leaf_of(env, key)
    if field is None:
        assert parse_leaf(leaf).event.envelope() == env
        return
    with pytest.raises(MalformedError) as info:
        parse_leaf(leaf)
    assert field in str(info.value)


def test_float_is_refused_naming_the_field() -> None:
    # canonical_json refuses floats, so the leaf is written by hand.
    env = envelope()
    env["body"]["size"] = 2483112.5
    raw = json.dumps({"event": env, "sig": "A" * 86 + "=="}, sort_keys=True,
                     separators=(",", ":"), ensure_ascii=False).encode()
    with pytest.raises(MalformedError) as info:
        parse_leaf(raw)
    assert "body.size" in str(info.value)


def test_float_version_is_refused() -> None:
    # "v":1.0 is its own canonical spelling to Python's json, and 1.0 == 1; RFC 8785 would
    # write it "1", so a leaf carrying it is not canonical and must not get a second event id.
    signed = make("work.register")
    env = canonical_json(signed.event.envelope()).replace(b'"v":1,', b'"v":1.0,')
    assert b'"v":1.0,' in env
    sig = AUTHOR.sign(EVENT_SIGNING_PREFIX + env)
    leaf = b'{"event":' + env + b',"sig":"' + b64encode(sig).encode() + b'"}'
    with pytest.raises(MalformedError):
        parse_leaf(leaf)


def test_float_spelling_of_an_integer_is_refused() -> None:
    leaf = make("work.register").leaf
    tampered = leaf.replace(b'"size":2483112', b'"size":2483112.0')
    with pytest.raises(MalformedError):
        parse_leaf(tampered)


def test_float_in_event_constructor_names_the_field() -> None:
    with pytest.raises(MalformedError, match="body.size"):
        Event("work.register", WORK, None, AUTHOR.public.text, NOW,
              {"size": 1.5, "media_type": "image/png"})


def test_unknown_type_in_constructor() -> None:
    with pytest.raises(MalformedError, match="unknown event type"):
        Event("work.delete", WORK, None, AUTHOR.public.text, NOW, {})


# -- strictness: the leaf's bytes -------------------------------------------------------------


def test_whitespace_is_not_canonical() -> None:
    leaf = make("work.register").leaf
    spaced = json.dumps(json.loads(leaf), sort_keys=True, ensure_ascii=False).encode()
    with pytest.raises(MalformedError, match="canonical"):
        parse_leaf(spaced)
    with pytest.raises(MalformedError, match="canonical"):
        parse_leaf(leaf + b"\n")


def test_key_order_is_not_canonical() -> None:
    signed = make("work.register")
    outer = {"sig": b64encode(signed.signature), "event": signed.event.envelope()}
    swapped = json.dumps(outer, separators=(",", ":"), ensure_ascii=False).encode()
    with pytest.raises(MalformedError, match="canonical"):
        parse_leaf(swapped)
    env = signed.event.envelope()
    reordered = {"event": dict(reversed(list(env.items()))), "sig": b64encode(signed.signature)}
    raw = json.dumps(reordered, separators=(",", ":"), ensure_ascii=False).encode()
    with pytest.raises(MalformedError, match="canonical"):
        parse_leaf(raw)


def test_escaped_unicode_is_not_canonical() -> None:
    leaf = make("work.register").leaf
    escaped = json.dumps(json.loads(leaf), sort_keys=True, separators=(",", ":")).encode()
    assert escaped != leaf
    with pytest.raises(MalformedError, match="canonical"):
        parse_leaf(escaped)


def test_duplicate_keys_are_not_canonical() -> None:
    leaf = make("work.register").leaf
    doubled = leaf.replace(b'{"event":{', b'{"event":{"actor":"x",', 1)
    with pytest.raises(MalformedError, match="canonical"):
        parse_leaf(doubled)


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        pytest.param(b"\xff\xfe", "UTF-8", id="not-utf8"),
        pytest.param(b"[]", "exactly", id="array"),
        pytest.param(b'{"event":{}}', "exactly", id="no-sig"),
        pytest.param(b'{"event":{},"extra":1,"sig":""}', "exactly", id="extra-outer-field"),
        pytest.param(b'{"event":{},"sig":7}', "signature", id="sig-not-string"),
        pytest.param(b'{"event":{},"sig":"AAAA"}', "signature", id="sig-3-bytes"),
        pytest.param(b'{"event":{},"sig":"not base64!"}', "signature", id="sig-not-base64"),
        pytest.param(b'{"event":[],"sig":"' + b"A" * 86 + b'=="}', "object",
                     id="event-not-object"),
        pytest.param(b" " * (MAX_LEAF_BYTES + 1), "limit", id="oversized"),
    ],
)
def test_malformed_leaf(leaf: bytes, message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        parse_leaf(leaf)


def test_deeply_nested_leaf_is_malformed() -> None:
    # 2,400 bytes, well under MAX_LEAF_BYTES: the parser must say "malformed", not crash.
    nested = b"[" * 1200 + b"]" * 1200
    with pytest.raises(MalformedError):
        parse_leaf(nested)


def test_no_parser_error_escapes_the_package_error() -> None:
    leaf = make("licence.offer").leaf
    for cut in range(0, len(leaf), 7):
        with pytest.raises(LedgerError):
            parse_leaf(leaf[:cut] + b"\x00" + leaf[cut + 1 :])


# -- times -----------------------------------------------------------------------------------


def test_time_round_trip() -> None:
    for t in (0, NOW, 951_782_400, 253_402_300_799):  # epoch, now, 2000-02-29, 9999-12-31
        assert parse_time(format_time(t)) == t
    assert parse_time("2000-02-29T00:00:00Z") == 951_782_400
    assert format_time(NOW) == "2026-01-01T00:00:00Z"


def test_time_out_of_range_is_a_caller_mistake() -> None:
    with pytest.raises(ValueError):
        format_time(-1)
    with pytest.raises(MalformedError):
        parse_time("0000-01-01T00:00:00Z", "at")


# -- text: a fixed rule, the same on every Unicode version (events.md section 6, string) ---------

TEXT_CASES = [
    ("\u00a0", True, "no-break-space"),
    ("\U0001f6dc", True, "emoji-of-unicode-15"),
    ("\U000e01ef", True, "variation-selector-256"),
    ("\u0378", True, "unassigned"),
    ("\ue000", True, "private-use"),
    ("\uffff", True, "noncharacter"),
    ("\u200b", True, "zero-width-space"),
    ("\U0001f469\u200d\U0001f4bb", True, "emoji-zwj-sequence"),
    ("\u200f", True, "right-to-left-mark"),
    ("\x00", False, "nul"),
    ("\t", False, "tab"),
    ("\x1f", False, "unit-separator"),
    ("\x7f", False, "delete"),
    ("\x85", False, "next-line-c1"),
    ("\x9f", False, "c1-last"),
    ("\u2028", False, "line-separator"),
    ("\u2029", False, "paragraph-separator"),
    ("\u202a", False, "left-to-right-embedding"),
    ("\u202e", False, "right-to-left-override"),
    ("\u2066", False, "left-to-right-isolate"),
    ("\u2069", False, "pop-directional-isolate"),
]


@pytest.mark.parametrize(("char", "is_text"), [pytest.param(c, ok, id=i)
                                                for c, ok, i in TEXT_CASES])
def test_text_is_a_fixed_list_of_refused_characters(char: str, is_text: bool) -> None:
    env = envelope()
    env["body"]["title"] = f"Harbour{char}at Dawn"
    leaf = leaf_of(env)
    if is_text:
        assert parse_leaf(leaf).event.body["title"] == env["body"]["title"]
        return
    with pytest.raises(MalformedError, match="body.title contains a character that is not text"):
        parse_leaf(leaf)


def test_an_event_body_is_read_only_all_the_way_down() -> None:
    signed = parse_leaf(make("licence.offer").leaf)
    body = signed.event.body
    with pytest.raises(TypeError):
        body["royalty_bps"] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        body["fee"]["amount"] = 0
    with pytest.raises(AttributeError):
        body["territories"].append("FR")
    env = signed.event.envelope()  # a fresh copy for encoders and callers
    env["body"]["fee"]["amount"] = 0
    assert signed.event.body["fee"]["amount"] == 500_000
    assert signed.event.signing_message() == make("licence.offer").event.signing_message()


def test_an_event_made_from_a_frozen_body_is_the_same_event() -> None:
    signed = make("licence.offer")
    again = Event(signed.event.type, signed.event.work, signed.event.prev, signed.event.actor,
                  signed.event.at, signed.event.body)
    assert again == signed.event
    assert again.signing_message() == signed.event.signing_message()
