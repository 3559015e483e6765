"""Tests for provenance_ledger.ledger.log_audit: a clean log passes, any tampering is named.

Each test builds a real ledger, closes it, edits the SQLite file behind its back with plain
``sqlite3`` (as an attacker or a disk fault would), reopens it and audits it. The audit must
fail with a VerificationError that names the first bad index.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provenance_ledger.core import vmap
from provenance_ledger.core.events import work_id_of
from provenance_ledger.core.merkle import Frontier, leaf_hash
from provenance_ledger.core.note import NoteSignature, NoteSigner, SignedNote
from provenance_ledger.errors import StorageError, VerificationError
from provenance_ledger.ledger import Home, Ledger, audit
from provenance_ledger.store.sqlite import map_pos, node_key

from ..conftest import NOW, KeyFactory, Signer

BLOCKS = (3, 3, 3, 3)  # checkpoints at sizes 3, 6, 9 and 12
SIZE = sum(BLOCKS)


@pytest.fixture
def home(tmp_path: Path, sign: Signer, keys: KeyFactory) -> Home:
    """A data directory holding a closed, clean ledger of SIZE events."""
    creator, dev = keys("creator"), keys("ai-developer")
    leaves = []
    for i in range(SIZE // 2):
        work = work_id_of(hashlib.sha256(f"audited work {i}".encode()).hexdigest())
        reg = sign(creator, "work.register", work,
                   {"size": 100 + i, "media_type": "image/webp", "title": f"Panel {i}"})
        offer = sign(creator, "licence.offer", work,
                     {"licensee": dev.public.text, "purposes": ["ai_training"]}, prev=reg.id)
        leaves += [reg.leaf, offer.leaf]
    home = Home(tmp_path / "home")
    ledger = home.open_ledger()
    start = 0
    for n in BLOCKS:
        ledger.append_block(leaves[start : start + n], NOW)
        start += n
    assert ledger.size == SIZE
    ledger.close()
    return home


@pytest.fixture
def reopen(home: Home) -> Iterator[Callable[[], Ledger]]:
    opened: list[Ledger] = []

    def open_() -> Ledger:
        opened.append(home.open_ledger())
        return opened[-1]

    yield open_
    for ledger in opened:
        ledger.close()


def tamper(home: Home, sql: str, *args: object) -> None:
    with sqlite3.connect(home.db_path) as conn:
        assert conn.execute(sql, args).rowcount == 1


def one(home: Home, sql: str, *args: object) -> object:
    with sqlite3.connect(home.db_path) as conn:
        return conn.execute(sql, args).fetchone()[0]


def audit_fails_at(ledger: Ledger) -> int:
    with pytest.raises(VerificationError) as info:
        audit(ledger)
    m = re.search(r"at index (\d+)", str(info.value))
    assert m, f"the message names no index: {info.value}"
    return int(m.group(1))


def test_clean_ledger_audits(home: Home, reopen: Callable[[], Ledger]) -> None:
    ledger = reopen()
    report = audit(ledger)
    assert report.entries == SIZE
    assert report.checkpoints == len(BLOCKS)
    assert report.works == SIZE // 2
    assert report.root == ledger.root(SIZE) == ledger.latest_checkpoint()[0].root


def test_empty_ledger_audits(tmp_path: Path) -> None:
    ledger = Home(tmp_path / "empty").open_ledger()
    try:
        report = audit(ledger)
        assert (report.entries, report.checkpoints, report.works) == (0, 0, 0)
    finally:
        ledger.close()


@pytest.fixture
def empty_first(tmp_path: Path, sign: Signer, keys: KeyFactory) -> Home:
    """A closed ledger that signed the empty tree's checkpoint, then took one event."""
    home = Home(tmp_path / "empty-first")
    ledger = home.open_ledger()
    try:
        assert ledger.checkpoint_empty_log(NOW - 10)
        assert not ledger.checkpoint_empty_log(NOW - 10)  # only once
        assert ledger.latest_checkpoint()[0].size == 0
        work = work_id_of(hashlib.sha256(b"first work").hexdigest())
        ledger.append(sign(keys("creator"), "work.register", work,
                           {"size": 1, "media_type": "image/png"}).leaf, NOW)
        assert not ledger.checkpoint_empty_log(NOW)  # not empty any more
    finally:
        ledger.close()
    return home


def test_the_empty_trees_checkpoint_is_audited(empty_first: Home) -> None:
    ledger = empty_first.open_ledger()
    try:
        report = audit(ledger)
        assert (report.entries, report.checkpoints) == (1, 2)
    finally:
        ledger.close()


@pytest.mark.parametrize("sql, args", [
    ("UPDATE checkpoints SET root = ? WHERE size = 0", (b"\x01" * 32,)),
    ("UPDATE checkpoints SET at = ? WHERE size = 0", (NOW + 60,)),
    ("UPDATE checkpoints SET note = replace(note, '\n0\n', '\n00\n') WHERE size = 0", ()),
])
def test_a_tampered_empty_trees_checkpoint_fails_the_audit(
        empty_first: Home, sql: str, args: tuple[object, ...]) -> None:
    tamper(empty_first, sql, *args)
    ledger = empty_first.open_ledger()
    try:
        assert audit_fails_at(ledger) == 0
    finally:
        ledger.close()


def test_only_the_logs_own_key_signs_the_empty_trees_checkpoint(empty_first: Home) -> None:
    own = empty_first.open_ledger()
    mirror = Ledger(own.store, None, own.verifier)
    try:
        with pytest.raises(ValueError):
            mirror.checkpoint_empty_log(NOW)
    finally:
        own.close()


def test_changed_leaf_byte(home: Home, reopen: Callable[[], Ledger]) -> None:
    leaf = one(home, "SELECT leaf FROM entries WHERE idx = 4")
    assert isinstance(leaf, bytes) and b"Panel 2" in leaf
    tamper(home, "UPDATE entries SET leaf = ? WHERE idx = 4", leaf.replace(b"Panel 2", b"Panel 9"))
    assert audit_fails_at(reopen()) == 4


def test_changed_leaf_with_matching_id(home: Home, reopen: Callable[[], Ledger]) -> None:
    # A careful forger also fixes the id column; the signature still gives it away.
    leaf = one(home, "SELECT leaf FROM entries WHERE idx = 6")
    assert isinstance(leaf, bytes)
    forged = leaf.replace(b'"size":103', b'"size":999')
    assert forged != leaf
    tamper(home, "UPDATE entries SET leaf = ?, id = ? WHERE idx = 6", forged, leaf_hash(forged))
    assert audit_fails_at(reopen()) == 6


def test_changed_node_hash(home: Home, reopen: Callable[[], Ledger]) -> None:
    # (level 1, index 3) is the subtree over leaves 6 and 7.
    tamper(home, "UPDATE nodes SET hash = ? WHERE key = ?", b"\x00" * 32, node_key((1, 3)))
    assert audit_fails_at(reopen()) == 6


def test_changed_high_node_hash(home: Home, reopen: Callable[[], Ledger]) -> None:
    # (level 2, index 2) covers leaves 8 to 11 and is part of the current root's plan.
    tamper(home, "UPDATE nodes SET hash = ? WHERE key = ?", b"\x11" * 32, node_key((2, 2)))
    assert audit_fails_at(reopen()) == 8


def test_changed_checkpoint_root(home: Home, reopen: Callable[[], Ledger]) -> None:
    tamper(home, "UPDATE checkpoints SET root = ? WHERE size = 6", b"\x22" * 32)
    assert audit_fails_at(reopen()) == 5


def test_deleted_entry(home: Home, reopen: Callable[[], Ledger]) -> None:
    tamper(home, "DELETE FROM entries WHERE idx = 4")
    assert audit_fails_at(reopen()) == 4


def test_swapped_entries(home: Home, reopen: Callable[[], Ledger]) -> None:
    # Entries 1 and 2 (two different works) trade places, ids and all: each row is
    # self-consistent and the rules accept the order, but the tree is another one.
    rows = {}
    with sqlite3.connect(home.db_path) as conn:
        for idx in (1, 2):
            rows[idx] = conn.execute(
                "SELECT id, work, type, leaf FROM entries WHERE idx = ?", (idx,)).fetchone()
        conn.execute("UPDATE entries SET idx = -1 WHERE idx = 1")
        conn.execute("UPDATE entries SET idx = 1 WHERE idx = 2")
        conn.execute("UPDATE entries SET idx = 2 WHERE idx = -1")
    assert rows[1][1] != rows[2][1]
    # Both rows are wrong; the checkpoint at size 3 is the first thing that no longer adds up.
    assert audit_fails_at(reopen()) in (1, 2)


@pytest.mark.parametrize("column", ["work", "type"])
def test_work_and_type_columns_cannot_be_rewritten(home: Home, reopen: Callable[[], Ledger],
                                                   column: str) -> None:
    # The work column routes a work's events to its replay: rewriting it once hid a
    # revocation from `may`. Both columns are now read from the signed leaf by SQLite itself.
    before = one(home, f"SELECT {column} FROM entries WHERE idx = 9")  # noqa: S608
    with pytest.raises(sqlite3.OperationalError, match="generated column"):
        tamper(home, f"UPDATE entries SET {column} = 'x' WHERE idx = 9")  # noqa: S608
    assert one(home, f"SELECT {column} FROM entries WHERE idx = 9") == before  # noqa: S608
    audit(reopen())


def test_rewritten_leaf_is_refused_on_the_read_path(home: Home,
                                                     reopen: Callable[[], Ledger]) -> None:
    # A leaf edited behind the log's back no longer hashes to its id: reading the work's
    # state says so at once, before any audit runs.
    leaf = one(home, "SELECT leaf FROM entries WHERE idx = 1")
    assert isinstance(leaf, bytes)
    work = one(home, "SELECT work FROM entries WHERE idx = 1")
    edited = leaf.replace(b'"ai_training"', b'"data_mining"')
    assert edited != leaf
    tamper(home, "UPDATE entries SET leaf = ? WHERE idx = 1", edited)
    ledger = reopen()
    with pytest.raises(StorageError, match="entry 1 does not match"):
        ledger.state(str(work))
    assert audit_fails_at(ledger) == 1


def test_deleted_checkpoint_that_is_not_the_latest(home: Home,
                                                  reopen: Callable[[], Ledger]) -> None:
    # Every checkpoint's signed block line names the one before it: a history point that
    # vanished is named by the next checkpoint.
    for size in (3, 6, 9):
        with sqlite3.connect(home.db_path) as conn:
            saved = conn.execute("SELECT * FROM checkpoints WHERE size = ?", (size,)).fetchone()
            conn.execute("DELETE FROM checkpoints WHERE size = ?", (size,))
        with pytest.raises(VerificationError, match="a checkpoint was deleted"):
            audit(reopen())
        with sqlite3.connect(home.db_path) as conn:
            conn.execute("INSERT INTO checkpoints VALUES (?, ?, ?, ?)", saved)
    audit(reopen())


@pytest.mark.parametrize("delta", [-1, 1])
def test_checkpoint_time_edited_by_a_second(home: Home, reopen: Callable[[], Ledger],
                                            delta: int) -> None:
    tamper(home, "UPDATE checkpoints SET at = at + ? WHERE size = 6", delta)
    with pytest.raises(VerificationError, match="is not the signed time"):
        audit(reopen())


def test_damaged_index_is_found(home: Home, reopen: Callable[[], Ledger]) -> None:
    # An index that disagrees with its table makes reads by work or id miss entries; the
    # audit runs SQLite's integrity check first. Rebuild the work index over other rows.
    with sqlite3.connect(home.db_path) as conn:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_schema SET sql = replace(sql, '(work, idx)', '(idx, work)') "
                     "WHERE name = 'idx_entries_work_idx'")
    with pytest.raises(VerificationError, match="database file is damaged"):
        audit(reopen())


def test_origin_in_the_database_is_checked(home: Home, reopen: Callable[[], Ledger]) -> None:
    # The origin names the log's key in every note: another origin signed none of them.
    tamper(home, "UPDATE meta SET value = 'other.example/log' WHERE key = 'origin'")
    with pytest.raises(VerificationError, match="no trusted key signed"):
        audit(reopen())


def test_changed_checkpoint_signature(home: Home, reopen: Callable[[], Ledger]) -> None:
    text = one(home, "SELECT note FROM checkpoints WHERE size = 9")
    assert isinstance(text, str)
    note = SignedNote.from_text(text)
    (sig,) = note.signatures
    flipped = bytes([sig.signature[0] ^ 0x01]) + sig.signature[1:]
    bad = SignedNote(note.text, (NoteSignature(sig.name, sig.key_id, flipped),))
    tamper(home, "UPDATE checkpoints SET note = ? WHERE size = 9", bad.to_text())
    assert audit_fails_at(reopen()) == 8


def test_checkpoint_time_going_backwards(home: Home, reopen: Callable[[], Ledger]) -> None:
    tamper(home, "UPDATE checkpoints SET at = ? WHERE size = 9", NOW - 60)
    assert audit_fails_at(reopen()) == 8


def test_checkpoint_note_from_another_size(home: Home, reopen: Callable[[], Ledger]) -> None:
    # A genuine, validly signed note, but for size 3, stored as the checkpoint of size 6.
    note = one(home, "SELECT note FROM checkpoints WHERE size = 3")
    tamper(home, "UPDATE checkpoints SET note = ? WHERE size = 6", note)
    assert audit_fails_at(reopen()) == 5


def test_checkpoint_signed_by_another_key(home: Home, reopen: Callable[[], Ledger],
                                          keys: KeyFactory) -> None:
    ledger = reopen()
    text = one(home, "SELECT note FROM checkpoints WHERE size = 12")
    assert isinstance(text, str)
    body = SignedNote.from_text(text).text
    forged = SignedNote(body, (NoteSigner(ledger.origin, keys("forger")).sign(body),))
    tamper(home, "UPDATE checkpoints SET note = ? WHERE size = 12", forged.to_text())
    assert audit_fails_at(ledger) == 11


def test_entry_added_behind_the_logs_back(home: Home, reopen: Callable[[], Ledger],
                                          sign: Signer, keys: KeyFactory) -> None:
    # Every block the ledger commits ends in a checkpoint, so an entry that no checkpoint
    # covers was written around the append path (skipping its admission window, here by a
    # year). Left alone, the next block's checkpoint would sign it into the log.
    ledger = reopen()
    backdated = sign(keys("forger"), "work.register", work_id_of("ab" * 32),
                     {"size": 1, "media_type": "text/plain"}, at=NOW - 365 * 86_400)
    frontier = Frontier()
    for row in ledger.store.entries(0, SIZE):
        frontier.append(row.id)
    made = frontier.append(bytes.fromhex(backdated.id))
    with sqlite3.connect(home.db_path) as conn:
        conn.execute("INSERT INTO entries (idx, id, leaf) VALUES (?, ?, ?)",
                     (SIZE, bytes.fromhex(backdated.id), backdated.leaf))
        conn.executemany("INSERT INTO nodes VALUES (?, ?)",
                         [(node_key(n), h) for n, h in made if n[0] > 0])
    assert audit_fails_at(reopen()) == SIZE


# -- the verifiable map (specs/map.md section 10, audit) ----------------------------------------


def map_rows(home: Home) -> list[tuple[bytes, bytes]]:
    with sqlite3.connect(home.db_path) as conn:
        return conn.execute("SELECT pos, node FROM map_nodes ORDER BY length(pos), pos").fetchall()


def map_audit_fails(ledger: Ledger, message: str) -> None:
    with pytest.raises(VerificationError, match=message):
        audit(ledger)


def test_the_stored_map_is_audited_and_matches_the_signed_root(
        home: Home, reopen: Callable[[], Ledger]) -> None:
    ledger = reopen()
    audit(ledger)
    rows = map_rows(home)
    leaves = [n for _, n in rows if len(n) == vmap.LEAF_SIZE]
    assert len(leaves) == SIZE // 2  # one leaf per work
    cp, _ = ledger.latest_checkpoint()
    assert cp.map_root == vmap.stored_hash(dict(rows)[map_pos(1)])


def test_a_changed_map_value_fails_the_audit(home: Home, reopen: Callable[[], Ledger]) -> None:
    pos, node = next((p, n) for p, n in map_rows(home) if len(n) == vmap.LEAF_SIZE)
    # the count of the work's events, 2, made 1: a reader would miss its licence offer
    changed = node[:-16] + (1).to_bytes(8, "big") + node[-8:]
    tamper(home, "UPDATE map_nodes SET node = ? WHERE pos = ?", changed, pos)
    map_audit_fails(reopen(), "not its children's hash|not the recomputed one")


def test_a_map_rewritten_consistently_up_to_the_root_fails_against_the_signature(
        home: Home, reopen: Callable[[], Ledger]) -> None:
    """An attacker who recomputes every hash up to the root still cannot sign the root."""
    rows = map_rows(home)
    values = {}
    for _, node in rows:
        if len(node) == vmap.LEAF_SIZE:
            values[node[:32]] = node[32:]
    key = min(values)
    values[key] = vmap.MapValue(bytes(32), 1, 0).to_bytes()
    forged = vmap.MemoryMap()
    forged.apply(values)
    with sqlite3.connect(home.db_path) as conn:
        conn.execute("DELETE FROM map_nodes")
        conn.executemany("INSERT INTO map_nodes VALUES (?, ?)",
                         [(map_pos(p), n) for p, n in forged.nodes.items()])
    map_audit_fails(reopen(), "not the recomputed one|map root signed")


def test_a_deleted_map_row_fails_the_audit(home: Home, reopen: Callable[[], Ledger]) -> None:
    pos, _ = map_rows(home)[-1]
    with sqlite3.connect(home.db_path) as conn:
        conn.execute("DELETE FROM map_nodes WHERE pos = ?", (pos,))
    map_audit_fails(reopen(), "stored map")


def test_a_stray_map_row_fails_the_audit(home: Home, reopen: Callable[[], Ledger]) -> None:
    with sqlite3.connect(home.db_path) as conn:
        conn.execute("INSERT INTO map_nodes VALUES (?, ?)", (map_pos(1 << 100), bytes(32)))
    map_audit_fails(reopen(), "rows that are not in the tree")


def test_a_changed_inner_map_node_fails_the_audit(home: Home,
                                                  reopen: Callable[[], Ledger]) -> None:
    tamper(home, "UPDATE map_nodes SET node = ? WHERE pos = ?", bytes(32), map_pos(1))
    map_audit_fails(reopen(), "not its children's hash")
