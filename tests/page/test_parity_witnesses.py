"""The page and ``provenance verify`` agree on the rules the adversarial review gave the CLI
(specs/receipts.md sections 1, 3, 4, 12.1 and 13): a witness key counts once, with its newest
cosignature, and never when it is a log's key; a policy naming one witness key twice, or a log's
key as a witness's, and a cosignature/v1 key given as the log key, are bad trust input (the
CLI's exit 2); a proof is fresh as of the time the witness quorum vouches for it; an answer
"allowed" for a time before a revocation, a termination or a transfer says so in its citation.

The receipts are those of the CLI's adversarial tests (tests/cli/test_verify_adversarial_cli.py:
a real ledger, ``may --proof``, witnesses cosigning with their own keys), checked by the
console script and by the page in a real Chromium.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner, SignedNote, Verifier
from provenance_ledger.core.receipt import verify_checkpoint_note
from provenance_ledger.errors import VerificationError
from provenance_ledger.ledger import Home
from tests.cli.conftest import assert_one_error_line
from tests.cli.test_verify_adversarial_cli import (
    WITNESSES,
    Dispute,
    _at,
)

from .conftest import INDEX, as_sentence, check_in_page

BAD_TRUST = "The trust policy or log key cannot be read: "
"""The page's verdict for bad trust input, before the reason (words.js badTrust)."""


@pytest.fixture(scope="module")
def dispute(tmp_path_factory: pytest.TempPathFactory) -> Dispute:
    return Dispute(tmp_path_factory.mktemp("page-dispute"))


def on_page(page: Page, receipt: Path, trust: Path | str) -> dict[str, str | None]:
    """The page's verdict on ``receipt`` with ``trust`` (a policy file's text, or a vkey)."""
    text = trust.read_text() if isinstance(trust, Path) else trust
    return check_in_page(page, receipt, text)


def cli_json(d: Dispute, receipt: Path, *trust: str | Path) -> Any:
    return json.loads(d.verify(receipt, *trust, "--json").out)


def said(page: Page, selector: str) -> str:
    return page.inner_text(selector)


def the_same_statement(page: Page, d: Dispute, receipt: Path, *trust: str | Path) -> Any:
    """The page says valid and the CLI's statement word for word; returns the CLI's JSON."""
    out = cli_json(d, receipt, *trust)
    assert out["valid"]
    assert said(page, "#verdict").startswith("Valid"), said(page, "#verdict")
    assert said(page, "#decision") == as_sentence(out["statement"])
    assert d.verify(receipt, *trust).out.splitlines()[0] == "OK: " + out["statement"]
    assert said(page, "#fresh").startswith(f"Fresh as of {out['fresh_as_of']} ("), (
        said(page, "#fresh"), out["fresh_as_of"])
    return out


def bad_trust_alike(page: Page, d: Dispute, receipt: Path, trust_text: str,
                    *cli_trust: str | Path) -> str:
    """The CLI refuses the trust input (exit 2, one line) and the page says the same reason
    as bad trust input; returns the reason."""
    line = assert_one_error_line(d.verify(receipt, *cli_trust, code=2))
    # the CLI names its option; the page's trust field is none
    reason = line.removeprefix("error: ").removeprefix("--log-key: ")
    seen = on_page(page, receipt, trust_text)
    assert seen["state"] == "bad-trust", seen
    assert said(page, "#verdict") == BAD_TRUST + reason
    return reason


# -- 1. witness counting ------------------------------------------------------------------


def test_a_policy_naming_one_witness_key_twice_is_bad_input_on_both(
        page: Page, dispute: Dispute) -> None:
    page.goto(INDEX.as_uri())
    only_w1 = dispute.with_note(dispute.granted, "w1-only.json",
                                dispute.cosigned(dispute.granted_raw, dispute.t1 + 60, "w1"))
    w1 = WITNESSES["w1"].verifier.to_vkey()
    policy = dispute.root / "twice.txt"
    policy.write_text(f"log {dispute.vkey}\nwitness a {w1}\nwitness b {w1}\ngroup g 2 a b\n"
                      "quorum g\n")
    reason = bad_trust_alike(page, dispute, only_w1, policy.read_text(), "--policy", policy)
    assert "names one witness key twice, as a and b" in reason


def test_a_policy_naming_the_log_key_as_a_witness_is_bad_input_on_both(
        page: Page, dispute: Dispute) -> None:
    page.goto(INDEX.as_uri())
    as_witness = log_as_witness(dispute)
    note = SignedNote.from_text(dispute.note(dispute.granted_raw))
    text = note.with_signatures([as_witness.sign(note.text, int(time.time()))]).to_text()
    path = dispute.with_note(dispute.granted_raw, "self-witnessed.json", text)
    policy = dispute.root / "self.txt"
    policy.write_text(f"log {dispute.vkey}\nwitness me {as_witness.verifier.to_vkey()}\n"
                      "quorum me\n")
    reason = bad_trust_alike(page, dispute, path, policy.read_text(), "--policy", policy,
                             "--max-age", "1h")
    assert "policy witness me has the key of a log line" in reason


def log_as_witness(d: Dispute) -> NoteSigner:
    """A cosigner holding the log's own private key, as the log's operator could make."""
    ledger = Home(d.home).open_ledger()
    try:
        signer = ledger.signer
    finally:
        ledger.close()
    assert signer is not None
    return NoteSigner("witness.example/log-itself", signer.key, cosigner=True)


def test_a_witness_s_newest_cosignature_counts_not_its_last_line(
        page: Page, dispute: Dispute) -> None:
    """w1 cosigned the grant's checkpoint now and, on a later line, three hours ago: its
    newest counts, whatever the order of the lines (the page took the last line)."""
    page.goto(INDEX.as_uri())
    note = SignedNote.from_text(dispute.note(dispute.granted_raw))
    now = int(time.time()) - 5
    w1 = WITNESSES["w1"]
    newest_first = SignedNote(note.text, (*note.signatures, w1.sign(note.text, now),
                                          w1.sign(note.text, dispute.t1 + 60))).to_text()
    path = dispute.with_note(dispute.granted_raw, "newest-first.json", newest_first)
    policy = dispute.policy("w1-newest.txt", "quorum w1")
    assert on_page(page, path, policy)["state"] == "valid"
    out = the_same_statement(page, dispute, path, "--policy", policy)
    assert out["cosigners"] == {"w1": _at(now)} and out["fresh_as_of"] == _at(now)
    assert f"cosigned at {_at(now)} by witness w1" in said(page, "#decision")
    dispute.verify(path, "--policy", policy, "--max-age", "1h")
    # w1's line twice, w2 never: a quorum of both is met on neither
    both = dispute.policy("both-dup.txt", "group both all w1 w2", "quorum both")
    dup = SignedNote(note.text, (*note.signatures, w1.sign(note.text, now),
                                 w1.sign(note.text, now))).to_text()
    path = dispute.with_note(dispute.granted_raw, "dup-line.json", dup)
    line = assert_one_error_line(dispute.verify(path, "--policy", both, code=1))
    assert "witness quorum not met" in line and "valid cosignatures from: w1" in line
    seen = on_page(page, path, both)
    assert seen == {"state": "invalid", "check": "quorum"}
    assert said(page, "#technical").endswith(line.split(": ", 2)[2])


CHECKPOINT_NOTE = """async ([note, logs, witnesses]) => {
  const pol = {logs: [], witnesses: new Map(), groups: new Map(), quorum: null, attesters: []};
  for (const v of logs) pol.logs.push(await PLVerify.parseVkey(v));
  for (const [n, v] of witnesses) pol.witnesses.set(n, await PLVerify.parseVkey(v));
  try {
    const {cosigners} = await PLVerify.verifyCheckpointNote(note, pol);
    return {cosigners: Object.fromEntries(Array.from(cosigners, ([n, t]) => [n, Number(t)]))};
  } catch (e) {
    return {error: e.message};
  }
}"""
"""verifyCheckpointNote with the keys as given, without the refusals of parseTrust: what the
page's core counts, as receipt.py verify_checkpoint_note does."""


def both_count(page: Page, note: str, logs: list[str], witnesses: dict[str, str]) -> Any:
    """(page, Python) of verify_checkpoint_note on ``note`` with these keys."""
    seen = page.evaluate(CHECKPOINT_NOTE, [note, logs, list(witnesses.items())])
    try:
        _, _, cosigners = verify_checkpoint_note(
            note, [Verifier.from_vkey(v) for v in logs],
            {n: Verifier.from_vkey(v) for n, v in witnesses.items()})
        python: dict[str, Any] = {"cosigners": dict(cosigners)}
    except VerificationError as e:
        python = {"error": str(e)}
    return seen, python


def test_the_page_s_core_counts_witnesses_as_python_s(page: Page, dispute: Dispute) -> None:
    """Given keys the trust input would refuse, the page's verifyCheckpointNote still counts
    as receipt.py does: one key once, under its first name; a log's key never; the newest
    line of a witness; a cosignature/v1 key is never the log's."""
    page.goto(INDEX.as_uri())
    note = SignedNote.from_text(dispute.note(dispute.granted_raw))
    now = int(time.time())
    me = log_as_witness(dispute)
    w1, w2 = WITNESSES["w1"], WITNESSES["w2"]
    text = SignedNote(note.text, (*note.signatures, w1.sign(note.text, now),
                                  w1.sign(note.text, dispute.t1 + 60),
                                  w2.sign(note.text, dispute.t1 + 60),
                                  me.sign(note.text, now))).to_text()
    w1k, w2k = w1.verifier.to_vkey(), w2.verifier.to_vkey()
    cases = {
        "one key under two names": ([dispute.vkey], {"a": w1k, "b": w1k, "w2": w2k}),
        "the log's key as a witness": ([dispute.vkey], {"me": me.verifier.to_vkey(),
                                                        "w2": w2k}),
    }
    for name, (logs, witnesses) in cases.items():
        seen, python = both_count(page, text, logs, witnesses)
        assert seen == python, name
    assert both_count(page, text, [dispute.vkey], {"a": w1k, "b": w1k})[0] == {
        "cosigners": {"a": now}}
    assert both_count(page, text, [dispute.vkey], {"me": me.verifier.to_vkey()})[0] == {
        "cosigners": {}}
    # a cosignature/v1 key named as the origin, given as a log key, signs nothing as the log
    origin = SignedNote.from_text(text).text.split("\n")[0]
    posing = NoteSigner(origin, PrivateKey.from_seed(bytes([77]) * 32), cosigner=True)
    posed = SignedNote(note.text, (posing.sign(note.text, now),)).to_text()
    seen, python = both_count(page, posed, [posing.verifier.to_vkey()], {})
    assert seen == python and "no trusted log key for origin" in seen["error"]


# -- 2. the log key's type ------------------------------------------------------------------


def test_a_witness_key_given_as_the_log_key_is_bad_input_on_both(
        page: Page, dispute: Dispute) -> None:
    """A cosignature/v1 key named as the origin cosigns the checkpoint; given as the log key,
    both refuse it as bad input (the page took its cosignature for the log's signature)."""
    page.goto(INDEX.as_uri())
    origin = cli_json(dispute, dispute.revoked, "--log-key", dispute.vkey)["origin"]
    posing = NoteSigner(origin, PrivateKey.from_seed(bytes([77]) * 32), cosigner=True)
    signed = SignedNote.from_text(dispute.note(dispute.revoked_raw))
    doc = dispute.doc(dispute.revoked_raw)
    doc["state_receipt"]["checkpoint"] = SignedNote(
        signed.text, (posing.sign(signed.text, int(time.time())),)).to_text()
    doc["state_receipt"]["log_key"] = posing.verifier.to_vkey()
    path = dispute.root / "posing.json"
    path.write_text(json.dumps(doc))
    vkey = posing.verifier.to_vkey()
    reason = bad_trust_alike(page, dispute, path, vkey, "--log-key", vkey)
    assert reason.endswith("is not a log key (type 0x01)")
    # the real log key: the posing receipt does not verify on either
    line = assert_one_error_line(dispute.verify(path, "--log-key", dispute.vkey, code=1))
    seen = on_page(page, path, dispute.vkey)
    assert seen["state"] == "invalid" and seen["check"] == "checkpoint", (seen, line)
