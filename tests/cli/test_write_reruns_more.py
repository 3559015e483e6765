"""More writes run a second time (specs/cli.md section 2.4): an attestation, a consent or an
offer that stands, a key rotation, recovery setting or compromise declaration in effect, a
recovery request logged or cosigned already. Each repeat appends nothing, names the event
that made the change, keeps its receipt and exits 0 (``"status": "exists"`` with
``--json``); a statement that differs is logged, or refused, as before. Through the real CLI,
on a local home and through a real node on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.node.network_helpers import Processes, make_network

from ..inproc import given, given_key
from .conftest import assert_one_error_line, run, run_json, stored_sizes


def _id(doc: Any) -> str:
    return str(doc["id"])


def _rerun(args: tuple[str | Path, ...], home: Path, first: str, words: str,
           hint: str = "", node: bool = False) -> None:
    """Run ``args`` again as text and as JSON: both name ``first`` with ``already WORDS``,
    say ``nothing appended`` (and ``hint``) on stderr, keep its receipt, append nothing."""
    sizes = None if node else stored_sizes(home)
    text = run(*args, home=home)
    assert text.out.startswith(f"already {words} {first}\n"), text.out
    assert text.err.strip().endswith(f"nothing appended{hint}"), text.err
    doc = run_json(*args, "--json", home=home)
    assert (doc["status"], doc["id"]) == ("exists", first)
    assert json.loads(Path(doc["receipt"]).read_text())["event"]["id"] == first
    if not node:
        assert stored_sizes(home) == sizes


def _page(tmp_path: Path, home: Path, words: bytes, *node: str) -> Path:
    page = tmp_path / "page.png"
    page.write_bytes(words)
    if node:
        run("anchor", page, *node, home=home)
    else:  # a precondition, in process (tests/inproc.py)
        given("anchor", page, home=home)
    return page


def test_an_attestation_run_again_names_the_one_that_stands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    given_key("guild", home)
    mika = given_key("mika", home)
    args = ("identity", "attest", "mika", "--name", "Mika Sato", "--member", "1042", "--key",
            "guild")
    first = run_json(*args, "--json", home=home)
    assert first["status"] == "logged"
    _rerun(args, home, _id(first), "attested: this attestation stands (not revoked), logged as")
    # the same key named by its public key is the same statement
    again = run_json("identity", "attest", mika, "--name", "Mika Sato", "--member", "1042",
                     "--key", "guild", "--json", home=home)
    assert (again["status"], again["id"]) == ("exists", _id(first))
    # other details are another statement: logged
    other = run_json("identity", "attest", "mika", "--name", "Mika Sato", "--member", "1043",
                     "--key", "guild", "--json", home=home)
    assert other["status"] == "logged" and _id(other) != _id(first)
    # withdrawn, the same attestation made again is a new one
    given("identity", "revoke", _id(first), "--key", "guild", home=home)
    renewed = run_json(*args, "--json", home=home)
    assert renewed["status"] == "logged" and _id(renewed) not in (_id(first), _id(other))
    shown = run_json("identity", "show", "mika", "--json", home=home)
    assert sorted(a["id"] for a in shown["in_force"]["attestations"]) == sorted(
        [_id(other), _id(renewed)])


def test_a_rotation_run_again_is_answered_and_to_another_key_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = given_key("studio", home)
    new = given_key("studio-2", home)
    given_key("studio-3", home)
    _page(tmp_path, home, b"a page whose key rotates", "--key", "studio")
    rotated = run_json("key", "rotate", "studio", "--to", "studio-2", "--json", home=home)
    assert rotated["status"] == "logged"
    _rerun(("key", "rotate", "studio", "--to", "studio-2"), home, _id(rotated),
           f"rotated: {old} was rotated to {new} in")
    # written as a recovery request again: the rotation is logged, no request is written
    request = tmp_path / "rotate.json"
    again = run("key", "rotate", old, "--to", "studio-2", "--recovery-request", request,
                home=home)
    assert again.out.startswith(f"already rotated: {old} was rotated to {new} in "
                                f"{_id(rotated)}\n")
    assert not request.exists()
    # a rotation to another key is not this one: refused, nothing appended
    sizes = stored_sizes(home)
    refused = run("key", "rotate", "studio", "--to", "studio-3", home=home, ok_codes=(2,))
    assert f"was already rotated to {new}" in assert_one_error_line(refused)
    assert stored_sizes(home) == sizes


def test_a_recovery_setting_and_a_compromise_run_again_are_answered(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = given_key("studio", home)
    given_key("rescue-1", home)
    given_key("rescue-2", home)
    given_key("rescue-3", home)
    set_ = run_json("key", "recovery", "studio", "--keys", "rescue-1,rescue-2", "--threshold",
                    "1", "--json", home=home)
    _rerun(("key", "recovery", "studio", "--keys", "rescue-1,rescue-2", "--threshold", "1"),
           home, _id(set_), "set: this recovery setting is in effect, logged as")
    # the same keys in another order are the same setting; another threshold is not
    _rerun(("key", "recovery", "studio", "--keys", "rescue-2,rescue-1", "--threshold", "1"),
           home, _id(set_), "set: this recovery setting is in effect, logged as")
    changed = run_json("key", "recovery", "studio", "--keys", "rescue-1,rescue-2", "--json",
                       home=home)
    assert changed["status"] == "logged"
    # back to the first setting: a change, logged
    back = run_json("key", "recovery", "studio", "--keys", "rescue-1,rescue-2", "--threshold",
                    "1", "--json", home=home)
    assert back["status"] == "logged" and _id(back) != _id(set_)

    declared = run_json("key", "compromised", "studio", "--since", "2026-01-01", "--json",
                        home=home)
    _rerun(("key", "compromised", "studio", "--since", "2026-01-01"), home, _id(declared),
           f"declared compromised: {key} is compromised since 2026-01-01T00:00:00Z, "
           "declared in")
    # a later time is another statement: refused as before
    refused = run("key", "compromised", "studio", "--since", "2026-02-01", home=home,
                  ok_codes=(2,))
    assert "is already compromised since 2026-01-01T00:00:00Z" in assert_one_error_line(
        refused)


def test_a_recovery_request_cosigned_and_submitted_again_is_answered(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = given_key("old", home)
    given_key("new", home)
    r1 = given_key("r1", home)
    r2 = given_key("r2", home)
    _page(tmp_path, home, b"a page whose key is recovered", "--key", "old")
    given("key", "recovery", "old", "--keys", "r1,r2", "--threshold", "2", home=home)
    request = tmp_path / "rotate-old.json"
    given("key", "rotate", old, "--to", "new", "--recovery-request", request, "--signer", r1,
          home=home)
    given("key", "cosign", request, "--key", "r2", home=home)
    kept = request.read_bytes()
    again = run("key", "cosign", request, "--key", "r2", home=home)
    assert again.out.startswith(f"already signed {request} as {r2}\n"), again.out
    assert "  cosigned:   1 of the 1 needed besides the signer\n" in again.out
    assert again.err.strip() == "nothing written"
    assert request.read_bytes() == kept
    given("key", "cosign", request, "--key", "r1", home=home)
    kept = request.read_bytes()
    signed = run_json("key", "cosign", request, "--key", "r1", "--json", home=home)
    assert (signed["complete"], signed["signer"]) == (True, r1)
    assert request.read_bytes() == kept

    done = run_json("key", "submit", request, "--json", home=home)
    assert done["status"] == "logged"
    _rerun(("key", "submit", request), home, _id(done),
           "rotated: this request is logged as")


def test_a_consent_run_again_names_the_grant_in_force(tmp_path: Path) -> None:
    home = tmp_path / "home"
    given_key("lab", home)
    page = _page(tmp_path, home, b"a page granted twice")
    args = ("consent", "grant", page, "--purpose", "ai_training", "--purpose", "data_mining",
            "--to", "lab", "--condition", "attribution")
    first = run_json(*args, "--json", home=home)
    assert first["status"] == "logged"
    _rerun(args, home, _id(first), "granted: this consent is in force, granted in")
    # the purposes in another order are the same consent
    _rerun(("consent", "grant", page, "--purpose", "data_mining", "--purpose", "ai_training",
            "--to", "lab", "--condition", "attribution"), home, _id(first),
           "granted: this consent is in force, granted in")
    # a consent that differs is logged beside it
    wider = run_json("consent", "grant", page, "--purpose", "ai_training", "--anyone",
                     "--json", home=home)
    assert wider["status"] == "logged"
    # revoked, the same consent granted again is a new grant, and one revoke ends it
    given("consent", "revoke", _id(first), home=home)
    renewed = run_json(*args, "--json", home=home)
    assert renewed["status"] == "logged" and _id(renewed) != _id(first)
    given("consent", "revoke", _id(renewed), home=home)
    status = run_json("status", page, "--json", home=home)
    assert status["grants_in_force"] == [_id(wider)]
    denied = run("may", "lab", "data_mining", page, home=home, ok_codes=(1,))
    assert denied.out.startswith("not allowed")


def test_an_offer_run_again_names_the_one_that_stands_unless_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    given_key("lab", home)
    page = _page(tmp_path, home, b"a page offered twice")
    args = ("licence", "offer", page, "--to", "lab", "--purpose", "ai_inference", "--fee",
            "100", "JPY", "--territory", "JP", "--territory", "FR")
    first = run_json(*args, "--json", home=home)
    _rerun(args, home, _id(first), "offered: this offer (open) is logged as",
           "; to log it a second time, add --again")
    given("licence", "accept", _id(first), "--key", "lab", home=home)
    _rerun(("licence", "offer", page, "--to", "lab", "--purpose", "ai_inference", "--fee",
            "100", "JPY", "--territory", "FR", "--territory", "JP"), home, _id(first),
           "offered: this offer (accepted, in force) is logged as",
           "; to log it a second time, add --again")
    # new terms are another offer; --again makes a second licence of the same terms
    dearer = run_json("licence", "offer", page, "--to", "lab", "--purpose", "ai_inference",
                      "--fee", "200", "JPY", "--json", home=home)
    second = run_json(*args, "--again", "--json", home=home)
    assert (dearer["status"], second["status"]) == ("logged", "logged")
    assert len({_id(first), _id(dearer), _id(second)}) == 3
    # ended, the same terms offered again are a new offer
    given("licence", "terminate", _id(first), home=home)
    given("licence", "terminate", _id(second), home=home)
    renewed = run_json(*args, "--json", home=home)
    assert renewed["status"] == "logged"
    assert _id(renewed) not in (_id(first), _id(second))


def test_writes_run_again_through_a_node_are_found_on_the_node(tmp_path: Path) -> None:
    processes = Processes()
    try:
        (node,) = make_network(tmp_path / "net", ("ledger",), processes)
        node.start()
        home = tmp_path / "home"
        on = ("--node", node.url)
        given_key("guild", home)
        given_key("lab", home)
        old = given_key("studio", home)
        new = given_key("studio-2", home)
        page = _page(tmp_path, home, b"a page run twice through a node", *on)
        runs: list[tuple[tuple[str | Path, ...], str]] = [
            (("identity", "attest", "lab", "--name", "Lab", "--key", "guild"),
             "attested: this attestation stands (not revoked), logged as"),
            (("consent", "grant", page, "--purpose", "ai_training", "--to", "lab"),
             "granted: this consent is in force, granted in"),
            (("licence", "offer", page, "--to", "lab", "--purpose", "ai_inference"),
             "offered: this offer (open) is logged as"),
            (("key", "rotate", "studio", "--to", "studio-2"),
             f"rotated: {old} was rotated to {new} in"),
        ]
        for args, words in runs:
            first = run_json(*args, *on, "--json", home=home)
            assert first["status"] == "logged", args
            hint = "; to log it a second time, add --again" if "offer" in args else ""
            _rerun((*args, *on), home, _id(first), words, hint, node=True)
        size = run_json("node", "status", "--home", node.home, "--json", home=home)["size"]
        assert size == 1 + len(runs)  # the registration and one event per command
        kept = run_json("key", "rotate", "studio", "--to", "studio-2", *on, "--json",
                        home=home)
        assert run("verify", kept["receipt"], "--log-key",
                   given("log", "key", home=node.home).strip(),
                   home=home).out.startswith("OK: ")
    finally:
        processes.close()


def test_a_passphrase_change_run_again_is_answered(tmp_path: Path) -> None:
    """``key passphrase`` run again after it changed the passphrase: the key opens with the
    new one, nothing changes, exit 0 (specs/cli.md section 2.4)."""
    home = tmp_path / "home"
    key = given_key("studio", home)
    added = {"PROVENANCE_NEW_PASSPHRASE": "first words"}
    run("key", "passphrase", "studio", home=home, env=added)
    kept = (home / "keys" / "studio.key").read_bytes()
    again = run("key", "passphrase", "studio", home=home, env=added)
    assert again.out.startswith("studio: the key opens with the new passphrase already: "
                                "nothing changed (PBKDF2-HMAC-SHA256"), again.out
    assert (home / "keys" / "studio.key").read_bytes() == kept
    changed = {"PROVENANCE_PASSPHRASE": "first words",
               "PROVENANCE_NEW_PASSPHRASE": "second words"}
    assert run_json("key", "passphrase", "studio", "--json", home=home,
                    env=changed)["change"] == "changed"
    kept = (home / "keys" / "studio.key").read_bytes()
    doc = run_json("key", "passphrase", "studio", "--json", home=home, env=changed)
    assert (doc["change"], doc["public_key"]) == ("none", key)
    assert (home / "keys" / "studio.key").read_bytes() == kept
    # a passphrase that opens it neither way stays the error it was
    wrong = {"PROVENANCE_PASSPHRASE": "first words", "PROVENANCE_NEW_PASSPHRASE": "third"}
    refused = run("key", "passphrase", "studio", home=home, env=wrong, ok_codes=(2,))
    assert "wrong passphrase" in assert_one_error_line(refused)
