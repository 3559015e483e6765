"""Helpers for the multi-node tests: real ``provenance node`` processes on 127.0.0.1.

Every node is the real console script in its own process group (``node serve``), so a test
can SIGKILL it, or a ``node sync`` round, and nothing else. Each process started here is
recorded and killed by :meth:`Processes.close`, which the fixtures call as a finalizer.

The nodes run on the machine's clock (the ``node serve`` command has no other), so events are
signed at one time read when the network is made: within the admission window
(ledger.MAX_EVENT_AGE) for the whole module.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event
from provenance_ledger.core.note import Verifier
from provenance_ledger.ledger import Home, Ledger
from provenance_ledger.node import load_config
from provenance_ledger.node.mirror import open_mirror

from .conftest import HOST, STARTUP_TIMEOUT, free_port, work

PROVENANCE = Path(sys.executable).parent / "provenance"
CLI_TIMEOUT = 120  # seconds for one CLI call (a sync round of thousands of entries included)
STOP_TIMEOUT = 30  # seconds a process gets to exit after a signal
POLL_S = 0.005  # seconds between looks at a log or a process


class Processes:
    """Every process a test starts, each leading its own process group."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()

    def start(self, argv: Sequence[str | Path], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=out, env=cli_env(log.parent),
                                    start_new_session=True)
        with self._lock:
            self._procs.append(proc)
        return proc

    def close(self) -> None:
        """Kill whatever is still running: SIGTERM, then SIGKILL for the slow."""
        with self._lock:
            procs, self._procs = self._procs, []
        for p in procs:
            signal_group(p, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                signal_group(p, signal.SIGKILL)
                p.wait(timeout=STOP_TIMEOUT)


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send ``sig`` to the process group that ``proc`` leads (it was started in a session of
    its own), if it is still running."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass


def cli_env(scratch: Path) -> dict[str, str]:
    """The CLI's environment: no PROVENANCE_* from the caller, HOME in the test folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    user = scratch / "user"
    user.mkdir(exist_ok=True)
    env.update({"HOME": str(user), "NO_COLOR": "1"})
    return env


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def provenance(*args: str | Path, scratch: Path, ok: Sequence[int] = (0,)) -> CliResult:
    """Run ``provenance ARGS``; fail unless the exit code is in ``ok``."""
    proc = subprocess.run([str(PROVENANCE), *map(str, args)], env=cli_env(scratch),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, check=False)
    result = CliResult(proc.returncode, proc.stdout, proc.stderr)
    assert result.code in ok, (f"provenance {' '.join(map(str, args))}: exit {result.code}\n"
                               f"stdout:\n{result.out}\nstderr:\n{result.err}")
    return result


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls on threads (each starts a subprocess); results in order, errors raised."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            results[i] = call()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


# -- nodes ----------------------------------------------------------------------------------------


@dataclass
class Node:
    """One node home, its keys, and the ``node serve`` process currently serving it."""

    name: str
    home: Path
    origin: str
    port: int
    processes: Processes
    log_vkey: str = ""
    witness_vkey: str = ""
    server: subprocess.Popen[bytes] | None = None
    serving_port: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.home.parent / f"{self.name}.log"

    @property
    def scratch(self) -> Path:
        return self.home.parent

    @property
    def log_verifier(self) -> Verifier:
        return Verifier.from_vkey(self.log_vkey)

    @property
    def witness_verifier(self) -> Verifier:
        return Verifier.from_vkey(self.witness_vkey)

    @property
    def witness_name(self) -> str:
        return self.witness_verifier.name

    def cli(self, *args: str | Path, ok: Sequence[int] = (0,)) -> CliResult:
        return provenance(*args, scratch=self.scratch, ok=ok)

    def start(self, port: int | None = None) -> None:
        """``provenance node serve`` (on ``port`` instead of the configured one if given);
        returns once ``GET /keys`` answers."""
        assert self.server is None or self.server.poll() is not None, "already serving"
        argv: list[str | Path] = [PROVENANCE, "node", "serve", "--home", self.home]
        if port is not None:
            argv += ["--listen", f"{HOST}:{port}"]
        self.serving_port = port or self.port
        self.server = self.processes.start(argv, self.log)
        url = f"http://{HOST}:{self.serving_port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert self.server.poll() is None, f"{self.name} exited:\n{self.log.read_text()}"
            try:
                if httpx.get(url + "/keys", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{self.name} did not start"
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Signal the server's process group and wait; returns its exit code."""
        assert self.server is not None
        signal_group(self.server, sig)
        return self.server.wait(timeout=STOP_TIMEOUT)

    def sync(self, ok: Sequence[int] = (0,)) -> tuple[int, dict[str, dict[str, Any]]]:
        """One ``node sync --json`` round: (exit code, result by peer origin)."""
        r = self.cli("node", "sync", "--home", self.home, "--json", ok=ok)
        return r.code, {item["origin"]: item for item in r.json()}

    def start_sync(self) -> subprocess.Popen[bytes]:
        """``node sync`` in the background, in a process group of its own."""
        return self.processes.start([PROVENANCE, "node", "sync", "--home", self.home],
                                    self.home.parent / f"{self.name}.sync.log")

    def mirror(self, peer: Node) -> Ledger:
        """This node's mirror of ``peer``'s log (close it after use)."""
        return open_mirror(self.home, load_config(self.home).peer(peer.origin))

    def checkpoint(self) -> httpx.Response:
        return httpx.get(self.url + "/checkpoint", timeout=30)


def make_network(folder: Path, names: Sequence[str], processes: Processes,
                 mirror_interval: int = 0) -> list[Node]:
    """Node homes made with the CLI (``node init --json``, ``node peer add``), each
    trusting every other node's log key and witness key; not yet serving. Their ``node
    serve`` mirrors every ``mirror_interval`` seconds (0: only rounds the test runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    nodes = [Node(n, folder / n, f"{n}.ledger.test/log", free_port(), processes) for n in names]
    made = in_parallel(*(lambda n=n: n.cli(
        "node", "init", "--home", n.home, "--origin", n.origin, "--listen", f"{HOST}:{n.port}",
        "--mirror-interval", str(mirror_interval), "--json") for n in nodes))
    for n, result in zip(nodes, made, strict=True):
        keys = result.json()  # the same fields as ``node keys --json``, and more
        n.log_vkey, n.witness_vkey = keys["log"], keys["witness"]
    for shift in range(1, len(nodes)):  # peer adds on one home run one after another
        pairs = [(n, nodes[(i + shift) % len(nodes)]) for i, n in enumerate(nodes)]
        in_parallel(*(lambda n=n, p=p: n.cli(
            "node", "peer", "add", "--home", n.home, "--origin", p.origin, "--url", p.url,
            "--vkey", p.log_vkey, "--witness-vkey", p.witness_vkey) for n, p in pairs))
    return nodes


# -- events ---------------------------------------------------------------------------------------


def checkpoint_size(node: Node) -> int:
    """The size of the latest checkpoint the node's home holds (0 before the first)."""
    ledger = Home(node.home).open_ledger()
    try:
        return ledger.store.latest_checkpoint_size() or 0
    finally:
        ledger.close()


def registration(key: PrivateKey, name: str, at: int) -> SignedEvent:
    body = {"size": len(name), "media_type": "image/png", "title": name}
    return sign_event(Event("work.register", work(name), None, key.public.text, at, body), key)


def consent(key: PrivateKey, name: str, prev: str, at: int) -> SignedEvent:
    body = {"grantee": "*", "purposes": ["ai_inference"]}
    return sign_event(Event("consent.grant", work(name), prev, key.public.text, at, body), key)


def chains(creators: Sequence[PrivateKey], prefix: str, count: int, at: int,
           clients: int) -> list[list[SignedEvent]]:
    """``count`` works registered in turn by ``creators``, every fourth also granted consent
    right after its registration; split into ``clients`` chains that keep each work's events
    in order (one client submits a chain one event after another)."""
    out: list[list[SignedEvent]] = [[] for _ in range(clients)]
    for i in range(count):
        key = creators[i % len(creators)]
        name = f"{prefix}-{i}"
        reg = registration(key, name, at)
        chain = out[i % clients]
        chain.append(reg)
        if i % 4 == 0:
            chain.append(consent(key, name, reg.id, at))
    return out


@dataclass
class Submission:
    """Clients submitting chains of events to one node over HTTP, one thread per chain. A
    client stops at its first refusal or transport error (e.g. the node was killed)."""

    url: str
    chains: list[list[SignedEvent]]
    notify_at: int = 0
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> receipt JSON
    statuses: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    reached: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Submission:
        self._threads = [threading.Thread(target=self._client, args=(c,)) for c in self.chains]
        for t in self._threads:
            t.start()
        return self

    def join(self) -> Submission:
        for t in self._threads:
            t.join(CLI_TIMEOUT)
            assert not t.is_alive(), "a client is still submitting"
        return self

    def _client(self, chain: list[SignedEvent]) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            for ev in chain:
                try:
                    r = http.post("/events", content=ev.leaf)
                except httpx.TransportError as e:
                    with self._lock:
                        self.failures.append(f"{ev.id}: {e!r}")
                    return
                with self._lock:
                    self.statuses.append(r.status_code)
                    if r.status_code != 200:
                        self.failures.append(f"{ev.id}: {r.status_code} {r.text[:200]}")
                        return
                    receipt = r.json()
                    assert receipt["event"]["id"] == ev.id
                    self.acked[ev.id] = receipt
                    if self.notify_at and len(self.acked) >= self.notify_at:
                        self.reached.set()


def submit(url: str, event_chains: list[list[SignedEvent]]) -> dict[str, dict[str, Any]]:
    """Submit every chain; every event must be acknowledged. Returns receipts by event id."""
    s = Submission(url, event_chains).start().join()
    assert not s.failures, s.failures[:5]
    return s.acked


# -- logs -----------------------------------------------------------------------------------------


class LogWatch:
    """Waits for a JSON log line of a node server written after the watch began."""

    def __init__(self, log: Path) -> None:
        self._log = log
        self._offset = log.stat().st_size
        self._rest = b""

    def wait_for(self, match: Callable[[dict[str, Any]], bool], count: int = 1,
                 alive: Callable[[], bool] = lambda: True) -> bool:
        """True once ``count`` new records have matched; False if ``alive()`` turns false
        first or STARTUP_TIMEOUT passes."""
        seen = 0
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with self._log.open("rb") as f:
            while time.monotonic() < deadline and alive():
                f.seek(self._offset)
                chunk = f.read()
                self._offset += len(chunk)
                lines = (self._rest + chunk).split(b"\n")
                self._rest = lines.pop()
                for line in lines:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict) and match(record):
                        seen += 1
                        if seen >= count:
                            return True
                time.sleep(POLL_S)
        return False


def entries_request(record: dict[str, Any]) -> bool:
    return record.get("msg") == "request" and record.get("path") == "/entries"


def serve_refused(node: Node, timeout: float = STARTUP_TIMEOUT) -> CliResult:
    """``node serve`` for a node expected to refuse before it serves: its exit code and
    output. A server that starts instead runs until ``timeout`` seconds, is killed, and the
    test fails (``subprocess.TimeoutExpired``)."""
    proc = subprocess.run([str(PROVENANCE), "node", "serve", "--home", str(node.home)],
                          env=cli_env(node.scratch), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@contextmanager
def serving(home: Path, scratch: Path, limit: Callable[[], None] | None = None,
            listen: str = f"{HOST}:0") -> Iterator[str]:
    """`provenance node serve` (on a port the system chooses unless ``listen`` says); yields
    its URL."""
    proc = subprocess.Popen(
        [str(PROVENANCE), "node", "serve", "--home", str(home), "--listen", listen],
        env=cli_env(scratch), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=limit)
    try:
        assert proc.stdout is not None
        for _ in range(100):  # start-up lines (a peer not reached yet ...), then this one
            first = json.loads(proc.stdout.readline())
            if first["msg"] == "listening":
                break
        assert first["msg"] == "listening", first
        yield str(first["url"])
    finally:
        proc.terminate()
        proc.communicate(timeout=STARTUP_TIMEOUT)
