"""The page and ``provenance verify`` agree on the times the adversarial review gave the CLI
(specs/receipts.md sections 4, 12.1 and 13): a proof is fresh as of the time the witness quorum
vouches for it; an answer "allowed" for a time before a revocation, a termination or a transfer
says so in its citation; a decision receipt without key records says so. The second half of
test_parity_witnesses.py (sections 3 and 4), in a file of its own so that pytest-xdist's
loadscope can run the two on different workers; the receipts are made the same way.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.core.note import SignedNote
from provenance_ledger.core.receipt import Receipt
from tests.cli.conftest import log_key, run
from tests.cli.test_verify_adversarial_cli import (
    CREATOR,
    DEVELOPER,
    HOUR,
    WITNESSES,
    Dispute,
    _append,
    _at,
    _ev,
    cosign,
)

from .conftest import INDEX, as_sentence
from .test_parity_witnesses import cli_json, on_page, said, the_same_statement


@pytest.fixture(scope="module")
def dispute(tmp_path_factory: pytest.TempPathFactory) -> Dispute:
    return Dispute(tmp_path_factory.mktemp("page-dispute"))


# -- 3. freshness ---------------------------------------------------------------------------


def test_fresh_as_of_is_when_the_quorum_vouches(page: Page, dispute: Dispute) -> None:
    """The grant's checkpoint, cosigned by w1 and w2 a minute after its block, then by w1
    again now: fresh as of the quorum's time, as verify says (--max-age 1h refuses it under
    a quorum of both, and takes it under w1 alone)."""
    page.goto(INDEX.as_uri())
    now = int(time.time()) - 5
    stale = dispute.with_note(dispute.granted, "stale.json",
                              cosign(dispute.note(dispute.granted), "w1", now))
    old = _at(dispute.t1 + 60)
    for policy, fresh in (
            (dispute.policy("both.txt", "group both all w1 w2", "quorum both"), old),
            (dispute.policy("w1.txt", "quorum w1"), _at(now)),
            (dispute.policy("w2.txt", "quorum w2"), old),
            (dispute.policy("any.txt", "group some any w1 w2", "quorum some"), _at(now))):
        assert on_page(page, stale, policy)["state"] == "valid"
        out = the_same_statement(page, dispute, stale, "--policy", policy)
        assert out["fresh_as_of"] == fresh, policy.read_text()
        assert out["cosigners"] == {"w1": _at(now), "w2": old}
    # a witness the quorum does not need moves it not at all
    w3 = dispute.with_note(dispute.granted, "stale-w3.json",
                           cosign(dispute.note(dispute.granted), "w3", now))
    policy = dispute.policy("w1-only.txt", "quorum w1")
    assert on_page(page, w3, policy)["state"] == "valid"
    assert the_same_statement(page, dispute, w3, "--policy", policy)["fresh_as_of"] == old
    # two of three: the second newest
    mid = now - HOUR
    three = SignedNote.from_text(dispute.note(dispute.granted_raw))
    note = SignedNote(three.text, (*three.signatures,
                                   WITNESSES["w1"].sign(three.text, dispute.t1 + 60),
                                   WITNESSES["w2"].sign(three.text, mid),
                                   WITNESSES["w3"].sign(three.text, now))).to_text()
    path = dispute.with_note(dispute.granted_raw, "two-of-three.json", note)
    policy = dispute.policy("two.txt", "group two 2 w1 w2 w3", "quorum two")
    assert on_page(page, path, policy)["state"] == "valid"
    assert the_same_statement(page, dispute, path, "--policy", policy)["fresh_as_of"] == _at(mid)
    # no witnesses required: the checkpoint's own time
    assert on_page(page, stale, dispute.vkey)["state"] == "valid"
    out = the_same_statement(page, dispute, stale, "--log-key", dispute.vkey)
    assert out["fresh_as_of"] == _at(dispute.t1) == out["checkpoint_time"]
    assert "your policy requires no witnesses" in said(page, "#fresh")


# -- 4. the words of an answer for a time before later events --------------------------------


def test_an_answer_before_the_revocation_says_it_was_revoked_on_both(
        page: Page, dispute: Dispute) -> None:
    page.goto(INDEX.as_uri())
    doc = dispute.doc(dispute.revoked)
    doc.pop("decision")
    doc["question"]["at"] = _at(dispute.t1 + 1)
    path = dispute.root / "asked-before.json"
    path.write_text(json.dumps(doc))
    policy = dispute.policy("both-asked.txt", "group both all w1 w2", "quorum both")
    assert on_page(page, path, policy)["state"] == "valid"
    out = the_same_statement(page, dispute, path, "--policy", policy)
    assert out["allowed"] and out["citing"] == [
        f"consent grant {dispute.grant.id}, revoked by {dispute.revoke.id} at "
        f"{_at(dispute.t2)}, after the time asked"]
    assert said(page, "#answer") == "Answer: allowed."


def test_a_compliance_answer_before_the_revocation_says_it_was_revoked_on_both(
        page: Page, dispute: Dispute) -> None:
    """The compliance receipt of a dataset holding the page, asked for a time before the
    revocation (the time is the asker's): its item's citation says what became of the
    grant, on the page as in verify --json."""
    page.goto(INDEX.as_uri())
    folder = dispute.root / "dataset"
    folder.mkdir(exist_ok=True)
    (folder / dispute.page.name).write_bytes(dispute.page.read_bytes())
    made = dispute.root / "compliance.json"
    run("dataset", "check", folder, "--purpose", "ai_training", "--as", DEVELOPER.public.text,
        "--receipt", made, home=dispute.home, ok_codes=(1,))
    doc = json.loads(made.read_text())
    doc["question"]["at"] = _at(dispute.t1 + 1)
    doc["summary"] = None
    doc["items"] = [{k: v for k, v in it.items() if k not in ("decision", "granted_by")}
                    for it in doc["items"]]
    path = dispute.root / "compliance-before.json"
    path.write_text(json.dumps(doc))
    assert on_page(page, path, dispute.vkey)["state"] == "valid"
    out = cli_json(dispute, path, "--log-key", dispute.vkey)
    [item] = out["items"]
    assert item["outcome"] == "allowed" and item["citing"] == [
        f"consent grant {dispute.grant.id}, revoked by {dispute.revoke.id} at "
        f"{_at(dispute.t2)}, after the time asked"]
    assert said(page, "#compliance") == as_sentence(out["statement"])
    assert said(page, "#items") == (f"Allowed: {item['item']} ({item['work']}): "
                                    f"{item['reason']}, citing {'; '.join(item['citing'])}")
    assert said(page, "#fresh").startswith(f"Fresh as of {out['fresh_as_of']} (")


@dataclass
class Deals:
    """A work whose creator granted the developer ai_inference until a time, licensed it
    data_mining until a time and ai_generation with no end (both accepted), then terminated
    the second licence and sold the work; decision receipts asked for a time before."""

    home: Path
    terminate: SignedEvent
    transfer: SignedEvent
    buyer: str
    t2: int
    until: int
    proofs: dict[str, Path]


@pytest.fixture(scope="module")
def deals(tmp_path_factory: pytest.TempPathFactory) -> Deals:
    root = tmp_path_factory.mktemp("page-deals")
    home = root / "home"
    now = int(time.time())
    t1, t2, until = now - 2 * HOUR, now - 300, now + 30 * 24 * HOUR
    page_file = root / "dealt.png"
    page_file.write_bytes(b"a page that was licensed, then sold")
    work = work_id_of(hashlib.sha256(page_file.read_bytes()).hexdigest())
    events = [_ev("work.register", work, None, t1, {"size": 35, "media_type": "image/png"})]

    def add(type_: str, body: dict[str, Any], key: PrivateKey = CREATOR, at: int = t1
            ) -> SignedEvent:
        ev = sign_event(Event(type_, work, events[-1].id, key.public.text, at, body), key)
        events.append(ev)
        return ev

    dev = DEVELOPER.public.text
    add("consent.grant", {"grantee": dev, "purposes": ["ai_inference"], "until": _at(until)})
    mining = add("licence.offer", {"licensee": dev, "purposes": ["data_mining"],
                                   "until": _at(until)})
    add("licence.accept", {"offer": mining.id}, DEVELOPER)
    gen = add("licence.offer", {"licensee": dev, "purposes": ["ai_generation"]})
    add("licence.accept", {"offer": gen.id}, DEVELOPER)
    _append(home, events, t1)
    buyer = PrivateKey.from_seed(bytes([64]) * 32).public.text
    terminate = add("licence.terminate", {"licence": gen.id}, at=t2)
    transfer = add("work.transfer", {"to": buyer}, at=t2)
    _append(home, events[-2:], t2)
    proofs = {}
    for name, key, purpose in (("grant", dev, "ai_inference"), ("licence", dev, "data_mining"),
                               ("terminated", dev, "ai_generation"),
                               ("sold", CREATOR.public.text, "ai_training")):
        proofs[name] = root / f"{name}.json"
        run("may", key, purpose, page_file, "--at", _at(t1 + 1), "--proof", proofs[name],
            home=home)
    return Deals(home, terminate, transfer, buyer, t2, until, proofs)


def test_answers_before_a_termination_or_a_sale_or_with_an_end_say_so_on_both(
        page: Page, deals: Deals) -> None:
    page.goto(INDEX.as_uri())
    vkey = log_key(deals.home)
    expected = {
        "grant": ", which ends at " + _at(deals.until),
        "licence": ", which ends at " + _at(deals.until),
        "terminated": f", terminated by {deals.terminate.id} at {_at(deals.t2)}, after the time "
                      "asked",
        "sold": f" (the work's head; this key controlled the work at the time asked, and "
                f"control passed to {deals.buyer} at {_at(deals.t2)})",
    }
    for name, path in deals.proofs.items():
        assert on_page(page, path, vkey)["state"] == "valid", name
        out = json.loads(run("verify", path, "--log-key", vkey, "--json", home=deals.home).out)
        assert out["allowed"], name
        [cite] = out["citing"]
        assert cite.endswith(expected[name]), (name, cite)
        text = run("verify", path, "--log-key", vkey, home=deals.home).out
        assert said(page, "#decision") == as_sentence(out["statement"]), name
        assert out["statement"] == text.splitlines()[0][4:], name
        assert said(page, "#answer") == "Answer: allowed.", name
    assert "this key controls it" not in said(page, "#decision")


def test_registered_before_is_when_the_quorum_vouches(page: Page, dispute: Dispute) -> None:
    """The page's "registered ... before T (by the witnesses' clocks)" of an inclusion receipt:
    with a quorum of both witnesses, the time by which both had cosigned; one witness's earlier
    cosignature alone does not date the registration."""
    plain = dispute.root / "registration.json"
    reg = run("receipt", dispute.page, "-o", plain, home=dispute.home)
    assert reg.code == 0
    doc = json.loads(plain.read_text())
    early, late = dispute.t1 + 60, dispute.t1 + 600
    doc["checkpoint"] = cosign(cosign(doc["checkpoint"], "w1", early), "w2", late)
    doc["tlog_proof"] = Receipt.from_json(doc).tlog_proof()  # it embeds the checkpoint
    both_cosigned = dispute.root / "registration.cosigned.json"
    both_cosigned.write_text(json.dumps(doc, indent=2))
    page.goto(INDEX.as_uri())
    for policy, before in (
            (dispute.policy("reg-both.txt", "group both all w1 w2", "quorum both"), late),
            (dispute.policy("reg-any.txt", "group some any w1 w2", "quorum some"), early),
            (dispute.policy("reg-w2.txt", "quorum w2"), late)):
        dispute.verify(both_cosigned, "--policy", policy)  # the CLI takes it as valid too
        assert on_page(page, both_cosigned, policy)["state"] == "valid"
        assert f" before {_at(before)} (by the witnesses' clocks)" in said(page, "#statement")
    on_page(page, both_cosigned, dispute.vkey)  # the log key alone: the log's own clock
    assert "(by the log's own clock)" in said(page, "#statement")


def test_a_decision_receipt_without_key_records_says_so_on_both(
        page: Page, dispute: Dispute) -> None:
    """A decision receipt rebuilt from `receipt W --state` (no key record listed) answers from
    the events alone; the statement ends with the caveat, word for word on the page."""
    page.goto(INDEX.as_uri())
    state = dispute.root / "bare-state.json"
    run("receipt", dispute.page, "--state", "-o", state, home=dispute.home)
    doc = dispute.doc(dispute.revoked_raw)  # the latest checkpoint, as the state receipt's
    doc["state_receipt"] = json.loads(state.read_text())
    doc.pop("decision")
    bare = dispute.root / "bare-decision.json"
    bare.write_text(json.dumps(doc))
    assert on_page(page, bare, dispute.vkey)["state"] == "valid"
    out = cli_json(dispute, bare, "--log-key", dispute.vkey)
    assert out["keys_proven"] is False
    assert out["statement"].endswith("; this receipt holds no key records, so a rotation or "
                                     "compromise of the controller's key is not ruled out")
    assert said(page, "#decision") == as_sentence(out["statement"])
    page.click("#lang-ja")
    assert said(page, "#decision").endswith(
        "この受領証には鍵の記録が含まれていないため、管理者の鍵の切り替えや漏えいがなかったことは"
        "示されていません。")
