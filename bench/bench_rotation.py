#!/usr/bin/env python3
"""Benchmark: ``may`` on a work whose controller's key was rotated, in a large log.

    python bench/bench_rotation.py [--works 1000000] [--rotated 10000] [--queries 2000]

Builds a fresh ledger home (SQLite, real signatures) of ``--works`` registered works, of which
``--rotated`` are registered by one key; then one ``key.rotate`` moves control of all of those
to a new key (specs/rules.md section 9). Then, for ``--queries`` random rotated works, times
what ``provenance may`` does locally for the new key: the work's state (replayed from its
stored events: a cold cache), the check that none of its events stopped counting
(``keystate.affected``), and the decision with the key records (``rules.may(..., keys)``).
Prints the median and p99 in ms (target: median <= 1 ms) and the machine's load.

Then the home (a node home) rotates to a new log (``node shard rotate``, specs/node.md
section 10.1) and the time its frozen log takes to freeze is printed: on SQLite, files moved.
With ``--store postgresql://...`` (a server whose role may create schemas) the same events are
appended to a second node home whose log is in a new schema there, and its rotation is timed
beside: the log copied out into a checked SQLite file (specs/storage.md section 6.4), in
seconds per 10^5 entries; the schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from provenance_ledger.core import keystate, rules
from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.encoding import b64encode
from provenance_ledger.core.events import Event, sign_event, work_id_of
from provenance_ledger.core.identity import key_record_id
from provenance_ledger.ledger import Home, Ledger
from provenance_ledger.node import init_node
from provenance_ledger.node.shard_manifest import shard_dir
from provenance_ledger.node.shards import rotate as rotate_node

sys.path.insert(0, str(Path(__file__).parent))
from bench import new_schema  # noqa: E402  bench/bench.py: a new schema on a server

BLOCK = 10_000
TARGET_MAY_MS = 1.0
ORIGIN = "bench.test/log"
NEW_ORIGIN = "bench.test/log/next"


def key(name: str) -> PrivateKey:
    return PrivateKey.from_seed(hashlib.sha256(name.encode()).digest())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--works", type=int, default=1_000_000)
    ap.add_argument("--rotated", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--store", default=None,
                    help="also build the log in PostgreSQL and time its freeze: a server URL "
                         "(postgresql://...) whose role may create schemas")
    args = ap.parse_args()
    if args.store is not None and not args.store.startswith(("postgresql://", "postgres://")):
        ap.error("--store must be a postgresql:// URL")
    old, new = key("bench old"), key("bench new")
    others = [key(f"bench other {i}") for i in range(16)]
    with tempfile.TemporaryDirectory() as tmp:
        init_node(Path(tmp) / "home", ORIGIN)
        ledger = Home(Path(tmp) / "home").open_ledger()
        pg_url = None if args.store is None else new_schema(args.store)
        pg: Ledger | None = None
        if pg_url is not None:
            init_node(Path(tmp) / "pg-home", ORIGIN, store=pg_url)
            pg = Home(Path(tmp) / "pg-home").open_ledger()
        now = int(time.time())
        rng = random.Random(1)
        rotated_at = sorted(rng.sample(range(args.works), args.rotated))
        mine = set(rotated_at)
        works: list[str] = []
        t0 = time.perf_counter()
        for lo in range(0, args.works, BLOCK):
            leaves = []
            for i in range(lo, min(lo + BLOCK, args.works)):
                signer = old if i in mine else others[i % 16]
                w = work_id_of(hashlib.sha256(f"bench work {i}".encode()).hexdigest())
                works.append(w)
                leaves.append(sign_event(Event("work.register", w, None, signer.public.text,
                                               now, {"size": 1, "media_type": "image/png"}),
                                         signer).leaf)
            ledger.append_block(leaves, now)
            if pg is not None:
                pg.append_block(leaves, now)
            print(f"  {lo + len(leaves)} works", file=sys.stderr, end="\r")
        build_s = time.perf_counter() - t0
        # one event moves control of every work of the old key
        rid = key_record_id(old.public.text)
        body = {"key": old.public.text, "to": new.public.text, "to_sig": b64encode(bytes(64))}
        draft = Event("key.rotate", rid, None, old.public.text, now, body)
        body["to_sig"] = b64encode(new.sign(keystate.statement(draft)))
        rotate = sign_event(Event("key.rotate", rid, None, old.public.text, now, body), old)
        t1 = time.perf_counter()
        ledger.append(rotate.leaf, now)
        rotate_ms = (time.perf_counter() - t1) * 1000
        ledger.close()
        reader = Home(Path(tmp) / "home").open_ledger()  # a fresh process's cold caches
        times = []
        for i in rng.sample(rotated_at, min(args.queries, len(rotated_at))):
            t = time.perf_counter()
            state = reader.state(works[i])
            assert state is not None
            assert not keystate.affected(state, reader.key_record)
            d = rules.may(state, new.public.text, "ai_training", now + 1,
                          keys=reader.key_record)
            times.append((time.perf_counter() - t) * 1000)
            assert d.allowed, d.reason
            reader._states.pop(works[i], None)  # every query starts cold for its work
        reader.close()
        freezes = {"SQLite": timed_rotation(Path(tmp) / "home", now)}
        if pg is not None and pg_url is not None:
            pg.append(rotate.leaf, now)
            pg.close()
            freezes["PostgreSQL"] = timed_rotation(Path(tmp) / "pg-home", now)
            drop_schema(pg_url)
    times.sort()
    median, p99 = statistics.median(times), times[int(len(times) * 0.99) - 1]
    print(f"works: {args.works}, rotated by one event: {args.rotated} "
          f"(built in {build_s:.0f} s; the rotation appended in {rotate_ms:.1f} ms)")
    print(f"may on a rotated work (cold work state): median {median:.3f} ms, p99 {p99:.3f} ms "
          f"(target <= {TARGET_MAY_MS} ms) over {len(times)} queries")
    size = args.works + 1
    for store, (seconds, file_bytes) in freezes.items():
        how = ("its files moved" if store == "SQLite" else
               f"copied out and checked: {seconds / size * 1e5:.3f} s per 10^5 entries")
        print(f"freeze on rotation (node shard rotate), {store}: {seconds:.3f} s for {size} "
              f"entries ({how}; frozen file {file_bytes / 1e6:.1f} MB)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if median <= TARGET_MAY_MS else 1


def timed_rotation(home: Path, now: int) -> tuple[float, int]:
    """Seconds ``node shard rotate`` takes on the node home (its log frozen, a new one made),
    and the bytes of the frozen log's file."""
    t = time.perf_counter()
    manifest = rotate_node(home, NEW_ORIGIN, now)
    seconds = time.perf_counter() - t
    assert manifest.current == NEW_ORIGIN and manifest.frozen[-1].origin == ORIGIN
    return seconds, (shard_dir(home, ORIGIN) / "ledger.db").stat().st_size


def drop_schema(url: str) -> None:
    """Drop the bench's schema (the first of the URL's search_path) and all it holds."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
        assert row is not None and str(row[0]).startswith("bench_")
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(row[0])))


if __name__ == "__main__":
    sys.exit(main())
