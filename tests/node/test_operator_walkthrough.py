"""What an association's operator meets running real nodes (``provenance node serve`` and
``node sync`` processes on 127.0.0.1): a peer entry with a wrong URL or a wrong key is an
error that says which and how to fix it (never ``empty``), a node that cannot start says so
in one line (exit 2), its log holds no HTTP client lines, and a peer that rotated stops
asking for the new origin once it is a peer (specs/node.md sections 2, 4 and 10.5).
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
from pathlib import Path

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.node import init_node, load_config, node_keys
from provenance_ledger.node.config import open_node_ledger

from ..conftest import KeyFactory, Signer
from .conftest import HOST, STARTUP_TIMEOUT, free_port, grow, running
from .network_helpers import PROVENANCE, Node, Processes, cli_env, make_network, provenance


@pytest.fixture
def pair(tmp_path: Path, processes: Processes) -> tuple[Node, Node]:
    """Nodes a (serving) and b (not serving), each a peer of the other."""
    a, b = make_network(tmp_path / "net", ("a", "b"), processes)
    a.start()
    return a, b


def _readd(node: Node, peer: Node, *options: str) -> None:
    node.cli("node", "peer", "remove", peer.origin, "--home", node.home)
    node.cli("node", "peer", "add", "--home", node.home, "--origin", peer.origin, *options)


def test_a_wrong_url_is_an_error_that_names_it_not_an_empty_log(pair: tuple[Node, Node]) -> None:
    a, b = pair
    wrong = a.url + "/ledger"  # a's node, but not its base URL: every route there is 404
    _readd(b, a, "--url", wrong, "--vkey", a.log_vkey)
    code, results = b.sync(ok=(1,))
    result = results[a.origin]
    assert (result["status"], result["new_size"]) == ("error", 0), result
    assert f"GET {wrong}/checkpoint answered 404" in result["detail"], result
    assert f"{wrong} is not the base URL of a log" in result["detail"], result
    assert f"node peer remove {a.origin}, then node peer add with the right --url" \
        in result["detail"], result

    _readd(b, a, "--url", a.url, "--vkey", a.log_vkey)  # fixed as the error says
    code, results = b.sync()
    assert results[a.origin]["status"] == "up-to-date", results  # its empty tree, cosigned


def test_another_nodes_url_or_key_is_named(pair: tuple[Node, Node], tmp_path: Path,
                                           processes: Processes) -> None:
    a, b = pair
    (c,) = make_network(tmp_path / "other", ("c",), processes)
    c.start()
    _readd(b, a, "--url", c.url, "--vkey", a.log_vkey)  # c's URL for a
    _, results = b.sync(ok=(1,))
    detail = results[a.origin]["detail"]
    assert f"it serves the log {c.origin!r}, not {a.origin}: another node's URL" in detail
    assert "--url" in detail

    # A key of the same origin that a's log key is not (another home, same origin).
    twin = b.cli("node", "init", "--home", tmp_path / "twin", "--origin", a.origin,
                 "--listen", f"{HOST}:{free_port()}", "--json").json()
    _readd(b, a, "--url", a.url, "--vkey", twin["log"])
    _, results = b.sync(ok=(1,))
    detail = results[a.origin]["detail"]
    assert "the peer's log key in node.toml did not sign it" in detail, detail
    assert "'provenance node keys --only log' on its node" in detail, detail
    assert "with the right --vkey" in detail, detail


def test_a_node_that_cannot_start_says_so_in_one_line(pair: tuple[Node, Node]) -> None:
    """A witness.db that is not a database stops the start: one ``error:`` line naming the
    file, exit 2, no traceback (specs/cli.md section 1.1)."""
    _, b = pair
    (b.home / "witness.db").write_bytes(b"not a database, " * 512)
    proc = subprocess.run([str(PROVENANCE), "node", "serve", "--home", str(b.home)],
                          env=cli_env(b.scratch), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=STARTUP_TIMEOUT,
                          check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[-1].startswith(f"error: cannot open witness database {b.home / 'witness.db'}")
    for line in lines[:-1]:  # before it: the JSON log records, the failure among them
        json.loads(line)
    assert json.loads(lines[-2])["msg"] == "Application startup failed. Exiting."


def test_the_log_has_no_http_client_lines(pair: tuple[Node, Node]) -> None:
    """Witnessing and mirroring requests leave the node's own records, not httpx's lines
    with their query strings (specs/node.md section 2, "Logs")."""
    a, b = pair
    b.start()
    a.stop()
    a.cli("node", "witness", "add", "--home", a.home, "--name", "b", "--url", b.url,
          "--vkey", b.witness_vkey)
    a.start()
    page = a.scratch / "page.txt"
    page.write_text("a page, witnessed\n")
    a.cli("anchor", page, "--node", a.url)  # answered once b cosigned the new checkpoint
    assert f"\u2014 {b.witness_name} " in a.checkpoint().text
    a.cli("node", "sync", "--home", a.home)  # a mirrors and cosigns b, delivers to b
    a.stop()
    b.stop()
    for node in (a, b):
        records = [json.loads(line) for line in node.log.read_text().splitlines()
                   if line.startswith("{")]
        assert any(r["msg"] == "node started" for r in records)
        assert not [r for r in records if r["logger"].startswith(("httpx", "httpcore"))]
        assert not [r for r in records if "?" in r.get("msg", "")]


def test_a_rotated_peer_stops_asking_once_its_new_origin_is_a_peer(
        pair: tuple[Node, Node]) -> None:
    a, b = pair
    a.stop()
    new = a.origin + "/2027"
    a.cli("node", "shard", "rotate", "--home", a.home, "--origin", new)
    a.start()
    _, results = b.sync()
    result = results[a.origin]
    assert result["status"] == "frozen", result
    assert f"to mirror that too, node peer add --origin {new}" in result["detail"]
    vkey = result["detail"].rsplit("--vkey ", 1)[1]

    # The same witness key listed again with the new origin: refused, saying why.
    again = b.cli("node", "peer", "add", "--home", b.home, "--origin", new, "--url", a.url,
                  "--vkey", vkey, "--witness-vkey", a.witness_vkey, ok=(2,))
    assert again.err == (f"error: peer {new}: the witness key {a.witness_name} is already "
                         f"used, with peer {a.origin}: its cosignatures are kept already; "
                         "leave out the witness key (--witness-vkey)\n")
    b.cli("node", "peer", "add", "--home", b.home, "--origin", new, "--url", a.url,
          "--vkey", vkey)
    _, results = b.sync()
    assert results[a.origin]["status"] == "frozen"
    assert results[a.origin]["detail"].endswith(f"now logs as {new}, a peer here too")
    assert results[new]["status"] == "up-to-date", results


def _fill(home: Path, sign: Signer, key: PrivateKey, count: int) -> None:
    """Append ``count`` registrations to the node's own log, in blocks of 500."""
    ledger = open_node_ledger(home, load_config(home))
    try:
        for start in range(0, count, 500):
            grow(ledger, sign, key, [f"work {i}" for i in range(start, start + 500)])
    finally:
        ledger.close()


def test_a_full_disk_names_the_mirror_and_the_next_round_finishes(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    """A file size limit (``ulimit -f``) stands for a full disk: the round fails naming
    the mirror's file, stores nothing, and the next round, with room, mirrors everything."""
    a = tmp_path / "a"
    init_node(a, "a.ledger.test/log", f"{HOST}:{free_port()}")
    _fill(a, sign, keys("creator"), 2000)
    b = tmp_path / "b"
    provenance("node", "init", "--home", b, "--origin", "b.ledger.test/log", "--listen",
               f"{HOST}:{free_port()}", "--mirror-interval", "0", scratch=tmp_path)
    with running(a) as node_a:
        provenance("node", "peer", "add", "--home", b, "--origin", "a.ledger.test/log",
                   "--url", node_a.url, "--vkey", node_keys(a)["log"], scratch=tmp_path)

        def small_disk() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, 256 << 10))

        full = subprocess.run([str(PROVENANCE), "node", "sync", "--home", str(b), "--json"],
                              env=cli_env(tmp_path), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=STARTUP_TIMEOUT * 3,
                              check=False, preexec_fn=small_disk)
        assert full.returncode == 1, full.stderr
        (result,) = json.loads(full.stdout)
        assert (result["status"], result["new_size"]) == ("error", 0), result
        mirror = b / "mirrors" / f"{hashlib.sha256(b'a.ledger.test/log').hexdigest()[:16]}.db"
        assert result["detail"].startswith(f"mirror {mirror}: could not write block: "), result

        again = provenance("node", "sync", "--home", b, "--json", scratch=tmp_path)
        (result,) = again.json()
        assert (result["status"], result["old_size"], result["new_size"]) == (
            "mirrored", 0, 2000), result
