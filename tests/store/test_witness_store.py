"""Tests for provenance_ledger.store.witness: map-root evidence is kept with what recomputes
the map, read back as it was recorded, and a witness.db from before that table still opens
(read-only or not) with its evidence as it was (specs/node.md sections 1 and 5)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from provenance_ledger.core.evidence import Evidence, verify_evidence
from provenance_ledger.core.witness import MAP_ROOT, SPLIT_VIEW, Finding
from provenance_ledger.store.witness import WitnessStore

VECTORS = Path(__file__).resolve().parents[1] / "data" / "evidence" / "map-root.json"
DATA = json.loads(VECTORS.read_bytes())
CASE = Evidence.from_json(next(c for c in DATA["cases"] if c["name"] == "from-size-2")[
    "evidence"])


def _record(path: Path, finding: Finding) -> None:
    store = WitnessStore(path)
    try:
        with store.transaction() as tx:
            tx.record(CASE.origin, finding, 1_767_225_600)
    finally:
        store.close()


def _evidence(path: Path, readonly: bool = False) -> list[Evidence]:
    store = WitnessStore(path, readonly=readonly)
    try:
        return store.evidence(CASE.origin)
    finally:
        store.close()


def test_map_root_evidence_is_read_back_whole_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "witness.db"
    _record(path, Finding(MAP_ROOT, *CASE.checkpoints, (), "lie", CASE.map))
    _record(path, Finding(SPLIT_VIEW, *CASE.checkpoints, (), "two roots"))
    kept, other = _evidence(path)
    assert kept.map == CASE.map and kept.checkpoints == CASE.checkpoints
    verify_evidence(kept, DATA["log_key"])
    assert other.map is None
    assert [e.to_json() for e in _evidence(path, readonly=True)] == [
        kept.to_json(), other.to_json()]


def test_a_witness_db_from_before_the_map_evidence_table(tmp_path: Path) -> None:
    path = tmp_path / "witness.db"
    _record(path, Finding(MAP_ROOT, *CASE.checkpoints, (), "two checkpoints only"))
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE map_evidence")
    conn.commit()
    conn.close()
    (old,) = _evidence(path, readonly=True)
    assert old.map is None and old.detail == "two checkpoints only"
    _record(path, Finding(MAP_ROOT, *CASE.checkpoints, (), "whole", CASE.map))  # adds it
    assert [e.map for e in _evidence(path)] == [None, CASE.map]
