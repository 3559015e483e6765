"""``usage report``, ``payment record|ack|dispute``, ``royalties`` and ``verify`` of a royalty
receipt, through the real CLI (specs/royalties.md, specs/rules.md section 6, specs/receipts.md
section 15).

One home is built once in process (the worked example of specs/royalties.md section 4, with
three payees, appended at the example's own times, so the figures are the hand-checked ones);
each test that writes works on a copy of it. Refusals go through the real CLI: one line, exit
2, nothing appended.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, sign_event, work_id_of
from provenance_ledger.core.timefmt import parse_time
from provenance_ledger.ledger import Home

from .conftest import assert_one_error_line, log_key, run, run_json, stored_sizes

WORK = work_id_of("ab" * 32)


def usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A home holding specs/royalties.md section 4: the creator ('default') shares the work
    with 'coauthor' and 'editor'; 'studio' is the licensee."""
    home = tmp_path_factory.mktemp("royalties") / "home"
    h = Home(home)
    h.ensure()
    k = {name: h.keys.create(name) for name in ("default", "coauthor", "editor", "studio")}
    ledger = h.open_ledger()
    head: list[str | None] = [None]
    ids: dict[str, str] = {}

    def do(name: str, who: PrivateKey, type_: str, body: dict[str, Any], at: str) -> None:
        ev = sign_event(Event(type_, WORK, head[0], who.public.text, parse_time(at), body), who)
        ledger.append(ev.leaf, parse_time(at))
        head[0] = ids[name] = ev.id

    c, a, b, lic = k["default"], k["coauthor"], k["editor"], k["studio"]
    try:
        do("reg", c, "work.register", {"size": 1, "media_type": "image/png", "payees": [
            {"key": c.public.text, "share_bps": 5000},
            {"key": a.public.text, "share_bps": 3333},
            {"key": b.public.text, "share_bps": 1667}]}, "2026-01-01T00:00:00Z")
        do("offer", c, "licence.offer", {"licensee": lic.public.text,
                                          "purposes": ["ai_training"], "fee": usd(100000),
                                          "royalty_bps": 1250}, "2026-01-01T00:01:00Z")
        do("accept", lic, "licence.accept", {"offer": ids["offer"]}, "2026-01-05T00:00:00Z")
        do("r1", lic, "usage.report", {"licence": ids["offer"], "period": "2026-Q1",
                                       "units": 1200, "revenue": usd(1000004)},
           "2026-04-02T00:00:00Z")
        do("r2", lic, "usage.report", {"licence": ids["offer"], "period": "2026-04",
                                       "units": 300, "revenue": usd(250000)},
           "2026-05-03T00:00:00Z")
        for name, payee, amount in (("p1", c, 112500), ("p2", a, 74993), ("p3", b, 37408)):
            do(name, lic, "payment.record", {"licence": ids["offer"], "to": payee.public.text,
                                             "amount": usd(amount), "period": "2026-Q1"},
               "2026-05-10T00:00:00Z")
        do("ack1", c, "payment.ack", {"payment": ids["p1"]}, "2026-05-11T00:00:00Z")
        do("dispute2", a, "payment.dispute", {"payment": ids["p2"], "reason": "not received"},
           "2026-05-11T00:00:00Z")
    finally:
        ledger.close()
    return {"home": home, "ids": ids, "keys": {n: x.public.text for n, x in k.items()}}


@pytest.fixture
def copy(story: dict[str, Any], tmp_path: Path) -> Path:
    """A copy of the story's home that a test may write to."""
    home = tmp_path / "home"
    shutil.copytree(story["home"], home)
    return home


def figures(lic: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    return {x["payee"]: (x["due"], x["paid"], x["acknowledged"], x["disputed"],
                         x["outstanding"]) for x in lic["payees"]}


def test_the_statement_is_the_hand_checked_one(story: dict[str, Any]) -> None:
    k, ids = story["keys"], story["ids"]
    doc = run_json("royalties", "--work", WORK, "--json", home=story["home"])
    (lic,) = doc["licences"]
    assert figures(lic) == {k["default"]: (128125, 112500, 112500, 0, 15625),
                            k["coauthor"]: (85409, 74993, 0, 74993, 85409),
                            k["editor"]: (42717, 37408, 0, 0, 5309)}
    assert (lic["licence"], lic["accepted_by"], lic["reports"]) == (
        ids["offer"], ids["accept"], [ids["r1"], ids["r2"]])
    quarter = run("royalties", "--licensee", k["studio"], "--period", "2026-Q1", "--csv",
                  home=story["home"]).out.splitlines()
    assert quarter[0] == ("licence,work,licensee,payee,currency,due,paid,acknowledged,"
                          "disputed,outstanding,overpaid,events")
    # major units of the row's currency, exact decimals (specs/cli.md section 3.15)
    rows = {r.split(",")[3]: r.split(",")[4:11] for r in quarter[1:]}
    assert rows[k["editor"]] == ["USD", "375.08", "374.08", "0.00", "0.00", "1.00", "0.00"]
    assert rows[k["coauthor"]] == ["USD", "749.93", "749.93", "0.00", "749.93", "749.93",
                                   "0.00"]
    text = run("royalties", "--payee", k["coauthor"], home=story["home"]).out
    assert "outstanding 854.09 USD" in text and "your key 'coauthor'" in text
    assert ("  due 2,562.51 USD, paid 2,249.01 USD, acknowledged 1,125.00 USD, disputed 749.93 "
            "USD, outstanding 1,063.43 USD") in run("royalties", "--work", WORK,
                                                    home=story["home"]).out.splitlines()
    assert k["editor"] not in text  # a payee sees its own line


@pytest.mark.parametrize(("args", "error"), [
    (("usage", "report", "{offer}", "--period", "2026-05", "--units", "1", "--revenue", "1.00",
      "USD"), "must be signed by its licensee .*; that is your key 'studio': add --key studio"),
    (("usage", "report", "{offer}", "--period", "2026-05", "--units", "1", "--revenue", "1.00",
      "EUR", "--key", "studio"), "is in USD: a usage report in EUR is refused"),
    (("payment", "record", "{offer}", "--to", "{editor}", "--amount", "5", "JPY", "--key",
      "studio"), "is in USD: a payment in JPY is refused"),
    (("payment", "ack", "{p3}", "--key", "coauthor"),
     "only the payee .* may answer payment .*; that is your key 'editor'"),
    (("usage", "report", "f" * 64, "--period", "2026-05", "--units", "1", "--revenue", "1",
      "USD", "--key", "studio"), "no event 'f+' in this log"),
    (("payment", "ack", "{r1}", "--key", "editor"), "no payment .* on work"),
    (("usage", "report", "{offer}", "--period", "2026-05", "--units", "1", "--revenue",
      "1.234", "USD", "--key", "studio"), "--revenue: 1.234 USD is a fraction"),
    (("usage", "report", "{offer}", "--period", "2026-13", "--units", "1", "--revenue", "1",
      "USD", "--key", "studio"), "--period '2026-13' is not a period"),
    (("usage", "report", "{offer}", "--period", "2999", "--units", "1", "--revenue", "1", "USD",
      "--key", "studio"),
     r"^error: --period 2999 has not begun \(it starts 2999-01-01\): usage is reported after "
     r"the fact$"),
    (("payment", "record", "{offer}", "--to", "{editor}", "--amount", "0.00", "USD", "--key",
      "studio"), r"^error: --amount: 0 USD is no payment: give the amount paid$"),
    (("payment", "record", "{offer}", "--to", "{editor}", "--amount", "1.00", "USD",
      "--period", "2999-Q2", "--key", "studio"),
     r"^error: --period 2999-Q2 has not begun \(it starts 2999-04-01\): a payment is recorded "
     r"for a period that has begun$"),
], ids=["usage-by-another-key", "usage-in-another-currency", "payment-in-another-currency",
        "ack-by-another-payee", "unknown-licence", "ack-of-no-payment", "fraction-of-a-cent",
        "bad-period", "report-of-a-period-to-come", "payment-of-nothing",
        "payment-for-a-period-to-come"])
def test_refusals_are_one_line_exit_2_and_append_nothing(
        story: dict[str, Any], args: tuple[str, ...], error: str) -> None:
    names = {**story["ids"], **story["keys"]}
    home = story["home"]
    before = stored_sizes(home)
    result = run(*(a.format(**names) for a in args), home=home, ok_codes=(2,))
    assert re.search(error, assert_one_error_line(result))
    assert stored_sizes(home) == before


def test_a_payee_settles_its_dispute_and_the_statement_follows(
        story: dict[str, Any], copy: Path) -> None:
    ids, k = story["ids"], story["keys"]
    acked = run_json("payment", "ack", ids["p2"][:12], "--key", "coauthor", "--json",
                     home=copy)
    assert acked["type"] == "payment.ack"
    doc = run_json("royalties", "--payee", k["coauthor"], "--json", home=copy)
    assert figures(doc["licences"][0]) == {k["coauthor"]: (85409, 74993, 74993, 0, 10416)}
    paid = run_json("payment", "record", ids["offer"], "--to", k["coauthor"], "--amount",
                    "104.16", "USD", "--reference", "INV-8", "--key", "studio", "--json",
                    home=copy)
    doc = run_json("royalties", "--payee", k["coauthor"], "--json", home=copy)
    line = doc["licences"][0]["payees"][0]
    assert line["outstanding"] == 0 and line["paid_in"][-1] == paid["id"]


def test_the_receipt_verifies_offline_and_a_tampered_one_does_not(
        story: dict[str, Any], copy: Path) -> None:
    k = story["keys"]
    receipt = copy.parent / "royalties.receipt.json"
    run("royalties", "--payee", k["editor"], "--period", "2026-Q1", "--receipt", receipt,
        home=copy)
    vkey = log_key(copy)
    ok = run("verify", receipt, "--log-key", vkey, home=copy).out
    figures = ("due 375.08 USD, paid 374.08 USD, acknowledged 0.00 USD, disputed 0.00 USD, "
               "outstanding 1.00 USD")  # specs/royalties.md section 3.2
    assert ok.startswith("OK: ") and f"  licence {story['ids']['offer']}: {figures}" in ok
    assert json.loads(receipt.read_text())["format"] == "provenance-ledger/royalty-receipt/v3"
    assert ("  statement version 2 (royalty receipt v3): outstanding and overpaid per payee, "
            "never netted") in ok.splitlines()
    said = run("royalties", "--payee", k["editor"], "--period", "2026-Q1", home=copy).out
    assert f"    {figures}" in said.splitlines()  # the editor's line: the licence's one
    doc = json.loads(receipt.read_text())
    doc["statement"]["licences"][0]["payees"][0]["paid"] = 37508  # claims it was paid in full
    receipt.write_text(json.dumps(doc))
    bad = run("verify", receipt, "--log-key", vkey, home=copy, ok_codes=(1,))
    assert "statement is not what the proven events give" in assert_one_error_line(bad)
    doc = json.loads(receipt.read_text())
    doc["statement"] = None  # no claim left: the proof itself must still hold
    doc["state_receipt"]["works"][0]["events"].pop()  # the dispute left out
    receipt.write_text(json.dumps(doc))
    bad = run("verify", receipt, "--log-key", vkey, home=copy, ok_codes=(1,))
    assert "royalty receipt does not verify" in assert_one_error_line(bad)


def test_the_same_report_or_payment_again_is_not_counted_twice(
        story: dict[str, Any], copy: Path) -> None:
    """A report or payment run again (an answer lost, a script re-run) is reported as logged
    already and appends nothing; the statement keeps its figures; --again logs a further one
    (specs/cli.md section 2.4). A statement that differs in any field is logged."""
    ids, k = story["ids"], story["keys"]
    report = ("usage", "report", ids["offer"], "--period", "2026-Q1", "--units", "1200",
              "--revenue", "10000.04", "USD", "--key", "studio")
    before = run_json("royalties", "--work", WORK, "--json", home=copy)
    sizes = stored_sizes(copy)
    again = run(*report, home=copy)
    assert again.out.startswith(f"already reported: this report is logged as {ids['r1']}\n")
    assert "add --again" in again.err
    doc = run_json(*report, "--json", home=copy)
    assert (doc["status"], doc["id"]) == ("exists", ids["r1"])
    assert json.loads(Path(doc["receipt"]).read_text())["event"]["id"] == ids["r1"]
    payment = ("payment", "record", ids["offer"], "--to", k["editor"], "--amount", "374.08",
               "USD", "--period", "2026-Q1", "--key", "studio", "--json")
    assert (run_json(*payment, home=copy)["status"], run_json(*payment, home=copy)["id"]) == (
        "exists", ids["p3"])
    assert stored_sizes(copy) == sizes
    assert run_json("royalties", "--work", WORK, "--json", home=copy) == before

    not_yours = run(*report[:-2], home=copy, ok_codes=(2,))  # the creator's default key
    assert "must be signed by its licensee" in assert_one_error_line(not_yours)
    assert stored_sizes(copy) == sizes

    further = run_json(*report, "--again", "--json", home=copy)
    assert further["status"] == "logged" and further["id"] != ids["r1"]
    other = run_json(*payment[:-1], "--reference", "second transfer", "--json", home=copy)
    assert other["status"] == "logged" and other["id"] != ids["p3"]
    (lic,) = run_json("royalties", "--work", WORK, "--json", home=copy)["licences"]
    assert lic["reports"] == [ids["r1"], ids["r2"], further["id"]]


def test_an_answer_by_a_key_that_is_not_the_payee_is_refused_not_called_a_repeat(
        story: dict[str, Any], copy: Path) -> None:
    """specs/cli.md section 2.4: a payment acknowledged (or disputed) by its payee, answered
    again by another key (the licensee's), is the rules' refusal naming the payee's key, exit
    2, nothing appended; it was answered 'already acknowledged', exit 0. The payee's own
    repeat still is one."""
    ids = story["ids"]
    sizes = stored_sizes(copy)
    for args in (("payment", "ack", ids["p1"], "--key", "studio"),
                 ("payment", "dispute", ids["p2"], "--reason", "not received", "--key",
                  "studio")):
        line = assert_one_error_line(run(*args, home=copy, ok_codes=(2,)))
        assert "already" not in line and "that is your key" in line, line
    assert stored_sizes(copy) == sizes
    again = run("payment", "ack", ids["p1"], home=copy)  # the payee, 'default'
    assert again.out.startswith("already acknowledged: ")
    assert stored_sizes(copy) == sizes


# --- outstanding and overpaid, never netted (specs/royalties.md sections 3, 3.4) -------------

RELEASE = Path(__file__).resolve().parents[1] / "data" / "royalties" / "release"


@pytest.fixture(scope="module")
def transferred(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """specs/royalties.md section 3.4 through the real CLI, at today's clock: page 1 licensed
    to the studio for 3,000 JPY and 10 %, the creator paid 3,100 JPY (100 too much), page 1
    transferred to the publisher, 50,000 JPY of revenue reported (5,000 JPY to the
    publisher); page 2 licensed for 2,000 JPY, not paid."""
    root = tmp_path_factory.mktemp("transfer")
    home = root / "home"
    h = Home(home)  # the keys are made in process: the key commands are not tested here
    h.ensure()
    k = {n: h.keys.create(n).public.text for n in ("default", "publisher", "studio")}
    pages = []
    for n in (1, 2):
        pages.append(root / f"page-{n}.txt")
        pages[-1].write_text(f"page {n} of the book\n")
        run("anchor", pages[-1], home=home)
    l1 = run_json("licence", "offer", pages[0], "--to", k["studio"], "--purpose",
                  "ai_training", "--fee", "3000", "JPY", "--royalty-bps", "1000", "--json",
                  home=home)["id"]
    run("licence", "accept", l1, "--key", "studio", home=home)
    run("payment", "record", l1, "--to", k["default"], "--amount", "3100", "JPY", "--key",
        "studio", home=home)
    run("transfer", pages[0], "--to", k["publisher"], home=home)
    run("usage", "report", l1, "--period", "2026", "--units", "10", "--revenue", "50000",
        "JPY", "--key", "studio", home=home)
    l2 = run_json("licence", "offer", pages[1], "--to", k["studio"], "--purpose",
                  "ai_training", "--fee", "2000", "JPY", "--json", home=home)["id"]
    run("licence", "accept", l2, "--key", "studio", home=home)
    return {"home": home, "keys": k, "licences": (l1, l2)}


def test_one_payees_overpayment_is_not_netted_against_anothers_due(
        transferred: dict[str, Any]) -> None:
    """The publisher is owed 5,000 JPY; the creator was paid 100 too much: the licence says
    outstanding 5,000 and overpaid 100, in the JSON, the text and the CSV."""
    home, k, (l1, l2) = transferred["home"], transferred["keys"], transferred["licences"]
    doc = run_json("royalties", "--licensee", "studio", "--json", home=home)
    assert doc["version"] == 2
    lic = {x["licence"]: x for x in doc["licences"]}
    assert {x["payee"]: (x["due"], x["paid"], x["outstanding"], x["overpaid"])
            for x in lic[l1]["payees"]} == {k["publisher"]: (5000, 0, 5000, 0),
                                            k["default"]: (3000, 3100, 0, 100)}
    assert (lic[l1]["outstanding"], lic[l1]["overpaid"]) == (5000, 100)
    # the totals across the two licences: the creator's 100 overpaid on licence 1 does not
    # lower the 2,000 it is owed on licence 2
    totals = {t["payee"]: (t["due"], t["paid"], t["outstanding"], t["overpaid"])
              for t in doc["totals"]}
    assert totals == {k["default"]: (5000, 3100, 2000, 100), k["publisher"]: (5000, 0, 5000, 0)}
    text = run("royalties", "--licensee", "studio", home=home).out.splitlines()
    assert ("  due 8,000 JPY, paid 3,100 JPY, acknowledged 0 JPY, disputed 0 JPY, outstanding "
            "5,000 JPY, overpaid 100 JPY") in text
    assert ("    due 3,000 JPY, paid 3,100 JPY, acknowledged 0 JPY, disputed 0 JPY, "
            "outstanding 0 JPY, overpaid 100 JPY") in text
    assert (f"  {k['default']}: due 5,000 JPY, paid 3,100 JPY, acknowledged 0 JPY, disputed "
            "0 JPY, outstanding 2,000 JPY, overpaid 100 JPY") in text
    assert ("    due 5,000 JPY, paid 0 JPY, acknowledged 0 JPY, disputed 0 JPY, outstanding "
            "5,000 JPY") in text  # the publisher's line: nothing overpaid, nothing said of it
    rows = run("royalties", "--work", transferred["home"].parent / "page-2.txt",
               "--csv", home=home).out.splitlines()
    assert rows[1].split(",")[0] == l2
    assert rows[1].split(",")[4:11] == ["JPY", "2000", "0", "0", "0", "2000", "0"]


def test_csv_amounts_are_major_units_of_the_currency_column(tmp_path: Path) -> None:
    """12000 EUR minor units is ``120.00``, 1250 BHD minor units ``1.250``: a spreadsheet
    reads the figure it shows (specs/cli.md section 3.15); ``--json`` keeps minor units."""
    home = tmp_path / "home"
    h = Home(home)
    h.ensure()
    studio = h.keys.create("studio").public.text
    h.keys.create("default")
    for name, fee in (("eur", ("120.00", "EUR")), ("bhd", ("1.250", "BHD"))):
        page = tmp_path / f"{name}.txt"
        page.write_text(f"a page for {' '.join(fee)}\n")
        run("anchor", page, home=home)
        lid = run_json("licence", "offer", page, "--to", studio, "--purpose", "ai_training",
                       "--fee", *fee, "--json", home=home)["id"]
        run("licence", "accept", lid, "--key", "studio", home=home)
    rows = run("royalties", "--licensee", "studio", "--csv", home=home).out.splitlines()
    by_currency = {r.split(",")[4]: r.split(",")[5:11] for r in rows[1:]}
    assert by_currency == {"EUR": ["120.00", "0.00", "0.00", "0.00", "120.00", "0.00"],
                           "BHD": ["1.250", "0.000", "0.000", "0.000", "1.250", "0.000"]}
    doc = run_json("royalties", "--licensee", "studio", "--json", home=home)
    assert sorted(x["due"] for x in doc["licences"]) == [1250, 12000]


@pytest.mark.parametrize("name", ["v1-two-licences.json", "v2-two-licences.json"])
def test_a_receipt_of_the_release_before_still_verifies_with_its_statement(
        name: str, tmp_path: Path) -> None:
    """tests/data/royalties/release: receipts v1 and v2 made by the release before statement
    version 2 verify as they were written (statement version 1, netted), and ``verify`` says
    which version (specs/receipts.md section 15.4)."""
    home = tmp_path / "home"
    vkey = (RELEASE / "log_key.txt").read_text().strip()
    out = run("verify", RELEASE / name, "--log-key", vkey, home=home).out.splitlines()
    version = name[:2]
    assert out[0].startswith("OK: ")
    assert any(x.endswith("due 8,000 JPY, paid 3,100 JPY, acknowledged 0 JPY, disputed 0 "
                          "JPY, outstanding 4,900 JPY") for x in out), out
    assert (f"  statement version 1 (royalty receipt {version}): outstanding is due less paid, "
            "summed over the payees, so one payee's overpayment lowers another's outstanding "
            "(a receipt made now says outstanding and overpaid apart)") in out
    doc = run_json("verify", RELEASE / name, "--log-key", vkey, "--json", home=home)
    assert (doc["format"], doc["statement_version"]) == (
        f"provenance-ledger/royalty-receipt/{version}", 1)
    assert doc["statement"] == json.loads((RELEASE / name).read_text())["statement"]
    edited = json.loads((RELEASE / name).read_text())
    edited["format"] = "provenance-ledger/royalty-receipt/v3"  # passed off as a new one
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    bad = run("verify", tmp_path / "edited.json", "--log-key", vkey, home=home, ok_codes=(1,))
    assert "royalty receipt does not verify" in assert_one_error_line(bad)
