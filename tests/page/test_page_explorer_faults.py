"""The explorer of the page served by a node, where it failed its user: a checkpoint that does
not verify is said in the language chosen (the verifier's English kept as a technical detail);
a failed explorer request replaces the listing and withdraws a verdict made with the node's
published keys, but not a verdict of trust the user gave, and a button asks the node again; a
node that stalls holds no other check; a published policy that names one witness key twice is
refused in the words ``provenance verify`` uses.

A stand-in node (a plain HTTP server on 127.0.0.1, tests/page/test_page_served_errors.py)
serves the page's real files and answers ``/explorer`` with the log and the checkpoint of the
receipts the real CLI made (tests/page/conftest.py)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from provenance_ledger.core.note import SignedNote
from tests.cli.conftest import assert_one_error_line, run
from tests.node.conftest import STARTUP_TIMEOUT

from .conftest import PAGE_TIMEOUT_MS, Receipts, check_in_page, witness
from .test_page_served_errors import (
    EN_UNREACHABLE,
    StandInNode,
    answer_json,
    search,
    stand_in,
    wait_for_state,
)

CHECKED_MS = 60_000
"""Most milliseconds a check of a small receipt may take here: far more than it needs, and
less than a stalled node holds a request (the page's clock is paused: forever)."""


def explorer_answer(r: Receipts, policy: str, *notes: str) -> dict[str, Any]:
    """What a node's ``GET /explorer`` answers: its log's checkpoints ``notes`` (newest first)
    and its published ``policy``."""
    origin = r.receipt["checkpoint"].split("\n", 1)[0]
    checkpoints = [{"size": int(n.split("\n")[1]), "note": n} for n in notes]
    return {"origin": origin, "log": r.log_key, "policy": policy, "checkpoints": checkpoints,
            "faulty": [], "evidence": []}


def damaged(note_text: str) -> str:
    """The note with its log signature's last byte changed: it no longer verifies."""
    note = SignedNote.from_text(note_text)
    first = note.signatures[0]
    flipped = first.signature[:-1] + bytes([first.signature[-1] ^ 1])
    bad = type(first)(first.name, first.key_id, flipped)
    return SignedNote(note.text, (bad, *note.signatures[1:])).to_text()


def text_outside_technical(page: Page, selector: str) -> str:
    """The element's text without what is marked as the verifier's English (lang="en")."""
    return page.evaluate("""(sel) => {
      const copy = document.querySelector(sel).cloneNode(true);
      for (const t of copy.querySelectorAll('[lang="en"]')) t.remove();
      return copy.textContent;
    }""", selector)


def verdict(page: Page) -> tuple[str, str]:
    state, text = page.evaluate("""() => [document.getElementById('verdict').dataset.state,
                                          document.getElementById('verdict').textContent]""")
    return state, text


def test_a_checkpoint_that_does_not_verify_is_said_in_the_language_chosen(
        page: Page, receipts: Receipts) -> None:
    good = receipts.receipt["checkpoint"]
    with stand_in({"/explorer": answer_json(200, explorer_answer(
            receipts, receipts.policy("quorum none"), good, damaged(good)))}) as node:
        page.goto(f"{node.url}/page/")
        rows = page.locator("#checkpoints tbody tr")
        expect(rows).to_have_count(2, timeout=PAGE_TIMEOUT_MS)
        cell = "#checkpoints tbody tr:nth-child(2) td:nth-child(2)"
        assert text_outside_technical(page, cell) == (
            "Does not verify: the log key this node publishes did not sign this checkpoint as "
            "shown (it was altered, is damaged, or is of another log).Technical detail")
        # The verifier's own words are kept, marked as English, for whoever opens them.
        technical = page.text_content(f"{cell} details [lang=en]")
        origin = good.split("\n", 1)[0]
        assert technical == f"note signature by {origin} does not verify"
        page.click("#lang-ja")
        said = text_outside_technical(page, cell)
        assert said == (
            "検証できません：このノードが公開しているログの鍵は、表示されたとおりのこのチェックポイント"
            "に署名していません（改ざんされたか、破損しているか、別のログのものです）。技術的な詳細")
        assert not re.search("[A-Za-z]", said)
        # The verified row still shows its time, the technical line is the verifier's own.
        assert page.text_content(f"{cell} [lang=en]") == technical
        first_age = page.inner_text("#checkpoints tbody tr:nth-child(1) td:nth-child(2)")
        assert first_age.endswith("前）"), first_age


def test_a_failed_explorer_request_withdraws_only_the_verdict_made_with_the_nodes_keys(
        page: Page, receipts: Receipts) -> None:
    policy = receipts.policy("quorum none")
    listing = answer_json(200, explorer_answer(receipts, policy, receipts.receipt["checkpoint"]))
    receipt = receipts.write("explorer-faults-receipt", receipts.receipt)
    failing = answer_json(500, {"error": "internal storage error"})
    problem = ("the node answered with error 500 (an internal error of the node), saying "
               "“internal storage error”. Try again later; if it goes on, tell the node's "
               "operator.")
    with stand_in({"/explorer": listing}) as node:
        page.goto(f"{node.url}/page/")
        expect(page.locator("#checkpoints tbody tr")).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        retry = page.locator("#explorer-retry")
        expect(retry).to_have_text("Ask the node again")
        # A verdict made with the node's published keys...
        page.set_input_files("#receipt-input", receipt)
        page.click("#node-policy")
        wait_for_state(page, "#verdict", "valid")
        assert page.input_value("#trust") == policy
        # ...no longer stands when the node cannot give them again: the failure replaces
        # the listing, and the verdict says why; the keys leave the trust field.
        node.answers["/explorer"] = failing
        retry.click()
        expect(page.locator("#explorer-error")).to_have_text(
            f"This node's log cannot be shown: {problem}", timeout=PAGE_TIMEOUT_MS)
        assert page.locator("#checkpoints").count() == 0
        wait_for_state(page, "#verdict", "node-failed")
        assert verdict(page)[1] == (
            "This node's published keys, which the check shown used, could not be fetched "
            f"again, so that check no longer stands and the keys were taken out of the trust "
            f"policy: {problem}")
        assert page.input_value("#trust") == ""
        assert page.inner_text("#explain") == ""
        page.click("#lang-ja")
        assert verdict(page)[1].startswith(
            "表示していた確認に使った、このノードが公開している鍵を、もう一度取得できませんでした。"
            "そのため、その確認は無効とし、鍵を信頼ポリシーから外しました。ノードがエラー 500")
        expect(retry).to_have_text("ノードにもう一度問い合わせる")
        page.click("#lang-en")
        # A verdict of the trust the user gave rests on nothing the node said: it stays.
        assert check_in_page(page, receipt, policy)["state"] == "valid"
        retry.click()
        expect(retry).to_be_enabled(timeout=PAGE_TIMEOUT_MS)  # the node answered again
        expect(page.locator("#explorer-error")).to_be_visible()
        assert verdict(page) == ("valid", "Valid: the receipt checks out.")
        assert page.input_value("#trust") == policy
        # Asked again once the node is back, the listing returns.
        node.answers["/explorer"] = listing
        retry.click()
        expect(page.locator("#checkpoints tbody tr")).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        assert page.locator("#explorer-error").count() == 0
        assert verdict(page)[0] == "valid"


def hang(node: StandInNode, prefix: str) -> None:
    """From now on, requests for ``prefix`` get no answer until ``node.release`` is set."""
    node.arrived = threading.Event()
    node.release = threading.Event()
    node.hang = prefix


def test_a_stalled_node_holds_no_other_check(page: Page, receipts: Receipts,
                                             tmp_path: Path) -> None:
    policy = receipts.policy("quorum none")
    receipt = receipts.write("explorer-faults-stalled", receipts.receipt)
    page.clock.install()
    with stand_in({}) as node:  # no explorer: the keys button asks the node itself
        page.goto(f"{node.url}/page/")
        expect(page.locator("#explorer-error")).to_contain_text(
            "error 404 (not found)", timeout=PAGE_TIMEOUT_MS)
        # The page's clock stands still, a minute on (pause_at takes seconds): the node's stall
        # never ends by the page's timeout.
        page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 60)
        hang(node, "/works/")
        search(page, tmp_path, b"first")
        assert node.arrived.wait(STARTUP_TIMEOUT)
        # A receipt given meanwhile is checked now, not once the node answers.
        page.fill("#trust", policy)
        page.set_input_files("#receipt-input", receipt)
        expect(page.locator("#verdict")).to_have_attribute("data-state", "valid",
                                                           timeout=CHECKED_MS)
        assert page.get_attribute("#search-result", "data-state") == "searching"
        # The node's late failure is said where the search is; the verdict of the receipt
        # given since is still that receipt's.
        node.release.set()
        wait_for_state(page, "#search-result", "failed")
        assert page.inner_text("#search-result") == (
            f"The search could not be made: {EN_UNREACHABLE}")
        assert verdict(page) == ("valid", "Valid: the receipt checks out.")
        # The same for the node's published keys, asked for while the node stalls.
        hang(node, "/explorer")
        page.fill("#trust", "")
        page.click("#node-policy")
        assert node.arrived.wait(STARTUP_TIMEOUT)
        expect(page.locator("#node-status")).to_have_text(
            "Asking the node for its published keys…")
        page.fill("#trust", policy)
        page.set_input_files("#receipt-input", [])
        page.set_input_files("#receipt-input", receipt)
        expect(page.locator("#verdict")).to_have_attribute("data-state", "valid",
                                                           timeout=CHECKED_MS)
        node.release.set()
        expect(page.locator("#node-status")).to_have_text(
            f"This node's published keys could not be fetched: {EN_UNREACHABLE}",
            timeout=PAGE_TIMEOUT_MS)
        assert verdict(page)[0] == "valid"
        assert page.input_value("#trust") == policy


def test_a_published_policy_naming_one_witness_key_twice_is_refused_in_verifys_words(
        page: Page, receipts: Receipts) -> None:
    w1 = witness("w1").verifier.to_vkey()
    policy = receipts.policy(f"witness a {w1}", f"witness b {w1}", "group g 2 a b", "quorum g")
    path = receipts.root / "explorer-faults-twice.txt"
    path.write_text(policy)
    receipt = receipts.write("explorer-faults-twice", receipts.receipt)
    line = assert_one_error_line(run("verify", receipt, "--policy", path, home=receipts.home,
                                     ok_codes=(2,)))
    reason = line.removeprefix("error: ")
    assert "names one witness key twice, as a and b" in reason
    with stand_in({"/explorer": answer_json(200, explorer_answer(
            receipts, policy, receipts.receipt["checkpoint"]))}) as node:
        page.goto(f"{node.url}/page/")
        error = page.locator("#explorer-error")
        expect(error).to_have_text(
            "This node's log cannot be shown: the policy the node publishes is refused, as "
            f"provenance verify refuses it: {reason}. Tell the node's operator.",
            timeout=PAGE_TIMEOUT_MS)
        assert page.locator("#witness-list").count() == 0
        page.click("#lang-ja")
        expect(error).to_have_text(
            "このノードのログを表示できません。ノードが公開しているポリシーは、provenance verify "
            "と同じく受け入れられません：ポリシーが一つの証人の鍵を a と b の二つの名前で"
            "挙げています。一つの連署が定足数に 2 回数えられてしまいます。"
            "ノードの運営者に知らせてください。")
        page.click("#lang-en")
        # Its keys, used to check a receipt, are bad trust input there too, for that reason.
        page.set_input_files("#receipt-input", receipt)
        page.click("#node-policy")
        wait_for_state(page, "#verdict", "bad-trust")
        assert verdict(page)[1] == "The trust policy or log key cannot be read: " + reason
    assert json.loads(receipt.read_text()) == receipts.receipt
