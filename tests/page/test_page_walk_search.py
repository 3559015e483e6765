"""A search by file on a node's page puts the node's state receipt of the work in place of the
receipt chosen before: the receipt input then names no file, so the page never shows one
receipt's name beside another's verdict, nor asks for a receipt beside a file it names."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.node.conftest import RunningNode

from .conftest import check_in_page
from .test_node_page import (
    node,  # noqa: F401  (the node, its witnesses and works)
    served_with_a_receipt,
)


def test_a_work_found_by_search_replaces_the_receipt_chosen_before(
        node: tuple[RunningNode, str], page: Page, tmp_path: Path) -> None:  # noqa: F811
    n, event_id = node
    receipt = served_with_a_receipt(n, event_id, page, tmp_path)
    assert check_in_page(page, receipt, page.input_value("#trust"))["state"] == "valid"
    assert page.eval_on_selector("#receipt-input", "e => e.files.length") == 1
    work = tmp_path / "second.png"
    work.write_bytes(b"second")
    page.set_input_files("#search-input", work)
    expect(page.locator("#search-result")).to_contain_text("1 event on this node")
    page.evaluate("window.PLPage.check()")
    assert page.get_attribute("#verdict", "data-state") == "valid"
    assert page.eval_on_selector("#receipt-input", "e => e.files.length") == 0
    missing = tmp_path / "unknown.png"
    missing.write_bytes(b"never registered")
    page.set_input_files("#search-input", missing)
    expect(page.locator("#search-result")).to_contain_text("No work with fingerprint")
    page.click("#verify")
    page.evaluate("window.PLPage.check()")
    assert page.get_attribute("#verdict", "data-state") == "none"
    assert page.eval_on_selector("#receipt-input", "e => e.files.length") == 0
