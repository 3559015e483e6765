"""``POST /events/batch`` (specs/node.md section 2.2): many signed leaves in one request, each
answered with its own result in order, as ``POST /events`` would answer it alone; the count
and the bytes capped while the body streams in; the whole batch queued or none of it. The
``--node`` client's batch method verifies every receipt, and ``anchor DIR --node`` submits in
batches. A real server on 127.0.0.1, real signatures, receipts verified offline."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.responses import JSONResponse

from provenance_ledger.core.events import MAX_LEAF_BYTES, work_id_of
from provenance_ledger.core.note import Verifier
from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.errors import ConflictError, LedgerError
from provenance_ledger.node import init_node, node_keys
from provenance_ledger.node.app import create_app, node_app
from provenance_ledger.node.batch import MAX_BATCH_BYTES, MAX_BATCH_EVENTS
from provenance_ledger.node.client import MAX_BATCH_EVENTS as CLIENT_MAX_BATCH_EVENTS
from provenance_ledger.node.client import NodeClient
from provenance_ledger.node.config import add_witness, set_witnessing
from provenance_ledger.node.server import make_server
from tests.cli.conftest import run

from ..conftest import NOW, KeyFactory, Signer
from .conftest import (
    HOST,
    ORIGIN,
    STARTUP_TIMEOUT,
    free_port,
    grant,
    note_size,
    register,
    running,
)

OCTETS = {"content-type": "application/octet-stream"}


def _batch(http: httpx.Client, lines: list[bytes], end: bytes = b"\n") -> httpx.Response:
    return http.post("/events/batch", content=b"\n".join(lines) + end, headers=OCTETS)


def _verified(receipt: Any, home: Path) -> tuple[int, str]:
    v = verify_receipt(Receipt.from_json(receipt), [Verifier.from_vkey(node_keys(home)["log"])])
    return v.leaf_index, v.event.id


def test_each_event_of_a_batch_gets_its_own_result_in_order(
        node_home: Path, sign: Signer, keys: KeyFactory, tmp_path: Path) -> None:
    alice, bob = keys("alice"), keys("bob")
    first = register(sign, alice, "batch one")
    with running(node_home) as n, n.client() as http:
        assert http.post("/events", content=first.leaf, headers=OCTETS).status_code == 200
        new = [register(sign, alice, f"batch new {i}") for i in range(3)]
        rival = register(sign, bob, "batch one")  # the work is alice's: 409
        forged = register(sign, alice, "batch forged")
        sig = bytearray(base64.b64decode(json.loads(forged.leaf)["sig"]))
        sig[0] ^= 1
        bad_sig = forged.leaf.replace(json.loads(forged.leaf)["sig"].encode(),
                                      base64.b64encode(bytes(sig)))
        then = grant(sign, alice, "batch new 0", new[0].id)  # builds on an event of this batch
        lines = [new[0].leaf, first.leaf, rival.leaf, bad_sig, b"not json", new[1].leaf,
                 b"{" + b" " * 20_000 + b"}", then.leaf, new[2].leaf]
        r = _batch(http, lines, end=b"\n")
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["status"] for x in results] == [200, 200, 409, 400, 400, 200, 413, 200, 200]
        assert results[1]["id"] == first.id
        # A leaf the log already held: its receipt at its index, nothing appended twice.
        assert _verified(results[1]["receipt"], node_home) == (0, first.id)
        assert results[2]["head"] == first.id and "error" in results[2]
        assert "signature" in results[3]["error"] and "over the 16384-byte limit" in \
            results[6]["error"]
        got = [_verified(results[i]["receipt"], node_home) for i in (0, 5, 7, 8)]
        assert sorted(i for i, _ in got) == [1, 2, 3, 4]
        assert [e for _, e in got] == [new[0].id, new[1].id, then.id, new[2].id]
        assert note_size(http.get("/checkpoint").text) == 5
        # Without the last line feed, the same lines are the same batch.
        again = _batch(http, [new[1].leaf, new[2].leaf], end=b"")
        assert [x["status"] for x in again.json()["results"]] == [200, 200]
        assert note_size(http.get("/checkpoint").text) == 5


def test_a_batch_is_capped_while_it_streams_and_queued_whole(
        node_home: Path, sign: Signer, keys: KeyFactory) -> None:
    alice = keys("alice")
    leaf = register(sign, alice, "capped").leaf
    with running(node_home, queue_limit=2) as n, n.client() as http:
        def lines(count: int) -> Iterator[bytes]:  # streamed: no Content-Length
            for _ in range(count):
                yield leaf + b"\n"

        r = http.post("/events/batch", content=lines(MAX_BATCH_EVENTS + 1), headers=OCTETS)
        assert r.status_code == 413 and f"at most {MAX_BATCH_EVENTS} events" in r.json()["error"]
        def bytes_over(limit: int) -> Iterator[bytes]:
            for _ in range(limit // 65536 + 1):
                yield b"x" * 65536

        r = http.post("/events/batch", content=bytes_over(MAX_BATCH_BYTES), headers=OCTETS)
        assert r.status_code == 413 and "over the limit" in r.json()["error"]
        empty = http.post("/events/batch", content=b"", headers=OCTETS)
        assert (empty.status_code, empty.json()) == (200, {"results": []})
        # The queue (2 here) cannot take 3 events: none of them is queued.
        three = [register(sign, alice, f"queued {i}").leaf for i in range(3)]
        r = _batch(http, three)
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert note_size(http.get("/checkpoint").text) == 0
        assert [x["status"] for x in _batch(http, three[:2]).json()["results"]] == [200, 200]


def test_the_client_batch_verifies_receipts_and_types_refusals(
        node_home: Path, sign: Signer, keys: KeyFactory, tmp_path: Path) -> None:
    assert CLIENT_MAX_BATCH_EVENTS == MAX_BATCH_EVENTS
    alice, bob = keys("alice"), keys("bob")
    mine = [register(sign, alice, f"client {i}") for i in range(3)]
    with running(node_home) as n:
        client = NodeClient(n.url, tmp_path / "pins")
        try:
            out = client.submit_batch([mine[0], register(sign, bob, "client 0"), mine[1],
                                       mine[2]])
        finally:
            client.close()
    assert isinstance(out[1], ConflictError) and out[1].head == mine[0].id
    got = [x for x in out if not isinstance(x, LedgerError)]
    assert [i for i, _ in got] == [0, 1, 2]
    assert [doc["event"]["id"] for _, doc in got] == [e.id for e in mine]


def test_anchor_dir_through_a_node_in_batches(node_home: Path, sign: Signer, keys: KeyFactory,
                                              tmp_path: Path) -> None:
    """New files registered in one batch; one of the user's own files already registered
    (exists), one registered by another key (conflict), a copy (duplicate)."""
    folder = tmp_path / "chapter"
    folder.mkdir()
    for i in range(6):
        (folder / f"page-{i}.png").write_text(f"chapter page {i}\n")
    (folder / "copy.png").write_text("chapter page 5\n")
    (folder / "theirs.png").write_text("someone else's page\n")
    home = tmp_path / "home"
    server = make_server(node_home, port=free_port(), clock=time.time)  # the CLI's own clock
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    url = f"http://{HOST}:{server.config.port}"
    try:
        run("anchor", folder / "page-0.png", "--node", url, home=home)
        theirs = sign(keys("bob"), "work.register", _work_of(folder / "theirs.png"),
                      {"size": 20, "media_type": "image/png"}, at=int(time.time()))
        with httpx.Client(base_url=url) as http:
            assert http.post("/events", content=theirs.leaf, headers=OCTETS).status_code == 200
        r = run("anchor", folder, "--node", url, "--json", home=home, ok_codes=(1,))
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
    doc = json.loads(r.out)
    status = {Path(f["file"]).name: f["status"] for f in doc["files"]}
    assert status == {"page-0.png": "exists", "copy.png": "anchored",  # copy.png sorts first
                      "page-5.png": "duplicate", "theirs.png": "conflict",
                      **{f"page-{i}.png": "anchored" for i in range(1, 5)}}
    for f in doc["files"]:
        if f["status"] in ("anchored", "exists"):
            kept = json.loads(Path(f["receipt"]).read_text())
            index, event_id = _verified(kept, node_home)
            assert (index, event_id) == (f["index"], f["id"])


def _work_of(path: Path) -> str:
    return work_id_of(hashlib.sha256(path.read_bytes()).hexdigest())


def _answers(url: str, requests: list[tuple[str, bytes]]) -> list[tuple[int, Any]]:
    """(status, JSON) of each request in turn; a receipt reduced to (index, event id). Each
    body is byte for byte what ``JSONResponse`` encodes for its JSON, with its headers."""
    out: list[tuple[int, Any]] = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for path, body in requests:
            r = http.post(path, content=body, headers=OCTETS)
            doc = r.json()
            assert r.content == JSONResponse(doc).body
            assert r.headers["content-type"] == "application/json"
            assert r.headers["content-length"] == str(len(r.content))
            if path == "/events" and r.status_code == 200:
                doc = (doc["leaf_index"], doc["event"]["id"])
            elif path == "/events/batch" and r.status_code == 200:
                doc = [(x["status"], x.get("error"), x.get("head"),
                        x["receipt"]["leaf_index"] if "receipt" in x else None)
                       for x in doc["results"]]
            out.append((r.status_code, doc))
    return out


def test_the_hot_write_path_answers_as_the_fastapi_routes(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    """The same submissions to a node (answered ahead of FastAPI, node/hotwrite.py) and to
    its FastAPI application alone get the same statuses and bodies."""
    alice, bob = keys("alice"), keys("bob")
    first = register(sign, alice, "hot one")
    requests = [
        ("/events", first.leaf), ("/events", first.leaf),  # new, then a resubmission
        ("/events", register(sign, bob, "hot one").leaf),  # 409 with head
        ("/events", b'{"event":1}'), ("/events", b"x" * (MAX_LEAF_BYTES + 1)),  # 400, 413
        ("/events", grant(sign, alice, "hot one", "0" * 64).leaf),  # 409: not the head
        ("/events/batch", register(sign, alice, "hot two").leaf + b"\n" + first.leaf),
        ("/events/batch", b""),
    ]
    got = []
    for app in (node_app, create_app):
        home = tmp_path / app.__name__
        init_node(home, ORIGIN, f"{HOST}:{free_port()}")
        config = uvicorn.Config(app(home, clock=lambda: NOW), host=HOST, port=free_port(),
                                log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.01)
        try:
            got.append(_answers(f"http://{HOST}:{config.port}", requests))
        finally:
            server.should_exit = True
            thread.join(timeout=STARTUP_TIMEOUT)
    assert [s for s, _ in got[0]] == [200, 200, 409, 400, 413, 409, 200, 200]
    assert got[0] == got[1]


def test_with_witnesses_a_batch_waits_for_their_quorum(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    """Through the FastAPI route (witnesses configured): every receipt of the batch is
    against a checkpoint both witnesses cosigned, and the headers say so."""
    from .test_witnessing import LONG_S, StandInWitness, cosigners, make_home, serving

    home, log_vkey = make_home(tmp_path)
    b, c = StandInWitness("b", log_vkey), StandInWitness("c", log_vkey)
    for name, w in (("b", b), ("c", c)):
        add_witness(home, name, w.url, w.vkey)
    set_witnessing(home, None, LONG_S)
    alice = keys("alice")
    events = [register(sign, alice, f"witnessed {i}") for i in range(3)]
    with serving(b, c), running(home) as node, node.client() as http:
        r = _batch(http, [events[0].leaf, register(sign, keys("bob"), "witnessed 0").leaf,
                          events[1].leaf, events[2].leaf])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [200, 409, 200, 200]
    assert (r.headers["Provenance-Witness-Quorum"], r.headers["Provenance-Cosigned"]) == (
        "2", "2")
    for x in (results[0], results[2], results[3]):
        assert cosigners(x["receipt"], log_vkey, b, c) == {"w0", "w1"}
