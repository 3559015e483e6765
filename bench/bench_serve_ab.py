#!/usr/bin/env python3
"""Server CPU per request of two (or more) checkouts of provenance-ledger, alternating.

    python bench/bench_serve_ab.py before=/path/to/old/src after=src [--home DIR]
        [--entries N] [--rounds 3] [--kind inclusion|keys] [--clients 8] [--paced RATE]

Changes to the node's HTTP path are small beside the noise of a shared host from one hour to
the next, so the code before and after are measured in the same minutes: each round starts
``provenance node serve`` once per ``LABEL=SRC`` (``SRC`` put first on ``PYTHONPATH``), on
the same home, and loads it with ``bench/bench_node.py``'s load generator (a separate process,
keep-alive connections); it reports requests/s, the server's CPU per request (user + system,
all threads, from ``/proc``) and p50/p99, then the medians per label. ``--paced RATE`` sends
open loop at RATE requests/s over 32 connections instead of closed loop.

The home (a node whose log holds ``--entries`` entries, built with ``bench_node.py``'s
builder) is made in ``--home`` on first use and reused; it is never written to by the loads
(``inclusion`` and ``keys`` only read). Its files are read once before the first round, so a
home that sat idle is back in the page cache. This file is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_node as bn  # noqa: E402 - after the path above


def warm(home: Path) -> int:
    """Read every file of a reused home once, so that the first round does not pay for pages
    the host's memory reclaim dropped while the home sat idle (a 10^6-entry home left an hour
    served a few hundred proofs a second, with multi-second latencies, until it was read)."""
    done = 0
    for path in sorted(home.rglob("*")):
        if path.is_file():
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    done += len(chunk)
    return done


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkouts", nargs="+", metavar="LABEL=SRC",
                    help="a label and the src folder of a checkout")
    ap.add_argument("--home", type=Path, default=Path("bench-serve-home"),
                    help="the node home (built on first use, then reused)")
    ap.add_argument("--entries", type=int, default=1_000_000,
                    help="log size of a home built now (a reused home keeps its own)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kind", choices=("inclusion", "keys"), default="inclusion")
    ap.add_argument("--clients", type=int, default=8, help="closed-loop connections")
    ap.add_argument("--seconds", type=float, default=6.0, help="length of one load")
    ap.add_argument("--paced", type=float, default=None, metavar="RATE",
                    help="open loop at RATE requests/s over 32 connections")
    a = ap.parse_args()
    pairs = [c.split("=", 1) for c in a.checkouts]
    if any(len(p) != 2 or not Path(p[1]).is_dir() for p in pairs):
        ap.error("each checkout is LABEL=SRC, SRC an existing folder")
    home = a.home.resolve()
    about = home.parent / f"{home.name}.json"  # its log key and size
    if not home.exists():
        keys = bn.init_node(home, "bench.serve/log")
        built = bn.run_builder(argparse.Namespace(sign_procs=2), home, a.entries, b"serve",
                               int(time.time()))
        bn.log(f"built {built['entries']:,} entries in {built['seconds']:.0f} s")
        about.write_text(json.dumps({"vkey": keys["log"], "entries": a.entries}))
    made = json.loads(about.read_text())
    vkey, size = made["vkey"], made["entries"]
    bn.log(f"read {warm(home) / 2**20:,.0f} MB of the home into the page cache")
    results: dict[str, list[dict[str, Any]]] = {}
    for r in range(a.rounds):
        for label, src in pairs:
            os.environ["PYTHONPATH"] = str(Path(src).resolve())
            with bn.serving(home) as server:
                extra: dict[str, Any] = {"server_pid": server.pid, "size": size, "seed": r}
                if a.paced:
                    extra["rate"] = a.paced
                out = bn.load(server, a.kind, 32 if a.paced else a.clients, a.seconds, 30_000,
                              500, vkey, **extra)
            results.setdefault(label, []).append(out)
            print(f"round {r + 1} {label}: {out['per_s']:,.0f}/s, server CPU "
                  f"{out['server_cpu_ms_per_request']:.3f} ms a request, p50 "
                  f"{out['p50_ms']:.2f} ms, p99 {out['p99_ms']:.2f} ms, check {out['check']}, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    for label, outs in results.items():
        cpu = sorted(o["server_cpu_ms_per_request"] for o in outs)
        p99 = sorted(o["p99_ms"] for o in outs)
        rate = sorted(o["per_s"] for o in outs)
        print(f"{label}: server CPU {statistics.median(cpu):.3f} ms a request "
              f"({cpu[0]:.3f}-{cpu[-1]:.3f}), {statistics.median(rate):,.0f}/s "
              f"({rate[0]:,.0f}-{rate[-1]:,.0f}), p99 {statistics.median(p99):.2f} ms "
              f"({p99[0]:.2f}-{p99[-1]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
