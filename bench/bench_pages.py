#!/usr/bin/env python3
"""Which database pages a block's commit writes, by table and index.

    python bench/bench_pages.py [--entries 20000] [--block 16] [--blocks 10]

Builds a fresh SQLite ledger of ``--entries`` pre-signed ``bench.py`` events (blocks of 1,000),
then appends ``--blocks`` blocks of ``--block`` new works, the map's upper levels held as a
node's writer holds them. The store's WAL checkpoint thread is kept from running, so each
block's frames stay in the WAL file: they are read from it after the commit (a frame's header
names its page) and matched to the table or index that owns the page (SQLite's ``dbstat``, read
before the blocks; a page the database did not have then counts as new). A count of pages, not
a time: the host's load does not move it. Prints the distinct pages per block, in all and per
table or index.
"""

from __future__ import annotations

import argparse
import collections
import sqlite3
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import sign_leaves
from provenance_ledger.ledger import Home
from provenance_ledger.store import sqlite as sqlite_store

WAL_HEADER = 32
FRAME_HEADER = 24


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entries", type=int, default=20_000)
    p.add_argument("--block", type=int, default=16)
    p.add_argument("--blocks", type=int, default=10)
    args = p.parse_args(argv)
    now = int(time.time())
    with tempfile.TemporaryDirectory(prefix="pl-pages-") as tmp:
        ledger = Home(Path(tmp)).open_ledger()
        ledger.holds_map_levels = True  # as a node's writer (node/node.py)
        base = sign_leaves(b"pages-base", args.entries, now)
        for lo in range(0, len(base), 1000):
            ledger.append_block(base[lo : lo + 1000], now)
        store = ledger.store
        assert isinstance(store, sqlite_store.SqliteStore)  # noqa: S101 - a home is SQLite
        store.settle()
        sqlite_store._CHECKPOINT_ROWS = 1 << 62  # noqa: SLF001 - keep every frame in the WAL
        store._checkpointer._rows = -(1 << 62)  # noqa: SLF001
        new = sign_leaves(b"pages-new", args.block * (args.blocks + 1), now)
        blocks = [new[i : i + args.block] for i in range(0, len(new), args.block)]
        ledger.append_block(blocks[0], now)  # the upper levels loaded, outside the count
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db = store.path
        wal = Path(f"{db}-wal")
        reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        owner = dict((page, name) for name, page in
                     reader.execute("SELECT name, pageno FROM dbstat"))
        page_size = int(reader.execute("PRAGMA page_size").fetchone()[0])
        reader.close()
        frame = FRAME_HEADER + page_size
        per_table: collections.Counter[str] = collections.Counter()
        total = 0
        for leaves in blocks[1:]:
            start = max(wal.stat().st_size, WAL_HEADER)
            ledger.append_block(leaves, now)
            data = wal.read_bytes()[start:]
            pages = {struct.unpack_from(">I", data, at)[0] for at in range(0, len(data), frame)}
            total += len(pages)
            per_table.update(owner.get(page, "(new pages)") for page in pages)
        ledger.close()
    n = args.blocks
    print(f"log of {args.entries:,} entries, blocks of {args.block}: "
          f"{total / n:.1f} distinct pages a block ({total / n / args.block:.1f} an event)")
    for name, count in per_table.most_common():
        print(f"  {name:<28} {count / n:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
