"""Tests for provenance_ledger.core.royalty_receipt: royalty receipts (specs/receipts.md
section 15), from the known answers of tests/data/royalties/vectors.json (the worked example of
specs/royalties.md section 4 in a log of real signed events and real proofs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.encoding import load_json
from provenance_ledger.core.note import Verifier
from provenance_ledger.core.royalty_receipt import (
    ROYALTY_RECEIPT_SCOPE,
    RoyaltyReceipt,
    VerifiedRoyalties,
    check_decoded_royalties,
    verify_royalty_receipt,
)
from provenance_ledger.errors import MalformedError, VerificationError
from tests.vectors import load_generator, load_known_answers

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "royalties"
gen = load_generator(DATA / "make_vectors.py", "royalties_make_vectors")
VECTORS = load_known_answers(DATA / "vectors.json", "provenance-ledger/royalty-vectors/v1")
LOG_KEYS = [Verifier.from_vkey(VECTORS["log_key"])]


def verify_any(data: Any) -> VerifiedRoyalties:
    """What ``provenance verify`` does with the file's JSON: parse strictly, verify, check the
    members written for people."""
    raw = load_json(json.dumps(data), "receipt")
    verified = verify_royalty_receipt(RoyaltyReceipt.from_json(raw), LOG_KEYS)
    check_decoded_royalties(raw, verified)
    return verified


def test_vectors_are_what_the_generator_writes() -> None:
    assert gen.text() == (DATA / "vectors.json").read_text()


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_vector(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if not expect["valid"]:
        with pytest.raises((VerificationError, MalformedError), match=expect["error"]):
            verify_any(case["receipt"])
        return
    v = verify_any(case["receipt"])
    assert v.current.checkpoint.size == expect["tree_size"]
    (lic,) = v.statement.licences
    assert [lic.total(f) for f in ("due", "paid", "acknowledged", "disputed",
                                   "outstanding")] == expect["licence_totals"]


def test_the_scope_is_the_spec_sentence() -> None:
    spec = " ".join((ROOT / "specs" / "receipts.md").read_text(encoding="utf-8").split())
    assert ROYALTY_RECEIPT_SCOPE in spec


def test_a_receipt_round_trips_and_a_query_must_be_exact() -> None:
    data = VECTORS["cases"][0]["receipt"]
    parsed = RoyaltyReceipt.from_json(load_json(json.dumps(data), "receipt"))
    assert parsed.to_json() == data
    for query in ({"licensee": None, "payee": None}, {"licensee": None, "payee": "me",
                                                      "period": None},
                  {"licensee": None, "payee": None, "period": "2026-Q5"}):
        with pytest.raises(MalformedError):
            RoyaltyReceipt.from_json({**data, "query": query})
