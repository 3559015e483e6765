"""Proofs of current state through the real CLI (issue: proof of current state).

A creator grants an AI developer a consent, then revokes it. ``may --proof`` writes a decision
receipt at each step; ``verify`` re-derives each answer offline: allowed at the first
checkpoint, not allowed (revoked) at the next, and the first is refused as current by
``--max-age`` once it is older. ``receipt --state`` proves absence, and one receipt covers many
works with one map proof. The ledger home is built with the library at a past ledger time, so
that no test waits for time to pass.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, sign_event, work_id_of
from provenance_ledger.core.identity import key_record_id
from provenance_ledger.ledger import Home

from .conftest import log_key, run, run_json

TEN_MINUTES_AGO = int(time.time()) - 600
CREATOR = PrivateKey.from_seed(bytes([11]) * 32)
DEVELOPER = PrivateKey.from_seed(bytes([12]) * 32)


def content(tmp: Path, name: str) -> tuple[Path, str]:
    path = tmp / name
    path.write_bytes(f"the page called {name}".encode())
    return path, work_id_of(hashlib.sha256(path.read_bytes()).hexdigest())


@pytest.fixture
def granted(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """A home whose last block (ten minutes ago) granted DEVELOPER ai_training on a page
    CREATOR registered: (home, page, work, grant id)."""
    home = tmp_path / "home"
    page, work = content(tmp_path, "page.png")
    reg = sign_event(Event("work.register", work, None, CREATOR.public.text, TEN_MINUTES_AGO,
                           {"size": 20, "media_type": "image/png"}), CREATOR)
    grant = sign_event(Event("consent.grant", work, reg.id, CREATOR.public.text,
                             TEN_MINUTES_AGO, {"grantee": DEVELOPER.public.text,
                                               "purposes": ["ai_training"]}), CREATOR)
    ledger = Home(home).open_ledger()
    try:
        ledger.append(reg.leaf, TEN_MINUTES_AGO)
        ledger.append(grant.leaf, TEN_MINUTES_AGO)
    finally:
        ledger.close()
    return home, page, work, grant.id


def test_granted_then_revoked_and_the_old_proof_is_not_current(
        granted: tuple[Path, Path, str, str], tmp_path: Path) -> None:
    home, page, work, grant_id = granted
    first = tmp_path / "first.json"
    allowed = run("may", DEVELOPER.public.text, "ai_training", page, "--proof", first,
                  home=home)
    assert allowed.out.startswith("allowed")
    assert allowed.out.splitlines()[-1] == (f"  decision receipt written to {first} (check it "
                                            f"with: provenance verify {first} --log-key ...)")
    doc = run_json("may", DEVELOPER.public.text, "ai_training", page, "--proof", first,
                   "--json", home=home)
    assert doc["allowed"] is True and doc["proof"] == str(first)
    proven = run("verify", first, "--log-key", log_key(home), home=home).out
    assert "may use work" in proven and grant_id in proven
    assert "no later event" in proven

    # The creator revokes (a block at the real time now, through the CLI's own clock).
    revoke = sign_event(Event("consent.revoke", work, grant_id, CREATOR.public.text,
                              int(time.time()), {"grant": grant_id}), CREATOR)
    ledger = Home(home).open_ledger()
    try:
        ledger.append(revoke.leaf, int(time.time()))
    finally:
        ledger.close()
    second = tmp_path / "second.json"
    refused = run("may", DEVELOPER.public.text, "ai_training", page, "--proof", second,
                  home=home, ok_codes=(1,))
    assert refused.out.startswith("not allowed")
    now_proof = run("verify", second, "--log-key", log_key(home), "--max-age", "5m",
                    home=home).out
    assert "may not use work" in now_proof and revoke.id in now_proof

    # The first proof still verifies as of its checkpoint, but not as current.
    stale = run("verify", first, "--log-key", log_key(home), "--max-age", "5m", home=home,
                ok_codes=(1,))
    assert "--max-age" in stale.err and "Traceback" not in stale.err
    run("verify", first, "--log-key", log_key(home), "--max-age", "1h", home=home)


def test_receipt_show_names_the_keys_whose_records_a_decision_receipt_proves(
        granted: tuple[Path, Path, str, str], tmp_path: Path) -> None:
    home, page, work, _ = granted
    proof = tmp_path / "decision.json"
    run("may", DEVELOPER.public.text, "ai_training", page, "--proof", proof, home=home)
    shown = run("receipt", "show", proof, home=home).out.splitlines()
    records = [x for x in shown if x.startswith("key record ")]
    # the controller's and the grantee's records, both absent: no rotation, no compromise
    assert sorted(records) == sorted(
        f"key record of {k} ({key_record_id(k)}): no events (claims none is logged: the key "
        "was neither rotated, declared compromised nor attested up to this size)"
        for k in (CREATOR.public.text, DEVELOPER.public.text))
    assert f"decision receipt of work {work}" in shown
    doc = run_json("receipt", "show", proof, "--json", home=home)
    assert [(w["key_record"], w["key"]) for w in doc["works"]][0] == (False, None)
    assert {w["key"] for w in doc["works"][1:]} == {CREATOR.public.text, DEVELOPER.public.text}


def test_a_decision_receipt_without_key_records_says_so_in_its_statement(
        granted: tuple[Path, Path, str, str], tmp_path: Path) -> None:
    """A decision receipt whose state receipt lists no key record (as one made before key
    records, or one rebuilt from `receipt W --state`) answers from the events alone: its
    one-sentence statement, the part people quote, carries the caveat (receipts.md 12.1)."""
    home, page, work, _ = granted
    full = tmp_path / "decision.json"
    run("may", DEVELOPER.public.text, "ai_training", page, "--proof", full, home=home)
    state = tmp_path / "state.json"
    run("receipt", page, "--state", "-o", state, home=home)
    doc = json.loads(full.read_text())
    doc["state_receipt"] = json.loads(state.read_text())  # the same checkpoint, one work
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(doc, indent=2))
    caveat = ("; this receipt holds no key records, so a rotation or compromise of the "
              "controller's key is not ruled out")
    said = run_json("verify", bare, "--log-key", log_key(home), "--json", home=home)
    assert said["keys_proven"] is False and said["statement"].endswith(caveat)
    assert said["statement"].startswith("as of checkpoint ")
    proven = run_json("verify", full, "--log-key", log_key(home), "--json", home=home)
    assert proven["keys_proven"] is True and proven["statement"] + caveat == said["statement"]


def test_absence_is_proven_for_may_and_for_a_state_receipt(
        granted: tuple[Path, Path, str, str], tmp_path: Path) -> None:
    home, _, _, _ = granted
    unknown, unknown_work = content(tmp_path, "never-anchored.png")
    decision = tmp_path / "absent-decision.json"
    out = run("may", DEVELOPER.public.text, "ai_training", unknown, "--proof", decision,
              home=home, ok_codes=(1,)).out
    assert "not registered" in out
    said = run("verify", decision, "--log-key", log_key(home), home=home).out
    assert f"{unknown_work} was not registered on log" in said
    shown = run("receipt", "show", decision, home=home).out
    assert shown.startswith("NOTHING WAS VERIFIED")
    assert "question:    may " in shown and "no events (claims it is absent)" in shown
    state = tmp_path / "absent-state.json"
    written = run("receipt", unknown, "--state", "-o", state, home=home).out
    assert "not registered" in written and "proof of its absence" in written
    assert "was not registered" in run("verify", state, "--log-key", log_key(home),
                                       home=home).out


def test_one_state_receipt_for_many_works_shares_one_map_proof(
        granted: tuple[Path, Path, str, str], tmp_path: Path) -> None:
    home, page, work, _ = granted
    others = [content(tmp_path, f"other-{i}.png")[0] for i in range(5)]
    listing = tmp_path / "works.txt"
    listing.write_text("\n".join(str(p) for p in others[2:]) + "\n")
    batch = tmp_path / "batch.json"
    said = run("receipt", page, others[0], others[1], "--state", "--works-from", listing,
               "-o", batch, home=home).out
    assert "6 works (1 registered, 5 not)" in said
    doc = json.loads(batch.read_text())
    assert [w["work"] for w in doc["works"]][0] == work
    assert isinstance(doc["map_proof"], str)  # one proof for all
    verified = run("verify", batch, "--log-key", log_key(home), home=home).out
    lines = [x for x in verified.splitlines() if x.startswith("  sha256:")]
    assert sum("was not registered" in x for x in lines) == 5
    assert any(x.startswith(f"  {work}: 2 events") for x in lines)


def test_a_tampered_decision_receipt_does_not_verify(
        granted: tuple[Path, Path, str, str], tmp_path: Path) -> None:
    home, page, _, _ = granted
    proof = tmp_path / "proof.json"
    run("may", DEVELOPER.public.text, "ai_training", page, "--proof", proof, home=home)
    doc = json.loads(proof.read_text())
    events = doc["state_receipt"]["works"][0]["events"]
    doc["state_receipt"]["works"][0]["events"] = events[:-1]  # hide the grant
    hidden = tmp_path / "hidden.json"
    hidden.write_text(json.dumps(doc))
    result = run("verify", hidden, "--log-key", log_key(home), home=home, ok_codes=(1,))
    assert "left out" in result.err or "map" in result.err
