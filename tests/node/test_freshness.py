"""Freshness (specs/node.md section 9.2; node/freshness.py, node/witnessing.py): an idle node
has its latest checkpoint cosigned again once its witnesses' cosignatures are
``freshness_interval`` seconds old, without signing anything with its log key.

Node a and its witnesses b and c are real ledger nodes, each a uvicorn server on 127.0.0.1 in
a thread of the test process; b and c list a among their peers, as a witness must. All three
read one injected clock, so their cosignature times are that clock's: a test moves it forward
instead of waiting for time to pass, and a looks at its checkpoint's age every few hundredths
of a second (``freshness_look_s``), so each wait below is a poll for a state. What the machine
cannot have (a witness that breaks the protocol, a witness held mid-answer) stands in front of
a real node or answers by itself, on 127.0.0.1 too.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner, SignedNote, Verifier
from provenance_ledger.core.receipt import Receipt, verify_checkpoint_note, verify_receipt
from provenance_ledger.core.timefmt import format_time
from provenance_ledger.core.witness import (
    SIZE_CONTENT_TYPE,
    AddCheckpointRequest,
    add_checkpoint_body,
)
from provenance_ledger.node import add_peer, init_node, node_keys, node_witness
from provenance_ledger.node.config import add_witness, load_config, set_witnessing
from provenance_ledger.node.freshness import RETRY_S, Freshness, cosignature_time, fresh_as_of
from provenance_ledger.node.mirror import sync_all
from provenance_ledger.node.server import make_server

from ..cli.conftest import run
from ..conftest import NOW, KeyFactory, Signer
from .conftest import (
    HOST,
    ORIGIN,
    STARTUP_TIMEOUT,
    RunningNode,
    free_port,
    grant,
    leaf_id,
    poll_until,
    register,
    reply,
    serving_http,
    work,
)

INTERVAL = 300  # node.toml's default freshness_interval, in seconds
LOOK_S = 0.02  # seconds between a's looks at its checkpoint's age (real time)
TIMEOUT_S = 30.0  # a's witnessing timeout: no test here waits for it


class Clock:
    """The clock every node of a test reads: seconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self._now = float(NOW)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@contextmanager
def serving(home: Path, clock: Clock, **options: Any) -> Iterator[RunningNode]:
    """The node at ``home`` on the address of its node.toml, in a thread, on ``clock``;
    stopped (its lifespan shut down) on exit."""
    server = make_server(home, clock=clock, **options)
    thread = threading.Thread(target=server.run, name=f"uvicorn {home.name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"node {home.name} did not start")
        time.sleep(0.01)
    try:
        yield RunningNode(home, server, thread, f"http://{load_config(home).listen}")
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)


# -- what the machine cannot have: a witness held mid-answer, a witness breaking the protocol ---


class Forwarding:
    """An HTTP server on 127.0.0.1 in front of a real witness node: it passes each
    add-checkpoint request on to ``target`` and its answer back, records ``(old, checkpoint
    size, status)`` of each, and holds requests while ``gate`` is clear (``held`` counts
    those waiting)."""

    def __init__(self) -> None:
        self.target = ""
        self.seen: list[tuple[int, int, int]] = []
        self.held = 0
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((HOST, free_port()), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                req = AddCheckpointRequest.from_bytes(body)
                with proxy._lock:
                    proxy.held += 1
                proxy.gate.wait(STARTUP_TIMEOUT * 3)
                with proxy._lock:
                    proxy.held -= 1
                answer = httpx.post(proxy.target + self.path, content=body, timeout=30,
                                    headers={"content-type": "text/plain"})
                with proxy._lock:
                    proxy.seen.append((req.old, req.checkpoint.size, answer.status_code))
                try:
                    reply(self, answer.status_code, answer.content,
                          answer.headers["content-type"])
                except OSError:  # the node asking is gone (a test of shutdown)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class Refusing:
    """A witness that answers every add-checkpoint with 409 naming the very size it was
    sent, which C2SP tlog-witness answers for another root at that size: a refusal, not a
    size to resume from. Records ``(old, checkpoint size)`` of each request."""

    def __init__(self) -> None:
        seed = b"refusing witness".ljust(32, b".")
        self.signer = NoteSigner("refusing.witness.test", PrivateKey.from_seed(seed), True)
        self.requests: list[tuple[int, int]] = []
        self.server = ThreadingHTTPServer((HOST, free_port()), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        witness = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                req = AddCheckpointRequest.from_bytes(
                    self.rfile.read(int(self.headers["Content-Length"])))
                witness.requests.append((req.old, req.checkpoint.size))
                reply(self, 409, f"{req.old}\n".encode(), SIZE_CONTENT_TYPE)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def forwarding() -> Iterator[Forwarding]:
    proxy = Forwarding()
    with serving_http(proxy.server):
        try:
            yield proxy
        finally:
            proxy.gate.set()


@dataclass
class Net:
    """Node a's home, its witness nodes' homes (by the name a gives them), a's log key."""

    a: Path
    witnesses: dict[str, Path]
    log_vkey: str

    def verifiers(self) -> dict[str, Verifier]:
        return {name: Verifier.from_vkey(node_keys(home)["witness"])
                for name, home in self.witnesses.items()}


def make_net(tmp_path: Path, names: tuple[str, ...] = ("b", "c"),
             ask: dict[str, str] | None = None) -> Net:
    """Node a (origin ORIGIN) and witness nodes that list a as a peer; a asks them (at the
    URL in ``ask``, else their own), all of them for its quorum, waiting TIMEOUT_S at most.
    No node mirrors by itself (mirror_interval 0)."""
    a = tmp_path / "a"
    init_node(a, ORIGIN, f"{HOST}:{free_port()}", mirror_interval=0)
    a_keys = node_keys(a)
    witnesses = {}
    for name in names:
        home = tmp_path / name
        init_node(home, f"{name}.test/log", f"{HOST}:{free_port()}", mirror_interval=0)
        add_peer(home, ORIGIN, f"http://{load_config(a).listen}", a_keys["log"],
                 a_keys["witness"])
        url = (ask or {}).get(name, f"http://{load_config(home).listen}")
        add_witness(a, name, url, node_keys(home)["witness"])
        witnesses[name] = home
    set_witnessing(a, None, TIMEOUT_S)
    return Net(a, witnesses, a_keys["log"])


@dataclass(frozen=True)
class Served:
    """What ``GET /checkpoint`` serves, verified: the note, its size, the log's signature
    line, and the time of each witness's valid cosignature."""

    note: SignedNote
    size: int
    log_line: str
    times: dict[str, int]


def served(url: str, net: Net) -> Served:
    text = httpx.get(url + "/checkpoint", timeout=30).text
    cp, note, times = verify_checkpoint_note(text, [Verifier.from_vkey(net.log_vkey)],
                                             net.verifiers())
    log_line = next(s.to_line() for s in note.signatures if s.name == ORIGIN)
    return Served(note, cp.size, log_line, dict(times))


def cosigned_at(url: str, net: Net, when: float) -> bool:
    """Whether a's latest checkpoint carries every witness's cosignature made at ``when``."""
    return set(served(url, net).times.values()) == {int(when)} and \
        len(served(url, net).times) == len(net.witnesses)


# -- the schedule (node/freshness.py), from values -------------------------------------------


def _cosigner(name: str) -> NoteSigner:
    return NoteSigner(f"{name}.witness.test", PrivateKey.from_seed(name.encode().ljust(32, b"-")),
                      True)


def test_fresh_as_of_is_the_quorum_th_newest_time_of_the_listed_witnesses() -> None:
    b, c, d, stranger = (_cosigner(n) for n in ("b", "c", "d", "stranger"))
    text = "node-a.test/log\n1\n" + "A" * 43 + "=\n"
    sigs = [b.sign(text, NOW), b.sign(text, NOW + 50), c.sign(text, NOW + 20),
            d.sign(text, NOW + 10_000),  # ahead of the clock: counts as now
            stranger.sign(text, NOW + 99)]  # not listed: ignored
    listed = [b.verifier, c.verifier, d.verifier]
    now = NOW + 100
    assert fresh_as_of(sigs, listed, 1, now) == NOW + 100  # d, clamped to now
    assert fresh_as_of(sigs, listed, 2, now) == NOW + 50  # b's newest, not its older
    assert fresh_as_of(sigs, listed, 3, now) == NOW + 20
    assert fresh_as_of(sigs, listed, 4, now) is None  # fewer than the quorum cosigned
    assert fresh_as_of(sigs[:1], [c.verifier], 1, now) is None
    assert cosignature_time(b.sign(text, NOW + 7)) == NOW + 7


def test_due_is_the_interval_after_the_quorum_and_never_within_a_minute_of_a_round() -> None:
    f = Freshness(INTERVAL)
    assert f.due(NOW, NOW) == NOW + INTERVAL
    assert f.due(NOW, NOW + INTERVAL) == NOW + INTERVAL + RETRY_S  # a round just began
    assert f.due(None, NOW) == NOW + RETRY_S  # never cosigned by the quorum: retried
    assert Freshness(RETRY_S // 2).due(None, NOW) == NOW + RETRY_S // 2
    with pytest.raises(ValueError):
        Freshness(0)


def again_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The fields of each ``checkpoint cosigned again`` log record so far."""
    return [rec.fields for rec in caplog.records
            if rec.getMessage() == "checkpoint cosigned again"]


def test_an_idle_log_is_cosigned_again_after_the_interval_with_the_same_log_signature(
        tmp_path: Path, sign: Signer, keys: KeyFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    net = make_net(tmp_path)
    with caplog.at_level(logging.INFO, logger="provenance_ledger"), \
            serving(net.witnesses["b"], clock), serving(net.witnesses["c"], clock), \
            serving(net.a, clock, freshness_look_s=LOOK_S) as a:
        leaf = register(sign, keys("alice"), "page-1").leaf
        r = httpx.post(a.url + "/events", content=leaf, timeout=TIMEOUT_S * 2)
        assert r.status_code == 200 and r.headers["Provenance-Cosigned"] == "2"
        first = served(a.url, net)
        assert (first.size, first.times) == (1, {"b": NOW, "c": NOW})

        clock.advance(INTERVAL - 1)  # not due yet: a round now would be timed NOW + 299
        clock.advance(1)
        poll_until(lambda: cosigned_at(a.url, net, NOW + INTERVAL),
                   "a's checkpoint is cosigned again at NOW + the interval")
        again = served(a.url, net)
        # The same checkpoint, byte for byte, and the same log signature: only the
        # witnesses' cosignatures are newer, each witness's once (replaced, not added).
        assert (again.size, again.note.text, again.log_line) == (1, first.note.text,
                                                                 first.log_line)
        assert len(again.note.signatures) == 1 + 2
        assert again_records(caplog) == [{"size": 1, "cosigned": ["b", "c"], "quorum": 2}]

        # A receipt served from now on carries the fresh cosignatures and verifies offline.
        receipt = httpx.get(f"{a.url}/receipts/{leaf_id(leaf)}", timeout=30).json()
        verified = verify_receipt(Receipt.from_json(receipt),
                                  [Verifier.from_vkey(net.log_vkey)], net.verifiers())
        assert dict(verified.cosigners) == {"b": NOW + INTERVAL, "c": NOW + INTERVAL}
        # The older cosignatures, delivered again (anyone may POST them), replace nothing.
        replay = add_checkpoint_body(0, [], first.note.to_text())
        assert httpx.post(a.url + "/add-checkpoint", content=replay, timeout=30).status_code \
            == 200
        assert served(a.url, net).times == {"b": NOW + INTERVAL, "c": NOW + INTERVAL}
        # The earliest time a witness vouched for the registration does not move (node.md 6).
        registered = httpx.get(f"{a.url}/works/{work('page-1')}", timeout=30).json()
        assert [reg["cosigned_at"] for reg in registered["registrations"]] == [format_time(NOW)]

        # A second interval later it is cosigned again, and only once per interval.
        clock.advance(INTERVAL)
        poll_until(lambda: cosigned_at(a.url, net, NOW + 2 * INTERVAL),
                   "a's checkpoint is cosigned again a second time")
        assert len(again_records(caplog)) == 2
        assert served(a.url, net).log_line == first.log_line


def test_the_empty_tree_is_cosigned_again_too(tmp_path: Path) -> None:
    """A log with no event yet: its size-0 checkpoint is what a proof of absence is against."""
    clock = Clock()
    net = make_net(tmp_path, ("b",))
    with serving(net.witnesses["b"], clock), \
            serving(net.a, clock, freshness_look_s=LOOK_S) as a:
        assert served(a.url, net).times == {}  # no block, no round yet
        clock.advance(INTERVAL)
        poll_until(lambda: cosigned_at(a.url, net, NOW + INTERVAL), "the empty tree cosigned")
        assert served(a.url, net).size == 0


def test_a_witness_that_already_holds_the_checkpoint_answers_409_and_is_asked_again(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    """b cosigned a's checkpoint while mirroring a, before a listed it as a witness: a asks
    from 0, b answers 409 naming the checkpoint's own size, and a asks again from that size
    with no proof. The freshness rounds then go from that size straight away."""
    clock = Clock()
    net = make_net(tmp_path, ())
    b = tmp_path / "b"
    init_node(b, "b.test/log", f"{HOST}:{free_port()}", mirror_interval=0)
    a_keys = node_keys(net.a)
    add_peer(b, ORIGIN, f"http://{load_config(net.a).listen}", a_keys["log"], a_keys["witness"])
    with serving(net.a, clock) as a:
        leaf = register(sign, keys("alice"), "page-1").leaf
        assert httpx.post(a.url + "/events", content=leaf, timeout=30).status_code == 200
        with node_witness(b) as witness:
            [result] = sync_all(b, load_config(b), witness, NOW)
        assert (result.status, result.new_size, result.cosigned) == ("mirrored", 1, True)
    with forwarding() as proxy:
        proxy.target = f"http://{load_config(b).listen}"
        add_witness(net.a, "b", proxy.url, node_keys(b)["witness"])
        net.witnesses["b"] = b
        with serving(b, clock), serving(net.a, clock, freshness_look_s=LOOK_S) as a:
            poll_until(lambda: served(a.url, net).times == {"b": NOW}, "b's cosignature")
            assert proxy.seen == [(0, 1, 409), (1, 1, 200)]
            clock.advance(INTERVAL)
            poll_until(lambda: cosigned_at(a.url, net, NOW + INTERVAL), "b cosigns again")
            assert proxy.seen == [(0, 1, 409), (1, 1, 200), (1, 1, 200)]


def test_a_witness_refusing_the_size_it_was_sent_fails_once_a_round_and_is_retried_a_minute_later(
        tmp_path: Path, sign: Signer, keys: KeyFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    """A witness that answers 409 naming the very size it was sent is not asked again within
    the round. The quorum (both) then stays unmet, so the checkpoint is stale: it is asked
    for again a minute (RETRY_S) after the last round began, never sooner, and meanwhile b's
    newer cosignature is served."""
    clock = Clock()
    refusing = Refusing()
    net = make_net(tmp_path, ("b",))
    add_witness(net.a, "r", refusing.url, refusing.signer.verifier.to_vkey())
    with caplog.at_level(logging.INFO, logger="provenance_ledger"), \
            serving_http(refusing.server), serving(net.witnesses["b"], clock), \
            serving(net.a, clock, freshness_look_s=LOOK_S) as a:
        leaf = register(sign, keys("alice"), "page-1").leaf
        r = httpx.post(a.url + "/events", content=leaf, timeout=30)
        assert r.headers["Provenance-Pending-Witnesses"] == "r"
        assert refusing.requests == [(0, 1)]  # once, not once per 409
        clock.advance(59)  # a round now would be timed NOW + 59
        clock.advance(1)
        poll_until(lambda: served(a.url, net).times == {"b": NOW + 60}, "a round a minute on")
        poll_until(lambda: len(refusing.requests) == 2, "the refusing witness asked again")
        clock.advance(60)
        poll_until(lambda: served(a.url, net).times == {"b": NOW + 120}, "the next minute")
        poll_until(lambda: len(refusing.requests) == 3, "asked a third time")
        assert refusing.requests == [(0, 1)] * 3  # no round in between: the clock stood still
        refusals = [rec for rec in caplog.records
                    if rec.getMessage() == "witness did not cosign"]
        assert len(refusals) == 3
        assert all("answered 409 naming the size sent (0)" in rec.fields["error"]
                   for rec in refusals)


def test_a_block_committed_during_a_slow_round_for_freshness_is_witnessed_at_once(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    """A round for freshness waits for every witness, but not when a block comes: it gives
    way, and the submitter's receipt is cosigned by the witnesses that are not busy."""
    clock = Clock()
    with forwarding() as proxy:
        net = make_net(tmp_path, ("b", "c"), ask={"c": proxy.url})
        proxy.target = f"http://{load_config(net.witnesses['c']).listen}"
        set_witnessing(net.a, 1, TIMEOUT_S)
        with serving(net.witnesses["b"], clock), serving(net.witnesses["c"], clock), \
                serving(net.a, clock, freshness_look_s=LOOK_S) as a:
            first = register(sign, keys("alice"), "page-1")
            assert httpx.post(a.url + "/events", content=first.leaf, timeout=30).status_code \
                == 200
            poll_until(lambda: served(a.url, net).times == {"b": NOW, "c": NOW}, "both")
            proxy.gate.clear()  # c's next answer is held back
            clock.advance(INTERVAL)
            poll_until(lambda: proxy.held == 1 and served(a.url, net).times["b"] ==
                       NOW + INTERVAL, "a round for freshness waiting for c")
            t0 = time.monotonic()
            r = httpx.post(a.url + "/events", timeout=TIMEOUT_S * 2,
                           content=grant(sign, keys("alice"), "page-1", first.id).leaf)
            assert time.monotonic() - t0 < TIMEOUT_S / 2  # not held up until c's timeout
            assert (r.status_code, r.headers["Provenance-Cosigned"],
                    r.headers["Provenance-Pending-Witnesses"]) == (200, "1", "c")
            assert served(a.url, net).size == 2
            proxy.gate.set()


def test_shutdown_during_a_round_is_clean_and_the_next_start_resumes(
        tmp_path: Path, sign: Signer, keys: KeyFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    timeout = 3.0  # seconds a request in flight may hold the shutdown up
    with forwarding() as proxy:
        net = make_net(tmp_path, ("b",), ask={"b": proxy.url})
        proxy.target = f"http://{load_config(net.witnesses['b']).listen}"
        set_witnessing(net.a, None, timeout)
        with serving(net.witnesses["b"], clock), \
                caplog.at_level(logging.INFO, logger="provenance_ledger"):
            with serving(net.a, clock, freshness_look_s=LOOK_S) as a:
                leaf = register(sign, keys("alice"), "page-1").leaf
                r = httpx.post(a.url + "/events", content=leaf, timeout=30)
                assert r.headers["Provenance-Cosigned"] == "1"
                before = served(a.url, net)
                assert before.times == {"b": NOW}
                proxy.gate.clear()  # b's next answer is held back
                clock.advance(INTERVAL)
                poll_until(lambda: proxy.held == 1, "a round for freshness is under way")
                t0 = time.monotonic()
                a.server.should_exit = True
                a.thread.join(timeout=STARTUP_TIMEOUT)
                stopped_in = time.monotonic() - t0
            assert not a.thread.is_alive() and stopped_in < timeout + 5
            assert "node stopped" in [rec.getMessage() for rec in caplog.records]
            assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
            proxy.gate.set()
            with serving(net.a, clock, freshness_look_s=LOOK_S) as a:
                # Nothing of the cut round was stored: the checkpoint and its log signature
                # are as they were, and the node, started again, has it cosigned again.
                again = served(a.url, net)
                assert (again.note.text, again.log_line) == (before.note.text, before.log_line)
                poll_until(lambda: cosigned_at(a.url, net, NOW + INTERVAL), "b cosigns again")


def test_the_option_round_trips_and_bad_values_are_refused(tmp_path: Path) -> None:
    """``node init`` and ``node config`` through the real CLI: the value is written to
    node.toml and shown; a bad one is one line naming the option, exit 2, nothing written."""
    data = tmp_path / "data"
    home = tmp_path / "node"
    init = run("node", "init", "--home", home, "--origin", ORIGIN,
               "--freshness-interval", "10m", home=data)
    assert "  re-cosigning: once the latest cosignatures are 600 s old (needs witnesses)\n" \
        in init.out
    toml = home / "node.toml"
    assert "freshness_interval = 600\n" in toml.read_text()
    for value, seconds in (("1h", 3600), ("5m", INTERVAL), ("off", 0), ("90s", 90),
                           ("60", 60)):
        shown = run("node", "config", "--home", home, "--freshness-interval", value, "--json",
                    home=data)
        assert json.loads(shown.out)["freshness_interval"] == seconds
        # node.toml names it unless it is the default, as it does [witnessing]
        assert ("freshness_interval =" in toml.read_text()) == (seconds != INTERVAL)
        assert load_config(home).freshness_interval == seconds
        if seconds in (0, 60):
            assert ("re-cosigning     " + ("once the latest cosignatures are 60 s old (needs "
                                           "witnesses)" if seconds else
                                           "off (cosigned only after new blocks)")
                    ) in run("node", "config", "--home", home, home=data).out
    before = toml.read_bytes()
    for bad in ("59", "25h", "-1", "1.5", "5 m", "often", "0300"):
        r = run("node", "config", "--home", home, "--freshness-interval", bad,
                "--mirror-interval", "10", home=data, ok_codes=(2,))
        assert r.err.startswith("error: --freshness-interval must be off (or 0), or a "
                                "duration from 60 s to 24 h"), r.err
        assert r.err.count("\n") == 1 and "Traceback" not in r.err
        assert toml.read_bytes() == before  # neither option was written
    r = run("node", "init", "--home", tmp_path / "other", "--origin", ORIGIN,
            "--freshness-interval", "30s", home=data, ok_codes=(2,))
    assert r.err.startswith("error: --freshness-interval must be")
    assert not (tmp_path / "other" / "node.toml").exists()
    other = run("node", "init", "--home", tmp_path / "other", "--origin", ORIGIN, "--json",
                home=data)
    assert json.loads(other.out)["freshness_interval"] == INTERVAL  # the default
    toml.write_text(toml.read_text().replace("freshness_interval = 60", "freshness_interval = 30"))
    r = run("node", "config", "--home", home, home=data, ok_codes=(2,))
    assert r.err == ("error: node.toml: field 'freshness_interval' must be 0 (off) or a whole "
                     "number of seconds from 60 to 86400, not 30\n")
