#!/usr/bin/env python3
"""Benchmark of provenance-ledger's append path and proof queries (see bench/README.md).

    python bench/bench.py [--entries N] [--json] [--out DIR] [--profile [EVENTS]]
                          [--store postgresql://... [--append-only]]
    python bench/bench.py --anchor-only [--files N] [--anchor-rounds R] [--anchor-source]

Everything is measured in one run on the same machine, and the append rate is quoted as a
ratio to the raw Ed25519 verify rate measured in the same run, in interleaved rounds, so that a
noisy machine moves both alike. Figures are medians.

1. ``ed25519_verify_per_s``: single-thread ``cryptography`` Ed25519 verifies of event signing
   messages (domain prefix + canonical envelope), decoded public keys, median over rounds.
2. ``append_events_per_s``: pre-signed ``work.register`` events for distinct works, appended
   through ``Ledger.append_block`` in blocks (parse, verify, admit, rules, Merkle tree,
   checkpoint, one durable SQLite transaction per block) into a fresh ledger file per round.
   ``append_ratio`` = append / verify. With ``--store URL`` each round also appends the same
   events into a fresh ledger in PostgreSQL (a new schema on that server, specs/storage.md
   section 6), timed against its own verifies in the same way: ``pg_append_events_per_s``,
   ``pg_append_ratio``. ``--append-only`` stops after this step and prints both side by side.
3. The N-entry log (default 10**6) is built by a child process that does nothing else (its
   ``ru_maxrss`` is ``peak_rss_mb``); the events are signed, a block at a time, by a spawned
   signing pool, so no more than a few blocks are ever held in memory.
4. ``inclusion_proof_ms_median`` / ``consistency_proof_ms_median``: each query timed on its own
   (random leaf against the full size; random ``old < new`` size pairs), median in ms. The
   baseline is pymerkle's ``SqliteTree`` filled with the same leaves (up to a time cap; its size
   is reported) and asked the same kind of queries, interleaved with ours.
5. With ``--store URL`` (and no ``--append-only``), the same N-entry log is built a second
   time by another child process into a new schema on that server (``pg_peak_rss_mb``,
   ``pg_fill_append_events_per_s``), and the same proof queries are asked of it, interleaved
   with the others (``pg_inclusion_proof_ms_median``, ``pg_consistency_proof_ms_median``); its
   root and 20 proofs of each kind are checked equal to SQLite's. A table puts every figure
   measured on both stores side by side.

This file is not part of the pytest suite (``testpaths = ["tests"]``).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import hashlib
import json
import multiprocessing
import os
import platform
import pstats
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import cryptography
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from provenance_ledger.core import ed25519, merkle, rules
from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.encoding import parse_canonical_json
from provenance_ledger.core.events import Event, SignedEvent, parse_leaf, sign_event
from provenance_ledger.ledger.home import Home
from provenance_ledger.ledger.ledger import MAX_BLOCK_EVENTS, Appended, Ledger

DEFAULT_ENTRIES = 10**6
ACTORS = 16  # a few actor keys, reused round-robin
LOG_SALT = b"log"

TARGET_APPEND_RATIO = 0.8
TARGET_APPEND_EVENTS = 15_000  # durable events/s on the idle 2-core machine (issue 15)
TARGET_PROOF_MS = 1.0
TARGET_RSS_MB = 200.0
TARGET_ANCHOR_RATIO = 0.5  # anchor DIR files/s vs raw hash+sign+verify files/s

perf = time.perf_counter
perf_ns = time.perf_counter_ns


# --- events ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def actor_keys() -> tuple[PrivateKey, ...]:
    return tuple(
        PrivateKey.from_seed(hashlib.sha256(b"provenance-ledger bench actor %d" % i).digest())
        for i in range(ACTORS)
    )


def make_event(salt: bytes, i: int, now: int) -> SignedEvent:
    """The i-th benchmark event: a work.register of a distinct work, at ``now``."""
    key = actor_keys()[i % ACTORS]
    work = "sha256:" + hashlib.sha256(b"%s:%d" % (salt, i)).hexdigest()
    body = {"size": 1024 + i, "media_type": "image/png", "title": f"Benchmark work {i}"}
    return sign_event(Event("work.register", work, None, key.public.text, now, body), key)


def sign_block(job: tuple[bytes, int, int, int]) -> list[bytes]:
    """Leaves of events ``start .. start+count-1`` (runs in the signing pool)."""
    salt, start, count, now = job
    return [make_event(salt, i, now).leaf for i in range(start, start + count)]


def sign_leaves(salt: bytes, count: int, now: int) -> list[bytes]:
    return sign_block((salt, 0, count, now))


def open_ledger(path: Path, store: str | None = None) -> Ledger:
    """A fresh ledger in ``path``; with ``store`` (a PostgreSQL server URL), its log in a new
    schema there."""
    return Home(path, None if store is None else new_schema(store)).open_ledger()


def new_schema(server: str) -> str:
    """A new schema on the PostgreSQL ``server`` and the URL whose search_path names it."""
    import psycopg

    name = f"bench_{int(time.time())}_{random.randrange(1 << 30):x}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}".encode())
    sep = "&" if "?" in server else "?"
    return f"{server}{sep}options=-csearch_path%3D{name}"


def close_ledger(ledger: Ledger) -> None:
    close = getattr(ledger, "close", None) or getattr(ledger.store, "close", None)
    if close is not None:
        close()


def check_appended(results: Sequence[object]) -> None:
    bad = [r for r in results if not isinstance(r, Appended)]
    if bad:
        raise SystemExit(f"bench: {len(bad)} events refused, first: {bad[0]!r}")


# --- machine ---------------------------------------------------------------------------------


def fs_type(path: Path) -> str:
    """The file system holding ``path`` (from /proc/mounts; '?' elsewhere)."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "?"
    p = str(path.resolve())
    best = ("", "?")
    for mnt, fstype in mounts:
        if (p == mnt or p.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best[0]):
            best = (mnt, fstype)
    return best[1]


def machine_info(workdir: Path) -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 1
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": usable,
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "openssl": _openssl_version(),
        "sqlite": sqlite3.sqlite_version,
        "workdir": f"{workdir} ({fs_type(workdir)})",
        "source": source_state(),
    }


def git_state(folder: Path, scope: str, changed: str) -> str:
    """The short commit of the checkout holding ``folder``, and ``changed`` when files under
    ``scope`` (relative to ``folder``) differ from it; "?" outside a checkout."""
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--", scope],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + (changed if dirty else "")


def source_state() -> str:
    """The commit the bench ran on, and whether src/ had uncommitted changes."""
    return git_state(Path(__file__).resolve().parents[1], "src",
                     " + uncommitted changes in src/")


def _openssl_version() -> str:
    try:
        from cryptography.hazmat.backends.openssl.backend import backend

        return str(backend.openssl_version_text())
    except Exception:  # pragma: no cover - informational only
        return "?"


# --- 1 + 2: verify and append, interleaved rounds --------------------------------------------


VerifyItem = tuple[Ed25519PublicKey, bytes, bytes, bytes]
"""(decoded ``cryptography`` key, raw public key, signature, message)."""


def verify_items(count: int, now: int) -> list[VerifyItem]:
    """(decoded key, raw key, signature, message) of ``count`` event signatures."""
    pubs = {k.public.text: (Ed25519PublicKey.from_public_bytes(k.public.raw), k.public.raw)
            for k in actor_keys()}
    items = []
    for i in range(count):
        se = make_event(b"verify", i, now)
        pub, raw = pubs[se.event.actor]
        items.append((pub, raw, se.signature, se.event.signing_message()))
    return items


def verify_chunk(items: Sequence[VerifyItem]) -> float:
    """Seconds to verify ``items`` one after the other in this thread with ``cryptography``."""
    t0 = perf()
    for pub, _raw, sig, msg in items:
        pub.verify(sig, msg)
    return perf() - t0


def project_verify_chunk(items: Sequence[VerifyItem]) -> float:
    """Seconds for the project's own verify function (core/ed25519.py: libsodium under the
    pinned rule) over ``items`` in this thread."""
    t0 = perf()
    for _pub, raw, sig, msg in items:
        if not ed25519.verify(raw, sig, msg):
            raise SystemExit("bench: a signature does not verify")
    return perf() - t0


def paired_round(home: Path, leaves: Sequence[bytes],
                 items: Sequence[VerifyItem], block: int, now: int,
                 store: str | None = None) -> tuple[float, float, float, float]:
    """One round into a fresh ledger: before each append_block of ``block`` events, verify
    ``block`` signatures with ``cryptography`` and again with the project's verify function,
    so all three are timed under the same machine conditions.

    Returns verifies per second (``cryptography``), appends per second (wall clock), the
    process CPU seconds per appended event (all threads) and the project's verifies per
    second."""
    ledger = open_ledger(home, store)
    blocks = [leaves[i : i + block] for i in range(0, len(leaves), block)]
    results: list[object] = []
    t_verify = t_append = t_project = cpu = 0.0
    verified = 0
    gc.collect()
    for k, b in enumerate(blocks):
        lo = (k * block) % len(items)
        chunk = items[lo : lo + len(b)]
        t_verify += verify_chunk(chunk)
        t_project += project_verify_chunk(chunk)
        verified += len(chunk)
        c0 = time.process_time()
        t0 = perf()
        results.extend(ledger.append_block(b, now))
        t_append += perf() - t0
        cpu += time.process_time() - c0
    check_appended(results)
    if ledger.size != len(leaves):
        raise SystemExit(f"bench: ledger size {ledger.size}, expected {len(leaves)}")
    close_ledger(ledger)
    return verified / t_verify, len(leaves) / t_append, cpu / len(leaves), verified / t_project


def openssl_round(home: Path, leaves: Sequence[bytes], items: Sequence[VerifyItem],
                  block: int, now: int) -> tuple[float, float, float, float]:
    """:func:`paired_round` with every signature checked by OpenSSL (``cryptography``), as
    before libsodium: the same pinned rule, the slower library."""
    saved = ed25519._sodium_open
    ed25519._sodium_open = None
    try:
        return paired_round(home, leaves, items, block, now)
    finally:
        ed25519._sodium_open = saved


def measure_append(args: argparse.Namespace, workdir: Path, now: int) -> dict[str, Any]:
    items = verify_items(min(args.block, args.round_events), now)
    verify_rates: list[float] = []
    append_rates: list[float] = []
    append_cpu: list[float] = []
    project_rates: list[float] = []
    openssl_rates: list[float] = []
    openssl_ratios: list[float] = []
    pg: dict[str, list[float]] = {"verify": [], "append": [], "cpu": []}
    verify_chunk(items)  # warm-up
    project_verify_chunk(items)
    for r in range(args.rounds):
        leaves = sign_leaves(b"append-round-%d" % r, args.round_events, now)  # before timing
        v, a, cpu, pv = paired_round(workdir / f"append-{r}", leaves, items, args.block, now)
        verify_rates.append(v)
        append_rates.append(a)
        append_cpu.append(cpu)
        project_rates.append(pv)
        log(f"  round {r + 1}/{args.rounds}: verify {v:,.0f}/s ({ed25519.backend()} "
            f"{pv:,.0f}/s), append {a:,.0f}/s, ratio {a / v:.3f} ({a / pv:.3f})")
        if args.compare_openssl:  # the same events, every signature checked by OpenSSL
            v2, a2, _cpu, _pv = openssl_round(workdir / f"append-ossl-{r}", leaves, items,
                                              args.block, now)
            openssl_rates.append(a2)
            openssl_ratios.append(a2 / v2)
            log(f"  round {r + 1}/{args.rounds} OpenSSL only: verify {v2:,.0f}/s, append "
                f"{a2:,.0f}/s, ratio {a2 / v2:.3f}")
        if args.store is not None:  # the same events into PostgreSQL, right after
            v, a, cpu, _pv = paired_round(workdir / f"append-pg-{r}", leaves, items, args.block,
                                     now, args.store)
            pg["verify"].append(v)
            pg["append"].append(a)
            pg["cpu"].append(cpu)
            log(f"  round {r + 1}/{args.rounds} PostgreSQL: verify {v:,.0f}/s, append "
                f"{a:,.0f}/s, ratio {a / v:.3f}")
    v = statistics.median(verify_rates)
    a = statistics.median(append_rates)
    ratios = [x / y for x, y in zip(append_rates, verify_rates, strict=True)]
    project_ratios = [x / y for x, y in zip(append_rates, project_rates, strict=True)]
    return {
        "ed25519_verify_per_s": v,
        "project_verify_per_s": statistics.median(project_rates),
        "project_verify_backend": ed25519.backend(),
        "project_verify_rounds_per_s": project_rates,
        "append_ratio_to_project_verify": statistics.median(project_ratios),
        "append_ratio_to_project_verify_rounds": project_ratios,
        **({"openssl_append_events_per_s": statistics.median(openssl_rates),
            "openssl_append_rounds_per_s": openssl_rates,
            "openssl_append_ratio": statistics.median(openssl_ratios),
            "openssl_append_ratio_rounds": openssl_ratios,
            "libsodium_over_openssl_append": statistics.median(
                x / y for x, y in zip(append_rates, openssl_rates, strict=True)),
            "libsodium_over_openssl_append_rounds": [
                x / y for x, y in zip(append_rates, openssl_rates, strict=True)]}
           if openssl_rates else {}),
        "append_events_per_s": a,
        "append_ratio": statistics.median(ratios),
        "append_ratio_of_medians": a / v,
        "append_us_per_event": 1e6 / a,
        "verify_us_per_event": 1e6 / v,
        "append_cpu_us_per_event": statistics.median(append_cpu) * 1e6,
        "verify_rounds_per_s": verify_rates,
        "append_rounds_per_s": append_rates,
        "append_ratio_rounds": ratios,
        **pg_figures(pg),
    }


def pg_figures(pg: dict[str, list[float]]) -> dict[str, Any]:
    """The PostgreSQL rounds' figures, named as SQLite's with a ``pg_`` prefix (none when the
    run had no ``--store``)."""
    if not pg["append"]:
        return {}
    ratios = [x / y for x, y in zip(pg["append"], pg["verify"], strict=True)]
    return {
        "pg_ed25519_verify_per_s": statistics.median(pg["verify"]),
        "pg_append_events_per_s": statistics.median(pg["append"]),
        "pg_append_ratio": statistics.median(ratios),
        "pg_append_cpu_us_per_event": statistics.median(pg["cpu"]) * 1e6,
        "pg_verify_rounds_per_s": pg["verify"],
        "pg_append_rounds_per_s": pg["append"],
        "pg_append_ratio_rounds": ratios,
    }


def append_table(f: dict[str, Any]) -> str:
    """The append figures of SQLite and PostgreSQL side by side: median (min-max)."""
    def cell(median: float, rounds: Sequence[float], digits: int) -> str:
        return (f"{median:,.{digits}f} ({min(rounds):,.{digits}f}-"
                f"{max(rounds):,.{digits}f})")

    lines = ["| figure | SQLite | PostgreSQL |", "|---|---|---|"]
    for label, key, digits in (("ed25519_verify_per_s (raw, same rounds)", "verify_rounds_per_s",
                                0),
                               ("append_events_per_s", "append_rounds_per_s", 0),
                               ("append_ratio (append / verify)", "append_ratio_rounds", 3)):
        name = {"verify_rounds_per_s": "ed25519_verify_per_s",
                "append_rounds_per_s": "append_events_per_s",
                "append_ratio_rounds": "append_ratio"}[key]
        pg = (cell(f["pg_" + name], f["pg_" + key], digits) if "pg_" + name in f else "n/a")
        lines.append(f"| {label} | {cell(f[name], f[key], digits)} | {pg} |")
    pv = cell(f["project_verify_per_s"], f["project_verify_rounds_per_s"], 0)
    pr = cell(f["append_ratio_to_project_verify"], f["append_ratio_to_project_verify_rounds"], 3)
    lines.append(f"| project verify per s ({f['project_verify_backend']}, one thread) | {pv} | |")
    lines.append(f"| append / project verify | {pr} | |")
    if "openssl_append_events_per_s" in f:
        oa = cell(f["openssl_append_events_per_s"], f["openssl_append_rounds_per_s"], 0)
        orr = cell(f["openssl_append_ratio"], f["openssl_append_ratio_rounds"], 3)
        lines.append(f"| append_events_per_s, OpenSSL verifying (same rounds) | {oa} | |")
        lines.append(f"| append_ratio, OpenSSL verifying | {orr} | |")
        sp = cell(f["libsodium_over_openssl_append"],
                  f["libsodium_over_openssl_append_rounds"], 3)
        lines.append(f"| append with libsodium / with OpenSSL, same round | {sp} | |")
    lines.append(f"| append CPU of this process, us/event | {f['append_cpu_us_per_event']:.1f} "
                 f"| {f.get('pg_append_cpu_us_per_event', float('nan')):.1f} |")
    return "\n".join(lines)


# --- 3: build the N-entry log in a child process ---------------------------------------------


def build_log(home: Path, n: int, block: int, now: int, procs: int,
              store: str | None = None) -> dict[str, Any]:
    """Child-process body: append n events, signed a block at a time by a spawned pool; with
    ``store`` (a PostgreSQL server URL), into a new schema there."""
    ledger = open_ledger(home) if store is None else open_ledger(home, store)
    if ledger.size:
        raise SystemExit(f"bench: {home} already holds a log of {ledger.size} entries")
    grown = grow(ledger, n, block, now, procs, LOG_SALT)
    close_ledger(ledger)
    return {
        "entries": n,
        "seconds": grown["seconds"],
        "append_seconds": grown["append_seconds"],
        "sign_wait_seconds": grown["sign_wait_seconds"],
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,  # KiB on Linux
    }


def grow(ledger: Ledger, n: int, block: int, now: int, procs: int, salt: bytes
         ) -> dict[str, float]:
    """Append the events ``ledger.size .. n-1`` of ``salt``, ``block`` at a time, signed ahead
    by a spawned pool (a few blocks at most held in memory): seconds in all, in
    ``append_block`` and waiting for signatures."""
    start = ledger.size
    jobs = iter(range(start, n, block))
    pending: deque[Any] = deque()
    window = 2 * procs + 2  # blocks signed ahead: bounds the memory the pipeline holds
    t_append = t_wait = 0.0
    done = 0
    next_report = 0.1
    t_start = perf()
    with multiprocessing.get_context("spawn").Pool(procs) as pool:

        def submit() -> None:
            first = next(jobs, None)
            if first is not None:
                job = (salt, first, min(block, n - first), now)
                pending.append(pool.apply_async(sign_block, (job,)))

        for _ in range(window):
            submit()
        while pending:
            t0 = perf()
            leaves = pending.popleft().get()
            t1 = perf()
            submit()
            results = ledger.append_block(leaves, now)
            t2 = perf()
            t_wait += t1 - t0
            t_append += t2 - t1
            check_appended(results)
            done += len(leaves)
            del leaves, results
            if done >= next_report * (n - start):
                log(f"  built {start + done:,}/{n:,} entries ({perf() - t_start:.0f} s)")
                next_report += 0.1
    if ledger.size != n:
        raise SystemExit(f"bench: built a log of {ledger.size} entries, expected {n}")
    return {"seconds": perf() - t_start, "append_seconds": t_append, "sign_wait_seconds": t_wait}


def run_builder(args: argparse.Namespace, home: Path, now: int, store: str | None = None
                ) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--build-only", str(home),
           "--entries", str(args.entries), "--block", str(args.block), "--now", str(now),
           "--sign-procs", str(args.sign_procs)] + ([] if store is None else ["--store", store])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench: building the log failed (exit {proc.returncode})")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# --- 4: proofs, and the pymerkle baseline ----------------------------------------------------


def fill_baseline(ledger: Ledger, dbfile: Path, n: int, budget_s: float
                  ) -> tuple[Any, dict[str, Any]]:
    import pymerkle  # type: ignore[import-untyped]

    tree = pymerkle.SqliteTree(str(dbfile))
    chunk = 20_000
    size = 0
    t_fill = 0.0
    t_start = perf()
    while size < n and perf() - t_start < budget_s:
        end = min(n, size + chunk)
        leaves = [e.leaf for e in ledger.store.entries(size, end)]
        t0 = perf()
        tree.append_entries(leaves, chunksize=chunk)
        t_fill += perf() - t0
        size = end
    if tree.get_size() != size:
        raise SystemExit(f"bench: pymerkle tree has {tree.get_size()} leaves, expected {size}")
    return tree, {
        "pymerkle": _pymerkle_version(),
        "size": size,
        "fill_seconds": t_fill,
        "fill_leaves_per_s": size / t_fill if t_fill else None,
        "capped": size < n,
    }


def _pymerkle_version() -> str:
    from importlib.metadata import version

    try:
        return version("pymerkle")
    except Exception:  # pragma: no cover
        return "?"


def inclusion_queries(us: Sequence[float], size: int) -> list[int]:
    return [min(size - 1, int(u * size)) for u in us]


def consistency_queries(us: Sequence[tuple[float, float]], size: int) -> list[tuple[int, int]]:
    """Pairs 1 <= old < new <= size."""
    out = []
    for u1, u2 in us:
        new = min(size, 2 + int(u1 * (size - 1)))
        old = min(new - 1, 1 + int(u2 * (new - 1)))
        out.append((old, new))
    return out


class Timer:
    """Per-call latencies of one query kind, collected over interleaved chunks."""

    def __init__(self, call: Callable[[Any], object], queries: Sequence[Any],
                 budget_s: float | None = None) -> None:
        self.call = call
        self.queries = queries
        self.budget_s = budget_s
        self.ns: list[int] = []
        self.spent = 0.0

    def run(self, lo: int, hi: int) -> None:
        if self.budget_s is not None and self.spent >= self.budget_s:
            return
        call = self.call
        t0 = perf()
        for q in self.queries[lo:hi]:
            s = perf_ns()
            call(q)
            self.ns.append(perf_ns() - s)
        self.spent += perf() - t0

    def summary(self) -> dict[str, Any]:
        ms = sorted(x / 1e6 for x in self.ns)
        if not ms:
            return {"queries": 0, "median_ms": None}
        return {
            "queries": len(ms),
            "median_ms": statistics.median(ms),
            "p90_ms": ms[int(0.9 * (len(ms) - 1))],
            "max_ms": ms[-1],
            "seconds": self.spent,
        }


def measure_proofs(args: argparse.Namespace, ledger: Ledger, tree: Any, base_size: int,
                   pg: Ledger | None = None) -> dict[str, Any]:
    """Our proofs and pymerkle's, interleaved in chunks; with ``pg`` (the same log in
    PostgreSQL), its proofs of the same queries too."""
    n = ledger.size
    rng = random.Random(args.seed)
    u_inc = [rng.random() for _ in range(args.queries)]
    u_con = [(rng.random(), rng.random()) for _ in range(args.queries)]
    budget = args.baseline_query_seconds / 2  # per kind

    def ours_inc(size: int) -> Callable[[Any], object]:
        return lambda i: ledger.inclusion_proof(i, size)

    def ours_con(q: tuple[int, int]) -> object:
        return ledger.consistency_proof(q[0], q[1])

    m = base_size
    timers: dict[str, Timer] = {
        "ledger_inclusion": Timer(ours_inc(n), inclusion_queries(u_inc, n)),
        "ledger_consistency": Timer(ours_con, consistency_queries(u_con, n)),
        "pymerkle_inclusion": Timer(lambda i: tree.prove_inclusion(i + 1, m),
                                    inclusion_queries(u_inc, m), budget),
        "pymerkle_consistency": Timer(lambda q: tree.prove_consistency(q[0], q[1]),
                                      consistency_queries(u_con, m), budget),
    }
    if pg is not None:
        timers["pg_inclusion"] = Timer(lambda i: pg.inclusion_proof(i, n),
                                       inclusion_queries(u_inc, n))
        timers["pg_consistency"] = Timer(lambda q: pg.consistency_proof(q[0], q[1]),
                                         consistency_queries(u_con, n))
    if m < n:  # our ledger at the baseline's size too, for a like-for-like comparison
        timers["ledger_inclusion_at_baseline_size"] = Timer(ours_inc(m),
                                                            inclusion_queries(u_inc, m))
        timers["ledger_consistency_at_baseline_size"] = Timer(
            ours_con, consistency_queries(u_con, m))
    chunk = 250
    for lo in range(0, args.queries, chunk):
        for t in timers.values():
            t.run(lo, lo + chunk)
        log(f"  queries {min(lo + chunk, args.queries):,}/{args.queries:,}")
    out: dict[str, Any] = {name: t.summary() for name, t in timers.items()}
    out["cross_check"] = cross_check(ledger, tree, m, rng)
    if pg is not None:
        out["pg_cross_check"] = pg_cross_check(ledger, pg, rng)
    return out


def pg_cross_check(ledger: Ledger, pg: Ledger, rng: random.Random) -> str:
    """Untimed: the same log in PostgreSQL has the same root and gives the same proofs."""
    n = ledger.size
    if pg.size != n or pg.root(n) != ledger.root(n):
        return f"MISMATCH: PostgreSQL's log ({pg.size:,} entries) differs from SQLite's"
    for _ in range(20):
        i, old = rng.randrange(n), rng.randrange(1, n)
        if (pg.inclusion_proof(i, n) != ledger.inclusion_proof(i, n)
                or pg.consistency_proof(old, n) != ledger.consistency_proof(old, n)):
            return f"MISMATCH: a proof from PostgreSQL differs (leaf {i}, old size {old})"
    return f"ok (same root at {n:,}; 20 inclusion and 20 consistency proofs equal SQLite's)"


def cross_check(ledger: Ledger, tree: Any, m: int, rng: random.Random) -> str:
    """Untimed: our root at the baseline's size is pymerkle's, and our proofs verify against
    pymerkle's roots (pymerkle's inclusion path is the leaf hash followed by ours)."""
    checked = 0
    try:
        root = tree.get_root(m)
        if ledger.root(m) != root:
            return f"MISMATCH: roots at size {m} differ"
        for _ in range(20):
            i = rng.randrange(m)
            proof = ledger.inclusion_proof(i, m)
            if tree.prove_inclusion(i + 1, m).path[1:] != proof:
                return f"MISMATCH: inclusion proof of leaf {i} at size {m}"
            merkle.verify_inclusion(i, m, tree.get_leaf(i + 1), proof, root)
            new = rng.randrange(2, m + 1)
            old = rng.randrange(1, new)
            merkle.verify_consistency(old, new, ledger.consistency_proof(old, new),
                                      tree.get_root(old), tree.get_root(new))
            checked += 1
    except Exception as e:  # report it, do not hide the figures
        return f"MISMATCH after {checked} checks: {type(e).__name__}: {e}"
    return (f"ok (root at {m:,} equals pymerkle's; {checked} inclusion and {checked} "
            "consistency proofs verify against pymerkle's roots)")


# --- report ----------------------------------------------------------------------------------


def make_files(folder: Path, count: int, seed: int) -> list[Path]:
    """``count`` small files (200 B to 4 KiB of random bytes) in 100 sub-folders."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        sub = folder / f"d{i % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"page-{i:05d}.png"
        path.write_bytes(rng.randbytes(rng.randint(200, 4096)))
        paths.append(path)
    return paths


def raw_anchor_rate(paths: Sequence[Path], now: int) -> float:
    """Files per second of the irreducible work of anchoring, single thread: read and hash
    the file, build and sign its registration, verify the signature."""
    key = actor_keys()[0]
    t0 = perf()
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        event = Event("work.register", "sha256:" + digest, None, key.public.text, now,
                      {"size": path.stat().st_size, "media_type": "image/png"})
        signed = sign_event(event, key)
        key.public.verify(signed.signature, event.signing_message())
    return len(paths) / (perf() - t0)


CREATE_PROBE_FILES = 1000


def file_creation_us(folder: Path) -> float:
    """Microseconds to create an empty file in a new ``folder``: what a receipt's creation
    costs on this file system now. (On ext4 without a journal, inodes freed in the last 1-6
    minutes are skipped one by one, so a file system where many files were just deleted
    creates files 10-30 times slower; the files made here are deleted only at the end.)"""
    folder.mkdir(parents=True)
    rng = random.Random(len(str(folder)))
    t0 = perf()
    for _ in range(CREATE_PROBE_FILES):
        os.close(os.open(folder / f"{rng.getrandbits(64):016x}.json",
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return (perf() - t0) / CREATE_PROBE_FILES * 1e6


def package_dir() -> Path:
    """Where the ``provenance_ledger`` this run imports (and the CLI runs) lives."""
    import provenance_ledger

    return Path(provenance_ledger.__file__).resolve().parent


def package_commit() -> str:
    """The commit of the package's checkout, and whether its files differ from it."""
    return git_state(package_dir(), ".", " + uncommitted changes")


def compile_package(anchor_source: bool) -> str:
    """Compile the package's modules to bytecode beside them (``__pycache__``, as installing
    it does and as any run does unless ``PYTHONDONTWRITEBYTECODE`` is set), so that each CLI
    run reads them compiled, as a user's does; ``anchor_source``: leave it as it is (with
    ``PYTHONDONTWRITEBYTECODE`` set and nothing compiled, each run compiles every module of
    the package from source first: about 0.15 s). How the runs found it, in words."""
    if anchor_source:
        return "as found" + (" (PYTHONDONTWRITEBYTECODE set)"
                             if os.environ.get("PYTHONDONTWRITEBYTECODE") else "")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package_dir())],
                   check=True, stdout=subprocess.DEVNULL)
    return "compiled beforehand (compileall)"


def measure_anchor_dir(args: argparse.Namespace, workdir: Path, now: int) -> dict[str, Any]:
    """`provenance anchor DIR` through the real CLI, against the raw rate of the same files,
    in alternating rounds on fresh homes; medians. Each round also reports what creating a
    file costs in the work folder (:func:`file_creation_us`). The CLI is the one beside this
    interpreter, with the package this run imports (``PYTHONPATH`` is passed on), compiled
    to bytecode first unless ``--anchor-source``."""
    files = make_files(workdir / "files", args.files, args.seed)
    exe = Path(sys.executable).parent / "provenance"
    bytecode = compile_package(args.anchor_source)
    code = f"{package_dir()} at {package_commit()}, {bytecode}"
    log(f"  code: {code}")
    raws, clis, ratios, creates = [], [], [], []
    for r in range(args.anchor_rounds):
        creates.append(file_creation_us(workdir / f"create-probe-{r}"))
        raw = raw_anchor_rate(files, now)
        home = workdir / f"anchor-home-{r}"
        t0 = perf()
        subprocess.run([str(exe), "--home", str(home), "anchor", str(workdir / "files"),
                        "--json"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        cli = len(files) / (perf() - t0)
        raws.append(raw)
        clis.append(cli)
        ratios.append(cli / raw)
        log(f"  round {r + 1}/{args.anchor_rounds}: raw {raw:,.0f} files/s, "
            f"anchor DIR {cli:,.0f} files/s, ratio {cli / raw:.3f}, creating a file "
            f"{creates[-1]:,.0f} us, load {os.getloadavg()[0]:.2f}")
    return {"anchor_raw_files_per_s": statistics.median(raws),
            "anchor_dir_files_per_s": statistics.median(clis),
            "anchor_dir_ratio": statistics.median(ratios),
            "anchor_create_us": statistics.median(creates),
            "anchor_code": code,
            "anchor_rounds": {"raw": raws, "cli": clis, "ratio": ratios,
                              "create_us": creates}}


def _spread(values: Sequence[float], digits: int = 0) -> str:
    """A median and its range: ``median (min-max)``."""
    return (f"{_num(statistics.median(values), digits)} "
            f"({_num(min(values), digits)}-{_num(max(values), digits)})")


def anchor_only(args: argparse.Namespace, workdir: Path, now: int) -> int:
    """``--anchor-only``: the anchor DIR figure alone, median (min-max) over the rounds."""
    machine = machine_info(workdir)
    log(f"anchor DIR on {args.files:,} small files, {args.anchor_rounds} rounds")
    anchor = measure_anchor_dir(args, workdir, now)
    rounds = anchor["anchor_rounds"]
    print(f"provenance-ledger anchor DIR, {machine['date']}, code {anchor['anchor_code']}, "
          f"{args.files:,} files, {args.anchor_rounds} rounds, load "
          f"{os.getloadavg()[0]:.2f}")
    ratio = anchor["anchor_dir_ratio"]
    print("\n".join(markdown_table([
        ("anchor_raw_files_per_s, median (min-max)", _spread(rounds["raw"]), "(reference)", ""),
        ("anchor_dir_files_per_s, median (min-max)", _spread(rounds["cli"]),
         f">= {TARGET_ANCHOR_RATIO} x raw", ""),
        ("anchor_dir_ratio, median (min-max)", _spread(rounds["ratio"], 3),
         f">= {TARGET_ANCHOR_RATIO}", "PASS" if ratio >= TARGET_ANCHOR_RATIO else "FAIL"),
        ("creating a file in the work folder, us, median (min-max)",
         _spread(rounds["create_us"]), "(conditions)", ""),
    ])))
    if args.json:
        print(json.dumps({"machine": machine, "figures": anchor}, indent=2))
    return 0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _num(v: float | None, digits: int = 0) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}"


def rows(res: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    f = res["figures"]
    b = res["baseline"]
    p = res["proofs"]
    n = res["params"]["entries"]
    m = b["size"]

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("PASS" if ok else "FAIL")

    def le(v: float | None, target: float) -> bool | None:
        return None if v is None else v <= target

    out = [
        ("ed25519_verify_per_s", _num(f["ed25519_verify_per_s"]), "(reference)", ""),
        (f"project_verify_per_s ({f['project_verify_backend']}, one thread)",
         _num(f["project_verify_per_s"]), "(reference)", ""),
        ("append_events_per_s", _num(f["append_events_per_s"]),
         f">= {TARGET_APPEND_RATIO} x verify, >= {TARGET_APPEND_EVENTS:,} idle",
         verdict(f["append_events_per_s"] >= TARGET_APPEND_EVENTS)),
        ("append_ratio_to_project_verify", _num(f["append_ratio_to_project_verify"], 3),
         "info", ""),
        ("append_ratio", _num(f["append_ratio"], 3), f">= {TARGET_APPEND_RATIO}",
         verdict(f["append_ratio"] >= TARGET_APPEND_RATIO)),
        (f"inclusion_proof_ms_median (size {n:,})", _num(f["inclusion_proof_ms_median"], 3),
         f"<= {TARGET_PROOF_MS:g}", verdict(le(f["inclusion_proof_ms_median"], TARGET_PROOF_MS))),
        (f"consistency_proof_ms_median (size {n:,})",
         _num(f["consistency_proof_ms_median"], 3), f"<= {TARGET_PROOF_MS:g}",
         verdict(le(f["consistency_proof_ms_median"], TARGET_PROOF_MS))),
        (f"peak_rss_mb (building {n:,})", _num(f["peak_rss_mb"], 1), f"<= {TARGET_RSS_MB:g}",
         verdict(f["peak_rss_mb"] <= TARGET_RSS_MB)),
        (f"fill_append_events_per_s (0 -> {n:,})", _num(f["fill_append_events_per_s"]),
         "info", ""),
        (f"anchor_raw_files_per_s ({res['params']['files']:,} files)",
         _num(f["anchor_raw_files_per_s"]), "(reference)", ""),
        (f"anchor_dir_files_per_s ({res['params']['files']:,} files)",
         _num(f["anchor_dir_files_per_s"]), f">= {TARGET_ANCHOR_RATIO} x raw", ""),
        ("anchor_dir_ratio", _num(f["anchor_dir_ratio"], 3), f">= {TARGET_ANCHOR_RATIO}",
         verdict(f["anchor_dir_ratio"] >= TARGET_ANCHOR_RATIO)),
        (f"baseline pymerkle inclusion_ms_median (size {m:,})",
         _num(p["pymerkle_inclusion"]["median_ms"], 3), "baseline", ""),
        (f"baseline pymerkle consistency_ms_median (size {m:,})",
         _num(p["pymerkle_consistency"]["median_ms"], 3), "baseline", ""),
    ]
    if "ledger_inclusion_at_baseline_size" in p:
        out += [
            (f"ledger inclusion_ms_median (size {m:,})",
             _num(p["ledger_inclusion_at_baseline_size"]["median_ms"], 3), "info", ""),
            (f"ledger consistency_ms_median (size {m:,})",
             _num(p["ledger_consistency_at_baseline_size"]["median_ms"], 3), "info", ""),
        ]
    return out


def markdown_table(body: Sequence[tuple[str, str, str, str]]) -> list[str]:
    """Rows of (figure, value, target, result) as an aligned Markdown table."""
    headers = ("figure", "value", "target", "result")
    widths = [max(len(r[i]) for r in [headers, *body]) for i in range(4)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in body:
        cells = [r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].ljust(widths[2]),
                 r[3].ljust(widths[3])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def table(res: dict[str, Any]) -> str:
    mach = res["machine"]
    par = res["params"]
    b = res["baseline"]
    p = res["proofs"]
    lines = [
        f"provenance-ledger benchmark, {mach['date']}",
        f"machine: nproc {mach['nproc']}, {mach['cpu']}, {mach['os']}",
        f"python {mach['python']}, cryptography {mach['cryptography']} ({mach['openssl']}), "
        f"sqlite {mach['sqlite']}, pymerkle {b['pymerkle']}",
        f"workdir: {mach['workdir']}, source: {mach['source']}",
        f"entries {par['entries']:,}, block {par['block']}, {par['rounds']} rounds of "
        f"{par['round_events']:,} appends + {par['round_events']:,} verifies, "
        f"{par['queries']:,} queries per kind, seed {par['seed']}",
        "",
    ]
    body = rows(res)
    lines += markdown_table(body)
    f = res["figures"]
    lines += [
        "",
        f"append: {f['append_us_per_event']:.1f} us/event vs verify "
        f"{f['verify_us_per_event']:.1f} us/event (append CPU, all threads: "
        f"{f['append_cpu_us_per_event']:.1f} us/event); per-round ratios "
        + ", ".join(f"{x:.2f}" for x in f["append_ratio_rounds"]),
        f"log build: {res['build']['seconds']:.0f} s ({res['build']['append_seconds']:.0f} s in "
        f"append_block, {res['build']['sign_wait_seconds']:.0f} s waiting for signatures)",
        f"baseline fill: {b['size']:,} leaves in {b['fill_seconds']:.1f} s"
        + (" (time cap reached)" if b["capped"] else ""),
        "queries timed: " + ", ".join(
            f"{k} {v['queries']:,}" for k, v in p.items() if isinstance(v, dict)),
        f"cross-check: {p['cross_check']}",
    ]
    return "\n".join(lines)


def stores_table(res: dict[str, Any]) -> str:
    """Every figure measured on both stores (``--store``), SQLite and PostgreSQL side by side:
    the append rounds' table, then the N-entry log's build and proofs."""
    f, n = res["figures"], res["params"]["entries"]
    lines = append_table(f).splitlines()
    for label, key, digits in (
            (f"inclusion_proof_ms_median (size {n:,})", "inclusion_proof_ms_median", 3),
            (f"consistency_proof_ms_median (size {n:,})", "consistency_proof_ms_median", 3),
            (f"peak_rss_mb (building {n:,}; the server's memory not included)",
             "peak_rss_mb", 1),
            (f"fill_append_events_per_s (0 -> {n:,})", "fill_append_events_per_s", 0)):
        lines.append(f"| {label} | {_num(f[key], digits)} | {_num(f.get('pg_' + key), digits)} |")
    lines.append(f"| anchor_dir_ratio (a local home) | {_num(f['anchor_dir_ratio'], 3)} | "
                 "n/a: PostgreSQL is a node's store |")
    return "\n".join(lines) + f"\n\nPostgreSQL cross-check: {res['proofs']['pg_cross_check']}"


# --- profile mode ----------------------------------------------------------------------------


def profile(args: argparse.Namespace, workdir: Path, now: int) -> None:
    """cProfile of append_block over ``args.profile`` pre-signed events, per event in us, and
    an uninstrumented breakdown of the main stages."""
    n = args.profile
    jobs = [(b"profile", s, min(args.block, n - s), now) for s in range(0, n, args.block)]
    with multiprocessing.get_context("spawn").Pool(max(1, args.sign_procs)) as pool:
        blocks = pool.map(sign_block, jobs)
    leaves = [x for b in blocks for x in b]
    keys = {k.public.text: Ed25519PublicKey.from_public_bytes(k.public.raw) for k in actor_keys()}

    def per_event(fn: Callable[[], object], count: int) -> float:
        gc.collect()
        t0 = perf()
        fn()
        return (perf() - t0) / count * 1e6

    # uninstrumented, fresh ledger: wall clock, CPU of the calling thread, CPU of all threads
    plain = open_ledger(workdir / "plain")
    commit = plain.store.commit_block
    in_commit = [0.0]

    def timed_commit(block: Any, ready: Callable[[], bool] | None = None) -> bool:
        t = perf()
        done = commit(block, ready)
        in_commit[0] += perf() - t
        return done

    plain.store.commit_block = timed_commit  # type: ignore[method-assign]
    gc.collect()
    c0, p0, t0 = time.thread_time(), time.process_time(), perf()
    for b in blocks:
        check_appended(plain.append_block(b, now))
    t_plain = (perf() - t0) / n * 1e6
    c_thread = (time.thread_time() - c0) / n * 1e6
    c_proc = (time.process_time() - p0) / n * 1e6
    # stages, outside the ledger
    events = [parse_leaf(x, verify=False) for x in leaves]
    msgs = [(keys[e.event.actor], e.signature, e.event.signing_message()) for e in events]
    hashes = [bytes.fromhex(e.id) for e in events]
    values = [json.loads(x) for x in leaves]
    frontier = merkle.Frontier()
    stages = {
        "append_block wall clock": t_plain,
        "append_block CPU, calling thread": c_thread,
        "append_block CPU, all threads": c_proc,
        "  of which store.commit_block (wall)": in_commit[0] / n * 1e6,
        "  raw Ed25519 verify (cryptography)": per_event(
            lambda: [k.verify(s, m) for k, s, m in msgs], n),
        "  parse_leaf(verify=True)": per_event(lambda: [parse_leaf(x) for x in leaves], n),
        "  parse_leaf(verify=False)": per_event(
            lambda: [parse_leaf(x, verify=False) for x in leaves], n),
        "    parse_canonical_json(leaf)": per_event(
            lambda: [parse_canonical_json(x, "event") for x in leaves], n),
        "    Event.from_envelope(...)": per_event(
            lambda: [Event.from_envelope(v["event"]) for v in values], n),
        "  rules.apply(None, event)": per_event(lambda: [rules.apply(None, e) for e in events], n),
        "  Frontier.append(leaf hash), n leaves": per_event(
            lambda: [frontier.append(h) for h in hashes], n),
    }
    close_ledger(plain)
    # instrumented, another fresh ledger
    prof_ledger = open_ledger(workdir / "profiled")
    prof = cProfile.Profile()
    prof.enable()
    for b in blocks:
        prof_ledger.append_block(b, now)
    prof.disable()
    close_ledger(prof_ledger)
    st = pstats.Stats(prof)
    entries = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        short = f"{Path(file).name}:{line}({func})" if line else func
        entries.append((tt / n * 1e6, ct / n * 1e6, nc / n, short))
    total_prof = sum(e[0] for e in entries)
    print(f"append_block profile: {n:,} pre-signed work.register events, blocks of "
          f"{args.block}, fresh ledger ({fs_type(workdir)})")
    print()
    print("uninstrumented, us per event (stages below 'raw verify' are timed on their own, "
          "outside the ledger):")
    for name, us in stages.items():
        print(f"  {name:<48} {us:8.1f}")
    print(f"  {'rest of the path (CPU all threads - raw verify)':<48} "
          f"{c_proc - stages['  raw Ed25519 verify (cryptography)']:8.1f}")
    print()
    print(f"cProfile of the calling thread only (work done in helper threads shows up as lock "
          f"waits); total {total_prof:.1f} us/event with profiler overhead. "
          f"Top {args.top} by own time:")
    print(f"  {'own us/ev':>9} {'cum us/ev':>9} {'calls/ev':>8}  function")
    for tt, ct, nc, name in sorted(entries, reverse=True)[: args.top]:
        print(f"  {tt:9.2f} {ct:9.2f} {nc:8.2f}  {name}")
    print()
    print(f"top {args.top} by cumulative time:")
    for tt, ct, nc, name in sorted(entries, key=lambda e: -e[1])[: args.top]:
        print(f"  {tt:9.2f} {ct:9.2f} {nc:8.2f}  {name}")


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--entries", type=int, default=DEFAULT_ENTRIES,
                   help="log size N for the proof queries and the memory figure")
    p.add_argument("--json", action="store_true", help="also print the results as JSON")
    p.add_argument("--out", type=Path, default=None,
                   help="keep the databases here and write results.json (default: a temporary "
                        "directory, deleted afterwards)")
    p.add_argument("--block", type=int, default=1000, help="events per append_block")
    p.add_argument("--rounds", type=int, default=9,
                   help="rounds of interleaved verify/append, each into a fresh ledger")
    p.add_argument("--round-events", type=int, default=5000,
                   help="events appended (and signatures verified) per round")
    p.add_argument("--queries", type=int, default=3000, help="proof queries per kind")
    p.add_argument("--baseline-fill-seconds", type=float, default=60.0,
                   help="time cap for filling the pymerkle baseline")
    p.add_argument("--baseline-query-seconds", type=float, default=180.0,
                   help="time cap for the baseline's queries (both kinds together)")
    p.add_argument("--sign-procs", type=int,
                   default=max(1, min(2, (os.cpu_count() or 2) - 1)),
                   help="signing processes feeding the log builder")
    p.add_argument("--files", type=int, default=10_000,
                   help="small files anchored by `provenance anchor DIR`")
    p.add_argument("--anchor-rounds", type=int, default=3,
                   help="rounds of raw rate vs anchor DIR, each into a fresh home")
    p.add_argument("--anchor-source", action="store_true",
                   help="run the CLI of anchor DIR without compiling the package to bytecode "
                        "first (with PYTHONDONTWRITEBYTECODE set, each run compiles it)")
    p.add_argument("--anchor-only", action="store_true",
                   help="measure only anchor DIR against its raw rate (--files, "
                        "--anchor-rounds) and print median (min-max)")
    p.add_argument("--store", default=None, metavar="URL",
                   help="also append each round into PostgreSQL: a server URL "
                        "(postgresql://...) whose role may create schemas")
    p.add_argument("--compare-openssl", action="store_true",
                   help="each append round again with every signature checked by OpenSSL")
    p.add_argument("--append-only", action="store_true",
                   help="measure only verify and append (with --store: both stores side by "
                        "side) and print that table")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--now", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--build-only", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--profile", type=int, nargs="?", const=20_000, default=None,
                   metavar="EVENTS",
                   help="instead of the benchmark, cProfile append_block over EVENTS events")
    p.add_argument("--top", type=int, default=25, help="rows of the --profile listing")
    args = p.parse_args(argv)
    if not 1 <= args.block <= MAX_BLOCK_EVENTS:
        p.error(f"--block must be 1 to {MAX_BLOCK_EVENTS}")
    if args.entries < 2:
        p.error("--entries must be at least 2")
    if args.store is not None and not args.store.startswith(("postgresql://", "postgres://")):
        p.error("--store must be a postgresql:// URL")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    now = args.now if args.now is not None else int(time.time())
    if args.build_only is not None:  # child process: build the log and nothing else
        print(json.dumps(build_log(args.build_only, args.entries, args.block, now,
                                   args.sign_procs, args.store)))
        return 0

    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory(prefix="provenance-bench-")
        workdir = Path(tmp.name)
    else:
        workdir = args.out.resolve()
        if (workdir / "log").exists() or (workdir / "append-0").exists():
            raise SystemExit(f"bench: {workdir} already holds a bench run; pick a new --out")
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.profile is not None:
            profile(args, workdir, now)
            return 0
        if args.anchor_only:
            return anchor_only(args, workdir, now)
        return run(args, workdir, now)
    finally:
        if tmp is not None:
            tmp.cleanup()


def run(args: argparse.Namespace, workdir: Path, now: int) -> int:
    t_run = perf()
    machine = machine_info(workdir)
    log(f"[1/5] verify and append, {args.rounds} interleaved rounds")
    append = measure_append(args, workdir, now)
    if args.append_only:
        from provenance_ledger.store.postgres import redact

        print(f"provenance-ledger append, {machine['date']}, source {machine['source']}, "
              f"{args.rounds} rounds of {args.round_events:,} events in blocks of "
              f"{args.block}, load {os.getloadavg()[0]:.2f}"
              + ("" if args.store is None else f", PostgreSQL {redact(args.store)}"))
        print(append_table(append))
        if args.json:
            print(json.dumps({"machine": machine, "figures": append}, indent=2))
        return 0

    log(f"[2/5] building a log of {args.entries:,} entries in a child process")
    build = run_builder(args, workdir / "log", now)
    pg_build = pg_ledger = None
    if args.store is not None:
        log(f"  the same {args.entries:,} entries into PostgreSQL, in another child process")
        pg_build = run_builder(args, workdir / "pglog", now, args.store)
        pg_ledger = Home(workdir / "pglog").open_ledger()

    ledger = open_ledger(workdir / "log")
    log(f"[3/5] filling the pymerkle baseline (cap {args.baseline_fill_seconds:g} s)")
    tree, baseline = fill_baseline(ledger, workdir / "pymerkle.db", args.entries,
                                   args.baseline_fill_seconds)

    log(f"[4/5] proof queries, {args.queries:,} per kind")
    proofs = measure_proofs(args, ledger, tree, baseline["size"], pg_ledger)
    tree.close()
    close_ledger(ledger)
    if pg_ledger is not None:
        close_ledger(pg_ledger)

    log(f"[5/5] anchor DIR on {args.files:,} small files, {args.anchor_rounds} rounds")
    anchor = measure_anchor_dir(args, workdir, now)

    figures = {
        **append,
        "inclusion_proof_ms_median": proofs["ledger_inclusion"]["median_ms"],
        "consistency_proof_ms_median": proofs["ledger_consistency"]["median_ms"],
        "peak_rss_mb": build["maxrss_kb"] / 1024,
        "fill_append_events_per_s": build["entries"] / build["append_seconds"],
        **anchor,
    }
    if pg_build is not None:
        figures |= {
            "pg_inclusion_proof_ms_median": proofs["pg_inclusion"]["median_ms"],
            "pg_consistency_proof_ms_median": proofs["pg_consistency"]["median_ms"],
            "pg_peak_rss_mb": pg_build["maxrss_kb"] / 1024,
            "pg_fill_append_events_per_s": pg_build["entries"] / pg_build["append_seconds"],
        }
    res: dict[str, Any] = {
        "machine": machine,
        "params": {k: getattr(args, k) for k in
                   ("entries", "files", "block", "rounds", "round_events", "queries",
                    "baseline_fill_seconds", "baseline_query_seconds", "sign_procs", "seed")},
        "figures": figures,
        "targets": {
            "append_ratio": f">= {TARGET_APPEND_RATIO}",
            "inclusion_proof_ms_median": f"<= {TARGET_PROOF_MS}",
            "consistency_proof_ms_median": f"<= {TARGET_PROOF_MS}",
            "peak_rss_mb": f"<= {TARGET_RSS_MB}",
            "anchor_dir_ratio": f">= {TARGET_ANCHOR_RATIO}",
        },
        "build": build,
        "baseline": baseline,
        "proofs": proofs,
    }
    res["results"] = {name: verdict for name, _v, _t, verdict in rows(res) if verdict}
    res["seconds"] = perf() - t_run
    text = table(res)
    if pg_build is not None:
        text += "\n\nSQLite and PostgreSQL side by side:\n\n" + stores_table(res)
    print(text + f"\n(run took {res['seconds']:.0f} s)")
    if args.json:
        print(json.dumps(res, indent=2))
    if args.out is not None:
        (workdir / "results.json").write_text(json.dumps(res, indent=2) + "\n")
        (workdir / "results.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
