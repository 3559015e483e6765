"""While the explorer waits for the node, the page says so in words, in the language chosen: a
line naming the node's address, in a polite live region (a screen reader says it when it is
free), gone once the node answers, fails, or the user stops waiting.

A stand-in node (a plain HTTP server on 127.0.0.1, tests/page/test_page_served_errors.py)
serves the page's real files and answers ``/explorer`` as each test sets, an answer held until
the test releases it; the page's clock is paused, so that its own 30 s timeout never ends the
wait."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.node.conftest import STARTUP_TIMEOUT

from .conftest import PAGE_TIMEOUT_MS, Receipts
from .test_page_explorer_faults import explorer_answer
from .test_page_explorer_retry import ASK_AGAIN, STOP, STOPPED, held
from .test_page_served_errors import answer_json, stand_in


def asking(url: str) -> tuple[str, str]:
    return (f"Asking the node at {url} for its log…", f"ノード {url} にログを問い合わせています…")


def test_the_explorer_says_it_is_asking_the_node_while_it_waits(
        page: Page, receipts: Receipts, artifacts: Path) -> None:
    policy = receipts.policy("quorum none")
    listing = answer_json(200, explorer_answer(receipts, policy, receipts.receipt["checkpoint"]))
    failing = answer_json(503, {"error": "shutting down"})
    rows = page.locator("#checkpoints tbody tr")
    error = page.locator("#explorer-error")
    retry = page.locator("#explorer-retry")
    status = page.locator("#explorer-status")
    page.clock.install()
    with held(listing) as first, held(failing) as second, held(listing) as third, \
            stand_in({"/explorer": first}) as node:
        said = asking(node.url)
        page.goto(f"{node.url}/page/")
        page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)
        assert first.arrived.wait(STARTUP_TIMEOUT)
        # While the node does not answer, the page says it is asking it, where, in words a
        # screen reader is told of politely (a status), in either language.
        expect(status).to_have_text(said[0], timeout=PAGE_TIMEOUT_MS)
        expect(page.get_by_role("status").filter(has_text=said[0])).to_have_count(1)
        assert status.get_attribute("aria-live") == "polite"
        page.click("#lang-ja")
        expect(status).to_have_text(said[1])
        page.screenshot(path=artifacts / "explorer-waiting-ja.png", full_page=True)
        page.click("#lang-en")
        expect(status).to_have_text(said[0])
        # Once the node answers, the words are gone.
        first.release.set()
        expect(rows).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        expect(status).to_have_text("")
        assert "Asking the node at" not in page.inner_text("body")
        # Asked again, the node stalls then fails: said while it waits, gone with the failure.
        node.answers["/explorer"] = second
        retry.click()
        assert second.arrived.wait(STARTUP_TIMEOUT)
        expect(status).to_have_text(said[0])
        second.release.set()
        expect(error).to_contain_text("error 503", timeout=PAGE_TIMEOUT_MS)
        expect(status).to_have_text("")
        # Asked again, the node stalls and the user stops waiting: the words go at once.
        node.answers["/explorer"] = third
        retry.click()
        assert third.arrived.wait(STARTUP_TIMEOUT)
        page.click("#lang-ja")
        expect(status).to_have_text(said[1])
        expect(retry).to_have_text(STOP[1])
        retry.click()
        expect(status).to_have_text("")
        expect(retry).to_have_text(ASK_AGAIN[1])
        expect(error).to_have_text(f"このノードのログを表示できません。{STOPPED[1]}")
        page.click("#lang-en")
        expect(status).to_have_text("")
        assert "Asking the node at" not in page.inner_text("body")
