"""The page's history, an explorer with no witness and an anchor receipt's place in the log,
in words a reader without the CLI understands: a licence offer's terms as ``status`` and
``offers`` word them (cli/listing.py ``describe_terms``), in English and Japanese; a node that
names no witness said to have none; an entry's number counted from one, with its zero-based
index beside it (the index is what a proof and the CLI name)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from provenance_ledger.cli.listing import describe_terms

from .conftest import INDEX, PAGE_TIMEOUT_MS, Receipts, check_in_page, witness
from .test_page_explorer_faults import explorer_answer
from .test_page_served_errors import answer_json, stand_in

OFFERS: list[dict[str, Any]] = [
    {"fee": {"amount": 5000000, "currency": "JPY"}, "royalty_bps": 1250},
    {"fee": {"amount": 12000, "currency": "EUR"}, "territories": ["JP", "FR"],
     "terms_uri": "https://example.org/terms"},
    {"royalty_bps": 1},
    {},
]


@pytest.mark.parametrize("terms", OFFERS)
def test_a_licence_offer_in_the_history_says_its_terms(page: Page, terms: dict[str, Any]
                                                       ) -> None:
    page.goto(INDEX.as_uri())
    body = {"licensee": "ed25519:" + "ab" * 32, "purposes": ["ai_training"], **terms}
    en, ja = page.evaluate("""(body) => ["en", "ja"].map((lang) =>
        PLWords[lang].eventLine({type: "licence.offer", actor: "k", body}))""", body)
    assert en.endswith(": " + describe_terms(terms)), en
    assert "（）" not in ja, ja
    if "fee" in terms:
        assert describe_terms({"fee": terms["fee"]}).split(", ")[0].removeprefix("fee ") in ja
    else:
        assert "料金なし" in ja
    if "royalty_bps" in terms:
        assert f"ロイヤルティ {terms['royalty_bps'] / 100:.2f}%" in ja
    assert ("地域 JP、FR" if "territories" in terms else "全世界") in ja


def test_an_offer_with_dates_keeps_them_in_one_bracket(page: Page) -> None:
    page.goto(INDEX.as_uri())
    body = {"licensee": "k2", "purposes": ["ai_training"], "from": "2027-01-01T00:00:00Z"}
    ja = page.evaluate("""(body) => PLWords.ja.eventLine({type: "licence.offer", actor: "k",
        body})""", body)
    assert "申し出（2027-01-01T00:00:00Z から）：料金なし、全世界" in ja, ja


def test_an_entry_is_numbered_from_one_with_its_index(page: Page, receipts: Receipts) -> None:
    page.goto(INDEX.as_uri())
    receipt = receipts.write("numbered", receipts.cosigned(witness("w1"), witness("w2")))
    seen = check_in_page(page, receipt, receipts.two_of_two(), receipts.work)
    assert seen == {"state": "valid", "check": None}
    index, size = receipts.receipt["leaf_index"], 3
    said = page.inner_text("#statement") + page.inner_text("#explain")
    assert (f"It is entry no. {index + 1} of the {size} entries the log signed "
            f"(index {index}).") in said
    assert f"as entry no. {index + 1} (index {index}) in the tree of the {size} entries" in said
    page.click("#lang-ja")
    said = page.inner_text("#statement") + page.inner_text("#explain")
    assert f"{size} 件のうち {index + 1} 件目（索引 {index}）の記録です。" in said
    assert "番目" not in said


def test_an_explorer_of_a_node_with_no_witness_says_so(page: Page, receipts: Receipts) -> None:
    """A node that names no witness: the heading is followed by words saying there is none,
    in the language chosen, not by an empty list; ages are bracketed as each language does."""
    good = receipts.receipt["checkpoint"]
    with stand_in({"/explorer": answer_json(200, explorer_answer(
            receipts, receipts.policy("quorum none"), good))}) as node:
        page.goto(f"{node.url}/page/")
        said = page.locator("#witness-list")
        expect(said).to_have_text(
            "None: this node names no witness, so its checkpoints carry the log's signature "
            "alone.", timeout=PAGE_TIMEOUT_MS)
        age = page.inner_text("#checkpoints tbody tr:nth-child(1) td:nth-child(2)")
        assert re.fullmatch(r"\S+Z \(\d+ (s|min|h|days) ago\)", age), age
        page.click("#lang-ja")
        expect(said).to_have_text(
            "いません。このノードは証人を指定していないため、チェックポイントにはログ自身の署名しか"
            "ありません。")
        age = page.inner_text("#checkpoints tbody tr:nth-child(1) td:nth-child(2)")
        assert re.fullmatch(r"\S+Z（\d+ (秒|分|時間|日)前）", age), age
