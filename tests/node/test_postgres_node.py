"""A node whose log is in PostgreSQL (issue 15; specs/storage.md section 6): concurrent
submissions are sequenced into blocks whose receipts verify, and reads (checkpoint, proofs,
works) come from the PostgreSQL read connections, as on SQLite.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

from provenance_ledger.core.merkle import leaf_hash, verify_inclusion
from provenance_ledger.core.note import Checkpoint, SignedNote, Verifier
from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.ledger import Home, audit
from provenance_ledger.node import init_node, node_keys

from ..conftest import KeyFactory, Signer
from .conftest import HOST, ORIGIN, free_port, grant, register, running, work


def test_a_node_serves_its_log_from_postgresql(tmp_path: Path, schema_url: str, sign: Signer,
                                               keys: KeyFactory) -> None:
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}", store=schema_url)
    log_key = Verifier.from_vkey(node_keys(home)["log"])

    def client_run(c: int) -> list[Any]:
        out = []
        with node.client() as http:
            key = keys(f"creator{c}")
            for i in range(3):
                reg = register(sign, key, f"pg{c}-{i}")
                r = http.post("/events", content=reg.leaf)
                assert r.status_code == 200, r.text
                out.append(r.json())
                r = http.post("/events", content=grant(sign, key, f"pg{c}-{i}", reg.id).leaf)
                assert r.status_code == 200, r.text
                out.append(r.json())
        return out

    with running(home) as node:
        with ThreadPoolExecutor(3) as pool:
            receipts = [r for rs in pool.map(client_run, range(3)) for r in rs]
        indexes = sorted(verify_receipt(Receipt.from_json(r), [log_key]).leaf_index
                         for r in receipts)
        assert indexes == list(range(18))
        with node.client() as http:
            cp = Checkpoint.from_text(SignedNote.from_text(http.get("/checkpoint").text).text)
            assert cp.size == 18
            proof = http.get("/proof/inclusion", params={"index": 7}).json()
            (entry,) = http.get("/entries", params={"start": 7, "end": 8}).json()["entries"]
            state = http.get(f"/works/{work('pg2-1')}").json()
    assert state["state"]["events"] == 2
    assert proof["size"] == 18
    verify_inclusion(7, 18, leaf_hash(base64.b64decode(entry["leaf"])),
                     [base64.b64decode(h) for h in proof["inclusion_proof"]], cp.root)
    with psycopg.connect(schema_url) as conn:
        row = conn.execute("SELECT count(*) FROM entries").fetchone()
    assert row is not None and row[0] == 18
    assert not (home / "ledger.db").exists()
    ledger = Home(home).open_ledger()
    try:
        assert audit(ledger).entries == 18
    finally:
        ledger.close()
