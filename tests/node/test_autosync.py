"""Mirroring inside ``node serve`` (specs/node.md section 4.1): real ``provenance node serve``
processes on 127.0.0.1 whose node.toml says ``mirror_interval = 1``; nobody runs ``node
sync``. Node a trusts b (a real node), a peer that is down and a peer that answers garbage.

Nothing sleeps for time to pass: each wait polls its condition (a mirror's size, a
cosignature on b's checkpoint, a line in a's log) until a deadline.
"""

from __future__ import annotations

import hashlib
import json
import signal
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner
from provenance_ledger.core.receipt import verify_checkpoint_note
from provenance_ledger.node.autosync import round_lock

from .conftest import HOST, STARTUP_TIMEOUT, free_port, poll_until, reply, serving_http
from .network_helpers import (
    LogWatch,
    Node,
    Processes,
    chains,
    in_parallel,
    make_network,
    submit,
)

INTERVAL = 1  # seconds between a's rounds (node.toml, set by ``node init --mirror-interval``)
GHOST = "ghost.test/log"  # a peer nothing listens for
GARBAGE = "garbage.test/log"  # a peer that answers anything with junk




def stranger_vkey(origin: str) -> str:
    key = PrivateKey.from_seed(hashlib.sha256(origin.encode()).digest())
    return NoteSigner(origin, key).verifier.to_vkey()


class Junk(BaseHTTPRequestHandler):
    """A hostile peer: every GET and POST is answered 200 with bytes that are no note."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        reply(self, 200, b"\x00not a checkpoint\xff" * 64, "text/plain")

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: Any) -> None:
        pass


def round_records(node: Node, origin: str) -> list[dict[str, Any]]:
    """a's ``mirror round`` log records about ``origin``, in order."""
    out = []
    for line in node.log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("msg") == "mirror round" and record.get("origin") == origin:
            out.append(record)
    return out


def cosigned_by(node: Node, witness: Node) -> int | None:
    """The size of ``node``'s latest checkpoint if ``witness``'s cosignature is on it."""
    r = node.checkpoint()
    if r.status_code != 200:
        return None
    cp, _, cosigners = verify_checkpoint_note(
        r.text, [node.log_verifier], {witness.witness_name: witness.witness_verifier})
    return cp.size if witness.witness_name in cosigners else None


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Node, Node, str]]:
    """a and b serving, each mirroring the other every INTERVAL seconds; a also trusts a
    ghost and a garbage-answering peer. Yields (a, b, the garbage peer's URL)."""
    processes = Processes()
    junk = ThreadingHTTPServer((HOST, 0), Junk)
    try:
        with serving_http(junk):
            a, b = make_network(tmp_path / "net", ("a", "b"), processes,
                                mirror_interval=INTERVAL)
            garbage_url = f"http://{HOST}:{junk.server_address[1]}"
            for origin, url in ((GHOST, f"http://{HOST}:{free_port()}"),
                                (GARBAGE, garbage_url)):
                a.cli("node", "peer", "add", "--home", a.home, "--origin", origin, "--url", url,
                      "--vkey", stranger_vkey(origin))
            in_parallel(a.start, b.start)
            yield a, b, garbage_url
    finally:
        processes.close()


def test_serve_mirrors_cosigns_and_delivers_on_its_own(pair: tuple[Node, Node, str]) -> None:
    a, b, garbage_url = pair
    assert a.cli("node", "config", "--home", a.home, "--json").json()["mirror_interval"] == 1
    works = chains([PrivateKey.from_seed(bytes([7]) * 32)], "auto", 30, int(time.time()), 3)
    submit(b.url, works)
    size = httpx.get(f"{b.url}/checkpoint", timeout=30).text.split("\n")[1]
    b_size = int(size)
    assert b_size >= 30

    def mirrored() -> bool:
        mirror = a.mirror(b)
        try:
            return mirror.size == b_size
        finally:
            mirror.close()

    # a mirrors b's new entries, and its cosignature reaches b's checkpoint, by itself.
    poll_until(mirrored, "a mirrored b's entries")
    poll_until(lambda: cosigned_by(b, a) == b_size, "a's cosignature is on b's checkpoint")
    # b, mirroring a the same way, has cosigned a's (empty) log.
    poll_until(lambda: cosigned_by(a, b) == 0, "b's cosignature is on a's checkpoint")

    # One log line per peer and round: b mirrored; the down and the hostile peer are errors
    # naming them, and the rounds go on (b is seen again, up to date).
    def reached(records: list[dict[str, Any]]) -> int | None:
        """The index of the record of the round that mirrored b up to ``b_size``."""
        return next((i for i, r in enumerate(records)
                     if (r["status"], r["new_size"]) == ("mirrored", b_size)), None)

    def settled() -> bool:
        records = round_records(a, b.origin)
        i = reached(records)
        return i is not None and any(r["status"] == "up-to-date" for r in records[i + 1:])

    poll_until(settled, "a round of a after the one that mirrored b")
    for_b = round_records(a, b.origin)
    i = reached(for_b)
    assert i is not None and for_b[i]["cosigned"] and for_b[i]["delivered"], for_b
    later = next(r for r in for_b[i + 1:] if r["status"] == "up-to-date")
    assert (later["old_size"], later["new_size"], later["level"]) == (b_size, b_size, "info")
    ghost, garbage = round_records(a, GHOST), round_records(a, GARBAGE)
    assert ghost and {r["status"] for r in ghost} == {"error"}
    assert {r["level"] for r in ghost} == {"warning"}
    assert f"peer {GHOST}" in ghost[0]["detail"]
    assert garbage and {r["status"] for r in garbage} == {"error"}
    assert garbage_url in garbage[0]["detail"]
    assert len(ghost) >= len(for_b) - 1  # every round asked every peer


def test_no_second_round_while_one_holds_the_home(pair: tuple[Node, Node, str]) -> None:
    a, _, _ = pair
    watch = LogWatch(a.log)
    sync_log = a.home.parent / "a.sync.log"
    # While a round holds the home, serve's rounds skip (and say so), and a node sync by
    # hand waits, saying so; once it is free, both run again.
    with round_lock(a.home, wait=False):
        assert watch.wait_for(lambda r: r.get("msg") == "mirror round skipped")
        by_hand = a.start_sync()
        poll_until(lambda: sync_log.exists() and "waiting for the mirroring round node serve "
                   f"is running on {a.home}" in sync_log.read_text(), "node sync waits")
        assert by_hand.poll() is None
    assert by_hand.wait(timeout=STARTUP_TIMEOUT) == 1  # the ghost and garbage peers failed
    assert f"{GHOST}: error" in sync_log.read_text()
    assert watch.wait_for(lambda r: r.get("msg") == "mirror round")


def test_shutdown_stops_the_rounds(pair: tuple[Node, Node, str]) -> None:
    a, b, _ = pair
    watch = LogWatch(a.log)
    assert watch.wait_for(lambda r: r.get("msg") == "mirror round")
    assert a.stop(signal.SIGTERM) == -signal.SIGTERM
    records = [json.loads(line) for line in a.log.read_text().splitlines()
               if line.startswith("{")]
    msgs = [r["msg"] for r in records]
    stopped = msgs.index("node stopped")
    # The rounds stopped before the node closed its witness and ledger, and none after.
    assert max(i for i, m in enumerate(msgs) if m.startswith("mirror round")) < stopped
    assert b.stop(signal.SIGTERM) == -signal.SIGTERM


def test_interval_zero_is_off_and_bad_intervals_are_refused(tmp_path: Path) -> None:
    processes = Processes()
    try:
        a, b = make_network(tmp_path / "net", ("a", "b"), processes)  # interval 0
        assert a.cli("node", "config", "--home", a.home, "--json").json()[
            "mirror_interval"] == 0
        text = a.cli("node", "config", "--home", a.home).out
        assert "mirroring        off (node sync only)" in text
        for bad in ("-1", "86401"):
            refused = a.cli("node", "config", "--home", a.home, "--mirror-interval", bad,
                            ok=(2,))
            assert refused.err.startswith(f"error: --mirror-interval: '{bad}' is not a whole "
                                          "number of seconds (0 to 86400; 0: off)")
            assert len(refused.err.splitlines()) == 1 and "Traceback" not in refused.err
        toml = a.home / "node.toml"
        toml.write_text(toml.read_text().replace("mirror_interval = 0",
                                                 'mirror_interval = "often"'))
        refused = a.cli("node", "serve", "--home", a.home, ok=(2,))
        assert refused.err == ("error: node.toml: field 'mirror_interval' must be a whole "
                               "number of seconds from 0 (off) to 86400, not 'often'\n")
        toml.write_text(toml.read_text().replace('mirror_interval = "often"',
                                                 "mirror_interval = 0"))
        a.cli("node", "config", "--home", a.home, "--mirror-interval", "300")
        assert "mirror_interval = 300\n" in toml.read_text()
        # Each node says at start how often it mirrors; at 0 it starts no rounds at all.
        in_parallel(a.start, b.start)
        started = {n.name: [json.loads(line) for line in n.log.read_text().splitlines()
                            if line.startswith("{")] for n in (a, b)}
        every = [r for r in started["a"] if r["msg"] == "mirroring every interval"]
        assert [(r["interval_s"], r["peers"]) for r in every] == [(300, 1)]
        assert "node started" in {r["msg"] for r in started["b"]}
        assert not [r for r in started["b"] if r["msg"].startswith("mirror")]
    finally:
        processes.close()
