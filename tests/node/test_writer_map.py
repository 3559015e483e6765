"""A node's writer keeps the verifiable map's upper levels in memory (specs/map.md section
10), so that its blocks of a few events each read and check only the nodes below them; the map
it commits must be the one the log's entries give, block after small block."""

from __future__ import annotations

from pathlib import Path

from provenance_ledger.core.current import StateReceiptV2, verify_state_receipt_v2
from provenance_ledger.core.note import Verifier
from provenance_ledger.ledger import Home, audit
from provenance_ledger.ledger.ledger import MAP_UPPER_MIN_BLOCK
from provenance_ledger.node import node_keys

from ..conftest import KeyFactory, Signer
from .conftest import grant, register, running, work


def test_small_blocks_on_held_map_levels_commit_the_logs_own_map(
        node_home: Path, sign: Signer, keys: KeyFactory) -> None:
    owner = keys("owner")
    with running(node_home) as node, node.client() as client:
        writer = node.server.config.app.app.node._ledger  # noqa: SLF001 - the sequencer's
        assert writer.holds_map_levels
        heads = {}
        for i in range(MAP_UPPER_MIN_BLOCK // 4):  # blocks of one event: far below the bound
            ev = register(sign, owner, f"held {i}")
            r = client.post("/events", content=ev.leaf,
                            headers={"content-type": "application/octet-stream"})
            assert r.status_code == 200
            heads[work(f"held {i}")] = ev
        for name in ("held 0", "held 3"):  # later events of works already in the map
            ev = grant(sign, owner, name, heads[work(name)].id)
            assert client.post("/events", content=ev.leaf, headers={
                "content-type": "application/octet-stream"}).status_code == 200
            heads[work(name)] = ev
        key = Verifier.from_vkey(node_keys(node_home)["log"])
        for name in ("held 0", "held 3", "held 7"):
            doc = client.get(f"/works/{work(name)}/state-receipt")
            assert doc.status_code == 200, doc.text
            proven = verify_state_receipt_v2(StateReceiptV2.from_json(doc.json()), [key])
            assert proven.works[0].registered
    ledger = Home(node_home).open_ledger()
    try:
        report = audit(ledger)  # the map rebuilt from the entries is the stored one
    finally:
        ledger.close()
    assert report.entries == MAP_UPPER_MIN_BLOCK // 4 + 2
