"""Tests for provenance_ledger.core.evidence: the offline check of evidence against a log
(specs/node.md section 5), here its ``map-root`` form that recomputes the map.

Known answers: tests/data/evidence/map-root.json, written by make_map_root.py beside it. Every
bit of what the evidence claims (its origin and kind, both signed notes, the border, each
entry, the map proof) is flipped in turn and the result must not verify; ``id``, ``at`` and
``detail`` are the holder's bookkeeping and claim nothing.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.encoding import b64decode, b64encode
from provenance_ledger.core.evidence import (
    MAX_EVIDENCE_ENTRIES,
    Evidence,
    MapRecomputation,
    verify_evidence,
)
from provenance_ledger.errors import LedgerError, MalformedError, VerificationError
from provenance_ledger.ledger.ledger import MAX_MIRROR_EVENTS

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "data" / "evidence" / "map-root.json"
MAKER = VECTORS.parent / "make_map_root.py"


def load() -> dict[str, Any]:
    """The evidence vectors; a missing file is an error, never a skip."""
    if not VECTORS.is_file():
        raise FileNotFoundError(f"evidence vectors not found at {VECTORS}")
    data: dict[str, Any] = json.loads(VECTORS.read_bytes())
    assert data["format"] == "provenance-ledger/evidence-vectors/v1"
    return data


DATA = load()
LOG_KEY: str = DATA["log_key"]
CASES = {c["name"]: c for c in DATA["cases"]}


def _verifies(raw: Any) -> bool:
    try:
        verify_evidence(Evidence.from_json(raw), LOG_KEY)
    except LedgerError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(CASES))
def test_vector(name: str) -> None:
    case = CASES[name]
    evidence = Evidence.from_json(case["evidence"])
    assert evidence.to_json() == case["evidence"]  # round trip
    assert evidence.map is not None
    if case["verifies"]:
        verify_evidence(evidence, LOG_KEY)
    else:
        with pytest.raises(VerificationError, match="proves nothing"):
            verify_evidence(evidence, LOG_KEY)


def test_vectors_are_what_the_generator_writes(tmp_path: Path) -> None:
    before = VECTORS.read_bytes()
    subprocess.run([sys.executable, str(MAKER)], check=True, cwd=ROOT)  # noqa: S603
    assert VECTORS.read_bytes() == before


def _flipped(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every one-bit change of what the evidence claims, as (where, evidence JSON)."""
    def flips(data: bytes) -> Iterator[bytes]:
        for i in range(len(data) * 8):
            b = bytearray(data)
            b[i // 8] ^= 0x80 >> (i % 8)
            yield bytes(b)

    for field in ("origin", "kind"):
        for changed in flips(raw[field].encode()):
            out = copy.deepcopy(raw)
            out[field] = changed.decode("utf-8", "replace")
            yield field, out
    for n, note in enumerate(raw["checkpoints"]):
        for changed in flips(note.encode()):
            out = copy.deepcopy(raw)
            out["checkpoints"][n] = changed.decode("utf-8", "replace")
            yield f"checkpoint {n}", out
    for member in ("border", "entries"):
        for n, item in enumerate(raw["map"][member]):
            for changed in flips(b64decode(item, member)):
                out = copy.deepcopy(raw)
                out["map"][member][n] = b64encode(changed)
                yield f"{member} {n}", out
    for changed in flips(b64decode(raw["map"]["map_proof"], "map proof")):
        out = copy.deepcopy(raw)
        out["map"]["map_proof"] = b64encode(changed)
        yield "map proof", out


@pytest.mark.parametrize("name", ["from-size-2", "from-empty"])
def test_one_flipped_bit_anywhere_does_not_verify(name: str) -> None:
    raw = CASES[name]["evidence"]
    assert _verifies(raw)
    tried = 0
    for where, changed in _flipped(raw):
        assert not _verifies(changed), where
        tried += 1
    assert tried > 8 * 1000  # the notes, three entries and the proof, bit by bit


def test_evidence_without_the_recomputation_is_not_checked() -> None:
    """Map-root evidence as mirrors kept it before: two checkpoints only."""
    raw = copy.deepcopy(CASES["from-size-2"]["evidence"])
    del raw["map"]
    evidence = Evidence.from_json(raw)
    assert evidence.map is None and "map" not in evidence.to_json()
    with pytest.raises(VerificationError, match="cannot be checked by a third party"):
        verify_evidence(evidence, LOG_KEY)


def test_the_first_checkpoint_needs_a_map_line_and_only_map_root_may_omit_it() -> None:
    raw = copy.deepcopy(CASES["from-size-2"]["evidence"])
    raw["checkpoints"][0] = ""  # the tree at 2 is not the empty tree
    assert not _verifies(raw)
    raw = copy.deepcopy(CASES["from-empty"]["evidence"])
    raw["kind"] = "split-view"
    with pytest.raises(LedgerError):
        verify_evidence(Evidence.from_json(raw), LOG_KEY)


def test_the_two_checkpoints_swapped_or_repeated_do_not_verify() -> None:
    raw = CASES["from-size-2"]["evidence"]
    for pair in ([raw["checkpoints"][1], raw["checkpoints"][0]],
                 [raw["checkpoints"][1], raw["checkpoints"][1]]):
        changed = copy.deepcopy(raw)
        changed["checkpoints"] = pair
        assert not _verifies(changed)


def test_entries_dropped_added_or_reordered_do_not_verify() -> None:
    raw = CASES["from-size-2"]["evidence"]
    entries = raw["map"]["entries"]
    for other in (entries[:-1], [*entries, entries[0]], [entries[1], entries[0], entries[2]]):
        changed = copy.deepcopy(raw)
        changed["map"]["entries"] = other
        assert not _verifies(changed)


@pytest.mark.parametrize("bad", [
    [], {"border": [], "entries": []}, {"border": "x", "entries": ["eA=="], "map_proof": ""},
    {"border": [], "entries": [], "map_proof": ""},
    {"border": [], "entries": [1], "map_proof": ""},
    {"border": ["AAAA"], "entries": ["eA=="], "map_proof": ""},
    {"border": [], "entries": ["eA"], "map_proof": ""},
    {"border": [], "entries": ["eA=="], "map_proof": "", "extra": 1},
])
def test_malformed_map_members_are_refused(bad: Any) -> None:
    raw = copy.deepcopy(CASES["from-size-2"]["evidence"])
    raw["map"] = bad
    with pytest.raises(MalformedError):
        Evidence.from_json(raw)


def test_caps() -> None:
    """At most a mirror's step of entries, each within the leaf limit."""
    assert MAX_EVIDENCE_ENTRIES == MAX_MIRROR_EVENTS
    with pytest.raises(ValueError, match="entries"):
        MapRecomputation((), (b"x",) * (MAX_EVIDENCE_ENTRIES + 1), b"")
    with pytest.raises(ValueError, match="limit"):
        MapRecomputation((), (bytes(17 * 1024),), b"")
