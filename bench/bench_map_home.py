#!/usr/bin/env python3
"""Benchmark of the verifiable map in a real ledger home (SQLite), at the size of that home.

    python bench/bench_map_home.py --home DIR [--queries 2000] [--multi 10000] [--blocks 20]
                                   [--migrate] [--without-map] [--write-map-every K]

``DIR`` is an existing home (a node's, or one made with ``python bench/bench.py --entries N
--out DIR``); it is copied to a temporary folder first and never changed. On the copy:

1. **Upgrade.** The copy is made what the release before the map left (schema 3: no
   ``map_nodes``, no ``map_size``) and opened in a child process, which builds the map from the
   entries as a user's first command does: seconds and the child's peak RSS. With
   ``--migrate`` the copy keeps its map instead, and the child only migrates the schema (a
   schema 4 home's map rows are rekeyed by tile, specs/storage.md section 2.1).
2. **Proofs.** For random registered works: the map proof alone (``vmap.prove`` over the
   store) and the whole state receipt v2 (``Ledger.complete_state_receipt``: checkpoint, map
   proof, every event with its inclusion proof, read in one snapshot and checked against the
   map): median and p99 in ms; the map proof's size in bytes (min, median, p99, max). Verifying
   a decision receipt made of it offline (``verify_decision_receipt``: the log's signature on
   the checkpoint, the map proof, each event's signature and inclusion proof, the replay and
   the decision), in ms.
3. **Multiproof.** One map proof for ``--multi`` random works against single proofs of the same
   works: bytes per work.
4. **Append at this size.** ``--blocks`` blocks of 1000 new works appended to the upgraded copy,
   with the map kept: events per second, against single-thread Ed25519 verifies of the same
   events measured in the same run (the ratio ``bench.py`` reports on a fresh ledger), and the
   database pages each block's commit wrote (the frames in the WAL after the commit: the WAL
   restarts at each block when its checkpoint has completed; read from the WAL file, so that
   no checkpoint is run by the benchmark). The same number of blocks again back to back: events
   per second over them (every checkpoint included, also where the store runs it on a thread
   of its own), against the median verify rate.
5. **What the map costs at this size** (``--without-map``). A second copy of the home, made
   after step 3, is appended to with map maintenance switched off (a measurement only: its
   checkpoints then carry no map line, so the copy is thrown away). Blocks go to the two copies
   in turn, each against its own verify round, so that both see the same host: the ratio
   without the map, and the map's share of a block's time, ``1 - with / without``.

Figures are medians over the queries (and the blocks); the machine's load is printed.
6. **Writing the map less often** (``--write-map-every K``, an experiment). A copy whose
   writer keeps the map nodes of its last K blocks in memory (its reads see them) and writes
   them at once every K blocks, in a transaction of their own (the upper levels once), against
   a copy written as the store does, K blocks back to back on each in turn, every write in the
   time; at the end the written map's root must equal the signed one.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import TARGET_APPEND_RATIO, sign_leaves, verify_chunk, verify_items
from provenance_ledger.core import vmap
from provenance_ledger.core.current import DecisionReceipt, Question, verify_decision_receipt
from provenance_ledger.ledger import Home
from provenance_ledger.store.base import Block

perf = time.perf_counter
TARGET_PROOF_MS = 1.0
TARGET_PROOF_BYTES = 1536
TARGET_VERIFY_MS = 5.0
KEY = "ed25519:" + "ab" * 32  # the key a decision receipt asks about


def as_schema_3(db: Path) -> None:
    """Drop the map, as a home made before it was."""
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE IF EXISTS map_nodes")
        conn.execute("DELETE FROM meta WHERE key = 'map_size'")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0003_map'")


def _upgrade_child(home: str, out: Any) -> None:
    t = perf()
    steps = []
    ledger = Home(Path(home)).open_ledger(progress=lambda s, d, n: steps.append(d))
    seconds = perf() - t
    size = ledger.size
    ledger.close()
    out.put((seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, size,
             len(steps)))


def upgrade(home: Path) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_upgrade_child, args=(str(home), q))
    p.start()
    seconds, rss, size, steps = q.get()
    p.join()
    return {"upgrade_seconds": seconds, "upgrade_peak_rss_mb": rss, "entries": size,
            "upgrade_steps": steps}


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def proofs(home: Path, queries: int, multi: int, seed: int) -> dict[str, Any]:
    ledger = Home(home).open_ledger()
    store = ledger.store
    rng = random.Random(seed)
    size = ledger.size
    works: list[str] = []
    while len(works) < max(queries, multi):
        works.append(store.entry(rng.randrange(size)).work)
    works = list(dict.fromkeys(works))
    cp, _ = ledger.latest_checkpoint()
    assert cp.map_root is not None
    full_ms, map_ms, verify_ms, sizes = [], [], [], []
    for w in works[:queries]:
        key = vmap.map_key(w)
        t = perf()
        proof = vmap.prove(store, [key])
        map_ms.append((perf() - t) * 1e3)
        sizes.append(len(proof))
        t = perf()
        receipt = ledger.complete_state_receipt([w])
        full_ms.append((perf() - t) * 1e3)
        assert receipt is not None
        decision = DecisionReceipt(Question(KEY, "ai_training", cp.block.time if cp.block
                                            else 0), receipt)
        parsed = DecisionReceipt.from_json(json.loads(json.dumps(decision.to_json())))
        t = perf()
        verified = verify_decision_receipt(parsed, [ledger.verifier])
        verify_ms.append((perf() - t) * 1e3)
        assert verified.work.registered
    keys = [vmap.map_key(w) for w in works[:multi]]
    t = perf()
    together = vmap.prove(store, keys)
    multi_s = perf() - t
    single = sum(len(vmap.prove(store, [k])) for k in keys)
    ledger.close()
    return {
        "proof_ms_median": statistics.median(map_ms), "proof_ms_p99": pct(map_ms, 0.99),
        "current_ms_median": statistics.median(full_ms), "current_ms_p99": pct(full_ms, 0.99),
        "verify_ms_median": statistics.median(verify_ms), "verify_ms_p99": pct(verify_ms, 0.99),
        "proof_bytes": {"min": min(sizes), "median": statistics.median(sizes),
                        "p99": pct(sizes, 0.99), "max": max(sizes)},
        "multiproof_keys": len(keys), "multiproof_bytes_per_key": len(together) / len(keys),
        "single_bytes_per_key": single / len(keys), "multiproof_seconds": multi_s,
    }


def append(home: Path, blocks: int) -> dict[str, Any]:
    ledger = Home(home).open_ledger()
    settle = getattr(ledger.store, "settle", lambda: None)  # a SQLite store's WAL checkpoint
    now = int(time.time())
    rates, verifies, ratios, pages = [], [], [], []
    items = verify_items(1000, now)
    verify_chunk(items)
    for b in range(blocks):
        leaves = sign_leaves(b"map-home-%d" % b, 1000, now)
        settle()  # the last block's checkpoint, if it runs on a thread, is not timed below
        v = len(items) / verify_chunk(items)
        t = perf()
        results = ledger.append_block(leaves, now)
        a = len(leaves) / (perf() - t)
        assert all(not isinstance(r, Exception) for r in results)
        pages.append(_wal_frames(ledger))
        rates.append(a)
        verifies.append(v)
        ratios.append(a / v)
    # The same number of blocks back to back: each one's checkpoint, wherever it runs, is in
    # the time (the last one's too).
    stream = [sign_leaves(b"map-home-stream-%d" % b, 1000, now) for b in range(blocks)]
    settle()
    t = perf()
    for leaves in stream:
        ledger.append_block(leaves, now)
    settle()
    stream_rate = sum(map(len, stream)) / (perf() - t)
    ledger.close()
    return {"append_events_per_s": statistics.median(rates),
            "verify_per_s": statistics.median(verifies),
            "append_ratio_at_size": statistics.median(ratios),
            "append_ratio_spread": [min(ratios), max(ratios)],
            "append_stream_ratio": stream_rate / statistics.median(verifies),
            "append_pages_per_block": statistics.median(pages) if pages else 0}


def without_map(ledger: Any) -> Any:
    """``ledger`` with map maintenance switched off, for measurement only: a block then writes
    no map nodes and its checkpoint no map line (specs/map.md section 8), and the map is
    never brought up to date. The home is a throwaway copy."""
    ledger._update_map = lambda block, heads, size: None
    ledger.build_map = lambda progress=None: False
    return ledger


def written_every(ledger: Any, every: int) -> Any:
    """``ledger`` whose map nodes are written every ``every`` blocks instead of in each
    block's transaction (step 6 of the module doc; an experiment, for measurement only): the
    nodes of the blocks since are kept in memory, and the store's reads see them first."""
    store = ledger.store
    commit, nodes_of = store.commit_block, store.map_nodes
    pending: dict[int, bytes] = {}
    done = {"size": store.map_size(), "blocks": 0}

    def map_nodes(positions: Any) -> dict[int, bytes]:
        asked = list(positions)
        out = {p: pending[p] for p in asked if p in pending}
        out.update(nodes_of([p for p in asked if p not in pending]))
        return out

    def flush(size: int) -> None:
        commit(Block(map_nodes=dict(pending), map_size=size, map_start=done["size"]))
        done["size"] = size
        pending.clear()

    def commit_block(block: Any, ready: Any = None) -> bool:
        if not block.entries:
            return bool(commit(block, ready))
        nodes, size = block.map_nodes, block.map_size
        block.map_nodes, block.map_size = {}, None
        try:
            ok = bool(commit(block, ready))
        finally:
            block.map_nodes, block.map_size = nodes, size
        if ok:
            pending.update(nodes)
            done["blocks"] += 1
            if done["blocks"] % every == 0:
                flush(size)
        return ok

    store.map_nodes, store.commit_block = map_nodes, commit_block
    ledger.build_map = lambda progress=None: False
    ledger.flush_map = lambda: flush(ledger.size) if pending else None
    return ledger


def map_writes(as_is: Path, deferred: Path, blocks: int, every: int) -> dict[str, Any]:
    """Step 6: ``every`` blocks back to back on each copy in turn, for ``blocks`` blocks."""
    ledgers = {"as_is": Home(as_is).open_ledger(),
               "every": written_every(Home(deferred).open_ledger(), every)}
    now = int(time.time())
    items = verify_items(1000, now)
    verify_chunk(items)
    ratios: dict[str, list[float]] = {"as_is": [], "every": []}
    for r in range(max(1, blocks // every)):
        for name, ledger in ledgers.items():
            stream = [sign_leaves(b"map-writes-%d-%d" % (r, b), 1000, now) for b in range(every)]
            getattr(ledger.store, "settle", lambda: None)()
            v = len(items) / verify_chunk(items)
            t = perf()
            for leaves in stream:
                assert all(not isinstance(x, Exception) for x in ledger.append_block(leaves, now))
            getattr(ledger.store, "settle", lambda: None)()
            ratios[name].append(every * 1000 / (perf() - t) / v)
    ledgers["every"].flush_map()
    for ledger in ledgers.values():
        ledger.close()
    check = Home(deferred).open_ledger()
    root_ok = vmap.stored_hash(check.store.map_nodes([1]).get(1)) == check._signed_map_root()
    check.close()
    return {"writes_every": every,
            "writes_ratio_as_is": statistics.median(ratios["as_is"]),
            "writes_ratio_as_is_spread": [min(ratios["as_is"]), max(ratios["as_is"])],
            "writes_ratio_every": statistics.median(ratios["every"]),
            "writes_ratio_every_spread": [min(ratios["every"]), max(ratios["every"])],
            "writes_root_ok": root_ok}


def map_share(with_map: Path, no_map: Path, blocks: int) -> dict[str, Any]:
    """Blocks of 1000 new works appended to two copies of a home in turn, one keeping the map
    and one not, each timed against a verify round of its own (step 5 of the module doc)."""
    ledgers = {"map": Home(with_map).open_ledger(),
               "no_map": without_map(Home(no_map).open_ledger())}
    now = int(time.time())
    items = verify_items(1000, now)
    verify_chunk(items)
    ratios: dict[str, list[float]] = {"map": [], "no_map": []}
    ms: dict[str, list[float]] = {"map": [], "no_map": []}
    for b in range(blocks):
        for name, ledger in ledgers.items():
            leaves = sign_leaves(b"map-share-%d" % b, 1000, now)
            getattr(ledger.store, "settle", lambda: None)()
            v = len(items) / verify_chunk(items)
            t = perf()
            results = ledger.append_block(leaves, now)
            d = perf() - t
            assert all(not isinstance(r, Exception) for r in results)
            ratios[name].append(len(leaves) / d / v)
            ms[name].append(d * 1000)
    for ledger in ledgers.values():
        ledger.close()
    med = {k: statistics.median(v) for k, v in ms.items()}
    return {"share_ratio_with_map": statistics.median(ratios["map"]),
            "share_ratio_with_map_spread": [min(ratios["map"]), max(ratios["map"])],
            "share_ratio_without_map": statistics.median(ratios["no_map"]),
            "share_ratio_without_map_spread": [min(ratios["no_map"]), max(ratios["no_map"])],
            "block_ms_with_map": med["map"], "block_ms_without_map": med["no_map"],
            "map_share_of_block": 1 - med["no_map"] / med["map"]}


def _wal_frames(ledger: Any) -> int:
    """The pages the last commit of a SQLite store wrote: its frames in the WAL, read from the
    file (no checkpoint is run here, so a store's own checkpoint is left where it is; 0 for
    another store)."""
    path = getattr(ledger.store, "path", None)
    if not isinstance(getattr(ledger.store, "conn", None), sqlite3.Connection) or path is None:
        return 0
    return last_commit_frames(Path(str(path) + "-wal"))


def last_commit_frames(wal: Path) -> int:
    """Frames of the last transaction in a WAL file: the valid frames (the header's salts)
    after the commit frame before the last one."""
    try:
        data = wal.read_bytes()
    except FileNotFoundError:
        return 0
    if len(data) < 32:
        return 0
    page = int.from_bytes(data[8:12], "big")
    salts = data[16:24]
    commits, at, n = [0], 32, 0
    while at + 24 + page <= len(data) and data[at + 8:at + 16] == salts:
        n += 1
        if int.from_bytes(data[at + 4:at + 8], "big"):  # a commit frame: the size after it
            commits.append(n)
        at += 24 + page
    return commits[-1] - commits[-2] if len(commits) > 1 else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--multi", type=int, default=10_000)
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--migrate", action="store_true",
                    help="keep the copy's map: time the schema migration, not a map build")
    ap.add_argument("--write-map-every", type=int, default=None, metavar="K",
                    help="also time a writer that writes the map every K blocks (an "
                         "experiment) against one that writes it in each block")
    ap.add_argument("--without-map", action="store_true",
                    help="also append to a second copy with map maintenance switched off, "
                         "in turn with the first: what the map costs at this size")
    args = ap.parse_args()
    if not (args.home / "ledger.db").is_file():
        raise SystemExit(f"bench_map_home: no ledger.db in {args.home}")
    with tempfile.TemporaryDirectory(dir=args.home.parent) as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        for name in ("ledger.db", "log.key"):
            shutil.copy2(args.home / name, home / name)
        if not args.migrate:
            as_schema_3(home / "ledger.db")
        res: dict[str, Any] = {"load_before": os.getloadavg()}
        res.update(upgrade(home))
        print(f"upgrade: {res['upgrade_seconds']:.1f} s, peak RSS "
              f"{res['upgrade_peak_rss_mb']:.0f} MB, {res['entries']:,} entries", flush=True)
        res.update(proofs(home, args.queries, args.multi, args.seed))
        if args.without_map:
            shutil.copytree(home, Path(tmp) / "no-map")
        if args.write_map_every:
            shutil.copytree(home, Path(tmp) / "as-is")
            shutil.copytree(home, Path(tmp) / "every")
        res.update(append(home, args.blocks))
        if args.without_map:
            res.update(map_share(home, Path(tmp) / "no-map", args.blocks))
        if args.write_map_every:
            res.update(map_writes(Path(tmp) / "as-is", Path(tmp) / "every", args.blocks,
                                  args.write_map_every))
        res["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(res, indent=2))
    b = res["proof_bytes"]
    rows = [
        ("entries", f"{res['entries']:,}", "", ""),
        ("schema migration of the map (--migrate)" if args.migrate else
         "map build of an existing log (upgrade)", f"{res['upgrade_seconds']:.1f} s", "report", ""),
        ("  its peak RSS", f"{res['upgrade_peak_rss_mb']:.0f} MB", "report", ""),
        ("map proof, median / p99", f"{res['proof_ms_median']:.3f} / {res['proof_ms_p99']:.3f} ms",
         f"<= {TARGET_PROOF_MS} ms", _ok(res["proof_ms_median"] <= TARGET_PROOF_MS)),
        ("map proof bytes, min / median / p99 / max",
         f"{b['min']} / {b['median']:.0f} / {b['p99']} / {b['max']}",
         f"<= {TARGET_PROOF_BYTES}", _ok(b["max"] <= TARGET_PROOF_BYTES)),
        ("state receipt v2 from the store (map + events + inclusion), median",
         f"{res['current_ms_median']:.3f} ms", "report", ""),
        ("verifying a decision receipt offline (signatures included), median / p99",
         f"{res['verify_ms_median']:.3f} / {res['verify_ms_p99']:.3f} ms",
         f"<= {TARGET_VERIFY_MS} ms", _ok(res["verify_ms_median"] <= TARGET_VERIFY_MS)),
        (f"multiproof of {res['multiproof_keys']:,} works, bytes per work",
         f"{res['multiproof_bytes_per_key']:.0f} (single: {res['single_bytes_per_key']:.0f})",
         "report", ""),
        ("append at this size with the map, ratio to verify",
         f"{res['append_ratio_at_size']:.3f} ({res['append_ratio_spread'][0]:.2f}-"
         f"{res['append_ratio_spread'][1]:.2f})", f">= {TARGET_APPEND_RATIO}",
         _ok(res["append_ratio_at_size"] >= TARGET_APPEND_RATIO)),
        ("  the same number of blocks back to back, ratio to the median verify rate",
         f"{res['append_stream_ratio']:.3f}", f">= {TARGET_APPEND_RATIO}",
         _ok(res["append_stream_ratio"] >= TARGET_APPEND_RATIO)),
        ("  database pages written per block (median)", f"{res['append_pages_per_block']:,.0f}",
         "report", ""),
    ]
    if args.without_map:
        rows += [
            ("blocks in turn: with the map, ratio to verify",
             f"{res['share_ratio_with_map']:.3f} ({res['share_ratio_with_map_spread'][0]:.2f}-"
             f"{res['share_ratio_with_map_spread'][1]:.2f})", f">= {TARGET_APPEND_RATIO}",
             _ok(res["share_ratio_with_map"] >= TARGET_APPEND_RATIO)),
            ("  without the map (map maintenance switched off), ratio to verify",
             f"{res['share_ratio_without_map']:.3f} "
             f"({res['share_ratio_without_map_spread'][0]:.2f}-"
             f"{res['share_ratio_without_map_spread'][1]:.2f})", "report", ""),
            ("  a block's time with / without the map (median), the map's share",
             f"{res['block_ms_with_map']:.0f} / {res['block_ms_without_map']:.0f} ms, "
             f"{res['map_share_of_block']:.0%}", "report", ""),
        ]
    if args.write_map_every:
        rows += [
            (f"map written every {res['writes_every']} blocks (experiment), ratio to verify",
             f"{res['writes_ratio_every']:.3f} ({res['writes_ratio_every_spread'][0]:.2f}-"
             f"{res['writes_ratio_every_spread'][1]:.2f})", "report",
             "root ok" if res["writes_root_ok"] else "ROOT DIFFERS"),
            ("  in each block, as the store writes it, same rounds",
             f"{res['writes_ratio_as_is']:.3f} ({res['writes_ratio_as_is_spread'][0]:.2f}-"
             f"{res['writes_ratio_as_is_spread'][1]:.2f})", "report", ""),
        ]
    print("| figure | value | target | |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"load average before / after: {res['load_before'][0]:.2f} / {res['load_after'][0]:.2f}")


def _ok(ok: bool) -> str:
    return "ok" if ok else "FAIL"


if __name__ == "__main__":
    main()
