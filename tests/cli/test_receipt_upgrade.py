"""``provenance receipt upgrade FILE...`` against real nodes (issue 10; specs/receipts.md
section 10, specs/cli.md section 3.13).

Three ``provenance node serve`` processes on 127.0.0.1 peered with one another
(tests/node/network_helpers.py); a creator anchors through node a with the real CLI and keeps
receipts before any witness has cosigned. ``node sync`` on b, then on c, has each witness
mirror a and deliver its cosignature, as in the other network tests. The upgraded receipts
must then verify offline with a 1-of-1 and a 2-of-2 witness policy. A node that forked (a copy
of a node's home, same origin and log key, that went on with another history: the attack
tests/node/forktool.py forges notes for) must be refused, the file left as it was, exit 1.
"""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.note import Verifier
from provenance_ledger.ledger import Ledger
from provenance_ledger.store import SqliteStore
from tests.cli.conftest import Result, assert_one_error_line, run, run_json
from tests.node.conftest import free_port
from tests.node.network_helpers import Node, Processes, make_network


@dataclass
class Net:
    a: Node
    b: Node
    c: Node
    folder: Path


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """Nodes a, b and c serving, each the peer of the two others; no round run yet."""
    processes = Processes()
    try:
        folder = tmp_path_factory.mktemp("upgrade")
        a, b, c = make_network(folder / "nodes", ("a", "b", "c"), processes)
        for n in (a, b, c):
            n.start()
        yield Net(a, b, c, folder)
    finally:
        processes.close()


def policy(path: Path, log: Node, witnesses: list[Node], quorum: str) -> Path:
    """A tlog-policy trusting ``log``'s key, naming ``witnesses`` by node name."""
    path.write_text("\n".join([f"log {log.log_vkey}",
                               *(f"witness {w.name} {w.witness_vkey}" for w in witnesses),
                               f"group required {quorum}", "quorum required", ""]))
    return path


def anchored(net: Net, home: Path, name: str, node: Node | None = None) -> tuple[Path, Path]:
    """Anchor a new file through ``node`` (default a): (the file, the receipt kept in the
    home)."""
    page = home.parent / name
    page.write_text(f"{name}: content of its own\n")
    out = run_json("anchor", page, "--node", (node or net.a).url, "--json", home=home)
    assert out["status"] == "anchored", out
    return page, Path(out["receipt"])


def upgrade(*args: str | Path, home: Path, ok: tuple[int, ...] = (0,)) -> Result:
    return run("receipt", "upgrade", *args, home=home, ok_codes=ok)


def upgrade_json(*args: str | Path, home: Path, ok: tuple[int, ...] = (0,)) -> Any:
    return json.loads(upgrade(*args, "--json", home=home, ok=ok).out)


def verify(receipt: Path, pol: Path, home: Path, ok: tuple[int, ...] = (0,)) -> Result:
    return run("verify", receipt, "--policy", pol, home=home, ok_codes=ok)


def test_receipt_kept_before_witnesses_cosigned_meets_1_of_1_then_2_of_2_once_upgraded(
        net: Net, tmp_path: Path) -> None:
    home = tmp_path / "home"
    page, kept = anchored(net, home, "page-013.png")
    early = tmp_path / "page-013.receipt.json"  # the indented copy `receipt -o` writes
    run("receipt", page, "--node", net.a.url, "-o", early, home=home)
    one = policy(tmp_path / "one.policy", net.a, [net.b], "all b")
    two = policy(tmp_path / "two.policy", net.a, [net.b, net.c], "all b c")
    original = {p: json.loads(p.read_text()) for p in (kept, early)}
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in (kept, early)}
    assert "valid cosignatures from: none" in verify(early, one, home, ok=(1,)).err

    # No witness has cosigned yet: nothing to upgrade, nothing written.
    before = {p: p.read_bytes() for p in (kept, early)}
    r = upgrade(early, kept, "--node", net.a.url, home=home)
    assert r.out.count("already up to date: ") == 2, r.out
    assert {p: p.read_bytes() for p in (kept, early)} == before

    # b mirrors a and delivers its cosignature: the same checkpoint, now cosigned.
    net.b.sync()
    r = upgrade(early, kept, "--node", net.a.url, home=home)
    assert r.out.count("upgraded: ") == 2 and "0 failed" in r.out, r.out
    assert f"cosignatures: {net.b.witness_name} (before: none)" in r.out
    for p in (early, kept):
        ok = run_json("verify", p, "--policy", one, "--json", home=home)
        assert ok["valid"] and set(ok["cosigners"]) == {"b"}
        assert "valid cosignatures from: b" in verify(p, two, home, ok=(1,)).err
    # c too; with the 2-of-2 policy the upgrade counts only valid cosignatures by b and c.
    net.c.sync()
    out = upgrade_json(early, kept, "--node", net.a.url, "--policy", two, home=home)
    assert out["summary"] == {"upgraded": 2}
    for item in out["files"]:
        assert item["cosigners"] == {"before": ["b"], "after": ["b", "c"]}
        assert item["quorum_met"] == {"before": False, "after": True}
        assert item["cosignatures_verified"] is True
    for p in (early, kept):
        ok = run_json("verify", p, "--policy", two, "--json", home=home)
        assert ok["valid"] and set(ok["cosigners"]) == {"b", "c"}
        new = json.loads(p.read_text())
        # Only the checkpoint and the proof change: the same event, leaf and log key.
        for member in ("leaf", "leaf_index", "event", "log_key", "format"):
            assert new[member] == original[p][member], member
        assert new["checkpoint"] != original[p]["checkpoint"]
        assert stat.S_IMODE(p.stat().st_mode) == modes[p]
    assert early.read_text().startswith("{\n  ")  # written as it was: indented
    assert not kept.read_text().startswith("{\n")  # and compact
    assert modes[kept] == 0o600

    # Nothing better: up to date, and the files stay byte for byte.
    before = {p: p.read_bytes() for p in (kept, early)}
    out = upgrade_json(early, kept, "--node", net.a.url, "--policy", two, home=home)
    assert [f["status"] for f in out["files"]] == ["up-to-date", "up-to-date"]
    assert {p: p.read_bytes() for p in (kept, early)} == before


def test_the_newest_cosigned_checkpoint_is_taken_when_the_latest_is_not_cosigned_yet(
        net: Net, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _, kept = anchored(net, home, "page-020.png")
    size = json.loads(kept.read_text())["leaf_index"] + 1
    net.b.sync()  # cosigns a's checkpoint that holds page-020
    anchored(net, home, "page-021.png")  # a's latest is now past what b cosigned
    one = policy(tmp_path / "one.policy", net.a, [net.b], "all b")
    out = upgrade_json(kept, "--node", net.a.url, "--policy", one, home=home)
    (item,) = out["files"]
    assert item["status"] == "upgraded", item
    assert item["tree_size"]["before"] <= size == item["tree_size"]["after"]
    assert item["cosigners"]["after"] == ["b"]
    verify(kept, one, home)


def test_a_state_receipt_is_upgraded_with_a_proof_for_each_event(
        net: Net, tmp_path: Path) -> None:
    home = tmp_path / "home"
    page, _ = anchored(net, home, "page-030.png")
    run("consent", "grant", page, "--purpose", "ai_training", "--anyone", "--node", net.a.url,
        home=home)
    complete = tmp_path / "page-030.complete.json"
    run("receipt", page, "--state", "--node", net.a.url, "-o", complete, home=home)
    refused = upgrade(complete, "--node", net.a.url, home=home, ok=(2,))
    assert "as of its own checkpoint" in refused.err and "Traceback" not in refused.err
    # A state receipt v1, as an earlier release wrote it, kept by its user.
    state = tmp_path / "page-030.state.json"
    work = json.loads(complete.read_text())["works"][0]["work"]
    served = Ledger(SqliteStore(net.a.home / "ledger.db", readonly=True), None,
                    Verifier.from_vkey(net.a.log_vkey))
    try:
        state.write_text(json.dumps(served.state_receipt(work).to_json(None), indent=2))
    finally:
        served.close()
    one = policy(tmp_path / "one.policy", net.a, [net.b], "all b")
    verify(state, one, home, ok=(1,))
    net.b.sync()
    r = upgrade(state, "--node", net.a.url, home=home)
    assert r.out.startswith(f"upgraded: {state}: "), r.out
    ok = run_json("verify", state, "--policy", one, "--json", home=home)
    assert ok["valid"] and ok["cosigners"].keys() == {"b"}
    assert len(json.loads(state.read_text())["events"]) == 2


def test_a_forked_node_is_refused_and_the_receipt_kept_unchanged(
        net: Net, tmp_path: Path) -> None:
    # A node, and a copy of its home made before it served: the same origin and log key.
    processes = Processes()
    try:
        (f,) = make_network(tmp_path / "fork", ("f",), processes)
        twin = Node("twin", tmp_path / "fork" / "twin", f.origin, free_port(), processes,
                    f.log_vkey, f.witness_vkey)
        shutil.copytree(f.home, twin.home)
        home = tmp_path / "home"
        f.start()
        kept = [anchored(net, home, f"page-04{i}.png", f)[1] for i in range(3)]  # f: 0, 1, 2
        f.stop()
        # The twin signs another history with the same key: page-043 is its entry 0.
        twin.start(port=twin.port)
        anchored(net, home, "page-043.png", twin)
        before = [p.read_bytes() for p in kept]
        r = upgrade(kept[0], "--node", twin.url, home=home, ok=(1,))
        assert "refused: the log forked" in r.err and "split view" in r.err, r.err
        assert "kept unchanged" in r.err and r.out == ""
        # The twin grows past the receipts' sizes (1 and 3): its consistency proofs cannot
        # lead from their checkpoints to its own; from size 3 (not a power of two) its proof
        # even shows which other tree it holds at that size.
        for i in range(4, 8):
            anchored(net, home, f"page-04{i}.png", twin)
        r = upgrade(kept[0], kept[2], "--node", twin.url, home=home, ok=(1,))
        first, third = r.err.splitlines()
        assert first.startswith(f"failed: {kept[0]}: refused: the node cannot prove that its "
                                "checkpoint of size 5 extends the receipt's of size 1"), first
        assert "evidence of a fork" in first
        assert third.startswith(f"failed: {kept[2]}: refused: the log forked: its checkpoint "
                                "of size 5, signed by its log key, holds another tree at size 3"
                                ), third
        assert "2 receipts: 0 upgraded, 0 already up to date, 2 failed" in r.out
        assert [p.read_bytes() for p in kept] == before
        for p in kept:
            assert run("verify", p, "--log-key", f.log_vkey, home=home).out.startswith("OK: ")
    finally:
        processes.close()


def test_bad_input_is_exit_2_and_a_receipt_that_does_not_verify_exit_1(
        net: Net, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _, kept = anchored(net, home, "page-050.png")
    message = assert_one_error_line(upgrade(kept, home=home, ok=(2,)))
    assert "--node" in message
    assert "http://" in assert_one_error_line(upgrade(kept, "--node", "127.0.0.1:1",
                                                      home=home, ok=(2,)))
    # A file that is not a receipt, one that is missing, a receipt of another log.
    text = tmp_path / "notes.txt"
    text.write_text("not a receipt\n")
    _, of_b = anchored(net, home, "page-051.png", net.b)
    r = upgrade(text, tmp_path / "missing.json", of_b, "--node", net.a.url, home=home,
                ok=(2,))
    lines = r.err.splitlines()
    assert len(lines) == 3 and all(x.startswith("failed: ") for x in lines), r.err
    assert "not a receipt" in lines[0] and "missing.json" in lines[1]
    assert "give the --node of the receipt's log" in lines[2]
    assert "Traceback" not in r.err
    # A receipt whose proof was altered does not verify: exit 1, left as it is.
    doc = json.loads(kept.read_text())
    doc["leaf_index"] += 1
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(doc))
    r = upgrade(altered, "--node", net.a.url, home=home, ok=(1,))
    assert "does not verify with its own log key" in r.err
    assert json.loads(altered.read_text()) == doc
    # Exit 2 wins over exit 1 when both happen in one run.
    upgrade(altered, text, "--node", net.a.url, home=home, ok=(2,))
