#!/usr/bin/env python3
"""Crash harness for ``provenance node serve`` (issue: nothing acknowledged lost, nothing
half-done left behind; specs/node.md section 2).

    python bench/crash_node.py [--trials N] [--seed S] [--clients C] [--events E]
                               [--store postgresql://...]

One node home on 127.0.0.1. Each trial starts ``provenance node serve``, lets ``--clients``
threads submit signed events (``work.register`` of distinct works, signed here with the
library, as ``--node`` does) over keep-alive HTTP, and SIGKILLs the server at a random moment
(seeded). It restarts the server and *resumes*: every client sends again the event whose reply
it lost (the node must answer 200 with its receipt whether or not it had committed it:
specs/node.md section 2, ``POST /events``) and then the rest of its events. After the last
trial the server is stopped, ``provenance log audit`` re-verifies the whole log, and every
acknowledged event (a 200 answer) must be in the log exactly once, at the index its receipt
names, with every kept receipt verifying offline against the node's log key.

A progress line goes to stderr every 50 trials. Ctrl-C (SIGINT) ends a long run early but
whole: the trial under way finishes, then the resume and every check run on the trials done.

Prints one summary line; exits 0 when every check holds, 1 otherwise (2 for bad arguments).
``--store URL``: the node keeps its log in that PostgreSQL database, in a new schema made for
the run (specs/storage.md section 6): the killed server leaves open transactions that
PostgreSQL must roll back whole.

This file is not part of the pytest suite (``testpaths = ["tests"]``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event
from provenance_ledger.core.merkle import leaf_hash
from provenance_ledger.core.note import Verifier
from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.store import SqliteStore, Store
from provenance_ledger.store.postgres import PostgresStore, redact

HOST = "127.0.0.1"
ORIGIN = "crash.test/log"
STARTUP_TIMEOUT_S = 90.0  # a restarted server must answer within this (a loaded host: 30 s+)
STOP_TIMEOUT_S = 40.0  # SIGTERM, then SIGKILL after this (the node's grace period is 30 s)
REQUEST_TIMEOUT_S = 30.0
PROGRESS_EVERY = 50  # trials between two progress lines on stderr
KILL_AFTER_S = (0.05, 1.5)  # the kill comes this long (uniform, seeded) after submissions start
MAX_RESUME_TRIES = 20  # 503s while the restarted node warms up, per event


def exe() -> str:
    return str(Path(sys.executable).parent / "provenance")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([exe(), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600, check=False)


class Server:
    """``provenance node serve`` in its own process; its log appended to a file."""

    def __init__(self, home: Path, port: int) -> None:
        self.home = home
        self.url = f"http://{HOST}:{port}"
        self.log_path = home.parent / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as logf:
            self.proc = subprocess.Popen([exe(), "node", "serve", "--home", str(self.home)],
                                         stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"crash: node serve exited ({self.proc.returncode}); "
                                 f"see {self.log_path}")
            try:
                if httpx.get(self.url + "/keys", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"crash: node serve did not answer in {STARTUP_TIMEOUT_S:g} s")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@dataclass
class Client:
    """One submitting client: its events in order, where it is, and what the node answered."""

    name: str
    key: PrivateKey
    events: list[SignedEvent] = field(default_factory=list)
    next: int = 0  # the next event to send
    in_doubt: SignedEvent | None = None  # sent, reply lost
    resent: int = 0  # events sent again after a lost reply
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> receipt
    statuses: Counter[int] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)  # non-200 answers, for the report

    def submit(self, http: httpx.Client, url: str, ev: SignedEvent) -> bool:
        """Send one event; True once answered (200 recorded as acknowledged), False when
        the connection failed (the reply is lost: the event is in doubt)."""
        try:
            r = http.post(url + "/events", content=ev.leaf,
                          headers={"content-type": "application/octet-stream"})
        except httpx.HTTPError:
            self.in_doubt = ev
            return False
        self.statuses[r.status_code] += 1
        if r.status_code == 200:
            self.acked[ev.id] = r.json()
            self.in_doubt = None
            return True
        if r.status_code == 503:  # shutting down or busy: the event is still in doubt
            self.in_doubt = ev
            return False
        self.refused.append(f"{ev.id[:12]}: {r.status_code} {r.text[:200]}")
        self.in_doubt = None
        return True

    def run(self, url: str, stop: threading.Event) -> None:
        """Submit in order until every event is answered or the connection fails."""
        with httpx.Client(timeout=REQUEST_TIMEOUT_S) as http:
            if self.in_doubt is not None and not self.resume(http, url):
                return
            while self.next < len(self.events) and not stop.is_set():
                ev = self.events[self.next]
                self.next += 1
                if not self.submit(http, url, ev):
                    return

    def resume(self, http: httpx.Client, url: str) -> bool:
        """Send the event in doubt again, waiting out 503s; True once it is answered."""
        ev = self.in_doubt
        assert ev is not None
        self.resent += 1
        for _ in range(MAX_RESUME_TRIES):
            if self.submit(http, url, ev):
                return True
            time.sleep(0.1)
        return False


def make_clients(n: int) -> list[Client]:
    return [Client(f"c{c}", PrivateKey.from_seed(hashlib.sha256(b"crash client %d" % c).digest()))
            for c in range(n)]


def top_up(client: Client, unsent: int, seed: int) -> None:
    """Sign new registrations until ``unsent`` wait to be sent, at the machine's time (the
    node admits events by its clock; a trial lasts seconds, far within its window)."""
    now = int(time.time())
    while len(client.events) - client.next < unsent:
        i = len(client.events)
        digest = hashlib.sha256(b"crash %d %s %d" % (seed, client.name.encode(), i)).hexdigest()
        body = {"size": 1000 + i, "media_type": "image/png", "title": f"crash {client.name}/{i}"}
        client.events.append(sign_event(
            Event("work.register", "sha256:" + digest, None, client.key.public.text, now, body),
            client.key))


def new_schema(server: str, prefix: str) -> str:
    """A new schema on the PostgreSQL ``server`` and the URL whose search_path names it."""
    import psycopg

    name = f"{prefix}_{int(time.time())}_{random.randrange(1 << 30):x}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}".encode())
    sep = "&" if "?" in server else "?"
    return f"{server}{sep}options=-csearch_path%3D{name}"


def check(home: Path, clients: Sequence[Client], log_vkey: str,
          url: str | None = None) -> list[str]:
    """Every acknowledged event is in the log once, at its receipt's index; every receipt
    verifies; the audit passes."""
    problems: list[str] = []
    audit = cli("--home", str(home), "log", "audit", "--json")
    if audit.returncode != 0:
        problems.append(f"log audit exited {audit.returncode}: {audit.stderr.strip()[-300:]}")
    store: Store = SqliteStore(home / "ledger.db") if url is None else PostgresStore(url)
    try:
        counts: Counter[str] = Counter(leaf_hash(r.leaf).hex()
                                       for r in store.entries(0, store.size()))
        verifier = Verifier.from_vkey(log_vkey)
        for c in clients:
            for event_id, data in c.acked.items():
                if counts[event_id] != 1:
                    problems.append(f"acknowledged event {event_id[:12]} is in the log "
                                    f"{counts[event_id]} times")
                    continue
                try:
                    v = verify_receipt(Receipt.from_json(data), [verifier])
                except Exception as e:  # noqa: BLE001 - reported, not hidden
                    problems.append(f"receipt of {event_id[:12]} does not verify: {e}")
                    continue
                if v.event.id != event_id or leaf_hash(
                        store.entry(v.leaf_index).leaf).hex() != event_id:
                    problems.append(f"receipt of {event_id[:12]} names another entry")
        dupes = [i for i, n in counts.items() if n > 1]
        if dupes:
            problems.append(f"{len(dupes)} events are in the log more than once")
    finally:
        store.close()
    for c in clients:
        problems.extend(f"{c.name} refused {r}" for r in c.refused[:3])
    return problems


def resubmissions(log_path: Path) -> int:
    """Events the node answered as already in its log (its ``block`` log lines)."""
    total = 0
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line cut by SIGKILL
        if isinstance(rec, dict) and rec.get("msg") == "block":
            total += int(rec.get("resubmitted", 0))
    return total


def run(args: argparse.Namespace, workdir: Path) -> int:
    t0 = time.perf_counter()
    rng = random.Random(args.seed)
    home = workdir / "node"
    port = free_port()
    url = None if args.store is None else new_schema(args.store, "crash_node")
    init = cli("node", "init", "--home", str(home), "--origin", ORIGIN,
               "--listen", f"{HOST}:{port}", "--json", *(["--store", url] if url else []))
    if init.returncode != 0:
        raise SystemExit(f"crash: node init failed: {init.stderr.strip()}")
    log_vkey = json.loads(init.stdout)["log"]
    server = Server(home, port)
    clients = make_clients(args.clients)
    kills = 0
    # Ctrl-C (SIGINT) ends a long run early but whole: the trial under way finishes, then the
    # resume and every check run on the trials done, as after the last one.
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        for _ in range(args.trials):
            if stopping.is_set():
                print(f"  stopping after {kills} of {args.trials} trials (SIGINT)",
                      file=sys.stderr)
                break
            if kills and kills % PROGRESS_EVERY == 0:
                print(f"  {kills} trials, {sum(len(c.acked) for c in clients)} events "
                      "acknowledged so far", file=sys.stderr, flush=True)
            server.start()
            stop = threading.Event()
            for c in clients:
                top_up(c, args.events, args.seed)
            threads = [threading.Thread(target=c.run, args=(server.url, stop)) for c in clients]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(*KILL_AFTER_S))
            server.kill()
            kills += 1
            stop.set()
            for t in threads:
                t.join(REQUEST_TIMEOUT_S + 5)
        # Resume after the last kill: events in doubt again, then everything left.
        server.start()
        threads = [threading.Thread(target=c.run, args=(server.url, threading.Event()))
                   for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        server.stop()
    finally:
        server.kill()
    problems = check(home, clients, log_vkey, url)
    acked = sum(len(c.acked) for c in clients)
    unanswered = sum(len(c.events) - c.next for c in clients)
    if unanswered:
        problems.append(f"{unanswered} events were never sent")
    doubt = sum(1 for c in clients if c.in_doubt is not None)
    resent = sum(c.resent for c in clients)
    again = resubmissions(server.log_path)
    statuses = sum((c.statuses for c in clients), Counter())
    ok = not problems and doubt == 0
    print(f"crash_node: {'OK' if ok else 'FAILED'}: {kills} trials (seed {args.seed}), "
          f"{kills} SIGKILLs, {args.clients} clients, {acked} events acknowledged, each in the "
          f"log once with a receipt that verifies; audit "
          f"{'passed' if not any('audit' in p for p in problems) else 'FAILED'}; "
          f"answers {dict(sorted(statuses.items()))}; {resent} replies lost and sent again, "
          f"{again} of them already committed; {doubt} left in doubt; "
          f"store {'sqlite' if url is None else redact(url)}; "
          f"{time.perf_counter() - t0:.0f} s")
    for p in problems[:20]:
        print(f"  {p}")
    return 0 if ok else 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=3, help="server kills (each then a restart)")
    p.add_argument("--seed", type=int, default=1, help="seeds the kill moments and events")
    p.add_argument("--clients", type=int, default=4, help="concurrent submitting clients")
    p.add_argument("--events", type=int, default=400,
                   help="events each client has ready to send in a trial (the kill usually "
                        "comes first; the rest are sent after the last restart)")
    p.add_argument("--keep", type=Path, default=None,
                   help="keep the node home and server log here (default: a temporary "
                        "directory, deleted afterwards)")
    p.add_argument("--store", default=None, metavar="URL",
                   help="a PostgreSQL server (postgresql://...) whose role may create a "
                        "schema: the node keeps its log there (default: its SQLite file)")
    args = p.parse_args(argv)
    if args.store is not None and not args.store.startswith(("postgresql://", "postgres://")):
        p.error("--store must be a postgresql:// URL")
    for name in ("trials", "clients", "events"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        if (args.keep / "node").exists():
            raise SystemExit(f"crash: {args.keep} already holds a run; pick a new --keep")
        return run(args, args.keep.resolve())
    with tempfile.TemporaryDirectory(prefix="provenance-crash-node-") as tmp:
        return run(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
