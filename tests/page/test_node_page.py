"""The page served by a real node on 127.0.0.1: the same page at ``/page/``, a receipt from
the node checked with the node's published keys, the explorer (recent checkpoints verified in
the browser, witnesses, evidence) and search by file, where only the file's hash is sent."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from provenance_ledger.node import init_node
from provenance_ledger.node.config import add_witness, node_keys, set_witnessing
from provenance_ledger.node.page import PAGE_FILES
from tests.conftest import KeyFactory, Signer
from tests.node.conftest import HOST, ORIGIN, RunningNode, free_port, grant, register, running
from tests.node.test_witnessing import LONG_S, StandInWitness, serving

from .conftest import check_in_page


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, sign: Signer,
         keys: KeyFactory) -> Iterator[tuple[RunningNode, str]]:
    """A node that waits for two witnesses (C2SP stand-ins on 127.0.0.1) to cosign each
    checkpoint, holding a registration and a consent grant of the work whose bytes are
    ``b"first"``, and a second work; yields it and the registration's event id."""
    home = tmp_path_factory.mktemp("page-node") / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    log_vkey = node_keys(home)["log"]
    witnesses = StandInWitness("b", log_vkey), StandInWitness("c", log_vkey)
    for name, w in zip(("b", "c"), witnesses, strict=True):
        add_witness(home, name, w.url, w.vkey)
    set_witnessing(home, None, LONG_S)
    with serving(*witnesses), running(home) as n, n.client() as http:
        alice = keys("alice")
        first = register(sign, alice, "first")
        assert http.post("/events", content=first.leaf).status_code == 200
        assert http.post("/events", content=grant(sign, alice, "first", first.id).leaf
                         ).status_code == 200
        assert http.post("/events", content=register(sign, alice, "second").leaf
                         ).status_code == 200
        yield n, first.id


def test_the_node_serves_the_page_files_and_nothing_else(node: tuple[RunningNode, str]
                                                          ) -> None:
    n, _ = node
    with n.client() as http:
        for name, media in PAGE_FILES.items():
            reply = http.get(f"/page/{name}")
            assert reply.status_code == 200 and reply.headers["content-type"] == media
            assert "script-src 'self'" in reply.headers["content-security-policy"]
        assert http.get("/page/").text == http.get("/page/index.html").text
        assert http.get("/page/..%2Fnode.toml").status_code in (400, 404)
        assert http.get("/page/verify.py").status_code == 400
        assert set(http.get("/page/verify.py").json()) == {"error"}
        assert http.get("/page/js/verify.js").status_code == 404
        # specs/node.md section 2 says so, in the row of GET /page/{name}
        spec = " ".join((Path(__file__).resolve().parents[2] / "specs" / "node.md").read_text(
            ).split())
        assert "nothing else (another name is 400, out of the route's schema" in spec
        assert "a deeper path is 404)" in spec


def served_with_a_receipt(n: RunningNode, event_id: str, page: Page, tmp_path: Path) -> Path:
    """The node's receipt of ``event_id`` saved as a file, and the node's page open with the
    node's published keys put in the trust field."""
    with n.client() as http:
        receipt = tmp_path / "receipt.json"
        receipt.write_bytes(http.get(f"/receipts/{event_id}").content)
    page.goto(f"{n.url}/page/")
    page.wait_for_selector("#checkpoints tbody tr")
    page.click("#node-policy")
    return receipt


def test_a_receipt_from_the_node_checks_with_its_published_keys(
        node: tuple[RunningNode, str], page: Page, tmp_path: Path, artifacts: Path) -> None:
    n, event_id = node
    receipt = served_with_a_receipt(n, event_id, page, tmp_path)
    assert f"log {page.evaluate('PLPage.state.explorer.log')}" in page.input_value("#trust")
    assert check_in_page(page, receipt, page.input_value("#trust")) == {
        "state": "valid", "check": None}
    assert "cosigned by 2 of 2 witnesses: b at 2026-01-01T00:00:00Z, c at 2026-01-01T00:00:00Z" \
        in page.inner_text("#statement")
    page.screenshot(path=artifacts / "node-en.png", full_page=True)


def test_the_explorer_shows_verified_checkpoints_witnesses_and_evidence(
        node: tuple[RunningNode, str], page: Page, artifacts: Path) -> None:
    n, _ = node
    page.goto(f"{n.url}/page/")
    rows = page.locator("#checkpoints tbody tr")
    rows.first.wait_for()
    sizes = [int(r.split("\t")[0]) for r in rows.all_inner_texts()]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == 3
    # Each row was verified in the browser against the node's keys: a time, not an error,
    # and the cosignatures of the two witnesses the node waits for.
    assert rows.first.inner_text().split("\t")[2] == \
        "b 2026-01-01T00:00:00Z, c 2026-01-01T00:00:00Z"
    listed = page.inner_text("#witness-list")
    assert [line.split(" (")[0] for line in listed.splitlines()] == [
        "b: 2026-01-01T00:00:00Z", "c: 2026-01-01T00:00:00Z"]  # then how long ago
    assert "None held by this node." in page.inner_text("#explorer-body")
    page.click("#lang-ja")
    assert "このノードは何も持っていません。" in page.inner_text("#explorer-body")
    page.screenshot(path=artifacts / "node-ja.png", full_page=True)


def test_search_by_file_sends_only_the_hash(node: tuple[RunningNode, str], page: Page,
                                           tmp_path: Path) -> None:
    n, _ = node
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"{n.url}/page/")
    page.wait_for_selector("#checkpoints tbody tr")
    work = tmp_path / "first.png"
    work.write_bytes(b"first")
    page.set_input_files("#search-input", work)
    expect(page.locator("#search-result")).to_contain_text("events on this node")
    digest = hashlib.sha256(b"first").hexdigest()
    assert f"/works/sha256%3A{digest}" in " ".join(asked) or \
        f"/works/sha256:{digest}" in " ".join(asked)
    types = page.eval_on_selector_all("#timeline li[data-type]",
                                      "els => els.map(e => e.dataset.type)")
    assert types == ["work.register", "consent.grant"]
    assert "for ai_inference" in page.inner_text("#timeline")
    # The node's state receipt of the work is then checked here, once a key is trusted.
    assert page.get_attribute("#verdict", "data-state") == "needs-trust"
    assert page.locator("#timeline .unproven").count() == 2
    page.click("#node-policy")
    page.evaluate("window.PLPage.check()")
    assert page.get_attribute("#verdict", "data-state") == "valid"
    assert page.locator("#timeline .proven").count() == 2
    assert "ai_inference to anyone" in page.inner_text("#works")
    missing = tmp_path / "unknown.png"
    missing.write_bytes(b"never registered")
    page.set_input_files("#search-input", missing)
    expect(page.locator("#search-result")).to_contain_text("No work with fingerprint")
