"""Compliance receipts v2 (specs/receipts.md section 14.3): the asker's trust policy and the
key records of the keys that controlled each work, so that ``verify`` re-derives offline an
answer given under ``--require-attested``: who granted each allowed item, the attestations of
that key with their proofs, and the attesters trusted.

The known-answer cases of tests/data/compliance_v2/vectors.json (its make_vectors.py: a real
signed log with a squatter's grant and an attested member's), and v1 receipts, which keep
verifying as before (tests/core/test_compliance.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.compliance import (
    ComplianceReceipt,
    VerifiedCompliance,
    check_decoded_compliance,
    verify_compliance_receipt,
)
from provenance_ledger.core.encoding import load_json
from provenance_ledger.core.note import Verifier
from provenance_ledger.errors import MalformedError, VerificationError
from tests.vectors import load_generator, load_known_answers

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "compliance_v2"

gen = load_generator(DATA / "make_vectors.py", "compliance_v2_make_vectors")
VECTORS = load_known_answers(DATA / "vectors.json", "provenance-ledger/compliance-vectors/v2")
LOG_KEYS = [Verifier.from_vkey(VECTORS["log_key"])]


def verify_any(data: Any) -> VerifiedCompliance:
    raw = load_json(json.dumps(data), "receipt")
    verified = verify_compliance_receipt(ComplianceReceipt.from_json(raw), LOG_KEYS)
    check_decoded_compliance(raw, verified)
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
    assert [a.outcome for a in v.answers] == expect["outcomes"]
    assert [a.decision.reason for a in v.answers] == expect["reasons"]


def test_the_receipt_names_who_granted_each_allowed_item() -> None:
    case = next(c for c in VECTORS["cases"] if c["name"] == "require-attested")
    v = verify_any(case["receipt"])
    squatter, member, _ = (a.vouching for a in v.answers)
    assert squatter is not None and not squatter.attested
    assert member is not None and [a.name for a in member.trusted] == ["Mika Sato"]
    assert v.trust is not None and v.trust.require_attested


def test_the_spec_shows_the_trust_member_and_the_reason_as_written() -> None:
    spec = " ".join((ROOT / "specs" / "receipts.md").read_text(encoding="utf-8").split())
    case = VECTORS["cases"][0]["receipt"]
    assert json.dumps(case["trust"]) in spec
    assert ("but the key that granted it (<key>) is not attested by anyone "
            "(--require-attested)") in spec
