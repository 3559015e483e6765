"""``dataset check --node`` and ``POST /state-receipts`` through a real node on 127.0.0.1
(specs/node.md section 2, specs/cli.md section 3.14).

A node holds a creator's works: one with a consent to the developer, one whose consent to
anyone was revoked, one licensed to the developer, one with nothing; a fifth file nobody
registered. The CLI asks the node for one state receipt v2 of all of them (one checkpoint,
one multiproof), verifies it against the pinned log key, answers per item and keeps a
compliance receipt that ``verify`` re-checks offline. The batch route caps its body while it
streams in; a stand-in that answers for other works than asked is refused by the client.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from provenance_ledger.core.events import SignedEvent, work_id_of
from provenance_ledger.node import init_node
from provenance_ledger.node.app import MAX_BATCH_BODY_BYTES, MAX_BATCH_WORKS

from ..cli.conftest import assert_one_error_line, run
from ..conftest import KeyFactory, Signer
from .conftest import HOST, ORIGIN, RunningNode, free_port, reply, running, serving_http


@dataclass
class Served:
    node: RunningNode
    folder: Path
    works: dict[str, str]  # file name -> work id
    developer: str
    scratch: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sign: Signer,
           keys: KeyFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("dataset-node")
    home = root / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    folder = root / "images"
    folder.mkdir()
    works = {}
    for n, name in enumerate(("a.png", "b.png", "c.png", "d.png", "e.png")):
        data = b"\x89PNG\r\n\x1a\n" + hashlib.sha256(name.encode()).digest() * (40 + n)
        (folder / name).write_bytes(data)
        works[name] = work_id_of(hashlib.sha256(data).hexdigest())
    creator, dev = keys("dataset creator"), keys("dataset developer")
    with running(home) as node, node.client() as http:
        def post(ev: SignedEvent) -> SignedEvent:
            assert http.post("/events", content=ev.leaf).status_code == 200
            return ev

        reg = {n: post(sign(creator, "work.register", works[n],
                            {"size": 100, "media_type": "image/png"}))
               for n in ("a.png", "b.png", "c.png", "d.png")}
        post(sign(creator, "consent.grant", works["a.png"],
                  {"grantee": dev.public.text, "purposes": ["ai_training"]},
                  prev=reg["a.png"].id))
        grant = post(sign(creator, "consent.grant", works["b.png"],
                          {"grantee": "*", "purposes": ["ai_training"]}, prev=reg["b.png"].id))
        post(sign(creator, "consent.revoke", works["b.png"], {"grant": grant.id}, prev=grant.id))
        offer = post(sign(creator, "licence.offer", works["c.png"],
                          {"licensee": dev.public.text, "purposes": ["ai_training"]},
                          prev=reg["c.png"].id))
        post(sign(dev, "licence.accept", works["c.png"], {"offer": offer.id}, prev=offer.id))
        yield Served(node, folder, works, dev.public.text, root)


EXPECTED = {"a.png": "allowed", "b.png": "not allowed", "c.png": "allowed",
            "d.png": "not allowed", "e.png": "unregistered"}


def test_a_dataset_checked_through_a_node_with_a_compliance_receipt(served: Served) -> None:
    home = served.scratch / "client"
    receipt = served.scratch / "node.compliance.json"
    r = run("dataset", "check", served.folder, "--purpose", "ai_training", "--as",
            served.developer, "--node", served.node.url, "--receipt", receipt, "--json",
            home=home, ok_codes=(1,))
    doc = json.loads(r.out)
    assert {i["item"]: i["outcome"] for i in doc["items"]} == EXPECTED
    assert doc["origin"] == ORIGIN and doc["tree_size"] == 9
    vkey = httpx.get(served.node.url + "/keys").json()["log"]
    said = run("verify", receipt, "--log-key", vkey, "--json", home=home).out
    verified = json.loads(said)
    assert verified["summary"] == {"items": 5, "allowed": 2, "not_allowed": 2,
                                   "unregistered": 1}
    assert [i["item"] for i in verified["not_allowed"]] == ["b.png", "d.png"]


def test_the_batch_route_answers_one_receipt_for_the_distinct_works(served: Served) -> None:
    a, e = served.works["a.png"], served.works["e.png"]
    body = {"works": [a, e.upper().replace("SHA256:", ""), a]}
    r = httpx.post(served.node.url + "/state-receipts", json=body)
    assert r.status_code == 200
    doc = r.json()
    assert doc["format"] == "provenance-ledger/state-receipt/v2"
    assert [w["work"] for w in doc["works"]] == [a, e]
    assert doc["works"][1]["events"] == [] and len(doc["works"][0]["events"]) == 2


@pytest.mark.parametrize(("body", "status", "words"), [
    (b'{"works": []}', 400, "1 to"),
    (b'{"works": ["sha256:12"]}', 400, "whole work id"),
    (b'{"work": []}', 400, "the body must be"),
    (b"not json", 400, "JSON"),
    (json.dumps({"works": ["00" * 32] * (MAX_BATCH_WORKS + 1)}).encode(), 400, "1 to"),
    (b" " * (MAX_BATCH_BODY_BYTES + 1), 413, "limit"),
])
def test_the_batch_route_refuses_bad_bodies(served: Served, body: bytes, status: int,
                                            words: str) -> None:
    r = httpx.post(served.node.url + "/state-receipts", content=body,
                   headers={"content-type": "application/json"})
    assert r.status_code == status and words in r.json()["error"]


def test_a_streamed_body_over_the_cap_is_refused_before_it_is_all_read(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BATCH_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    r = httpx.post(served.node.url + "/state-receipts", content=chunks(),
                   headers={"content-type": "application/json"})
    assert r.status_code == 413


class OtherWorks(BaseHTTPRequestHandler):
    """A node's /keys, and for POST /state-receipts a real, valid state receipt of the node,
    but for other works than the client asked."""

    server: Any

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        reply(self, 200, json.dumps({"log": self.server.vkey}).encode(), "application/json")

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["content-length"]))
        reply(self, 200, self.server.answer, "application/json")

    def log_message(self, *args: Any) -> None:
        pass


def test_a_node_answering_for_other_works_is_refused(served: Served) -> None:
    url = served.node.url
    vkey = httpx.get(url + "/keys").json()["log"]
    answer = httpx.post(url + "/state-receipts", json={"works": [served.works["d.png"]]})
    server = ThreadingHTTPServer((HOST, 0), OtherWorks)
    server.vkey = vkey  # type: ignore[attr-defined]
    server.answer = answer.content  # type: ignore[attr-defined]
    with serving_http(server):
        stand_in = f"http://{HOST}:{server.server_address[1]}"
        manifest = served.scratch / "one.txt"
        manifest.write_text(served.works["a.png"] + "\n")
        r = run("dataset", "check", manifest, "--purpose", "ai_training", "--as",
                served.developer, "--node", stand_in, home=served.scratch / "other",
                ok_codes=(2,))
    assert "answered for other works" in assert_one_error_line(r)
