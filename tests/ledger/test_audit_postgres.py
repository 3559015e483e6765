"""The audit on a PostgreSQL store (issue 15): test_audit.py's edits, made with a plain psycopg
connection behind the ledger's back (as an attacker with the database password or a faulty
restore would), are each named by the audit, as they are on SQLite.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from provenance_ledger.core import vmap
from provenance_ledger.core.events import work_id_of
from provenance_ledger.core.merkle import Frontier
from provenance_ledger.errors import StorageError, VerificationError
from provenance_ledger.ledger import Home, Ledger, audit
from provenance_ledger.store.sqlite import map_pos, node_key

from ..conftest import NOW, KeyFactory, Signer

BLOCKS = (3, 3, 3, 3)
SIZE = sum(BLOCKS)


@pytest.fixture
def home(tmp_path: Path, sign: Signer, keys: KeyFactory, schema_url: str) -> Home:
    """A home whose closed, clean ledger of SIZE events is in a PostgreSQL schema."""
    creator, dev = keys("creator"), keys("ai-developer")
    leaves = []
    for i in range(SIZE // 2):
        work = work_id_of(hashlib.sha256(f"audited work {i}".encode()).hexdigest())
        reg = sign(creator, "work.register", work,
                   {"size": 100 + i, "media_type": "image/webp", "title": f"Panel {i}"})
        offer = sign(creator, "licence.offer", work,
                     {"licensee": dev.public.text, "purposes": ["ai_training"]}, prev=reg.id)
        leaves += [reg.leaf, offer.leaf]
    home = Home(tmp_path / "home", schema_url)
    ledger = home.open_ledger()
    start = 0
    for n in BLOCKS:
        ledger.append_block(leaves[start : start + n], NOW)
        start += n
    ledger.close()
    return Home(tmp_path / "home")  # reopened from its store.url, as any later command


@pytest.fixture
def reopen(home: Home) -> Iterator[Callable[[], Ledger]]:
    opened: list[Ledger] = []

    def open_() -> Ledger:
        opened.append(home.open_ledger())
        return opened[-1]

    yield open_
    for ledger in opened:
        ledger.close()


def sql(home: Home, query: str, *args: object) -> psycopg.Cursor[Any]:
    """Run ``query`` (test_audit.py's SQL: ``?`` placeholders) on the home's database."""
    url = home.store_url()
    assert url is not None
    conn = psycopg.connect(url, autocommit=True)
    return conn.execute(query.replace("?", "%s").encode(), args)


def tamper(home: Home, query: str, *args: object) -> None:
    assert sql(home, query, *args).rowcount == 1


def one(home: Home, query: str, *args: object) -> Any:
    row = sql(home, query, *args).fetchone()
    assert row is not None
    return row[0]


def audit_fails_at(ledger: Ledger) -> int:
    with pytest.raises(VerificationError) as info:
        audit(ledger)
    m = re.search(r"at index (\d+)", str(info.value))
    assert m, f"the message names no index: {info.value}"
    return int(m.group(1))


def test_clean_ledger_audits(home: Home, reopen: Callable[[], Ledger]) -> None:
    ledger = reopen()
    report = audit(ledger)
    assert (report.entries, report.checkpoints, report.works) == (SIZE, len(BLOCKS), SIZE // 2)
    assert report.root == ledger.root(SIZE) == ledger.latest_checkpoint()[0].root


def test_changed_leaf_byte(home: Home, reopen: Callable[[], Ledger]) -> None:
    leaf = one(home, "SELECT leaf FROM entries WHERE idx = 4")
    tamper(home, "UPDATE entries SET leaf = ? WHERE idx = 4", leaf.replace(b"Panel 2", b"Panel 9"))
    assert audit_fails_at(reopen()) == 4


def test_changed_node_hash(home: Home, reopen: Callable[[], Ledger]) -> None:
    tamper(home, "UPDATE nodes SET hash = ? WHERE key = ?", b"\x00" * 32, node_key((1, 3)))
    assert audit_fails_at(reopen()) == 6


def test_changed_checkpoint_root(home: Home, reopen: Callable[[], Ledger]) -> None:
    tamper(home, "UPDATE checkpoints SET root = ? WHERE size = 6", b"\x22" * 32)
    assert audit_fails_at(reopen()) == 5


def test_deleted_entry(home: Home, reopen: Callable[[], Ledger]) -> None:
    tamper(home, "DELETE FROM entries WHERE idx = 4")
    assert audit_fails_at(reopen()) == 4


@pytest.mark.parametrize("column", ["work", "type"])
def test_work_and_type_columns_cannot_be_rewritten(home: Home, reopen: Callable[[], Ledger],
                                                   column: str) -> None:
    # Read from the signed leaf by PostgreSQL itself: an UPDATE of them is refused.
    before = one(home, f"SELECT {column} FROM entries WHERE idx = 9")  # noqa: S608
    with pytest.raises(psycopg.errors.GeneratedAlways):
        tamper(home, f"UPDATE entries SET {column} = 'x' WHERE idx = 9")  # noqa: S608
    assert one(home, f"SELECT {column} FROM entries WHERE idx = 9") == before  # noqa: S608
    audit(reopen())


def test_rewritten_leaf_is_refused_on_the_read_path(home: Home,
                                                     reopen: Callable[[], Ledger]) -> None:
    leaf = one(home, "SELECT leaf FROM entries WHERE idx = 1")
    work = one(home, "SELECT work FROM entries WHERE idx = 1")
    tamper(home, "UPDATE entries SET leaf = ? WHERE idx = 1",
           leaf.replace(b'"ai_training"', b'"data_mining"'))
    ledger = reopen()
    with pytest.raises(StorageError, match="entry 1 does not match"):
        ledger.state(str(work))
    assert audit_fails_at(ledger) == 1


def test_deleted_checkpoint_that_is_not_the_latest(home: Home,
                                                  reopen: Callable[[], Ledger]) -> None:
    tamper(home, "DELETE FROM checkpoints WHERE size = 6")
    with pytest.raises(VerificationError, match="a checkpoint was deleted"):
        audit(reopen())


def test_checkpoint_time_edited_by_a_second(home: Home, reopen: Callable[[], Ledger]) -> None:
    tamper(home, "UPDATE checkpoints SET at = at + 1 WHERE size = 6")
    with pytest.raises(VerificationError, match="is not the signed time"):
        audit(reopen())


def test_entry_added_behind_the_logs_back(home: Home, reopen: Callable[[], Ledger],
                                          sign: Signer, keys: KeyFactory) -> None:
    ledger = reopen()
    backdated = sign(keys("forger"), "work.register", work_id_of("ab" * 32),
                     {"size": 1, "media_type": "text/plain"}, at=NOW - 365 * 86_400)
    frontier = Frontier()
    for row in ledger.store.entries(0, SIZE):
        frontier.append(row.id)
    made = frontier.append(bytes.fromhex(backdated.id))
    tamper(home, "INSERT INTO entries (idx, id, leaf) VALUES (?, ?, ?)",
           SIZE, bytes.fromhex(backdated.id), backdated.leaf)
    for n, h in made:
        if n[0] > 0:
            tamper(home, "INSERT INTO nodes VALUES (?, ?)", node_key(n), h)
    assert audit_fails_at(reopen()) == SIZE


def test_a_changed_map_value_fails_the_audit(home: Home, reopen: Callable[[], Ledger]) -> None:
    rows = sql(home, "SELECT pos, node FROM map_nodes ORDER BY pos").fetchall()
    pos, node = next((p, n) for p, n in rows if len(n) == vmap.LEAF_SIZE)
    changed = node[:-16] + (1).to_bytes(8, "big") + node[-8:]
    tamper(home, "UPDATE map_nodes SET node = ? WHERE pos = ?", changed, pos)
    with pytest.raises(VerificationError, match="not its children's hash|not the recomputed"):
        audit(reopen())


def test_a_stray_map_row_fails_the_audit(home: Home, reopen: Callable[[], Ledger]) -> None:
    tamper(home, "INSERT INTO map_nodes VALUES (?, ?)", map_pos(1 << 100), bytes(32))
    with pytest.raises(VerificationError, match="rows that are not in the tree"):
        audit(reopen())


def test_non_contiguous_entries_are_an_integrity_problem(home: Home,
                                                         reopen: Callable[[], Ledger]) -> None:
    # The store's own check (specs/storage.md section 6.2) names a hole in the entries.
    tamper(home, "UPDATE entries SET idx = 100 WHERE idx = 11")
    ledger = reopen()
    assert ledger.store.integrity_problems() == [
        "the entry at index 11 is missing (the entries are not contiguous)"]
    spec = (Path(__file__).resolve().parents[2] / "specs" / "storage.md").read_text()
    quoted = re.search(r"\(`(the entry at index N is missing[^`]*)`\)", spec)
    assert quoted is not None  # the line as the spec quotes it, N the index
    assert ledger.store.integrity_problems() == [quoted.group(1).replace(" N ", " 11 ")]
    with pytest.raises(VerificationError):
        audit(ledger)
