#!/usr/bin/env python3
"""Figures at 10^9 entries, extrapolated from real logs of 10^5..10^7 (issue 15 section 4;
bench/README.md, "Figures at 10^9 entries").

    python bench/bench_scale.py [--sizes 100000,1000000,10000000] [--out DIR] [--json]
    python bench/bench_scale.py --quick          # sizes 2000,20000: a try-out in ~1 min

One log grows through the sizes in order (a log grown to n entries is exactly the log of n
entries): at each size a child process appends real signed events (bench/bench.py's
``work.register`` events, signed by a spawned pool, appended through the library's
``append_block`` in blocks of 1000 as bench/bench_node.py builds its 10^6 log), then the
database is copied aside (a *snapshot*, WAL checkpointed first) and measured:

* storage: the SQLite file's bytes per entry, split by table and index (``dbstat``);
  the C2SP tlog-tiles folder the node writes (``node/tiles.py TilesWriter.catch_up``, what
  ``node serve`` does on a log with ``tiles`` newly set), bytes per entry, hash tiles apart
  from entry bundles;
* proofs: inclusion proof bytes (32 x hashes) of random entries at the full size, consistency
  proof bytes between typical sizes (one block, one day, half the log apart), map proof bytes
  (specs/map.md) of random registered works and of absent ones, median and p99, all from the
  real store and verified;
* tiles per inclusion proof by C2SP arithmetic (``core/tiles.py inclusion_tiles``), cold and
  with the upper levels cached, each checked by building the proof from the real tiles folder;
* witness and mirror bandwidth: the checkpoint note's bytes, the consistency proof or the tiles
  a witness fetches per checkpoint at a given append rate and interval, the bytes a full mirror
  fetches per entry.

Then each figure is extrapolated to ``--target`` (10^9): proof sizes by a least-squares fit
against log2 n (and the exact formula where there is one, with both compared to the measured
points), storage linearly per entry, tiles and bandwidth by their formulas. Residuals of every
fit against the measured points are printed.

``--measure-only DIR`` measures the snapshots an earlier ``--out DIR`` run kept, without
building (e.g. after a change to the measurements). This file is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench as ledger_bench  # noqa: E402  bench/bench.py: events, signing pool
import bench_node  # noqa: E402  bench/bench_node.py: the builder's ledger
from provenance_ledger.core import merkle, vmap  # noqa: E402
from provenance_ledger.core import tiles as tlog  # noqa: E402
from provenance_ledger.core.note import NoteSigner  # noqa: E402
from provenance_ledger.core.witness import add_checkpoint_body  # noqa: E402
from provenance_ledger.ledger import Home, Ledger  # noqa: E402
from provenance_ledger.ledger.keys import read_private_key  # noqa: E402
from provenance_ledger.node.tiles import CHECKPOINT_FILE, TilesWriter  # noqa: E402
from provenance_ledger.store import SqliteStore  # noqa: E402

DEFAULT_SIZES = (100_000, 1_000_000, 10_000_000)
QUICK_SIZES = (2_000, 20_000)
TARGET = 10**9
BLOCK = 1000  # events per append_block, as bench_node.py builds its logs
SALT = b"scale"
BOUNDARIES = 50  # new sizes (the last block boundaries) a witness or block proof is taken at
BUILD_TIMEOUT_S = 6 * 3600.0

perf = time.perf_counter
log = ledger_bench.log


# --- building: one log grown through the sizes ------------------------------------------------


def extend_child(home: Path, n: int, now: int, procs: int, store: str | None = None
                 ) -> dict[str, Any]:
    """Child-process body: append events ``size .. n-1`` to the log in ``home`` (bench.py's
    build_log pipeline, from the log's current size), through the builder's ledger that does
    not re-verify the signatures its own pool made. ``store``: the PostgreSQL URL of a new
    home's log."""
    base = Home(home, store).open_ledger()
    ledger: Ledger = bench_node.SignedByUsLedger(base.store, base.signer)
    start = ledger.size
    if start > n:
        raise SystemExit(f"bench: {home} already holds {start} entries, more than {n}")
    grown = ledger_bench.grow(ledger, n, BLOCK, now, procs, SALT)
    ledger_bench.close_ledger(ledger)
    seconds = grown["seconds"]
    return {"from": start, "to": n, "seconds": seconds, "append_seconds": grown["append_seconds"],
            "sign_wait_seconds": grown["sign_wait_seconds"],
            "events_per_s": (n - start) / seconds if seconds else None,
            "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def extend(home: Path, n: int, now: int, procs: int, store: str | None = None
           ) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--extend-only", str(home),
           "--entries", str(n), "--now", str(now), "--sign-procs", str(procs)]
    if store is not None:
        cmd += ["--store-url", store]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise SystemExit(f"bench: extending the log in {home} to {n} failed "
                         f"(exit {proc.returncode})")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def checkpoint_wal(db: Path) -> None:
    """Fold the WAL into the database file (what a node's last connection does on close)."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def snapshot(home: Path, dest: Path, last: bool) -> None:
    """A copy of the home's database as it is at this size (the last size: a hard link, the
    log grows no more)."""
    dest.mkdir(parents=True, exist_ok=True)
    checkpoint_wal(home / "ledger.db")
    target = dest / "ledger.db"
    target.unlink(missing_ok=True)
    if last:
        os.link(home / "ledger.db", target)
    else:
        shutil.copyfile(home / "ledger.db", target)
    for name in os.listdir(home):  # the log key and the rest of the home, tiny
        src = home / name
        if src.is_file() and not name.startswith("ledger.db") and not (dest / name).exists():
            shutil.copy2(src, dest / name)


# --- measuring one snapshot --------------------------------------------------------------------

HASH = merkle.HASH_SIZE
DAY_S = 86_400


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    xs = sorted(values)
    return xs[max(0, math.ceil(q / 100 * len(xs)) - 1)]


def dist(values: Sequence[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values),
            "mean": statistics.fmean(values), "p99": pct(values, 99), "max": max(values)}


def work_of(i: int) -> str:
    """The work id of the builder's i-th event (bench.py ``make_event``)."""
    return "sha256:" + hashlib.sha256(b"%s:%d" % (SALT, i)).hexdigest()


def storage(db: Path, n: int) -> dict[str, Any]:
    """The database file (and WAL, after the checkpoint) per entry, split by table and index
    with the ``dbstat`` virtual table, with each B-tree's depth and fan-out."""
    wal = db.with_name(db.name + "-wal")
    file_bytes = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        page = int(conn.execute("PRAGMA page_size").fetchone()[0])
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        objects: dict[str, dict[str, Any]] = {}
        for name, pages, interior, payload, depth in conn.execute(
                "SELECT name, count(*), sum(pagetype = 'internal'), sum(payload), "
                "max(CASE WHEN pagetype != 'overflow' "
                "THEN length(path) - length(replace(path, '/', '')) END) "
                "FROM dbstat GROUP BY name"):
            leaves = pages - interior
            objects[name] = {"bytes": pages * page, "pages": pages, "interior_pages": interior,
                             "payload": payload, "depth": depth,
                             "fanout": (pages - 1) / interior if interior else None}
        leaf_bytes = int(conn.execute("SELECT sum(length(leaf)) FROM entries").fetchone()[0])
        del leaves
    finally:
        conn.close()
    return {"file_bytes": file_bytes, "page_size": page, "freelist_pages": free,
            "bytes_per_entry": file_bytes / n, "leaf_bytes_per_entry": leaf_bytes / n,
            "objects": objects}


def tiles_storage(folder: Path, store: SqliteStore, n: int) -> dict[str, Any]:
    """Write the log's C2SP tiles as a node does when ``tiles`` is set on a node that already
    has a log (``TilesWriter.catch_up``), then count the files of the tree of ``n``: the
    hash tiles and the entry bundles apart, apparent bytes and bytes allocated on disk."""
    t0 = perf()
    written = TilesWriter(folder, store).catch_up()
    seconds = perf() - t0
    out = {"hash_bytes": 0, "bundle_bytes": 0, "allocated_bytes": 0, "files": 0,
           "upper_bytes": 0, "upper2_bytes": 0}
    for tile in tlog.tree_tiles(n):
        st = (folder / tile.path).stat()
        if tile.level == tlog.ENTRIES:
            out["bundle_bytes"] += st.st_size
        else:
            if st.st_size != tile.width * HASH:
                raise SystemExit(f"bench: {tile.path} is {st.st_size} bytes, expected "
                                 f"{tile.width * HASH}")
            out["hash_bytes"] += st.st_size
            if tile.level >= 1 or not tile.full:
                out["upper_bytes"] += st.st_size
            if tile.level >= 2 or not tile.full:
                out["upper2_bytes"] += st.st_size
        out["allocated_bytes"] += st.st_blocks * 512
        out["files"] += 1
    checkpoint = (folder / CHECKPOINT_FILE).stat().st_size
    total = out["hash_bytes"] + out["bundle_bytes"] + checkpoint
    return {**out, "checkpoint_bytes": checkpoint, "bytes": total, "bytes_per_entry": total / n,
            "hash_bytes_per_entry": out["hash_bytes"] / n,
            "bundle_bytes_per_entry": out["bundle_bytes"] / n,
            "allocated_bytes_per_entry": out["allocated_bytes"] / n,
            "written": written, "write_seconds": seconds}


def tile_plan(index: int, n: int) -> dict[str, int]:
    """C2SP tlog-tiles arithmetic for one inclusion proof in the tree of ``n``: the hash tiles
    (and their bytes) a cold client fetches, and those left to fetch when it has cached the
    tiles of levels >= 1 (``warm``) or >= 2 (``warm2``) and the right edge's partial tiles of
    its checkpoint. The entry's bundle is one more fetch in each case."""
    tiles = tlog.inclusion_tiles(index, n)
    return {"cold": len(tiles), "cold_bytes": sum(t.width * HASH for t in tiles),
            "warm": sum(1 for t in tiles if t.level == 0 and t.full),
            "warm2": sum(1 for t in tiles if t.level <= 1 and t.full)}


def tiles_checked(folder: Path, ledger: Ledger, root: bytes, n: int, indices: Sequence[int]
                  ) -> dict[str, Any]:
    """Each inclusion proof built from the real tiles folder (the tiles the arithmetic names,
    the entry from its bundle), equal to the store's proof and verified against the root."""
    bundle_bytes = []
    for i in indices:
        tiles = tlog.inclusion_tiles(i, n)
        data = {t: (folder / t.path).read_bytes() for t in tiles}
        proof = tlog.inclusion_proof(i, n, data)
        btile, at = tlog.bundle_for_entry(i, n)
        raw = (folder / btile.path).read_bytes()
        leaf = tlog.parse_bundle(btile, raw)[at]
        merkle.verify_inclusion(i, n, merkle.leaf_hash(leaf), proof, root)
        if proof != ledger.inclusion_proof(i, n):
            raise SystemExit(f"bench: the tiles' proof of entry {i} differs from the store's")
        bundle_bytes.append(len(raw))
    plans = [tile_plan(i, n) for i in indices]
    return {"checked": len(indices),
            "fetches_cold": dist([p["cold"] + 1 for p in plans]),
            "fetches_cold_hash_only": dist([p["cold"] for p in plans]),
            "fetches_warm": dist([p["warm"] + 1 for p in plans]),
            "fetches_warm2": dist([p["warm2"] + 1 for p in plans]),
            "cold_hash_bytes": dist([p["cold_bytes"] for p in plans]),
            "bundle_bytes": dist(bundle_bytes)}


def consistency_pairs(n: int, rate: int, intervals: Sequence[int], rng: random.Random,
                      samples: int) -> dict[str, list[tuple[int, int]]]:
    """(old, new) sizes of the consistency proofs measured at ``n``: one block, and one
    witness interval at ``rate`` events/s, back from each of the last ``BOUNDARIES``
    block boundaries (the bit pattern of the sizes moves the proof's length); half the log
    back; a uniformly random old size."""
    news = [n - k * BLOCK for k in range(BOUNDARIES) if n - k * BLOCK > 0]
    out = {"block": [(new - BLOCK, new) for new in news if new > BLOCK]}
    for t in intervals:
        out[f"{t}s"] = [(new - rate * t, new) for new in news if new > rate * t]
    out["half"] = [(n // 2, n)]
    out["random"] = [(rng.randrange(1, n), n) for _ in range(samples)]
    return out


def measure(snap: Path, n: int, tiles_dir: Path | None, args: argparse.Namespace
            ) -> dict[str, Any]:
    rng = random.Random(args.seed * 1_000_003 + n)
    log(f"size {n:,}: storage")
    res: dict[str, Any] = {"entries": n, "storage": storage(snap / "ledger.db", n)}
    store = SqliteStore(snap / "ledger.db", readonly=True)
    try:
        origin = store.get_meta("origin")
        assert origin is not None
        ledger = Ledger(store, NoteSigner(origin, read_private_key(snap / "log.key", None)))
        cp, note = ledger.latest_checkpoint()
        if cp.size != n or cp.map_root is None:
            raise SystemExit(f"bench: {snap} holds a checkpoint of {cp.size}, expected {n}")
        res["note_bytes"] = len(note.encode())

        log(f"size {n:,}: inclusion and consistency proofs")
        indices = [rng.randrange(n) for _ in range(args.queries)]
        inc = []
        for i in indices:
            proof = ledger.inclusion_proof(i, n)
            merkle.verify_inclusion(i, n, merkle.leaf_hash(store.entry(i).leaf), proof, cp.root)
            inc.append(HASH * len(proof))
        res["inclusion_bytes"] = dist(inc)
        cons: dict[str, Any] = {}
        for kind, pairs in consistency_pairs(n, args.rate, args.intervals, rng,
                                             args.queries // 4).items():
            sizes = []
            for old, new in pairs:
                proof = ledger.consistency_proof(old, new)
                merkle.verify_consistency(old, new, proof, ledger.root(old), ledger.root(new))
                sizes.append(HASH * len(proof))
            cons[kind] = dist(sizes) if sizes else None
        res["consistency_bytes"] = cons

        log(f"size {n:,}: map proofs")
        present = [vmap.map_key(work_of(rng.randrange(n))) for _ in range(args.map_queries)]
        absent = [rng.randbytes(32) for _ in range(args.map_queries // 3)]
        got: dict[str, list[float]] = {"present": [], "absent": []}
        for kind, keys in (("present", present), ("absent", absent)):
            for k in keys:
                proof_bytes = vmap.prove(store, [k])
                value = vmap.verify_map_proof(cp.map_root, [k], proof_bytes)[k]
                if (value is None) != (kind == "absent"):
                    raise SystemExit(f"bench: the map proves a {kind} key otherwise")
                got[kind].append(len(proof_bytes))
        res["map_bytes"] = {k: dist(v) for k, v in got.items()}

        leaf_mean = res["storage"]["leaf_bytes_per_entry"]
        res["witness"] = witness_figures(ledger, note, n, args, leaf_mean, rng)

        if tiles_dir is not None:
            log(f"size {n:,}: tiles (writing the folder)")
            res["tiles_storage"] = tiles_storage(tiles_dir, store, n)
            res["tiles"] = tiles_checked(tiles_dir, ledger, cp.root, n,
                                         indices[:args.tile_queries])
            for key, level in (("warm", 1), ("warm2", 2)):  # the folder's files, and the sum
                upper = res["tiles_storage"][f"upper{'' if level == 1 else '2'}_bytes"]
                if upper != cache_bytes(n, level):
                    raise SystemExit(f"bench: the cache of levels >= {level} is {upper} bytes "
                                     f"in the folder, {cache_bytes(n, level)} by arithmetic")
                res["tiles"][f"cache_bytes_{key}"] = upper
            res["mirror_tiles"] = mirror_from_folder(tiles_dir, n, args)
    finally:
        store.close()
    return res


def witness_figures(ledger: Ledger | None, note: str, n: int,
                    args: argparse.Namespace, leaf_mean: float, rng: random.Random
                    ) -> dict[str, Any]:
    """Per witness interval T at ``--rate`` events/s: the C2SP tlog-witness add-checkpoint
    body (old size, consistency proof, checkpoint note) a witness receives, and what a
    witness or mirror reading tiles fetches instead (checkpoint + the hash tiles of the
    consistency proof); per day; and what a mirror following the tiles fetches per new entry
    (that, and the entry bundles from the one holding the first new entry on, at
    ``2 + leaf_mean`` bytes an entry). Averaged over new sizes at the last ``BOUNDARIES``
    block boundaries; with a ledger the proofs are the real ones (verified), without (the target
    size) their length by RFC 9162 arithmetic."""
    out: dict[str, Any] = {}
    for t in args.intervals:
        delta = args.rate * t
        if delta >= n:
            out[f"{t}s"] = None
            continue
        news = [n - k * BLOCK for k in range(BOUNDARIES) if n - k * BLOCK > delta]
        bodies, tiles_b, hashes, mirror_b = [], [], [], []
        for new in news:
            old = new - delta
            if ledger is not None:
                proof = ledger.consistency_proof(old, new)
                merkle.verify_consistency(old, new, proof, ledger.root(old), ledger.root(new))
                count = len(proof)
                body = len(add_checkpoint_body(old, proof, note))
            else:
                count = len(merkle.consistency_plan(old, new))
                body = len(add_checkpoint_body(old, [bytes(HASH)] * count, note))
            hashes.append(count)
            bodies.append(body)
            tiles_b.append(len(note.encode()) + sum(x.width * HASH
                                                   for x in tlog.consistency_tiles(old, new)))
            bundles = {tlog.bundle_for_entry(i, new)[0]
                       for i in [*range(old, new, tlog.TILE_WIDTH), new - 1]}
            mirror_b.append((tiles_b[-1] + sum(x.width * (2 + leaf_mean) for x in bundles))
                            / delta)
        per_day = DAY_S / t
        out[f"{t}s"] = {
            "events": delta, "proof_hashes": statistics.fmean(hashes),
            "push_bytes": statistics.fmean(bodies),
            "push_bytes_per_day": statistics.fmean(bodies) * per_day,
            "tiles_bytes": statistics.fmean(tiles_b),
            "tiles_bytes_per_day": statistics.fmean(tiles_b) * per_day,
            "tiles_fetches": statistics.fmean(
                [len(tlog.consistency_tiles(new - delta, new)) + 1 for new in news]),
            "mirror_bytes_per_entry": statistics.fmean(mirror_b),
        }
    return out


def mirror_from_folder(folder: Path, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """What a mirror following the tiles (node/mirror.py with ``[[peers]] tiles``) fetches to
    go from ``n - rate * T`` to ``n``: the checkpoint, the consistency proof's hash tiles and
    the entry bundles from the one holding its first new entry on (at their widths for n),
    counted from the real files; bytes per new entry. And a mirror starting from nothing:
    every bundle, per entry."""
    out: dict[str, Any] = {}
    checkpoint = (folder / CHECKPOINT_FILE).stat().st_size
    for t in args.intervals:
        old = n - args.rate * t
        if old <= 0:
            out[f"{t}s"] = None
            continue
        tiles = tlog.consistency_tiles(old, n)
        hash_b = sum((folder / x.path).stat().st_size for x in tiles)
        bundles = {tlog.bundle_for_entry(i, n)[0] for i in range(old, n, tlog.TILE_WIDTH)}
        bundles.add(tlog.bundle_for_entry(n - 1, n)[0])
        bundle_b = sum((folder / x.path).stat().st_size for x in bundles)
        total = checkpoint + hash_b + bundle_b
        out[f"{t}s"] = {"bytes": total, "bytes_per_entry": total / (n - old),
                        "fetches": 1 + len(tiles) + len(bundles)}
    all_bundles = sum((folder / x.path).stat().st_size for x in tlog.tree_tiles(n)
                      if x.level == tlog.ENTRIES)
    out["from_zero_bytes_per_entry"] = (all_bundles + checkpoint) / n
    return out


# --- extrapolation -----------------------------------------------------------------------------


def fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least squares y = a + b x."""
    if len(xs) < 2:
        return ys[0], 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return my - b * mx, b


def log_fit(ns: Sequence[int], ys: Sequence[float], target: int) -> dict[str, Any]:
    """y = a + b log2 n fitted on the measured points; its value at ``target`` and the
    residuals (measured - fitted) at each point."""
    xs = [math.log2(n) for n in ns]
    a, b = fit(xs, ys)
    return {"a": a, "b": b, "value": a + b * math.log2(target),
            "residuals": [y - (a + b * x) for x, y in zip(xs, ys, strict=True)]}


def linear_fit(ns: Sequence[int], totals: Sequence[float], target: int) -> dict[str, Any]:
    """total = a + b n fitted on the measured totals; per entry at ``target``; residuals as
    a fraction of each measured total."""
    a, b = fit([float(n) for n in ns], totals)
    return {"a": a, "b": b, "value": (a + b * target) / target,
            "residuals": [(t - (a + b * n)) / t for n, t in zip(ns, totals, strict=True)]}


def btree_depth(pages: float, fanout: float) -> int:
    """Levels of a B-tree of ``pages`` leaf pages whose interior pages hold ``fanout``
    children: 1 + ceil(log_fanout(pages))."""
    return 1 + (math.ceil(math.log(pages) / math.log(fanout)) if pages > 1 else 0)


def extrapolate(results: Sequence[dict[str, Any]], args: argparse.Namespace
                ) -> dict[str, Any]:
    T = args.target
    ns = [r["entries"] for r in results]
    rng = random.Random(args.seed)
    ex: dict[str, Any] = {"target": T}
    big = results[-1]

    def series(*path: str) -> tuple[list[int], list[float]]:
        """The measured points (size, figure) of the figure at ``path`` in each result."""
        pts = []
        for r in results:
            y: Any = r
            for key in path:
                y = y.get(key) if isinstance(y, dict) else None
            if y is not None:
                pts.append((int(r["entries"]), float(y)))
        return [n for n, _ in pts], [y for _, y in pts]

    # storage: linear per entry
    st: dict[str, Any] = {}
    st["file"] = linear_fit(ns, [r["storage"]["file_bytes"] for r in results], T)
    names = sorted(big["storage"]["objects"], key=lambda k: -big["storage"]["objects"][k]["bytes"])
    for name in names:
        xs, ys = series("storage", "objects", name, "bytes")
        st[name] = linear_fit(xs, ys, T)
        o = big["storage"]["objects"][name]
        leaf_pages = o["pages"] - o["interior_pages"]
        if o["fanout"] and leaf_pages > 1:
            st[name]["depth_measured"] = o["depth"]
            st[name]["depth_target"] = btree_depth(leaf_pages * T / big["entries"], o["fanout"])
    ex["storage"] = st
    ex["storage_total_bytes"] = st["file"]["value"] * T
    if "tiles_storage" in big:
        tiles: dict[str, Any] = {}
        for key in ("bytes", "hash_bytes", "bundle_bytes", "allocated_bytes"):
            xs, ys = series("tiles_storage", key)
            tiles[key] = linear_fit(xs, ys, T)
        ex["tiles_storage"] = tiles

    # proofs: fit against log2 n, and the exact arithmetic where there is one
    proofs: dict[str, Any] = {}
    idx = [rng.randrange(T) for _ in range(args.queries)]
    exact_inc = [HASH * len(merkle.inclusion_plan(i, T)) for i in idx]
    xs, ys = series("inclusion_bytes", "mean")
    proofs["inclusion_mean"] = {**log_fit(xs, ys, T), "exact": statistics.fmean(exact_inc),
                                "exact_range": [min(exact_inc), max(exact_inc)]}
    pairs = consistency_pairs(T, args.rate, args.intervals, rng, args.queries // 4)
    for kind in big["consistency_bytes"]:
        xs, ys = series("consistency_bytes", kind, "mean")
        if not xs:
            continue
        exact = [HASH * len(merkle.consistency_plan(o, new)) for o, new in pairs[kind]]
        proofs[f"consistency_{kind}"] = {**log_fit(xs, ys, T),
                                         "exact": statistics.fmean(exact) if exact else None}
    for kind in ("present", "absent"):
        for stat in ("mean", "median", "p99"):
            xs, ys = series("map_bytes", kind, stat)
            proofs[f"map_{kind}_{stat}"] = {**log_fit(xs, ys, T), "exact": None}
    ex["proofs"] = proofs

    # tiles per proof: the arithmetic at the target
    plans = [tile_plan(i, T) for i in idx[: args.tile_queries]]
    leaf_mean = big["storage"]["leaf_bytes_per_entry"]
    ex["tiles"] = {
        "fetches_cold": dist([p["cold"] + 1 for p in plans]),
        "fetches_cold_hash_only": dist([p["cold"] for p in plans]),
        "fetches_warm": dist([p["warm"] + 1 for p in plans]),
        "fetches_warm2": dist([p["warm2"] + 1 for p in plans]),
        "cold_hash_bytes": dist([p["cold_bytes"] for p in plans]),
        "bundle_bytes": tlog.TILE_WIDTH * (2 + leaf_mean),
        "cache_bytes_warm": cache_bytes(T, 1),
        "cache_bytes_warm2": cache_bytes(T, 2),
    }
    # witness and mirror: the arithmetic at the target with the measured note and leaf sizes
    note_target = "x" * (big["note_bytes"] + len(str(T)) - len(str(big["entries"])))
    ex["witness"] = witness_figures(None, note_target, T, args, leaf_mean, rng)
    ex["mirror_bytes_per_entry"] = (2 + leaf_mean)  # entry bundles: each entry once
    return ex


def cache_bytes(n: int, level: int) -> int:
    """Bytes of the hash tiles a client caches for the tree of ``n``: every tile of the
    levels >= ``level`` and the partial tiles of the levels below (specs/tiles.md section 2:
    level L holds ``n >> 8L`` hashes)."""
    total = 0
    for lv in range(tlog.MAX_TILE_LEVEL + 1):
        count = n >> (tlog.TILE_HEIGHT * lv)
        if not count:
            break
        total += HASH * (count if lv >= level else count % tlog.TILE_WIDTH)
    return total


# --- report ------------------------------------------------------------------------------------


def _n(v: float | None, digits: int = 0) -> str:
    return "n/a" if v is None else f"{v:,.{digits}f}"


def _size(n: int) -> str:
    e = round(math.log10(n))
    if 10**e == n:
        return f"10^{e}"
    m = n / 10 ** math.floor(math.log10(n))
    return f"{m:g}x10^{math.floor(math.log10(n))}" if m == int(m) else f"{n:,}"


def _bytes(v: float | None) -> str:
    if v is None:
        return "n/a"
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if v >= scale:
            return f"{v / scale:.1f} {unit}"
    return f"{v:.0f} B"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def main_objects(results: Sequence[dict[str, Any]], count: int = 7) -> list[str]:
    objs = results[-1]["storage"]["objects"]
    return sorted(objs, key=lambda k: -objs[k]["bytes"])[:count]


def measured_rows(results: Sequence[dict[str, Any]], args: argparse.Namespace
                  ) -> list[list[str]]:
    def row(name: str, get: Callable[..., str], *extra: str) -> list[str]:
        """The figure ``get(result, *extra)`` at each size; n/a where it was not measured."""
        cells = []
        for r in results:
            try:
                cells.append(get(r, *extra))
            except (KeyError, TypeError):
                cells.append("n/a")
        return [name, *cells]

    rows = [row("measured at (load average, 1 min)",
                lambda r: f"{r['measured_at'][11:]} ({r['load_average'][0]:.1f})"),
            row("build (events/s appended, this step)",
                lambda r: _n(r.get("build", {}).get("events_per_s"))),
            row("SQLite file, bytes/entry", lambda r: _n(r["storage"]["bytes_per_entry"])),
            row("  of which the signed events (leaf bytes)",
                lambda r: _n(r["storage"]["leaf_bytes_per_entry"]))]

    def obj(r: dict[str, Any], name: str) -> str:
        o = r["storage"]["objects"][name]
        return f"{o['bytes'] / r['entries']:,.1f} ({o['depth']})"

    for name in main_objects(results):
        rows.append(row(f"  `{name}`, bytes/entry (B-tree depth)",
                        obj, name))
    rows += [
        row("tiles folder, bytes/entry (hash tiles + bundles)",
            lambda r: f"{r['tiles_storage']['bytes_per_entry']:,.1f} "
                      f"({r['tiles_storage']['hash_bytes_per_entry']:,.1f} + "
                      f"{r['tiles_storage']['bundle_bytes_per_entry']:,.1f})"),
        row("  allocated on disk, bytes/entry",
            lambda r: _n(r["tiles_storage"]["allocated_bytes_per_entry"], 1)),
        row("inclusion proof, bytes mean (max)",
            lambda r: f"{r['inclusion_bytes']['mean']:,.1f} ({r['inclusion_bytes']['max']:,.0f})"),
    ]
    for kind in results[-1]["consistency_bytes"]:
        label = {"block": f"one block ({BLOCK}) back", "half": "half the log back",
                 "random": "random old size"}.get(kind, f"{kind} at {args.rate:,}/s back")
        rows.append(row(f"consistency proof, {label}, bytes mean",
                        lambda r, kind: _n(r["consistency_bytes"][kind]["mean"], 1), kind))
    for kind in ("present", "absent"):
        rows.append(row(f"map proof, {kind} work, bytes median / p99",
                        lambda r, kind: f"{r['map_bytes'][kind]['median']:,.0f} / "
                                        f"{r['map_bytes'][kind]['p99']:,.0f}", kind))
    for key, label in (("fetches_cold", "cold: hash tiles + bundle"),
                       ("fetches_warm2", "levels >= 2 cached"),
                       ("fetches_warm", "levels >= 1 cached")):
        rows.append(row(f"tiles per inclusion proof, {label}, median (max)",
                        lambda r, key: f"{r['tiles'][key]['median']:g} "
                                       f"({r['tiles'][key]['max']:g})", key))
    rows += [
        row("  cold proof's hash tiles, bytes median",
            lambda r: _n(r["tiles"]["cold_hash_bytes"]["median"])),
        row("  entry bundle, bytes median", lambda r: _n(r["tiles"]["bundle_bytes"]["median"])),
        row("  client cache, levels >= 2 / >= 1",
            lambda r: f"{_bytes(r['tiles']['cache_bytes_warm2'])} / "
                      f"{_bytes(r['tiles']['cache_bytes_warm'])}"),
        row("checkpoint note, bytes", lambda r: _n(r["note_bytes"])),
    ]
    for t in args.intervals:
        key = f"{t}s"
        rows.append(row(f"witness every {t} s ({args.rate * t:,} new): add-checkpoint bytes "
                        "(per day)",
                        lambda r, key: f"{r['witness'][key]['push_bytes']:,.0f} "
                                       f"({_bytes(r['witness'][key]['push_bytes_per_day'])})",
                        key))
        rows.append(row("  from tiles: checkpoint + proof tiles, bytes (per day)",
                        lambda r, key: f"{r['witness'][key]['tiles_bytes']:,.0f} "
                                       f"({_bytes(r['witness'][key]['tiles_bytes_per_day'])})",
                        key))
        rows.append(row(f"  mirror from tiles every {t} s, bytes/new entry",
                        lambda r, key: _n(r["mirror_tiles"][key]["bytes_per_entry"], 1), key))
    rows.append(row("full mirror from tiles, bytes/entry",
                    lambda r: _n(r["mirror_tiles"]["from_zero_bytes_per_entry"], 1)))
    return rows


def extrapolated_rows(results: Sequence[dict[str, Any]], ex: dict[str, Any],
                      args: argparse.Namespace) -> list[list[str]]:
    def res_pct(f: dict[str, Any]) -> str:
        return "max " + f"{max(abs(x) for x in f['residuals']) * 100:.2f} %"

    def res_b(f: dict[str, Any]) -> str:
        return ", ".join(f"{x:+.1f}" for x in f["residuals"]) + " B"

    st = ex["storage"]
    rows = [["SQLite file, bytes/entry", _n(st["file"]["value"], 1),
             "linear fit of the file's bytes on n", res_pct(st["file"])],
            ["  SQLite file, total", _bytes(ex["storage_total_bytes"]), "", ""]]
    for name in main_objects(results):
        f = st[name]
        depth = (f" (B-tree depth {f['depth_measured']} -> {f['depth_target']})"
                 if "depth_target" in f else "")
        rows.append([f"  `{name}`, bytes/entry", _n(f["value"], 1),
                     f"linear{depth}", res_pct(f)])
    if "tiles_storage" in ex:
        ts = ex["tiles_storage"]
        rows.append(["tiles folder, bytes/entry (hash tiles + bundles)",
                     f"{ts['bytes']['value']:,.1f} ({ts['hash_bytes']['value']:,.1f} + "
                     f"{ts['bundle_bytes']['value']:,.1f})", "linear", res_pct(ts["bytes"])])
        rows.append(["  tiles folder, total (allocated)",
                     f"{_bytes(ts['bytes']['value'] * ex['target'])} "
                     f"({_bytes(ts['allocated_bytes']['value'] * ex['target'])})", "", ""])
    pr = ex["proofs"]
    for key, f in pr.items():
        label = key.replace("_", " ")
        exact = "" if f["exact"] is None else f"; RFC 9162 arithmetic: {f['exact']:,.1f}"
        if "exact_range" in f:
            exact += f" ({f['exact_range'][0]:,}..{f['exact_range'][1]:,})"
        rows.append([f"{label} proof, bytes" if not key.startswith("map") else
                     f"{label}, bytes", _n(f["value"], 1),
                     f"fit {f['a']:.1f} + {f['b']:.2f} log2 n{exact}", res_b(f)])
    t = ex["tiles"]
    for key, label in (("fetches_cold", "cold: hash tiles + bundle"),
                       ("fetches_warm2", "levels >= 2 cached"),
                       ("fetches_warm", "levels >= 1 cached")):
        rows.append([f"tiles per inclusion proof, {label}, median (max)",
                     f"{t[key]['median']:g} ({t[key]['max']:g})", "tlog-tiles arithmetic", "="])
    rows += [["  cold proof's hash tiles, bytes median", _n(t["cold_hash_bytes"]["median"]),
              "arithmetic", "="],
             ["  entry bundle, bytes", _n(t["bundle_bytes"]), "256 x (2 + mean leaf)", ""],
             ["  client cache, levels >= 2 / >= 1",
              f"{_bytes(t['cache_bytes_warm2'])} / {_bytes(t['cache_bytes_warm'])}",
              "arithmetic", "="]]
    for iv in args.intervals:
        w = ex["witness"].get(f"{iv}s")
        if w is None:
            continue
        rows.append([f"witness every {iv} s: add-checkpoint bytes (per day)",
                     f"{w['push_bytes']:,.0f} ({_bytes(w['push_bytes_per_day'])})",
                     f"arithmetic, {w['proof_hashes']:.1f} hashes", ""])
        rows.append(["  from tiles: checkpoint + proof tiles, bytes (per day)",
                     f"{w['tiles_bytes']:,.0f} ({_bytes(w['tiles_bytes_per_day'])})",
                     f"arithmetic, {w['tiles_fetches']:.1f} fetches", ""])
        rows.append([f"  mirror from tiles every {iv} s, bytes/new entry",
                     _n(w["mirror_bytes_per_entry"], 1), "arithmetic, mean leaf", ""])
    rows.append(["full mirror from tiles, bytes/entry", _n(ex["mirror_bytes_per_entry"], 1),
                 "2 + mean leaf (bundles; tree recomputed)", ""])
    return rows


def report(results: Sequence[dict[str, Any]], ex: dict[str, Any], args: argparse.Namespace
           ) -> str:
    head = ["figure", *(_size(r["entries"]) for r in results)]
    lines = ["Measured (SQLite store, real signed events; tiles written by the node's writer):",
             "", *_table(head, measured_rows(results, args)), "",
             f"Extrapolated to {_size(ex['target'])} entries (residual = measured - fitted at "
             f"{', '.join(_size(r['entries']) for r in results)}):", "",
             *_table(["figure", f"at {_size(ex['target'])}", "method", "residuals"],
                     extrapolated_rows(results, ex, args))]
    return "\n".join(lines)


# --- driver ----------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(x.replace("_", "")) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError("must be whole numbers separated by commas") from None
    if not sizes or sizes[0] < 2 * BLOCK:
        raise argparse.ArgumentTypeError(f"each size must be at least {2 * BLOCK}")
    return sizes


def parse_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("must be whole numbers separated by commas") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("must be at least 1 each")
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--sizes", type=parse_sizes, default=None,
                   help="log sizes to measure, comma-separated, the log growing through them "
                        f"(default {','.join(map(str, DEFAULT_SIZES))}; with --measure-only: "
                        "every snapshot in --out)")
    p.add_argument("--quick", action="store_true",
                   help=f"try it out: --sizes {','.join(map(str, QUICK_SIZES))} and fewer "
                        "queries")
    p.add_argument("--target", type=int, default=TARGET, help="size to extrapolate to")
    p.add_argument("--rate", type=int, default=1000,
                   help="append rate (events/s) of the witness and mirror figures")
    p.add_argument("--intervals", type=parse_list, default=[10, 60],
                   help="witness/mirror update intervals in seconds, comma-separated")
    p.add_argument("--queries", type=int, default=2000,
                   help="random inclusion proofs per size (a quarter as many random "
                        "consistency proofs)")
    p.add_argument("--map-queries", type=int, default=1000,
                   help="map proofs of registered works per size (a third as many absent)")
    p.add_argument("--tile-queries", type=int, default=300,
                   help="inclusion proofs built from the real tiles folder per size")
    p.add_argument("--no-tiles", action="store_true", help="do not write or measure tiles")
    p.add_argument("--json", action="store_true", help="also print the results as JSON")
    p.add_argument("--out", type=Path, default=None,
                   help="keep the home, snapshots, tiles and results here (default: a "
                        "temporary directory, deleted afterwards)")
    p.add_argument("--measure-only", action="store_true",
                   help="measure the snapshots already in --out, build nothing")
    p.add_argument("--keep-measured", action="store_true",
                   help="with --measure-only: take the figures of a snapshot measured before "
                        "(its results.json) rather than measuring it again")
    p.add_argument("--build-only", action="store_true",
                   help="build and snapshot the sizes in --out, measure nothing")
    p.add_argument("--sign-procs", type=int,
                   default=max(1, min(2, (os.cpu_count() or 2) - 1)),
                   help="signing processes feeding the builder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--now", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--entries", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--extend-only", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--store-url", default=None, help=argparse.SUPPRESS)
    p.add_argument("--store", default=None, metavar="URL",
                   help="instead: grow a log in a new schema on this PostgreSQL server "
                        "through --sizes and measure its storage at each (the proofs, tiles "
                        "and bandwidth do not depend on the store)")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = list(QUICK_SIZES)
        args.queries, args.map_queries, args.tile_queries = 200, 100, 50
    if args.store is not None and (args.measure_only or args.build_only):
        p.error("--store builds and measures in one go: no --measure-only or --build-only")
    if (args.measure_only or args.build_only) and args.out is None:
        p.error("--measure-only and --build-only need --out DIR")
    if args.measure_only and args.build_only:
        p.error("give --measure-only or --build-only, not both")
    if args.sizes is None and not args.measure_only:
        args.sizes = list(DEFAULT_SIZES)
    if args.sizes is not None and args.target <= max(args.sizes):
        p.error("--target must be above the largest of --sizes")
    for name in ("queries", "map_queries", "tile_queries", "rate", "sign_procs"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def build_all(args: argparse.Namespace, workdir: Path) -> None:
    params_path = workdir / "params.json"
    if params_path.exists():
        params = json.loads(params_path.read_text())
    else:
        params = {"now": args.now if args.now is not None else int(time.time()),
                  "salt": SALT.decode(), "block": BLOCK}
        params_path.write_text(json.dumps(params) + "\n")
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    for i, n in enumerate(args.sizes):
        snap = workdir / f"snap-{n}"
        if (snap / "build.json").exists():
            log(f"size {n:,}: snapshot already in {snap}")
            continue
        log(f"size {n:,}: building")
        db = home / "ledger.db"
        if db.exists() and db.stat().st_nlink > 1:  # the last snapshot of an earlier run
            shutil.copyfile(db, home / "ledger.db.copy")  # keeps its own file
            os.replace(home / "ledger.db.copy", db)
        build = extend(home, n, params["now"], args.sign_procs)
        log(f"  {build['to'] - build['from']:,} events in {build['seconds']:.0f} s "
            f"({build['events_per_s']:,.0f}/s)")
        snapshot(home, snap, last=i == len(args.sizes) - 1)
        (snap / "build.json").write_text(json.dumps(build) + "\n")


def snapshots(args: argparse.Namespace, workdir: Path) -> list[tuple[int, Path]]:
    found = sorted((int(d.name[len("snap-"):]), d) for d in workdir.glob("snap-*")
                   if (d / "build.json").exists())
    if args.sizes is not None:
        found = [(n, d) for n, d in found if n in args.sizes]
    if not found:
        raise SystemExit(f"bench: no snapshot to measure in {workdir}")
    if args.target <= found[-1][0]:
        raise SystemExit("bench: --target must be above the largest size measured")
    return found


def run(args: argparse.Namespace, workdir: Path) -> int:
    t_run = perf()
    if not args.measure_only:
        build_all(args, workdir)
    if args.build_only:
        return 0
    tiles_dir = None if args.no_tiles else workdir / "tiles"
    results = []
    for n, snap in snapshots(args, workdir):
        kept = snap / "results.json"
        if args.measure_only and args.keep_measured and kept.exists():
            log(f"size {n:,}: measured before, {kept}")
            results.append(json.loads(kept.read_text()))
            continue
        r = measure(snap, n, tiles_dir, args)
        r["build"] = json.loads((snap / "build.json").read_text())
        r["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        r["load_average"] = os.getloadavg()
        kept.write_text(json.dumps(r, indent=2) + "\n")
        results.append(r)
    ex = extrapolate(results, args)
    machine = ledger_bench.machine_info(workdir)
    text = report(results, ex, args) + f"\n\n(measuring took {perf() - t_run:.0f} s)"
    print(text)
    res = {"machine": machine, "source": ledger_bench.source_state(),
           "params": {k: getattr(args, k) for k in ("target", "rate", "intervals", "queries",
                                                     "map_queries", "tile_queries", "seed")},
           "block": BLOCK, "measured": results, "extrapolated": ex}
    if args.json:
        print(json.dumps(res, indent=2))
    (workdir / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    (workdir / "results.md").write_text(text + "\n")
    return 0


def pg_storage(url: str, n: int) -> dict[str, Any]:
    """The schema's tables (heap, TOAST, free-space and visibility maps) and indexes, bytes per
    entry (``pg_table_size``, ``pg_relation_size`` of each index, all forks)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        rows = conn.execute(
            "SELECT c.relname, c.relkind, CASE c.relkind WHEN 'r' THEN pg_table_size(c.oid) "
            "ELSE pg_total_relation_size(c.oid) END FROM pg_class c "
            "JOIN pg_namespace s ON s.oid = c.relnamespace "
            "WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'i')").fetchall()
    objects: dict[str, dict[str, Any]] = {
        str(name): {"bytes": int(size), "kind": "table" if kind == "r" else "index"}
        for name, kind, size in rows}
    total = sum(o["bytes"] for o in objects.values())
    return {"entries": n, "bytes": total, "bytes_per_entry": total / n, "objects": objects}


def run_pg(args: argparse.Namespace, workdir: Path) -> int:
    """--store: one log in a new schema, grown through the sizes; its storage at each."""
    now = args.now if args.now is not None else int(time.time())
    url = ledger_bench.new_schema(args.store)
    home = workdir / "pg-home"
    results: list[dict[str, Any]] = []
    for n in args.sizes:
        log(f"size {n:,}: building in PostgreSQL")
        build = extend(home, n, now, args.sign_procs, None if results else url)
        log(f"  {build['to'] - build['from']:,} events in {build['seconds']:.0f} s "
            f"({build['events_per_s']:,.0f}/s)")
        r = pg_storage(url, n)
        r["build"] = build
        results.append(r)
    ns = [r["entries"] for r in results]
    names = sorted(results[-1]["objects"], key=lambda k: -results[-1]["objects"][k]["bytes"])
    head = ["PostgreSQL, bytes/entry", *(_size(n) for n in ns), f"at {_size(args.target)}",
            "residuals"]
    rows = []
    for name in [None, *names]:
        totals = [float(r["bytes"] if name is None else r["objects"][name]["bytes"])
                  for r in results]
        if name is not None and totals[-1] < 0.001 * results[-1]["bytes"]:
            continue
        f = linear_fit(ns, totals, args.target)
        rows.append(["all tables and indexes" if name is None else f"  `{name}`",
                     *(f"{t / n:,.1f}" for t, n in zip(totals, ns, strict=True)),
                     f"{f['value']:,.1f}",
                     "max " + f"{max(abs(x) for x in f['residuals']) * 100:.2f} %"])
    rows.append(["build (events/s appended, this step)",
                 *(_n(r["build"]["events_per_s"]) for r in results), "", ""])
    text = "\n".join(_table(head, rows))
    print(text)
    res = {"store": "postgresql", "server_version": pg_version(args.store),
           "measured": results}
    if args.json:
        print(json.dumps(res, indent=2))
    (workdir / "results-postgresql.json").write_text(json.dumps(res, indent=2) + "\n")
    (workdir / "results-postgresql.md").write_text(text + "\n")
    return 0


def pg_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.extend_only is not None:  # child: grow the log, nothing else
        print(json.dumps(extend_child(args.extend_only, args.entries, args.now,
                                      args.sign_procs, args.store_url)))
        return 0
    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory(prefix="provenance-bench-scale-")
        workdir = Path(tmp.name)
    else:
        workdir = args.out.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        return run(args, workdir) if args.store is None else run_pg(args, workdir)
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
