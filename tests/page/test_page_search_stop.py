"""Search by file when the node stalls: while the page waits for the node's answer, a button
beside the file stops waiting (the request is cancelled and the search says so, in the language
chosen); the same button then looks the file up again, and an answer the node gives after the
user stopped waiting is never shown.

A stand-in node (a plain HTTP server on 127.0.0.1, tests/page/test_page_served_errors.py)
serves the page's real files, the explorer's listing, and for ``/works/`` an answer the test
holds until it releases it; the page's clock is paused, so that its own 30 s timeout never ends
the wait."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.node.conftest import STARTUP_TIMEOUT

from .conftest import PAGE_TIMEOUT_MS, Receipts
from .test_page_explorer_faults import explorer_answer, verdict
from .test_page_explorer_retry import Held
from .test_page_served_errors import Answer, answer_json, said, search, stand_in, wait_for_state

STOP = ("Stop waiting for the search", "検索の応答を待つのをやめる")
AGAIN = ("Look the file up again", "ファイルをもう一度調べる")
SEARCHING = ("Looking it up…", "調べています…")
STOPPED = ("The search could not be made: you stopped waiting for the node's answer. Ask again "
           "whenever you want.",
           "検索できませんでした。ノードの応答を待つのをやめました。いつでももう一度問い合わせられます。")


class Stalled(Held):
    """A held answer (released by the test) that also tells when it was given, or given up
    on because the page no longer listened: ``finished`` is set then."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer)
        self.finished = threading.Event()

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            super().__call__(handler)
        finally:
            self.finished.set()


@contextmanager
def stalled_answer(answer: Answer) -> Iterator[Stalled]:
    """A stalled answer, released when the test ends (its thread then ends)."""
    s = Stalled(answer)
    try:
        yield s
    finally:
        s.release.set()


class Counted:
    """An answer that counts the requests it got."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.asked = 0

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        self.asked += 1
        self.answer(handler)


def work_answer(work: str) -> dict[str, Any]:
    """What a node's ``GET /works/{work}`` answers for a work registered once."""
    event = {"id": "e" * 64, "type": "work.register", "work": work,
             "actor": "ed25519:" + "cd" * 32, "at": "2026-01-01T00:00:00Z",
             "body": {"size": 5, "media_type": "text/plain", "title": "a page"}}
    return {"work": work, "state": {}, "history": [{"index": 0, "event": event}],
            "disputed": False, "registrations": [], "similar": []}


def node_answers(receipts: Receipts, works: Answer, state_receipt: Answer) -> dict[str, Answer]:
    """The stand-in node's answers: the explorer's listing, ``works`` for any work, and
    ``state_receipt`` for the state receipt of the work ``receipts.work``."""
    work = "sha256:" + hashlib.sha256(receipts.work.read_bytes()).hexdigest()
    listing = explorer_answer(receipts, receipts.policy("quorum none"),
                              receipts.receipt["checkpoint"])
    return {"/explorer": answer_json(200, listing), "/works/": works,
            f"/works/{work.replace(':', '%3A')}/state-receipt": state_receipt,
            f"/works/{work}/state-receipt": state_receipt}


def settle(page: Page) -> None:
    """A request of the page to the node and back: an answer the node sent before it has
    reached the page by then, had the page still listened for it."""
    page.evaluate("fetch('/page/index.html', {cache: 'no-store'}).then((r) => r.text())"
                  ".then((t) => t.length)")


def test_a_stalled_search_can_be_stopped_and_looked_up_again(
        page: Page, receipts: Receipts, tmp_path: Path, artifacts: Path) -> None:
    work = "sha256:" + hashlib.sha256(receipts.work.read_bytes()).hexdigest()
    found = answer_json(200, work_answer(work))
    state_receipt = Counted(answer_json(200, receipts.state))
    button = page.locator("#search-retry")
    result = page.locator("#search-result")
    page.clock.install()
    with stalled_answer(found) as stalled, \
            stand_in(node_answers(receipts, stalled, state_receipt)) as node:
        page.goto(f"{node.url}/page/")
        # The page's clock stands still (a second on, in seconds): the node's stall never ends
        # by the page's timeout.
        page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)
        expect(page.locator("#checkpoints tbody tr")).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        expect(button).to_be_hidden()  # nothing looked up yet: nothing to stop or ask again
        page.fill("#trust", receipts.log_key)
        page.click("#verify")
        wait_for_state(page, "#verdict", "none")
        search(page, tmp_path, receipts.work.read_bytes(), "a.txt")
        assert stalled.arrived.wait(STARTUP_TIMEOUT)
        # While the node does not answer, the search says it is looking, and its button
        # stops waiting.
        expect(result).to_have_text(SEARCHING[0])
        expect(button).to_have_text(STOP[0])
        expect(button).to_be_enabled()
        page.screenshot(path=artifacts / "search-waiting-en.png", full_page=True)
        button.click()
        # The wait is stopped at once: said where the search is, and in place of the verdict
        # (the search was the input given last); the button now looks the file up again.
        expect(result).to_have_text(STOPPED[0])
        assert result.get_attribute("data-state") == "stopped"
        expect(button).to_have_text(AGAIN[0])
        wait_for_state(page, "#verdict", "node-failed")
        assert verdict(page) == ("node-failed", STOPPED[0])
        page.click("#lang-ja")
        expect(result).to_have_text(STOPPED[1])
        expect(button).to_have_text(AGAIN[1])
        assert verdict(page) == ("node-failed", STOPPED[1])
        page.screenshot(path=artifacts / "search-stopped-ja.png", full_page=True)
        page.click("#lang-en")
        # The node answers late, after the user stopped waiting: the answer is not used.
        stalled.release.set()
        assert stalled.finished.wait(STARTUP_TIMEOUT)
        settle(page)
        expect(result).to_have_text(STOPPED[0])
        assert said(page)["history"] == 0
        assert verdict(page) == ("node-failed", STOPPED[0])
        assert state_receipt.asked == 0  # the page never went on to ask for its receipt
        # Looked up again, the node answers: the work is found and its receipt checked.
        node.answers["/works/"] = found
        button.click()
        wait_for_state(page, "#search-result", "found")
        wait_for_state(page, "#verdict", "valid")
        expect(button).to_have_text(AGAIN[0])
        assert result.inner_text() == (
            f"Work {work}: 1 event on this node (shown in the history above).")
        assert said(page)["history"] == 4  # as the state receipt proves it
        assert (stalled.asked, state_receipt.asked) == (1, 1)


def test_a_stop_in_japanese_and_a_newer_search_cancels_the_one_waiting(
        page: Page, receipts: Receipts, tmp_path: Path) -> None:
    work = "sha256:" + hashlib.sha256(receipts.work.read_bytes()).hexdigest()
    state_receipt = Counted(answer_json(200, receipts.state))
    button = page.locator("#search-retry")
    result = page.locator("#search-result")
    page.clock.install()
    with stalled_answer(answer_json(200, work_answer(work))) as first, \
            stalled_answer(answer_json(404, {"error": "no such work"})) as second, \
            stand_in(node_answers(receipts, first, state_receipt)) as node:
        page.goto(f"{node.url}/page/")
        page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)
        expect(page.locator("#checkpoints tbody tr")).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        page.click("#lang-ja")
        search(page, tmp_path, receipts.work.read_bytes(), "a.txt")
        assert first.arrived.wait(STARTUP_TIMEOUT)
        expect(result).to_have_text(SEARCHING[1])
        expect(button).to_have_text(STOP[1])
        # Another file is looked up while the node stalls on the first: the first request is
        # cancelled, and the button stops waiting for the newer search.
        node.answers["/works/"] = second
        missing = search(page, tmp_path, b"never registered", "missing.png")
        assert second.arrived.wait(STARTUP_TIMEOUT)
        first.release.set()
        assert first.finished.wait(STARTUP_TIMEOUT)
        settle(page)
        expect(result).to_have_text(SEARCHING[1])
        expect(button).to_have_text(STOP[1])
        assert state_receipt.asked == 0
        button.click()
        expect(result).to_have_text(STOPPED[1])
        expect(button).to_have_text(AGAIN[1])
        page.click("#lang-en")
        expect(result).to_have_text(STOPPED[0])
        expect(button).to_have_text(AGAIN[0])
        # The newer search's late answer is not used either; asked again, it is.
        second.release.set()
        assert second.finished.wait(STARTUP_TIMEOUT)
        settle(page)
        expect(result).to_have_text(STOPPED[0])
        node.answers["/works/"] = answer_json(404, {"error": "no such work"})
        button.click()
        wait_for_state(page, "#search-result", "not-registered")
        assert result.inner_text() == f"No work with fingerprint {missing} on this node."
        assert (first.asked, second.asked, state_receipt.asked) == (1, 1, 0)
