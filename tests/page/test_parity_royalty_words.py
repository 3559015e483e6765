"""The page says a royalty receipt's amounts as ``provenance verify`` and ``royalties`` do: in
major units with the currency, by its ISO 4217 exponent (``120.00 EUR``, ``173,457 JPY``,
``1.250 BHD``; specs/royalties.md section 3.2), in English word for word and in Japanese, from
the page's own copy of the ISO 4217 table, which must be the one the CLI reads (the
``iso4217`` package). In a file of its own, beside test_parity_words.py, so that
pytest-xdist's loadscope can run the two on different workers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from iso4217 import Currency
from playwright.sync_api import Page

from provenance_ledger.core.money import MAX_AMOUNT
from provenance_ledger.core.royalties import describe
from tests.cli.conftest import log_key
from tests.cli.test_royalty_words import FIGURE_LINES, Priced, priced_licences

from .conftest import INDEX, ReceiptFolder, royalty_lines
from .test_parity import compare


@dataclasses.dataclass
class PricedFolder(ReceiptFolder):
    home: Path
    priced: Priced


@pytest.fixture(scope="module")
def priced(tmp_path_factory: pytest.TempPathFactory) -> PricedFolder:
    made = priced_licences(tmp_path_factory.mktemp("page-royalty-words"))
    return PricedFolder(made.receipt.parent, made.home, made)


def test_page_says_royalty_amounts_as_verify_does(page: Page, priced: PricedFolder) -> None:
    page.goto(INDEX.as_uri())
    receipt = priced.priced.receipt.read_bytes()
    seen, ok, out = compare(page, priced, "priced royalties", receipt,  # type: ignore[arg-type]
                            log_key(priced.home), None)
    assert ok and seen["check"] is None, out
    said = [page.inner_text("#royalties"), *page.inner_text("#royalty-licences").splitlines()]
    assert royalty_lines(out, len(said)) == said
    for name, lid in priced.priced.licences.items():
        assert f"licence {lid}: {FIGURE_LINES[name]}" in said, (name, said)
    page.click("#lang-ja")
    ja = page.inner_text("#royalty-licences")
    jpy = priced.priced.licences["jpy"]
    assert (f"ライセンス {jpy}：支払うべき額 173,457 JPY、支払済み 200,000 JPY、"
            "受領確認済み 200,000 JPY、異議あり 0 JPY、未払い 0 JPY、"
            "過払い 26,543 JPY") in ja.splitlines()
    assert "支払うべき額 1.250 BHD" in ja and "未払い 0（通貨未定）" in ja
    assert "最小単位" not in ja


def test_page_amounts_are_the_cli_amounts(page: Page) -> None:
    """The page's ISO 4217 table is the package's, and each amount is worded as
    core/royalties.py ``describe`` words it: grouping, decimals, a negative figure, a code
    with no minor unit, no code yet; and the timeline's usage report and payment too."""
    page.goto(INDEX.as_uri())
    table = page.evaluate("Object.fromEntries(PLWords.exponents)")
    assert table == {c.code: c.exponent for c in Currency if c.exponent is not None}
    cases = [(amount, code) for code in ("EUR", "JPY", "BHD", "CLF", "XTS", "XAU", None)
             for amount in (0, 5, -5, 12000, 100000, -26543, 1234567, MAX_AMOUNT, -MAX_AMOUNT)]
    worded = page.evaluate("(cases) => cases.map(([a, c]) => PLWords.amount(BigInt(a), c))",
                           [[str(a), c] for a, c in cases])
    assert worded == [describe(a, c) for a, c in cases]
    lines = page.evaluate("""() => [
      PLWords.en.eventLine({type: "usage.report", actor: "k", body: {licence: "l", period: "2026",
        units: 7, revenue: {amount: 1234567, currency: "JPY"}}}),
      PLWords.en.eventLine({type: "payment.record", actor: "k", body: {licence: "l", to: "p",
        amount: {amount: 12000, currency: "EUR"}}}),
      PLWords.ja.eventLine({type: "payment.record", actor: "k", body: {licence: "l", to: "p",
        amount: {amount: 1250, currency: "BHD"}}}),
      PLWords.en.eventLine({type: "payment.record", actor: "k", body: {licence: "l", to: "p",
        amount: {amount: 1.5, currency: "EUR"}}})]""")
    assert lines[0].endswith("revenue 1,234,567 JPY")
    assert lines[1].startswith("Payment of 120.00 EUR recorded")
    assert "1.250 BHD の支払い" in lines[2]
    assert lines[3].startswith("Payment of 1.5 EUR recorded")  # unchecked: shown as it is


def test_an_edited_statement_is_said_as_such(page: Page, priced: PricedFolder) -> None:
    """A royalty receipt whose statement was edited (a figure lowered) is refused by both the
    page and ``provenance verify`` as a changed statement, and the page says so in the
    statement's words, not as an edited event (the events are intact)."""
    page.goto(INDEX.as_uri())
    receipt = json.loads(priced.priced.receipt.read_text())
    first = receipt["statement"]["licences"][0]
    edited = {**receipt, "statement": {**receipt["statement"], "licences": [
        {**first, "due": first["due"] - 1}, *receipt["statement"]["licences"][1:]]}}
    seen, ok, out = compare(page, priced, "statement edited", edited,  # type: ignore[arg-type]
                            log_key(priced.home), None)
    assert not ok and seen == {"state": "invalid", "check": "decoded"}, out
    assert page.inner_text("#failed-check") == (
        "Failed check: the royalty statement written in the receipt")
    meaning = page.inner_text("#meaning")
    assert meaning.startswith("The royalty statement written in the receipt is not what its "
                              "proven events give"), meaning
    assert "readable copy of the event" not in page.inner_text("#explain")
    page.click("#lang-ja")
    assert page.inner_text("#failed-check") == (
        "不合格になった検査：受領証に書かれたロイヤリティ明細")
    assert page.inner_text("#meaning").startswith("受領証に書かれたロイヤリティ明細は")
    page.click("#lang-en")


def test_the_statement_and_its_version_stand_as_sentences(page: Page, priced: PricedFolder
                                                          ) -> None:
    """The royalty statement and its version line each start with a capital on the page (they
    stand alone there), while verify's lines go on after "OK: " and an indent."""
    page.goto(INDEX.as_uri())
    seen, ok, out = compare(page, priced, "priced royalties",  # type: ignore[arg-type]
                            priced.priced.receipt.read_bytes(), log_key(priced.home), None)
    assert ok, out
    assert page.inner_text("#royalties").startswith("As of checkpoint ")
    assert page.inner_text("#royalty-version").startswith("Statement version ")
    assert out.splitlines()[0].startswith("OK: as of checkpoint ")
