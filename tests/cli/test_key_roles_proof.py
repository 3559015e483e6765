"""After a ``key.rotate`` the successor holds the old key's roles (specs/rules.md section 9),
and the commands a user runs follow it: ``may --proof`` writes a decision receipt whose
``verify`` gives the same answer for a rotated grantee (specs/receipts.md section 12.2), and
``dataset check --controller`` follows a rotated controller, by its new key or its old one
(specs/cli.md section 3.14). Real CLI, real SQLite ledger, real signatures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.cli.conftest import log_key, new_key, run


class Rotated(NamedTuple):
    home: Path
    folder: Path
    creator: str
    creator2: str
    grantee2: str
    victim: str
    thief: str


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Rotated:
    """A page granted for ai_training to 'grantee'; then 'grantee' is rotated to 'grantee2'
    and the page's controller 'creator' to 'creator2'. Another page transferred by 'victim'
    to 'thief', 'victim' then declared compromised from that transfer on."""
    root = tmp_path_factory.mktemp("key-roles")
    home, folder = root / "home", root / "dataset"
    folder.mkdir()
    creator, creator2, grantee, grantee2 = (
        new_key(n, home) for n in ("creator", "creator2", "grantee", "grantee2"))
    # The stolen page is registered first: each `key rotate` below waits for the next second,
    # so its registration is in an earlier second than the transfer the compromise starts at.
    victim, thief = new_key("victim", home), new_key("thief", home)
    stolen = folder / "stolen.png"
    stolen.write_bytes(b"a page whose key is stolen")
    run("anchor", stolen, "--key", "victim", home=home)
    page = folder / "page-012.png"
    page.write_bytes(b"a page granted to a key that is rotated later")
    run("anchor", page, "--key", "creator", home=home)
    run("consent", "grant", page, "--purpose", "ai_training", "--to", grantee, "--key",
        "creator", home=home)
    run("key", "rotate", "grantee", "--to", "grantee2", home=home)
    run("key", "rotate", "creator", "--to", "creator2", home=home)
    # a stolen key's transfer, declared compromised from the transfer on: it does not count
    run("transfer", stolen, "--to", thief, "--key", "victim", home=home)
    at = json.loads(run("status", stolen, "--json", home=home).out)["history"][-1]["at"]
    run("key", "compromised", "victim", "--since", at, "--yes", home=home)
    return Rotated(home, folder, creator, creator2, grantee2, victim, thief)


def test_verify_answers_as_may_for_a_rotated_grantee(rotated: Rotated) -> None:
    r = rotated
    proof = r.home.parent / "decision.json"
    out = run("may", r.grantee2, "ai_training", r.folder / "page-012.png", "--proof", proof,
              home=r.home).out
    assert out.startswith("allowed: consent granted to this key for ai_training")
    checked = run("verify", proof, "--log-key", log_key(r.home), home=r.home).out
    assert "OK: as of checkpoint" in checked
    assert f"key {r.grantee2} may use work" in checked, checked
    assert ("  the controller's key: its record is in the receipt, with those of every grantee, "
            "licensee and payee of the work: no rotation or compromise of these keys up to "
            "this size is left out" in checked.splitlines())
    listed = [w["work"] for w in json.loads(proof.read_text())["state_receipt"]["works"][1:]]
    assert len(listed) == 4  # both controllers' records, the grantee's and its successor's


def test_dataset_check_follows_the_rotated_controller(rotated: Rotated) -> None:
    r = rotated
    for named in (r.creator2, r.creator):
        done = run("dataset", "check", r.folder, "--purpose", "ai_training", "--as",
                   r.grantee2, "--controller", named, "--json", home=r.home)
        doc = json.loads(done.out)
        assert [(i["item"], i["outcome"], i["controller"]) for i in doc["items"]] == [
            ("page-012.png", "allowed", r.creator2)], named
        assert doc["controller"] == r.creator2
        note = (f"note: --controller {r.creator} was rotated to {r.creator2}: listing the "
                f"works {r.creator2} controls now")
        assert (note in done.err) == (named == r.creator)


def test_dataset_check_ignores_a_compromised_keys_later_transfer(rotated: Rotated) -> None:
    r = rotated
    for named, items in ((r.victim, [("stolen.png", "not allowed", r.victim)]), (r.thief, [])):
        done = run("dataset", "check", r.folder, "--purpose", "ai_training", "--as",
                   r.grantee2, "--controller", named, "--json", home=r.home,
                   ok_codes=(1,) if items else (0,))
        doc = json.loads(done.out)
        assert [(i["item"], i["outcome"], i["controller"]) for i in doc["items"]] == items


def test_a_compliance_receipt_after_a_rotated_licensee_reported_usage(tmp_path: Path) -> None:
    """The licensee's key is rotated and its successor accepts and reports usage: `dataset check
    --receipt` proves the licence with the licensee's key records (the proof's replay reads
    them), and `verify` gives the same answer offline. It used to fail with exit 2: the report
    "must be signed by its licensee", the old key."""
    home, folder = tmp_path / "home", tmp_path / "dataset"
    folder.mkdir()
    studio = new_key("studio", home)
    studio2 = new_key("studio2", home)
    page = folder / "page-014.png"
    page.write_bytes(b"a page licensed to a studio whose key is rotated")
    run("anchor", page, home=home)
    offer = json.loads(run("licence", "offer", page, "--to", studio, "--purpose", "ai_training",
                           "--fee", "100.00", "EUR", "--royalty-bps", "1000", "--json",
                           home=home).out)["id"]
    # Rotated before it accepts: the successor accepts and reports (an old-key event in the
    # rotation's second would not count: rules.md R22 reads times to the second).
    run("key", "rotate", "studio", "--to", "studio2", home=home)
    run("licence", "accept", offer, "--key", "studio2", home=home)
    run("usage", "report", offer, "--period", "2026", "--units", "5", "--revenue", "50.00",
        "EUR", "--key", "studio2", home=home)
    receipt = tmp_path / "compliance.json"
    checked = json.loads(run("dataset", "check", folder, "--purpose", "ai_training", "--as",
                             studio2, "--receipt", receipt, "--json", home=home).out)
    assert [i["outcome"] for i in checked["items"]] == ["allowed"]
    assert json.loads(receipt.read_text())["format"].endswith("/compliance-receipt/v2")
    verified = json.loads(run("verify", receipt, "--log-key", log_key(home), "--json",
                              home=home).out)
    assert verified["summary"]["allowed"] == 1 and verified["summary"]["not_allowed"] == 0
