"""Tests for provenance_ledger.core.identity and core.vouch: key records (specs/rules.md
section 7), whose grant counts (section 8), the known answers of specs/events.md sections
6.13-6.15, and the ``attester`` lines of a trust policy (specs/receipts.md section 4)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.encoding import b64encode
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.core.identity import base58btc, cawg_credential, did_key, key_record_id
from provenance_ledger.core.keystate import statement
from provenance_ledger.core.note import NoteSigner
from provenance_ledger.core.policy import parse_policy
from provenance_ledger.core.rules import WorkState, apply, may
from provenance_ledger.core.timefmt import parse_time
from provenance_ledger.core.vouch import vouch
from provenance_ledger.errors import ConflictError, MalformedError, RuleError

from ..conftest import NOW, KeyFactory, Signer

SPEC = (Path(__file__).resolve().parents[2] / "specs" / "events.md").read_text("utf-8")
DAY = 86_400


def record(sign: Signer, events: list[tuple[PrivateKey, str, dict[str, object], int]]
           ) -> WorkState:
    state: WorkState | None = None
    for key, type_, body, at in events:
        work = key_record_id(str(body["key"]))
        state = apply(state, sign(key, type_, work, body, prev=state.head if state else None,
                                  at=at))
    assert state is not None
    return state


def spec_events() -> tuple[SignedEvent, SignedEvent]:
    member, guild = PrivateKey.from_seed(bytes(32)), PrivateKey.from_seed(bytes([7]) * 32)
    rid, at = key_record_id(member.public.text), parse_time("2025-11-01T10:00:00Z")
    attest = sign_event(Event("identity.attest", rid, None, guild.public.text, at, {
        "key": member.public.text, "name": "Mika Sato", "member": "1042",
        "url": "https://guild.example/members/1042", "until": "2027-01-01T00:00:00Z"}), guild)
    revoke = sign_event(Event("identity.revoke", rid, attest.id, guild.public.text, at + DAY, {
        "key": member.public.text, "attestation": attest.id, "reason": "left the guild"}),
        guild)
    return attest, revoke


def test_the_spec_examples_are_what_the_code_produces() -> None:
    attest, revoke = spec_events()
    assert f"id `{attest.event.work}`" in SPEC
    assert attest.leaf.decode() in SPEC
    assert f"event id is `{attest.id}`" in SPEC
    assert f"the event id is\n`{revoke.id}`" in SPEC
    state = apply(apply(None, attest), revoke)
    assert state.identity is not None and state.identity.in_force(revoke.event.at) == ()


def test_the_key_rotate_example_is_what_the_code_produces() -> None:
    """specs/events.md section 6.16: the key statement, the new key's signature of it and the
    event id; the rotation applies on the record of section 6.14."""
    attest, revoke = spec_events()
    old, new = PrivateKey.from_seed(bytes(32)), PrivateKey.from_seed(bytes([9]) * 32)
    at = parse_time("2025-11-03T10:00:00Z")
    body = {"key": old.public.text, "to": new.public.text, "to_sig": b64encode(bytes(64))}
    message = statement(Event("key.rotate", attest.event.work, revoke.id, old.public.text, at,
                              body))
    prefix = b"provenance-ledger/key-statement/v1\n"
    assert message.startswith(prefix) and f"```\n{message[len(prefix):].decode()}\n```" in SPEC
    body["to_sig"] = b64encode(new.sign(message))
    assert f"`to_sig` is `{body['to_sig']}`" in SPEC
    rotate = sign_event(Event("key.rotate", attest.event.work, revoke.id, old.public.text, at,
                              body), old)
    assert f"event id `{rotate.id}`" in SPEC
    state = apply(apply(apply(None, attest), revoke), rotate)
    assert state.identity is not None and state.identity.successor(at) == new.public.text


def test_base58_and_did_key_known_answers() -> None:
    assert base58btc(b"Hello World!") == "2NEpo7TZRRrLZSi2U" and "`2NEpo7TZRRrLZSi2U`" in SPEC
    assert base58btc(bytes.fromhex("0000287fb4cd")) == "11233QC4"
    assert did_key(PrivateKey.from_seed(bytes(32)).public.text).startswith("did:key:z6Mk")


def test_no_one_takes_a_key_record_id_first(sign: Signer, keys: KeyFactory) -> None:
    """A work id is never checked against content, so the rules must refuse a registration
    (or a dataset) under a key record id, or anyone could block a key's record."""
    squatter, mika = keys("squatter"), keys("mika")
    rid = key_record_id(mika.public.text)
    assert rid.endswith("6b657921")
    with pytest.raises(RuleError, match="is a key record id"):
        apply(None, sign(squatter, "work.register", rid, {"size": 1,
                                                          "media_type": "image/png"}))


def test_attestations_are_in_force_from_start_to_until_and_until_revoked(
        sign: Signer, keys: KeyFactory) -> None:
    guild, mika, other = keys("guild"), keys("mika"), keys("other")
    k = mika.public.text
    state = record(sign, [
        (guild, "identity.attest", {"key": k, "name": "Mika", "from": "2026-01-02T00:00:00Z",
                                    "until": "2026-02-01T00:00:00Z"}, NOW),
        (other, "identity.attest", {"key": k, "name": "M. Sato"}, NOW + 10),
    ])
    rec = state.identity
    assert rec is not None and state.controller == k and state.events == 2
    first, second = rec.attestations
    assert rec.in_force(NOW + 10) == (second,)  # the first starts a day later
    assert rec.in_force(NOW + DAY) == (first, second)
    assert rec.in_force(parse_time("2026-02-01T00:00:00Z")) == (second,)  # until: exclusive
    revoked = apply(state, sign(other, "identity.revoke", state.work,
                                {"key": k, "attestation": second.id}, prev=state.head,
                                at=NOW + 20))
    assert revoked.identity is not None
    assert [a.id for a in revoked.identity.in_force(NOW + 19)] == [second.id]
    assert revoked.identity.in_force(NOW + 20) == ()
    assert revoked.to_json()["identity"]["attestations"][1]["revoked_at"] == \
        "2026-01-01T00:00:20Z"
    assert may(revoked, k, "ai_training", NOW + 30).reason.endswith("not a work")


def test_rules_refuse_what_they_must(sign: Signer, keys: KeyFactory) -> None:
    guild, mika, thief = keys("guild"), keys("mika"), keys("thief")
    k = mika.public.text
    rid = key_record_id(k)
    with pytest.raises(RuleError, match="cannot attest itself"):
        apply(None, sign(mika, "identity.attest", rid, {"key": k, "name": "me"}))
    with pytest.raises(RuleError, match="must have work"):
        apply(None, sign(guild, "identity.attest", key_record_id(thief.public.text),
                         {"key": k, "name": "Mika"}))
    with pytest.raises(RuleError, match="end before it starts"):
        apply(None, sign(guild, "identity.attest", rid,
                         {"key": k, "name": "Mika", "until": "2025-01-01T00:00:00Z"}))
    state = apply(None, sign(guild, "identity.attest", rid, {"key": k, "name": "Mika"}))
    aid = state.identity.attestations[0].id if state.identity else ""
    with pytest.raises(RuleError, match="only the attester"):
        apply(state, sign(thief, "identity.revoke", rid, {"key": k, "attestation": aid},
                          prev=state.head))
    with pytest.raises(ConflictError):
        apply(state, sign(guild, "identity.attest", rid, {"key": k, "name": "Mika"}))
    with pytest.raises(RuleError, match="is a key record id"):
        apply(state, sign(guild, "consent.grant", rid, {"grantee": "*",
                                                        "purposes": ["ai_training"]},
                          prev=state.head))
    work = work_id_of(hashlib.sha256(b"a page").hexdigest())
    reg = apply(None, sign(mika, "work.register", work, {"size": 1, "media_type": "image/png"}))
    with pytest.raises(RuleError, match="is a registered work, not a key record"):
        apply(reg, sign(guild, "identity.attest", work, {"key": k, "name": "Mika"},
                        prev=reg.head))
    with pytest.raises(MalformedError, match="body.member"):
        sign(guild, "identity.attest", rid, {"key": k, "name": "Mika", "member": "x" * 65})


def test_require_attested_refuses_a_grant_no_trusted_attester_vouches_for(
        sign: Signer, keys: KeyFactory) -> None:
    guild, squatter, user, stranger = (keys(n) for n in ("guild", "squatter", "user",
                                                          "stranger"))
    work = work_id_of(hashlib.sha256(b"someone else's page").hexdigest())
    reg = apply(None, sign(squatter, "work.register", work, {"size": 1,
                                                             "media_type": "image/png"}))
    state = apply(reg, sign(squatter, "consent.grant", work,
                            {"grantee": "*", "purposes": ["ai_training"]}, prev=reg.head))
    d = may(state, user.public.text, "ai_training", NOW + 1)
    assert d.allowed
    g = guild.public.text
    assert vouch(state, d, NOW + 1, None, [g], False).allowed
    refused = vouch(state, d, NOW + 1, None, [g], True)
    assert not refused.allowed and "is not attested by anyone" in refused.decision.reason
    # attested, but by a stranger the verifier does not trust: still refused
    rec = record(sign, [(stranger, "identity.attest",
                         {"key": squatter.public.text, "name": "Mika"}, NOW)]).identity
    still = vouch(state, d, NOW + 1, rec, [g], True)
    assert not still.allowed and "attesters you do not trust" in still.decision.reason
    # trusted: the same grant counts, and the vouching names the attester
    ok = vouch(state, d, NOW + 1, rec, [g, stranger.public.text], True)
    assert ok.allowed and ok.vouching is not None
    assert [a.attester for a in ok.vouching.trusted] == [stranger.public.text]
    # a refusal names no granting key
    no = may(state, user.public.text, "ai_inference", NOW + 1)
    assert vouch(state, no, NOW + 1, rec, [g], True).vouching is None


def test_policy_attester_lines_round_trip_and_refuse_bad_keys(keys: KeyFactory) -> None:
    vkey = NoteSigner("ledger.example", keys("log")).verifier.to_vkey()
    g = keys("guild").public.text
    pol = parse_policy(f"log {vkey}\nquorum none\nattester {g} guild\n")
    assert pol.attesters == (g,)
    assert parse_policy(pol.to_text()) == pol
    with pytest.raises(MalformedError, match="line 3: attester .* given twice"):
        parse_policy(f"log {vkey}\nattester {g}\nattester {g}\nquorum none\n")
    with pytest.raises(MalformedError, match="line 2: key"):
        parse_policy(f"log {vkey}\nattester ed25519:00\nquorum none\n")


def test_cawg_export_maps_the_attestation(sign: Signer, keys: KeyFactory) -> None:
    guild, mika = keys("guild"), keys("mika")
    state = record(sign, [(guild, "identity.attest", {
        "key": mika.public.text, "name": "Mika Sato", "member": "1042",
        "url": "https://guild.example/m/1042", "until": "2027-01-01T00:00:00Z"}, NOW)])
    assert state.identity is not None
    doc = cawg_credential(state.identity, state.identity.attestations[0])
    assert doc["issuer"] == did_key(guild.public.text)
    assert doc["validUntil"] == "2027-01-01T00:00:00Z"
    subject = doc["credentialSubject"]
    assert subject["id"] == did_key(mika.public.text)
    assert subject["verifiedIdentities"] == [{
        "type": "cawg.affiliation", "name": "Mika Sato", "username": "1042",
        "uri": "https://guild.example/m/1042", "verifiedAt": "2026-01-01T00:00:00Z",
        "provider": {"id": did_key(guild.public.text)}}]
    assert subject["c2paAsset"]["sig_type"] == "cawg.identity_claims_aggregation"
