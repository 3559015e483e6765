"""A write command run a second time, as after an answer that was lost (specs/cli.md section
2.4): the change it asked for was made by the first run, so it appends nothing, names the event
that made it, keeps its receipt and exits 0 (``"status": "exists"`` with ``--json``); a
refusal that is not such a repeat stays one line and exit 2. Through the real CLI, on a local
home and through a real node on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.node.network_helpers import Processes, make_network

from .conftest import assert_one_error_line, new_key, run, run_json, stored_sizes


def _id(doc: Any) -> str:
    return str(doc["id"])


def _rerun(args: tuple[str | Path, ...], home: Path, first: str, words: str) -> None:
    """Run ``args`` again as text and as JSON: both name ``first``, nothing is appended."""
    sizes = stored_sizes(home)
    text = run(*args, home=home)
    assert text.out.startswith(f"already {words} {first}\n"), text.out
    assert text.err.strip().endswith("nothing appended")
    doc = run_json(*args, "--json", home=home)
    assert (doc["status"], doc["id"]) == ("exists", first)
    assert json.loads(Path(doc["receipt"]).read_text())["event"]["id"] == first
    assert stored_sizes(home) == sizes


@pytest.fixture
def licensed(tmp_path: Path) -> dict[str, Any]:
    """A work with a grant to 'lab' and an accepted licence to 'lab' with a fee paid."""
    home = tmp_path / "home"
    page = tmp_path / "page.png"
    page.write_bytes(b"a page run twice")
    run("anchor", page, home=home)
    new_key("lab", home)
    grant = _id(run_json("consent", "grant", page, "--purpose", "ai_training", "--to", "lab",
                         "--json", home=home))
    offer = _id(run_json("licence", "offer", page, "--to", "lab", "--purpose", "ai_inference",
                         "--fee", "100", "JPY", "--json", home=home))
    run("licence", "accept", offer, "--key", "lab", home=home)
    paid = _id(run_json("payment", "record", offer, "--to", "default", "--amount", "100", "JPY",
                        "--key", "lab", "--json", home=home))
    return {"home": home, "page": page, "grant": grant, "offer": offer, "payment": paid}


def test_each_final_change_run_again_names_the_event_that_made_it(
        licensed: dict[str, Any]) -> None:
    home, grant, offer, paid = (licensed[k] for k in ("home", "grant", "offer", "payment"))
    revoked = _id(run_json("consent", "revoke", grant, "--json", home=home))
    _rerun(("consent", "revoke", grant), home, revoked, f"revoked: grant {grant} was revoked in")

    accepted = run_json("offers", "--key", "lab", "--all", "--json", home=home)
    assert accepted  # the offer is listed; its acceptance is the event to name
    accept_id = next(e["id"] for e in run_json("status", licensed["page"], "--json",
                                                home=home)["history"]
                     if e["type"] == "licence.accept")
    _rerun(("licence", "accept", offer, "--key", "lab"), home, accept_id,
           f"accepted: offer {offer} was accepted in")

    disputed = _id(run_json("payment", "dispute", paid, "--reason", "not received", "--json",
                            home=home))
    _rerun(("payment", "dispute", paid, "--reason", "not received"), home, disputed,
           f"disputed: payment {paid} was disputed in")
    acked = _id(run_json("payment", "ack", paid, "--json", home=home))
    _rerun(("payment", "ack", paid), home, acked, f"acknowledged: payment {paid} was "
           "acknowledged in")
    # acknowledged is final: a dispute now is a refusal, not a repeat
    sizes = stored_sizes(home)
    refused = run("payment", "dispute", paid, "--reason", "late", home=home, ok_codes=(2,))
    assert "is already acknowledged" in assert_one_error_line(refused)
    assert stored_sizes(home) == sizes

    ended = _id(run_json("licence", "terminate", offer, "--reason", "ended", "--json",
                         home=home))
    _rerun(("licence", "terminate", offer), home, ended, f"terminated: licence {offer} was "
           "terminated in")


def test_a_transfer_run_again_names_it_and_other_payees_stay_refused(
        licensed: dict[str, Any]) -> None:
    home, page = licensed["home"], licensed["page"]
    moved = run_json("transfer", page, "--to", "lab", "--payee", "lab=100", "--json", home=home)
    lab = run("key", "show", "lab", "--public", home=home).out.strip()
    _rerun(("transfer", page, "--to", "lab", "--payee", "lab=100"), home, _id(moved),
           f"transferred: the work is controlled by {lab} (your key 'lab') since")
    # not a repeat (other payees): refused as before, one line naming the controller's key
    sizes = stored_sizes(home)
    refused = run("transfer", page, "--to", "lab", "--payee", "lab=50", "--payee",
                  "default=50", home=home, ok_codes=(2,))
    line = assert_one_error_line(refused)
    assert line.startswith(f"error: --to: the work is controlled by {lab} (your key 'lab') "
                           "already (since "), line
    assert "changes nothing" in line
    assert stored_sizes(home) == sizes


def test_a_revocation_run_again_through_a_node_is_found_on_the_node(tmp_path: Path) -> None:
    processes = Processes()
    try:
        (node,) = make_network(tmp_path / "net", ("ledger",), processes)
        node.start()
        home = tmp_path / "home"
        url = ("--node", node.url)
        page = tmp_path / "page.png"
        page.write_bytes(b"a page revoked through a node")
        run("anchor", page, *url, home=home)
        grant = _id(run_json("consent", "grant", page, "--purpose", "ai_training", "--anyone",
                             *url, "--json", home=home))
        revoked = run_json("consent", "revoke", grant, *url, "--json", home=home)
        again = run_json("consent", "revoke", grant, *url, "--json", home=home)
        assert (revoked["status"], again["status"], again["id"]) == (
            "logged", "exists", revoked["id"])
        kept = json.loads(Path(again["receipt"]).read_text())
        assert kept["event"]["id"] == revoked["id"]
        assert run("verify", again["receipt"], "--log-key",
                   run("log", "key", home=node.home).out.strip(),
                   home=home).out.startswith("OK: ")
    finally:
        processes.close()


def test_an_attestation_withdrawn_again_names_the_withdrawal(tmp_path: Path) -> None:
    """``identity revoke`` run again reports the revocation logged, exit 0; every event of a
    key record has ``status`` in ``--json`` too (specs/cli.md sections 2.4 and 3.3)."""
    home = tmp_path / "home"
    new_key("guild", home)
    new_key("mika", home)
    attested = run_json("identity", "attest", "mika", "--name", "Mika Sato", "--key", "guild",
                        "--json", home=home)
    assert attested["status"] == "logged"
    revoked = run_json("identity", "revoke", attested["id"], "--key", "guild", "--reason",
                       "left the guild", "--json", home=home)
    assert revoked["status"] == "logged"
    sizes = stored_sizes(home)
    text = run("identity", "revoke", attested["id"], "--key", "guild", home=home)
    assert text.out.startswith(f"already revoked: attestation {attested['id']} was revoked in "
                               f"{revoked['id']}\n")
    assert text.err.strip().endswith("nothing appended")
    again = run_json("identity", "revoke", attested["id"], "--key", "guild", "--json", home=home)
    assert (again["status"], again["id"]) == ("exists", revoked["id"])
    assert stored_sizes(home) == sizes
