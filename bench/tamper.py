"""Tamper trials: alter a ledger's database at random, then check that `log audit` names it.

Builds one real ledger (registrations, consents, revocations, licences over several blocks),
then, trial after trial, copies its home, applies one random alteration to the copy's SQLite
file, and audits the copy (the same code as `provenance log audit`). Every alteration that
changes what the database holds must be detected: the database refusing the write, the file no
longer opening, or the audit failing. A byte flip that changes nothing a reader can see (free
space, unused bytes of a page) is counted apart, as "no effect".

Not covered here, by design: removing the whole last block (entries, tree hashes and
checkpoint together) leaves a smaller but self-consistent log; only the log's peers can tell
(specs/node.md, rollback check on start).

    python bench/tamper.py                    # 300 trials, seed 1
    python bench/tamper.py --trials 2000 --seed 7
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.errors import LedgerError
from provenance_ledger.ledger import Home, audit

NOW = 1_790_000_000
BLOCK = 7  # events per block: many checkpoints, odd right edges
WORKS = 40

Alteration = Callable[[sqlite3.Connection, random.Random], None]


def sign(key: PrivateKey, type_: str, work: str, body: dict[str, object],
         prev: str | None = None) -> SignedEvent:
    return sign_event(Event(type_, work, prev, key.public.text, NOW, body), key)


def build(home: Home) -> None:
    creator, dev = PrivateKey.generate(), PrivateKey.generate()
    leaves: list[bytes] = []
    for i in range(WORKS):
        work = work_id_of(hashlib.sha256(f"tamper work {i}".encode()).hexdigest())
        reg = sign(creator, "work.register", work, {"size": 10 + i, "media_type": "image/png"})
        grant = sign(creator, "consent.grant", work,
                     {"grantee": dev.public.text, "purposes": ["ai_training"]}, reg.id)
        leaves += [reg.leaf, grant.leaf]
        if i % 3 == 0:
            revoke = sign(creator, "consent.revoke", work, {"grant": grant.id}, grant.id)
            leaves.append(revoke.leaf)
    ledger = home.open_ledger()
    try:
        for start in range(0, len(leaves), BLOCK):
            for r in ledger.append_block(leaves[start : start + BLOCK], NOW + start):
                if isinstance(r, LedgerError):
                    raise SystemExit(f"building the test ledger failed: {r}")
        audit(ledger)
    finally:
        ledger.close()


def pick(conn: sqlite3.Connection, rng: random.Random, sql: str) -> tuple[object, ...]:
    rows = conn.execute(sql).fetchall()
    return tuple(rows[rng.randrange(len(rows))])


def flip(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]


def delete_checkpoint(conn: sqlite3.Connection, rng: random.Random) -> None:
    (size,) = pick(conn, rng, "SELECT size FROM checkpoints")
    conn.execute("DELETE FROM checkpoints WHERE size = ?", (size,))


def shift_checkpoint_time(conn: sqlite3.Connection, rng: random.Random) -> None:
    (size,) = pick(conn, rng, "SELECT size FROM checkpoints")
    conn.execute("UPDATE checkpoints SET at = at + ? WHERE size = ?",
                 (rng.choice([-3600, -60, -1, 1, 60, 3600]), size))


def edit_checkpoint_note(conn: sqlite3.Connection, rng: random.Random) -> None:
    size, note = pick(conn, rng, "SELECT size, note FROM checkpoints")
    assert isinstance(note, str)
    edited = flip(note.encode(), rng).decode("utf-8", "replace")
    conn.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (edited, size))


def edit_checkpoint_root(conn: sqlite3.Connection, rng: random.Random) -> None:
    size, root = pick(conn, rng, "SELECT size, root FROM checkpoints")
    assert isinstance(root, bytes)
    conn.execute("UPDATE checkpoints SET root = ? WHERE size = ?", (flip(root, rng), size))


def delete_entry(conn: sqlite3.Connection, rng: random.Random) -> None:
    (idx,) = pick(conn, rng, "SELECT idx FROM entries")
    conn.execute("DELETE FROM entries WHERE idx = ?", (idx,))


def edit_leaf(conn: sqlite3.Connection, rng: random.Random) -> None:
    idx, leaf = pick(conn, rng, "SELECT idx, leaf FROM entries")
    assert isinstance(leaf, bytes)
    conn.execute("UPDATE entries SET leaf = ? WHERE idx = ?", (flip(leaf, rng), idx))


def edit_id(conn: sqlite3.Connection, rng: random.Random) -> None:
    idx, id_ = pick(conn, rng, "SELECT idx, id FROM entries")
    assert isinstance(id_, bytes)
    conn.execute("UPDATE entries SET id = ? WHERE idx = ?", (flip(id_, rng), idx))


def rewrite_work(conn: sqlite3.Connection, rng: random.Random) -> None:
    (idx,) = pick(conn, rng, "SELECT idx FROM entries WHERE type = 'consent.revoke'")
    (other,) = pick(conn, rng, "SELECT work FROM entries")
    conn.execute("UPDATE entries SET work = ? WHERE idx = ?", (other, idx))


def edit_node(conn: sqlite3.Connection, rng: random.Random) -> None:
    key, h = pick(conn, rng, "SELECT key, hash FROM nodes")
    assert isinstance(h, bytes)
    conn.execute("UPDATE nodes SET hash = ? WHERE key = ?", (flip(h, rng), key))


def delete_node(conn: sqlite3.Connection, rng: random.Random) -> None:
    (key,) = pick(conn, rng, "SELECT key FROM nodes")
    conn.execute("DELETE FROM nodes WHERE key = ?", (key,))


def add_node(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.execute("INSERT INTO nodes VALUES (?, ?)", ((40 << 56) | rng.randrange(1000),
                                                     rng.randbytes(32)))


def edit_map_node(conn: sqlite3.Connection, rng: random.Random) -> None:
    pos, node = pick(conn, rng, "SELECT pos, node FROM map_nodes")
    assert isinstance(node, bytes)
    conn.execute("UPDATE map_nodes SET node = ? WHERE pos = ?", (flip(node, rng), pos))


def delete_map_node(conn: sqlite3.Connection, rng: random.Random) -> None:
    (pos,) = pick(conn, rng, "SELECT pos FROM map_nodes")
    conn.execute("DELETE FROM map_nodes WHERE pos = ?", (pos,))


def add_map_node(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.execute("INSERT INTO map_nodes VALUES (?, ?)", (b"\x05" + rng.randbytes(5),
                                                         rng.randbytes(32)))


def swap_checkpoint_notes(conn: sqlite3.Connection, rng: random.Random) -> None:
    a, note_a = pick(conn, rng, "SELECT size, note FROM checkpoints")
    b, note_b = pick(conn, rng, f"SELECT size, note FROM checkpoints WHERE size != {a}")  # noqa: S608
    conn.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (note_b, a))
    conn.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (note_a, b))


SQL_ALTERATIONS: dict[str, Alteration] = {
    "delete a checkpoint": delete_checkpoint,
    "shift a checkpoint's time": shift_checkpoint_time,
    "edit a checkpoint note": edit_checkpoint_note,
    "edit a checkpoint root": edit_checkpoint_root,
    "swap two checkpoint notes": swap_checkpoint_notes,
    "delete an entry": delete_entry,
    "edit a leaf": edit_leaf,
    "edit an event id": edit_id,
    "rewrite a revocation's work": rewrite_work,
    "edit a tree hash": edit_node,
    "delete a tree hash": delete_node,
    "add a tree hash": add_node,
    "edit a map node": edit_map_node,
    "delete a map node": delete_map_node,
    "add a map node": add_map_node,
}
FLIP = "flip a byte of the file"


def snapshot(db: Path) -> str | None:
    """A digest of everything the tables hold, or None if the file cannot be read."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            h = hashlib.sha256()
            for table in ("meta", "entries", "nodes", "checkpoints", "map_nodes"):
                for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1"):  # noqa: S608
                    h.update(repr(row).encode())
            for (sql,) in conn.execute("SELECT sql FROM sqlite_schema ORDER BY name"):
                h.update(repr(sql).encode())
            return h.hexdigest()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None


def detected(home: Home) -> bool:
    try:
        ledger = home.open_ledger()
    except LedgerError:
        return True  # the file no longer opens: nothing is read from it unnoticed
    try:
        audit(ledger)
        return False
    except LedgerError:
        return True
    finally:
        ledger.close()


def trial(pristine: Path, work: Path, kind: str, rng: random.Random,
          clean: str | None) -> str:
    """One alteration of a fresh copy: 'detected', 'refused', 'no effect' or 'MISSED'."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(pristine, work)
    home = Home(work)
    if kind == FLIP:
        data = bytearray(home.db_path.read_bytes())
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
        home.db_path.write_bytes(bytes(data))
    else:
        conn = sqlite3.connect(home.db_path, isolation_level=None)
        try:
            conn.execute("BEGIN")
            SQL_ALTERATIONS[kind](conn, rng)
            conn.execute("COMMIT")
        except sqlite3.DatabaseError:
            return "refused"  # the database itself would not store it
        finally:
            conn.close()
    if detected(home):
        return "detected"
    return "no effect" if snapshot(home.db_path) == clean else "MISSED"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    kinds = [*SQL_ALTERATIONS, FLIP]
    with tempfile.TemporaryDirectory(prefix="tamper-") as tmp:
        pristine = Path(tmp) / "pristine"
        home = Home(pristine)
        build(home)
        clean = snapshot(home.db_path)
        results: dict[str, Counter[str]] = {k: Counter() for k in kinds}
        for _ in range(args.trials):
            kind = rng.choice(kinds)
            results[kind][trial(pristine, Path(tmp) / "work", kind, rng, clean)] += 1
    print("| alteration | trials | detected by audit | refused by the database | no effect "
          "| missed |")
    print("|---|---|---|---|---|---|")
    total: Counter[str] = Counter()
    for kind in kinds:
        c = results[kind]
        total.update(c)
        print(f"| {kind} | {sum(c.values())} | {c['detected']} | {c['refused']} | "
              f"{c['no effect']} | {c['MISSED']} |")
    altered = sum(total.values()) - total["no effect"]
    print(f"tamper: {sum(total.values())} trials, {altered} altered the database, "
          f"{total['detected'] + total['refused']} detected or refused, {total['MISSED']} missed "
          f"(seed {args.seed})")
    return 1 if total["MISSED"] else 0


if __name__ == "__main__":
    sys.exit(main())
