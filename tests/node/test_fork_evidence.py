"""A mirror that meets a smaller checkpoint with another root than its own tree at that size
keeps evidence of it (specs/node.md sections 4 and 5).

Real nodes (``provenance node serve`` on 127.0.0.1): ``b`` mirrors ``a``. ``a``'s home is
copied at size n1; ``a`` grows to n2, which ``b`` mirrors; the copy is put back and, with
``b`` down (its rollback check learns nothing), ``a`` signs other entries: a checkpoint of a
size between n1 and n2 whose root is not b's tree at that size. ``node sync`` on ``b`` must
record it as ``inconsistent`` evidence (the fork's note, b's mirrored checkpoint of size n2 and the
consistency path from that size to n2 in b's tree), mark ``a`` faulty, and show it in ``node
evidence``, ``GET /evidence`` and ``node status``; the evidence verifies offline with a's log
key and ``provenance verify --evidence`` refuses a receipt of ``a`` with it. Once the real
``a`` is back, the fork's note is still held.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.evidence import Evidence, verify_evidence
from provenance_ledger.core.note import Checkpoint, SignedNote
from provenance_ledger.errors import VerificationError

from .network_helpers import Node, Processes, chains, checkpoint_size, make_network, submit

CREATOR = PrivateKey.from_seed(bytes([62]) * 32)


@pytest.fixture
def network(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    processes = Processes()
    try:
        a, b = make_network(tmp_path / "net", ("a", "b"), processes)
        yield a, b
    finally:
        processes.close()


def grow(node: Node, prefix: str, count: int) -> dict[str, dict[str, object]]:
    return submit(node.url, chains([CREATOR], prefix, count, int(time.time()), clients=1))


def note_of(text: str) -> Checkpoint:
    return Checkpoint.from_text(SignedNote.from_text(text).text)


def test_a_mirror_keeps_evidence_of_a_smaller_forked_checkpoint(
        network: tuple[Node, Node], tmp_path: Path) -> None:
    a, b = network
    a.start()
    b.start()
    grow(a, "first", 5)
    n1 = checkpoint_size(a)
    assert b.sync()[1][a.origin]["status"] == "mirrored"
    a.stop()
    backup = tmp_path / "a-backup"
    shutil.copytree(a.home, backup)
    a.start()
    grow(a, "second", 3)
    n2 = checkpoint_size(a)
    assert b.sync()[1][a.origin]["new_size"] == n2
    a.stop()
    real = tmp_path / "a-real"
    shutil.move(a.home, real)
    shutil.copytree(backup, a.home)

    b.stop()  # a's rollback check cannot ask b: a starts, and signs another history
    a.start()
    receipts = grow(a, "forked", 1)
    forked = checkpoint_size(a)
    assert n1 < forked < n2
    b.start()

    code, results = b.sync(ok=(1,))
    result = results[a.origin]
    assert (result["status"], result["old_size"], result["new_size"]) == ("faulty", n2, n2)
    assert result["detail"] == (f"checkpoint not consistent with the mirror: two roots for "
                                f"size {forked}")
    text = b.cli("node", "sync", "--home", b.home, ok=(1,)).out
    assert f"{a.origin}: faulty {n2} -> {n2}" in text  # mirroring stopped

    shown = b.cli("node", "evidence", "--home", b.home, "--json").json()
    served = httpx.get(f"{b.url}/evidence", params={"origin": a.origin}, timeout=30)
    assert served.status_code == 200
    assert shown["faulty"] == [a.origin] and served.json()["faulty"] == [a.origin]
    (item,) = shown["evidence"]
    assert served.json()["evidence"] == [item]
    evidence = Evidence.from_json(item)
    assert (evidence.origin, evidence.kind) == (a.origin, "inconsistent")
    fork, mirrored = (note_of(n) for n in evidence.checkpoints)
    assert (fork.size, mirrored.size) == (forked, n2)
    with httpx.Client(base_url=a.url, timeout=30) as http:  # the forked a serves that note
        assert note_of(http.get("/checkpoint").text) == fork
    verify_evidence(evidence, a.log_vkey)
    with pytest.raises(VerificationError):
        verify_evidence(evidence, b.log_vkey)
    status = b.cli("node", "status", "--home", b.home, "--json").json()
    [peer] = [p for p in status["peers"] if p["origin"] == a.origin]
    assert peer["faulty"] and [e["kind"] for e in peer["evidence"]] == ["inconsistent"]
    human = b.cli("node", "evidence", "--home", b.home).out
    assert "no evidence" not in human and f"{a.origin}: inconsistent recorded " in human

    # A receipt of the fork is refused with the evidence.
    receipt_json = next(iter(receipts.values()))
    receipt = tmp_path / "fork.receipt.json"
    receipt.write_text(json.dumps(receipt_json))
    evidence_file = tmp_path / "evidence.json"
    evidence_file.write_text(b.cli("node", "evidence", "--home", b.home, "--json").out)
    a.cli("verify", receipt, "--log-key", a.log_vkey)
    refused = a.cli("verify", receipt, "--log-key", a.log_vkey, "--evidence", evidence_file,
                    ok=(1,))
    assert f"log {a.origin} is proven faulty" in refused.err

    # The real a comes back: the fork's note is still held, and a is not mirrored again.
    a.stop()
    shutil.rmtree(a.home)
    shutil.move(real, a.home)
    a.start()
    code, results = b.sync(ok=(1,))
    assert results[a.origin]["status"] == "faulty"
    again = b.cli("node", "evidence", "--home", b.home, "--json").json()
    assert again["evidence"] == [item]
