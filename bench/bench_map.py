"""Benchmark of the verifiable map (core/vmap.py, specs/map.md) in memory.

Builds a map of N random keys (default 10**6): once in one batch in a child process (the
upgrade of an existing log: seconds and peak RSS), and once as half a bulk build then blocks of
1000 changes (the append path); then times proof generation, verification and a multiproof of
10**4 keys against the single proofs of the same keys, and prints a table.

    python bench/bench_map.py                 # N = 10**6 (about 2 min on 2 cores)
    python bench/bench_map.py --keys 100000   # quick

Proof times are wall-clock per call; the p99 is also given in the thread's CPU time, which
a shared machine's scheduler does not inflate (a call descheduled for a time slice costs
milliseconds of wall time and microseconds of CPU time).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import random
import resource
import statistics
import sys
import time

from provenance_ledger.core.vmap import MapValue, MemoryMap, prove, verify_map_proof


def _value(i: int) -> bytes:
    return MapValue(hashlib.sha256(i.to_bytes(8, "big")).digest(), 1 + i % 7, i * 8 + 7).to_bytes()


def _keys(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(32) for _ in range(n)]


def build(n: int, block: int, seed: int) -> tuple[MemoryMap, float, float, list[bytes]]:
    """The map of ``n`` keys: first half in one bulk build, the rest in blocks of ``block``
    changes (as a ledger would, one batch per block). Returns the map, the bulk seconds, the
    median seconds per block, and the keys."""
    keys = _keys(n, seed)
    m = MemoryMap()
    half = n // 2
    t = time.perf_counter()
    m.apply({k: _value(i) for i, k in enumerate(keys[:half])})
    bulk = time.perf_counter() - t
    per_block = []
    for start in range(half, n, block):
        changes = {k: _value(i) for i, k in enumerate(keys[start:start + block], start)}
        t = time.perf_counter()
        m.apply(changes)
        per_block.append(time.perf_counter() - t)
    return m, bulk, statistics.median(per_block) if per_block else 0.0, keys


def _bulk_child(n: int, seed: int, out: multiprocessing.Queue[tuple[float, float]]) -> None:
    """Build all ``n`` keys in one batch, as an upgrade builds the map of an existing log;
    report the seconds and the peak RSS (MB) of this process."""
    keys = _keys(n, seed)
    changes = {k: _value(i) for i, k in enumerate(keys)}
    del keys
    t = time.perf_counter()
    MemoryMap().apply(changes)
    seconds = time.perf_counter() - t
    out.put((seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=10**6)
    ap.add_argument("--block", type=int, default=1000, help="changes per update batch")
    ap.add_argument("--queries", type=int, default=3000)
    ap.add_argument("--multi", type=int, default=10**4, help="keys in the multiproof")
    ap.add_argument("--repeats", type=int, default=3, help="timing rounds (median, spread)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    queue: multiprocessing.Queue[tuple[float, float]] = multiprocessing.Queue()
    child = multiprocessing.Process(target=_bulk_child, args=(args.keys, args.seed, queue))
    child.start()
    bulk_all_s, peak_rss = queue.get()
    child.join()

    print(f"building {args.keys} keys ...", file=sys.stderr)
    t = time.perf_counter()
    m, bulk_s, block_s, keys = build(args.keys, args.block, args.seed)
    build_s = time.perf_counter() - t
    rng = random.Random(args.seed + 1)
    present = rng.sample(keys, args.queries)
    absent = [rng.randbytes(32) for _ in range(args.queries // 3)]

    rounds: dict[str, list[float]] = {"prove_ms": [], "prove_p99_ms": [], "prove_cpu_p99_ms": [],
                                      "verify_ms": []}
    sizes: list[int] = []
    for r in range(args.repeats):
        gen, gen_cpu, ver = [], [], []
        for k in present + absent:
            c = time.thread_time()
            t = time.perf_counter()
            p = prove(m, [k])
            gen.append(time.perf_counter() - t)
            gen_cpu.append(time.thread_time() - c)
            t = time.perf_counter()
            verify_map_proof(m.root, [k], p)
            ver.append(time.perf_counter() - t)
            if r == 0:
                sizes.append(len(p))
        rounds["prove_ms"].append(statistics.median(gen) * 1e3)
        rounds["prove_p99_ms"].append(_pct(gen, 0.99) * 1e3)
        rounds["prove_cpu_p99_ms"].append(_pct(gen_cpu, 0.99) * 1e3)
        rounds["verify_ms"].append(statistics.median(ver) * 1e3)
    present_sizes = sizes[:args.queries]

    multi_keys = rng.sample(keys, args.multi)
    t = time.perf_counter()
    mp = prove(m, multi_keys)
    multi_prove_s = time.perf_counter() - t
    t = time.perf_counter()
    verify_map_proof(m.root, multi_keys, mp)
    multi_verify_s = time.perf_counter() - t
    single_total = sum(len(prove(m, [k])) for k in multi_keys)

    figures = {
        "keys": args.keys,
        "build_s": round(build_s, 1),
        "bulk_half_s": round(bulk_s, 1),
        "update_block_ms_median": round(block_s * 1e3, 1),
        "bulk_build_all_s": round(bulk_all_s, 1),
        "bulk_build_peak_rss_mb": round(peak_rss),
        "prove_ms_median": [round(x, 3) for x in rounds["prove_ms"]],
        "prove_ms_p99": [round(x, 3) for x in rounds["prove_p99_ms"]],
        "prove_cpu_ms_p99": [round(x, 3) for x in rounds["prove_cpu_p99_ms"]],
        "verify_ms_median": [round(x, 3) for x in rounds["verify_ms"]],
        "proof_bytes_present_median": statistics.median(present_sizes),
        "proof_bytes_present_max": max(present_sizes),
        "proof_bytes_absent_median": statistics.median(sizes[args.queries:]),
        "proof_bytes_all_max": max(sizes),
        "multiproof_keys": args.multi,
        "multiproof_bytes": len(mp),
        "multiproof_bytes_per_key": round(len(mp) / args.multi, 1),
        "single_bytes_per_key": round(single_total / args.multi, 1),
        "multiproof_prove_s": round(multi_prove_s, 2),
        "multiproof_verify_s": round(multi_verify_s, 2),
        "peak_rss_mb_whole_run": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    width = max(len(k) for k in figures)
    for k, v in figures.items():
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
