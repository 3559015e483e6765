"""``provenance node init`` / ``node serve`` as a user runs them, and the CLI's trust in a
node it talks to (specs/node.md sections 2 and 7): the node's log key is pinned on first
contact, and a node that later shows another key is refused, with nothing kept. Real
``provenance node serve`` processes on 127.0.0.1 and the real CLI."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import tomllib
from pathlib import Path

import httpx

from .conftest import HOST
from .network_helpers import (
    PROVENANCE,
    STOP_TIMEOUT,
    Node,
    Processes,
    cli_env,
    make_network,
    provenance,
)


def one_node(folder: Path, processes: Processes) -> Node:
    (node,) = make_network(folder, ("ledger",), processes)
    return node


def stopped_by_sigterm(node: Node) -> None:
    """SIGTERM: a graceful shutdown ("node stopped" logged), then the process ends by the
    signal, as uvicorn does (specs/cli.md section 1.1)."""
    assert node.stop(signal.SIGTERM) == -signal.SIGTERM
    messages = [json.loads(line)["msg"] for line in node.log.read_text().splitlines()]
    assert "node stopped" in messages
    assert messages[-1].startswith("Finished server process"), messages[-3:]


def test_node_init_defaults_to_loopback_and_a_taken_port_is_one_error(tmp_path: Path) -> None:
    scratch = tmp_path / "operator"
    scratch.mkdir()
    home = tmp_path / "node"
    provenance("node", "init", "--home", home, "--origin", "ledger.example.org/a",
               scratch=scratch)
    config = tomllib.loads((home / "node.toml").read_text())
    assert config["listen"] == f"{HOST}:8380"
    assert (home / "log.key").stat().st_mode & 0o777 == 0o600
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = provenance("node", "serve", "--home", home, "--listen", f"{HOST}:{port}",
                             scratch=scratch, ok=(2,))
    assert refused.err == f"error: cannot listen on {HOST}:{port}: Address already in use\n"
    assert refused.out == ""


def test_serve_on_a_port_the_system_chooses_and_ctrl_c(tmp_path: Path) -> None:
    """``--listen 127.0.0.1:0``: the ``listening`` log line gives the URL with the port chosen, the
    node answers there, and SIGINT (Ctrl-C) ends it gracefully with exit 130."""
    scratch = tmp_path / "operator"
    scratch.mkdir()
    home = tmp_path / "node"
    provenance("node", "init", "--home", home, "--origin", "ledger.example.org/a",
               scratch=scratch)
    # As from a terminal: SIGINT not ignored (a background job of a non-interactive shell,
    # such as a CI script run with '&', starts with it ignored, and children inherit that).
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [str(PROVENANCE), "node", "serve", "--home", str(home), "--listen", f"{HOST}:0"],
            env=cli_env(scratch), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
    finally:
        signal.signal(signal.SIGINT, inherited)
    try:
        assert proc.stdout is not None
        # the records of start-up, then `listening` once the node answers (specs/node.md 1)
        for _ in range(20):
            first = json.loads(proc.stdout.readline())
            if first["msg"] == "listening":
                break
        assert first["msg"] == "listening"
        assert first["url"].startswith(f"http://{HOST}:") and not first["url"].endswith(":0")
        keys = httpx.get(f"{first['url']}/keys", timeout=STOP_TIMEOUT)
        assert keys.status_code == 200 and keys.json()["origin"] == "ledger.example.org/a"
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=STOP_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    # every line is a log line (stderr): a graceful stop is no error
    assert "node stopped" in [json.loads(line)["msg"] for line in rest.splitlines()]


def test_a_node_showing_another_log_key_than_the_pinned_one_is_refused(
        tmp_path: Path, processes: Processes) -> None:
    user = tmp_path / "creator"
    user.mkdir()
    first, second = tmp_path / "page-1.png", tmp_path / "page-2.png"
    first.write_bytes(b"page one")
    second.write_bytes(b"page two")
    receipts = user / "user" / ".provenance" / "receipts"

    honest = one_node(tmp_path / "honest", processes)
    honest.start()
    provenance("anchor", first, "--node", honest.url, scratch=user)
    (pin,) = (user / "user" / ".provenance" / "nodes").glob("*.vkey")
    assert pin.read_text().strip() == honest.log_vkey
    kept = sorted(receipts.iterdir())
    assert len(kept) == 1

    # Another node (another log key) answers at the same URL.
    stopped_by_sigterm(honest)
    other = one_node(tmp_path / "other", processes)
    other.start(port=honest.port)
    refused = provenance("anchor", second, "--node", honest.url, scratch=user, ok=(2,))
    assert refused.err.startswith("error: ") and len(refused.err.splitlines()) == 1
    assert "pinned" in refused.err and other.log_vkey in refused.err
    assert "Traceback" not in refused.err
    assert sorted(receipts.iterdir()) == kept  # nothing submitted, nothing kept
    assert provenance("status", second, "--node", other.url, scratch=user, ok=(2,)).code == 2
