"""A node restored from an old backup must not sign a fork (issue 9 section 3; specs/node.md
section 8).

Real nodes: ``a`` and ``b``, each the other's peer, are ``provenance node serve`` processes on
127.0.0.1. ``b`` mirrors and cosigns ``a``; ``a``'s home is copied (its backup); ``a`` signs
more, which ``b`` mirrors and cosigns too; then the old copy is put back. Nothing in ``a``'s own
files shows the lost blocks, but ``b`` holds them: ``a`` must refuse to start (exit 2, one line
naming the peer and both sizes), ``node sync`` must refuse too, and nothing may be signed.
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provenance_ledger.cli.session import MAX_TIMEOUT_S
from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import MAX_NOTE_BYTES
from provenance_ledger.ledger import Ledger
from provenance_ledger.node import node_witness
from provenance_ledger.node.client import MAX_RESPONSE_BYTES
from provenance_ledger.node.fetch import ANSWER_DEADLINE_S, DEFAULT_TIMEOUT_S, Timeouts
from provenance_ledger.node.mirror import MAX_ENTRIES_PAGE_BYTES, MAX_PROOF_BYTES

from ..conftest import NOW, Signer
from .conftest import PEER, body_for, running
from .conftest import grow as grow_log
from .network_helpers import (
    LogWatch,
    Node,
    Processes,
    chains,
    checkpoint_size,
    make_network,
    serve_refused,
    submit,
)

CREATOR = PrivateKey.from_seed(bytes([21]) * 32)
KEY = PrivateKey.from_seed(bytes([22]) * 32)
SPEC = "(specs/node.md section 8)"


@pytest.fixture
def network(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    processes = Processes()
    try:
        a, b = make_network(tmp_path / "net", ("a", "b"), processes)
        yield a, b
    finally:
        processes.close()


@dataclass(frozen=True)
class BackedUp:
    """Both nodes stopped after :func:`backed_up`: a's home has grown to ``n2`` (b mirrored
    and cosigned it), ``backup`` holds a's home at ``n1``. Read-only: each test works on a
    copy (:func:`restored`)."""

    a: Node
    b: Node
    backup: Path
    n1: int
    n2: int


@pytest.fixture(scope="module")
def backed_up_network(tmp_path_factory: pytest.TempPathFactory) -> BackedUp:
    """The backup story, told once for the module (it takes two node starts, two submissions
    and two mirroring rounds); the tests start from copies of its folder."""
    folder = tmp_path_factory.mktemp("rollback")
    processes = Processes()
    try:
        a, b = make_network(folder / "net", ("a", "b"), processes)
        backup, n1, n2 = backed_up((a, b), folder)
        b.stop()
    finally:
        processes.close()
    return BackedUp(a, b, backup, n1, n2)


@pytest.fixture
def restored(backed_up_network: BackedUp, tmp_path: Path) -> Iterator[BackedUp]:
    """A copy of :func:`backed_up_network` of this test's own (the same origins, keys and
    ports), with b serving and a stopped."""
    story = backed_up_network
    shutil.copytree(story.a.home.parent, tmp_path / "net", symlinks=True)
    backup = tmp_path / story.backup.name
    shutil.copytree(story.backup, backup, symlinks=True)
    processes = Processes()
    a, b = (dataclasses.replace(n, home=tmp_path / "net" / n.name, processes=processes,
                                server=None, serving_port=0) for n in (story.a, story.b))
    try:
        b.start()
        yield BackedUp(a, b, backup, story.n1, story.n2)
    finally:
        processes.close()


def grow(node: Node, prefix: str, count: int) -> None:
    """``count`` registrations submitted to the serving ``node`` over HTTP."""
    # The nodes admit events by the machine's clock, so the events carry its time.
    submit(node.url, chains([CREATOR], prefix, count, int(time.time()), clients=2))


def backed_up(network: tuple[Node, Node], tmp_path: Path) -> tuple[Path, int, int]:
    """b cosigns a's log at n1; a's home is copied; a grows to n2, which b cosigns. Returns
    (the copy, n1, n2); a is stopped, b serves."""
    a, b = network
    a.start()
    b.start()
    grow(a, "first", 6)
    _, first = b.sync()
    n1 = first[a.origin]["new_size"]
    assert first[a.origin]["status"] == "mirrored" and first[a.origin]["cosigned"], first
    assert a.stop() != 0  # SIGTERM: the process ends by that signal
    backup = tmp_path / "a-backup"
    shutil.copytree(a.home, backup)
    a.start()  # the check passes: b holds exactly what a has
    grow(a, "second", 5)
    _, second = b.sync()
    n2 = second[a.origin]["new_size"]
    assert (second[a.origin]["status"], second[a.origin]["cosigned"]) == ("mirrored", True)
    assert n2 > n1
    a.stop()
    return backup, n1, n2


def restore(node: Node, backup: Path) -> None:
    shutil.rmtree(node.home)
    shutil.copytree(backup, node.home)


def test_a_node_restored_from_an_old_backup_refuses_to_sign(restored: BackedUp) -> None:
    a, b, backup, n1, n2 = restored.a, restored.b, restored.backup, restored.n1, restored.n2
    restore(a, backup)
    assert checkpoint_size(a) == n1  # nothing local shows the lost blocks

    refused = serve_refused(a)
    assert refused.code == 2, refused
    assert refused.out == ""
    assert refused.err == (
        f"error: peer {b.origin} ({b.url}) holds a checkpoint of this log signed by its log "
        f"key at size {n2}, but this log has only {n1} entries: it was restored from an older "
        f"copy; refusing to sign a fork until the lost blocks are back {SPEC}\n")
    sync = a.cli("node", "sync", "--home", a.home, ok=(2,))
    assert sync.out == "" and sync.err == refused.err
    assert checkpoint_size(a) == n1  # nothing was signed


def test_a_restored_node_that_signed_another_history_refuses_to_sign(
        restored: BackedUp) -> None:
    """With b down, the restored a cannot learn anything: it starts (and logs that b was not
    asked) and signs other events up to beyond b's size. Once b is back, a refuses: at the
    size b cosigned, a's tree has another root."""
    a, b, backup, n1, n2 = restored.a, restored.b, restored.backup, restored.n1, restored.n2
    b.stop()
    restore(a, backup)
    watch = LogWatch(a.log)
    a.start()
    assert watch.wait_for(lambda r: r.get("msg") == "rollback check: peer not asked"
                          and b.url in str(r.get("error")))
    grow(a, "other", n2 - n1 + 2)
    forked = checkpoint_size(a)
    assert forked > n2
    a.stop(signal.SIGTERM)
    b.start()
    refused = serve_refused(a)
    assert refused.code == 2, refused
    assert refused.err == (
        f"error: peer {b.origin} ({b.url}) holds a checkpoint of this log signed by its log "
        f"key at size {n2} with another root than this log's at that size (log size "
        f"{forked}): the log was restored from an older copy and has signed another history "
        f"since; refusing to sign {SPEC}\n")
    assert checkpoint_size(a) == forked


def test_a_node_whose_peers_hold_nothing_newer_starts(network: tuple[Node, Node]) -> None:
    """The control case: b has cosigned a's log up to a's size; a restarts and serves."""
    a, b = network
    a.start()
    b.start()
    grow(a, "only", 3)
    _, result = b.sync()
    assert result[a.origin]["cosigned"]
    a.stop()
    a.start()  # returns once it answers; fails if it exits
    assert a.checkpoint().status_code == 200


def test_cosigned_serves_the_latest_checkpoint_the_witness_cosigned(
        node_home: Path, peer_log: Ledger, sign: Signer) -> None:
    """``GET /cosigned?origin=O`` (specs/node.md section 8): the note as the witness received
    it; 404 for an origin it never cosigned; 400 without a usable origin."""
    first = grow_log(peer_log, sign, KEY, ["p1", "p2"])
    with node_witness(node_home) as witness:
        assert witness.add_checkpoint(body_for(peer_log, 0), NOW)[0] == 200
        second = grow_log(peer_log, sign, KEY, ["p3"])
        assert witness.add_checkpoint(body_for(peer_log, 2), NOW)[0] == 200
    assert first != second
    with running(node_home) as node, node.client() as http:
        r = http.get("/cosigned", params={"origin": PEER})
        assert (r.status_code, r.headers["content-type"], r.text) == (
            200, "text/plain; charset=utf-8", second)
        none = http.get("/cosigned", params={"origin": "other.test/log"})
        assert none.status_code == 404
        assert none.json() == {"error": "this node's witness has cosigned no checkpoint of "
                                        "other.test/log"}
        for params in ({}, {"origin": ""}, {"origin": "x" * 256}):
            bad = http.get("/cosigned", params=params)
            assert bad.status_code == 400 and set(bad.json()) == {"error"}, params
        assert "/cosigned" in http.get("/openapi.json").json()["paths"]


def test_the_limits_and_timeouts_are_the_ones_the_spec_states() -> None:
    """specs/node.md section 8 and specs/cli.md section 1.3, number for number."""
    assert (MAX_NOTE_BYTES, MAX_PROOF_BYTES, MAX_ENTRIES_PAGE_BYTES, MAX_RESPONSE_BYTES) == (
        65_536, 65_536, 21_912_000, 16_777_216)
    assert (DEFAULT_TIMEOUT_S, ANSWER_DEADLINE_S, MAX_TIMEOUT_S) == (10, 120, 86_400)
    assert Timeouts.of(300) == Timeouts(300, 300, 300)
    assert Timeouts.of(2) == Timeouts(2, 2, 120)
