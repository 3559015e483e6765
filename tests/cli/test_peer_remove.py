"""``provenance node peer remove ORIGIN``: a node stops trusting a peer (specs/node.md
section 1), through the real CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner
from tests.cli.conftest import assert_one_error_line, run, run_json


def vkey(origin: str) -> str:
    key = PrivateKey.from_seed(hashlib.sha256(origin.encode()).digest())
    return NoteSigner(origin, key).verifier.to_vkey()


def node_with_peers(tmp_path: Path, *origins: str) -> Path:
    node = tmp_path / "node"
    run("node", "init", "--home", node, "--origin", "a.test/log", home=tmp_path / "user")
    for n, origin in enumerate(origins):
        run("node", "peer", "add", "--home", node, "--origin", origin, "--url",
            f"http://127.0.0.1:{9000 + n}", "--vkey", vkey(origin), home=tmp_path / "user")
    return node


def peers(node: Path, tmp_path: Path) -> list[str]:
    return [p["origin"] for p in run_json("node", "peer", "list", "--home", node, "--json",
                                          home=tmp_path / "user")]


def test_a_removed_peer_is_no_longer_listed(tmp_path: Path) -> None:
    node = node_with_peers(tmp_path, "b.test/log", "c.test/log", "d.test/log")
    out = run("node", "peer", "remove", "c.test/log", "--home", node, home=tmp_path / "user")
    assert out.out == "peer c.test/log removed\n"
    assert peers(node, tmp_path) == ["b.test/log", "d.test/log"]
    text = run("node", "peer", "list", "--home", node, home=tmp_path / "user").out
    assert "c.test/log" not in text and "b.test/log" in text
    # --home before the command works as for every command; the peer can be added again.
    run("--home", node, "node", "peer", "remove", "b.test/log", home=tmp_path / "user")
    assert peers(node, tmp_path) == ["d.test/log"]
    run("node", "peer", "add", "--home", node, "--origin", "c.test/log", "--url",
        "http://127.0.0.1:9001", "--vkey", vkey("c.test/log"), home=tmp_path / "user")
    assert peers(node, tmp_path) == ["d.test/log", "c.test/log"]
    assert "c.test/log" in (node / "node.toml").read_text()


def test_removing_an_unknown_peer_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    node = node_with_peers(tmp_path, "b.test/log")
    before = (node / "node.toml").read_bytes()
    refused = run("node", "peer", "remove", "z.test/log", "--home", node,
                  home=tmp_path / "user", ok_codes=(2,))
    line = assert_one_error_line(refused)
    assert line == (f"error: no peer 'z.test/log' in {node / 'node.toml'} "
                    "(peers: b.test/log)")
    assert (node / "node.toml").read_bytes() == before
    run("node", "peer", "remove", "b.test/log", "--home", node, home=tmp_path / "user")
    none = run("node", "peer", "remove", "b.test/log", "--home", node,
               home=tmp_path / "user", ok_codes=(2,))
    assert assert_one_error_line(none).endswith("(it has no peers)")
    missing = run("node", "peer", "remove", "b.test/log", "--home", tmp_path / "nowhere",
                  home=tmp_path / "user", ok_codes=(2,))
    assert "is not a node home" in assert_one_error_line(missing)
