"""Similarity index look-ups at 10^6 codes (README.md, section Similarity; bench/README.md).

Fills a real index file (store/similarity.py) with N image codes: random 64-bit codes, and for
every query a few planted codes within the distance (so that each look-up also returns
matches). Then times look-ups of ``SimilarityStore.candidates`` (the multi-index probes and the
exact distance check) at several distances: median, 10th and 90th percentile, and the spread of
the median over rounds. Run it on the machine as it is (2 shared cores here).

    python bench/bench_similarity.py [--codes 1000000] [--queries 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from provenance_ledger.core.similarity import DEFAULT_DISTANCE
from provenance_ledger.store.similarity import CodeRow, SimilarityStore

IMAGE = 1
REGISTRANT = "ed25519:" + "00" * 32  # one key registers every indexed code here
PLANTED = 3  # codes planted within the distance of each query


def _flip(rng: random.Random, bits: int, n: int) -> int:
    for b in rng.sample(range(64), n):
        bits ^= 1 << b
    return bits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codes", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=24138)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    queries = [rng.getrandbits(64) for _ in range(args.queries)]
    with tempfile.TemporaryDirectory() as tmp:
        store = SimilarityStore(Path(tmp) / "ledger.similarity.db")
        t0 = time.perf_counter()
        rows = [CodeRow(i, IMAGE, rng.getrandbits(64), REGISTRANT) for i in range(args.codes)]
        n = args.codes
        for q in queries:
            for _ in range(PLANTED):
                bits = _flip(rng, q, rng.randrange(DEFAULT_DISTANCE + 1))
                rows.append(CodeRow(n, IMAGE, bits, REGISTRANT))
                n += 1
        step = 100_000
        for start in range(0, len(rows), step):
            store.add(start, min(len(rows), start + step), rows[start : start + step])
        build = time.perf_counter() - t0
        size = Path(store.path or "").stat().st_size
        print(f"index of {n} codes built in {build:.1f} s ({n / build:,.0f} codes/s), "
              f"{size / n:.0f} bytes a code")
        print("| distance | median ms | p10 ms | p90 ms | median over rounds (ms) | matches |")
        print("|---|---|---|---|---|---|")
        for distance in (4, DEFAULT_DISTANCE, 11, 14):
            medians, times, found = [], [], 0
            for _ in range(args.rounds):
                this = []
                for q in queries:
                    t = time.perf_counter()
                    found += len(store.candidates(IMAGE, q, distance))
                    this.append((time.perf_counter() - t) * 1000)
                medians.append(statistics.median(this))
                times.extend(this)
            times.sort()
            p10, p90 = times[len(times) // 10], times[len(times) * 9 // 10]
            spread = " / ".join(f"{m:.2f}" for m in medians)
            print(f"| {distance} | {statistics.median(times):.2f} | {p10:.2f} | {p90:.2f} | "
                  f"{spread} | {found / (args.rounds * len(queries)):.1f} |")
        store.close()


if __name__ == "__main__":
    main()
