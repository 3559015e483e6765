"""Three real nodes on 127.0.0.1 that mirror and cosign one another (issue 4, "Tests").

Each node is ``provenance node serve`` in a process of its own, peered with the two others
(log key and witness key); mirroring rounds are ``provenance node sync`` processes. Creators
submit signed events over HTTP to two of the nodes. The tests then check, in module order:

1. after two rounds every node holds mirrors of the others that audit clean from scratch, and
   each checkpoint carries cosignatures from the two other nodes' witnesses;
2. a receipt verifies offline (``provenance verify --policy``) with a 2-of-2 witness policy,
   and fails when the policy asks for a third, unknown witness;
3. SIGKILL of a ``node serve`` with submissions in flight, and of a ``node sync`` in the middle
   of mirroring thousands of entries, loses no acknowledged event and leaves no partial state;
4. the same content registered on two logs by different keys is reported as disputed, with
   each registration and the time its witnesses vouch for it, and a node asked about a work
   that only a mirrored log holds names that log;
5. a node made to fork (tests/node/forktool.py signs a conflicting checkpoint with its log
   key) is caught by each peer, the evidence verifies, ``provenance verify --evidence``
   refuses its receipts, and its mirroring stops. This poisons the network, so it runs last,
   followed by a fork at an earlier size, which is evidence too.

Each test also runs alone (``-k``): the module fixture brings the network to the state the
first test checks, and the later tests only assume that.
"""

from __future__ import annotations

import dataclasses
import hashlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.merkle import EMPTY_ROOT
from provenance_ledger.core.note import Checkpoint, NoteSigner, SignedNote
from provenance_ledger.core.receipt import Receipt, verify_checkpoint_note, verify_receipt
from provenance_ledger.core.timefmt import parse_time
from provenance_ledger.errors import VerificationError
from provenance_ledger.ledger import audit
from provenance_ledger.node import Evidence, load_config, node_witness, verify_evidence
from provenance_ledger.node.mirror import ENTRIES_PER_REQUEST, sync_all

from ..inproc import given
from . import forktool
from .conftest import free_port
from .network_helpers import (
    CLI_TIMEOUT,
    STOP_TIMEOUT,
    LogWatch,
    Node,
    Processes,
    Submission,
    chains,
    entries_request,
    in_parallel,
    make_network,
    signal_group,
    submit,
)

CREATORS = ("alice", "bob", "carol", "dave")
CLIENTS = 8  # concurrent HTTP clients per submitting node
FIRST_WORKS = 120  # works registered on each of the two submitting nodes at first
BULK_WORKS = 2400  # works (3000 events) a peer gains before a mirroring round is killed
IN_FLIGHT_WORKS = 400  # works submitted to a node that is killed part-way
KILL_AFTER = 100  # acknowledged events before that SIGKILL
OK_STATUSES = {"mirrored", "up-to-date"}
REPO = Path(__file__).resolve().parents[2]  # where ``python -m tests.node.forktool`` runs


def creator(name: str) -> PrivateKey:
    return PrivateKey.from_seed(hashlib.sha256(b"network creator " + name.encode()).digest())


@dataclass
class Network:
    a: Node
    b: Node
    c: Node
    at: int  # the time every event is signed at
    creators: list[PrivateKey]
    acked: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Receipts of the acknowledged events, by node name and event id."""
    rounds: list[dict[str, tuple[int, dict[str, dict[str, Any]]]]] = field(default_factory=list)
    """The first two sync rounds: node name -> (exit code, result by peer origin)."""

    @property
    def nodes(self) -> tuple[Node, Node, Node]:
        return (self.a, self.b, self.c)

    def others(self, node: Node) -> list[Node]:
        return [n for n in self.nodes if n is not node]

    def submit(self, node: Node, prefix: str, works: int, clients: int = CLIENTS) -> None:
        got = submit(node.url, chains(self.creators, prefix, works, self.at, clients))
        self.acked.setdefault(node.name, {}).update(got)

    def sync_round(self) -> dict[str, tuple[int, dict[str, dict[str, Any]]]]:
        """Every node runs ``node sync`` once, the three at the same time; each must succeed."""
        results = in_parallel(*(lambda n=n: n.sync() for n in self.nodes))
        return {n.name: r for n, r in zip(self.nodes, results, strict=True)}

    def sync_round_at(self, now: int) -> dict[str, dict[str, dict[str, Any]]]:
        """One mirroring round of every node, as ``node sync`` does it (``sync_all``), but with
        the witnesses' clock at ``now``: the injected clock of a later round."""
        out = {}
        for node in self.nodes:
            with node_witness(node.home) as witness:
                results = sync_all(node.home, load_config(node.home), witness, now)
            out[node.name] = {r.origin: r.to_json() for r in results}
        return out


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """Three serving nodes, each peered with the two others; events submitted to a and b;
    then two mirroring rounds. Every process is killed at the end of the module."""
    processes = Processes()
    try:
        nodes = make_network(tmp_path_factory.mktemp("network"), ("a", "b", "c"), processes)
        in_parallel(*(n.start for n in nodes))
        # The nodes admit events by the machine's clock, so the events carry its time.
        net = Network(*nodes, at=int(time.time()), creators=[creator(n) for n in CREATORS])
        in_parallel(lambda: net.submit(net.a, "first-a", FIRST_WORKS),
                    lambda: net.submit(net.b, "first-b", FIRST_WORKS))
        net.rounds = [net.sync_round(), net.sync_round()]
        yield net
    finally:
        processes.close()


def size_of(node: Node) -> int:
    r = node.checkpoint()
    assert r.status_code == 200, r.text
    return Checkpoint.from_text(SignedNote.from_text(r.text).text).size


def assert_mirrors_converged(net: Network) -> None:
    """Each node's mirror of each peer audits clean from scratch (signatures, rules, tree,
    checkpoints), reaches the peer's latest checkpoint with the same root, and holds every
    event the peer acknowledged."""
    for node in net.nodes:
        for peer in net.others(node):
            r = peer.checkpoint()
            if r.status_code == 404:  # an empty log: nothing to mirror
                cp = Checkpoint(peer.origin, 0, EMPTY_ROOT)
            else:
                assert r.status_code == 200, r.text
                cp = Checkpoint.from_text(SignedNote.from_text(r.text).text)
            mirror = node.mirror(peer)
            try:
                report = audit(mirror)
                assert (report.entries, report.root) == (cp.size, cp.root), (node.name, peer.name)
                for event_id in net.acked.get(peer.name, {}):
                    mirror.entry_by_id(event_id)  # raises NotFoundError if missing
            finally:
                mirror.close()


def assert_cosigned_by_others(net: Network, node: Node) -> None:
    """``GET /checkpoint`` is signed by the node's log key and carries valid cosignatures from
    the witness keys of both other nodes."""
    r = node.checkpoint()
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    others = net.others(node)
    _, _, cosigners = verify_checkpoint_note(
        r.text, [node.log_verifier], {o.witness_name: o.witness_verifier for o in others})
    assert set(cosigners) == {o.witness_name for o in others}, (node.name, r.text)


def write_policy(path: Path, node: Node, witnesses: list[tuple[str, str]],
                 group: str) -> Path:
    """A C2SP tlog-policy trusting ``node``'s log key, naming ``witnesses`` (name, vkey), with
    quorum ``group`` (``<k|all|any> <members>``)."""
    path.write_text("\n".join([f"log {node.log_vkey}",
                               *(f"witness {n} {v}" for n, v in witnesses),
                               f"group required {group}", "quorum required", ""]))
    return path


def peer_witnesses(net: Network, node: Node) -> list[tuple[str, str]]:
    return [(o.name, o.witness_vkey) for o in net.others(node)]


# -- 1. convergence --------------------------------------------------------------------------


def test_rounds_mirror_every_peer_and_cosignatures_reach_every_checkpoint(
        network: Network) -> None:
    net = network
    first, second = net.rounds
    sizes = {n.name: len(net.acked.get(n.name, {})) for n in net.nodes}
    for node in net.nodes:
        for code, results in (first[node.name], second[node.name]):
            assert code == 0
            assert set(results) == {p.origin for p in net.others(node)}
        for peer in net.others(node):
            r1, r2 = first[node.name][1][peer.origin], second[node.name][1][peer.origin]
            if sizes[peer.name] == 0:  # c's log is empty: its size-0 checkpoint is cosigned
                for r in (r1, r2):
                    assert (r["status"], r["old_size"], r["new_size"]) == ("up-to-date", 0, 0)
                    assert r["cosigned"] and r["delivered"], r
                continue
            # Round 1 verified and stored everything, cosigned it and delivered the
            # cosignature; round 2 found nothing new and cosigned the same tree again.
            assert (r1["status"], r1["old_size"], r1["new_size"]) == (
                "mirrored", 0, sizes[peer.name]), r1
            assert (r2["status"], r2["old_size"], r2["new_size"]) == (
                "up-to-date", sizes[peer.name], sizes[peer.name]), r2
            assert r1["cosigned"] and r1["delivered"] and r2["cosigned"] and r2["delivered"]
    assert_mirrors_converged(net)
    for node in net.nodes:
        keys = node.cli("node", "keys", "--home", node.home, "--json").json()
        assert keys == {"log": node.log_vkey, "witness": node.witness_vkey}
    assert_cosigned_by_others(net, net.a)
    assert_cosigned_by_others(net, net.b)
    # c has no event yet: its checkpoint is the empty tree's, witnessed all the same.
    empty = Checkpoint.from_text(SignedNote.from_text(net.c.checkpoint().text).text)
    assert (empty.size, empty.root) == (0, EMPTY_ROOT)
    assert_cosigned_by_others(net, net.c)


# -- 2. offline verification against a witness policy ---------------------------------------


def test_receipt_verifies_offline_with_two_of_two_witness_policy(
        network: Network, tmp_path: Path) -> None:
    net = network
    unknown = NoteSigner("unknown.ledger.test/witness",
                         PrivateKey.from_seed(hashlib.sha256(b"unknown witness").digest()),
                         cosigner=True)
    for node in (net.a, net.b):
        others = net.others(node)
        event_id = sorted(net.acked[node.name])[0]
        r = httpx.get(f"{node.url}/receipts/{event_id}", timeout=30)
        assert r.status_code == 200, r.text
        receipt = tmp_path / f"{node.name}.receipt.json"
        receipt.write_text(r.text)
        names = " ".join(o.name for o in others)
        two_of_two = write_policy(tmp_path / f"{node.name}.policy", node,
                                  peer_witnesses(net, node), f"2 {names}")
        three = write_policy(tmp_path / f"{node.name}.three.policy", node,
                             [*peer_witnesses(net, node),
                              ("stranger", unknown.verifier.to_vkey())], f"all {names} stranger")

        ok = node.cli("verify", receipt, "--policy", two_of_two, "--json").json()
        assert ok["valid"] and ok["id"] == event_id and ok["origin"] == node.origin
        assert set(ok["cosigners"]) == {o.name for o in others}
        refused = node.cli("verify", receipt, "--policy", three, ok=(1,))
        assert "quorum" in refused.err + refused.out
        # The receipt given at submission predates the witnesses' rounds: the log key alone
        # verifies it, but it carries no cosignature for the policy to count.
        early = Receipt.from_json(net.acked[node.name][event_id])
        verified = verify_receipt(early, [node.log_verifier],
                                  {o.name: o.witness_verifier for o in others})
        assert verified.cosigners == {}


# -- 3. restart safety -----------------------------------------------------------------------


def test_sigkill_mid_submission_and_mid_mirroring_loses_nothing(network: Network) -> None:
    net = network
    a, b, c = net.nodes
    # b gains thousands of entries: a mirroring round against it takes a while.
    net.submit(b, "bulk-b", BULK_WORKS)

    # SIGKILL a's server while clients have submissions in flight, then restart it.
    flight = Submission(a.url, chains(net.creators, "flight-a", IN_FLIGHT_WORKS, net.at,
                                      CLIENTS), notify_at=KILL_AFTER).start()
    assert flight.reached.wait(STOP_TIMEOUT), flight.failures
    assert a.stop(signal.SIGKILL) == -signal.SIGKILL
    flight.join()
    assert set(flight.statuses) == {200}, flight.failures  # refusals: none; the rest cut off
    assert flight.failures, "the kill came after every submission"
    net.acked["a"].update(flight.acked)
    a.start()
    with httpx.Client(base_url=a.url, timeout=30) as http:
        for event_id, given in net.acked["a"].items():
            # Both the receipt given on acknowledgement and a fresh one verify offline.
            verify_receipt(Receipt.from_json(given), [a.log_verifier])
            r = http.get(f"/receipts/{event_id}")
            assert r.status_code == 200, (event_id, r.text)
            verify_receipt(Receipt.from_json(r.json()), [a.log_verifier])
    net.submit(c, "first-c", 20, clients=2)  # now c has a checkpoint for the others to cosign

    # SIGKILL c's mirroring round part-way: once during b's first page of entries, once at
    # its last page (downloading, re-verifying or storing). A mirror grows by whole
    # checkpoints or not at all, and audits clean after each kill.
    b_size, mirrored = size_of(b), []
    with_b = c.mirror(b)
    old = with_b.size
    with_b.close()
    pages = -(-(b_size - old) // ENTRIES_PER_REQUEST)
    killed = 0
    for page in (1, pages):
        watch = LogWatch(b.log)
        proc = c.start_sync()
        assert watch.wait_for(entries_request, page, alive=lambda p=proc: p.poll() is None)
        signal_group(proc, signal.SIGKILL)
        killed += proc.wait(timeout=STOP_TIMEOUT) == -signal.SIGKILL
        for peer in (a, b):
            mirror = c.mirror(peer)
            try:
                assert audit(mirror).entries == mirror.size
                if peer is b:
                    assert mirror.size in (old, b_size)
                    mirrored.append(mirror.size)
            finally:
                mirror.close()
    assert killed >= 1, "no round was still running when killed"
    assert mirrored[0] == old  # the first kill came before b's entries could be stored

    # The next round completes, and every node converges with nothing lost.
    _, results = c.sync()
    assert results[b.origin]["status"] in OK_STATUSES
    assert results[b.origin]["new_size"] == b_size
    for _ in range(2):
        for name, (_, results) in net.sync_round().items():
            assert {r["status"] for r in results.values()} <= OK_STATUSES, (name, results)
    assert_mirrors_converged(net)
    for node in net.nodes:
        assert_cosigned_by_others(net, node)


# -- 4. cross-log conflicts -------------------------------------------------------------------


def test_same_content_registered_on_two_logs_by_different_keys_is_disputed(
        network: Network, tmp_path: Path) -> None:
    net = network
    a, b, c = net.nodes
    page = tmp_path / "page-012.png"
    page.write_bytes(b"the same page, claimed by two keys")
    only_b = tmp_path / "page-013.png"
    only_b.write_bytes(b"a page registered on b alone")
    # the keys and registrations, set up in process (tests/inproc.py) in the home a.cli uses:
    # what is checked (status, may, the mirrors) runs as the real CLI and nodes
    user = a.scratch / "user" / ".provenance"
    given("key", "new", "owner", home=user)
    given("key", "new", "rival", home=user)
    owner = given("key", "show", "owner", "--public", home=user).strip()
    rival = given("key", "show", "rival", "--public", home=user).strip()
    given("anchor", page, "--node", a.url, "--key", "owner", home=user)
    given("anchor", page, "--node", b.url, "--key", "rival", home=user)
    given("anchor", only_b, "--node", b.url, "--key", "rival", home=user)
    for name, (_, results) in net.sync_round().items():
        assert {r["status"] for r in results.values()} <= OK_STATUSES, (name, results)

    # Each node that sees both registrations (its own log or its mirrors) reports a dispute,
    # naming each registration with the earliest time a witness vouches for it.
    first = disputed_times(net, page)
    # Both logs grow and are witnessed again a minute later (the witnesses' clock injected):
    # later checkpoints that include the registrations carry later cosignatures, but the
    # earliest one stays what counts.
    later_time = max(parse_time(t) for regs in first.values() for _, t in regs) + 60
    for node, key in ((a, "owner"), (b, "rival")):
        later = tmp_path / f"later-on-{node.name}.png"
        later.write_bytes(f"a later page on {node.name}".encode())
        given("anchor", later, "--node", node.url, "--key", key, home=user)
    for name, results in net.sync_round_at(later_time).items():
        assert {r["status"] for r in results.values()} <= OK_STATUSES, (name, results)
    for node in (a, b):  # the later checkpoints were cosigned at the later time
        note = SignedNote.from_text(node.checkpoint().text)
        stamps = {int.from_bytes(sig.signature[:8], "big") for sig in note.signatures
                  if len(sig.signature) == 8 + 64}
        assert later_time in stamps, (node.name, stamps)
    assert disputed_times(net, page) == first
    for node in net.nodes:
        doc = node.cli("status", page, "--node", node.url, "--json", ok=(0, 2))
        if node is c:  # on neither's own log: the node says where the work is registered
            assert doc.code == 2 and a.origin in doc.err and b.origin in doc.err, doc
            continue
        got = doc.json()
        assert got["disputed"] is True
        regs = got["registrations"]
        assert {(r["origin"], r["registrant"]) for r in regs} == {(a.origin, owner),
                                                                  (b.origin, rival)}
        times = [r["cosigned_at"] for r in regs]
        assert None not in times and times == sorted(times), regs
        text = node.cli("status", page, "--node", node.url).out
        assert text.startswith("DISPUTED")
        assert a.origin in text and b.origin in text

    # A node asked about a work that only a mirrored log holds names that log; the answer
    # to "may" stays no (opt-in), with the registration to ask about.
    refused = a.cli("status", only_b, "--node", a.url, ok=(2,))
    assert b.origin in refused.err and rival in refused.err
    assert len(refused.err.strip().splitlines()) == 1
    decision = a.cli("may", owner, "ai_training", only_b, "--node", a.url, "--json",
                     ok=(1,)).json()
    assert decision["allowed"] is False
    assert [(r["origin"], r["registrant"]) for r in decision["elsewhere"]] == [
        (b.origin, rival)]
    on_c = c.cli("may", owner, "ai_training", page, "--node", c.url, "--json", ok=(1,)).json()
    assert {r["origin"] for r in on_c["elsewhere"]} == {a.origin, b.origin}
    # A whole id in any case, with or without "sha256:", names the same work.
    shouted = "SHA256:" + on_c["work"].removeprefix("sha256:").upper()
    assert c.cli("may", owner, "ai_training", shouted, "--node", c.url, "--json",
                 ok=(1,)).json()["elsewhere"] == on_c["elsewhere"]
    bare = httpx.get(f"{c.url}/works/{shouted.removeprefix('SHA256:')}", timeout=30)
    assert bare.status_code == 404 and bare.json()["elsewhere"] == on_c["elsewhere"]
    assert on_c["work"] in bare.json()["error"]
    unknown = tmp_path / "nowhere.png"
    unknown.write_bytes(b"registered on no log")
    none = a.cli("may", owner, "ai_training", unknown, "--node", a.url, "--json",
                 ok=(1,)).json()
    assert none["elsewhere"] == []


def disputed_times(net: Network, page: Path) -> dict[str, list[tuple[str, str]]]:
    """(origin, cosigned_at) of each registration of ``page``, as a and b report it."""
    out = {}
    for node in (net.a, net.b):
        regs = node.cli("status", page, "--node", node.url, "--json").json()["registrations"]
        out[node.name] = [(r["origin"], r["cosigned_at"]) for r in regs]
    return out


# -- 5. fork detection -----------------------------------------------------------------------


def test_forked_node_is_detected_by_each_peer_and_stops_being_mirrored(
        network: Network, tmp_path: Path) -> None:
    net = network
    a, b, c = net.nodes
    for node in (b, c):  # both have mirrored and cosigned a's latest checkpoint
        node.sync()
    real = a.checkpoint().text
    real_text = SignedNote.from_text(real).text
    size = Checkpoint.from_text(real_text).size
    forged = forktool.fork_of(a.home, real)
    forged_text = SignedNote.from_text(forged).text
    assert Checkpoint.from_text(forged_text).size == size and forged_text != real_text
    verify_checkpoint_note(forged, [a.log_verifier])  # a validly signed fork

    # c meets the fork presented to its witness (the tool run as a command, as by hand).
    tool = subprocess.run(
        [sys.executable, "-m", "tests.node.forktool", "present", "--home", str(a.home),
         "--node", a.url, "--url", c.url],
        cwd=REPO, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False)
    assert tool.returncode == 1 and "add-checkpoint answered 409" in tool.stdout, tool
    # b meets it in a mirroring round: a impostor stands at a's URL and forwards to a, moved.
    a.stop()
    a.start(port=free_port())
    with forktool.impersonate(a.home, a.port, f"http://127.0.0.1:{a.serving_port}") as fake:
        code, results = b.sync(ok=(1,))
        assert fake.forged
    a.stop()
    a.start()
    assert results[a.origin]["status"] == "faulty", results
    assert results[c.origin]["status"] in {*OK_STATUSES, "empty"}  # c is empty when alone

    for peer in (b, c):
        shown = peer.cli("node", "evidence", "--home", peer.home, "--json").json()
        served = httpx.get(f"{peer.url}/evidence", params={"origin": a.origin}, timeout=30)
        assert served.status_code == 200
        assert a.origin in shown["faulty"] and a.origin in served.json()["faulty"]
        items = [e for e in shown["evidence"] if e["origin"] == a.origin]
        assert items and items == served.json()["evidence"]
        evidence = Evidence.from_json(items[0])
        assert evidence.kind == "split-view"
        assert {SignedNote.from_text(n).text for n in evidence.checkpoints} == {
            real_text, forged_text}
        verify_evidence(evidence, a.log_vkey)
        # The evidence is against a's key only, and both notes are needed.
        with pytest.raises(VerificationError):
            verify_evidence(evidence, b.log_vkey)
        same = (evidence.checkpoints[0], evidence.checkpoints[0])
        with pytest.raises(VerificationError):
            verify_evidence(dataclasses.replace(evidence, checkpoints=same), a.log_vkey)
        text = peer.cli("node", "evidence", "--home", peer.home).out.splitlines()
        assert any(line.startswith(f"{a.origin}: split-view recorded ") for line in text)
        assert f"faulty: {a.origin} (mirroring stopped)" in text
    # Works registered on a are shown by its peers as on a log marked faulty.
    registered = net.acked["a"][sorted(net.acked["a"])[0]]["event"]["work"]
    on_b = b.cli("may", net.creators[0].public.text, "ai_training", registered, "--node",
                 b.url, "--json", ok=(1,)).json()
    assert [(r["origin"], r["faulty"]) for r in on_b["elsewhere"]] == [(a.origin, True)]
    assert not [e for e in a.cli("node", "evidence", "--home", a.home, "--json").json()[
        "evidence"] if e["origin"] == a.origin]  # a never saw its own fork

    # A receipt against the checkpoint both peers cosigned verifies under a 2-of-2 policy,
    # and is refused once the verifier is given the evidence.
    event_id = sorted(net.acked["a"])[0]
    r = httpx.get(f"{a.url}/receipts/{event_id}", params={"size": size}, timeout=30)
    assert r.status_code == 200, r.text
    receipt = tmp_path / "a.receipt.json"
    receipt.write_text(r.text)
    policy = write_policy(tmp_path / "a.policy", a, peer_witnesses(net, a), "2 b c")
    evidence_file = tmp_path / "evidence.json"
    evidence_file.write_text(b.cli("node", "evidence", "--home", b.home, "--json").out)
    a.cli("verify", receipt, "--policy", policy)
    refused = a.cli("verify", receipt, "--policy", policy, "--evidence", evidence_file, ok=(1,))
    assert "faulty" in refused.err + refused.out or "split" in refused.err + refused.out

    # a keeps growing; its peers refuse to mirror it any further.
    net.submit(a, "after-fork-a", 10, clients=2)
    assert size_of(a) > size
    for peer in (b, c):
        code, results = peer.sync(ok=(1,))
        r = results[a.origin]
        assert (r["status"], r["old_size"], r["new_size"]) == ("faulty", size, size), r
        assert not r["cosigned"] and not r["delivered"]
        mirror = peer.mirror(a)
        try:
            assert audit(mirror).entries == size
        finally:
            mirror.close()


def test_fork_at_an_earlier_size_is_evidence_too(network: Network) -> None:
    """b's log key signs a twin of b's first checkpoint (a size a has mirrored and cosigned,
    now behind b's latest), and an impostor serves it at b's URL to a's mirroring round."""
    net = network
    a, b, _ = net.nodes
    earlier = net.rounds[0]["a"][1][b.origin]["new_size"]
    if size_of(b) == earlier:  # this test alone: b has not grown since the first rounds
        net.submit(b, "later-b", 10, clients=2)
    a.sync()  # a's mirror and witness now hold a checkpoint of b after ``earlier``
    b.stop()
    b.start(port=free_port())
    try:
        with forktool.impersonate(b.home, b.port, f"http://127.0.0.1:{b.serving_port}",
                                  size=earlier) as fake:
            _, results = a.sync(ok=(0, 1))
            assert fake.forged
    finally:
        b.stop()
        b.start()
    assert results[b.origin]["status"] == "faulty", results[b.origin]
    shown = a.cli("node", "evidence", "--home", a.home, "--json").json()
    items = [Evidence.from_json(e) for e in shown["evidence"] if e["origin"] == b.origin]
    assert items
    verify_evidence(items[0], b.log_vkey)
