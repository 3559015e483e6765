"""The page served by a node, when the node fails it: every fetch the page makes in served mode
(search by file, its state receipt, the explorer, the node's published keys) says in words, in
the language chosen, what happened and what the user can do: the node could not be reached,
stopped answering, answered an error status (named in words, with its one-line message), or an
answer that is not the JSON expected or larger than the page reads. A work the node does not
hold is an answer, not an error. Such a message replaces the verdict and history shown before.

A real node on 127.0.0.1 serves the page where it can fail for real (stopped, a work it lacks);
elsewhere a stand-in node (a plain HTTP server on 127.0.0.1) serves the page's real files and
answers the page's requests as the test sets."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from provenance_ledger.node import init_node
from provenance_ledger.node.page import PAGE_FILES, PAGE_HEADERS, page_bytes
from tests.conftest import KeyFactory, Signer
from tests.node.conftest import HOST, ORIGIN, STARTUP_TIMEOUT, free_port, register, running
from tests.node.conftest import work as work_of

from .conftest import INDEX, PAGE_TIMEOUT_MS

Answer = Callable[[BaseHTTPRequestHandler], None]

EN_UNREACHABLE = ("the node could not be reached. Check that it is running and that this "
                  "computer is online, then try again.")
JA_UNREACHABLE = ("ノードに接続できませんでした。ノードが動いているか、"
                  "このコンピューターがネットワークにつながっているかを確かめてから、"
                  "もう一度試してください。")


def answer_json(status: int, body: object, headers: dict[str, str] | None = None) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    return answer


def answer_nothing(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without a byte of answer (what a crashed server or a dropped
    connection looks like to the browser)."""
    handler.close_connection = True


class StandInNode(ThreadingHTTPServer):
    """A stand-in for a node on 127.0.0.1: the page's real files under ``/page/`` with the
    node's headers, and for any other path the answer the test set in ``answers`` (the
    longest path prefix that matches), else 404. ``arrived`` is set once a request for
    ``hang`` (a prefix) arrives; that request is answered only once ``release`` is set."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((HOST, 0), _StandInHandler)
        self.answers: dict[str, Answer] = {}
        self.hang: str | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"


class _StandInHandler(BaseHTTPRequestHandler):
    server: StandInNode

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = urlsplit(self.path).path
        if path.startswith("/page/"):
            name = path.removeprefix("/page/") or "index.html"
            if name in PAGE_FILES:
                body = page_bytes(name)
                self.send_response(200)
                self.send_header("Content-Type", PAGE_FILES[name])
                self.send_header("Content-Length", str(len(body)))
                for header, value in PAGE_HEADERS.items():
                    self.send_header(header, value)
                self.end_headers()
                self.wfile.write(body)
                return
        if self.server.hang is not None and path.startswith(self.server.hang):
            self.server.arrived.set()
            self.server.release.wait(STARTUP_TIMEOUT * 6)
            self.close_connection = True
            return
        matching = [p for p in self.server.answers if path.startswith(p)]
        if not matching:
            answer_json(404, {"error": f"no route {path}"})(self)
            return
        self.server.answers[max(matching, key=len)](self)


@contextmanager
def stand_in(answers: dict[str, Answer]) -> Iterator[StandInNode]:
    server = StandInNode()
    server.answers.update(answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def node_home(tmp_path_factory: pytest.TempPathFactory, sign: Signer,
              keys: KeyFactory) -> Path:
    """A node's home that holds one work, the one whose bytes are ``b"first"``."""
    home = tmp_path_factory.mktemp("page-errors") / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    with running(home) as n, n.client() as http:
        assert http.post("/events", content=register(sign, keys("alice"), "first").leaf
                         ).status_code == 200
    return home


def wait_for_state(page: Page, selector: str, state: str) -> None:
    """Wait until the element's ``data-state`` is ``state`` (the page's answer arrived)."""
    expect(page.locator(selector)).to_have_attribute("data-state", state, timeout=PAGE_TIMEOUT_MS)


def search(page: Page, tmp_path: Path, content: bytes, name: str = "work.png") -> str:
    """Look up a file of ``content`` on the page; return its work id."""
    path = tmp_path / name
    path.write_bytes(content)
    page.set_input_files("#search-input", path)
    return "sha256:" + hashlib.sha256(content).hexdigest()


def said(page: Page) -> dict[str, str | int | None]:
    """What the page shows: the search's answer and the verdict (with their states), and how
    many events the history shows."""
    return page.evaluate("""() => ({
      search: document.getElementById('search-result').dataset.state || null,
      searchText: document.getElementById('search-result').textContent,
      verdict: document.getElementById('verdict').dataset.state,
      verdictText: document.getElementById('verdict').textContent,
      history: document.querySelectorAll('#timeline li[data-type]').length})""")


def test_every_word_the_page_says_exists_in_both_languages(page: Page) -> None:
    page.goto(INDEX.as_uri())
    keys = page.evaluate("[Object.keys(PLWords.en).sort(), Object.keys(PLWords.ja).sort()]")
    assert keys[0] == keys[1]
    for key in ("searchFailed", "explorerFailed", "policyFailed", "stateReceiptFailed",
                "nodeProblem", "foundElsewhere"):
        assert key in keys[0]


def test_a_node_that_cannot_be_reached_is_said_in_words(
        node_home: Path, page: Page, tmp_path: Path) -> None:
    with running(node_home) as n:
        page.goto(f"{n.url}/page/")
        page.wait_for_selector("#checkpoints tbody tr")
        search(page, tmp_path, b"first")
        wait_for_state(page, "#search-result", "found")
        wait_for_state(page, "#verdict", "needs-trust")
        assert said(page)["history"] == 1
    # The node is stopped: the next search cannot reach it.
    search(page, tmp_path, b"second", "second.png")
    wait_for_state(page, "#search-result", "failed")
    seen = said(page)
    assert seen["searchText"] == f"The search could not be made: {EN_UNREACHABLE}"
    # It replaces the verdict and the history of the work found before.
    assert (seen["verdict"], seen["verdictText"], seen["history"]) == (
        "node-failed", seen["searchText"], 0)
    assert "Failed to fetch" not in page.inner_text("body")
    page.click("#lang-ja")
    seen = said(page)
    assert seen["searchText"] == f"検索できませんでした。{JA_UNREACHABLE}"
    assert seen["verdictText"] == seen["searchText"]


def test_a_work_the_node_lacks_is_an_answer_that_replaces_the_verdict(
        node_home: Path, page: Page, tmp_path: Path) -> None:
    with running(node_home) as n:
        page.goto(f"{n.url}/page/")
        page.wait_for_selector("#checkpoints tbody tr")
        search(page, tmp_path, b"first")
        wait_for_state(page, "#search-result", "found")
        page.click("#node-policy")
        wait_for_state(page, "#verdict", "valid")
        missing = search(page, tmp_path, b"never registered", "missing.png")
        wait_for_state(page, "#search-result", "not-registered")
    seen = said(page)
    assert seen["searchText"] == f"No work with fingerprint {missing} on this node."
    assert (seen["verdict"], seen["verdictText"], seen["history"]) == (
        "not-registered", seen["searchText"], 0)
    assert page.inner_text("#explain") == ""
    page.click("#lang-ja")
    seen = said(page)
    assert seen["searchText"] == seen["verdictText"] == (
        f"指紋 {missing} の作品はこのノードにありません。")


def test_an_error_status_is_named_in_words_with_the_nodes_message(
        page: Page, tmp_path: Path, artifacts: Path) -> None:
    with stand_in({
        "/explorer": answer_json(500, {"error": "internal storage error"}),
        "/works/": answer_json(503, {"error": "the node is shutting down\nnow"}),
    }) as node:
        page.goto(f"{node.url}/page/")
        error = page.locator("#explorer-error")
        expect(error).to_have_text(
            "This node's log cannot be shown: the node answered with error 500 (an internal "
            "error of the node), saying “internal storage error”. Try again later; if it goes "
            "on, tell the node's operator.", timeout=PAGE_TIMEOUT_MS)
        assert page.locator("#checkpoints").count() == 0
        search(page, tmp_path, b"first")
        wait_for_state(page, "#search-result", "failed")
        seen = said(page)
        # The node's message is shown on one line, as text the page does not trust.
        assert seen["searchText"] == (
            "The search could not be made: the node answered with error 503 (service "
            "unavailable: the node is down or overloaded), saying “the node is shutting down "
            "now”. Try again later; if it goes on, tell the node's operator.")
        assert (seen["verdict"], seen["verdictText"]) == ("node-failed", seen["searchText"])
        page.screenshot(path=artifacts / "node-error-en.png", full_page=True)
        page.click("#lang-ja")
        seen = said(page)
        assert seen["searchText"] == seen["verdictText"] == (
            "検索できませんでした。ノードがエラー 503（サービス利用不可："
            "ノードが停止しているか、混み合っています）を返しました。"
            "ノードのメッセージ：「the node is shutting down now」。"
            "しばらくしてからもう一度試してください。"
            "続くようなら、ノードの運営者に知らせてください。")
        assert error.inner_text().startswith(
            "このノードのログを表示できません。"
            "ノードがエラー 500（ノード内部のエラー）を返しました。")
        page.screenshot(path=artifacts / "node-error-ja.png", full_page=True)


def test_a_refusal_without_a_message_and_a_registration_elsewhere(
        page: Page, tmp_path: Path) -> None:
    search_id = "sha256:" + hashlib.sha256(b"mirrored").hexdigest()
    with stand_in({
        "/explorer": answer_json(429, "slow down"),  # a body that is not {"error"}
        "/works/": answer_json(404, {"error": f"no work {search_id} on this ledger; peer.test",
                                     "elsewhere": [{"origin": "peer.test/log",
                                                    "registrant": "ed25519:" + "ab" * 32,
                                                    "id": "x", "index": 4, "faulty": False,
                                                    "cosigned_at": None}]}),
    }) as node:
        page.goto(f"{node.url}/page/")
        expect(page.locator("#explorer-error")).to_have_text(
            "This node's log cannot be shown: the node answered with error 429 (too many "
            "requests). Wait a minute, then try again.", timeout=PAGE_TIMEOUT_MS)
        assert search(page, tmp_path, b"mirrored") == search_id
        wait_for_state(page, "#search-result", "not-registered")
        assert said(page)["searchText"] == (
            f"No work with fingerprint {search_id} on this node's own log. The node says it is "
            f"registered on other logs (not checked here): peer.test/log: ed25519:{'ab' * 32}. "
            "Ask those logs for its receipt.")


def test_a_dropped_connection_and_answers_that_are_not_the_json_expected(
        page: Page, tmp_path: Path) -> None:
    def html(handler: BaseHTTPRequestHandler) -> None:
        body = b"<html><body>Welcome to the captive portal</body></html>"
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    with stand_in({"/explorer": answer_nothing, "/works/": html}) as node:
        page.goto(f"{node.url}/page/")
        expect(page.locator("#explorer-error")).to_have_text(
            f"This node's log cannot be shown: {EN_UNREACHABLE}", timeout=PAGE_TIMEOUT_MS)
        # Without the explorer's keys, the button asks the node for them: it fails in words.
        page.click("#node-policy")
        wait_for_state(page, "#verdict", "node-failed")
        assert page.inner_text("#verdict") == (
            f"This node's published keys could not be fetched: {EN_UNREACHABLE}")
        assert page.input_value("#trust") == ""
        search(page, tmp_path, b"first")
        wait_for_state(page, "#search-result", "failed")
        bad = ("the node's answer is not what this page expects: {}. The node may run another "
               "version of provenance-ledger, or something in between answered in its place; "
               "tell the node's operator.")
        assert said(page)["searchText"] == "The search could not be made: " + bad.format(
            "it is not JSON")
        page.click("#lang-ja")
        expect(page.locator("#explorer-error")).to_have_text(
            f"このノードのログを表示できません。{JA_UNREACHABLE}", timeout=PAGE_TIMEOUT_MS)
        assert said(page)["searchText"].startswith(
            "検索できませんでした。"
            "ノードの応答が、このページの想定する形ではありません：JSON ではありません。")
        page.click("#lang-en")
        # JSON of another shape, and a policy the page cannot read.
        node.answers["/works/"] = answer_json(200, {"work": "x", "history": "none"})
        node.answers["/explorer"] = answer_json(200, {
            "origin": ORIGIN, "log": "x", "policy": "log nonsense\n", "checkpoints": [],
            "faulty": [], "evidence": []})
        page.reload()
        expect(page.locator("#explorer-error")).to_have_text(
            "This node's log cannot be shown: " + bad.format(
                "its published keys cannot be read (policy line 1: verifier key 'nonsense' is not "
                "<name>+<hex id>+<base64>)"), timeout=PAGE_TIMEOUT_MS)
        search(page, tmp_path, b"again", "again.png")
        wait_for_state(page, "#search-result", "failed")
        shape = "The search could not be made: " + bad.format(
            "it is JSON without the fields expected")
        assert said(page)["searchText"] == shape
        # Events the page cannot show (a consent grant with no body) are no answer either.
        node.answers["/works/"] = answer_json(200, {"work": "x", "history": [
            {"index": 0, "event": {"type": "consent.grant", "at": "2026-01-01T00:00:00Z"}}]})
        page.reload()
        search(page, tmp_path, b"once more", "once-more.png")
        wait_for_state(page, "#search-result", "failed")
        assert said(page)["searchText"] == shape
        assert said(page)["history"] == 0


def test_an_answer_larger_than_the_page_reads_is_not_read(page: Page, tmp_path: Path) -> None:
    sent = []

    def endless(handler: BaseHTTPRequestHandler) -> None:
        """JSON that never ends (no Content-Length): the page must stop reading it."""
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        chunk = b" " * (1 << 20)
        try:
            handler.wfile.write(b'{"history": [')
            for _ in range(256):  # 256 MiB at most, then the test fails
                handler.wfile.write(chunk)
                sent.append(len(chunk))
        except OSError:
            pass
    with stand_in({"/works/": endless}) as node:
        page.goto(f"{node.url}/page/")
        search(page, tmp_path, b"first")
        wait_for_state(page, "#search-result", "failed")
        assert said(page)["searchText"] == (
            "The search could not be made: the node's answer is larger than this page reads "
            "(over 64 MiB), so it was not read.")
        page.click("#lang-ja")
        assert said(page)["verdictText"] == (
            "検索できませんでした。"
            "ノードの応答が、このページが読み込む上限（64 MiB）を超えているため、"
            "読み込みませんでした。")
    assert sum(sent) < 256 << 20


def test_the_state_receipt_failing_keeps_the_history_as_the_node_reports_it(
        page: Page, tmp_path: Path) -> None:
    work = work_of("first")
    event = {"id": "e" * 64, "type": "work.register", "work": work,
             "actor": "ed25519:" + "cd" * 32, "at": "2026-01-01T00:00:00Z",
             "body": {"size": 5, "media_type": "image/png", "title": "first"}}
    with stand_in({
        "/works/": answer_json(200, {"work": work, "state": {}, "history": [
            {"index": 0, "event": event}], "disputed": False, "registrations": [],
            "similar": []}),
        f"/works/{work.replace(':', '%3A')}/state-receipt": answer_json(
            502, {"error": "upstream"}),
        f"/works/{work}/state-receipt": answer_json(502, {"error": "upstream"}),
    }) as node:
        page.goto(f"{node.url}/page/")
        search(page, tmp_path, b"first")
        wait_for_state(page, "#verdict", "node-failed")
        seen = said(page)
        assert seen["search"] == "found"
        assert seen["history"] == 1
        assert page.locator("#timeline .unproven").count() == 1
        assert seen["verdictText"] == (
            "The node's state receipt of this work could not be fetched, so the history above "
            "is as the node reports it, not checked here: the node answered with error 502 "
            "(bad gateway: a proxy in front of the node got no valid answer from it), saying "
            "“upstream”. Try again later; if it goes on, tell the node's operator.")
        page.click("#lang-ja")
        assert said(page)["verdictText"].startswith(
            "この作品の状態受領証をノードから取得できませんでした。上の履歴はノードの報告のままで、"
            "ここでは確認されていません。ノードがエラー 502（ゲートウェイの不良：")
        assert said(page)["history"] == 1


def test_a_node_that_stops_answering_is_said_in_words(page: Page, tmp_path: Path) -> None:
    page.clock.install()  # the page's 30 s without an answer pass when the test says so
    with stand_in({}) as node:
        node.hang = "/works/"
        page.goto(f"{node.url}/page/")
        expect(page.locator("#explorer-error")).to_contain_text(
            "error 404 (not found)", timeout=PAGE_TIMEOUT_MS)
        search(page, tmp_path, b"first")
        assert node.arrived.wait(STARTUP_TIMEOUT)
        expect(page.locator("#search-result")).to_have_text(
            "Looking it up…", timeout=PAGE_TIMEOUT_MS)
        page.clock.fast_forward("00:31")
        wait_for_state(page, "#search-result", "failed")
        assert said(page)["verdictText"] == (
            "The search could not be made: the node stopped answering (nothing for 30 "
            "seconds). It may be overloaded: try again later.")
        page.click("#lang-ja")
        assert said(page)["searchText"] == (
            "検索できませんでした。ノードの応答が止まりました（30 秒間何も届きません）。"
            "混み合っている可能性があります。しばらくしてからもう一度試してください。")
