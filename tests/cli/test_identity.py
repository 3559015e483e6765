"""Consent laundering, refused (specs/rules.md section 8, specs/cli.md ``identity``): a
squatter registers a copy of a member's page first and grants consent to anyone. Without
``--require-attested`` the answer is "allowed"; with it, and the association trusted
(``--attester`` or a policy's ``attester`` line), it is not, because no one the verifier trusts
vouches for the squatter's key. The member's own page, attested by the association, stays
allowed. The real CLI against a real ``provenance node serve`` on 127.0.0.1, and locally.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provenance_ledger.ledger import Home
from tests.cli.conftest import new_key, run
from tests.node.network_helpers import Node, Processes, make_network


@dataclass
class World:
    home: Path
    node: Node
    guild: str
    member: str
    squatter: str
    user: str
    copy: Path  # the member's page, registered first by the squatter
    own: Path  # a page the member registered
    policy: Path


def _setup(home: Path, where: tuple[str, ...], root: Path) -> World | tuple[str, ...]:
    guild, member, squatter, user = (new_key(n, home) for n in
                                     ("guild", "member", "squatter", "user"))
    copy, own = root / "page-012.png", root / "page-013.png"
    copy.write_bytes(b"the member's page, registered first by someone else")
    own.write_bytes(b"a page the member registered")
    run("anchor", copy, "--key", "squatter", *where, home=home)
    run("anchor", own, "--key", "member", *where, home=home)
    for page, key in ((copy, "squatter"), (own, "member")):
        run("consent", "grant", page, "--purpose", "ai_training", "--anyone", "--key", key,
            *where, home=home)
    run("identity", "attest", "member", "--name", "Mika Sato", "--member", "1042", "--url",
        "https://guild.example/members/1042", "--key", "guild", *where, home=home)
    return guild, member, squatter, user


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("identity")
    processes = Processes()
    try:
        (node,) = make_network(root / "net", ("guild",), processes)
        node.start()
        home = root / "home"
        guild, member, squatter, user = _setup(home, ("--node", node.url), root)
        (root / "set.txt").write_text("page-012.png\npage-013.png\n")
        policy = root / "trust.txt"
        policy.write_text(f"log {node.log_vkey}\nquorum none\nattester {guild}\n")
        yield World(home, node, guild, member, squatter, user, root / "page-012.png",
                    root / "page-013.png", policy)
    finally:
        processes.close()


def test_a_squatters_grant_counts_only_without_require_attested(world: World) -> None:
    w, on = world, ("--node", world.node.url)
    plain = run("may", w.user, "ai_training", w.copy, *on, "--json", home=w.home)
    doc = json.loads(plain.out)
    assert doc["allowed"] is True
    assert doc["granted_by"]["key"] == w.squatter
    assert doc["granted_by"]["attested"] is False
    for trust in (("--attester", w.guild), ("--policy", w.policy)):
        refused = run("may", w.user, "ai_training", w.copy, "--require-attested", *trust, *on,
                      home=w.home, ok_codes=(1,))
        assert refused.out.startswith("not allowed: consent granted to anyone")
        assert f"the key that granted it ({w.squatter}) is not attested" in refused.out


def test_the_members_own_grant_is_allowed_and_names_the_member(world: World) -> None:
    w = world
    out = run("may", w.user, "ai_training", w.own, "--require-attested", "--policy", w.policy,
              "--node", w.node.url, home=w.home).out
    assert out.startswith("allowed: consent granted to anyone")
    assert (f"granted by {w.member}: attested as 'Mika Sato', member 1042 by {w.guild} "
            "(trusted)") in out


def test_status_and_identity_show_name_who_is_behind_the_key(world: World) -> None:
    w = world
    report = json.loads(run("dataset", "check", w.copy.parent / "set.txt", "--purpose",
                            "ai_training", "--as", w.user, "--attester", w.guild, "--json",
                            "--node", w.node.url, home=w.home).out)
    by = {i["item"]: i["granted_by"] for i in report["items"]}
    assert by["page-012.png"]["key"] == w.squatter and not by["page-012.png"]["attested"]
    assert by["page-013.png"]["key"] == w.member and by["page-013.png"]["trusted"]
    status = run("status", w.own, "--attester", "guild", "--node", w.node.url, home=w.home).out
    assert f"identity:    attested as 'Mika Sato', member 1042 by {w.guild} (trusted)" in status
    shown = json.loads(run("identity", "show", w.member, "--json", "--node", w.node.url,
                           home=w.home).out)
    assert [a["name"] for a in shown["attestations"]] == ["Mika Sato"]
    # an attester the asker does not trust is shown, and the answer is no
    run("identity", "show", w.member, "--attester", w.squatter, "--node", w.node.url,
        home=w.home, ok_codes=(1,))


def test_a_rotated_key_acts_through_the_node(world: World) -> None:
    """One key.rotate moves control of the squatter's copy to a new key; the new key's grant
    is admitted by the node, and the CLI verifies it through --node with the key record."""
    w, on = world, ("--node", world.node.url)
    successor = new_key("squatter-2", w.home)
    run("key", "rotate", "squatter", "--to", "squatter-2", *on, home=w.home)
    run("consent", "grant", w.copy, "--purpose", "ai_inference", "--to", w.guild, "--key",
        "squatter-2", *on, home=w.home)
    proof = w.home.parent / "decision.json"
    out = run("may", w.guild, "ai_inference", w.copy, "--proof", proof, *on, home=w.home).out
    assert out.startswith("allowed: consent granted to this key for ai_inference")
    assert f"granted by {successor}: not attested by anyone" in out
    # the receipt lists both keys' records: it proves neither was compromised unseen
    checked = run("verify", proof, "--log-key", w.node.log_vkey, home=w.home).out
    assert "OK: " in checked and "may use work" in checked
    assert "the controller's key: its record is in the receipt" in checked


def test_dataset_check_require_attested_counts_the_squatters_grant_as_not_allowed(
        world: World) -> None:
    """specs/rules.md section 8 in ``dataset check``: the table, --json, --csv and the summary
    count the squatter's copy as not allowed; the compliance receipt v2 records the trust
    policy and the key records, and ``verify`` re-derives the verdict offline."""
    w, on = world, ("--node", world.node.url)
    manifest = w.copy.parent / "set.txt"
    ask = ("dataset", "check", manifest, "--purpose", "ai_training", "--as", w.user,
           "--require-attested", "--policy", w.policy, *on)
    receipt = w.home.parent / "set.compliance.json"
    table = run(*ask, "--receipt", receipt, home=w.home, ok_codes=(1,)).out
    assert f"  {'not allowed':<13} {1:>7}" in table and f"  {'allowed':<13} {1:>7}" in table
    assert f"the key that granted it ({w.squatter}) is not attested by anyone" in table
    doc = json.loads(run(*ask, "--json", home=w.home, ok_codes=(1,)).out)
    assert doc["summary"]["allowed"] == 1 and doc["summary"]["not_allowed"] == 1
    outcome = {i["item"]: i["outcome"] for i in doc["items"]}
    assert outcome == {"page-012.png": "not allowed", "page-013.png": "allowed"}
    rows = run(*ask, "--csv", home=w.home, ok_codes=(1,)).out.splitlines()
    assert rows[1].startswith("page-012.png,not allowed,")
    kept = json.loads(receipt.read_text())
    assert kept["format"] == "provenance-ledger/compliance-receipt/v2"
    assert kept["trust"] == {"require_attested": True, "attesters": [w.guild]}
    checked = run("verify", receipt, "--log-key", w.node.log_vkey, home=w.home).out
    assert "1 allowed, 1 not allowed" in checked
    assert f"not allowed: page-012.png ({kept['items'][0]['work']}): consent granted" in checked
    # the requirement taken out, the verdict kept: the rules say otherwise
    kept["trust"]["require_attested"] = False
    receipt.write_text(json.dumps(kept))
    run("verify", receipt, "--log-key", w.node.log_vkey, home=w.home, ok_codes=(1,))
    # without --require-attested both grants are allowed (exit 0), and the bad input is one line
    run("dataset", "check", manifest, "--purpose", "ai_training", "--as", w.user, *on,
        home=w.home)
    err = run("dataset", "check", manifest, "--purpose", "ai_training", "--as", w.user,
              "--require-attested", *on, home=w.home, ok_codes=(2,)).err
    assert "--require-attested needs the attesters you trust" in err


def test_the_same_answers_from_the_nodes_own_data_directory(world: World) -> None:
    w, local = world, ("--home", world.node.home)
    run("may", w.user, "ai_training", w.copy, *local, home=w.home)
    out = run("may", w.user, "ai_training", w.copy, "--require-attested", "--attester", w.guild,
              *local, home=w.home, ok_codes=(1,)).out
    assert f"({w.squatter}) is not attested by anyone (--require-attested)" in out


@pytest.mark.parametrize(("args", "message"), [
    (("may", "{user}", "ai_training", "{copy}", "--require-attested"),
     "--require-attested needs the attesters you trust"),
    (("may", "{user}", "ai_training", "{copy}", "--attester", "nobody"),
     "--attester: 'nobody' is neither a key"),
    (("identity", "attest", "{user}", "--name", "x", "--url", "ftp://x", "--key", "guild"),
     "--url 'ftp://x' is not in the expected form"),
    (("identity", "attest", "guild", "--name", "x", "--key", "guild"),
     "a key cannot attest itself"),
])
def test_bad_input_is_one_line_and_exit_2(world: World, args: tuple[str, ...],
                                          message: str) -> None:
    w = world
    argv = [a.format(user=w.user, copy=w.copy) for a in args]
    err = run(*argv, "--node", w.node.url, home=w.home, ok_codes=(2,)).err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_a_recovery_request_signed_in_turn_is_submitted_to_the_node(world: World) -> None:
    """specs/cli.md section 3.7.1 through --node: the request is written against the node's
    key record, cosigned offline, and submitted by a home that holds none of the keys."""
    w, on = world, ("--node", world.node.url)
    h = Home(w.home)
    r1, r2 = (h.keys.create(n).public.text for n in ("rescue-1", "rescue-2"))
    successor = new_key("user-2", w.home)
    run("key", "recovery", "user", "--keys", f"{r1},{r2}", "--threshold", "2", *on, home=w.home)
    request = w.home.parent / "rotate-user.json"
    run("key", "rotate", w.user, "--to", "user-2", "--recovery-request", request, "--signer",
        "rescue-1", "--cosign", "rescue-2", *on, home=w.home)
    run("key", "cosign", request, "--key", "rescue-1", home=w.home)
    done = json.loads(run("key", "submit", request, "--json", *on,
                          home=w.home.parent / "anyone").out)
    assert done["type"] == "key.rotate" and successor != w.user
    again = run("key", "submit", request, *on, home=w.home).out  # the node holds it
    assert again.startswith(f"already rotated: this request is logged as {done['id']}\n")
