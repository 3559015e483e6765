"""``verify --policy``: C2SP tlog-policy files with log keys, witnesses, groups and a quorum.

A local ledger has no witnesses, so the tests play the witnesses themselves: they add
cosignature/v1 lines to a receipt's checkpoint with keys made from fixed seeds, at a fixed
time, and check that the quorum counts exactly the valid cosignatures the policy names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner, SignedNote
from provenance_ledger.core.receipt import Receipt
from tests.cli.conftest import assert_one_error_line, log_key, run, run_json

COSIGNED_AT = 1_767_225_600  # 2026-01-01T00:00:00Z, the witnesses' clock


def witness(name: str) -> NoteSigner:
    """A witness's cosigner, the same key for the same name in every run."""
    seed = hashlib.sha256(b"cli policy witness " + name.encode()).digest()
    return NoteSigner(f"witness.example/{name}", PrivateKey.from_seed(seed), cosigner=True)


def vkey(name: str) -> str:
    return witness(name).verifier.to_vkey()


class Ledger:
    """A data directory with one anchored work; writes receipts and policies beside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        page = root / "page.png"
        page.write_bytes(b"a page with witnesses")
        self.receipt_path = Path(run_json("anchor", page, "--json", home=self.home)["receipt"])
        self.receipt: dict[str, Any] = json.loads(self.receipt_path.read_text())
        self.log_key = log_key(self.home)

    def policy(self, name: str, *lines: str) -> Path:
        path = self.root / f"{name}.policy"
        path.write_text("".join(line + "\n" for line in lines))
        return path

    def cosigned(self, name: str, *signers: NoteSigner, corrupt: bool = False) -> Path:
        """The receipt with its checkpoint cosigned by ``signers`` (the last one's signature
        damaged when ``corrupt``), and its tlog_proof, which embeds the checkpoint, to match."""
        note = SignedNote.from_text(self.receipt["checkpoint"])
        sigs = [s.sign(note.text, COSIGNED_AT) for s in signers]
        if corrupt:
            last = sigs[-1]
            bad = bytes([last.signature[-1] ^ 1])
            sigs[-1] = type(last)(last.name, last.key_id, last.signature[:-1] + bad)
        checkpoint = note.with_signatures(sigs).to_text()
        proof = dataclasses.replace(Receipt.from_json(self.receipt), checkpoint=checkpoint)
        path = self.root / f"{name}.receipt.json"
        path.write_text(json.dumps(
            {**self.receipt, "checkpoint": checkpoint, "tlog_proof": proof.tlog_proof()}))
        return path

    def verify(self, receipt: Path, policy: Path, code: int) -> str:
        result = run("verify", receipt, "--policy", policy, home=self.home, ok_codes=(code,))
        return result.out if code == 0 else assert_one_error_line(result)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    return Ledger(tmp_path_factory.mktemp("policy"))


def test_log_key_and_no_quorum_passes(ledger: Ledger) -> None:
    policy = ledger.policy("none", "# the log alone", f"log {ledger.log_key}", "quorum none")
    assert ledger.verify(ledger.receipt_path, policy, 0).startswith("OK: work.register")


def test_a_required_witness_without_cosignatures_fails_on_the_quorum(ledger: Ledger) -> None:
    policy = ledger.policy("w1", f"log {ledger.log_key}", f"witness w1 {vkey('w1')}",
                           "quorum w1")
    message = ledger.verify(ledger.receipt_path, policy, 1)
    assert "witness quorum not met" in message
    assert "valid cosignatures from: none" in message


def test_a_cosigned_receipt_meets_a_one_witness_quorum(ledger: Ledger) -> None:
    receipt = ledger.cosigned("by-w1", witness("w1"))
    policy = ledger.policy("w1", f"log {ledger.log_key}", f"witness w1 {vkey('w1')}",
                           "quorum w1")
    out = ledger.verify(receipt, policy, 0)
    assert "cosigned by w1 at 2026-01-01T00:00:00Z" in out
    doc = run_json("verify", receipt, "--policy", policy, "--json", home=ledger.home)
    assert doc["cosigners"] == {"w1": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize(("group", "signers", "code"), [
    ("2", ["w1"], 1),
    ("2", ["w1", "w2"], 0),
    ("all", ["w1"], 1),
    ("any", ["w2"], 0),
    ("1", ["w3"], 1),  # a witness the policy does not name counts for nothing
], ids=["2 of 2, one cosigned", "2 of 2, both cosigned", "all, one cosigned",
        "any, one cosigned", "1 of 2, a stranger cosigned"])
def test_group_quorum(ledger: Ledger, group: str, signers: list[str], code: int) -> None:
    receipt = ledger.cosigned("by-" + "-".join(signers), *map(witness, signers))
    policy = ledger.policy(f"group-{group}", f"log {ledger.log_key}",
                           f"witness w1 {vkey('w1')}", f"witness w2 {vkey('w2')}",
                           f"group g {group} w1 w2", "quorum g")
    out = ledger.verify(receipt, policy, code)
    if code == 1:
        assert "witness quorum not met" in out
        assert "of group g must cosign" in out


def test_a_damaged_cosignature_counts_for_nothing(ledger: Ledger) -> None:
    receipt = ledger.cosigned("damaged", witness("w1"), witness("w2"), corrupt=True)
    policy = ledger.policy("both", f"log {ledger.log_key}", f"witness w1 {vkey('w1')}",
                           f"witness w2 {vkey('w2')}", "group g all w1 w2", "quorum g")
    message = ledger.verify(receipt, policy, 1)
    assert "valid cosignatures from: w1;" in message or message.endswith("from: w1")


def test_a_policy_for_another_log_fails(ledger: Ledger) -> None:
    stranger = log_key(ledger.root / "other-home")
    policy = ledger.policy("stranger", f"log {stranger}", "quorum none")
    assert "no trusted log key" in ledger.verify(ledger.receipt_path, policy, 1)


# Each case: the policy's lines ({log}, {w1} filled in) and the line number the error names.
MALFORMED = {
    "unknown keyword": (["log {log}", "trust everyone", "quorum none"], 2),
    "undefined quorum": (["log {log}", "witness w1 {w1}", "quorum w2"], 3),
    "log key as a witness": (["log {log}", "witness w1 {log}", "quorum w1"], 2),
    "witness key as the log": (["log {log}", "log {w1}", "quorum none"], 2),
    "name defined twice": (["log {log}", "witness w1 {w1}", "witness w1 {w1}",
                            "quorum w1"], 3),
    "threshold above the members": (["log {log}", "witness w1 {w1}", "group g 2 w1",
                                     "quorum g"], 3),
    "group of an undefined member": (["log {log}", "group g any w9", "quorum g"], 2),
    "quorum twice": (["log {log}", "quorum none", "quorum none"], 3),
    "malformed log key": (["# comment", "log not-a-vkey", "quorum none"], 2),
    "malformed witness key": (["log {log}", "witness w1 w1+00000000+AAAA", "quorum w1"], 2),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_policy_names_the_line(ledger: Ledger, case: str) -> None:
    lines, n = MALFORMED[case]
    policy = ledger.policy("bad", *(line.format(log=ledger.log_key, w1=vkey("w1"))
                                    for line in lines))
    assert f"policy line {n}:" in ledger.verify(ledger.receipt_path, policy, 2)


@pytest.mark.parametrize(("lines", "message"), [
    (["quorum none"], "policy names no log key"),
    (["log {log}"], "policy has no quorum line"),
], ids=["no log", "no quorum"])
def test_incomplete_policy(ledger: Ledger, lines: list[str], message: str) -> None:
    policy = ledger.policy("incomplete", *(line.format(log=ledger.log_key) for line in lines))
    assert message in ledger.verify(ledger.receipt_path, policy, 2)
