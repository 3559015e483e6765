"""Proofs of current state through a real node (issue: proof of current state, point 3).

Node a is witnessed by node b (two ``provenance node serve`` processes on 127.0.0.1). A
creator registers a page and grants an AI developer a consent through a; the developer asks
``may --proof --node`` and keeps the decision receipt, which ``verify`` re-derives offline
against a policy requiring b's cosignature. After the revocation the new receipt says "not
allowed", citing the revocation; a work never registered gets a proof of absence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .network_helpers import Node, Processes, make_network


@dataclass
class Pair:
    a: Node
    b: Node
    policy: Path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    processes = Processes()
    try:
        a, b = make_network(tmp_path_factory.mktemp("current"), ("a", "b"), processes)
        a.cli("node", "witness", "add", "--home", a.home, "--name", b.name, "--url",
              b.url, "--vkey", b.witness_vkey)
        for n in (b, a):
            n.start()
        policy = a.scratch / "b.policy"
        policy.write_text(f"log {a.log_vkey}\nwitness {b.name} {b.witness_vkey}\n"
                          f"group required 1 {b.name}\nquorum required\n")
        yield Pair(a, b, policy)
    finally:
        processes.close()


def test_a_decision_receipt_from_a_node_is_cosigned_and_follows_the_revocation(
        pair: Pair) -> None:
    a = pair.a
    page = a.scratch / "page.png"
    page.write_bytes(b"a page anchored through node a")
    a.cli("anchor", page, "--node", a.url)
    dev = a.cli("key", "new", "developer", "--json").json()["public_key"]
    grant = a.cli("consent", "grant", page, "--purpose", "ai_training", "--to", dev,
                  "--node", a.url, "--json").json()["id"]
    first = a.scratch / "first.json"
    a.cli("may", dev, "ai_training", page, "--node", a.url, "--proof", first)
    said = a.cli("verify", first, "--policy", pair.policy).out
    assert "may use work" in said and grant in said
    assert f"by witness {pair.b.name})" in said  # cosigned: the policy's quorum is met

    revoked = a.cli("consent", "revoke", grant, "--node", a.url, "--json").json()["id"]
    second = a.scratch / "second.json"
    r = a.cli("may", dev, "ai_training", page, "--node", a.url, "--proof", second, ok=(1,))
    assert r.out.startswith("not allowed")
    said = a.cli("verify", second, "--policy", pair.policy, "--max-age", "1h").out
    assert "may not use work" in said and revoked in said
    doc = json.loads(second.read_text())
    assert doc["format"] == "provenance-ledger/decision-receipt/v1"
    assert doc["decision"]["allowed"] is False


def test_a_work_never_registered_gets_a_proof_of_absence_from_the_node(pair: Pair) -> None:
    a = pair.a
    page = a.scratch / "never.png"
    page.write_bytes(b"a page nobody anchored")
    proof = a.scratch / "absent.json"
    out = a.cli("may", "ed25519:" + "ab" * 32, "ai_training", page, "--node", a.url,
                "--proof", proof, ok=(1,)).out
    assert "not registered" in out
    said = a.cli("verify", proof, "--policy", pair.policy).out
    assert "was not registered on log" in said
    work = json.loads(proof.read_text())["state_receipt"]["works"][0]["work"]
    served = httpx.get(f"{a.url}/works/{work}/state-receipt", timeout=30)
    assert served.status_code == 200
    assert served.json()["works"] == [{"work": work, "events": [], "state": None}]
