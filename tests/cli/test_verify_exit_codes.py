"""``provenance verify`` exit codes (specs/cli.md 1.1, specs/receipts.md 3): whatever is wrong
with the receipt, malformed or false, it does not verify (exit 1); exit 2 is for the
verifier's own inputs (options, log key, policy, evidence, a file it cannot read). Every
failure is one ``error:`` line.

Duplicate JSON object keys are refused wherever the CLI reads JSON that others wrote: "last one
wins" would let this verifier and another read two different receipts from one file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.cli.conftest import assert_one_error_line, log_key, run, run_json


class Anchored(NamedTuple):
    root: Path
    home: Path
    receipt: str  # the receipt file's text, as written by the CLI
    state_receipt: str
    log_key: str


@pytest.fixture(scope="module")
def anchored(tmp_path_factory: pytest.TempPathFactory) -> Anchored:
    root = tmp_path_factory.mktemp("verify-exit")
    home = root / "home"
    page = root / "page.png"
    page.write_bytes(b"a page whose receipts are checked")
    receipt = Path(run_json("anchor", page, "--json", home=home)["receipt"]).read_text()
    state = root / "state.json"
    run("receipt", page, "--state", "-o", state, home=home)
    return Anchored(root, home, receipt, state.read_text(), log_key(home))


def _write(anchored: Anchored, name: str, text: str | bytes) -> Path:
    path = anchored.root / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _verify(anchored: Anchored, path: Path, code: int, *extra: str) -> str:
    args = extra or ("--log-key", anchored.log_key)
    result = run("verify", path, *args, home=anchored.home, ok_codes=(code,))
    return assert_one_error_line(result)


def _duplicate(text: str, member: str, value: Any) -> str:
    """``text`` (a JSON object) with ``member`` given a second time, after the first."""
    return text.rstrip()[:-1].rstrip() + f',\n  "{member}": {json.dumps(value)}\n}}\n'


def test_the_unedited_receipts_verify(anchored: Anchored) -> None:
    for name, text in (("good.json", anchored.receipt), ("good-state.json",
                                                         anchored.state_receipt)):
        run("verify", _write(anchored, name, text), "--log-key", anchored.log_key,
            home=anchored.home)


def test_duplicate_member_in_a_receipt_does_not_verify(anchored: Anchored) -> None:
    doc = json.loads(anchored.receipt)
    # The same value twice is refused too: the rule is about the text, not what it means.
    for n, value in enumerate((doc["leaf_index"] + 1, doc["leaf_index"])):
        path = _write(anchored, f"dup-{n}.json", _duplicate(anchored.receipt, "leaf_index",
                                                            value))
        message = _verify(anchored, path, 1)
        assert "receipt does not verify: duplicate JSON object key 'leaf_index'" in message


def test_duplicate_member_deep_in_a_receipt_does_not_verify(anchored: Anchored) -> None:
    text = anchored.receipt.replace('"type": "work.register",',
                                    '"type": "work.register",\n    "type": "licence.accept",', 1)
    assert text != anchored.receipt
    assert "duplicate JSON object key 'type'" in _verify(anchored, _write(anchored, "deep.json",
                                                                          text), 1)


def test_duplicate_member_in_a_state_receipt_does_not_verify(anchored: Anchored) -> None:
    # a complete state receipt (v2): its map proof given twice
    path = _write(anchored, "dup-state.json", _duplicate(anchored.state_receipt, "map_proof",
                                                         "AAAA"))
    assert "duplicate JSON object key 'map_proof'" in _verify(anchored, path, 1)


@pytest.mark.parametrize(("text", "message"), [
    (b"", "not valid UTF-8 JSON"),
    (b"\xff\xfe{}", "not valid UTF-8 JSON"),
    (b"[]", "receipt must be a JSON object"),
    (b'{"format": "provenance-ledger/receipt/v1"}', "missing"),
    (b'{"format": "provenance-ledger/state-receipt/v1"}', "missing"),
    (b'{"format": "something/else"}', "format"),
    (b"1e999999", "JSON"),
], ids=["empty", "not-utf8", "array", "no-fields", "state-no-fields", "other-format",
        "huge-number"])
def test_malformed_receipt_does_not_verify(anchored: Anchored, text: bytes,
                                           message: str) -> None:
    assert message in _verify(anchored, _write(anchored, "malformed.json", text), 1)


def test_malformed_leaf_inside_a_receipt_does_not_verify(anchored: Anchored) -> None:
    doc = json.loads(anchored.receipt)
    doc["leaf"] = "e30="  # base64 of "{}": valid base64, not an event
    message = _verify(anchored, _write(anchored, "leaf.json", json.dumps(doc)), 1)
    assert message.startswith("error: receipt does not verify: ")


def test_oversized_receipt_does_not_verify(anchored: Anchored) -> None:
    path = _write(anchored, "big.json", b" " * (16 << 20) + b"{}")
    assert "larger than" in _verify(anchored, path, 1)


def test_the_verifiers_own_inputs_are_errors(anchored: Anchored) -> None:
    good = _write(anchored, "good.json", anchored.receipt)
    assert "cannot read receipt" in _verify(anchored, anchored.root / "absent.json", 2)
    assert "verifier key" in _verify(anchored, good, 2, "--log-key", "not-a-key")
    assert "exactly one of --log-key or --policy" in _verify(anchored, good, 2, "--log-key",
                                                             anchored.log_key, "--policy",
                                                             str(good))
    policy = _write(anchored, "policy.txt", "quorum none\n")
    assert "names no log key" in _verify(anchored, good, 2, "--policy", str(policy))
    assert "no such file" in _verify(anchored, good, 2, "--log-key", anchored.log_key, "--file",
                                    str(anchored.root / "absent.png"))


def test_evidence_with_a_duplicate_member_is_bad_input(anchored: Anchored) -> None:
    good = _write(anchored, "good.json", anchored.receipt)
    evidence = _write(anchored, "evidence.json", '{"evidence": [], "evidence": []}')
    message = _verify(anchored, good, 2, "--log-key", anchored.log_key, "--evidence",
                      str(evidence))
    assert "duplicate JSON object key 'evidence'" in message
