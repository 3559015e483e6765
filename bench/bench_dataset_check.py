#!/usr/bin/env python3
"""Benchmark of ``provenance dataset check`` and compliance receipts (see bench/README.md).

    python bench/bench_dataset_check.py [--entries N] [--files F] [--rounds R] [--home DIR]

1. **A big ledger.** A home of ``--entries`` registrations (``bench.py``'s builder, in a
   child process), then the dataset's works appended to it: half of the ``--files`` files
   registered by a creator, half of those with a consent to the developer's key for
   ``ai_training``. ``--home DIR`` builds it there (kept) or reuses a home this script built.
2. **Check against hashing.** ``--files`` image-like files (a PNG signature, then 30 to 150 KB
   of random bytes) in 100 folders. In each round, interleaved: the raw rate of hashing the
   same files (read and SHA-256 each, one thread, as ``anchor`` reads a file), then
   ``provenance dataset check DIR --purpose ai_training --as KEY --json`` through the real CLI
   (start-up, listing, hashing, one snapshot of the map and the works' events, the decisions,
   the JSON). ``check_ratio`` = check files/s / raw files/s (target >= 0.5: ISCC codes are
   added to both sides later).
3. **Compliance receipt.** The same check with ``--receipt`` (at most 10,000 items): its
   seconds, its size in bytes per item, and offline verification: the library's
   ``verify_compliance_receipt`` and informative checks in this process (parse included), and
   ``provenance verify FILE --log-key K`` through the CLI.

Figures are medians over the rounds with their min and max (the machine is shared); the
machine's load average is printed. This file is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import run_builder  # noqa: E402
from provenance_ledger.core.compliance import (  # noqa: E402
    ComplianceReceipt,
    check_decoded_compliance,
    verify_compliance_receipt,
)
from provenance_ledger.core.crypto import PrivateKey  # noqa: E402
from provenance_ledger.core.encoding import load_json  # noqa: E402
from provenance_ledger.core.events import Event, sign_event  # noqa: E402
from provenance_ledger.core.note import Verifier  # noqa: E402
from provenance_ledger.ledger import Home  # noqa: E402

perf = time.perf_counter
TARGET_CHECK_RATIO = 0.5
CREATOR = PrivateKey.from_seed(hashlib.sha256(b"bench dataset creator").digest())
DEVELOPER = PrivateKey.from_seed(hashlib.sha256(b"bench dataset developer").digest())
EXE = Path(sys.executable).parent / "provenance"
CHUNK = 1 << 20


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_files(folder: Path, count: int, seed: int) -> list[Path]:
    """``count`` image-like files in 100 sub-folders."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        sub = folder / f"d{i % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"img-{i:05d}.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(30_000, 150_000)))
        paths.append(path)
    return paths


def raw_hash_rate(paths: Sequence[Path]) -> float:
    """Files per second of reading and hashing each file, one thread, in 1 MiB reads."""
    t0 = perf()
    for p in paths:
        h = hashlib.sha256()
        with p.open("rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        h.hexdigest()
    return len(paths) / (perf() - t0)


def register_dataset(home: Path, paths: Sequence[Path], now: int) -> dict[str, int]:
    """Half of the files registered by CREATOR, half of those with a consent to DEVELOPER."""
    ledger = Home(home).open_ledger()
    try:
        registered = paths[::2]
        regs = []
        for p in registered:
            work = "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
            regs.append(sign_event(Event("work.register", work, None, CREATOR.public.text, now,
                                         {"size": p.stat().st_size,
                                          "media_type": "image/png"}), CREATOR))
        grants = [sign_event(Event("consent.grant", r.event.work, r.id, CREATOR.public.text,
                                   now, {"grantee": DEVELOPER.public.text,
                                         "purposes": ["ai_training"]}), CREATOR)
                  for r in regs[::2]]
        for events in (regs, grants):
            for lo in range(0, len(events), 1000):
                for r in ledger.append_block([e.leaf for e in events[lo:lo + 1000]], now):
                    if isinstance(r, Exception):
                        raise SystemExit(f"bench: an event was refused: {r}")
        return {"registered": len(regs), "consented": len(grants), "log_size": ledger.size}
    finally:
        ledger.close()


def cli(*args: str | Path, ok: Sequence[int] = (0, 1)) -> tuple[float, str]:
    t0 = perf()
    proc = subprocess.run([str(EXE), *map(str, args)], capture_output=True,
                          stdin=subprocess.DEVNULL, text=True, check=False)
    seconds = perf() - t0
    if proc.returncode not in ok:
        raise SystemExit(f"bench: provenance {' '.join(map(str, args))}: exit "
                         f"{proc.returncode}: {proc.stderr.strip()}")
    return seconds, proc.stdout


def spread(values: Sequence[float], digits: int = 3) -> str:
    return (f"{statistics.median(values):,.{digits}f} (min {min(values):,.{digits}f}, "
            f"max {max(values):,.{digits}f})")


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    now = int(time.time())
    home = args.home or workdir / "home"
    built = (home / "ledger.db").is_file()
    if not built:
        log(f"building a log of {args.entries:,} entries in {home} ...")
        b = run_builder(argparse.Namespace(entries=args.entries, block=1000,
                                           sign_procs=args.sign_procs), home, now)
        log(f"  built in {b['seconds']:.0f} s")
    folder = workdir / "files"
    log(f"writing {args.files:,} image-like files ...")
    files = make_files(folder, args.files, args.seed)
    mb = sum(p.stat().st_size for p in files) / 1e6
    marker = home / f"bench-dataset-{args.files}-{args.seed}.json"
    if marker.is_file():
        reg = json.loads(marker.read_text())
    else:
        reg = register_dataset(home, files, now)
        marker.write_text(json.dumps(reg))
    log(f"  {mb:,.0f} MB; {reg['registered']:,} registered, {reg['consented']:,} consented; "
        f"log size {reg['log_size']:,}")
    key = DEVELOPER.public.text
    base = ["--home", home, "dataset", "check", folder, "--purpose", "ai_training",
            "--as", key]
    raws, checks, ratios, receipt_s, sizes, verify_lib, verify_cli = [], [], [], [], [], [], []
    vkey = subprocess.run([str(EXE), "--home", str(home), "log", "key"], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()
    raw_hash_rate(files)  # warm the page cache for both sides alike
    summary: dict[str, Any] = {}
    for r in range(args.rounds):
        raw = raw_hash_rate(files)
        seconds, out = cli(*base, "--json")
        summary = json.loads(out)["summary"]
        rate = len(files) / seconds
        raws.append(raw)
        checks.append(rate)
        ratios.append(rate / raw)
        log(f"  round {r + 1}/{args.rounds}: raw hashing {raw:,.0f} files/s, dataset check "
            f"{rate:,.0f} files/s, ratio {rate / raw:.3f}")
        if len(files) <= 10_000:
            receipt = workdir / f"receipt-{r}.json"
            seconds, _ = cli(*base, "--json", "--receipt", receipt)
            receipt_s.append(seconds)
            sizes.append(receipt.stat().st_size / len(files))
            t0 = perf()
            raw_doc = load_json(receipt.read_bytes(), "receipt")
            verified = verify_compliance_receipt(ComplianceReceipt.from_json(raw_doc),
                                                 [Verifier.from_vkey(vkey)])
            check_decoded_compliance(raw_doc, verified)
            verify_lib.append(perf() - t0)
            seconds, _ = cli("verify", receipt, "--log-key", vkey, "--json", ok=(0,))
            verify_cli.append(seconds)
            log(f"    receipt {receipt_s[-1]:.2f} s, {sizes[-1]:,.0f} B/item, verify "
                f"{verify_lib[-1]:.2f} s (library), {verify_cli[-1]:.2f} s (CLI)")
    out: dict[str, Any] = {
        "entries_asked": args.entries, "log_size": reg["log_size"], "files": len(files),
        "files_mb": round(mb, 1), "summary": summary,
        "raw_hash_files_per_s": raws, "check_files_per_s": checks, "check_ratio": ratios,
        "receipt_seconds": receipt_s, "receipt_bytes_per_item": sizes,
        "verify_seconds_library": verify_lib, "verify_seconds_cli": verify_cli,
        "loadavg": os.getloadavg()}
    return out


def table(res: dict[str, Any]) -> str:
    ratio = statistics.median(res["check_ratio"])
    load = ", ".join(f"{x:.2f}" for x in res["loadavg"])
    lines = [
        f"dataset check: {res['files']:,} files ({res['files_mb']:,} MB) against a log of "
        f"{res['log_size']:,} entries; load average {load}",
        f"outcomes: {res['summary']}",
        f"raw hashing (1 thread)      files/s  {spread(res['raw_hash_files_per_s'], 0)}",
        f"dataset check (CLI)         files/s  {spread(res['check_files_per_s'], 0)}",
        f"check_ratio                          {spread(res['check_ratio'])}  target >= "
        f"{TARGET_CHECK_RATIO}: {'PASS' if ratio >= TARGET_CHECK_RATIO else 'FAIL'}",
    ]
    if res["receipt_seconds"]:
        lines += [
            f"check --receipt (CLI)       s        {spread(res['receipt_seconds'], 2)}",
            f"receipt size                B/item   {spread(res['receipt_bytes_per_item'], 0)}",
            f"verify (library, offline)   s        {spread(res['verify_seconds_library'], 2)}",
            f"verify (CLI, offline)       s        {spread(res['verify_seconds_cli'], 2)}",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entries", type=int, default=20_000,
                   help="registrations in the big ledger (the figure: 1000000)")
    p.add_argument("--files", type=int, default=1000,
                   help="image-like files in the dataset (the figure: 10000)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--home", type=Path, default=None,
                   help="build the ledger here and keep it, or reuse one built here before")
    p.add_argument("--sign-procs", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="provenance-bench-dataset-") as tmp:
        res = run(args, Path(tmp))
    print(table(res))
    if args.json:
        print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
