"""Tests for the node service (provenance_ledger.node.app and the units it runs on) over real
HTTP: a uvicorn server on 127.0.0.1, httpx clients, a real SQLite ledger and witness, real
signatures; receipts and proofs are verified offline with core (and tlog-scales where it
applies)."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tlog_scales.signing import Vkey
from tlog_scales.tlog import ConsistencyProof as ScalesConsistencyProof

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.current import StateReceiptV2, verify_state_receipt_v2
from provenance_ledger.core.encoding import canonical_json
from provenance_ledger.core.evidence import Evidence, verify_evidence
from provenance_ledger.core.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from provenance_ledger.core.note import Checkpoint, NoteSigner, SignedNote, Verifier
from provenance_ledger.core.policy import parse_policy
from provenance_ledger.core.receipt import (
    Receipt,
    verify_checkpoint_note,
    verify_receipt,
)
from provenance_ledger.core.timefmt import format_time
from provenance_ledger.core.witness import MAX_ADD_CHECKPOINT_BYTES, add_checkpoint_body
from provenance_ledger.ledger import Home, Ledger, audit
from provenance_ledger.ledger.ledger import MAX_EVENT_AGE
from provenance_ledger.node import init_node, load_config, node_keys
from provenance_ledger.node.app import MAX_ENTRIES_PER_REQUEST, MAX_EVENT_BYTES
from provenance_ledger.node.config import add_witness, open_node_ledger
from provenance_ledger.node.hotpath import HotReads, inclusion_query
from provenance_ledger.node.reads import READ_CONNECTIONS
from tests.scales import ScalesCheckpoint

from ..conftest import NOW, KeyFactory, Signer
from .conftest import (
    HOST,
    ORIGIN,
    PEER,
    PEER_WITNESS,
    RunningNode,
    body_for,
    fork,
    grant,
    grow,
    note_size,
    register,
    running,
    work,
)


@pytest.fixture
def node(node_home: Path) -> Iterator[RunningNode]:
    with running(node_home) as n:
        yield n


@pytest.fixture
def client(node: RunningNode) -> Iterator[httpx.Client]:
    with node.client() as c:
        yield c


def _log_key(home: Path) -> Verifier:
    return Verifier.from_vkey(node_keys(home)["log"])


def _submit(client: httpx.Client, leaf: bytes) -> httpx.Response:
    return client.post("/events", content=leaf,
                       headers={"content-type": "application/octet-stream"})


def _receipt_ok(data: Any, home: Path) -> int:
    verified = verify_receipt(Receipt.from_json(data), [_log_key(home)])
    return verified.leaf_index


def test_concurrent_submissions_get_receipts_that_verify(
        node: RunningNode, sign: Signer, keys: KeyFactory) -> None:
    """Four clients, each registering works and then granting consent on them (each grant
    names the head its client got back), all at once."""

    def client_run(c: int) -> list[dict[str, Any]]:
        out = []
        with node.client() as http:
            key = keys(f"creator{c}")
            for i in range(5):
                reg = register(sign, key, f"w{c}-{i}")
                r = _submit(http, reg.leaf)
                assert r.status_code == 200, r.text
                out.append(r.json())
                r = _submit(http, grant(sign, key, f"w{c}-{i}", reg.id).leaf)
                assert r.status_code == 200, r.text
                out.append(r.json())
        return out

    with ThreadPoolExecutor(4) as pool:
        receipts = [r for rs in pool.map(client_run, range(4)) for r in rs]
    indexes = [_receipt_ok(r, node.home) for r in receipts]
    assert sorted(indexes) == list(range(40))
    with node.client() as http:
        cp = Checkpoint.from_text(SignedNote.from_text(http.get("/checkpoint").text).text)
        assert cp.size == 40
        state = http.get(f"/works/{work('w3-4')}").json()
        assert state["state"]["events"] == 2 and len(state["history"]) == 2


def test_submissions_arriving_together_share_one_block(node_home: Path, sign: Signer,
                                                       keys: KeyFactory) -> None:
    """Events that wait in the queue together are sequenced as one block with one checkpoint
    (specs/node.md section 2); a refused one in the batch is answered alone and the rest
    land."""
    alice, bob = keys("alice"), keys("bob")
    burst = [register(sign, alice, f"batched {i}").leaf for i in range(8)]
    burst.insert(3, register(sign, bob, "registered before").leaf)  # alice's already
    with running(node_home, linger_s=1.0, batch_max=16) as n, n.client() as http:
        assert _submit(http, register(sign, alice, "registered before").leaf).status_code == 200
        start = threading.Barrier(len(burst))

        def post(leaf: bytes) -> httpx.Response:
            with n.client() as own:
                start.wait()
                return _submit(own, leaf)

        with ThreadPoolExecutor(len(burst)) as pool:
            replies = list(pool.map(post, burst))
        checkpoints = [r.json()["checkpoint"] for r in replies if r.status_code == 200]
    assert [r.status_code for r in replies] == [200] * 3 + [409] + [200] * 5
    assert len(set(checkpoints)) == 1  # one block, one signed checkpoint for all eight
    assert note_size(checkpoints[0]) == 1 + 8
    assert sorted(_receipt_ok(r.json(), node_home) for r in replies
                  if r.status_code == 200) == list(range(1, 9))


def test_refusals_map_to_status_codes(client: httpx.Client, sign: Signer,
                                      keys: KeyFactory) -> None:
    alice, bob = keys("alice"), keys("bob")
    first = register(sign, alice, "contested")
    assert _submit(client, first.leaf).status_code == 200
    # 409: the work is already registered; the reply names its head.
    r = _submit(client, register(sign, bob, "contested").leaf)
    assert r.status_code == 409 and r.json()["head"] == first.id
    # 409 too: an event that does not build on the head.
    stale = grant(sign, alice, "contested", "ab" * 32)
    r = _submit(client, stale.leaf)
    assert r.status_code == 409 and r.json()["head"] == first.id
    # 422: well-formed and signed, but refused (too old for the admission window).
    old = register(sign, alice, "late", at=NOW - MAX_EVENT_AGE - 1)
    r = _submit(client, old.leaf)
    assert r.status_code == 422 and "behind the ledger clock" in r.json()["error"]
    # 400: not an event, and an event whose signature does not verify.
    assert _submit(client, b"not json").status_code == 400
    assert _submit(client, b"").status_code == 400
    forged = json.loads(register(sign, alice, "forged").leaf)
    forged["sig"] = base64.b64encode(bytes(64)).decode()
    r = _submit(client, canonical_json(forged))
    assert r.status_code == 400 and "signature" in r.json()["error"]


def test_oversized_bodies_are_413(client: httpx.Client) -> None:
    r = _submit(client, b"x" * (MAX_EVENT_BYTES + 1))
    assert r.status_code == 413 and str(MAX_EVENT_BYTES) in r.json()["error"]
    r = client.post("/add-checkpoint", content=b"x" * (MAX_ADD_CHECKPOINT_BYTES + 1))
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(MAX_EVENT_BYTES // 1024 + 2):
            yield b"y" * 1024

    assert client.post("/events", content=chunks()).status_code == 413


def test_full_queue_answers_503_with_retry_after(
        node_home: Path, sign: Signer, keys: KeyFactory) -> None:
    """Hold SQLite's write lock from outside so the sequencer's block cannot commit: one event
    is in the blocked block, two fill the queue, the rest are pushed back."""
    leaves = [register(sign, keys("q"), f"queued{i}").leaf for i in range(10)]
    with running(node_home, queue_limit=2, batch_max=1, linger_s=0) as node:
        blocker = sqlite3.connect(node_home / "ledger.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        with ThreadPoolExecutor(len(leaves)) as pool, node.client() as http:
            futures = [pool.submit(_submit, http, leaf) for leaf in leaves]
            deadline = time.monotonic() + 2  # below SQLite's 5 s busy timeout
            while sum(f.done() for f in futures) < 7 and time.monotonic() < deadline:
                time.sleep(0.01)
            refused = [f.result() for f in futures if f.done()]
            blocker.execute("ROLLBACK")
            responses = [f.result() for f in futures]
        blocker.close()
    assert 7 <= len(refused) <= 8
    for r in refused:
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert "queue is full" in r.json()["error"]
    accepted = [r for r in responses if r.status_code == 200]
    assert len(accepted) == len(leaves) - len(refused)
    for r in accepted:
        _receipt_ok(r.json(), node_home)


def test_openapi_lists_every_route(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    expected = {
        "/events": "post", "/checkpoint": "get", "/entries": "get",
        "/proof/inclusion": "get", "/proof/consistency": "get", "/works/{work}": "get",
        "/works/{work}/state-receipt": "get", "/receipts/{event_id}": "get",
        "/add-checkpoint": "post", "/evidence": "get", "/keys": "get", "/cosigned": "get",
        "/works": "get", "/offers": "get", "/state-receipts": "post", "/similar": "post",
        "/works/{work}/preferences": "get",
        "/page/": "get", "/page/{name}": "get", "/explorer": "get",  # node/page.py
        "/events/batch": "post",  # node/batch.py
        # node/shard_routes.py (specs/node.md section 10.3)
        "/shards": "get", "/shards/{sid}/keys": "get", "/shards/{sid}/checkpoint": "get",
        "/shards/{sid}/entries": "get", "/shards/{sid}/proof/inclusion": "get",
        "/shards/{sid}/proof/consistency": "get", "/shards/{sid}/receipts/{event_id}": "get",
        "/shards/{sid}/events": "post",
        "/shards/{sid}/add-checkpoint": "post",  # node/frozen_cosign.py (section 10.3)
    }
    assert set(doc["paths"]) == set(expected)
    for path, method in expected.items():
        assert doc["paths"][path][method]["summary"]
    witness = doc["paths"]["/add-checkpoint"]["post"]["responses"]
    assert {"200", "400", "403", "404", "409", "413", "422"} <= set(witness)
    assert {"200", "400", "409", "413", "422", "503"} <= set(
        doc["paths"]["/events"]["post"]["responses"])


def test_binds_loopback_by_default(tmp_path: Path) -> None:
    home = tmp_path / "default"
    config = init_node(home, ORIGIN)
    assert config.host == HOST
    with running(home) as node:
        (sock,) = node.server.servers[0].sockets
        assert sock.getsockname()[0] == HOST
        assert node.server.config.host == HOST


@pytest.fixture
def filled(client: httpx.Client, sign: Signer, keys: KeyFactory) -> list[str]:
    """13 events submitted one at a time (so checkpoints at 1, 2, ..., 13); their ids."""
    ids = []
    key = keys("reader")
    for i in range(13):
        ev = register(sign, key, f"r{i}")
        assert _submit(client, ev.leaf).status_code == 200
        ids.append(ev.id)
    return ids


def test_reads(client: httpx.Client, node_home: Path, filled: list[str]) -> None:
    r = client.get("/checkpoint")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    note = SignedNote.from_text(r.text)
    cp = Checkpoint.from_text(note.text)
    assert cp.size == 13
    # Entries: the exact leaves, in order, whose hashes are the event ids.
    entries = client.get("/entries", params={"start": 3, "end": 13}).json()["entries"]
    assert [e["index"] for e in entries] == list(range(3, 13))
    assert [leaf_hash(base64.b64decode(e["leaf"])).hex() for e in entries] == filled[3:]
    # Inclusion by index and by id agree and verify against the checkpoint.
    by_index = client.get("/proof/inclusion", params={"index": 5}).json()
    by_id = client.get("/proof/inclusion", params={"id": filled[5]}).json()
    assert by_index == by_id and by_index["size"] == 13 and by_index["id"] == filled[5]
    verify_inclusion(5, 13, bytes.fromhex(filled[5]),
                     [base64.b64decode(h) for h in by_index["inclusion_proof"]], cp.root)
    assert client.get("/proof/inclusion", params={"index": 5, "size": 6}).json()["size"] == 6
    # Consistency between two checkpoints, checked by core and by tlog-scales.
    old_note = client.get("/checkpoint", params={"size": 5}).text
    old = Checkpoint.from_text(SignedNote.from_text(old_note).text)
    proof = client.get("/proof/consistency", params={"old": 5, "new": 13}).json()
    hashes = [base64.b64decode(h) for h in proof["consistency_proof"]]
    verify_consistency(5, 13, hashes, old.root, cp.root)
    ScalesConsistencyProof(5, 13, hashes).check(old.root, cp.root)
    assert client.get("/proof/consistency", params={"old": 5}).json() == proof
    # A work's state and its state receipt, verified offline.
    w = work("r7")
    data = client.get(f"/works/{w}").json()
    assert data["work"] == w and data["state"]["head"] == filled[7]
    assert [h["event"]["id"] for h in data["history"]] == [filled[7]]
    assert client.get(f"/works/{w[:15]}").json()["work"] == w  # a unique prefix
    sr = client.get(f"/works/{w}/state-receipt").json()  # complete: with the map proof
    verified = verify_state_receipt_v2(StateReceiptV2.from_json(sr), [_log_key(node_home)])
    assert verified.works[0].state is not None and verified.works[0].state.head == filled[7]
    # A full work id the log does not hold: the proof of its absence.
    absent = client.get(f"/works/{work('nothing')}/state-receipt").json()
    proven = verify_state_receipt_v2(StateReceiptV2.from_json(absent), [_log_key(node_home)])
    assert not proven.works[0].registered
    # Receipts by id (or prefix), against the latest or an earlier checkpoint.
    assert _receipt_ok(client.get(f"/receipts/{filled[2]}").json(), node_home) == 2
    early = client.get(f"/receipts/{filled[2][:12]}", params={"size": 3}).json()
    assert _receipt_ok(early, node_home) == 2
    assert Checkpoint.from_text(SignedNote.from_text(early["checkpoint"]).text).size == 3


def test_every_form_of_an_inclusion_request_gives_the_same_proof(
        client: httpx.Client, filled: list[str]) -> None:
    """Plain queries are answered ahead of FastAPI (node.hotpath.HotReads); any other form
    (an extra parameter, an encoded digit) goes through the FastAPI route. Both must give the
    very same bytes, for every leaf of every tree size."""
    for size in range(1, 14):
        for index in range(size):
            plain = client.get(f"/proof/inclusion?index={index}&size={size}")
            routed = client.get(f"/proof/inclusion?size={size}&index={index}&pad=1")
            assert plain.status_code == routed.status_code == 200
            assert plain.content == routed.content
            assert plain.headers["content-type"] == "application/json"
            assert json.loads(plain.content)["id"] == filled[index]
    by_id = client.get(f"/proof/inclusion?id={filled[4].upper()}").content
    assert by_id == client.get(f"/proof/inclusion?id={filled[4][:10]}").content
    assert by_id == client.get("/proof/inclusion?index=%34").content  # "%34" is "4"


def test_read_memory_is_bounded_whatever_the_clients(
        node: RunningNode, filled: list[str]) -> None:
    """Many clients reading at once use at most READ_CONNECTIONS snapshot connections plus the
    hot path's, and none maps the database file (a map per connection made a node's memory
    grow with the log: 2.4 GB in a 10-minute soak)."""
    hot = node.server.config.app.app  # AccessLog -> HotReads
    assert isinstance(hot, HotReads)
    clients = 4 * READ_CONNECTIONS
    start = threading.Barrier(clients)

    def read(c: int) -> list[int]:
        with node.client() as own:
            start.wait()
            return [own.get(f"/receipts/{filled[(c + k) % len(filled)]}").status_code
                    for k in range(10)] + [own.get(f"/proof/inclusion?index={c % 13}").status_code]

    with ThreadPoolExecutor(clients) as pool:
        statuses = [s for got in pool.map(read, range(clients)) for s in got]
    assert statuses == [200] * len(statuses)
    assert hot.node.reads.connections <= READ_CONNECTIONS + 1
    db = str(Home(node.home).db_path)
    maps = Path("/proc/self/maps").read_text().splitlines()
    assert [m for m in maps if m.endswith(db)] == []


def test_a_block_committed_but_not_yet_published_is_served(
        node: RunningNode, client: httpx.Client, filled: list[str]) -> None:
    """Between a block's commit and the sequencer publishing its size, a proof of that
    block (asked for at the size GET /checkpoint already serves) is found all the same."""
    hot = node.server.config.app.app  # AccessLog -> HotReads
    assert isinstance(hot, HotReads)
    sequencer = hot.node.sequencer
    sequencer.checkpoint_size = 10  # as if blocks 11..13 had just committed
    try:
        assert client.get("/proof/inclusion", params={"index": 12, "size": 13}).status_code == 200
        latest = client.get("/proof/inclusion", params={"id": filled[12]}).json()
        assert (latest["index"], latest["size"]) == (12, 13)
        assert client.get("/proof/inclusion", params={"index": 13}).status_code == 404
    finally:
        sequencer.checkpoint_size = 13


@pytest.mark.parametrize("raw, parsed", [
    (b"index=5", (5, None, None)),
    (b"size=9&index=5", (5, None, 9)),
    (b"id=AB12", (None, "AB12", None)),
    (b"", (None, None, None)),  # the handler then says "give exactly one"
    (b"index=9223372036854775807", (2**63 - 1, None, None)),
    (b"index=9223372036854775808", None),
    (b"index=5&index=6", None),
    (b"index=-1", None),
    (b"index=%35", None),
    (b"index=1&pad=1", None),
    (b"index", None),
    (b"index=", None),
    (b"id=" + b"a" * 65, None),
    (b"id=zz", None),
])
def test_only_plain_inclusion_queries_take_the_hot_path(
        raw: bytes, parsed: tuple[int | None, str | None, int | None] | None) -> None:
    assert inclusion_query(raw) == parsed


def test_a_proof_right_after_a_receipt_is_against_the_new_checkpoint(
        client: httpx.Client, sign: Signer, keys: KeyFactory) -> None:
    key = keys("fresh")
    for i in range(5):
        ev = register(sign, key, f"fresh{i}")
        receipt = _submit(client, ev.leaf).json()
        proof = client.get("/proof/inclusion", params={"id": ev.id}).json()
        signed = Checkpoint.from_text(SignedNote.from_text(receipt["checkpoint"]).text)
        assert proof["size"] == signed.size == i + 1
        assert proof["inclusion_proof"] == receipt["inclusion_proof"]


@pytest.mark.parametrize("path, params, status, message", [
    ("/entries", {"start": 0, "end": MAX_ENTRIES_PER_REQUEST + 1}, 400, "at most"),
    ("/entries", {"start": 5, "end": 5}, 400, "above start"),
    ("/entries", {"start": 0, "end": 14}, 400, "beyond the log size"),
    ("/entries", {"start": -1, "end": 3}, 400, "start"),
    ("/entries", {"start": "x", "end": 3}, 400, "start"),
    ("/entries", {"start": 0}, 400, "end"),
    ("/proof/inclusion", {}, 400, "exactly one"),
    ("/proof/inclusion", {"index": 1, "id": "ab" * 32}, 400, "exactly one"),
    ("/proof/inclusion", {"index": 13}, 404, "no leaf"),
    ("/proof/inclusion", {"index": 1, "size": 99}, 404, "log size 13"),
    ("/proof/inclusion", {"id": "zz"}, 400, "hex"),
    ("/proof/inclusion", {"index": "x"}, 400, "index"),
    ("/proof/inclusion", {"index": -1}, 400, "index"),
    ("/proof/inclusion", {"index": ""}, 400, "index"),
    ("/proof/inclusion", {"index": 2**70}, 400, "index"),
    ("/proof/inclusion", {"index": 1, "size": 0}, 404, "no leaf"),
    ("/proof/consistency", {"old": 9, "new": 4}, 400, "old"),
    ("/proof/consistency", {"old": 2**70}, 400, "old"),
    ("/checkpoint", {"size": 99}, 404, "no checkpoint"),
    (f"/works/{work('nothing')}", {}, 404, "no work"),
    ("/works/abcd1234/state-receipt", {}, 404, "no work"),
    ("/receipts/" + "ab" * 32, {}, 404, "no event"),
    ("/receipts/zz", {}, 400, "hex"),
    ("/no/such/route", {}, 404, "Not Found"),
])
def test_read_refusals(client: httpx.Client, filled: list[str], path: str,
                       params: dict[str, Any], status: int, message: str) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_receipt_size_must_cover_the_event(client: httpx.Client, filled: list[str]) -> None:
    r = client.get(f"/receipts/{filled[9]}", params={"size": 4})
    assert r.status_code == 404 and "not covered" in r.json()["error"]


def test_an_empty_log_serves_the_empty_trees_checkpoint(
        node_home: Path, sign: Signer, keys: KeyFactory) -> None:
    """A new node signs the checkpoint of size 0 (C2SP allows it), so peers can mirror and
    witness it before its first event; a restart does not sign another one."""
    with running(node_home) as node, node.client() as client:
        r = client.get("/checkpoint")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        cp, _, _ = verify_checkpoint_note(r.text, [_log_key(node_home)])
        assert (cp.size, cp.root) == (0, EMPTY_ROOT)
        ScalesCheckpoint.from_text(r.text).verify(Vkey.from_string(node_keys(node_home)["log"]))
        assert client.get("/checkpoint", params={"size": 0}).text == r.text
        assert client.get("/proof/consistency", params={"old": 0}).json() == {
            "old": 0, "new": 0, "consistency_proof": []}
        missing = client.get("/proof/inclusion", params={"index": 0})
        assert missing.status_code == 404 and "size 0" in missing.json()["error"]
        first = register(sign, keys("first"), "first")
        assert _submit(client, first.leaf).status_code == 200
        proof = client.get("/proof/consistency", params={"old": 0, "new": 1}).json()
        assert proof["consistency_proof"] == []
    with running(node_home) as again, again.client() as client:
        assert client.get("/checkpoint", params={"size": 0}).text == r.text
    ledger = Home(node_home).open_ledger()
    try:
        report = audit(ledger)
    finally:
        ledger.close()
    assert (report.entries, report.checkpoints) == (1, 2)


# -- witnessing over HTTP ---------------------------------------------------------------------


def _witness_post(client: httpx.Client, body: bytes) -> httpx.Response:
    return client.post("/add-checkpoint", content=body)


def test_add_checkpoint_status_codes(client: httpx.Client, node_home: Path, peer_log: Ledger,
                                     sign: Signer, keys: KeyFactory, tmp_path: Path) -> None:
    note3 = grow(peer_log, sign, keys("p"), ["a", "b", "c"])
    # 200: first checkpoint (old 0); the cosignature verifies with the witness key, also
    # with tlog-scales.
    r = _witness_post(client, body_for(peer_log, 0))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    witness_vkey = node_keys(node_home)["witness"]
    cosigned = SignedNote.from_text(note3 + r.text)
    assert Verifier.from_vkey(witness_vkey).verify(cosigned.signatures[-1],
                                                   cosigned.text) == NOW
    scales = ScalesCheckpoint.from_text(note3 + r.text)
    scales.verify(Vkey.from_string(witness_vkey))
    scales.verify(Vkey.from_string(peer_log.vkey))
    # 409: old size is not the witness's (body: its size, typed text/x.tlog.size).
    note5 = grow(peer_log, sign, keys("p"), ["d", "e"])
    r = _witness_post(client, body_for(peer_log, 0))
    assert (r.status_code, r.text) == (409, "3\n")
    assert r.headers["content-type"] == "text/x.tlog.size"
    # 422: the consistency proof does not verify.
    bad = [bytes(32)] * len(peer_log.consistency_proof(3, 5))
    assert _witness_post(client, add_checkpoint_body(3, bad, note5)).status_code == 422
    # 400: malformed, and old size above the checkpoint's.
    assert _witness_post(client, b"old x\n\n" + note5.encode()).status_code == 400
    assert _witness_post(client, add_checkpoint_body(6, [], note5)).status_code == 400
    # 404: an origin the node does not know.
    stranger = Home(tmp_path / "stranger").open_ledger(origin="stranger.test/log")
    grow(stranger, sign, keys("s"), ["z"])
    assert _witness_post(client, body_for(stranger, 0)).status_code == 404
    stranger.close()
    # 403: the peer's origin, signed by a key the node does not trust for it.
    forger = NoteSigner(PEER, keys("forger"))
    cp5 = Checkpoint.from_text(SignedNote.from_text(note5).text)
    forged = SignedNote(cp5.to_text(), (forger.sign(cp5.to_text()),)).to_text()
    assert _witness_post(client, add_checkpoint_body(3, peer_log.consistency_proof(3, 5),
                                                     forged)).status_code == 403
    # And the good request after all of that: 200.
    assert _witness_post(client, body_for(peer_log, 3)).status_code == 200
    assert client.get("/evidence").json() == {"faulty": [], "evidence": []}


def test_split_view_is_kept_and_served(client: httpx.Client, node_home: Path,
                                       peer_log: Ledger, sign: Signer, keys: KeyFactory,
                                       tmp_path: Path) -> None:
    honest = grow(peer_log, sign, keys("p"), ["a", "b", "c"])
    assert _witness_post(client, body_for(peer_log, 0)).status_code == 200
    forked = fork(tmp_path / "peer", tmp_path / "fork", PEER)
    other = grow(forked, sign, keys("p"), ["x", "y", "z"])
    r = _witness_post(client, add_checkpoint_body(3, [], other))
    assert (r.status_code, r.text) == (409, "3\n")
    served = client.get("/evidence").json()
    assert served["faulty"] == [PEER]
    (item,) = served["evidence"]
    ev = Evidence.from_json(item)
    assert ev.checkpoints == (honest, other) and ev.kind == "split-view"
    verify_evidence(ev, peer_log.vkey)
    assert client.get("/evidence", params={"origin": ORIGIN}).json()["evidence"] == []
    # The faulty origin is refused from now on.
    grow(peer_log, sign, keys("p"), ["d"])
    assert _witness_post(client, body_for(peer_log, 3)).status_code == 409
    forked.close()


def test_peer_cosignatures_are_served_with_checkpoints_and_receipts(
        client: httpx.Client, node_home: Path, peer_witness: NoteSigner, sign: Signer,
        keys: KeyFactory) -> None:
    ev = register(sign, keys("creator"), "cosigned work")
    assert _submit(client, ev.leaf).status_code == 200
    note = client.get("/checkpoint").text
    cp = Checkpoint.from_text(SignedNote.from_text(note).text)
    # The peer, having mirrored us, delivers its cosignature with add-checkpoint.
    cosig = peer_witness.sign(cp.to_text(), NOW)
    r = _witness_post(client, add_checkpoint_body(0, [], note + cosig.to_line()))
    assert r.status_code == 200
    served = client.get("/checkpoint").text
    assert served == note + cosig.to_line()
    receipt = Receipt.from_json(client.get(f"/receipts/{ev.id}").json())
    policy = parse_policy(f"log {node_keys(node_home)['log']}\n"
                          f"witness {PEER_WITNESS} {peer_witness.verifier.to_vkey()}\n"
                          f"quorum {PEER_WITNESS}\n")
    verified = verify_receipt(receipt, policy.logs, policy.witnesses)
    assert verified.cosigners == {PEER_WITNESS: NOW}
    assert policy.satisfied(set(verified.cosigners))
    scales = ScalesCheckpoint.from_text(receipt.checkpoint)
    scales.verify(Vkey.from_string(peer_witness.verifier.to_vkey()))
    state = client.get(f"/works/{ev.event.work}/state-receipt").json()
    assert state["checkpoint"] == served


def test_the_earliest_cosignature_is_found_however_many_checkpoints_came_before(
        node_home: Path, peer_witness: NoteSigner, sign: Signer, keys: KeyFactory) -> None:
    """``cosigned_at`` of a registration (specs/node.md section 6) is the earliest cosignature
    on the smallest cosigned checkpoint that includes it, however many checkpoints the log
    has: a busy node signs one per block, and witnesses cosign only the latest they see."""
    blocks, half = 1100, 550
    ledger = open_node_ledger(node_home, load_config(node_home))
    try:
        creator = keys("creator")
        for i in range(blocks):  # one checkpoint per block
            note = grow(ledger, sign, creator, [f"block {i}"])
            if i == half - 1:
                half_note = note
    finally:
        ledger.close()

    def cosigned_at(http: httpx.Client, index: int) -> str | None:
        (reg,) = http.get(f"/works/{work(f'block {index}')}").json()["registrations"]
        assert reg["index"] == index
        return reg["cosigned_at"]  # type: ignore[no-any-return]

    with running(node_home) as n, n.client() as http:
        assert cosigned_at(http, 0) is None  # no witness yet
        note = http.get("/checkpoint").text
        for at, signed in ((NOW + 30, half_note), (NOW + 60, note)):
            cp = Checkpoint.from_text(SignedNote.from_text(signed).text)
            cosig = peer_witness.sign(cp.to_text(), at)
            assert _witness_post(http, add_checkpoint_body(0, [], signed + cosig.to_line())
                                 ).status_code == 200
        # Entries up to 549 are in the checkpoint of size 550, cosigned first.
        assert [cosigned_at(http, i) for i in (0, half - 1, half, blocks - 1)] == [
            format_time(NOW + 30), format_time(NOW + 30), format_time(NOW + 60),
            format_time(NOW + 60)]


def test_a_registration_is_dated_when_the_witness_quorum_had_cosigned_not_by_one_witness(
        node_home: Path, sign: Signer, keys: KeyFactory) -> None:
    """In a dispute over who registered first, one witness's cosignature time is only its own
    word (specs/node.md section 6): with two witnesses and a quorum of two, an early
    cosignature of one alone does not date the registration; it is dated when the second
    witness had cosigned too, and each witness counts at its first cosignature of the entry."""
    w1, w2 = (NoteSigner(name, PrivateKey.from_seed(hashlib.sha256(name.encode()).digest()),
                         cosigner=True) for name in ("witness-one.example", "witness-two.example"))
    for w in (w1, w2):  # nothing listens on port 9: the node never gets an answer itself
        add_witness(node_home, w.name, f"http://{HOST}:9", w.verifier.to_vkey())
    assert load_config(node_home).quorum == 2
    ledger = open_node_ledger(node_home, load_config(node_home))
    try:
        first = grow(ledger, sign, keys("creator"), ["early work"])
        second = grow(ledger, sign, keys("creator"), ["later work"])
    finally:
        ledger.close()

    def cosign(http: httpx.Client, w: NoteSigner, signed: str, at: int) -> None:
        cp = Checkpoint.from_text(SignedNote.from_text(signed).text)
        line = w.sign(cp.to_text(), at).to_line()
        assert _witness_post(http, add_checkpoint_body(0, [], signed + line)).status_code == 200

    def cosigned_at(http: httpx.Client, name: str) -> str | None:
        (reg,) = http.get(f"/works/{work(name)}").json()["registrations"]
        return reg["cosigned_at"]  # type: ignore[no-any-return]

    with running(node_home) as n, n.client() as http:
        cosign(http, w1, first, NOW + 10)  # one witness alone, early
        assert cosigned_at(http, "early work") is None
        cosign(http, w1, second, NOW + 20)
        cosign(http, w2, second, NOW + 500)  # the second witness, on the later checkpoint
        # Both had vouched for the early work by NOW + 500, not by NOW + 10.
        assert cosigned_at(http, "early work") == format_time(NOW + 500)
        assert cosigned_at(http, "later work") == format_time(NOW + 500)
        cosign(http, w2, second, NOW + 900)  # a later round moves nothing
        assert cosigned_at(http, "early work") == format_time(NOW + 500)
