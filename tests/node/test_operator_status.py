"""What an operator reads in ``provenance node status`` (specs/cli.md section 2.3) when things
go wrong, and the lines that name a mistaken URL or a hand-edited origin: real ``node serve``
processes on 127.0.0.1, the real CLI, a real PostgreSQL server stopped under a node.

- a peer whose log forked (a split view, its log key signed two checkpoints of one size): the
  witness that saw it shows, per peer, what was recorded, where the evidence is and how a
  receipt is checked against it; the creators anchoring on the forked log are not told to
  ``receipt upgrade`` later, which cannot help;
- a peer this node cosigned (as its witness) but has not mirrored shows what it cosigned;
- a node whose PostgreSQL server is down still shows what its home holds, and one line;
- an origin changed in node.toml by hand is named so, with ``node shard rotate``;
- ``log proof --tiles`` given a node's URL, and ``--node`` given a tiles URL, say so.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.postgres import Cluster

from . import forktool
from .conftest import HOST, free_port
from .network_helpers import CliResult, provenance, serving
from .test_storage_unavailable import cluster, start, stop

__all__ = ["cluster"]  # the fixture

A, B = "ledger.example.org/a", "ledger.example.org/b"
PASSWORD = "not-for-status-lines"


def _keys(home: Path, scratch: Path) -> dict[str, str]:
    out = provenance("node", "keys", "--home", home, scratch=scratch).out
    return dict(line.split() for line in out.splitlines())


def _status(home: Path, scratch: Path, ok: tuple[int, ...] = (0,)) -> tuple[CliResult, Any]:
    text = provenance("node", "status", "--home", home, scratch=scratch, ok=ok)
    doc = json.loads(provenance("node", "status", "--home", home, "--json", scratch=scratch,
                                ok=ok).out)
    return text, doc


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if not line.startswith("{")]  # JSON log records
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    return lines[0]


def test_a_forked_peer_is_shown_with_its_evidence_and_its_creators_are_told_the_truth(
        tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    ports = {a: free_port(), b: free_port()}
    urls = {home: f"http://{HOST}:{port}" for home, port in ports.items()}
    for home, origin in ((a, A), (b, B)):
        provenance("node", "init", "--home", home, "--origin", origin, "--listen",
                   f"{HOST}:{ports[home]}", scratch=tmp_path)
    keys = {home: _keys(home, tmp_path) for home in (a, b)}
    # b mirrors a (not yet) and witnesses it: a asks b to cosign each checkpoint.
    provenance("node", "peer", "add", "--home", b, "--origin", A, "--url", urls[a], "--vkey",
               keys[a]["log"], scratch=tmp_path)
    provenance("node", "witness", "add", "--home", a, "--name", "b", "--url", urls[b],
               "--vkey", keys[b]["witness"], scratch=tmp_path)
    provenance("node", "witness", "policy", "--home", a, "--quorum", "1", scratch=tmp_path)
    user = tmp_path / "user"
    pages = [tmp_path / "page-1.txt", tmp_path / "page-2.txt"]
    for i, page in enumerate(pages):
        page.write_text(f"page {i}\n")
    with serving(b, tmp_path, listen=f"{HOST}:{ports[b]}"), \
            serving(a, tmp_path, listen=f"{HOST}:{ports[a]}"):
        first = provenance("anchor", pages[0], "--node", urls[a], "--home", user,
                           scratch=tmp_path)
        assert "warning" not in first.err  # b cosigned it
        receipt = next((user / "receipts").glob("*.json"))

        # 3. b cosigned a's checkpoint as its witness, but has not mirrored it yet.
        text, doc = _status(b, tmp_path)
        (peer,) = doc["peers"]
        assert (peer["mirrored_size"], peer["cosigned_size"], peer["faulty"],
                peer["evidence"]) == (None, 1, False, [])
        assert f"  {A:<36} not mirrored yet, cosigned 1 ({peer['cosigned_at']})" in \
            text.out.splitlines(), text.out

        # a's log key signs another checkpoint of size 1, shown to b: a split view.
        real = httpx.get(urls[a] + "/checkpoint", timeout=30).text
        assert forktool.present(urls[b], forktool.fork_of(a, real)).status_code == 409
        text, doc = _status(b, tmp_path)
        (peer,) = doc["peers"]
        assert peer["faulty"] is True and doc["evidence"] == 1
        (item,) = peer["evidence"]
        assert item["kind"] == "split-view" and item["at"].endswith("Z")
        lines = text.out.splitlines()
        at = lines.index(f"  {A:<36} FAULTY: split-view recorded {item['at']}, mirroring "
                         f"stopped; not mirrored yet, cosigned 1 ({peer['cosigned_at']})")
        assert lines[at + 1] == (f"    evidence: 1 in {b / 'witness.db'}, served at "
                                 f"http://{HOST}:{ports[b]}/evidence?origin={A}")
        assert lines[at + 2] == (
            f"    what to do: node evidence --home {b} --json > evidence.json, then provenance "
            f"verify RECEIPT --log-key {keys[a]['log']} --evidence evidence.json refuses its "
            "receipts; "
            "give the file to its users and its operator")

        # What the status tells the witness's operator to do works, as written.
        evidence = tmp_path / "evidence.json"
        evidence.write_text(provenance("node", "evidence", "--home", b, "--json",
                                       scratch=tmp_path).out)
        provenance("verify", receipt, "--log-key", keys[a]["log"], "--evidence", evidence,
                   scratch=tmp_path, ok=(1,))

        # A creator anchoring on a now: b refuses a's checkpoints; an upgrade cannot help.
        second = provenance("anchor", pages[1], "--node", urls[a], "--home", user,
                            scratch=tmp_path)
        (warning,) = [line for line in second.err.splitlines()
                      if line.startswith("warning: receipt")]
        assert "receipt upgrade cannot add their cosignatures" in warning, warning
        assert ("(pending: b): witness b refuses this log's checkpoint (it holds another one "
                "of that size, or the log as faulty: a fork or split view)") in warning, warning
        assert "run 'provenance receipt upgrade" not in warning, warning
        # a's operator sees it in node status too (node serve keeps it in refusals.json).
        text, doc = _status(a, tmp_path)
        (cosigner,) = doc["cosigners"]
        assert (cosigner["name"], cosigner["cosigned_size"], cosigner["refused"]["size"]) == (
            "b", 1, 2)
        assert (f"  {'b (witness)':<36} up to 1, {cosigner['cosigned_at']}; REFUSED size 2 "
                f"({cosigner['refused']['at']}): it holds another checkpoint of this log of "
                "that size, or holds it as faulty (a fork or split view: its node evidence "
                "shows it)") in text.out.splitlines(), text.out


def test_status_shows_the_home_while_its_postgresql_server_is_down(
        tmp_path: Path, cluster: Cluster) -> None:
    home = tmp_path / "p"
    url = f"{cluster.url}&password={PASSWORD}"
    provenance("node", "init", "--home", home, "--origin", A, "--listen",
               f"{HOST}:{free_port()}", "--store", url, scratch=tmp_path)
    provenance("node", "peer", "add", "--home", home, "--origin", B, "--url",
               f"http://{HOST}:{free_port()}", "--vkey", _peer_vkey(tmp_path),
               scratch=tmp_path)
    _, up = _status(home, tmp_path)
    assert up["size"] == 0 and up["store_error"] is None
    stop(cluster)
    try:
        text, doc = _status(home, tmp_path, ok=(2,))
        evidence = provenance("node", "evidence", "--home", home, "--json", scratch=tmp_path)
    finally:
        start(cluster)
    assert json.loads(evidence.out) == {"faulty": [], "evidence": []}  # the home's own file
    line = _one_line(text.err)
    assert line.startswith(f"error: the node's database {doc['store']} cannot be reached"), line
    assert PASSWORD not in text.out + text.err
    assert "***" in doc["store"] and PASSWORD not in json.dumps(doc)
    assert (doc["size"], doc["checkpoint_at"]) == (None, None)
    assert doc["store_error"] and doc["keys"] == up["keys"]
    assert [p["origin"] for p in doc["peers"]] == [B]
    lines = text.out.splitlines()
    assert lines[0] == f"node         {A} (node serve is not running)"
    assert lines[4] == f"witness key  {up['keys']['witness']}"
    assert "log          unknown: its database cannot be reached" in lines
    assert f"  {B:<36} not mirrored yet" in lines
    _, back = _status(home, tmp_path)  # the server back: as before
    assert back == up


def _peer_vkey(scratch: Path) -> str:
    other = scratch / "peer-b"
    provenance("node", "init", "--home", other, "--origin", B, scratch=scratch)
    return _keys(other, scratch)["log"]


def test_an_origin_changed_in_node_toml_is_named_so(tmp_path: Path) -> None:
    home = tmp_path / "x"
    provenance("node", "init", "--home", home, "--origin", A, "--listen",
               f"{HOST}:{free_port()}", scratch=tmp_path)
    provenance("node", "status", "--home", home, scratch=tmp_path)  # the log is made
    toml = home / "node.toml"
    new = "ledger.example.org/a/2027"
    toml.write_text(toml.read_text().replace(f'origin = "{A}"', f'origin = "{new}"'))
    expected = (f'error: {toml} says origin = "{new}", but the node\'s log is {A}: an origin '
                f'is not changed in node.toml; put origin = "{A}" back, then make a new '
                f"origin with provenance node shard rotate --home {home} --origin {new} (the "
                "log so far is frozen and still served)")
    for argv in (("node", "status"), ("node", "serve"), ("node", "shard", "rotate", "--origin",
                                                         new)):
        result = provenance(*argv, "--home", home, scratch=tmp_path, ok=(2,))
        assert _one_line(result.err) == expected, argv
    # As it says: the origin put back, the rotation makes the new one.
    toml.write_text(toml.read_text().replace(f'origin = "{new}"', f'origin = "{A}"'))
    provenance("node", "shard", "rotate", "--home", home, "--origin", new, scratch=tmp_path)
    assert json.loads(provenance("node", "status", "--home", home, "--json",
                                 scratch=tmp_path).out)["origin"] == new


@contextmanager
def _static(folder: Path) -> Iterator[str]:
    """A plain web server of ``folder`` on 127.0.0.1, as tiles are served."""
    handler = partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


def test_a_node_url_given_for_tiles_and_a_tiles_url_given_for_a_node_are_named(
        tmp_path: Path) -> None:
    home, tiles = tmp_path / "t", tmp_path / "tiles"
    provenance("node", "init", "--home", home, "--origin", A, "--listen",
               f"{HOST}:{free_port()}", "--tiles", tiles, scratch=tmp_path)
    vkey = _keys(home, tmp_path)["log"]
    page = tmp_path / "page.txt"
    page.write_text("a page\n")
    out = tmp_path / "r.json"
    with serving(home, tmp_path) as url:
        provenance("anchor", page, "--node", url, "--home", tmp_path / "user", scratch=tmp_path)
        wrong = provenance("log", "proof", "0", "--tiles", url, "--log-key", vkey, "-o", out,
                           scratch=tmp_path, ok=(2,))
        assert _one_line(wrong.err) == (
            f"error: --tiles {url} is a ledger node's URL (it answers /keys as the node of "
            f"'{A}'), not a tiles URL: give --tiles the URL its tiles folder is served at "
            "(node.toml's tiles, behind a web server), or ask the node itself: provenance "
            f"receipt WORK --node {url}")
        assert wrong.out == "" and not out.exists()
        with _static(tiles) as tiles_url:
            provenance("log", "proof", "0", "--tiles", tiles_url, "--log-key", vkey, "-o", out,
                       scratch=tmp_path)  # the right URL
            assert out.exists()
            reverse = provenance("status", page, "--node", tiles_url, "--home",
                                 tmp_path / "other", scratch=tmp_path, ok=(2,))
    assert _one_line(reverse.err) == (
        f"error: --node {tiles_url} is a log's tiles URL (it serves a checkpoint but no "
        f"/keys), not a ledger node: read it with provenance log proof INDEX --tiles "
        f"{tiles_url} --log-key VKEY, or give --node the node's own URL")
