"""Known answer for the state JSON of specs/receipts.md section 5.1.

``state_receipt_kat/`` holds a fixed state receipt and the state JSON its replay must give
(``generate.py`` beside them wrote both). The member lists of the spec's tables are read from
specs/receipts.md itself, so the spec, the code and the file cannot drift apart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.note import Verifier
from provenance_ledger.core.receipt import (
    STATE_RECEIPT_SCOPE,
    StateReceipt,
    check_decoded_state,
    load_receipt_json,
    verify_state_receipt,
)
from provenance_ledger.errors import VerificationError

KAT = Path(__file__).resolve().parent / "state_receipt_kat"
SPEC = Path(__file__).resolve().parents[2] / "specs" / "receipts.md"


def _kat() -> tuple[Any, Any, Verifier]:
    receipt = load_receipt_json((KAT / "state-receipt.json").read_bytes(), 16 << 20)
    state = json.loads((KAT / "state.json").read_bytes())
    return receipt, state, Verifier.from_vkey((KAT / "log.vkey").read_text().strip())


def _spec_members(first_header: str) -> list[str]:
    """The backquoted names in the first column of the table whose header starts so, in 5.1."""
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("### 5.1 State JSON"):text.index("## 6.")]
    table = section[section.index(f"| {first_header} |"):].split("\n\n")[0]
    return re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE)


def test_the_state_receipt_gives_the_known_state() -> None:
    data, expected, log_key = _kat()
    verified = verify_state_receipt(StateReceipt.from_json(data), [log_key])
    assert verified.state.to_json() == expected
    assert data["state"] == expected
    check_decoded_state(data, verified)


def test_the_known_state_has_exactly_the_members_of_the_spec() -> None:
    _, state, _ = _kat()
    assert list(state) == _spec_members("member")
    for grant in state["grants"]:
        assert list(grant) == _spec_members("grant member")
    for licence in state["licences"]:
        assert list(licence) == _spec_members("licence member")


def test_payees_are_the_effective_ones() -> None:
    """The last event transfers without a split: stored payees are empty, and the JSON names
    the new controller with the whole share (rules.md section 1, effective payees)."""
    data, state, log_key = _kat()
    verified = verify_state_receipt(StateReceipt.from_json(data), [log_key])
    assert verified.state.payees == ()
    assert state["payees"] == [{"key": state["controller"], "share_bps": 10_000}]


@pytest.mark.parametrize(("path", "value"), [
    (("payees",), []),
    (("grants", 0, "revoked_at"), None),
    (("licences", 0, "terminated_at"), "2025-11-01T09:04:01Z"),
    (("licences", 1, "terms"), None),
    (("content", "size"), 20),
], ids=["stored-payees", "revocation-dropped", "termination-moved", "terms-null", "size"])
def test_a_state_member_that_differs_is_refused(path: tuple[Any, ...], value: Any) -> None:
    data, _, log_key = _kat()
    target = data["state"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    verified = verify_state_receipt(StateReceipt.from_json(data), [log_key])
    with pytest.raises(VerificationError, match="decoded state"):
        check_decoded_state(data, verified)


def test_the_scope_is_the_sentence_of_the_spec_and_no_other() -> None:
    text = SPEC.read_text(encoding="utf-8")
    block = text[text.index("The `scope` sentence"):].split("```")[1]
    assert block.strip() == STATE_RECEIPT_SCOPE
    data, _, log_key = _kat()
    verified = verify_state_receipt(StateReceipt.from_json(data), [log_key])
    data["scope"] = "proves that these events are the work's whole history"
    with pytest.raises(VerificationError, match="scope"):
        check_decoded_state(data, verified)
    del data["scope"]  # informative: it may be left out
    check_decoded_state(data, verified)
