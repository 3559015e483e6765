"""``provenance receipt upgrade`` of receipts from a node whose witness refuses its checkpoint
(specs/cli.md section 3.13, specs/node.md section 9, "Refusing witnesses"): real ``node
serve`` processes on 127.0.0.1, the real CLI in subprocesses.

Node a asks node b to witness its log. a's log key then signs another checkpoint of a size b
has cosigned (a split view, tests/node/forktool.py) and b is shown it: b refuses a's
checkpoints from then on. ``receipt upgrade`` must not call a receipt of that log "already up
to date" (exit 0): it says, as the node's word, that witness b refuses the latest checkpoint,
that the log may have forked and what to do, keeps the file, and exits 1. Before the fork,
against the same honest node, the upgrade says what it always said.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from provenance_ledger.cli.receipt_upgrade import witnesses_refuse
from provenance_ledger.errors import MalformedError
from provenance_ledger.node import add_peer, init_node, node_keys
from provenance_ledger.node.config import add_witness
from provenance_ledger.node.replies import witness_names
from tests.node import forktool
from tests.node.conftest import HOST, STARTUP_TIMEOUT, free_port
from tests.node.network_helpers import PROVENANCE, cli_env, in_parallel, provenance

A, B = "ledger.example.org/a", "ledger.example.org/b"
HEADER = "Provenance-Refusing-Witnesses"


@contextmanager
def serving(scratch: Path, *served: tuple[Path, int]) -> Iterator[None]:
    """``provenance node serve`` of each (home, port), started at once (network_helpers'
    ``serving`` starts one, then waits for it); returns once each says ``listening``."""
    procs = [subprocess.Popen([str(PROVENANCE), "node", "serve", "--home", str(home),
                               "--listen", f"{HOST}:{port}"], env=cli_env(scratch),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for home, port in served]
    try:
        for proc in procs:
            assert proc.stdout is not None
            for _ in range(100):  # start-up lines (a peer not reached yet ...), then this one
                line = json.loads(proc.stdout.readline())
                if line["msg"] == "listening":
                    break
            assert line["msg"] == "listening", line
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.communicate(timeout=STARTUP_TIMEOUT)


def test_an_upgrade_says_the_node_reports_a_refusing_witness_and_exits_1(
        tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    ports = {a: free_port(), b: free_port()}
    urls = {home: f"http://{HOST}:{port}" for home, port in ports.items()}
    # The homes are made in process (as node init, peer add and witness add make them): the
    # test's time goes to the commands it is about.
    for home, origin in ((a, A), (b, B)):
        init_node(home, origin, f"{HOST}:{ports[home]}")
    keys = {home: node_keys(home) for home in (a, b)}
    # b knows a as a peer and witnesses it: a asks b to cosign each checkpoint (quorum 1).
    add_peer(b, A, urls[a], keys[a]["log"])
    add_witness(a, "b", urls[b], keys[b]["witness"])
    user = tmp_path / "user"
    pages = [tmp_path / "page-1.txt", tmp_path / "page-2.txt"]
    for i, page in enumerate(pages):
        page.write_text(f"page {i}\n")
    cosigner = f"{B}/witness"

    def upgrade(*files: Path, ok: tuple[int, ...], json_out: bool = False) -> tuple[str, str]:
        argv = ["receipt", "upgrade", *files, "--node", urls[a], "--home", user]
        result = provenance(*argv, *(["--json"] if json_out else []), scratch=tmp_path, ok=ok)
        return result.out, result.err

    with serving(tmp_path, (b, ports[b]), (a, ports[a])):
        provenance("anchor", pages[0], "--node", urls[a], "--home", user, scratch=tmp_path)
        (first,) = (user / "receipts").glob("*.json")

        # An honest node, its witness cosigning: no header, and the upgrade as it always was.
        latest = httpx.get(urls[a] + "/checkpoint", timeout=30)
        assert HEADER.lower() not in latest.headers
        out, err = upgrade(first, ok=(0,))
        assert out == (f"already up to date: {first}: checkpoint 1, no checkpoint of the node "
                       f"is better cosigned; cosignatures: {cosigner} (not verified: no "
                       "--policy)\n"), out
        assert err == ""

        # a's log key signs another checkpoint of size 1, shown to b: b refuses a from now on.
        assert forktool.present(urls[b], forktool.fork_of(a, latest.text)).status_code == 409
        provenance("anchor", pages[1], "--node", urls[a], "--home", user, scratch=tmp_path)
        (second,) = set((user / "receipts").glob("*.json")) - {first}

        # a names b on GET /checkpoint, as its OpenAPI document says.
        assert httpx.get(urls[a] + "/checkpoint", timeout=30).headers[HEADER] == "b"
        assert httpx.get(urls[a] + "/checkpoint?size=1", timeout=30).headers.get(
            HEADER) is None  # b cosigned that one
        doc = httpx.get(urls[a] + "/openapi.json", timeout=30).json()
        assert HEADER in doc["paths"]["/checkpoint"]["get"]["responses"]["200"]["headers"]

        # What the upgrade says to do works: b's evidence (as node evidence --json prints it,
        # and b serves it) makes verify refuse the receipt.
        evidence = tmp_path / "evidence.json"
        evidence.write_bytes(httpx.get(urls[b] + "/evidence", timeout=30).content)
        kept = {p: p.read_bytes() for p in (first, second)}
        # Three independent commands at once (the test's time is CI's): one receipt, both as
        # JSON (the same for the one b cosigned before it refused), and verify.
        (out, err), (json_out, _), verified = in_parallel(
            lambda: upgrade(second, ok=(1,)),
            lambda: upgrade(first, second, ok=(1,), json_out=True),
            lambda: provenance("verify", second, "--log-key", keys[a]["log"], "--evidence",
                               evidence, scratch=tmp_path, ok=(1,)))
    assert out == ""
    assert err == (
        f"failed: {second}: refused: the node reports that witness b refuses its latest "
        "checkpoint (size 2): it holds another checkpoint of this log of that size, or holds "
        "the log as faulty, so the log may have forked (a split view); the receipt is kept "
        "unchanged, and may not hold in a dispute: get the witness's evidence from its "
        "operator (provenance node evidence --json > evidence.json), check the receipt with "
        f"provenance verify {second} --log-key KEY --evidence evidence.json, and ask the "
        "node's operator\n"), err
    report = json.loads(json_out)
    assert report["summary"] == {"failed": 2}
    for item, path in zip(report["files"], (first, second), strict=True):
        assert item["file"] == str(path)
        assert (item["status"], item["does_not_verify"], item["refusing_witnesses"]) == (
            "failed", True, ["b"])
        assert item["error"].startswith("refused: the node reports that witness b refuses its "
                                        "latest checkpoint (size 2)")
    assert {p: p.read_bytes() for p in (first, second)} == kept  # kept unchanged
    assert "split-view" in verified.out + verified.err, verified


def test_the_header_is_read_only_in_its_documented_form() -> None:
    """What a client takes from the header (specs/node.md section 9): names as the node's
    ``[[witnesses]]`` have them; anything else is a node's answer that does not parse."""
    assert witness_names("") == ()
    assert witness_names("b  witness-2.example b") == ("b", "witness-2.example")
    for bad in ("b \x1b[31mred", ".b", "b/witness", "x" * 65, " ".join(map(str, range(65)))):
        with pytest.raises(MalformedError):
            witness_names(bad)


def test_two_refusing_witnesses_are_named_together() -> None:
    assert witnesses_refuse(Path("r.json"), ("b", "c"), 7).startswith(
        "refused: the node reports that witnesses b, c refuse its latest checkpoint (size 7): "
        "they hold another checkpoint of this log of that size, or hold the log as faulty, so "
        "the log may have forked (a split view); the receipt is kept unchanged")
