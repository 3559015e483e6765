"""The words of a decision: `may`, the decision receipt it writes and `verify`'s re-derivation
say the same `reason` (specs/receipts.md section 12, specs/cli.md sections 3.5-3.6,
specs/rules.md section 5.2), through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import log_key, new_key, run, run_json

COVERED = "consent granted to this key for ai_training, which covers ai_generative_training"


def _granted(tmp_path: Path) -> tuple[Path, Path, str]:
    """A home with a work granted to `lab` for ai_training."""
    home = tmp_path / "home"
    work = tmp_path / "e.png"
    work.write_bytes(b"a page of the comic")
    run("anchor", work, home=home)
    lab = new_key("lab", home)
    run("consent", "grant", work, "--purpose", "ai_training", "--to", lab, home=home)
    return home, work, lab


def _verify(receipt: Path, home: Path, ok_codes: tuple[int, ...] = (0,)) -> dict[str, object]:
    out = run("verify", receipt, "--log-key", log_key(home), "--json", home=home,
              ok_codes=ok_codes).out
    return json.loads(out) if out else {}


def test_a_receipt_says_the_reason_may_gives_for_a_covered_purpose(tmp_path: Path) -> None:
    """F1: asked for ai_generative_training under a grant for ai_training, `may`, the
    receipt's `decision` and `verify` all say which purpose was granted and that it covers the
    one asked."""
    home, work, lab = _granted(tmp_path)
    receipt = tmp_path / "e.json"
    said = run_json("may", lab, "ai_generative_training", work, "--proof", receipt, "--json",
                    home=home)
    assert said["reason"] == COVERED
    written = json.loads(receipt.read_text())["decision"]
    assert written == {"allowed": True, "reason": COVERED, "events": said["events"],
                       "conditions": []}
    verified = _verify(receipt, home)
    assert verified["reason"] == COVERED and verified["allowed"] is True


def test_a_receipt_in_the_earlier_words_still_verifies(tmp_path: Path) -> None:
    """A receipt written by 0.1.0 named the purpose asked (specs/receipts.md section 12.1 step
    3 accepts those words); any other reason is still refused."""
    home, work, lab = _granted(tmp_path)
    receipt = tmp_path / "e.json"
    run("may", lab, "ai_generative_training", work, "--proof", receipt, home=home)
    doc = json.loads(receipt.read_text())
    doc["decision"]["reason"] = "consent granted to this key for ai_generative_training"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc, indent=2))
    assert _verify(old, home)["reason"] == COVERED
    doc["decision"]["reason"] = "consent granted to this key for ai_training"
    old.write_text(json.dumps(doc, indent=2))
    refused = run("verify", old, "--log-key", log_key(home), home=home, ok_codes=(1,))
    assert "the receipt's decision is not what the rules give" in refused.err


def test_a_rotated_key_is_told_its_grant_passed_to_its_successor(tmp_path: Path) -> None:
    """F16: after `key rotate lab --to lab2`, the old key is refused, and the reason says the
    grant stands and is held by lab2 (not that it was revoked, ended or not accepted): in
    `may`, in the receipt and in `verify` alike."""
    home, work, lab = _granted(tmp_path)
    lab2 = new_key("lab2", home)
    run("key", "rotate", "lab", "--to", "lab2", home=home)
    receipt = tmp_path / "rotated.json"
    said = json.loads(run("may", lab, "ai_training", work, "--proof", receipt, "--json",
                          home=home, ok_codes=(1,)).out)
    rotated = (f"no consent or licence for ai_training is in force for this key at "
               f"{said['at']}: this key was rotated away, and {lab2} holds its consents and "
               "licences at that time")
    assert said["reason"] == rotated and said["allowed"] is False
    assert json.loads(receipt.read_text())["decision"]["reason"] == rotated
    verified = _verify(receipt, home)
    assert verified["reason"] == rotated
    assert "may not use work" in str(verified["statement"])
    assert f": {rotated}, citing consent grant " in str(verified["statement"])
    assert run_json("may", lab2, "ai_training", work, "--json", home=home)["allowed"] is True
    # a receipt 0.1.0 wrote for the same question still verifies (receipts.md 12.1 step 3)
    doc = json.loads(receipt.read_text())
    doc["decision"]["reason"] = (f"no consent or licence for ai_training is in force at "
                                 f"{said['at']} (all were revoked, ended or not yet accepted)")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc, indent=2))
    assert _verify(old, home)["reason"] == rotated

