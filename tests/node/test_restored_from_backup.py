"""A node restored from an old backup, whose witness holds more of its log than it has, must
not sign a fork (specs/node.md sections 8 and 9).

The README's layout, with real nodes (``provenance node serve`` on 127.0.0.1): node ``a``
asks ``b`` to cosign each checkpoint (``[[witnesses]]``), and ``b`` mirrors ``a``; ``a`` does
not list ``b`` among its peers, so the peers' rollback check learns nothing. ``a``'s home is
copied at size n1; ``a`` grows to n2, which ``b`` cosigns; the copy is put back. At start
``a`` must ask its witness, learn that it holds size n2, and refuse (exit 2, one line naming
the witness and both sizes). With the witness down at start, ``a`` starts; once the witness
answers that it holds more, ``a`` stops signing: writes are refused with that line.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from provenance_ledger.core.crypto import PrivateKey

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

CREATOR = PrivateKey.from_seed(bytes([61]) * 32)
SPEC = "(specs/node.md section 8)"


@dataclass(frozen=True)
class Story:
    """Both nodes stopped: a's home at n2 (b cosigned and mirrored it), ``backup`` a's home at
    n1. Read-only: each test works on a copy (:func:`restored`)."""

    a: Node
    b: Node
    backup: Path
    n1: int
    n2: int


def grow(node: Node, prefix: str, count: int) -> None:
    submit(node.url, chains([CREATOR], prefix, count, int(time.time()), clients=1))


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    folder = tmp_path_factory.mktemp("restored")
    processes = Processes()
    try:
        a, b = make_network(folder / "net", ("a", "b"), processes)
        # a: b is its witness, not its peer (the README's three-node layout, a and b of it).
        a.cli("node", "peer", "remove", "--home", a.home, b.origin)
        a.cli("node", "witness", "add", "--home", a.home, "--name", b.name, "--url", b.url,
              "--vkey", b.witness_vkey)
        b.start()
        a.start()
        grow(a, "first", 5)
        n1 = checkpoint_size(a)
        _, first = b.sync()
        assert first[a.origin]["status"] == "mirrored", first
        a.stop()
        backup = folder / "a-backup"
        shutil.copytree(a.home, backup)
        a.start()  # b holds exactly what a has: the check passes
        grow(a, "second", 3)
        n2 = checkpoint_size(a)
        _, second = b.sync()
        assert (second[a.origin]["status"], second[a.origin]["new_size"]) == ("mirrored", n2)
        assert n2 > n1
        a.stop()
        b.stop()
    finally:
        processes.close()
    return Story(a, b, backup, n1, n2)


@pytest.fixture
def restored(story: Story, tmp_path: Path) -> Iterator[Story]:
    """A copy of the story with a's home replaced by its backup; nothing serves."""
    shutil.copytree(story.a.home.parent, tmp_path / "net", symlinks=True)
    processes = Processes()
    a, b = (dataclasses.replace(n, home=tmp_path / "net" / n.name, processes=processes,
                                server=None, serving_port=0) for n in (story.a, story.b))
    shutil.rmtree(a.home)
    shutil.copytree(story.backup, a.home, symlinks=True)
    try:
        yield Story(a, b, story.backup, story.n1, story.n2)
    finally:
        processes.close()


def test_a_restored_node_whose_witness_holds_more_refuses_to_start(restored: Story) -> None:
    a, b, n1, n2 = restored.a, restored.b, restored.n1, restored.n2
    assert checkpoint_size(a) == n1  # nothing local shows the lost blocks
    b.start()
    line = (f"error: witness {b.name} ({b.url}) holds a checkpoint of this log at size {n2} "
            "(it cosigns only checkpoints signed by this log's key), but this log has only "
            f"{n1} entries: it was restored from an older copy; refusing to sign a fork until "
            f"the lost blocks are back {SPEC}\n")
    refused = serve_refused(a)
    assert (refused.code, refused.out, refused.err) == (2, "", line), refused
    sync = a.cli("node", "sync", "--home", a.home, ok=(2,))
    assert (sync.out, sync.err) == ("", line)
    assert checkpoint_size(a) == n1  # nothing was signed


def test_a_restored_node_stops_signing_once_its_witness_says_it_holds_more(
        restored: Story) -> None:
    """The witness is down at start: a cannot learn anything and starts. Its first block is
    signed (nobody could tell), but the witness's answer for it halts the node: the
    submitter gets a 503 naming the witness and both sizes, and so does every later write;
    no further checkpoint is signed; the witness is named as refusing."""
    a, b, n1, n2 = restored.a, restored.b, restored.n1, restored.n2
    watch = LogWatch(a.log) if a.log.exists() else None
    a.start()
    if watch is not None:
        assert watch.wait_for(lambda r: r.get("msg") == "rollback check: peer not asked"
                              and f"witness {b.name} ({b.url})" in str(r.get("error")))
    b.start()
    first, second = chains([CREATOR], "forked", 2, int(time.time()), clients=2)
    with httpx.Client(base_url=a.url, timeout=30) as http:
        r = http.post("/events", content=first[0].leaf)
        assert r.status_code == 503, r.text
        halted = r.json()["error"]
        assert halted == (
            f"signing stopped: witness {b.name} ({b.url}): it holds a checkpoint of size {n2} "
            f"of this log, larger than the latest ({n1 + 1}): the log was restored from an "
            f"older copy {SPEC}; this node signs no further checkpoint: stop it and put the "
            "lost blocks back (a peer's mirror holds them)")
        assert checkpoint_size(a) == n1 + 1
        again = http.post("/events", content=second[0].leaf)
        assert (again.status_code, again.json()) == (503, {"error": halted})
        batch = http.post("/events/batch", content=second[0].leaf + b"\n")
        assert (batch.status_code, batch.json()) == (503, {"error": halted})
        cp = http.get("/checkpoint")
        assert cp.headers.get("provenance-refusing-witnesses") == b.name
    assert checkpoint_size(a) == n1 + 1  # no further checkpoint
    kept = json.loads((a.home / "refusals.json").read_text())
    assert kept[b.name]["size"] == n1 + 1 and kept[b.name]["held"] == n2
    status = a.cli("node", "status", "--home", a.home, "--json").json()
    [cosigner] = [c for c in status["cosigners"] if c["name"] == b.name]
    assert cosigner["refused"]["size"] == n1 + 1
    a.stop()
    # Restarted, the check now reaches the witness: the node refuses to start.
    refused = serve_refused(a)
    assert refused.code == 2 and f"witness {b.name} ({b.url})" in refused.err, refused
