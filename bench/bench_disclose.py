"""Benchmark of dataset disclosure (specs/datasets.md) through the real CLI.

Writes a manifest of N random ``sha256:`` ids (default 10**6), then runs
``provenance dataset disclose`` on it several times in a fresh data directory (the first run
logs the disclosure, the others find it and append nothing, after the same work): seconds and
peak RSS of each run. Then ``dataset prove`` for items in and not in the set (seconds and proof
size each), and the offline verification of every proof, in process (the library call that
``provenance verify`` makes) and once through the CLI. Prints medians with min and max.

    python bench/bench_disclose.py                  # N = 10**6
    python bench/bench_disclose.py --items 100000   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from provenance_ledger.core.disclosure import verify_dataset_proof
from provenance_ledger.core.note import Verifier

PROVENANCE = Path(sys.executable).parent / "provenance"


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run ``argv``: (wall seconds, the child's own peak RSS in MiB from ``wait4``, stdout).
    Exits on a non-zero exit code."""
    t = time.perf_counter()
    with open(os.devnull, "wb") as null, tempfile.TemporaryFile() as out:
        pid = os.posix_spawn(argv[0], argv, env, file_actions=[
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, null.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - t
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_maxrss // 1024, text


def spread(values: list[float], unit: str, fmt: str = ".2f") -> str:
    return (f"{statistics.median(values):{fmt}} {unit} (min {min(values):{fmt}}, "
            f"max {max(values):{fmt}}, n={len(values)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=10**6)
    ap.add_argument("--runs", type=int, default=3, help="disclose runs")
    ap.add_argument("--proofs", type=int, default=10, help="proofs made (half in, half not)")
    ap.add_argument("--verifications", type=int, default=50, help="verifications of each proof")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
        env["PROVENANCE_HOME"] = str(folder / "home")
        manifest = folder / "manifest.txt"
        ids = []
        with manifest.open("w") as f:
            for _ in range(args.items):
                item = "sha256:" + rng.randbytes(32).hex()
                f.write(item + "\n")
                if len(ids) < args.proofs:
                    ids.append(item)
        disclose = [str(PROVENANCE), "dataset", "disclose", str(manifest), "--name", "bench",
                    "--version", "v1", "--json"]
        runs = [run_child(disclose, env) for _ in range(args.runs)]
        first = json.loads(runs[0][2])
        asked = [(ids[i], True) if i % 2 == 0 else ("sha256:" + rng.randbytes(32).hex(), False)
                 for i in range(args.proofs)]
        prove_s, sizes, files = [], [], []
        for n, (item, member) in enumerate(asked):
            out = folder / f"proof-{n}.json"
            s, _, _ = run_child([str(PROVENANCE), "dataset", "prove", str(manifest), item,
                                 "--name", "bench", "--out", str(out)], env)
            prove_s.append(s)
            sizes.append(out.stat().st_size)
            files.append((out, member))
        vkey = run_child([str(PROVENANCE), "log", "key"], env)[2].strip()
        trusted = [Verifier.from_vkey(vkey)]
        verify_ms = []
        path_bytes = []
        for out, member in files:
            data = json.loads(out.read_bytes())
            path_bytes.append(len(json.dumps({k: v for k, v in data.items()
                                              if k != "disclosure"})))
            for _ in range(args.verifications):
                t = time.perf_counter()
                answer = verify_dataset_proof(data, trusted)
                verify_ms.append((time.perf_counter() - t) * 1000)
                assert answer.member is member
        cli_verify = run_child([str(PROVENANCE), "verify", str(files[0][0]), "--log-key", vkey],
                               env)[0]
    result: dict[str, Any] = {
        "items": args.items, "count": first["count"], "root": first["root"],
        "disclose_seconds": [round(r[0], 2) for r in runs],
        "disclose_peak_rss_mib": [r[1] for r in runs],
        "prove_seconds": [round(s, 2) for s in prove_s],
        "proof_file_bytes": sizes, "path_bytes": path_bytes,
        "verify_ms_median": round(statistics.median(verify_ms), 3),
        "verify_ms_min": round(min(verify_ms), 3), "verify_ms_max": round(max(verify_ms), 3),
        "cli_verify_seconds": round(cli_verify, 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"dataset disclose of {args.items:,} items ({sys.platform}, {os.cpu_count()} cores)")
    print(f"  disclose:            {spread([r[0] for r in runs], 's')}")
    print(f"  peak RSS:            {spread([float(r[1]) for r in runs], 'MiB', '.0f')}")
    print(f"  prove (one item):    {spread(prove_s, 's')}")
    print(f"  proof file:          {spread([float(s) for s in sizes], 'bytes', '.0f')}; "
          f"the path alone {spread([float(b) for b in path_bytes], 'bytes', '.0f')}")
    print(f"  verify (in process): {spread(verify_ms, 'ms', '.3f')}")
    print(f"  verify (CLI, one):   {cli_verify:.2f} s")


if __name__ == "__main__":
    main()
