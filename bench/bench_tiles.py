"""Inclusion proofs from static tiles served by nginx (issue 15 section 2; specs/tiles.md).

Builds the tiles of a log of ``--entries`` leaves (default 10^6) into a folder, serves it with
Debian's nginx on 127.0.0.1, and runs ``--clients`` (default 32) client processes in a closed
loop for ``--seconds``: each verifies the checkpoint against the log key once, then proves
uniformly random entries, each proof = fetch the entry's bundle and the hash tiles of its
proof (``core/tiles.py inclusion_tiles``), compute the RFC 9162 path and verify it against the
signed root. Reported per run: proofs/s, latency median and p99, and tile fetches per proof;
``--rounds`` runs give the median and spread. Two client behaviours:

* ``cold``: every proof fetches all its tiles (no cache): the worst case;
* ``cached``: a client keeps the hash tiles it fetched (full tiles never change, partial ones
  are its checkpoint's) and the subtree hashes computed inside them, as a C2SP client may:
  the tiles near the root and on the right edge serve every proof.

And the serving side alone, ``nginx alone``: ApacheBench (``ab``, a C client; Debian's
``apache2-utils``) fetching a full level-0 tile and a full bundle over ``--clients`` kept-alive
connections, without the Python clients' CPU (skipped when ``ab`` is not installed).

The tiles are written with the writer's file layout and the core's tile contents, from
synthetic 64-byte leaves (building 10^6 signed events would take longer than the bench and
change nothing it measures: what nginx serves and what the client computes). Connections are
kept alive (``http.client``); nothing but 127.0.0.1 is contacted.

    python bench/bench_tiles.py                       # 10^6 entries, 32 clients
    python bench/bench_tiles.py --entries 20000 --seconds 3 --rounds 1   # quick check
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.node.nginx import serving  # noqa: E402

from provenance_ledger.core.crypto import PrivateKey  # noqa: E402
from provenance_ledger.core.merkle import Frontier, leaf_hash, verify_inclusion  # noqa: E402
from provenance_ledger.core.note import Checkpoint, NoteSigner, SignedNote  # noqa: E402
from provenance_ledger.core.receipt import verify_checkpoint_note  # noqa: E402
from provenance_ledger.core.tiles import (  # noqa: E402
    ENTRIES,
    Tile,
    bundle,
    bundle_for_entry,
    inclusion_tiles,
    parse_bundle,
    tree_tiles,
)
from provenance_ledger.core.tiles import inclusion_proof as proof_from_tiles  # noqa: E402
from provenance_ledger.node.tiles import CHECKPOINT_FILE, write_atomically  # noqa: E402

ORIGIN = "bench.example/tiles"


def leaf(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest() * 2


def build(folder: Path, entries: int) -> str:
    """Write the tiles and the signed checkpoint of ``entries`` synthetic leaves; return the
    log's vkey. Reused when ``folder`` already holds that size."""
    signer = NoteSigner(ORIGIN, PrivateKey.from_seed(hashlib.sha256(b"bench tiles").digest()))
    vkey = signer.verifier.to_vkey()
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


def client(url: str, vkey: str, cached: bool, seconds: float, seed: int,
           out: mp.Queue) -> None:  # type: ignore[type-arg]
    from provenance_ledger.core.note import Verifier

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)

    def get(path: str, limit: int) -> bytes:
        conn.request("GET", "/" + path, headers={"accept-encoding": "identity"})
        r = conn.getresponse()
        body = r.read(limit + 1)
        if r.status != 200 or len(body) > limit:
            raise RuntimeError(f"GET {path}: {r.status}, {len(body)} bytes")
        return body

    verifier = Verifier.from_vkey(vkey)
    cp, _, _ = verify_checkpoint_note(get(CHECKPOINT_FILE, 65536).decode(), [verifier])
    rng = random.Random(seed)
    cache: dict[Tile, bytes] = {}
    levels: dict[Tile, list[list[bytes]]] | None = {} if cached else None
    latencies: list[float] = []
    fetches = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        index = rng.randrange(cp.size)
        t0 = time.perf_counter()
        wanted = inclusion_tiles(index, cp.size)
        btile, at = bundle_for_entry(index, cp.size)
        got: dict[Tile, bytes] = {}
        for tile in sorted(wanted | {btile}):
            data = cache.get(tile) if cached else None
            if data is None:
                limit = tile.width * (2 + 16384 if tile.level == ENTRIES else 32)
                data = get(tile.path, limit)
                fetches += 1
                if cached and tile.level != ENTRIES:
                    cache[tile] = data
            got[tile] = data
        entry = parse_bundle(btile, got[btile])[at]
        proof = proof_from_tiles(index, cp.size, got, levels)
        verify_inclusion(index, cp.size, leaf_hash(entry), proof, cp.root)
        latencies.append(time.perf_counter() - t0)
    out.put((latencies, fetches))


def run(url: str, vkey: str, clients: int, cached: bool, seconds: float,
        seed: int) -> dict[str, float]:
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=client, args=(url, vkey, cached, seconds, seed + i, out))
             for i in range(clients)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[0])
    proofs = len(lat)
    return {"proofs_per_s": proofs / seconds,
            "p50_ms": 1000 * lat[proofs // 2],
            "p99_ms": 1000 * lat[min(proofs - 1, int(proofs * 0.99))],
            "fetches_per_proof": sum(r[1] for r in results) / proofs}


def nginx_alone(url: str, clients: int, requests: int) -> dict[str, dict[str, float]]:
    """nginx's side alone: ApacheBench (Debian's ``apache2-utils``, a C client) fetching one
    full level-0 tile and one full bundle with ``clients`` kept-alive connections; its
    requests/s and latency percentiles (ab reports whole milliseconds)."""
    import re
    import shutil
    import subprocess

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=10**6)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="nginx worker processes")
    ap.add_argument("--dir", type=Path, help="keep (and reuse) the tiles here")
    ap.add_argument("--ab-requests", type=int, default=50_000,
                    help="requests of the nginx-alone measure (0: skip it)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp) / "tiles"
        vkey = build(folder, args.entries)
        rows: dict[str, list[dict[str, float]]] = {}
        with serving(folder, Path(tmp) / "nginx", args.workers) as url:
            for r in range(args.rounds):
                for label, clients, cached in (("1 client, cold", 1, False),
                                               (f"{args.clients} clients, cold",
                                                args.clients, False),
                                               (f"{args.clients} clients, cached",
                                                args.clients, True)):
                    res = run(url, vkey, clients, cached, args.seconds, 1000 * r)
                    rows.setdefault(label, []).append(res)
                    print(f"round {r + 1} {label}: {res}", file=sys.stderr)
                if args.ab_requests:
                    for label, res in nginx_alone(url, args.clients, args.ab_requests).items():
                        rows.setdefault(f"nginx alone, {label}", []).append(res)
                        print(f"round {r + 1} nginx alone, {label}: {res}", file=sys.stderr)
    summary = {}
    print(f"\nentries {args.entries}, {args.rounds} rounds of {args.seconds:g} s, nginx "
          f"workers {args.workers}, cores {os.cpu_count()}: median (min-max)")
    for label, runs in rows.items():
        summary[label] = {k: statistics.median(x[k] for x in runs) for k in runs[0]}
        cells = [f"{k} {statistics.median(x[k] for x in runs):.2f} "
                 f"({min(x[k] for x in runs):.2f}-{max(x[k] for x in runs):.2f})"
                 for k in runs[0]]
        print(f"{label:22} " + ", ".join(cells))
    if args.json:
        print(json.dumps({"entries": args.entries, "runs": rows, "median": summary}))


if __name__ == "__main__":
    main()
