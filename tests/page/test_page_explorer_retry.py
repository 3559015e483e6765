"""Asking the node again from the page's explorer: a retry that works leaves nothing of the
failure it follows on screen; the button for the node's published keys shares the explorer's
request in flight instead of asking the node twice; a request that stalls can be stopped, in
either language, and asked again.

A stand-in node (a plain HTTP server on 127.0.0.1, tests/page/test_page_served_errors.py)
serves the page's real files and answers ``/explorer`` as each test sets; an answer can be
held until the test releases it, the page's clock paused so that its own 30 s timeout never
ends the wait."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from playwright.sync_api import Page, expect

from tests.node.conftest import STARTUP_TIMEOUT

from .conftest import PAGE_TIMEOUT_MS, Receipts
from .test_page_explorer_faults import damaged, explorer_answer, verdict
from .test_page_served_errors import Answer, answer_json, stand_in, wait_for_state

ASK_AGAIN = ("Ask the node again", "ノードにもう一度問い合わせる")
STOP = ("Stop waiting for the node", "ノードの応答を待つのをやめる")
STOPPED = ("you stopped waiting for the node's answer. Ask again whenever you want.",
           "ノードの応答を待つのをやめました。いつでももう一度問い合わせられます。")
ERROR_500 = ("the node answered with error 500 (an internal error of the node), saying "
             "“internal storage error”. Try again later; if it goes on, tell the node's "
             "operator.")


class Held:
    """An answer of the stand-in node given only once ``release`` is set; ``asked`` counts
    the requests it got, ``arrived`` is set at the first."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.asked = 0
        self.arrived = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.asked += 1
        self.arrived.set()
        if not self.release.wait(STARTUP_TIMEOUT * 6):
            return
        try:
            self.answer(handler)
        except OSError:
            pass  # the page gave up on this request: no one reads the answer


@contextmanager
def held(answer: Answer) -> Iterator[Held]:
    """A held answer, released when the test ends (its thread then ends)."""
    h = Held(answer)
    try:
        yield h
    finally:
        h.release.set()


def test_a_retry_that_works_leaves_nothing_of_the_keys_failure_on_screen(
        page: Page, receipts: Receipts) -> None:
    policy = receipts.policy("quorum none")
    listing = answer_json(200, explorer_answer(receipts, policy, receipts.receipt["checkpoint"]))
    failing = answer_json(500, {"error": "internal storage error"})
    receipt = receipts.write("explorer-retry-keys", receipts.receipt)
    rows = page.locator("#checkpoints tbody tr")
    status = page.locator("#node-status")
    retry = page.locator("#explorer-retry")
    with stand_in({"/explorer": failing}) as node:
        page.goto(f"{node.url}/page/")
        expect(page.locator("#explorer-error")).to_contain_text("error 500",
                                                                timeout=PAGE_TIMEOUT_MS)
        page.set_input_files("#receipt-input", receipt)
        wait_for_state(page, "#verdict", "needs-trust")
        page.click("#node-policy")
        wait_for_state(page, "#verdict", "node-failed")
        assert verdict(page)[1] == (
            f"This node's published keys could not be fetched: {ERROR_500}")
        # The node answers again, asked by the explorer's button: the verdict no longer says
        # the keys could not be fetched; it is that of the inputs as they are (no trust yet).
        node.answers["/explorer"] = listing
        retry.click()
        expect(rows).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        wait_for_state(page, "#verdict", "needs-trust")
        page.click("#node-policy")
        wait_for_state(page, "#verdict", "valid")
        assert page.input_value("#trust") == policy
        assert "could not be fetched" not in page.inner_text("body")
        # The same for the verdict that the keys used could not be fetched again.
        node.answers["/explorer"] = failing
        retry.click()
        wait_for_state(page, "#verdict", "node-failed")
        assert verdict(page)[1].startswith("This node's published keys, which the check shown "
                                           "used, could not be fetched again")
        node.answers["/explorer"] = listing
        retry.click()
        expect(rows).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        wait_for_state(page, "#verdict", "needs-trust")
        assert page.input_value("#trust") == ""
        page.click("#lang-ja")
        assert "取得できませんでした" not in page.inner_text("body")
        page.click("#lang-en")
        page.click("#node-policy")
        wait_for_state(page, "#verdict", "valid")
        # And for the failure said beside the button, when another input was given while the
        # node answered (the verdict shown is then that input's).
        node.answers["/explorer"] = failing
        page.reload()
        expect(page.locator("#explorer-error")).to_contain_text("error 500",
                                                                timeout=PAGE_TIMEOUT_MS)
        with held(failing) as stalled:
            node.answers["/explorer"] = stalled
            page.click("#node-policy")
            assert stalled.arrived.wait(STARTUP_TIMEOUT)
            expect(status).to_have_text("Asking the node for its published keys…")
            page.set_input_files("#receipt-input", receipt)
            wait_for_state(page, "#verdict", "needs-trust")
            stalled.release.set()
            expect(status).to_have_text(
                f"This node's published keys could not be fetched: {ERROR_500}",
                timeout=PAGE_TIMEOUT_MS)
        node.answers["/explorer"] = listing
        retry.click()
        expect(rows).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        expect(status).to_be_hidden()
        assert verdict(page)[0] == "needs-trust"
        page.click("#node-policy")
        wait_for_state(page, "#verdict", "valid")
        assert "could not be fetched" not in page.inner_text("body")


def test_the_keys_button_shares_the_explorers_request_in_flight(
        page: Page, receipts: Receipts) -> None:
    policy = receipts.policy("quorum none")
    listing = answer_json(200, explorer_answer(receipts, policy, receipts.receipt["checkpoint"]))
    receipt = receipts.write("explorer-retry-shared", receipts.receipt)
    with held(listing) as first, stand_in({"/explorer": first}) as node:
        page.goto(f"{node.url}/page/")
        assert first.arrived.wait(STARTUP_TIMEOUT)
        page.set_input_files("#receipt-input", receipt)
        wait_for_state(page, "#verdict", "needs-trust")
        # The explorer's first request has not been answered: the button waits for it.
        page.click("#node-policy")
        expect(page.locator("#node-status")).to_have_text(
            "Asking the node for its published keys…")
        first.release.set()
        wait_for_state(page, "#verdict", "valid")
        assert page.input_value("#trust") == policy
        expect(page.locator("#checkpoints tbody tr")).to_have_count(1)
        expect(page.locator("#node-status")).to_be_hidden()
        assert first.asked == 1  # the node was asked once, for both


def test_a_stalled_request_can_be_stopped_and_asked_again(
        page: Page, receipts: Receipts) -> None:
    note = receipts.receipt["checkpoint"]
    policy = receipts.policy("quorum none")
    listing = answer_json(200, explorer_answer(receipts, policy, note))
    longer = answer_json(200, explorer_answer(receipts, policy, note, damaged(note)))
    rows = page.locator("#checkpoints tbody tr")
    error = page.locator("#explorer-error")
    retry = page.locator("#explorer-retry")
    page.clock.install()
    with held(listing) as first, held(longer) as second, \
            stand_in({"/explorer": first}) as node:
        page.goto(f"{node.url}/page/")
        # The page's clock stands still (a second on, in seconds): the node's stall never ends
        # by the page's timeout.
        page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)
        assert first.arrived.wait(STARTUP_TIMEOUT)
        # While the explorer's first request waits, its button stops waiting...
        expect(retry).to_have_text(STOP[0], timeout=PAGE_TIMEOUT_MS)
        expect(retry).to_be_enabled()
        page.click("#node-policy")  # (which waits for that request too)
        expect(page.locator("#node-status")).to_have_text(
            "Asking the node for its published keys…")
        retry.click()
        # ...and says so in place of the listing, and of the keys asked for.
        expect(error).to_have_text(f"This node's log cannot be shown: {STOPPED[0]}")
        expect(retry).to_have_text(ASK_AGAIN[0])
        wait_for_state(page, "#verdict", "node-failed")
        assert verdict(page)[1] == (
            f"This node's published keys could not be fetched: {STOPPED[0]}")
        expect(page.locator("#node-status")).to_be_hidden()
        page.click("#lang-ja")
        expect(error).to_have_text(f"このノードのログを表示できません。{STOPPED[1]}")
        expect(retry).to_have_text(ASK_AGAIN[1])
        page.click("#lang-en")
        # Asked again, the node answers.
        node.answers["/explorer"] = listing
        retry.click()
        expect(rows).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        expect(retry).to_have_text(ASK_AGAIN[0])
        assert verdict(page) == ("none", "Choose a receipt to check.")
        # A retry that stalls is stopped the same way, in either language; the listing
        # shown before stays (nothing new was learnt).
        node.answers["/explorer"] = second
        retry.click()
        assert second.arrived.wait(STARTUP_TIMEOUT)
        expect(retry).to_have_text(STOP[0])
        expect(retry).to_be_enabled()
        page.click("#lang-ja")
        expect(retry).to_have_text(STOP[1])
        retry.click()
        expect(retry).to_have_text(ASK_AGAIN[1])
        page.click("#lang-en")
        expect(rows).to_have_count(1)
        assert error.count() == 0
        node.answers["/explorer"] = longer
        retry.click()
        expect(rows).to_have_count(2, timeout=PAGE_TIMEOUT_MS)
        expect(retry).to_have_text(ASK_AGAIN[0])
        assert (first.asked, second.asked) == (1, 1)
