"""Crash harness for ``provenance anchor DIR`` (issue: nothing acknowledged lost, nothing
half-done left behind; specs/cli.md section 2.1).

Each trial makes a fresh data directory and a folder of ``--files`` files (random sizes, one
content twice, one empty file, one symbolic link), then runs the real CLI and SIGKILLs it at a
random moment (seeded), one to three times in a row, and finally runs it to completion. Then it
checks:

1. the final run exits 0 and every file with content has exactly one receipt, which verifies
   against the log key and matches the file (all with the library code that
   ``provenance verify`` runs, and a sample through ``provenance verify --file`` itself);
2. ``provenance log audit`` passes;
3. each work appears exactly once in the log, and the log holds only the folder's works;
4. no ``*.tmp`` file is left in the data directory.

Kill moments are drawn from the duration of an uninterrupted run of the same size, measured
first (median of three): half uniformly over the whole run, half over its last 40 % (the
commit and the receipts), up to 95 % of it. A kill "after commit" is one after which the log
holds the folder's registrations (a first run's block committed, or a re-run was killed while
it wrote receipts).

    python bench/crash_anchor.py --trials 5                  # a short run, well under 60 s
    python bench/crash_anchor.py --trials 1000 --seed 7      # the long run

Prints ``crash_anchor: N trials, K kills after commit, L lost receipts, D duplicates, T tmp
files`` and exits 1 on any failure (each one described on stderr), 0 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.ledger import Home

PROVENANCE = Path(sys.executable).parent / "provenance"
RUN_TIMEOUT = 300  # seconds for one uninterrupted CLI run
CLI_VERIFY_SAMPLE = 1  # receipts per trial also checked by `provenance verify --file`
MAX_KILLS = 3  # kills per trial, before the run to completion
KILL_BY = 0.95  # the latest kill, as a fraction of an uninterrupted run's duration


@dataclass
class Totals:
    trials: int = 0
    kills: int = 0
    kills_after_commit: int = 0
    runs_done_before_kill: int = 0
    receipts_left_to_write: int = 0  # registered works without a receipt, after such kills
    lost_receipts: int = 0
    duplicates: int = 0
    tmp_files: int = 0
    failures: list[str] = field(default_factory=list)


def make_folder(root: Path, files: int, rng: random.Random) -> list[Path]:
    """``files`` regular files with content (the last a copy of the first), an empty file and
    a symbolic link; returns the files with content."""
    root.mkdir(parents=True)
    paths = []
    for n in range(files - 1):
        path = root / f"page-{n:05}.png"
        path.write_bytes(rng.randbytes(rng.randint(200, 4096)))
        paths.append(path)
    copy = root / "copy-of-page-00000.png"
    copy.write_bytes(paths[0].read_bytes())
    paths.append(copy)
    (root / "empty.txt").write_bytes(b"")
    (root / "link.png").symlink_to(paths[1])
    return paths


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(home.with_name("user"))})
    return env


def cli(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PROVENANCE), *map(str, args)], env=environment(home),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, check=False)


def log_works(home: Path) -> list[str]:
    """The work of every entry in the log, read straight from the database (read-only)."""
    db_path = home / "ledger.db"
    if not db_path.exists():
        return []
    db = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT work FROM entries ORDER BY idx")]
    except sqlite3.OperationalError:  # killed before the schema was created
        return []
    finally:
        db.close()


def receipt_count(home: Path) -> int:
    folder = home / "receipts"
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def kill_at(home: Path, folder: Path, delay: float) -> bool:
    """Start ``anchor DIR``, SIGKILL it after ``delay`` seconds; False if it ended first."""
    proc = subprocess.Popen([str(PROVENANCE), "anchor", str(folder), "--json"],
                            env=environment(home), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True
    return False


def check_trial(trial: int, home: Path, folder: Path, files: list[Path], doc: dict[str, Any],
                rng: random.Random, totals: Totals) -> None:
    def fail(what: str) -> None:
        totals.failures.append(f"trial {trial}: {what}")

    works = {p: "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    rows = {Path(r["file"]): r for r in doc["files"]}
    ledger = Home(home).open_ledger()
    try:
        verifier = ledger.verifier
    finally:
        ledger.close()
    vkey = verifier.to_vkey()
    # (1) every file with content has exactly one receipt, which verifies and matches it.
    receipts: dict[str, list[Path]] = {}
    for path in (home / "receipts").glob("*.json"):
        receipts.setdefault(json.loads(path.read_bytes())["event"]["work"], []).append(path)
    for path, work in works.items():
        row = rows.get(path)
        if row is not None and row["status"] == "duplicate":
            row = rows.get(Path(row["duplicate_of"]))
        if row is None or row["status"] not in ("anchored", "exists") or "receipt" not in row:
            totals.lost_receipts += 1
            fail(f"{path.name}: no receipt reported ({row})")
            continue
        kept = receipts.get(work, [])
        if len(kept) != 1 or kept[0] != Path(row["receipt"]):
            totals.lost_receipts += 1
            fail(f"{path.name}: {len(kept)} receipts kept for {work}, reported {row['receipt']}")
            continue
        try:
            verified = verify_receipt(Receipt.from_json(json.loads(kept[0].read_bytes())),
                                      [verifier])
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
            totals.lost_receipts += 1
            fail(f"{path.name}: receipt does not verify: {e}")
            continue
        if verified.event.event.work != work or verified.leaf_index != row["index"]:
            totals.lost_receipts += 1
            fail(f"{path.name}: receipt is for {verified.event.event.work} at "
                 f"{verified.leaf_index}, not {work} at {row['index']}")
    for path in rng.sample(sorted(works), CLI_VERIFY_SAMPLE):
        row = rows[path]
        if row["status"] == "duplicate":
            row = rows[Path(row["duplicate_of"])]
        if "receipt" not in row:
            continue  # counted as lost above
        result = cli(home, "verify", row["receipt"], "--log-key", vkey, "--file", path)
        if result.returncode != 0:
            fail(f"provenance verify {row['receipt']} --file {path}: exit "
                 f"{result.returncode}: {result.stderr.strip()}")
    # (2) the audit passes.
    audit = cli(home, "log", "audit")
    if audit.returncode != 0:
        fail(f"log audit: exit {audit.returncode}: {audit.stderr.strip()}")
    # (3) each work once in the log, and only the folder's works.
    logged = log_works(home)
    twice = len(logged) - len(set(logged))
    if twice:
        totals.duplicates += twice
        fail(f"{twice} works appear more than once in the log")
    if set(logged) != set(works.values()):
        fail(f"the log holds {len(set(logged))} works, the folder {len(set(works.values()))}")
    # (4) nothing half-written left.
    temps = sorted(home.rglob("*.tmp"))
    if temps:
        totals.tmp_files += len(temps)
        fail(f"temporary files left: {[p.name for p in temps[:5]]}")


def trial(n: int, workdir: Path, args: argparse.Namespace, rng: random.Random,
          duration: float, totals: Totals) -> None:
    base = workdir / f"trial-{n}"
    home, folder = base / "home", base / "pages"
    files = make_folder(folder, args.files, rng)
    for _ in range(rng.randint(1, MAX_KILLS)):
        # Half the kills anywhere in the run (start-up, hashing, signing, the commit), half in
        # its last 40 %, where the block commits and the receipts are written.
        start = 0.0 if rng.random() < 0.5 else 0.6 * duration
        if not kill_at(home, folder, rng.uniform(start, KILL_BY * duration)):
            totals.runs_done_before_kill += 1
            break
        totals.kills += 1
        registered = len(set(log_works(home)))
        if registered:
            totals.kills_after_commit += 1
            totals.receipts_left_to_write += registered - receipt_count(home)
    final = cli(home, "anchor", folder, "--json")
    if final.returncode != 0:
        totals.failures.append(f"trial {n}: the run to completion exited {final.returncode}: "
                               f"{final.stderr.strip()[:300]}")
        totals.lost_receipts += len(files)
    else:
        check_trial(n, home, folder, files, json.loads(final.stdout), rng, totals)
    totals.trials += 1
    if not args.keep:
        shutil.rmtree(base)


def calibrate(workdir: Path, files: int, seed: int) -> float:
    """Seconds of an uninterrupted run over a folder of ``files`` files (median of three)."""
    times = []
    for n in range(3):
        base = workdir / f"calibration-{n}"
        make_folder(base / "pages", files, random.Random(seed))
        t0 = time.perf_counter()
        result = cli(base / "home", "anchor", base / "pages", "--json")
        times.append(time.perf_counter() - t0)
        if result.returncode != 0:
            sys.exit(f"crash_anchor: the calibration run failed: {result.stderr.strip()}")
        shutil.rmtree(base)
    return sorted(times)[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=20, help="trials (default 20)")
    p.add_argument("--files", type=int, default=200, help="files per folder (default 200)")
    p.add_argument("--seed", type=int, default=1, help="seed of the file contents and kills")
    p.add_argument("--workdir", type=Path, default=None,
                   help="where the trials run (default: a temporary folder, removed)")
    p.add_argument("--keep", action="store_true", help="keep each trial's home and folder")
    args = p.parse_args()
    if args.files < 3:
        p.error("--files must be at least 3")
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crash-anchor-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        duration = calibrate(workdir, args.files, args.seed)
        print(f"crash_anchor: {args.files} files per folder; an uninterrupted run takes "
              f"{duration:.2f} s; seed {args.seed}", file=sys.stderr)
        totals = Totals()
        for n in range(args.trials):
            trial(n, workdir, args, rng, duration, totals)
            if (n + 1) % 50 == 0:
                print(f"  {n + 1} trials, {totals.kills_after_commit} kills after commit, "
                      f"{len(totals.failures)} failures", file=sys.stderr)
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="crash-anchor-kept-", dir=args.workdir))
            shutil.copytree(workdir, kept, dirs_exist_ok=True, symlinks=True)
            print(f"  trials kept in {kept}", file=sys.stderr)
    for failure in totals.failures:
        print(f"  FAIL {failure}", file=sys.stderr)
    print(f"  {totals.kills} kills: {totals.kills_after_commit} after a commit (which left "
          f"{totals.receipts_left_to_write} receipts to write), "
          f"{totals.kills - totals.kills_after_commit} before; {totals.runs_done_before_kill} "
          f"runs ended before their kill; {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    print(f"crash_anchor: {totals.trials} trials, {totals.kills_after_commit} kills after commit, "
          f"{totals.lost_receipts} lost receipts, {totals.duplicates} duplicates, "
          f"{totals.tmp_files} tmp files")
    return 1 if totals.failures else 0


if __name__ == "__main__":
    sys.exit(main())
