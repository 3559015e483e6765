#!/usr/bin/env python3
"""Benchmark of ``provenance dataset check`` and compliance receipts (see bench/README.md).

    python bench/bench_dataset_check.py [--entries N] [--files F] [--rounds R] [--home DIR]

1. **A big ledger.** A home of ``--entries`` registrations (``bench.py``'s builder, in a
   child process), then the dataset's works appended to it: half of the ``--files`` files
   registered by a creator, half of those with a consent to the developer's key for
   ``ai_training``. ``--home DIR`` builds it there (kept) or reuses a home this script built.
2. **Check against hashing and coding.** ``--files`` real pictures (random shapes on a noisy
   ground, PNG and JPEG, 30 to 300 KB) in 100 folders: a quarter registered with their
   content codes (half of those with a consent to the developer's key for ``ai_training``), a
   quarter JPEG re-encodings of those (another SHA-256, a similar code), half pictures
   nobody registered. In each round, interleaved: the raw rate of reading and hashing
   the same files and computing each one's content code as ``anchor`` does (one thread), then
   ``provenance dataset check DIR --purpose ai_training --as KEY --similar 8 --json`` through
   the real CLI (start-up, listing, hashing, coding the files whose exact work is not
   registered, the similarity look-ups, one snapshot of the map and the works' events, the
   decisions, the JSON). ``check_ratio`` = check files/s / raw files/s (the issue's figure,
   target >= 0.5). Also, informative: the check without ``--similar`` (exact matches only)
   against raw hashing alone (``exact_ratio``).
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
import mimetypes
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

from PIL import Image, ImageDraw  # noqa: E402

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
from provenance_ledger.ledger.content_code import content_code  # noqa: E402

perf = time.perf_counter
TARGET_CHECK_RATIO = 0.5
CREATOR = PrivateKey.from_seed(hashlib.sha256(b"bench dataset creator").digest())
DEVELOPER = PrivateKey.from_seed(hashlib.sha256(b"bench dataset developer").digest())
EXE = Path(sys.executable).parent / "provenance"
CHUNK = 1 << 20


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_files(folder: Path, count: int, seed: int) -> list[Path]:
    """``count`` pictures in 100 sub-folders: position 4k and 4k+2 an original PNG, 4k+1 a
    JPEG re-encoding of 4k (registered: the copy is similar), 4k+3 a JPEG of 4k+2's
    picture as well (not registered: unrelated to every registered work but itself)."""
    rng = random.Random(seed)
    paths: list[Path] = []
    for i in range(count):
        sub = folder / f"d{i % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        if i % 2 == 0:
            path = sub / f"img-{i:05d}.png"
            picture(rng).save(path)
        else:
            path = sub / f"img-{i:05d}.jpg"
            with Image.open(paths[i - 1]) as img:
                img.convert("RGB").save(path, "JPEG", quality=rng.choice((60, 75, 90)))
        paths.append(path)
    return paths


def picture(rng: random.Random) -> Image.Image:
    """Shapes of random colours on a noisy ground: a picture that has a content code."""
    w, h = rng.randint(240, 400), rng.randint(200, 320)
    img = Image.merge("RGB", [Image.effect_noise((w, h), rng.randint(20, 60))
                              for _ in range(3)])
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 7)):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        box = (x0, y0, x0 + rng.randint(20, w // 2), y0 + rng.randint(20, h // 2))
        fill = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    return img


def raw_rate(paths: Sequence[Path], codes: bool) -> float:
    """Files per second of reading and hashing each file (one thread, 1 MiB reads) and, with
    ``codes``, computing its content code as ``anchor`` does."""
    t0 = perf()
    for p in paths:
        h = hashlib.sha256()
        with p.open("rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        h.hexdigest()
        if codes:
            content_code(p, mimetypes.guess_type(p.name)[0] or "application/octet-stream")
    return len(paths) / (perf() - t0)


def register_dataset(home: Path, paths: Sequence[Path], now: int) -> dict[str, int]:
    """The originals (every other file, with its content code) registered by CREATOR, half of
    them with a consent to DEVELOPER; copies of the registered ones are every 4k+1 file."""
    ledger = Home(home).open_ledger()
    try:
        registered = [p for i, p in enumerate(paths) if i % 4 == 0]
        regs = []
        for p in registered:
            work = "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
            code = content_code(p, "image/png")
            assert code is not None  # noqa: S101 - a picture has a code
            regs.append(sign_event(Event("work.register", work, None, CREATOR.public.text, now,
                                         {"size": p.stat().st_size, "media_type": "image/png",
                                          "similarity": code.to_text()}), CREATOR))
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
    log(f"writing {args.files:,} pictures ...")
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
    raw_hashes, exacts, exact_ratios = [], [], []
    vkey = subprocess.run([str(EXE), "--home", str(home), "log", "key"], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()
    raw_rate(files, codes=False)  # warm the page cache for both sides alike
    summary: dict[str, Any] = {}
    for r in range(args.rounds):
        raw = raw_rate(files, codes=True)
        seconds, out = cli(*base, "--similar", "8", "--json")
        summary = json.loads(out)["summary"]
        rate = len(files) / seconds
        raws.append(raw)
        checks.append(rate)
        ratios.append(rate / raw)
        raw_hash = raw_rate(files, codes=False)
        seconds, _ = cli(*base, "--json")
        exact = len(files) / seconds
        raw_hashes.append(raw_hash)
        exacts.append(exact)
        exact_ratios.append(exact / raw_hash)
        log(f"  round {r + 1}/{args.rounds}: raw hashing + coding {raw:,.0f} files/s, "
            f"check --similar 8 {rate:,.0f} files/s, ratio {rate / raw:.3f}; raw hashing "
            f"{raw_hash:,.0f} files/s, exact check {exact:,.0f} files/s, ratio "
            f"{exact / raw_hash:.3f}")
        if len(files) <= 10_000:
            receipt = workdir / f"receipt-{r}.json"
            seconds, _ = cli(*base, "--similar", "8", "--json", "--receipt", receipt)
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
        "raw_files_per_s": raws, "check_files_per_s": checks, "check_ratio": ratios,
        "raw_hash_files_per_s": raw_hashes, "exact_check_files_per_s": exacts,
        "exact_ratio": exact_ratios,
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
        f"raw hashing + coding (1 thread) files/s  {spread(res['raw_files_per_s'], 0)}",
        f"check --similar 8 (CLI)         files/s  {spread(res['check_files_per_s'], 0)}",
        f"check_ratio                              {spread(res['check_ratio'])}  target >= "
        f"{TARGET_CHECK_RATIO}: {'PASS' if ratio >= TARGET_CHECK_RATIO else 'FAIL'}",
        f"raw hashing (1 thread)          files/s  {spread(res['raw_hash_files_per_s'], 0)}",
        f"exact check (CLI)               files/s  {spread(res['exact_check_files_per_s'], 0)}",
        f"exact_ratio (informative)                {spread(res['exact_ratio'])}",
    ]
    if res["receipt_seconds"]:
        lines += [
            f"check --similar 8 --receipt s        {spread(res['receipt_seconds'], 2)}",
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
                   help="pictures in the dataset (the figure: 10000)")
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
