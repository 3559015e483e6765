#!/usr/bin/env python3
"""Benchmark: how long a ``provenance`` command takes from the shell, start-up included.

    python bench/bench_cli.py [--runs 15] [--against DIR]

Every command a user types pays the interpreter's start, the imports and typer's parsing
before any work. Each case runs ``--runs`` times, interleaved with the others (so a noisy
neighbour hits them alike), on a small home made first (one anchored file): the interpreter
alone (``python -c pass``, the floor), ``import typer`` (the command-line library's own share),
``provenance key list``, ``provenance status FILE``, ``provenance anchor FILE`` (already
anchored: answers ``exists``), ``provenance anchor FILE`` into a new home (creates the home,
its keys and database), ``provenance node status`` of a node's home and ``provenance --help``
(loads every command). Prints the median and the range of each in ms, and each median's ratio
to the floor. ``--against DIR`` runs every ``provenance`` case also with the source of another
checkout (``DIR/src`` first on the path: e.g. a ``git worktree`` of an earlier commit),
interleaved in the same run, and prints both medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROVENANCE = str(Path(sys.executable).parent / "provenance")


def cases(tmp: Path) -> dict[str, tuple[list[str], bool]]:
    """name -> (argv, whether it runs ``provenance``)."""
    page, node = tmp / "page-001.png", tmp / "node"
    fresh = [PROVENANCE, "--home", str(tmp / "fresh"), "anchor", str(page)]
    return {
        "python -c pass (floor)": ([sys.executable, "-c", "pass"], False),
        "python -c 'import typer'": ([sys.executable, "-c", "import typer"], False),
        "provenance key list": ([PROVENANCE, "key", "list"], True),
        "provenance status FILE": ([PROVENANCE, "status", str(page)], True),
        "provenance anchor FILE (exists)": ([PROVENANCE, "anchor", str(page)], True),
        "provenance anchor FILE (new home)": (fresh, True),
        "provenance node status": ([PROVENANCE, "node", "status", "--home", str(node)], True),
        "provenance --help": ([PROVENANCE, "--help"], True),
    }


def timed(argv: list[str], env: dict[str, str], fresh: Path) -> float:
    shutil.rmtree(fresh, ignore_errors=True)  # "new home": made anew by every run
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=15, help="runs of each command")
    p.add_argument("--against", type=Path, metavar="DIR",
                   help="another checkout whose src/ is timed too, interleaved (a baseline)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PROVENANCE_HOME": str(Path(tmp, "home")), "HOME": tmp,
               "NO_COLOR": "1"}
        env.pop("PYTHONPATH", None)
        other = None if args.against is None else {
            **env, "PYTHONPATH": str(args.against.resolve() / "src")}
        page = Path(tmp, "page-001.png")
        page.write_bytes(b"a page anchored before the runs")
        subprocess.run([PROVENANCE, "anchor", str(page)], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([PROVENANCE, "node", "init", "--home", str(Path(tmp, "node")),
                        "--origin", "bench.example/cli"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        todo = cases(Path(tmp))
        runs: dict[str, list[float]] = {name: [] for name in todo}
        base: dict[str, list[float]] = {name: [] for name, (_, ours) in todo.items() if ours}
        for _ in range(args.runs):
            for name, (argv, ours) in todo.items():
                runs[name].append(timed(argv, env, Path(tmp, "fresh")))
                if other is not None and ours:
                    base[name].append(timed(argv, other, Path(tmp, "fresh")))
    floor = statistics.median(runs["python -c pass (floor)"])
    against = "" if other is None else f" {'baseline ms':>12} {'ratio':>6}"
    print(f"{'command':<36} {'median ms':>10} {'range ms':>16} {'x floor':>8}{against}")
    for name, ms in runs.items():
        med = statistics.median(ms)
        line = f"{name:<36} {med:>10.0f} {min(ms):>7.0f}-{max(ms):<8.0f} {med / floor:>8.1f}"
        if other is not None and base.get(name):
            was = statistics.median(base[name])
            line += (f" {was:>5.0f} ({min(base[name]):.0f}-{max(base[name]):.0f})"
                     f" {med / was:>6.2f}")
        print(line)
    print(f"load average: {os.getloadavg()[0]:.2f} ({args.runs} runs each, interleaved)")


if __name__ == "__main__":
    main()
