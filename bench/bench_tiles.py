"""Inclusion proofs from static tiles served by nginx (issue 15 section 2; specs/tiles.md).

Builds the tiles of a log of ``--entries`` leaves (default 10^6) into a folder and serves it
with Debian's nginx on 127.0.0.1. Each *proof* is what a verifier does: fetch the entry's
bundle and the hash tiles of its proof (``core/tiles.py inclusion_tiles``), compute the RFC
9162 path from them and verify it, with the entry's leaf hash, against the checkpoint's root
(the checkpoint itself verified against the log key once). Tile fetches per proof are counted.

**Paced (the headline).** One lean client process: asyncio streams over ``--clients`` (32)
kept-alive HTTP/1.1 connections, raw requests (no HTTP library), an open loop at each of
``--paced-rates`` proofs per second. Proof k is due at start + k / rate and goes to the
first idle connection (FIFO); its latency counts from that due time, so a proof that waits
for a connection or for the client's CPU counts the wait. The tiles of one proof are asked
for at once, pipelined on its connection (as a verifier fetching them in parallel would),
then hashed. The event loop uses ``select`` (microsecond timeouts; epoll's are whole
milliseconds, which would add up to 1 ms to every paced latency); the garbage collector is
off while a load runs. Three loads per rate and round, in this order:

* ``floor``: one GET of a 2-byte static file per "proof", same connections, same pacing:
  nginx, loopback and this client with no tiles and no hashing (the host's jitter shows here);
* ``cached``: each connection is one client keeping the tiles every proof of its checkpoint
  shares (hash tiles of levels >= 1 and the right edge's partial tiles) and their inner
  subtree hashes, as a C2SP verifier may; a proof fetches its entry's bundle and its level-0
  tile (one of 3,907 at 10^6: caching those is caching the log);
* ``cold``: nothing kept, every proof fetches all its tiles.

Per load: proofs/s achieved, latency p50/p90/p99/max and the share of proofs within 2 ms,
tile fetches per proof, the client's own CPU per proof and share of one core (so that the
client is seen not to be what is measured), and nginx's CPU per proof (its processes' CPU
time over the load, from /proc). ``--rounds`` rounds give the median and the
spread. ``--nice -10`` runs the paced client and nginx above the host's other work (root
only): on a host whose cores are shared, an approximation of cores of their own, labelled
in the output.

**Closed loop (for comparison, labelled).** ``--closed-clients`` (32) client *processes*, each
one ``http.client`` connection, each proving as fast as it can for ``--closed-seconds``
(cached and cold as above), plus 1 process cold. On a 2-core host this measures the clients'
queue for the CPU more than nginx.

**nginx alone.** ApacheBench (``ab``, a C client; Debian's ``apache2-utils``) fetching a full
level-0 tile and a full bundle over 32 kept-alive connections (skipped without ``ab``).

The tiles are written with the writer's file layout and the core's tile contents, from
synthetic 64-byte leaves (building 10^6 signed events would take longer than the bench and
change nothing it measures). Nothing but 127.0.0.1 is contacted.

    python bench/bench_tiles.py --dir /tmp/tiles-1m     # 10^6 entries; keep the tiles
    python bench/bench_tiles.py --entries 20000 --seconds 2 --rounds 1 --closed-seconds 2
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import http.client
import json
import math
import multiprocessing as mp
import os
import random
import re
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.node.nginx import serving  # noqa: E402

from provenance_ledger.core.crypto import PrivateKey  # noqa: E402
from provenance_ledger.core.merkle import Frontier, leaf_hash, verify_inclusion  # noqa: E402
from provenance_ledger.core.note import (  # noqa: E402
    Checkpoint,
    NoteSigner,
    SignedNote,
    Verifier,
)
from provenance_ledger.core.receipt import verify_checkpoint_note  # noqa: E402
from provenance_ledger.core.tiles import (  # noqa: E402
    ENTRIES,
    Tile,
    bundle,
    bundle_for_entry,
    inclusion_tiles,
    tree_tiles,
)
from provenance_ledger.core.tiles import inclusion_proof as proof_from_tiles  # noqa: E402
from provenance_ledger.errors import MalformedError  # noqa: E402
from provenance_ledger.node.tiles import CHECKPOINT_FILE, write_atomically  # noqa: E402

ORIGIN = "bench.example/tiles"
FLOOR_FILE = "floor"  # the 2-byte static file of the floor load
TARGET_P99_MS = 2.0
WARMUP_PROOFS = 20  # per connection, before each timed load: a cached client's tiles kept
WARMUP_S = 1.0  # then paced at the load's rate, untimed


def leaf(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest() * 2


def build(folder: Path, entries: int) -> str:
    """Write the tiles and the signed checkpoint of ``entries`` synthetic leaves; return the
    log's vkey. Reused when ``folder`` already holds that size."""
    signer = NoteSigner(ORIGIN, PrivateKey.from_seed(hashlib.sha256(b"bench tiles").digest()))
    vkey = signer.verifier.to_vkey()
    write_atomically(folder / FLOOR_FILE, b"ok")
    marker = folder / "built.json"
    if marker.exists() and json.loads(marker.read_text()) == {"entries": entries}:
        return vkey
    t0 = time.perf_counter()
    frontier, nodes = Frontier(), {}
    for i in range(entries):
        for node, h in frontier.append(leaf_hash(leaf(i))):
            if node[0] % 8 == 0:  # only the levels tiles hold
                nodes[node] = h
    for tile in tree_tiles(entries):
        if tile.level == ENTRIES:
            first = tile.index * 256
            data = bundle(leaf(i) for i in range(first, first + tile.width))
        else:
            data = b"".join(nodes[n] for n in tile.nodes)
        write_atomically(folder / tile.path, data)
    text = Checkpoint(ORIGIN, entries, frontier.root()).to_text()
    note = SignedNote(text, (signer.sign(text),)).to_text()
    write_atomically(folder / CHECKPOINT_FILE, note.encode())
    marker.write_text(json.dumps({"entries": entries}))
    print(f"built {entries} entries of tiles in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    return vkey


# --- what a verifier does for one proof ---------------------------------------------------------


def shared(tile: Tile) -> bool:
    """A tile every proof against the checkpoint needs or may need: the hash tiles of levels
    >= 1 (16 at 10^6 entries) and the right edge's partial tiles. A cached client keeps
    these; a random entry's level-0 tile and bundle it fetches."""
    return tile.level != ENTRIES and (tile.level >= 1 or not tile.full)


def limit(tile: Tile) -> int:
    """The most bytes the tile can be (specs/tiles.md section 5.1)."""
    return tile.width * (2 + 16384 if tile.level == ENTRIES else 32)


def entry_at(data: bytes, at: int, tile: Tile) -> bytes:
    """Entry ``at`` of a bundle: its length prefixes walked up to it (a verifier needs only
    its own entry, whose hash the proof then checks); MalformedError when the bundle ends
    first."""
    pos = 0
    for _ in range(at):
        pos += 2 + int.from_bytes(data[pos:pos + 2], "big")
    n = int.from_bytes(data[pos:pos + 2], "big")
    if pos + 2 + n > len(data):
        raise MalformedError(f"{tile.path} ends before entry {at}")
    return data[pos + 2:pos + 2 + n]


@dataclass
class Client:
    """One client's state: its verified checkpoint and, when caching, the shared tiles."""

    cp: Checkpoint
    cached: bool
    tiles: dict[Tile, bytes] = field(default_factory=dict)
    levels: dict[Tile, list[list[bytes]]] = field(default_factory=dict)

    def wanted(self, index: int) -> list[Tile]:
        """The tiles proof ``index`` fetches (bundle first), those kept left out."""
        btile, _ = bundle_for_entry(index, self.cp.size)
        need = sorted(inclusion_tiles(index, self.cp.size))
        return [btile] + [t for t in need if t not in self.tiles]

    def prove(self, index: int, got: dict[Tile, bytes]) -> None:
        """Build the proof from the tiles and verify it (raises when it does not)."""
        size = self.cp.size
        btile, at = bundle_for_entry(index, size)
        entry = entry_at(got[btile], at, btile)
        levels = dict(self.levels) if self.cached else {}
        proof = proof_from_tiles(index, size, {**self.tiles, **got}, levels)
        verify_inclusion(index, size, leaf_hash(entry), proof, self.cp.root)
        if self.cached:
            for tile, data in got.items():
                if shared(tile):
                    self.tiles[tile] = data
                    self.levels[tile] = levels[tile]


# --- paced: one asyncio client, raw HTTP/1.1 ----------------------------------------------------


class Conn(asyncio.Protocol):
    """One kept-alive connection and the client behind it: raw HTTP/1.1 on an asyncio
    protocol (one future per batch of pipelined requests, the answers parsed from one
    buffer as they come)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.verifier: Client | None = None
        self._buf = bytearray()
        self._limits: list[int] = []
        self._bodies: list[bytes] = []
        self._done: asyncio.Future[list[bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_exception(exc or ConnectionError("nginx closed the connection"))

    def data_received(self, data: bytes) -> None:
        self._buf += data
        while self._limits:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self._buf[:end]).split(b"\r\n")
            length = next((int(h.split(b":", 1)[1]) for h in lines[1:]
                           if h[:15].lower() == b"content-length:"), None)
            if length is None or length > self._limits[0] or lines[0][9:12] != b"200":
                assert self._done is not None
                self._done.set_exception(RuntimeError(
                    f"{lines[0]!r}, length {length} (limit {self._limits[0]})"))
                self._limits.clear()
                return
            if len(self._buf) < end + 4 + length:
                return
            self._bodies.append(bytes(self._buf[end + 4:end + 4 + length]))
            del self._buf[:end + 4 + length]
            self._limits.pop(0)
        if self._done is not None and not self._done.done():
            self._done.set_result(self._bodies)

    def get(self, paths: list[str], limits: list[int]) -> asyncio.Future[list[bytes]]:
        """GET every path, pipelined: the requests in one write; the bodies in order."""
        assert self.transport is not None
        self._done = asyncio.get_running_loop().create_future()
        self._bodies, self._limits = [], list(limits)
        self.transport.write(b"".join(
            f"GET /{p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n"
            .encode() for p in paths))
        return self._done

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(port: int, n: int, vkey: str | None, cached: bool) -> list[Conn]:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(n):
        _, conn = await loop.create_connection(Conn, "127.0.0.1", port)
        conns.append(conn)
    if vkey is not None:
        (note,) = await conns[0].get([CHECKPOINT_FILE], [65536])
        cp, _, _ = verify_checkpoint_note(note.decode(), [Verifier.from_vkey(vkey)])
        for c in conns:
            c.verifier = Client(cp, cached)
    return conns


async def proof(c: Conn, index: int) -> int:
    """One proof on ``c``; returns its fetches."""
    v = c.verifier
    assert v is not None
    tiles = v.wanted(index)
    data = await c.get([t.path for t in tiles], [limit(t) for t in tiles])
    v.prove(index, dict(zip(tiles, data, strict=True)))
    return len(tiles)


async def floor(c: Conn, index: int) -> int:
    await c.get([FLOOR_FILE], [2])
    return 1


async def paced(conns: list[Conn], rate: float, seconds: float, indexes: list[int],
                work: Callable[[Conn, int], Awaitable[int]]) -> dict[str, float]:
    """``rate`` proofs a second for ``seconds``, each on the first idle connection; each
    latency from its due time."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    n = max(1, math.floor(seconds * rate))
    lat: list[float] = []
    fetches = 0
    t0 = time.perf_counter() + 0.01

    async def worker(c: Conn) -> None:
        nonlocal fetches
        while (k := await queue.get()) is not None:
            got = await work(c, indexes[k % len(indexes)])
            fetches += got  # not ``+= await``: that reads the total before awaiting
            lat.append(time.perf_counter() - (t0 + k / rate))

    workers = [loop.create_task(worker(c)) for c in conns]
    cpu0 = time.process_time()
    for k in range(n):
        wait = t0 + k / rate - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        queue.put_nowait(k)
    for _ in conns:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    lat.sort()
    within = sum(1 for x in lat if x <= TARGET_P99_MS / 1000)
    return {"rate": rate, "proofs_per_s": n / wall, "p50_ms": 1000 * lat[n // 2],
            "p90_ms": 1000 * lat[min(n - 1, int(n * 0.9))],
            "p99_ms": 1000 * lat[min(n - 1, int(n * 0.99))], "max_ms": 1000 * lat[-1],
            "within_2ms": within / n, "fetches_per_proof": fetches / n,
            "client_cpu_ms_per_proof": 1000 * cpu / n, "client_cpu_share": cpu / wall}


def nginx_pids(work: Path) -> list[int]:
    """The nginx master started with ``work``'s config and its workers."""
    found = subprocess.run(["pgrep", "-f", str(work / "nginx.conf")], capture_output=True,
                           text=True, check=False).stdout.split()
    pids = [int(p) for p in found]
    for master in list(pids):
        pids += [int(p) for p in subprocess.run(["pgrep", "-P", str(master)],
                                                capture_output=True, text=True,
                                                check=False).stdout.split()]
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by ``pids`` (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def paced_level(port: int, vkey: str, clients: int, rate: float, seconds: float,
                seed: int, size: int, nginx: list[int]) -> dict[str, dict[str, float]]:
    """The floor, cached and cold loads at ``rate``, each after a warm-up, in a fresh event
    loop on ``select``."""
    async def main() -> dict[str, dict[str, float]]:
        rng = random.Random(seed)
        out = {}
        for label in ("floor", "cached", "cold"):
            conns = await connect(port, clients, None if label == "floor" else vkey,
                                  label == "cached")
            work = floor if label == "floor" else proof
            # Warm-up, not timed: WARMUP_PROOFS per connection as fast as they go (a cached
            # client's shared tiles are then in its cache), then WARMUP_S at the rate.
            warm = [rng.randrange(size) for _ in range(WARMUP_PROOFS)]
            for i in warm:
                await asyncio.gather(*(work(c, i) for c in conns))
            warm = [rng.randrange(size) for _ in range(max(1, int(WARMUP_S * rate)))]
            await paced(conns, rate, WARMUP_S, warm, work)
            timed = [rng.randrange(size) for _ in range(max(1, int(seconds * rate)))]
            gc.collect()
            gc.disable()
            server0 = cpu_seconds(nginx)
            try:
                out[label] = await paced(conns, rate, seconds, timed, work)
            finally:
                gc.enable()
            n = max(1, math.floor(seconds * rate))
            out[label]["nginx_cpu_ms_per_proof"] = 1000 * (cpu_seconds(nginx) - server0) / n
            for c in conns:
                c.close()
        return out

    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


# --- closed loop: client processes --------------------------------------------------------------


def closed_client(url: str, vkey: str, cached: bool, seconds: float, seed: int,
                  out: mp.Queue) -> None:  # type: ignore[type-arg]
    if os.getpriority(os.PRIO_PROCESS, 0) < 0:  # 32 processes never run above other work
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)

    def get(path: str, most: int) -> bytes:
        conn.request("GET", "/" + path, headers={"accept-encoding": "identity"})
        r = conn.getresponse()
        body = r.read(most + 1)
        if r.status != 200 or len(body) > most:
            raise RuntimeError(f"GET {path}: {r.status}, {len(body)} bytes")
        return body

    cp, _, _ = verify_checkpoint_note(get(CHECKPOINT_FILE, 65536).decode(),
                                      [Verifier.from_vkey(vkey)])
    v = Client(cp, cached)
    rng = random.Random(seed)
    latencies: list[float] = []
    fetches = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        index = rng.randrange(cp.size)
        t0 = time.perf_counter()
        tiles = v.wanted(index)
        v.prove(index, {t: get(t.path, limit(t)) for t in tiles})
        fetches += len(tiles)
        latencies.append(time.perf_counter() - t0)
    out.put((latencies, fetches))


def closed(url: str, vkey: str, clients: int, cached: bool, seconds: float,
           seed: int) -> dict[str, float]:
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=closed_client, args=(url, vkey, cached, seconds, seed + i, out))
             for i in range(clients)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[0])
    n = len(lat)
    return {"proofs_per_s": n / seconds, "p50_ms": 1000 * lat[n // 2],
            "p90_ms": 1000 * lat[min(n - 1, int(n * 0.9))],
            "p99_ms": 1000 * lat[min(n - 1, int(n * 0.99))], "max_ms": 1000 * lat[-1],
            "fetches_per_proof": sum(r[1] for r in results) / n}


def nginx_alone(url: str, clients: int, requests: int) -> dict[str, dict[str, float]]:
    """nginx's side alone: ApacheBench (Debian's ``apache2-utils``, a C client) fetching one
    full level-0 tile and one full bundle with ``clients`` kept-alive connections; its
    requests/s and latency percentiles (ab reports whole milliseconds)."""
    if shutil.which("ab") is None:
        print("ab not found (apt-get install apache2-utils): nginx alone not measured",
              file=sys.stderr)
        return {}
    out = {}
    for label, path in (("level-0 tile", "tile/0/001"), ("entry bundle", "tile/entries/001")):
        text = subprocess.run(["ab", "-q", "-k", "-c", str(clients), "-n", str(requests),
                               f"{url}/{path}"], capture_output=True, text=True,
                              check=True).stdout
        rate = re.search(r"Requests per second:\s+([0-9.]+)", text)
        cells = {f"p{m[1]}_ms": float(m[2])
                 for m in re.finditer(r"^\s+(50|99)%\s+(\d+)", text, re.M)}
        out[label] = {"requests_per_s": float(rate[1]) if rate else 0.0, **cells}
    return out


# --- the run -----------------------------------------------------------------------------------


def summary_line(label: str, runs: list[dict[str, float]]) -> str:
    cells = []
    for k in runs[0]:
        if k == "rate":
            continue
        vals = [x[k] for x in runs]
        cells.append(f"{k} {statistics.median(vals):.2f} ({min(vals):.2f}-{max(vals):.2f})")
    return f"{label:34} " + ", ".join(cells)


def verdict(rows: dict[str, list[dict[str, float]]], rates: list[float]) -> list[str]:
    """Per load: the highest rate whose median p99 is within the target, the first above."""
    out = []
    for load in ("floor", "cached", "cold"):
        p99 = {r: statistics.median(x["p99_ms"] for x in rows[f"paced {r:g}/s, {load}"])
               for r in rates}
        held = [r for r in rates if p99[r] <= TARGET_P99_MS]
        broke = [r for r in rates if p99[r] > TARGET_P99_MS]
        out.append(f"{load}: p99 <= {TARGET_P99_MS:g} ms up to "
                   f"{max(held):g}/s" if held else f"{load}: p99 > {TARGET_P99_MS:g} ms at "
                   "every rate")
        if broke:
            out[-1] += f"; above it from {min(broke):g}/s ({p99[min(broke)]:.2f} ms)"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=10**6)
    ap.add_argument("--clients", type=int, default=32, help="connections of the paced client")
    ap.add_argument("--paced-rates", default="100,250,500,1000",
                    help="proofs per second of the paced loads, comma-separated")
    ap.add_argument("--seconds", type=float, default=5.0, help="time of one paced load")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--closed-clients", type=int, default=32)
    ap.add_argument("--closed-seconds", type=float, default=5.0,
                    help="time of one closed-loop load (0: none)")
    ap.add_argument("--workers", type=int, default=2, help="nginx worker processes")
    ap.add_argument("--dir", type=Path, help="keep (and reuse) the tiles here")
    ap.add_argument("--ab-requests", type=int, default=50_000,
                    help="requests of the nginx-alone measure (0: skip it)")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the paced client and nginx at this niceness (-20 to 19; below 0 "
                         "needs root): on a host whose cores other work shares, a negative "
                         "value approximates cores of the bench's own (labelled in the output)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # nginx, started below, inherits it
    rates = [float(r) for r in args.paced_rates.split(",") if r]
    rows: dict[str, list[dict[str, float]]] = {}

    def keep(label: str, res: dict[str, float], r: int) -> None:
        rows.setdefault(label, []).append(res)
        cells = ", ".join(f"{k} {v:.3g}" for k, v in res.items())
        print(f"round {r + 1} {label}: {cells}", file=sys.stderr, flush=True)

    load0 = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp) / "tiles"
        vkey = build(folder, args.entries)
        with serving(folder, Path(tmp) / "nginx", args.workers) as url:
            port = urlsplit(url).port or 80
            nginx = nginx_pids(Path(tmp) / "nginx")
            for r in range(args.rounds):
                for rate in rates:
                    level = paced_level(port, vkey, args.clients, rate, args.seconds,
                                        1000 * r + int(rate), args.entries, nginx)
                    for load, res in level.items():
                        keep(f"paced {rate:g}/s, {load}", res, r)
                if args.closed_seconds > 0:
                    c = args.closed_clients
                    for label, n, cached in ((f"closed, {c} processes, cached", c, True),
                                             (f"closed, {c} processes, cold", c, False),
                                             ("closed, 1 process, cold", 1, False)):
                        keep(label, closed(url, vkey, n, cached, args.closed_seconds,
                                           1000 * r), r)
                if args.ab_requests:
                    for label, res in nginx_alone(url, 32, args.ab_requests).items():
                        keep(f"nginx alone (ab), {label}", res, r)
    load1 = os.getloadavg()[0]
    print(f"\nentries {args.entries}, {args.rounds} rounds, paced loads of {args.seconds:g} s "
          f"over {args.clients} connections, nginx workers {args.workers}, niceness of the "
          f"client and nginx {args.nice}, cores "
          f"{os.cpu_count()}, load average {load0:.1f} at the start and {load1:.1f} at the "
          f"end ({started}): median (min-max)")
    for label, runs in rows.items():
        print(summary_line(label, runs))
    for line in verdict(rows, rates):
        print(line)
    if args.json:
        print(json.dumps({"entries": args.entries, "rates": rates, "runs": rows,
                          "median": {label: {k: statistics.median(x[k] for x in runs)
                                             for k in runs[0]}
                                     for label, runs in rows.items()}}))


if __name__ == "__main__":
    main()
