"""Shutdown and restart of a real node process: ``serve()`` in a subprocess on 127.0.0.1,
signalled while clients are submitting; after a restart every acknowledged event is there,
its receipt verifies, and the whole log audits clean.

SIGTERM is the graceful path (requests in flight finish; queued events are integrated);
SIGKILL is the crash path (an event is acknowledged only once its block is committed).

Nothing here sleeps for time to pass: each wait polls the condition it needs (a client's
request written, the server's socket drained, a log line) until a deadline.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.ledger import Home, audit
from provenance_ledger.node import init_node, node_keys
from provenance_ledger.node.config import check_vkey

from ..conftest import NOW, KeyFactory, Signer
from .conftest import HOST, ORIGIN, STARTUP_TIMEOUT, free_port, poll_until, register

SERVE = (
    "import sys\n"
    "from pathlib import Path\n"
    "from provenance_ledger.node.server import serve\n"
    "serve(Path(sys.argv[1]), port=int(sys.argv[2]), clock=lambda: int(sys.argv[3]))\n"
)
CLIENTS = 8
EVENTS_PER_CLIENT = 60
SIGNAL_AFTER = 60  # acknowledged events before the signal




def unread_bytes_at_server(port: int) -> list[int]:
    """Bytes each established TCP connection to ``port`` on 127.0.0.1 holds that the server
    process has not read yet (the receive queues of /proc/net/tcp, server side)."""
    queues = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # ESTABLISHED
            queues.append(int(fields[4].split(":")[1], 16))
    return queues


@contextmanager
def node_process(home: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``serve(home)`` in a subprocess, on a free port, logging to ``log``."""
    port = free_port()
    with log.open("ab") as err:
        proc = subprocess.Popen([sys.executable, "-c", SERVE, str(home), str(port), str(NOW)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)
    url = f"http://{HOST}:{port}"

    def answers() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(url + "/keys", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        poll_until(answers, "the node answers")
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=STARTUP_TIMEOUT)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_signal_mid_submission_loses_no_acknowledged_event(
        tmp_path: Path, sign: Signer, keys: KeyFactory, sig: signal.Signals) -> None:
    """For SIGTERM the test holds SQLite's write lock while it signals, so that every client
    has a submission in flight (queued or in a block that cannot commit yet) when the signal
    arrives; after the lock is released those submissions must still be answered 200."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:0")
    log = tmp_path / "node.log"
    leaves = [[register(sign, keys(f"c{c}"), f"s{c}-{i}") for i in range(EVENTS_PER_CLIENT)]
              for c in range(CLIENTS)]
    acked: list[str] = []
    acked_after_signal: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()
    enough = threading.Event()
    signalled = threading.Event()
    # Clients still submitting, and those whose current request is wholly written.
    active, written = set(range(CLIENTS)), set()

    with node_process(home, log) as (proc, url):

        def client(c: int) -> None:
            def trace(event: str, info: Any) -> None:
                if event == "http11.send_request_body.complete":
                    with lock:
                        written.add(c)

            with httpx.Client(base_url=url, timeout=30) as http:
                for ev in leaves[c]:
                    try:
                        r = http.post("/events", content=ev.leaf, extensions={"trace": trace})
                    except httpx.TransportError:
                        with lock:
                            active.discard(c)
                        return  # the server is gone: nothing more is acknowledged
                    with lock:
                        written.discard(c)
                        statuses.append(r.status_code)
                        if r.status_code == 200:
                            assert r.json()["event"]["id"] == ev.id
                            acked.append(ev.id)
                            if signalled.is_set():
                                acked_after_signal.append(ev.id)
                            if len(acked) >= SIGNAL_AFTER:
                                enough.set()
                    if r.status_code != 200:
                        with lock:
                            active.discard(c)
                        return
            with lock:
                active.discard(c)

        committed: list[int] = []  # entries in the database while the test holds the lock

        def all_in_flight() -> bool:
            """Every committed event was answered, and every client's current request is
            written and read by the server: with no block able to commit, each is in flight.
            (A request whose bytes the server has not read yet is not: shutdown drops it.)"""
            with lock:
                if len(acked) != committed[0] or not active or written != active:
                    return False
            unread = unread_bytes_at_server(int(url.rsplit(":", 1)[1]))
            return len(unread) >= CLIENTS and not any(unread)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        assert enough.wait(STARTUP_TIMEOUT)
        blocker = sqlite3.connect(home / "ledger.db", isolation_level=None)
        if sig == signal.SIGTERM:
            blocker.execute("BEGIN IMMEDIATE")  # the next block cannot commit
            committed.append(blocker.execute("SELECT count(*) FROM entries").fetchone()[0])
            poll_until(all_in_flight, "every client waits for a receipt")
        with lock:
            signalled.set()
            proc.send_signal(sig)
        if blocker.in_transaction:
            poll_until(lambda: "Waiting for connections to close" in log.read_text(),
                       "the server is shutting down with requests in flight")
            blocker.execute("ROLLBACK")
        blocker.close()
        for t in threads:
            t.join(STARTUP_TIMEOUT)
        code = proc.wait(STARTUP_TIMEOUT)
    assert code in (0, -sig)
    assert set(statuses) <= {200, 503}, statuses  # never a server error
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert not any("PRIVATE KEY" in line for line in lines)
    if sig == signal.SIGTERM:
        assert any(r["msg"] == "node stopped" for r in records)
        # Each client had one submission in flight; all were integrated and answered.
        assert len(acked_after_signal) == CLIENTS

    # After a restart every acknowledged event has a receipt that verifies offline.
    log_key = [check_vkey(node_keys(home)["log"], "log", ORIGIN, 0x01)]
    with node_process(home, log) as (_, url), httpx.Client(base_url=url, timeout=30) as http:
        for event_id in acked:
            r = http.get(f"/receipts/{event_id}")
            assert r.status_code == 200, (event_id, r.text)
            verify_receipt(Receipt.from_json(r.json()), log_key)
    ledger = Home(home).open_ledger()
    try:
        assert audit(ledger).entries == ledger.size >= len(acked)
    finally:
        ledger.close()
