#!/usr/bin/env python3
"""Benchmark: how long a ``provenance`` command takes from the shell, start-up included.

    python bench/bench_cli.py [--runs 15]

Every command a user types pays the interpreter's start, the imports and typer's parsing
before any work. Each case runs ``--runs`` times, interleaved with the others (so a noisy
neighbour hits them alike), on a small home made first (one anchored file): the interpreter
alone (``python -c pass``, the floor), ``import typer`` (the command-line library's own share),
``provenance key list``, ``provenance status FILE``, ``provenance anchor FILE`` (already
anchored: answers ``exists``) and ``provenance --help`` (loads every command). Prints the median
and the range of each in ms, and each median's ratio to the floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROVENANCE = str(Path(sys.executable).parent / "provenance")


def cases(page: Path) -> dict[str, list[str]]:
    return {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "provenance key list": [PROVENANCE, "key", "list"],
        "provenance status FILE": [PROVENANCE, "status", str(page)],
        "provenance anchor FILE (exists)": [PROVENANCE, "anchor", str(page)],
        "provenance --help": [PROVENANCE, "--help"],
    }


def timed(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=15, help="runs of each command")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PROVENANCE_HOME": str(Path(tmp, "home")), "HOME": tmp,
               "NO_COLOR": "1"}
        page = Path(tmp, "page-001.png")
        page.write_bytes(b"a page anchored before the runs")
        subprocess.run([PROVENANCE, "anchor", str(page)], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runs: dict[str, list[float]] = {name: [] for name in cases(page)}
        for _ in range(args.runs):
            for name, argv in cases(page).items():
                runs[name].append(timed(argv, env))
    floor = statistics.median(runs["python -c pass (floor)"])
    print(f"{'command':<34} {'median ms':>10} {'range ms':>16} {'x floor':>8}")
    for name, ms in runs.items():
        med = statistics.median(ms)
        print(f"{name:<34} {med:>10.0f} {min(ms):>7.0f}-{max(ms):<8.0f} {med / floor:>8.1f}")
    print(f"load average: {os.getloadavg()[0]:.2f} ({args.runs} runs each, interleaved)")


if __name__ == "__main__":
    main()
