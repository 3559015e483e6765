#!/usr/bin/env python3
"""Benchmark of a provenance-ledger node over HTTP (see bench/README.md, "Node benchmark").

    python bench/bench_node.py [--entries N] [--json] [--out DIR] [--profile]
    python bench/bench_node.py --soak-minutes 10 [--soak-bound-mb 200]

Every server is a real ``provenance node serve`` process on 127.0.0.1 (a free port), set up
with the CLI (``node init``, ``node peer add``); every load generator is another process. All
figures come from one run on the same machine, and the mirroring rate is quoted as a ratio to
the raw Ed25519 verify rate measured in the same run, just before and after each round.
Figures are medians over rounds.

1. ``ed25519_verify_per_s``: single-thread ``cryptography`` verifies of event signing messages
   (as bench/bench.py measures it).
2. ``mirror_entries_per_s``: one mirroring round (``node.mirror.sync_peer``: checkpoint,
   entries, re-verification of every signature and rule, root, store, cosign, deliver) of a
   peer node's log of ``--peer-entries`` entries into an empty mirror. ``mirror_ratio`` =
   mirror / verify. One more round, reported apart, goes through ``provenance node sync``.
3. ``submit``: ``POST /events`` (body = the exact signed leaf) from C concurrent clients
   (keep-alive connections driven by one selector thread in a load process, about 0.05 ms of
   client CPU per request), events per second and p50/p99 milliseconds from sending to the
   receipt. Events are signed before timing.
4. ``inclusion``: ``GET /proof/inclusion?index=I`` (uniform I) from C concurrent clients
   against a node whose log holds ``--entries`` entries; p50/p99 ms. The node's log is built
   in its home, after ``node init`` and before ``node serve``, by a child process fed by a
   signing pool (bench/bench.py's ``build_log``; the builder does not re-verify the
   signatures its own pool just made). The same requests are also sent open-loop at
   ``--paced-rate`` per second (latency from the scheduled send time), for information.
5. Baselines in the same run: ``GET /keys`` (a FastAPI route with no database and no
   crypto) from the same clients against the same server, interleaved with each load, as the
   floor of the HTTP stack; and
   ``Ledger.inclusion_proof`` called in process on the same database.

``--soak-minutes N`` runs none of that: one node takes cycles of submissions (``--soak-clients``
clients, 2,000 new events a cycle), inclusion proofs and the other reads (checkpoint, entries,
consistency, receipts, keys) for N minutes, while the server's RSS is sampled every
``--soak-sample-s`` seconds; it reports start, peak and end RSS and exits 1 unless the RSS
levels off (the last half's peak within 10 MB of the first half's) below ``--soak-bound-mb``.

This file is not part of the pytest suite (``testpaths = ["tests"]``).
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import math
import os
import pstats
import random
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402

import bench as ledger_bench  # noqa: E402  bench/bench.py: events, signing pool, machine info
from provenance_ledger.core import merkle  # noqa: E402
from provenance_ledger.core.encoding import b64decode  # noqa: E402
from provenance_ledger.core.events import SignedEvent, parse_leaf  # noqa: E402
from provenance_ledger.core.note import Verifier  # noqa: E402
from provenance_ledger.core.receipt import (  # noqa: E402
    Receipt,
    verify_checkpoint_note,
    verify_receipt,
)
from provenance_ledger.errors import LedgerError  # noqa: E402
from provenance_ledger.ledger import Home, Ledger  # noqa: E402
from provenance_ledger.ledger.ledger import MAX_MIRROR_EVENTS  # noqa: E402
from provenance_ledger.node import load_config, node_witness  # noqa: E402
from provenance_ledger.node import mirror as mirror_mod  # noqa: E402
from provenance_ledger.store import SqliteStore  # noqa: E402
from provenance_ledger.store.postgres import redact  # noqa: E402

DEFAULT_ENTRIES = 10**6
DEFAULT_PEER_ENTRIES = 20_000
HOST = "127.0.0.1"
PEER_ORIGIN = "bench.peer/log"
MIRROR_ORIGIN = "bench.mirror/log"
BIG_ORIGIN = "bench.big/log"
PEER_SALT = b"node-peer"
BIG_SALT = b"node-big"

TARGET_MIRROR_RATIO = 0.7
TARGET_BATCH_RATIO = 0.5  # events/s through POST /events/batch vs appended in process
TARGET_SUBMIT_CPU_MS = 0.3  # server CPU per single-event POST /events: well under this
BATCH_ORIGIN = "bench.batch/log"
TARGET_INCLUSION_P99_MS = 10.0

STARTUP_TIMEOUT_S = 60.0  # a server must answer within this
STOP_TIMEOUT_S = 40.0  # SIGTERM, then SIGKILL after this (the node's grace period is 30 s)
LOAD_TIMEOUT_S = 300.0  # a load process is killed after this
DRAIN_S = 10.0  # after a load's deadline, replies in flight get this long to arrive
BUILD_TIMEOUT_S = 3600.0

perf = time.perf_counter
perf_ns = time.perf_counter_ns
log = ledger_bench.log


# --- processes ---------------------------------------------------------------------------------


def exe() -> str:
    return str(Path(sys.executable).parent / "provenance")


def cli(*args: str) -> str:
    """Run ``provenance ARGS`` and return its stdout; fail loudly with its stderr."""
    proc = subprocess.run([exe(), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench: provenance {' '.join(args[:2])} failed "
                         f"(exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    return proc.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """``provenance node serve --home HOME`` in its own process; its JSON log goes to a file."""

    def __init__(self, home: Path, port: int) -> None:
        self.home = home
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.log_path = home.parent / f"{home.name}.serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self) -> None:
        with self.log_path.open("ab") as logf:
            self.proc = subprocess.Popen([exe(), "node", "serve", "--home", str(self.home)],
                                         stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        LIVE.append(self)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: node serve exited ({self.proc.returncode}); "
                                 f"see {self.log_path}")
            try:
                status, _ = http_get(HOST, self.port, "/keys", timeout=2.0)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: node serve did not answer in {STARTUP_TIMEOUT_S:g} s")
            time.sleep(0.05)

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # graceful: in-flight appends finish
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.proc = None
        if self in LIVE:
            LIVE.remove(self)


LIVE: list[Server] = []  # servers to stop whatever happens


def stop_all() -> None:
    for s in list(LIVE):
        s.stop()


@contextmanager
def serving(home: Path) -> Iterator[Server]:
    server = Server(home, load_config(home).port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def http_get(host: str, port: int, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


NODE_STORE: list[str] = []
"""``--store URL``: the PostgreSQL server each node's log goes to (a new schema per node)."""


def init_node(home: Path, origin: str) -> dict[str, Any]:
    """``provenance node init`` on a free port of 127.0.0.1, its log in a new schema of the
    ``--store`` server when one is named; returns its keys."""
    store = ["--store", ledger_bench.new_schema(NODE_STORE[0])] if NODE_STORE else []
    out = json.loads(cli("node", "init", "--home", str(home), "--origin", origin,
                         "--listen", f"{HOST}:{free_port()}", "--json", *store))
    return dict(out)


# --- building a node's log ---------------------------------------------------------------------


class SignedByUsLedger(Ledger):
    """The builder's ledger: every leaf comes from the bench's own signing pool, so it is
    parsed without re-verifying the signature (everything else, rules, tree, checkpoints and
    one transaction per block, is the library's append path)."""

    def _parse_and_verify(self, leaves: Sequence[bytes]) -> list[SignedEvent | LedgerError]:
        return [parse_leaf(x, verify=False) for x in leaves]


def build_child(home: Path, n: int, block: int, now: int, procs: int, salt: bytes
                ) -> dict[str, Any]:
    """Child-process body: bench.py's build_log (signing pool, bounded window), appending
    through :class:`SignedByUsLedger` with this log's salt."""

    def open_builder(path: Path, store: str | None = None) -> Ledger:
        base = Home(path, store).open_ledger()
        return SignedByUsLedger(base.store, base.signer)

    ledger_bench.open_ledger = open_builder
    ledger_bench.LOG_SALT = salt
    return ledger_bench.build_log(home, n, block, now, procs)


def run_builder(args: argparse.Namespace, home: Path, n: int, salt: bytes, now: int
                ) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--build-only", str(home),
           "--entries", str(n), "--now", str(now), "--sign-procs", str(args.sign_procs),
           "--salt", salt.decode()]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise SystemExit(f"bench: building the log in {home} failed (exit {proc.returncode})")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# --- load generator (a separate process) -------------------------------------------------------


def percentile(sorted_ms: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not sorted_ms:
        return None
    k = max(0, math.ceil(q / 100 * len(sorted_ms)) - 1)
    return sorted_ms[k]


def load_requests(spec: dict[str, Any]) -> list[tuple[str, str, bytes | None]]:
    """The requests of one load run (method, path, body), warm-up first."""
    kind = spec["kind"]
    total = spec["warmup"] + spec["max_requests"]
    if kind == "submit":
        now = int(time.time())
        salt = spec["salt"].encode()
        leaves = [ledger_bench.make_event(salt, i, now).leaf for i in range(total)]
        return [("POST", "/events", leaf) for leaf in leaves]
    if kind == "inclusion":
        rng = random.Random(spec["seed"])
        size = spec["size"]
        idx = [rng.randrange(size) for _ in range(total)]
        return [("GET", f"/proof/inclusion?index={i}", None) for i in idx]
    if kind == "keys":
        return [("GET", "/keys", None)] * total
    if kind == "reads":  # the soak's mix of every read route but the hot one
        rng = random.Random(spec["seed"])
        size = spec["size"]
        out: list[tuple[str, str, bytes | None]] = []
        for k in range(total):
            i = rng.randrange(size)
            out.append([("GET", "/checkpoint", None),
                        ("GET", f"/entries?start={i}&end={min(size, i + 20)}", None),
                        ("GET", f"/proof/consistency?old={i + 1}", None),
                        ("GET", f"/receipts/{spec['ids'][k % len(spec['ids'])]}", None),
                        ("GET", "/keys", None)][k % 5])
        return out
    raise SystemExit(f"bench: unknown load kind {kind!r}")


class _Conn:
    """One keep-alive HTTP/1.1 connection of the load generator, non-blocking."""

    __slots__ = ("sock", "buf", "t0", "busy")

    def __init__(self, port: int) -> None:
        self.sock = self._connect(port)
        self.buf = b""
        self.t0 = 0
        self.busy = False

    @staticmethod
    def _connect(port: int) -> socket.socket:
        sock = socket.create_connection((HOST, port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        return sock

    def reopen(self, port: int) -> None:
        """A new connection in place of one the server closed."""
        self.sock.close()
        self.sock = self._connect(port)
        self.buf = b""
        self.busy = False


def _wire(method: str, path: str, body: bytes | None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n"
    if body is None:
        return (head + "\r\n").encode()
    return (head + "Content-Type: application/octet-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _response(buf: bytes) -> tuple[int, bytes, int] | None:
    """(status, body, bytes used) of the first whole response in ``buf``, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    length = next((int(h.split(":", 1)[1]) for h in head[1:]
                   if h.lower().startswith("content-length:")), None)
    if length is None:
        raise OSError("a response without Content-Length")
    if len(buf) < end + 4 + length:
        return None
    return int(head[0].split()[1]), buf[end + 4 : end + 4 + length], end + 4 + length


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Load-process body: ``clients`` keep-alive connections driven by one thread with a
    selector (about 0.05 ms of client CPU per request, a third of a thread per connection's),
    sending the requests in order until they run out or ``seconds`` pass. Closed loop: each
    connection sends its next request when its reply is in. Open loop (``rate``): request k
    is due at start + k / rate on the first idle connection, and its latency counts from that
    due time, so a stall is never hidden."""
    port = spec["port"]
    clients = spec["clients"]
    reqs = [_wire(*r) for r in load_requests(spec)]
    warm, timed = reqs[: spec["warmup"]], reqs[spec["warmup"] :]
    rate = spec.get("rate")
    keep = spec.get("keep_bodies", 0)
    bodies: list[bytes] = []
    errors: list[str] = []
    transport_errors: list[str] = []
    conns = [_Conn(port) for _ in range(clients)]
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ, c)

    def run(items: list[bytes], seconds: float, out: list[tuple[int, int]]
            ) -> tuple[float, float, float | None]:
        """Send until ``seconds`` pass (closed loop) or every request due by then is sent
        (open loop), and count every reply to a request sent or due before that, however
        late: the slowest replies are the ones a cut-off would drop. Returns the wall time
        to the last reply, the CPU seconds of this process and of the server."""
        server0 = server_cpu(spec.get("server_pid"))
        cpu0 = time.process_time()
        t0 = perf()
        deadline = t0 + seconds
        last = len(items) if not rate else min(len(items), math.floor(seconds * rate) + 1)
        nxt = 0
        idle = deque(conns)  # first in, first out: every connection stays in use

        def send(c: _Conn, k: int) -> None:
            c.t0 = int((t0 + k / rate) * 1e9) if rate else perf_ns()
            c.busy = True
            c.sock.sendall(items[k])  # small requests: the socket buffer takes them whole

        def lost(c: _Conn, error: str) -> None:
            """The connection closed: a request in flight on it is an error; reconnect."""
            if c.busy:
                transport_errors.append(error)
            else:
                idle.remove(c)  # closed while idle (keep-alive timeout): nothing lost
            sel.unregister(c.sock)
            c.reopen(port)
            sel.register(c.sock, selectors.EVENT_READ, c)
            idle.append(c)

        while True:
            now = perf()
            if now > deadline and not rate:
                last = min(last, nxt)  # closed loop: nothing new after the deadline
            if nxt >= last and len(idle) == len(conns):
                break
            if now > deadline + DRAIN_S:  # replies that never came
                transport_errors.extend(["no reply within the drain time"]
                                        * (len(conns) - len(idle)))
                break
            while idle and nxt < last and (not rate or t0 + nxt / rate <= now):
                send(idle.popleft(), nxt)
                nxt += 1
            wait = 0.5
            if rate and idle and nxt < last:
                wait = max(0.0, t0 + nxt / rate - perf())
            for key, _ in sel.select(wait):
                c = key.data
                try:
                    data = c.sock.recv(1 << 16)
                except OSError as e:
                    lost(c, f"{type(e).__name__}: {e}")
                    continue
                if not data:
                    lost(c, "the server closed the connection")
                    continue
                c.buf += data
                got = _response(c.buf)
                if got is None:
                    continue
                status, body, used = got
                c.buf = c.buf[used:]
                out.append((status, perf_ns() - c.t0))
                if status == 200 and len(bodies) < keep:
                    bodies.append(body)
                elif status != 200 and len(errors) < 5:
                    errors.append(f"HTTP {status}: {body[:200]!r}")
                c.busy = False
                idle.append(c)
        wall = perf() - t0
        server1 = server_cpu(spec.get("server_pid"))
        server = None if server0 is None or server1 is None else server1 - server0
        return wall, time.process_time() - cpu0, server

    samples: list[tuple[int, int]] = []  # (status, ns)
    warm_out: list[tuple[int, int]] = []
    run(warm, 30.0, warm_out)
    bodies.clear()
    errors.clear()
    transport_errors.clear()
    wall, cpu, server = run(timed, spec["seconds"], samples)
    for c in conns:
        c.sock.close()
    ok = sorted(ns / 1e6 for st, ns in samples if st == 200)
    statuses = Counter(st for st, _ in samples)
    result: dict[str, Any] = {
        "kind": spec["kind"],
        "clients": clients,
        "requests": len(samples),
        "ok": len(ok),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "transport_errors": len(transport_errors),
        "first_error": (transport_errors or errors or [None])[0],
        "seconds": wall,
        "per_s": len(ok) / wall if wall > 0 else None,
        "p50_ms": percentile(ok, 50),
        "p90_ms": percentile(ok, 90),
        "p99_ms": percentile(ok, 99),
        "max_ms": ok[-1] if ok else None,
        "client_cpu_ms_per_request": 1000 * cpu / len(samples) if samples else None,
        "server_cpu_ms_per_request": (1000 * server / len(samples)
                                      if samples and server is not None else None),
        "server_cpu_cores": server / wall if server is not None and wall > 0 else None,
        "warmup_ok": sum(1 for st, _ in warm_out if st == 200),
    }
    result["check"] = check_bodies(spec, bodies)
    return result


def server_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system, all threads) used so far by process ``pid`` (Linux)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check_bodies(spec: dict[str, Any], bodies: Sequence[bytes]) -> str:
    """Untimed: the kept replies verify offline against the node's log key."""
    vkey = Verifier.from_vkey(spec["vkey"])
    try:
        if spec["kind"] == "submit":
            for b in bodies:
                verify_receipt(Receipt.from_json(json.loads(b)), [vkey])
            return f"ok ({len(bodies)} receipts verify offline)"
        if spec["kind"] == "reads":
            return "n/a"
        if spec["kind"] == "inclusion":
            status, note = http_get(HOST, spec["port"], "/checkpoint")
            if status != 200:
                return f"FAILED: GET /checkpoint answered {status}"
            cp, _, _ = verify_checkpoint_note(note.decode(), [vkey])
            for b in bodies:
                d = json.loads(b)
                if d["size"] != cp.size:
                    return f"FAILED: proof against size {d['size']}, checkpoint {cp.size}"
                proof = [b64decode(h, "hash", merkle.HASH_SIZE) for h in d["inclusion_proof"]]
                merkle.verify_inclusion(d["index"], d["size"], bytes.fromhex(d["id"]), proof,
                                        cp.root)
            return f"ok ({len(bodies)} proofs verify against the signed checkpoint)"
    except Exception as e:  # report it, do not hide the figures
        return f"FAILED: {type(e).__name__}: {e}"
    return "n/a"


def load(server: Server, kind: str, clients: int, seconds: float, max_requests: int,
         warmup: int, vkey: str, **extra: Any) -> dict[str, Any]:
    """Run one load in a fresh process and return its figures."""
    spec = {"kind": kind, "port": server.port, "clients": clients, "seconds": seconds,
            "max_requests": max_requests, "warmup": warmup, "vkey": vkey,
            "keep_bodies": 20 if kind != "keys" else 0, **extra}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--load", json.dumps(spec)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=LOAD_TIMEOUT_S)
    if proc.returncode != 0:
        raise SystemExit(f"bench: the {kind} load process failed (exit {proc.returncode})")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["ok"] == 0:
        raise SystemExit(f"bench: no {kind} request succeeded: {out['statuses']}, "
                         f"{out['first_error']}; see {server.log_path}")
    return out


# --- 1 + 2: raw verify and mirroring -----------------------------------------------------------


class Stopwatch:
    """Wall time spent inside wrapped callables, by name (monkeypatched in this process only;
    nothing in src/ changes). A missing attribute is skipped, so the bench survives renames."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        fn = getattr(owner, attr, None)
        if fn is None:
            return
        spent = self.spent

        def timed(*a: Any, **kw: Any) -> Any:
            t0 = perf()
            try:
                return fn(*a, **kw)
            finally:
                spent[name] += perf() - t0

        self._undo.append((owner, attr, fn))
        setattr(owner, attr, timed)

    def undo(self) -> None:
        for owner, attr, fn in reversed(self._undo):
            setattr(owner, attr, fn)
        self._undo.clear()


def reset_mirror(home: Path) -> None:
    """Forget what the mirror node holds of its peers: mirrors/ and the witness state."""
    shutil.rmtree(home / "mirrors", ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        (home / f"witness.db{suffix}").unlink(missing_ok=True)


def sync_once(home: Path, now: int) -> tuple[float, mirror_mod.SyncResult]:
    config = load_config(home)
    peer = config.peer(PEER_ORIGIN)
    with node_witness(home) as witness, httpx.Client(follow_redirects=False) as client:
        t0 = perf()
        result = mirror_mod.sync_peer(home, peer, witness, client, now)
        return perf() - t0, result


def check_sync(result: mirror_mod.SyncResult, entries: int) -> None:
    if result.status != "mirrored" or result.new_size != entries or not result.cosigned:
        raise SystemExit(f"bench: mirroring round went wrong: {result}")


def measure_mirror(args: argparse.Namespace, mirror_home: Path, peer: Server,
                   peer_entries: int, now: int) -> dict[str, Any]:
    items = ledger_bench.verify_items(args.verify_chunk, now)
    ledger_bench.verify_chunk(items)  # warm-up

    # One round through the CLI, as an operator runs it (includes process start-up).
    reset_mirror(mirror_home)
    t0 = perf()
    out = json.loads(cli("node", "sync", "--home", str(mirror_home), "--json"))
    t_cli = perf() - t0
    if out[0]["status"] != "mirrored" or out[0]["new_size"] != peer_entries:
        raise SystemExit(f"bench: provenance node sync went wrong: {out}")
    log(f"  CLI round: {peer_entries:,} entries in {t_cli:.1f} s "
        f"({peer_entries / t_cli:,.0f}/s), delivered {out[0]['delivered']}")

    watch = Stopwatch()
    watch.wrap(mirror_mod, "_page", "download")
    watch.wrap(mirror_mod, "_consistency", "consistency")
    watch.wrap(Ledger, "mirror_pages", "mirror_pages")
    watch.wrap(Ledger, "_integrate", "rules_tree")
    watch.wrap(SqliteStore, "commit_block", "commit")
    verify_rates, mirror_rates, ratios, parts, peer_cpu = [], [], [], [], []
    delivered = 0
    try:
        for r in range(args.mirror_rounds):
            reset_mirror(mirror_home)
            watch.spent.clear()
            v1 = ledger_bench.verify_chunk(items)
            c0 = server_cpu(peer.pid)
            seconds, result = sync_once(mirror_home, now)
            c1 = server_cpu(peer.pid)
            v2 = ledger_bench.verify_chunk(items)
            if c0 is not None and c1 is not None:
                peer_cpu.append(1e6 * (c1 - c0) / peer_entries)
            check_sync(result, peer_entries)
            delivered += result.delivered
            v = 2 * len(items) / (v1 + v2)
            m = peer_entries / seconds
            verify_rates.append(v)
            mirror_rates.append(m)
            ratios.append(m / v)
            part = {k: 1e6 * s / peer_entries for k, s in watch.spent.items()}
            part["total"] = 1e6 * seconds / peer_entries
            part["other"] = part["total"] - part.get("mirror_pages", 0)
            # Pages download while earlier pages verify: this is their overlapped time.
            part["download_verify"] = (part.get("mirror_pages", 0) - part.get("rules_tree", 0)
                                       - part.get("commit", 0))
            parts.append(part)
            log(f"  round {r + 1}/{args.mirror_rounds}: verify {v:,.0f}/s, "
                f"mirror {m:,.0f} entries/s, ratio {m / v:.3f}")
    finally:
        watch.undo()
    breakdown = {k: statistics.median(p.get(k, 0.0) for p in parts) for k in parts[0]}
    return {
        "ed25519_verify_per_s": statistics.median(verify_rates),
        "mirror_entries_per_s": statistics.median(mirror_rates),
        "mirror_ratio": statistics.median(ratios),
        "mirror_cli_entries_per_s": peer_entries / t_cli,
        "mirror_us_per_entry": breakdown,
        "peer_server_cpu_us_per_entry": statistics.median(peer_cpu) if peer_cpu else None,
        "verify_rounds_per_s": verify_rates,
        "mirror_rounds_per_s": mirror_rates,
        "mirror_ratio_rounds": ratios,
        "cosignatures_delivered": f"{delivered}/{args.mirror_rounds}",
    }


# --- 3 + 4: loads with their floor -------------------------------------------------------------


def load_levels(args: argparse.Namespace, paced: bool) -> list[tuple[str, int, float | None]]:
    """(label, clients, paced rate or None): closed loops at each --clients, then (for the
    proofs) an open loop at --paced-rate requests per second from --paced-clients."""
    levels: list[tuple[str, int, float | None]] = [(str(c), c, None) for c in args.clients]
    if paced and args.paced_rate > 0:
        levels.append((f"paced{args.paced_rate:g}", args.paced_clients, args.paced_rate))
    return levels


def measure_loads(args: argparse.Namespace, server: Server, vkey: str, kind: str,
                  **extra: Any) -> dict[str, Any]:
    """For each round and each level: the floor (GET /keys, same clients and pacing), then
    the load itself. Medians over rounds of each figure."""
    levels = load_levels(args, paced=kind == "inclusion")
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        label: {"floor": [], kind: []} for label, _, _ in levels}
    for r in range(args.load_rounds):
        for label, c, rate in levels:
            common: dict[str, Any] = {"server_pid": server.pid}
            if rate:
                common["rate"] = rate
            floor = load(server, "keys", c, args.load_seconds if rate else args.floor_seconds,
                         args.max_requests, args.warmup, vkey, **common)
            extra_r = dict(extra, **common)
            if kind == "submit":
                extra_r["salt"] = f"submit-{r}-{label}"
            else:
                extra_r["seed"] = args.seed * 1000 + r * 100 + c
            mark = server.log_path.stat().st_size
            res = load(server, kind, c, args.load_seconds, args.max_requests, args.warmup,
                       vkey, **extra_r)
            if kind == "submit":
                res.update(block_stats(server.log_path, mark))
            runs[label]["floor"].append(floor)
            runs[label][kind].append(res)
            what = f"{c} clients" + (f" paced at {rate:g}/s" if rate else "")
            log(f"  round {r + 1}/{args.load_rounds}, {what}: {kind} {res['per_s']:,.0f}/s "
                f"p50 {res['p50_ms']:.2f} ms p99 {res['p99_ms']:.2f} ms "
                f"(non-200: {res['requests'] - res['ok']}); floor {floor['per_s']:,.0f}/s "
                f"p50 {floor['p50_ms']:.2f} ms p99 {floor['p99_ms']:.2f} ms")
    out: dict[str, Any] = {}
    for label, c, rate in levels:
        out[label] = {"clients": c, "rate": rate,
                      **{name: summarize(rs) for name, rs in runs[label].items()}}
    return out


def block_stats(log_path: Path, offset: int) -> dict[str, Any]:
    """The sequencer's blocks logged since ``offset`` (warm-up included): how many, their
    median size and median milliseconds on the writer thread."""
    events, ms = [], []
    with log_path.open("rb") as f:
        f.seek(offset)
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("msg") == "block":
                events.append(rec.get("events", 0))
                ms.append(rec.get("ms", 0.0))
    return {"blocks": len(events),
            "block_events_median": statistics.median(events) if events else None,
            "block_ms_median": statistics.median(ms) if ms else None}


def summarize(rs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str) -> float | None:
        vals = [r[key] for r in rs if r[key] is not None]
        return statistics.median(vals) if vals else None

    statuses: Counter[str] = Counter()
    for r in rs:
        statuses.update(r["statuses"])
    return {
        "per_s": med("per_s"), "p50_ms": med("p50_ms"), "p90_ms": med("p90_ms"),
        "p99_ms": med("p99_ms"), "max_ms": max(r["max_ms"] for r in rs),
        "client_cpu_ms_per_request": med("client_cpu_ms_per_request"),
        "server_cpu_ms_per_request": med("server_cpu_ms_per_request"),
        "server_cpu_cores": med("server_cpu_cores"),
        "block_events_median": med("block_events_median") if "blocks" in rs[0] else None,
        "block_ms_median": med("block_ms_median") if "blocks" in rs[0] else None,
        "requests": sum(r["requests"] for r in rs), "ok": sum(r["ok"] for r in rs),
        "statuses": dict(statuses), "transport_errors": sum(r["transport_errors"] for r in rs),
        "rounds": [{k: r[k] for k in ("per_s", "p50_ms", "p99_ms", "requests", "seconds")}
                   for r in rs],
        "check": "; ".join(sorted({r["check"] for r in rs})),
    }


def library_inclusion(home: Path, queries: int, seed: int) -> dict[str, Any]:
    """``Ledger.inclusion_proof(i, N)`` in this process on the node's database, each call
    timed alone (the server is idle meanwhile)."""
    ledger = Home(home).open_ledger()
    try:
        n = ledger.size
        rng = random.Random(seed)
        ns = []
        for _ in range(queries):
            i = rng.randrange(n)
            t0 = perf_ns()
            ledger.inclusion_proof(i, n)
            ns.append(perf_ns() - t0)
    finally:
        ledger.close()
    ms = sorted(x / 1e6 for x in ns)
    return {"queries": queries, "size": n, "p50_ms": percentile(ms, 50),
            "p99_ms": percentile(ms, 99)}


# --- report ------------------------------------------------------------------------------------


def _num(v: float | None, digits: int = 0) -> str:
    return "n/a" if v is None else f"{v:,.{digits}f}"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def rows(res: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    f = res["figures"]
    par = res["params"]
    n, p = par["entries"], par["peer_entries"]
    out = [
        ("ed25519_verify_per_s", _num(f["ed25519_verify_per_s"]), "(reference)", ""),
        (f"mirror_entries_per_s ({p:,} entries, sync_peer)", _num(f["mirror_entries_per_s"]),
         f">= {TARGET_MIRROR_RATIO} x verify", ""),
        ("mirror_ratio", _num(f["mirror_ratio"], 3), f">= {TARGET_MIRROR_RATIO}",
         verdict(f["mirror_ratio"] >= TARGET_MIRROR_RATIO)),
        (f"mirror_cli_entries_per_s ({p:,}, provenance node sync)",
         _num(f["mirror_cli_entries_per_s"]), "info", ""),
    ]
    for lv in res["submit"].values():
        s, fl = lv["submit"], lv["floor"]
        c = lv["clients"]
        out += [
            (f"submit_events_per_s ({c} clients)", _num(s["per_s"]), "info", ""),
            (f"submit_p50_ms / p99_ms ({c} clients)",
             f"{_num(s['p50_ms'], 2)} / {_num(s['p99_ms'], 2)}", "info", ""),
            (f"  floor GET /keys req/s ({c} clients)", _num(fl["per_s"]), "baseline", ""),
            (f"  floor GET /keys p50_ms / p99_ms ({c} clients)",
             f"{_num(fl['p50_ms'], 2)} / {_num(fl['p99_ms'], 2)}", "baseline", ""),
        ]
    for lv in res["inclusion"].values():
        s, fl = lv["inclusion"], lv["floor"]
        c, rate = lv["clients"], lv["rate"]
        if rate:
            what = f"{rate:g}/s paced, {c} clients, size {n:,}"
            out += [
                (f"inclusion_p50_ms / p99_ms ({what})",
                 f"{_num(s['p50_ms'], 2)} / {_num(s['p99_ms'], 2)}",
                 f"p99 <= {TARGET_INCLUSION_P99_MS:g}",
                 verdict(s["p99_ms"] <= TARGET_INCLUSION_P99_MS)),
                (f"  floor GET /keys p50_ms / p99_ms ({rate:g}/s paced)",
                 f"{_num(fl['p50_ms'], 2)} / {_num(fl['p99_ms'], 2)}", "baseline", ""),
            ]
            continue
        what = f"{c} clients, size {n:,}"
        judged = c == par["target_clients"]  # more clients only queue longer (Little's law)
        out += [
            (f"inclusion_req_per_s ({what})", _num(s["per_s"]), "info", ""),
            (f"inclusion_p50_ms ({what})", _num(s["p50_ms"], 2), "info", ""),
            (f"inclusion_p99_ms ({what})", _num(s["p99_ms"], 2),
             f"<= {TARGET_INCLUSION_P99_MS:g}" if judged else "info (saturated)",
             verdict(s["p99_ms"] <= TARGET_INCLUSION_P99_MS) if judged else ""),
            (f"  floor GET /keys req/s ({c} clients)", _num(fl["per_s"]), "baseline", ""),
            (f"  floor GET /keys p50_ms / p99_ms ({c} clients)",
             f"{_num(fl['p50_ms'], 2)} / {_num(fl['p99_ms'], 2)}", "baseline", ""),
        ]
    lib = res["library_inclusion"]
    out.append((f"  Ledger.inclusion_proof in process p50 / p99 ms (size {lib['size']:,})",
                f"{_num(lib['p50_ms'], 3)} / {_num(lib['p99_ms'], 3)}", "baseline", ""))
    return out


def table(res: dict[str, Any]) -> str:
    mach = res["machine"]
    par = res["params"]
    lines = [
        f"provenance-ledger node benchmark, {mach['date']}",
        f"machine: nproc {mach['nproc']}, {mach['cpu']}, {mach['os']}",
        f"python {mach['python']}, cryptography {mach['cryptography']} ({mach['openssl']}), "
        f"sqlite {mach['sqlite']}, {res['versions']}",
        f"workdir: {mach['workdir']}, source: {mach['source']}, nodes' logs in "
        + ("SQLite" if par.get("store") is None else f"PostgreSQL ({par['store']})"),
        f"peer log {par['peer_entries']:,} entries, {par['mirror_rounds']} mirroring rounds; "
        f"big log {par['entries']:,} entries; clients {', '.join(map(str, par['clients']))}; "
        f"{par['load_rounds']} load rounds of <= {par['load_seconds']:g} s "
        f"(floor {par['floor_seconds']:g} s), <= {par['max_requests']:,} requests each, "
        f"seed {par['seed']}",
        "",
    ]
    body = rows(res)
    lines += ledger_bench.markdown_table(body)
    f = res["figures"]
    b = f["mirror_us_per_entry"]
    lines += [
        "",
        f"mirror, us per entry (median of rounds): total {b['total']:.1f} = mirror_pages "
        f"{b.get('mirror_pages', 0):.1f} [download and parse + verify on 2 threads, "
        f"overlapped, {b.get('download_verify', 0):.1f} (of which the downloads alone: "
        f"GET /entries, JSON, base64 {b.get('download', 0):.1f}), rules + tree "
        f"{b.get('rules_tree', 0):.1f}, commit {b.get('commit', 0):.1f}] + checkpoint, "
        f"cosign, deliver {b['other']:.1f}; raw verify {1e6 / f['ed25519_verify_per_s']:.1f}",
        "mirror per-round ratios " + ", ".join(f"{x:.2f}" for x in f["mirror_ratio_rounds"])
        + f"; cosignatures delivered {f['cosignatures_delivered']}",
        f"log builds: peer {res['builds']['peer']['entries']:,} in "
        f"{res['builds']['peer']['seconds']:.0f} s, big {res['builds']['big']['entries']:,} in "
        f"{res['builds']['big']['seconds']:.0f} s",
    ]
    lines.append(f"peer server CPU during mirroring: {_num(f['peer_server_cpu_us_per_entry'], 1)} "
                 "us/entry (GET /entries and the rest of the round)")
    for name in ("submit", "inclusion"):
        for lv in res[name].values():
            for part in (name, "floor"):
                s = lv[part]
                what = f"{lv['clients']} clients" + (f" paced {lv['rate']:g}/s"
                                                    if lv["rate"] else "")
                lines.append(
                    f"{name if part == name else '  floor'}, {what}: "
                    f"{s['ok']:,}/{s['requests']:,} requests 200"
                    + ("" if s["ok"] == s["requests"] else f" (statuses {s['statuses']})")
                    + (f", transport errors {s['transport_errors']}" if s["transport_errors"]
                       else "")
                    + f"; server CPU {_num(s['server_cpu_ms_per_request'], 3)} ms/request "
                    f"({_num(s['server_cpu_cores'], 2)} cores), load process "
                    f"{_num(s['client_cpu_ms_per_request'], 3)} ms/request"
                    + (f"; blocks of {_num(s['block_events_median'])} events, "
                       f"{_num(s['block_ms_median'], 1)} ms each (medians)"
                       if part == "submit" and s.get("block_events_median") is not None
                       else "")
                    + (f"; check: {s['check']}" if part == name else ""))
    return "\n".join(lines)


# --- profile mode ------------------------------------------------------------------------------


def profile(args: argparse.Namespace, workdir: Path, now: int) -> None:
    """cProfile of one mirroring round (this process: the mirror side; its verify threads show
    up as lock waits) against a real peer node process."""
    peer_home, mirror_home = workdir / "peer", workdir / "mirror"
    setup_pair(args, peer_home, mirror_home, now)
    with serving(peer_home):
        reset_mirror(mirror_home)
        sync_once(mirror_home, now)  # warm the peer's page cache
        reset_mirror(mirror_home)
        prof = cProfile.Profile()
        prof.enable()
        seconds, result = sync_once(mirror_home, now)
        prof.disable()
    check_sync(result, args.peer_entries)
    n = args.peer_entries
    print(f"mirroring round profile: {n:,} entries in {seconds:.2f} s under cProfile "
          f"({1e6 * seconds / n:.1f} us/entry with profiler overhead)")
    st = pstats.Stats(prof)
    entries = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        short = f"{Path(file).name}:{line}({func})" if line else func
        entries.append((tt / n * 1e6, ct / n * 1e6, nc / n, short))
    print(f"  {'own us/e':>9} {'cum us/e':>9} {'calls/e':>8}  function (top {args.top} by own)")
    for tt, ct, nc, name in sorted(entries, reverse=True)[: args.top]:
        print(f"  {tt:9.2f} {ct:9.2f} {nc:8.3f}  {name}")
    print(f"\ntop {args.top} by cumulative time:")
    for tt, ct, nc, name in sorted(entries, key=lambda e: -e[1])[: args.top]:
        print(f"  {tt:9.2f} {ct:9.2f} {nc:8.3f}  {name}")


# --- main --------------------------------------------------------------------------------------


def setup_pair(args: argparse.Namespace, peer_home: Path, mirror_home: Path, now: int
               ) -> dict[str, Any]:
    """Two node homes: the peer (with a log of --peer-entries) and the mirror, each trusting
    the other (the peer keeps the mirror's cosignatures)."""
    peer_keys = init_node(peer_home, PEER_ORIGIN)
    mirror_keys = init_node(mirror_home, MIRROR_ORIGIN)
    mirror_cfg = load_config(mirror_home)
    cli("node", "peer", "add", "--home", str(mirror_home), "--origin", PEER_ORIGIN,
        "--url", f"http://{HOST}:{load_config(peer_home).port}", "--vkey", peer_keys["log"])
    cli("node", "peer", "add", "--home", str(peer_home), "--origin", MIRROR_ORIGIN,
        "--url", f"http://{HOST}:{mirror_cfg.port}", "--vkey", mirror_keys["log"],
        "--witness-vkey", mirror_keys["witness"])
    log(f"  building the peer's log of {args.peer_entries:,} entries")
    build = run_builder(args, peer_home, args.peer_entries, PEER_SALT, now)
    return {"peer_keys": peer_keys, "build": build}


def versions() -> str:
    from importlib.metadata import version

    parts = []
    for name in ("fastapi", "starlette", "uvicorn", "httpx"):
        try:
            parts.append(f"{name} {version(name)}")
        except Exception:  # pragma: no cover - informational only
            parts.append(f"{name} ?")
    return ", ".join(parts)


def run(args: argparse.Namespace, workdir: Path, now: int) -> int:
    t_run = perf()
    machine = ledger_bench.machine_info(workdir)
    peer_home, mirror_home, big_home = workdir / "peer", workdir / "mirror", workdir / "big"

    log(f"[1/5] peer and mirror nodes; peer log of {args.peer_entries:,} entries")
    pair = setup_pair(args, peer_home, mirror_home, now)
    peer_vkey = pair["peer_keys"]["log"]
    with serving(peer_home) as peer:
        log(f"[2/5] mirroring, {args.mirror_rounds} rounds (+1 through the CLI)")
        mirror = measure_mirror(args, mirror_home, peer, args.peer_entries, now)
        log(f"[3/5] submissions, {args.load_rounds} rounds x clients {args.clients}")
        submit = measure_loads(args, peer, peer_vkey, "submit")

    log(f"[4/5] node with a log of {args.entries:,} entries (built in a child process)")
    big_keys = init_node(big_home, BIG_ORIGIN)
    big_build = run_builder(args, big_home, args.entries, BIG_SALT, now)
    lib = library_inclusion(big_home, args.queries, args.seed)
    log(f"[5/5] inclusion proofs, {args.load_rounds} rounds x clients {args.clients}")
    with serving(big_home) as big:
        inclusion = measure_loads(args, big, big_keys["log"], "inclusion", size=args.entries)

    figures = {k: v for k, v in mirror.items()}
    res: dict[str, Any] = {
        "machine": machine,
        "versions": versions(),
        "params": {k: getattr(args, k) for k in
                   ("entries", "peer_entries", "mirror_rounds", "verify_chunk", "clients",
                    "target_clients", "paced_rate", "paced_clients",
                    "load_rounds", "load_seconds", "floor_seconds", "max_requests", "warmup",
                    "queries", "sign_procs", "seed")}
                  | {"store": None if args.store is None else redact(args.store)},
        "figures": figures,
        "targets": {"mirror_ratio": f">= {TARGET_MIRROR_RATIO}",
                    "inclusion_p99_ms": f"<= {TARGET_INCLUSION_P99_MS}"},
        "submit": submit,
        "inclusion": inclusion,
        "library_inclusion": lib,
        "builds": {"peer": pair["build"], "big": big_build},
    }
    res["results"] = {name: v for name, _v, _t, v in rows(res) if v}
    res["seconds"] = perf() - t_run
    text = table(res) + f"\n(run took {res['seconds']:.0f} s)"
    print(text)
    if args.json:
        print(json.dumps(res, indent=2))
    if args.out is not None:
        (workdir / "results.json").write_text(json.dumps(res, indent=2) + "\n")
        (workdir / "results.txt").write_text(text + "\n")
    return 0


# --- batch submissions: POST /events/batch against the in-process append ----------------------


def run_batch_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Load-process body for ``POST /events/batch``: ``clients`` threads, each with its own
    keep-alive connection, post the batches (``batch`` pre-signed leaves a line) one after
    another until they run out. Blocking sockets: a batch body is too large for the
    selector loop's one-write sends. Returns events per second and the server's CPU per
    event; the receipts of one reply are verified offline afterwards (untimed)."""
    import threading

    now = int(time.time())
    salt = spec["salt"].encode()
    size = spec["batch"]
    count = spec["warmup"] + spec["max_requests"]
    bodies = [b"".join(ledger_bench.make_event(salt, k * size + i, now).leaf + b"\n"
                       for i in range(size)) for k in range(count)]
    headers = {"content-type": "application/octet-stream"}

    def post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
        conn.request("POST", "/events/batch", body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()

    warm = http.client.HTTPConnection(HOST, spec["port"], timeout=LOAD_TIMEOUT_S)
    for body in bodies[: spec["warmup"]]:
        post(warm, body)
    warm.close()
    timed = deque(bodies[spec["warmup"] :])
    lock = threading.Lock()
    samples: list[tuple[int, float]] = []
    kept: list[bytes] = []

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, spec["port"], timeout=LOAD_TIMEOUT_S)
        while True:
            with lock:
                if not timed:
                    break
                body = timed.popleft()
            t0 = perf()
            status, reply = post(conn, body)
            with lock:
                samples.append((status, perf() - t0))
                if not kept and status == 200:
                    kept.append(reply)
        conn.close()

    server0 = server_cpu(spec.get("server_pid"))
    t0 = perf()
    threads = [threading.Thread(target=client) for _ in range(spec["clients"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = perf() - t0
    server1 = server_cpu(spec.get("server_pid"))
    ok = sum(1 for st, _ in samples if st == 200)
    server = None if server0 is None or server1 is None else server1 - server0
    return {
        "kind": "batch", "clients": spec["clients"], "batch": size, "requests": len(samples),
        "ok": ok, "seconds": wall, "events_per_s": ok * size / wall,
        "request_ms_median": 1000 * statistics.median(t for _, t in samples),
        "server_cpu_ms_per_event": None if server is None else 1000 * server / (ok * size),
        "statuses": dict(Counter(str(st) for st, _ in samples)),
        "check": check_batch_reply(spec["vkey"], kept[0] if kept else b"", size),
    }


def check_batch_reply(vkey: str, body: bytes, size: int) -> str:
    """Untimed: one batch reply lists ``size`` results, each a receipt verifying offline."""
    try:
        results = json.loads(body)["results"]
        if len(results) != size or any(r["status"] != 200 for r in results):
            return f"FAILED: {len(results)} results, not all 200"
        verifier = Verifier.from_vkey(vkey)
        for r in results:
            verify_receipt(Receipt.from_json(r["receipt"]), [verifier])
        return f"ok ({size} receipts of one reply verify offline)"
    except Exception as e:  # report it, do not hide the figures
        return f"FAILED: {type(e).__name__}: {e}"


def batch_load(server: Server, vkey: str, clients: int, batch: int, requests: int,
               salt: str) -> dict[str, Any]:
    spec = {"kind": "batch", "port": server.port, "clients": clients, "batch": batch,
            "max_requests": requests, "warmup": 1, "vkey": vkey, "salt": salt,
            "server_pid": server.pid}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--load", json.dumps(spec)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=LOAD_TIMEOUT_S)
    if proc.returncode != 0:
        raise SystemExit(f"bench: the batch load process failed (exit {proc.returncode})")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["ok"] == 0:
        raise SystemExit(f"bench: no batch succeeded: {out['statuses']}; see "
                         f"{server.log_path}")
    return out


def thread_cpu(pid: int | None, tid: int | None) -> float | None:
    """CPU seconds (user + system) used so far by thread ``tid`` of process ``pid`` (Linux)."""
    if pid is None or tid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loop_share(server: Server, run: Callable[[], dict[str, Any]]
               ) -> tuple[dict[str, Any], float | None]:
    """``run()`` and the share of the server's CPU meanwhile that its main thread, the event
    loop (HTTP, ASGI, the access log, the hand-off), used; the rest is the sequencer's
    writer thread (append, receipts) and the ledger's verify threads."""
    pid = server.pid
    main0, all0 = thread_cpu(pid, pid), server_cpu(pid)
    out = run()
    main1, all1 = thread_cpu(pid, pid), server_cpu(pid)
    if main0 is None or all0 is None or main1 is None or all1 is None or all1 == all0:
        return out, None
    return out, (main1 - main0) / (all1 - all0)


SINGLE_BLOCK = 16
"""Events per block of the in-process append that matches the single-event load (its 16
clients wait for their replies, so each block holds about 16)."""
SINGLE_BLOCKS = 100  # blocks of SINGLE_BLOCK appended in process per round


def measure_batch(args: argparse.Namespace, workdir: Path, now: int) -> dict[str, Any]:
    """Rounds of, in turn: ``--batch-events`` pre-signed events appended in process (blocks
    of 1000, fresh ledger, bench.py's paired round: its verify rates come along), the same
    number through ``POST /events/batch`` into one running node (``--batch-clients``
    connections, batches of ``--batch-size``), then single-event ``POST /events`` from
    ``--batch-single-clients`` clients for the server's CPU per submission, split between
    its event loop and its other threads, beside the CPU of an in-process append in blocks
    of ``SINGLE_BLOCK`` (what the single submissions' blocks cost the ledger)."""
    home = workdir / "batch"
    keys = init_node(home, BATCH_ORIGIN)
    items = ledger_bench.verify_items(1000, now)
    rounds: list[dict[str, Any]] = []
    with serving(home) as server:
        for r in range(args.load_rounds):
            leaves = ledger_bench.sign_leaves(b"batch-inproc-%d" % r, args.batch_events, now)
            v, a, cpu, pv = ledger_bench.paired_round(workdir / f"inproc-{r}", leaves, items,
                                                      1000, now)
            small = ledger_bench.sign_leaves(b"batch-small-%d" % r,
                                             SINGLE_BLOCK * SINGLE_BLOCKS, now)
            _, _, small_cpu, _ = ledger_bench.paired_round(workdir / f"inproc16-{r}", small,
                                                           items, SINGLE_BLOCK, now)
            b, b_loop = loop_share(server, partial(
                batch_load, server, keys["log"], args.batch_clients, args.batch_size,
                max(1, args.batch_events // args.batch_size), f"batch-{r}"))
            single, s_loop = loop_share(server, partial(
                load, server, "submit", args.batch_single_clients, args.load_seconds,
                args.max_requests, args.warmup, keys["log"], server_pid=server.pid,
                salt=f"single-{r}"))
            single_cpu = single["server_cpu_ms_per_request"]
            row = {"verify_per_s": v, "project_verify_per_s": pv, "append_per_s": a,
                   "batch_events_per_s": b["events_per_s"],
                   "batch_ratio": b["events_per_s"] / a,
                   "batch_server_cpu_ms_per_event": b["server_cpu_ms_per_event"],
                   "batch_loop_share": b_loop,
                   "batch_request_ms_median": b["request_ms_median"],
                   "single_per_s": single["per_s"],
                   "single_server_cpu_ms": single_cpu,
                   "single_loop_ms": None if s_loop is None else s_loop * single_cpu,
                   "single_writer_ms": None if s_loop is None else (1 - s_loop) * single_cpu,
                   "append16_cpu_ms": 1000 * small_cpu,
                   "single_p99_ms": single["p99_ms"],
                   "checks": [b["check"], single["check"]]}
            rounds.append(row)
            log(f"  round {r + 1}/{args.load_rounds}: in process {a:,.0f}/s (verify "
                f"{v:,.0f}/s, {pv:,.0f}/s libsodium); batch {b['events_per_s']:,.0f}/s "
                f"= {row['batch_ratio']:.2f} x, server {b['server_cpu_ms_per_event']:.3f} "
                f"ms/event; single {single['per_s']:,.0f}/s, server "
                f"{single_cpu:.3f} ms/request (event loop {_num(row['single_loop_ms'], 3)}); "
                f"in-process append in blocks of {SINGLE_BLOCK}: "
                f"{row['append16_cpu_ms']:.3f} ms/event; {b['check']}")
    return {"rounds": rounds, **{
        k: statistics.median(r[k] for r in rounds if r[k] is not None)
        for k in rounds[0] if k != "checks" and any(r[k] is not None for r in rounds)}}


def batch_table(res: dict[str, Any], args: argparse.Namespace) -> str:
    """median (min-max) of each figure over the rounds."""
    rs = res["rounds"]

    def cell(key: str, digits: int) -> str:
        vals = [r[key] for r in rs if r[key] is not None]
        if not vals:
            return "n/a"
        return (f"{statistics.median(vals):,.{digits}f} ({min(vals):,.{digits}f}-"
                f"{max(vals):,.{digits}f})")

    lines = [
        f"batch submissions, {len(rs)} rounds of {args.batch_events:,} events: batches of "
        f"{args.batch_size} over {args.batch_clients} connections; single POST /events from "
        f"{args.batch_single_clients} clients; load {os.getloadavg()[0]:.2f}",
        "| figure | median (min-max) | target |", "|---|---|---|",
        f"| ed25519_verify_per_s (cryptography, one thread) | {cell('verify_per_s', 0)} | |",
        f"| project verify per s (libsodium, one thread) | {cell('project_verify_per_s', 0)} "
        "| |",
        f"| append_events_per_s in process (blocks of 1000) | {cell('append_per_s', 0)} | |",
        f"| POST /events/batch events/s | {cell('batch_events_per_s', 0)} | |",
        f"| batch / in process | {cell('batch_ratio', 3)} | >= {TARGET_BATCH_RATIO} |",
        f"| server CPU per event in batches, ms | {cell('batch_server_cpu_ms_per_event', 3)} "
        "| |",
        f"| share of it in the event loop thread | {cell('batch_loop_share', 3)} | |",
        f"| single POST /events per s | {cell('single_per_s', 0)} | |",
        f"| server CPU per single POST /events, ms | {cell('single_server_cpu_ms', 3)} | "
        f"< {TARGET_SUBMIT_CPU_MS} |",
        f"| of which the event loop thread (HTTP, hand-off, log), ms | "
        f"{cell('single_loop_ms', 3)} | |",
        f"| of which the other threads (append, receipts), ms | {cell('single_writer_ms', 3)} "
        "| |",
        f"| in-process append CPU per event, blocks of {SINGLE_BLOCK}, ms | "
        f"{cell('append16_cpu_ms', 3)} | |",
        f"| single POST /events p99, ms | {cell('single_p99_ms', 1)} | |",
        "checks: " + "; ".join(sorted({c for r in rs for c in r["checks"]})),
    ]
    return "\n".join(lines)


# --- soak: memory under a long mixed load ------------------------------------------------------

SOAK_RSS_BOUND_MB = 200.0
"""The soak passes when the server's peak RSS stays below this and levels off."""
SOAK_GROWTH_MB = 10.0
"""Levels off: the peak of the last half of the samples exceeds the first half's by at most
this much."""
SOAK_SUBMITS = 2000  # submissions per soak cycle (one load process, signed beforehand)
SOAK_READS = 3000  # requests per read load of a cycle
SOAK_MAX_CYCLES = 10_000  # a bound on the loop whatever the clock says


def rss_mb(pid: int | None) -> float | None:
    """Resident set size of process ``pid`` in MB (Linux /proc)."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler:
    """Samples a process's RSS every ``every_s`` seconds on a thread until stopped."""

    def __init__(self, pid: int | None, every_s: float) -> None:
        import threading

        self.pid = pid
        self.every_s = every_s
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self._stop = threading.Event()
        self._t0 = perf()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            mb = rss_mb(self.pid)
            if mb is not None:
                self.samples.append((perf() - self._t0, mb))
            self._stop.wait(self.every_s)

    def stop(self) -> list[tuple[float, float]]:
        self._stop.set()
        self._thread.join()
        mb = rss_mb(self.pid)
        if mb is not None:
            self.samples.append((perf() - self._t0, mb))
        return self.samples


def soak_verdict(samples: Sequence[tuple[float, float]], bound_mb: float) -> dict[str, Any]:
    """Start, peak and end RSS; levelled off = peak below ``bound_mb`` and the last half's
    peak at most SOAK_GROWTH_MB above the first half's."""
    mbs = [mb for _, mb in samples]
    half = len(mbs) // 2
    first, last = max(mbs[: max(1, half)]), max(mbs[half:])
    peak = max(mbs)
    levels = peak < bound_mb and last - first <= SOAK_GROWTH_MB
    return {"samples": len(mbs), "start_mb": round(mbs[0], 1), "peak_mb": round(peak, 1),
            "end_mb": round(mbs[-1], 1), "first_half_peak_mb": round(first, 1),
            "last_half_peak_mb": round(last, 1), "bound_mb": bound_mb,
            "levels_off": levels}


def soak(args: argparse.Namespace, workdir: Path, now: int) -> int:
    """``--soak-minutes``: cycles of submissions, inclusion proofs and other reads against one
    node for the given minutes, its RSS sampled every ``--soak-sample-s`` seconds."""
    home = workdir / "soak"
    keys = init_node(home, "bench.soak/log")
    deadline = perf() + 60 * args.soak_minutes
    with serving(home) as server:
        sampler = RssSampler(server.pid, args.soak_sample_s)
        size = 0
        ids: list[str] = []
        cycle = 0
        counts: Counter[str] = Counter()
        try:
            while perf() < deadline and cycle < SOAK_MAX_CYCLES:
                common: dict[str, Any] = {"server_pid": server.pid}
                sub = load(server, "submit", args.soak_clients, args.load_seconds,
                           SOAK_SUBMITS, 0, keys["log"], salt=f"soak-{cycle}", **common)
                counts["submit"] += sub["ok"]
                status, body = http_get(HOST, server.port, "/checkpoint")
                if status == 200:
                    size = int(body.decode().split("\n")[1])
                if size < 2:
                    raise SystemExit("bench: the soak node accepted no submissions")
                ids = [parse_leaf(leaf).id for leaf in entries_sample(server, size)]
                inc = load(server, "inclusion", args.soak_clients, args.load_seconds,
                           SOAK_READS, 0, keys["log"], size=size, seed=cycle, **common)
                reads = load(server, "reads", args.soak_clients, args.load_seconds,
                             SOAK_READS, 0, keys["log"], size=size, seed=cycle, ids=ids,
                             **common)
                counts["inclusion"] += inc["ok"]
                counts["reads"] += reads["ok"]
                counts["non_200"] += sum(r["requests"] - r["ok"] for r in (sub, inc, reads))
                cycle += 1
                last = sampler.samples[-1][1] if sampler.samples else float("nan")
                log(f"  soak cycle {cycle}: log size {size:,}, RSS {last:.1f} MB, "
                    f"{(deadline - perf()) / 60:.1f} min left")
        finally:
            samples = sampler.stop()
    res = {"minutes": args.soak_minutes, "cycles": cycle, "log_size": size,
           "requests_ok": dict(counts), **soak_verdict(samples, args.soak_bound_mb),
           "rss_series_mb": [(round(t), round(mb, 1)) for t, mb in samples]}
    print(f"soak {args.soak_minutes:g} min, {cycle} cycles, log {size:,} entries, "
          f"{counts['submit']:,} submissions, {counts['inclusion'] + counts['reads']:,} reads "
          f"({counts['non_200']} non-200): RSS start {res['start_mb']} MB, peak "
          f"{res['peak_mb']} MB, end {res['end_mb']} MB (halves {res['first_half_peak_mb']} / "
          f"{res['last_half_peak_mb']} MB): "
          f"{'levels off' if res['levels_off'] else 'DOES NOT level off'} below "
          f"{args.soak_bound_mb:g} MB")
    if args.json:
        print(json.dumps(res, indent=2))
    if args.out is not None:
        (workdir / "soak.json").write_text(json.dumps(res, indent=2) + "\n")
    return 0 if res["levels_off"] else 1


def entries_sample(server: Server, size: int, count: int = 50) -> list[bytes]:
    """Leaves of the last ``count`` entries (their event ids feed the receipt reads)."""
    start = max(0, size - count)
    status, body = http_get(HOST, server.port, f"/entries?start={start}&end={size}")
    if status != 200:
        raise SystemExit(f"bench: GET /entries answered {status}")
    return [b64decode(e["leaf"], "leaf") for e in json.loads(body)["entries"]]



def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--entries", type=int, default=DEFAULT_ENTRIES,
                   help="log size of the node serving inclusion proofs")
    p.add_argument("--json", action="store_true", help="also print the results as JSON")
    p.add_argument("--out", type=Path, default=None,
                   help="keep the node homes and server logs here and write results.json "
                        "(default: a temporary directory, deleted afterwards)")
    p.add_argument("--peer-entries", type=int, default=DEFAULT_PEER_ENTRIES,
                   help="entries of the peer log mirrored in each round")
    p.add_argument("--mirror-rounds", type=int, default=5,
                   help="timed mirroring rounds, each into an emptied mirror")
    p.add_argument("--verify-chunk", type=int, default=5000,
                   help="signatures verified just before and just after each mirroring round")
    p.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32],
                   help="concurrent clients (comma-separated levels)")
    p.add_argument("--load-rounds", type=int, default=3,
                   help="rounds of each load (and its floor) per client level")
    p.add_argument("--load-seconds", type=float, default=6.0, help="time cap of one load run")
    p.add_argument("--floor-seconds", type=float, default=3.0,
                   help="time cap of one GET /keys floor run")
    p.add_argument("--max-requests", type=int, default=15_000,
                   help="count cap of one load run (submissions are signed beforehand)")
    p.add_argument("--target-clients", type=int, default=None,
                   help="the closed-loop level judged against the p99 target (default: the "
                        "fewest --clients; the others only queue longer and are reported for "
                        "information)")
    p.add_argument("--paced-rate", type=float, default=3000.0,
                   help="also load the proofs open-loop at this many requests/s (0: skip)")
    p.add_argument("--paced-clients", type=int, default=32,
                   help="connections the paced load is spread over")
    p.add_argument("--warmup", type=int, default=200, help="untimed requests before each run")
    p.add_argument("--queries", type=int, default=3000,
                   help="in-process Ledger.inclusion_proof calls (baseline)")
    p.add_argument("--sign-procs", type=int,
                   default=max(1, min(2, (os.cpu_count() or 2) - 1)),
                   help="signing processes feeding the log builders")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--store", default=None, metavar="URL",
                   help="keep every node's log in PostgreSQL: a server URL (postgresql://...) "
                        "whose role may create schemas (mirrored copies stay in SQLite)")
    p.add_argument("--profile", action="store_true",
                   help="instead of the benchmark, cProfile one mirroring round")
    p.add_argument("--top", type=int, default=25, help="rows of the --profile listing")
    p.add_argument("--soak-minutes", type=float, default=None,
                   help="instead of the benchmark, soak one node with mixed submissions and "
                        "reads for this many minutes and report its RSS")
    p.add_argument("--soak-sample-s", type=float, default=5.0,
                   help="seconds between RSS samples of the soak")
    p.add_argument("--soak-bound-mb", type=float, default=SOAK_RSS_BOUND_MB,
                   help="the RSS bound the soak must level off below")
    p.add_argument("--soak-clients", type=int, default=8, help="concurrent clients of the soak")
    p.add_argument("--batch-only", action="store_true",
                   help="instead of the benchmark, measure POST /events/batch against the "
                        "in-process append, and the server CPU of single submissions")
    p.add_argument("--batch-events", type=int, default=5000,
                   help="events per round of --batch-only (each way)")
    p.add_argument("--batch-size", type=int, default=1000, help="events per POST /events/batch")
    p.add_argument("--batch-clients", type=int, default=2,
                   help="connections posting batches at once")
    p.add_argument("--batch-single-clients", type=int, default=16,
                   help="clients of the single-event POST /events load of --batch-only")
    p.add_argument("--now", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--salt", default=None, help=argparse.SUPPRESS)
    p.add_argument("--build-only", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--load", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.entries < 2:
        p.error("--entries must be at least 2")
    if args.store is not None and not args.store.startswith(("postgresql://", "postgres://")):
        p.error("--store must be a postgresql:// URL")
    if not 1 <= args.peer_entries <= MAX_MIRROR_EVENTS:
        p.error(f"--peer-entries must be 1 to {MAX_MIRROR_EVENTS} (one mirroring round)")
    if not args.clients or min(args.clients) < 1 or max(args.clients) > 256:
        p.error("--clients must be 1 to 256")
    if args.target_clients is None:
        args.target_clients = min(args.clients)
    elif args.target_clients not in args.clients:
        p.error("--target-clients must be one of --clients")
    for name in ("mirror_rounds", "load_rounds", "verify_chunk", "max_requests", "queries"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # run the finally blocks: servers stop, temp dirs go


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    now = args.now if args.now is not None else int(time.time())
    if args.build_only is not None:  # child: build a log and nothing else
        print(json.dumps(build_child(args.build_only, args.entries, 1000, now,
                                     args.sign_procs, args.salt.encode())))
        return 0
    if args.load is not None:  # child: a load generator
        spec = json.loads(args.load)
        print(json.dumps(run_batch_load(spec) if spec["kind"] == "batch" else run_load(spec)))
        return 0

    if args.store is not None:
        NODE_STORE.append(args.store)
    signal.signal(signal.SIGTERM, _terminate)
    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory(prefix="provenance-bench-node-")
        workdir = Path(tmp.name)
    else:
        workdir = args.out.resolve()
        if (workdir / "peer").exists():
            raise SystemExit(f"bench: {workdir} already holds a bench run; pick a new --out")
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.profile:
            profile(args, workdir, now)
            return 0
        if args.soak_minutes is not None:
            return soak(args, workdir, now)
        if args.batch_only:
            res = measure_batch(args, workdir, now)
            print(batch_table(res, args))
            if args.json:
                print(json.dumps(res, indent=2))
            return 0
        return run(args, workdir, now)
    finally:
        stop_all()
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
