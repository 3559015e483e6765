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
    if "licence_totals" in expect:  # the v1 cases of the worked example
        (lic,) = v.statement.licences
        assert v.statement.version == 1
        assert [v.statement.total(lic, f) for f in ("due", "paid", "acknowledged", "disputed",
                                                    "outstanding")] == expect["licence_totals"]
        return
    # statement version 1 (receipts v1, v2) or 2 (v3): specs/receipts.md section 15.4
    assert v.statement.version == expect["statement_version"]
    names = v.statement.figures
    assert [[v.statement.total(lic, f) for f in names]
            for lic in v.statement.licences] == expect["licences"]
    assert {t["payee"]: [t[f] for f in names]
            for t in v.statement.totals()} == expect["totals"]
    assert case["receipt"]["statement"] == v.statement.to_json()


def test_a_v3_receipt_says_outstanding_and_overpaid_where_v1_netted() -> None:
    """specs/royalties.md section 3.4: the publisher is owed 5,000 JPY and the creator was
    paid 100 JPY too much; the v1 receipt (statement version 1) says 4,900 outstanding."""
    cases = {c["name"]: c for c in VECTORS["cases"]}
    new = cases["transfer-v3"]["receipt"]["statement"]
    old = cases["transfer-v1"]["receipt"]["statement"]
    assert new["version"] == 2 and "version" not in old
    assert (new["licences"][0]["outstanding"], new["licences"][0]["overpaid"]) == (5000, 100)
    assert old["licences"][0]["outstanding"] == 4900 and "overpaid" not in old["licences"][0]


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
