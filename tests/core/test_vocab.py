"""The vocabulary mappings (specs/vocabularies.md): published examples from each standard
read as their known answers, round trip through the ledger, and nothing is ever exported or
imported as "allowed" that a grant to anyone does not give (default deny, both ways)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import ANYONE, Event, sign_event, work_id_of
from provenance_ledger.core.rules import WorkState, apply
from provenance_ledger.core.timefmt import parse_time
from provenance_ledger.core.vocab import (
    ALLOWED,
    CONSTRAINED,
    FORMATS,
    MAPPED_PURPOSES,
    NOT_ALLOWED,
    aipref,
    detect,
    preferences,
    propose,
    read,
    render,
    rsl,
)
from provenance_ledger.core.vocab.render import MAX_DOCUMENT_BYTES
from provenance_ledger.errors import MalformedError

from ..conftest import NOW, KeyFactory, Signer

DATA = Path(__file__).resolve().parents[1] / "data" / "vocab"
SPEC = Path(__file__).resolve().parents[2] / "specs" / "vocabularies.md"
EXPECTED: dict[str, Any] = json.loads((DATA / "expected.json").read_text())
WORK = work_id_of(hashlib.sha256(b"page-012.png").hexdigest())
PAGE = f"https://node.example/works/{WORK}"
DAY = 86_400


class Book:
    """A work's events, applied one by one through the rules, as a log would."""

    def __init__(self, sign: Signer, keys: KeyFactory) -> None:
        self.sign, self.owner = sign, keys("owner")
        self.state: WorkState | None = None
        self.add("work.register", {"size": 1, "media_type": "image/png"}, at=NOW - 10 * DAY)

    def add(self, type_: str, body: dict[str, Any], at: int = NOW - DAY,
            key: Any = None) -> str:
        event = self.sign(key or self.owner, type_, WORK, body,
                          prev=self.state.head if self.state else None, at=at)
        self.state = apply(self.state, event)
        return event.id


def allowed_of(reading: Any) -> dict[str, list[str]]:
    return {p: list(c) for p, c in reading.allowed.items()}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_published_example_reads_as_its_known_answer(name: str) -> None:
    case = EXPECTED[name]
    data = (DATA / name).read_bytes()
    assert detect(data) == case["format"]
    assert allowed_of(read(data, path=case.get("location"))) == case["allowed"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_published_example_round_trips_through_the_ledger(
        name: str, sign: Signer, keys: KeyFactory) -> None:
    case = EXPECTED[name]
    reading = read((DATA / name).read_bytes(), path=case.get("location"))
    book = Book(sign, keys)
    for body in propose(book.state, reading, NOW):
        book.add("consent.grant", body)
    assert propose(book.state, reading, NOW) == ()  # imported once: nothing left to propose
    version = reading.vocabulary.partition("/")[2] or aipref.CURRENT
    out = render(preferences(book.state, WORK, NOW, PAGE), case["format"], version)
    assert allowed_of(read(out.text.encode(), case["format"], aipref_version=version)) == \
        case["allowed"]


def test_a_cawg_export_is_the_assertion_with_every_entry(
        sign: Signer, keys: KeyFactory) -> None:
    book = Book(sign, keys)
    book.add("consent.grant", {"grantee": ANYONE, "purposes": ["ai_inference"]})
    book.add("consent.grant", {"grantee": keys("studio").public.text,
                               "purposes": ["ai_training"]})
    doc = json.loads(render(preferences(book.state, WORK, NOW, PAGE), "cawg").text)
    assert doc["label"] == "cawg.training-mining"
    entries = doc["data"]["entries"]
    assert {k: v["use"] for k, v in entries.items()} == {
        "cawg.ai_training": CONSTRAINED, "cawg.ai_generative_training": CONSTRAINED,
        "cawg.ai_inference": ALLOWED, "cawg.data_mining": NOT_ALLOWED}
    assert PAGE in entries["cawg.ai_training"]["constraint_info"]


def test_legacy_c2pa_labels_read_like_cawg_ones() -> None:
    doc = {"label": "c2pa.training-mining", "data": {"entries": {
        "c2pa.ai_inference": {"use": "allowed"}, "cawg.data_mining": {"use": "allowed"}}}}
    assert allowed_of(read(json.dumps(doc).encode())) == {"ai_inference": [],
                                                          "data_mining": []}


@pytest.mark.parametrize("setup", [
    "per-key grant", "licence in force", "open offer", "revoked grant to anyone",
    "expired grant to anyone", "grant to anyone on condition of payment", "nothing"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_default_deny_exports_no_allowed_without_a_grant_to_anyone(
        setup: str, fmt: str, sign: Signer, keys: KeyFactory) -> None:
    book = Book(sign, keys)
    studio = keys("studio").public.text
    everything = list(MAPPED_PURPOSES)
    if setup == "per-key grant":
        book.add("consent.grant", {"grantee": studio, "purposes": everything})
    elif setup in ("licence in force", "open offer"):
        offer = book.add("licence.offer", {"licensee": studio, "purposes": everything,
                                           "fee": {"amount": 500, "currency": "EUR"}})
        if setup == "licence in force":
            book.add("licence.accept", {"offer": offer}, key=keys("studio"))
    elif setup == "revoked grant to anyone":
        grant = book.add("consent.grant", {"grantee": ANYONE, "purposes": everything},
                         at=NOW - 3 * DAY)
        book.add("consent.revoke", {"grant": grant}, at=NOW - 2 * DAY)
    elif setup == "expired grant to anyone":
        book.add("consent.grant", {"grantee": ANYONE, "purposes": everything,
                                   "until": "2025-12-31T00:00:00Z"}, at=NOW - 3 * DAY)
    elif setup == "grant to anyone on condition of payment":
        book.add("consent.grant", {"grantee": ANYONE, "purposes": everything,
                                   "conditions": ["payment-required"]})
    prefs = preferences(book.state, WORK, NOW, PAGE)
    assert ALLOWED not in {s.use for s in prefs.stances}
    out = render(prefs, fmt)
    assert read(out.text.encode(), fmt).allowed == {}
    constrained = setup in ("per-key grant", "licence in force", "open offer",
                            "grant to anyone on condition of payment")
    assert {s.use for s in prefs.stances} == {CONSTRAINED if constrained else NOT_ALLOWED}
    # aipref says y or n; the others point to the page where a licence is got
    if fmt in ("cawg", "tdmrep"):
        assert (PAGE in out.text) == constrained
    if fmt == "rsl":  # its <content url> is the page in any case
        assert (f"<custom>{PAGE}</custom>" in out.text) == constrained


def test_an_attribution_grant_is_an_rsl_attribution_licence(
        sign: Signer, keys: KeyFactory) -> None:
    book = Book(sign, keys)
    book.add("consent.grant", {"grantee": ANYONE, "purposes": ["ai_inference"],
                               "conditions": ["attribution"]})
    text = rsl.render(preferences(book.state, WORK, NOW, PAGE))
    assert '<payment type="attribution"/>' in text
    assert allowed_of(read(text.encode())) == {"ai_inference": ["attribution"]}


@pytest.mark.parametrize("document, fmt", [
    (b'{"entries": {"cawg.ai_inference": {"use": "maybe"}}}', "cawg"),
    (b'{"entries": {"cawg.ai_inference": "allowed"}}', "cawg"),
    (b'{"entries": {"com.example.dubbing": {"use": "allowed"}}}', "cawg"),
    (b'[{"location": "/", "tdm-reservation": 2}]', "tdmrep"),
    (b'{"tdm-reservation": true}', "tdmrep"),
    (b'train-ai="y", search=?1', "aipref"),
    (b"train-ai=yes", "aipref"),
    (b"", "aipref"),
    (b"train-genai=y, train-ai=n", "aipref"),  # -02: generative alone is not ai_training
    (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
     b'<permits type="usage">search ai-index</permits></license></content></rsl>', "rsl"),
    (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/" server="https://l.example">'
     b'<license><permits type="usage">ai-all</permits></license></content></rsl>', "rsl"),
    (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
     b'<permits type="usage">ai-input</permits><permits type="geo">FR</permits></license>'
     b"</content></rsl>", "rsl"),
])
def test_an_unknown_or_absent_preference_imports_as_nothing(document: bytes, fmt: str) -> None:
    reading = read(document, fmt)
    assert reading.allowed == {"ai_generative_training": ()} if document.startswith(
        b"train-genai") else reading.allowed == {}


@pytest.mark.parametrize("name", ["hostile-billion-laughs.xml", "hostile-external-entity.xml"])
def test_an_rsl_document_with_a_dtd_is_refused_before_any_expansion(name: str) -> None:
    with pytest.raises(MalformedError, match=r"declares a DTD"):
        read((DATA / name).read_bytes(), "rsl")


@pytest.mark.parametrize("document, message", [
    (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/">' + b"<license/>" * 10_001
     + b"</content></rsl>", "more than 10000 elements"),
    (b"<rsl xmlns='https://rslstandard.org/rsl'>" + b" " * MAX_DOCUMENT_BYTES + b"</rsl>",
     "larger than"),
    (b"<rss><channel/></rss>", "not an RSL document"),
    (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/">', "not well-formed"),
    (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/a"/><content url="/b"/></rsl>',
     "2 <content> elements"),
])
def test_a_hostile_or_broken_rsl_document_is_refused(document: bytes, message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        read(document, "rsl")


@pytest.mark.parametrize("document, fmt, message", [
    (b"Train-AI=y", "aipref", "not a Content-Usage structured field"),
    (b"train-ai=y\nsearch=n", "aipref", "2 lines"),
    (b'{"entries": []}', "cawg", "not a training-mining assertion"),
    (b'{"label": "c2pa.actions", "data": {}}', "cawg", "not cawg.training-mining"),
    (b'{"a": 1, "a": 2}', "cawg", "duplicate JSON object key"),
    (b'[{"location": "/a", "tdm-reservation": 1}, {"location": "/b", "tdm-reservation": 0}]',
     "tdmrep", "give --location"),
    (b'[{"tdm-reservation": 1}]', "tdmrep", "rule 0 is not an object with a location"),
])
def test_a_malformed_document_is_one_clear_error(document: bytes, fmt: str,
                                                  message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        read(document, fmt)


def test_an_aipref_rendering_names_the_draft_it_follows(sign: Signer,
                                                        keys: KeyFactory) -> None:
    book = Book(sign, keys)
    book.add("consent.grant", {"grantee": ANYONE, "purposes": ["ai_training", "data_mining"]})
    prefs = preferences(book.state, WORK, NOW)
    assert render(prefs, "aipref").version == "draft-ietf-aipref-vocab-07"
    assert aipref.render(prefs) == "train-ai=y"
    assert aipref.render(prefs, aipref.OLDER) == \
        "all=y, train-ai=y, train-genai=y, ai-use=n, search=n"


GRANT = st.fixed_dictionaries({
    "anyone": st.booleans(),
    "purposes": st.lists(st.sampled_from(MAPPED_PURPOSES + ("ai_generation",)), min_size=1,
                         max_size=3, unique=True),
    "conditions": st.lists(st.sampled_from(("attribution", "payment-required")), max_size=2,
                           unique=True),
    "revoked": st.booleans(),
})


@settings(max_examples=40, deadline=None)
@given(grants=st.lists(GRANT, max_size=4), fmt=st.sampled_from(FORMATS),
       version=st.sampled_from(aipref.VERSIONS))
def test_export_then_import_never_allows_more_and_changes_nothing(
        grants: list[dict[str, Any]], fmt: str, version: str, sign: Signer,
        keys: KeyFactory) -> None:
    book = Book(sign, keys)
    for n, g in enumerate(grants):
        body: dict[str, Any] = {"grantee": ANYONE if g["anyone"] else keys("studio").public.text,
                                "purposes": g["purposes"]}
        if g["conditions"]:
            body["conditions"] = g["conditions"]
        grant = book.add("consent.grant", body, at=NOW - 5 * DAY + 2 * n)
        if g["revoked"]:
            book.add("consent.revoke", {"grant": grant}, at=NOW - 5 * DAY + 2 * n + 1)
    prefs = preferences(book.state, WORK, NOW, PAGE)
    reading = read(render(prefs, fmt, version).text.encode(), fmt, aipref_version=version)
    for purpose, conditions in reading.allowed.items():
        stance = prefs.stance(purpose)
        assert stance.use == ALLOWED or set(stance.conditions) <= set(conditions) != set()
    assert propose(book.state, reading, NOW) == ()


def test_the_spec_example_is_what_the_code_renders() -> None:
    """specs/vocabularies.md section 11, byte for byte, and it reads back to nothing new."""
    creator, grantee = PrivateKey.from_seed(bytes(32)), PrivateKey.from_seed(bytes([3]) * 32)
    work = work_id_of(hashlib.sha256(b"Chapter 1, page 12\n").hexdigest())
    state: WorkState | None = None
    start = parse_time("2025-11-01T09:00:00Z")
    for n, (type_, body) in enumerate([
            ("work.register", {"size": 19, "media_type": "text/plain"}),
            ("consent.grant", {"grantee": ANYONE, "purposes": ["ai_inference"]}),
            ("consent.grant", {"grantee": grantee.public.text, "purposes": ["ai_training"]})]):
        event = Event(type_, work, state.head if state else None, creator.public.text,
                      start + 60 * n, body)
        state = apply(state, sign_event(event, creator))
    prefs = preferences(state, work, parse_time("2025-11-02T00:00:00Z"),
                        f"https://node.example/works/{work}")
    spec = SPEC.read_text(encoding="utf-8")
    blocks = {"cawg": "```json\n", "tdmrep": "```json\n", "rsl": "```xml\n"}
    for fmt, fence in blocks.items():
        assert fence + render(prefs, fmt).text + "```" in spec, fmt
    aiprefs = render(prefs, "aipref").text + render(prefs, "aipref", aipref.OLDER).text
    assert "```text\n" + aiprefs + "```" in spec
    for fmt in FORMATS:
        assert propose(state, read(render(prefs, fmt).text.encode(), fmt), prefs.at) == ()


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                      st.sampled_from([(DATA / n).read_bytes() for n in sorted(EXPECTED)])
                      .flatmap(lambda b: st.integers(0, len(b)).map(lambda i: b[:i]))),
       fmt=st.sampled_from(FORMATS))
def test_any_bytes_read_as_a_reading_or_one_malformed_error(data: bytes, fmt: str) -> None:
    try:
        read(data, fmt, path="/")
    except MalformedError:
        pass
