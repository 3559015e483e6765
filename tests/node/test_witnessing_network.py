"""Synchronous witnessing between real nodes (specs/node.md section 9), as a creator meets it.

Three ``provenance node serve`` processes on 127.0.0.1, each peered with the two others; node
a asks b and c (configured with ``provenance node witness add``) to cosign each checkpoint
before it hands out a receipt. A creator anchors through a with the real CLI and verifies the
receipt offline with the README's 2-of-2 policy, at once, with no ``node sync`` in between.
Then c goes down: the receipt comes without waiting for the timeout, says what it lacks, and
the CLI says how to upgrade it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .network_helpers import Node, Processes, make_network

WITNESS_TIMEOUT_S = 60  # a's witnessing timeout: no test here may wait that long


@dataclass
class Net:
    a: Node
    b: Node
    c: Node

    def anchor(self, name: str) -> tuple[Path, str]:
        """Anchor a new file through a; (receipt path, the CLI's stderr)."""
        path = self.a.scratch / name
        path.write_text(f"content of {name}\n")
        r = self.a.cli("anchor", path, "--node", self.a.url, "--json")
        return Path(r.json()["receipt"]), r.err

    def policy(self, name: str, *witnesses: Node) -> Path:
        lines = [f"log {self.a.log_vkey}"]
        lines += [f"witness {w.name} {w.witness_vkey}" for w in witnesses]
        lines += [f"group required {len(witnesses)} {' '.join(w.name for w in witnesses)}",
                  "quorum required"]
        path = self.a.scratch / name
        path.write_text("\n".join(lines) + "\n")
        return path


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    processes = Processes()
    try:
        a, b, c = make_network(tmp_path_factory.mktemp("witnessing"), ("a", "b", "c"),
                               processes)
        for w in (b, c):
            a.cli("node", "witness", "add", "--home", a.home, "--name", w.name, "--url", w.url,
                  "--vkey", w.witness_vkey)
        a.cli("node", "witness", "policy", "--home", a.home, "--timeout",
              str(WITNESS_TIMEOUT_S))
        for n in (b, c, a):
            n.start()
        yield Net(a, b, c)
    finally:
        processes.close()


def test_a_receipt_through_the_node_meets_a_2_of_2_policy_at_once(net: Net) -> None:
    receipt, err = net.anchor("page-013.png")
    assert "lacks" not in err
    both = net.policy("both.policy", net.b, net.c)
    r = net.a.cli("verify", receipt, "--policy", both)
    assert "cosigned by b at" in r.out and "cosigned by c at" in r.out
    # Mirroring afterwards still re-verifies and cosigns: the witness's synchronous state
    # and its mirror agree.
    code, results = net.b.sync()
    assert code == 0 and results[net.a.origin]["status"] == "mirrored"
    assert results[net.a.origin]["cosigned"]


def test_with_a_witness_down_the_receipt_comes_with_the_fallback_and_the_hint(
        net: Net) -> None:
    net.c.stop()
    t0 = time.monotonic()
    receipt, err = net.anchor("page-014.png")
    assert time.monotonic() - t0 < WITNESS_TIMEOUT_S / 2  # a refused connection ends the wait
    lines = err.strip().splitlines()
    assert lines == [f"warning: receipt {receipt} lacks 1 witness cosignature (pending: c): "
                     f"run 'provenance receipt upgrade {receipt} --node {net.a.url}' later"]
    both = net.policy("both.policy", net.b, net.c)
    r = net.a.cli("verify", receipt, "--policy", both, ok=(1,))
    assert "witness quorum not met" in r.err
    net.a.cli("verify", receipt, "--policy", net.policy("b.policy", net.b))
