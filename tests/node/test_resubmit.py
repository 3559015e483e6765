"""Resubmitting an event the log already holds (specs/node.md section 2, ``POST /events``): a
client that lost the node's reply and sends the same signed leaf again gets 200 with the
event's receipt (same id, same index, against the latest checkpoint), so an HTTP retry is
safe; the log holds the event once. A real server on 127.0.0.1, real signatures, receipts
verified offline; and the ``--node`` client (NodeClient) takes that 200 as success."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from provenance_ledger.core.merkle import leaf_hash
from provenance_ledger.core.note import Verifier
from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.ledger import audit
from provenance_ledger.node import load_config, node_keys
from provenance_ledger.node.client import NodeClient
from provenance_ledger.node.config import open_node_ledger

from ..conftest import KeyFactory, Signer
from .conftest import grant, note_size, register, running


def _post(http: httpx.Client, leaf: bytes) -> httpx.Response:
    return http.post("/events", content=leaf, headers={"content-type": "application/octet-stream"})


def _verified(data: Any, home: Path) -> tuple[int, str, int]:
    """(index, event id, checkpoint size) of a receipt that verifies with the node's key."""
    v = verify_receipt(Receipt.from_json(data), [Verifier.from_vkey(node_keys(home)["log"])])
    return v.leaf_index, v.event.id, v.checkpoint.size


def _entries_with(home: Path, event_id: str) -> int:
    """How many entries of the node's log (audited from scratch) hold ``event_id``."""
    ledger = open_node_ledger(home, load_config(home))
    try:
        report = audit(ledger)
        return sum(1 for row in ledger.store.entries(0, report.entries)
                   if leaf_hash(row.leaf).hex() == event_id)
    finally:
        ledger.close()


def test_resubmitting_the_same_event_returns_its_receipt(node_home: Path, sign: Signer,
                                                         keys: KeyFactory) -> None:
    alice = keys("alice")
    first = register(sign, alice, "retried work")
    then = grant(sign, alice, "retried work", first.id)
    with running(node_home) as n, n.client() as http:
        r1 = _post(http, first.leaf)
        assert r1.status_code == 200  # a new event: 200 with its receipt, as before
        assert _verified(r1.json(), node_home) == (0, first.id, 1)
        # The reply was lost; the client sends the same bytes again.
        r2 = _post(http, first.leaf)
        assert r2.status_code == 200, r2.text
        assert _verified(r2.json(), node_home) == (0, first.id, 1)
        # After the log grew, a retry is answered against the latest checkpoint.
        assert _post(http, then.leaf).status_code == 200
        r3 = _post(http, first.leaf)
        assert r3.status_code == 200
        assert _verified(r3.json(), node_home) == (0, first.id, 2)
        assert _verified(_post(http, then.leaf).json(), node_home) == (1, then.id, 2)
        assert note_size(http.get("/checkpoint").text) == 2  # no entry added by a retry
        # Another event for the same work is still a conflict, not a resubmission.
        rival = register(sign, keys("bob"), "retried work")
        r4 = _post(http, rival.leaf)
        assert r4.status_code == 409 and r4.json()["head"] == then.id
    assert _entries_with(node_home, first.id) == 1


def test_the_same_event_twice_in_one_block_is_one_entry(node_home: Path, sign: Signer,
                                                        keys: KeyFactory) -> None:
    """Two copies arriving together (one block): both get the one entry's receipt."""
    ev = register(sign, keys("alice"), "sent twice at once")
    start = threading.Barrier(3)
    with running(node_home, linger_s=1.0) as n:

        def post() -> httpx.Response:
            with n.client() as own:
                start.wait()
                return _post(own, ev.leaf)

        with ThreadPoolExecutor(3) as pool:
            replies = list(pool.map(lambda _: post(), range(3)))
    assert [r.status_code for r in replies] == [200, 200, 200], [r.text for r in replies]
    assert {_verified(r.json(), node_home) for r in replies} == {(0, ev.id, 1)}
    assert _entries_with(node_home, ev.id) == 1


def test_node_client_takes_a_resubmission_as_success(node_home: Path, tmp_path: Path,
                                                     sign: Signer, keys: KeyFactory) -> None:
    """The ``--node`` path: NodeClient.submit of an event the node already holds returns its
    index and a receipt that verifies, as for a new event."""
    ev = register(sign, keys("alice"), "client retry")
    with running(node_home) as n:
        client = NodeClient(n.url, tmp_path / "pins")
        try:
            index, receipt = client.submit(ev)
            again, receipt2 = client.submit(ev)
        finally:
            client.close()
    assert index == again == 0
    assert _verified(receipt2, node_home) == _verified(receipt, node_home) == (0, ev.id, 1)
