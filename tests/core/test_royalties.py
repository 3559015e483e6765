"""Tests for provenance_ledger.core.royalties and core.payments: the rules of usage reports and
payments (specs/rules.md section 6), the split and the royalty statement (specs/royalties.md).

The statement is the worked example of specs/royalties.md section 4, built from really signed
events and replayed by the rules; every figure was computed by hand there first.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.core.money import format_amount, parse_amount
from provenance_ledger.core.royalties import Period, Query, royalty, split, statement
from provenance_ledger.core.rules import WorkState, apply
from provenance_ledger.core.timefmt import parse_time
from provenance_ledger.errors import MalformedError, RuleError

WORK = work_id_of(hashlib.sha256(b"royalties worked example").hexdigest())


def key(name: str) -> PrivateKey:
    """The keys of specs/royalties.md section 4: seed = SHA-256("royalties " + name)."""
    return PrivateKey.from_seed(hashlib.sha256(b"royalties " + name.encode()).digest())


C, A, B, L = key("creator"), key("coauthor"), key("editor"), key("licensee")


class Chain:
    """One work's events, each signed and built on the head, replayed as it grows."""

    def __init__(self, work: str = WORK) -> None:
        self.work = work
        self.events: list[SignedEvent] = []
        self.state: WorkState | None = None

    def sign(self, k: PrivateKey, type_: str, body: dict[str, Any], at: str) -> SignedEvent:
        prev = self.state.head if self.state is not None else None
        return sign_event(Event(type_, self.work, prev, k.public.text, parse_time(at), body), k)

    def do(self, k: PrivateKey, type_: str, body: dict[str, Any], at: str) -> str:
        ev = self.sign(k, type_, body, at)
        self.state = apply(self.state, ev)
        self.events.append(ev)
        return ev.id

    def refuse(self, k: PrivateKey, type_: str, body: dict[str, Any], at: str,
               match: str) -> None:
        with pytest.raises(RuleError, match=match):
            apply(self.state, self.sign(k, type_, body, at))


def usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


@pytest.fixture(scope="module")
def story() -> tuple[Chain, dict[str, str]]:
    """specs/royalties.md section 4, events 1-10."""
    w = Chain()
    ids: dict[str, str] = {}
    w.do(C, "work.register", {"size": 1, "media_type": "image/png", "payees": [
        {"key": C.public.text, "share_bps": 5000}, {"key": A.public.text, "share_bps": 3333},
        {"key": B.public.text, "share_bps": 1667}]}, "2026-01-01T00:00:00Z")
    ids["offer"] = w.do(C, "licence.offer", {"licensee": L.public.text,
                                             "purposes": ["ai_training"], "fee": usd(100000),
                                             "royalty_bps": 1250}, "2026-01-01T00:01:00Z")
    ids["accept"] = w.do(L, "licence.accept", {"offer": ids["offer"]}, "2026-01-05T00:00:00Z")
    ids["r1"] = w.do(L, "usage.report", {"licence": ids["offer"], "period": "2026-Q1",
                                         "units": 1200, "revenue": usd(1000004)},
                     "2026-04-02T00:00:00Z")
    ids["r2"] = w.do(L, "usage.report", {"licence": ids["offer"], "period": "2026-04",
                                         "units": 300, "revenue": usd(250000)},
                     "2026-05-03T00:00:00Z")
    for name, payee, amount in (("p1", C, 112500), ("p2", A, 74993), ("p3", B, 37408)):
        ids[name] = w.do(L, "payment.record", {"licence": ids["offer"], "to": payee.public.text,
                                               "amount": usd(amount), "reference": f"INV-{name}",
                                               "period": "2026-Q1"}, "2026-05-10T00:00:00Z")
    ids["ack1"] = w.do(C, "payment.ack", {"payment": ids["p1"]}, "2026-05-11T00:00:00Z")
    ids["dispute2"] = w.do(A, "payment.dispute", {"payment": ids["p2"],
                                                  "reason": "not received"},
                           "2026-05-11T00:00:00Z")
    return w, ids


# --- the split --------------------------------------------------------------------------------

K1, K2, K3 = "ed25519:" + "1" * 64, "ed25519:" + "2" * 64, "ed25519:" + "3" * 64


@pytest.mark.parametrize(("total", "shares", "parts"), [
    # specs/royalties.md section 2.2, the known answers
    (125001, [(K1, 5000), (K2, 3333), (K3, 1667)], {K1: 62500, K2: 41663, K3: 20838}),
    (7, [(K2, 5000), (K1, 5000)], {K1: 4, K2: 3}),  # a tie: the lower key
    (1, [(K1, 3333), (K2, 3334), (K3, 3333)], {K1: 0, K2: 1, K3: 0}),
    (2, [(K3, 3334), (K2, 3333), (K1, 3333)], {K1: 1, K2: 0, K3: 1}),
    (5, [(K1, 10000), (K2, 0)], {K1: 5, K2: 0}),
    (0, [(K1, 5000), (K2, 5000)], {K1: 0, K2: 0}),
], ids=["three-payees", "tie", "one-unit", "two-units-tie", "zero-share", "nothing"])
def test_split_known_answers(total: int, shares: list[tuple[str, int]],
                             parts: dict[str, int]) -> None:
    assert split(total, shares) == parts


@st.composite
def share_lists(draw: st.DrawFn) -> list[tuple[str, int]]:
    n = draw(st.integers(1, 12))
    cuts = sorted(draw(st.lists(st.integers(0, 10000), min_size=n - 1, max_size=n - 1)))
    bps = [b - a for a, b in zip([0, *cuts], [*cuts, 10000], strict=True)]
    names = draw(st.lists(st.text("0123456789abcdef", min_size=64, max_size=64),
                          min_size=n, max_size=n, unique=True))
    return [("ed25519:" + k, s) for k, s in zip(names, bps, strict=True)]


@given(st.integers(0, 2**53 - 1), share_lists())
def test_the_parts_of_any_total_add_up_to_it(total: int, shares: list[tuple[str, int]]) -> None:
    parts = split(total, shares)
    assert sum(parts.values()) == total
    for k, s in shares:  # each part is its exact share, rounded down or up by one unit
        assert parts[k] in (total * s // 10000, total * s // 10000 + 1)
        if s == 0:
            assert parts[k] == 0


def test_split_refuses_shares_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="10000"):
        split(10, [(K1, 5000), (K2, 4999)])


@pytest.mark.parametrize(("revenue", "bps", "due"), [
    (1000004, 1250, 125001),  # 125000.5: halves up
    (1000001, 1250, 125000),  # 125000.125: down
    (250000, 1250, 31250),
    (3, 1667, 1),  # 0.5001
    (2, 2500, 1),  # 0.5: up
    (1, 4999, 0),
    (2**53 - 1, 10000, 2**53 - 1),
])
def test_royalty_rounds_halves_up(revenue: int, bps: int, due: int) -> None:
    assert royalty(revenue, bps) == due


# --- the statement ----------------------------------------------------------------------------


def figures(doc: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    return {line["payee"]: tuple(line[f] for f in ("due", "paid", "acknowledged", "disputed",
                                                   "outstanding"))
            for line in doc["payees"]}


def test_worked_statement_all_time(story: tuple[Chain, dict[str, str]]) -> None:
    w, ids = story
    doc = statement([w.events], Query()).to_json()
    (lic,) = doc["licences"]
    assert (lic["due"], lic["paid"], lic["acknowledged"], lic["disputed"],
            lic["outstanding"]) == (256251, 224901, 112500, 74993, 106343)
    assert lic["currency"] == "USD" and lic["units"] == 1500 and lic["revenue"] == 1250004
    assert figures(lic) == {C.public.text: (128125, 112500, 112500, 0, 15625),
                            A.public.text: (85409, 74993, 0, 74993, 85409),
                            B.public.text: (42717, 37408, 0, 0, 5309)}
    lines = {x["payee"]: x for x in lic["payees"]}
    assert lines[A.public.text]["due_from"] == [ids["accept"], ids["r1"], ids["r2"]]
    assert lines[A.public.text]["paid_in"] == [ids["p2"]]
    assert lines[A.public.text]["answered_in"] == [ids["dispute2"]]
    assert lines[C.public.text]["answered_in"] == [ids["ack1"]]
    assert lic["reports"] == [ids["r1"], ids["r2"]] and lic["accepted_by"] == ids["accept"]


def test_worked_statement_for_one_quarter(story: tuple[Chain, dict[str, str]]) -> None:
    w, _ = story
    doc = statement([w.events], Query(period=Period.parse("2026-Q1"))).to_json()
    (lic,) = doc["licences"]
    assert figures(lic) == {C.public.text: (112500, 112500, 112500, 0, 0),
                            A.public.text: (74993, 74993, 0, 74993, 74993),
                            B.public.text: (37508, 37408, 0, 0, 100)}
    assert lic["outstanding"] == 75093


def test_a_payee_sees_its_own_line_and_an_acknowledgement_settles_a_dispute(
        story: tuple[Chain, dict[str, str]]) -> None:
    w, ids = story
    later = Chain()
    later.events, later.state = list(w.events), w.state
    later.do(A, "payment.ack", {"payment": ids["p2"]}, "2026-05-20T00:00:00Z")
    doc = statement([later.events], Query(payee=A.public.text)).to_json()
    (lic,) = doc["licences"]
    assert figures(lic) == {A.public.text: (85409, 74993, 74993, 0, 10416)}
    assert doc["totals"] == [{"payee": A.public.text, "currency": "USD", "due": 85409,
                              "paid": 74993, "acknowledged": 74993, "disputed": 0,
                              "outstanding": 10416, "overpaid": 0}]
    assert statement([later.events], Query(licensee=C.public.text)).licences == ()


# --- outstanding and overpaid, never netted (specs/royalties.md sections 3, 3.3, 3.4) ----------

P = key("publisher")


def jpy(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "JPY"}


def transfer_story() -> tuple[Chain, Chain]:
    """specs/royalties.md section 3.4: W1's fee of 3,000 JPY to the creator, paid 3,100; W1
    transferred to the publisher, to whom a report's royalty of 5,000 JPY falls due; W2's fee
    of 2,000 JPY to the creator, not paid."""
    w1, w2 = Chain(work_id_of("31" * 32)), Chain(work_id_of("32" * 32))
    for w, fee in ((w1, 3000), (w2, 2000)):
        w.do(C, "work.register", {"size": 1, "media_type": "image/png"}, "2026-01-01T00:00:00Z")
        offer = w.do(C, "licence.offer", {"licensee": L.public.text,
                                          "purposes": ["ai_training"], "fee": jpy(fee),
                                          "royalty_bps": 1000}, "2026-01-01T00:01:00Z")
        w.do(L, "licence.accept", {"offer": offer}, "2026-01-05T00:00:00Z")
        if w is w1:
            w.do(L, "payment.record", {"licence": offer, "to": C.public.text,
                                       "amount": jpy(3100)}, "2026-02-01T00:00:00Z")
            w.do(C, "work.transfer", {"to": P.public.text, "payees": [
                {"key": P.public.text, "share_bps": 10000}]}, "2026-03-01T00:00:00Z")
            w.do(L, "usage.report", {"licence": offer, "period": "2026-Q1", "units": 10,
                                     "revenue": jpy(50000)}, "2026-04-02T00:00:00Z")
    return w1, w2


def lines_of(doc: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    return {x["payee"]: (x["due"], x["paid"], x["outstanding"], x.get("overpaid"))
            for x in doc["payees"]}


def test_one_payees_overpayment_does_not_lower_anothers_outstanding() -> None:
    """The publisher is owed 5,000 JPY; the creator was paid 100 JPY too much: the licence
    says outstanding 5,000 and overpaid 100 (version 2), where version 1 netted 4,900."""
    w1, _ = transfer_story()
    doc = statement([w1.events], Query()).to_json()
    assert doc["version"] == 2
    (lic,) = doc["licences"]
    assert lines_of(lic) == {P.public.text: (5000, 0, 5000, 0), C.public.text: (3000, 3100, 0, 100)}
    assert (lic["due"], lic["paid"], lic["outstanding"], lic["overpaid"]) == (8000, 3100, 5000,
                                                                                100)
    old = statement([w1.events], Query(), version=1).to_json()
    assert "version" not in old and "overpaid" not in old["licences"][0]
    assert old["licences"][0]["outstanding"] == 4900
    assert {x["payee"]: x["outstanding"] for x in old["licences"][0]["payees"]} == {
        P.public.text: 5000, C.public.text: -100}


def test_totals_do_not_net_an_overpayment_on_one_licence_against_another() -> None:
    w1, w2 = transfer_story()
    result = statement([w1.events, w2.events], Query(licensee=L.public.text))
    totals = {t["payee"]: t for t in result.to_json()["totals"]}
    assert {k: (t["due"], t["paid"], t["outstanding"], t["overpaid"])
            for k, t in totals.items()} == {C.public.text: (5000, 3100, 2000, 100),
                                            P.public.text: (5000, 0, 5000, 0)}
    old = statement([w1.events, w2.events], Query(licensee=L.public.text), version=1)
    assert {t["payee"]: t["outstanding"] for t in old.to_json()["totals"]} == {
        C.public.text: 1900, P.public.text: 5000}


def test_figures_in_words_say_overpaid_where_it_applies() -> None:
    from provenance_ledger.core.royalties import words

    w1, _ = transfer_story()
    result = statement([w1.events], Query())
    (lic,) = result.licences
    assert words({f: result.total(lic, f) for f in result.figures}, lic.currency) == (
        "due 8,000 JPY, paid 3,100 JPY, acknowledged 0 JPY, disputed 0 JPY, outstanding "
        "5,000 JPY, overpaid 100 JPY")  # specs/royalties.md section 3.4
    publisher = lic.lines[P.public.text]
    assert words({f: publisher.figure(f) for f in result.figures}, "JPY").endswith(
        "outstanding 5,000 JPY")  # no overpaid: nothing was paid beyond what is due


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
def test_outstanding_and_overpaid_are_never_negative(due: int, paid: int, disputed: int) -> None:
    from provenance_ledger.core.royalties import Line

    line = Line("ed25519:" + "1" * 64, due=due, paid=paid + disputed, disputed=disputed)
    assert line.outstanding >= 0 and line.overpaid >= 0
    assert min(line.outstanding, line.overpaid) == 0
    assert line.outstanding - line.overpaid == line.figure("outstanding", 1) == due - paid


# --- the rules (specs/rules.md section 6) ------------------------------------------------------


def test_rules_refuse_what_no_licensee_or_payee_would_state(
        story: tuple[Chain, dict[str, str]]) -> None:
    w, ids = story
    at = "2026-05-12T00:00:00Z"
    report = {"licence": ids["offer"], "period": "2026-05", "units": 1, "revenue": usd(100)}
    w.refuse(C, "usage.report", report, at, "must be signed by its licensee")
    w.refuse(L, "usage.report", {**report, "revenue": {"amount": 100, "currency": "EUR"}}, at,
             "is in USD: a usage report in EUR is refused")
    w.refuse(L, "usage.report", {**report, "licence": "ab" * 32}, at, "no licence")
    pay = {"licence": ids["offer"], "to": B.public.text, "amount": {"amount": 5,
                                                                    "currency": "JPY"}}
    w.refuse(L, "payment.record", pay, at, "is in USD: a payment in JPY")
    w.refuse(L, "payment.record", {**pay, "amount": usd(5), "to": L.public.text}, at,
             "not a payee")
    w.refuse(A, "payment.ack", {"payment": ids["p3"]}, at, "only the payee")
    w.refuse(B, "payment.ack", {"payment": "cd" * 32}, at, "no payment")
    w.refuse(C, "payment.ack", {"payment": ids["p1"]}, at, "already acknowledged")
    w.refuse(A, "payment.dispute", {"payment": ids["p2"], "reason": "again"}, at,
             "already disputed")


def test_usage_needs_an_accepted_licence() -> None:
    w = Chain()
    w.do(C, "work.register", {"size": 1, "media_type": "image/png"}, "2026-01-01T00:00:00Z")
    offer = w.do(C, "licence.offer", {"licensee": L.public.text, "purposes": ["ai_training"],
                                      "royalty_bps": 500}, "2026-01-01T00:00:00Z")
    report = {"licence": offer, "period": "2026", "units": 1, "revenue": usd(100)}
    w.refuse(L, "usage.report", report, "2026-01-02T00:00:00Z", "never accepted")
    w.do(L, "licence.accept", {"offer": offer}, "2026-01-02T00:00:00Z")
    # no fee: the first report fixes the licence's currency
    w.do(L, "usage.report", {**report, "revenue": {"amount": 100, "currency": "JPY"}},
         "2026-01-03T00:00:00Z")
    w.refuse(L, "usage.report", report, "2026-01-03T00:00:00Z", "is in JPY")


# --- periods and amounts ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2026", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
    ("2026-Q3", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z"),
    ("2026-Q4", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"),
    ("2026-09", "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z"),
    ("2024-02", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"),
])
def test_periods(text: str, start: str, end: str) -> None:
    p = Period.parse(text)
    assert (p.start, p.end) == (parse_time(start), parse_time(end))


def test_period_nesting_and_bad_periods() -> None:
    assert Period.parse("2026-09").within(Period.parse("2026-Q3"))
    assert Period.parse("2026-Q3").within(Period.parse("2026"))
    assert not Period.parse("2026").within(Period.parse("2026-Q3"))
    for bad in ("2026-Q5", "2026-13", "26", "2026-9", "1969", "2026-q3", "2026-W01"):
        with pytest.raises(MalformedError, match="not a period"):
            Period.parse(bad)


@pytest.mark.parametrize(("text", "code", "minor"), [
    ("1234.56", "USD", 123456), ("12", "usd", 1200), ("12.5", "EUR", 1250),
    ("50000", "JPY", 50000), ("1.234", "BHD", 1234), ("0.0001", "CLF", 1),
])
def test_amounts_in_minor_units(text: str, code: str, minor: int) -> None:
    amount, cur = parse_amount(text, code, "--amount")
    assert (amount, cur) == (minor, code.upper())
    assert format_amount(amount, cur, grouped=False) == (
        f"{text}{'.00' if text == '12' else '0' if text == '12.5' else ''} {cur}")


@pytest.mark.parametrize(("text", "code", "error"), [
    ("12.345", "USD", "fraction of USD's smallest unit"),
    ("0.5", "JPY", "JPY has no minor unit"),
    ("1,000", "USD", "not an amount"),
    ("-5", "USD", "not an amount"),
    ("1e3", "USD", "not an amount"),
    ("5", "XAU", "no minor unit in ISO 4217"),
    ("5", "ABC", "not an ISO 4217 code"),
    ("90071992547409.92", "USD", "over the largest amount"),
])
def test_bad_amounts(text: str, code: str, error: str) -> None:
    with pytest.raises(MalformedError, match=error):
        parse_amount(text, code, "--amount")


def test_the_usage_report_of_events_md_is_the_spec_example() -> None:
    """specs/events.md section 6.12's known answer: these bytes, this id."""
    from pathlib import Path

    studio = PrivateKey.from_seed(bytes([3]) * 32)
    work = work_id_of(hashlib.sha256(b"Chapter 1, page 12\n").hexdigest())
    ev = sign_event(Event(
        "usage.report", work, "bee91faef4d926add013b9b6c617588e124f0b265130374d29914dcd93313e8f",
        studio.public.text, parse_time("2026-10-01T09:00:00Z"),
        {"licence": "a13e62ebc9612da1aac7d0efd538fe9ae1b214d74402d560c79c7194fabad7df",
         "period": "2026-Q3", "units": 1200, "revenue": {"amount": 845000, "currency": "EUR"}}),
        studio)
    spec = (Path(__file__).resolve().parents[2] / "specs" / "events.md").read_text("utf-8")
    assert f"```\n{ev.leaf.decode()}\n```" in spec
    assert f"Event id: `{ev.id}`" in spec and f"Leaf ({len(ev.leaf)} bytes)" in spec


def test_amounts_in_words_are_the_spec_known_answers() -> None:
    """specs/royalties.md section 3.2's table: each amount as ``royalties`` and ``verify``
    print it, in major units by the currency's exponent."""
    import re
    from pathlib import Path

    from provenance_ledger.core.royalties import describe

    spec = (Path(__file__).resolve().parents[2] / "specs" / "royalties.md").read_text("utf-8")
    section = spec.split("### 3.2 Amounts in words")[1].split("## 4.")[0]
    rows = re.findall(r"^\| (-?\d+) \| (`[A-Z]{3}`|none) \| `([^`]+)` \|$", section, re.M)
    assert len(rows) == 8
    for amount, code, words in rows:
        assert describe(int(amount), None if code == "none" else code.strip("`")) == words
