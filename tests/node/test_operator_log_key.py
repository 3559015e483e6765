"""A node home whose ``log.key`` is gone or is another home's: the node refuses to start
(one line, exit 2) instead of signing its log's next checkpoints with a key that nobody
trusts, and no command makes a new key in its place (specs/node.md section 1).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .network_helpers import Node, Processes, make_network


@pytest.fixture
def node(tmp_path: Path, processes: Processes) -> Node:
    """A node that served once, so its log holds a signed checkpoint; stopped."""
    (a,) = make_network(tmp_path / "net", ("a",), processes)
    a.start()
    assert a.checkpoint().status_code == 200
    a.stop()
    return a


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if not line.startswith("{")]  # JSON log records
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    return lines[0]


def test_a_missing_log_key_is_refused_and_not_made_again(node: Node) -> None:
    key = node.home / "log.key"
    key.unlink()

    serve = node.cli("node", "serve", "--home", node.home, ok=(2,))
    line = _one_line(serve.err)
    assert line.startswith(f"error: the node's log key {key} is missing: restore it"), line
    assert "listening" not in serve.err  # refused before it listens
    status = node.cli("node", "status", "--home", node.home, ok=(2,))
    assert _one_line(status.err) == line
    rotate = node.cli("node", "shard", "rotate", "--home", node.home, "--origin",
                      node.origin + "/2027", ok=(2,))
    assert _one_line(rotate.err) == line
    assert not key.exists()  # no command made another key in its place


def test_another_homes_log_key_is_refused(node: Node, tmp_path: Path,
                                          processes: Processes) -> None:
    (other,) = make_network(tmp_path / "other", ("a",), processes)  # the same origin
    own = (node.home / "log.key").read_bytes()
    shutil.copy(other.home / "log.key", node.home / "log.key")

    serve = node.cli("node", "serve", "--home", node.home, ok=(2,))
    line = _one_line(serve.err)
    assert line == (f"error: this home's log key {node.home / 'log.key'} did not sign its "
                    "log's checkpoints (latest: size 0): restore the home's own log.key "
                    "from your backup"), line
    node.cli("node", "status", "--home", node.home, ok=(2,))

    (node.home / "log.key").write_bytes(own)  # restored as the line says: it serves again
    node.start()
    assert node.checkpoint().status_code == 200


def test_a_missing_witness_key_is_refused_before_it_listens(node: Node) -> None:
    key = node.home / "witness.key"
    key.unlink()
    serve = node.cli("node", "serve", "--home", node.home, ok=(2,))
    assert serve.err == (f"error: the node's witness key {key} is missing: restore it from "
                         "your backup of the home (its peers know this node's cosignatures "
                         "by it)\n")  # no "listening" record before it
    assert not key.exists()


def test_a_second_node_serve_of_one_home_is_refused_before_it_listens(node: Node) -> None:
    """specs/node.md section 1: while a node serves its home, another ``node serve`` of that
    home (say after ``node config --listen`` moved it) is one line, exit 2, with no
    ``listening`` record; it used to serve beside the first (two sequencers of one log)."""
    node.start()
    try:
        node.cli("node", "config", "--home", node.home, "--listen", "127.0.0.1:1")
        second = node.cli("node", "serve", "--home", node.home, ok=(2,))
        assert second.err == (
            f"error: the node at {node.home} is served already, or being rotated to a new log "
            f"(another node serve or node shard rotate holds {node.home / 'serve.lock'}): "
            "stop it first; one node serve serves a home\n")
        assert node.checkpoint().status_code == 200  # the first goes on
    finally:
        node.stop()
