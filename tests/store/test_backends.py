"""The store interface's semantics on both engines (specs/storage.md sections 1 and 6): every
test runs on a real SQLite file and on a real PostgreSQL schema, and checks what the ledger
relies on: blocks land whole or not at all, ``ready`` can still refuse one, two writers that
race never both land, reads agree with what was written, a snapshot sees one state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provenance_ledger.core.merkle import Frontier, leaf_hash
from provenance_ledger.errors import StorageError
from provenance_ledger.store import Block, EntryRow, SqliteStore, Store
from provenance_ledger.store.postgres import PostgresStore

from .test_sqlite import WORK_A, WORK_B, block, store_leaf

Opener = Callable[[], Store]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens one more connection to the same (fresh) store; closes them all at the end."""
    opened: list[Store] = []
    if request.param == "sqlite":
        def make() -> Store:
            opened.append(SqliteStore(tmp_path / "ledger.db"))
            return opened[-1]
    else:
        url = request.getfixturevalue("schema_url")

        def make() -> Store:
            opened.append(PostgresStore(url))
            return opened[-1]
    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener()


def test_blocks_are_written_and_read_back(store: Store) -> None:
    frontier = Frontier()
    first, second = block(frontier, 5), block(frontier, 3, work=WORK_B)
    assert store.commit_block(first) and store.commit_block(second)
    assert store.size() == 8
    assert store.entry(6) == second.entries[1]
    assert store.entry_by_id(first.entries[2].id) == first.entries[2]
    assert store.entry_by_id(b"\x00" * 32) is None
    assert list(store.entries(3, 6)) == first.entries[3:] + second.entries[:1]
    assert store.work_entries(WORK_B) == second.entries
    assert store.works_present([WORK_A, WORK_B, "sha256:" + "c0" * 32]) == {WORK_A, WORK_B}
    assert store.works_with_prefix("sha256:a0a0", 5) == [WORK_A]
    assert store.works_with_prefix("sha256:", 5) == [WORK_A, WORK_B]
    ids = sorted(e.id for e in first.entries + second.entries)
    assert store.ids_between(ids[2], ids[5], 10) == ids[2:5]
    assert store.ids_between(ids[6], None, 10) == ids[6:]
    made = dict(first.nodes + second.nodes)
    assert store.nodes(made) == made
    assert dict(store.all_nodes()) == {n: h for n, h in made.items() if n[0] > 0}
    assert store.node_count() == sum(1 for n in made if n[0] > 0)
    assert store.latest_checkpoint() == second.checkpoint
    assert store.latest_checkpoint_size() == 8
    assert store.checkpoint(5) == first.checkpoint
    assert store.checkpoint(4) is None
    assert store.checkpoint_at_most(7) == 5
    assert list(store.checkpoints()) == [first.checkpoint, second.checkpoint]
    assert list(store.checkpoints(above=5)) == [second.checkpoint]
    assert store.integrity_problems() == []


def test_entries_by_key_reads_the_actor_and_party_from_the_leaf(store: Store) -> None:
    def leaf(n: int, actor: str, to: str | None, kind: str) -> bytes:
        body = "{}" if to is None else f'{{"licensee": "{to}"}}'
        return (f'{{"event": {{"type": "{kind}", "work": "{WORK_A}", "actor": "{actor}", '
                f'"body": {body}, "n": {n}}}}}').encode()

    frontier = Frontier()
    b = Block()
    for i, (actor, to, kind) in enumerate([("k1", None, "work.register"),
                                           ("k1", "k2", "licence.offer"),
                                           ("k2", None, "work.register"),
                                           ("k1", "k2", "licence.offer")]):
        data = leaf(i, actor, to, kind)
        h = leaf_hash(data)
        b.nodes.extend(frontier.append(h))
        b.entries.append(EntryRow(i, h, WORK_A, kind, data))
    store.commit_block(b)
    assert [e.index for e in store.entries_by_key("actor", "k1", ["licence.offer"])] == [1, 3]
    assert [e.index for e in store.entries_by_key("party", "k2", ["licence.offer"],
                                                  after=1)] == [3]
    assert [e.index for e in store.entries_by_key("actor", "k1", ["work.register",
                                                                  "licence.offer"],
                                                  limit=2)] == [0, 1]
    with pytest.raises(ValueError, match="role"):
        store.entries_by_key("work", "k1", ["work.register"])


@pytest.mark.parametrize("clash", ["index", "event-id", "node", "checkpoint-size"])
def test_failed_block_leaves_nothing_behind(store: Store, clash: str) -> None:
    frontier = Frontier()
    first = block(frontier, 4)
    store.commit_block(first)
    bad = block(frontier.copy(), 4, tag=" new")
    if clash == "index":
        e = bad.entries[-1]
        bad.entries[-1] = EntryRow(1, e.id, e.work, e.type, e.leaf)
    elif clash == "event-id":
        e = bad.entries[-1]
        bad.entries[-1] = EntryRow(e.index, first.entries[0].id, e.work, e.type, e.leaf)
    elif clash == "node":
        bad.nodes.append(((1, 0), b"\x00" * 32))
    else:
        bad.checkpoint = first.checkpoint
    nodes = store.node_count()
    with pytest.raises(StorageError, match="could not write block"):
        store.commit_block(bad)
    assert store.size() == 4 and store.node_count() == nodes
    assert store.latest_checkpoint() == first.checkpoint
    good = block(frontier, 2)  # the failed transaction was rolled back, not left open
    assert store.commit_block(good)
    assert store.size() == 6 and store.latest_checkpoint() == good.checkpoint


def test_a_block_not_ready_is_not_written_and_was_never_seen(opener: Opener) -> None:
    writer, reader = opener(), opener()
    frontier = Frontier()
    writer.commit_block(block(frontier, 2))
    seen: list[int] = []

    def ready() -> bool:
        seen.append(reader.size())  # while the block waits, another connection sees none of it
        return False

    assert writer.commit_block(block(frontier.copy(), 3), ready) is False
    assert seen == [2]
    assert writer.size() == reader.size() == 2
    assert writer.commit_block(block(frontier, 3), lambda: True) is True
    assert reader.size() == 5


def test_two_writers_racing_for_the_same_indexes_never_both_land(opener: Opener) -> None:
    """Both computed the next block from the same size; the second waits for the first's
    lock, then fails on the keys it shares, and writes nothing."""
    one, two = opener(), opener()
    base = Frontier()
    one.commit_block(block(base, 1))
    mine, theirs = block(base.copy(), 3, tag=" one"), block(base.copy(), 3, tag=" two")
    inside, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def hold() -> bool:
        inside.set()
        assert release.wait(10)
        return True

    def first() -> None:
        results["one"] = one.commit_block(mine, hold)

    def second() -> None:
        assert inside.wait(10)
        try:
            results["two"] = two.commit_block(theirs)
        except StorageError as e:
            results["two"] = e

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    assert inside.wait(10)
    release.set()
    for t in threads:
        t.join(20)
    assert results["one"] is True
    assert isinstance(results["two"], StorageError)
    assert [e.leaf for e in one.entries(0, 4)] == [b.leaf for b in
                                                  (*block(Frontier(), 1).entries,
                                                   *mine.entries)]
    assert two.size() == 4 and two.latest_checkpoint() == mine.checkpoint


def test_a_snapshot_sees_one_state(opener: Opener) -> None:
    reader, writer = opener(), opener()
    frontier = Frontier()
    first = block(frontier, 2)
    writer.commit_block(first)
    with reader.snapshot():
        assert reader.latest_checkpoint() == first.checkpoint
        writer.commit_block(block(frontier, 2))
        assert reader.latest_checkpoint() == first.checkpoint and reader.size() == 2
    assert reader.size() == 4


def test_map_nodes_and_their_size_land_with_the_block(store: Store) -> None:
    frontier = Frontier()
    b = block(frontier, 2)
    b.map_nodes = {1: b"\x01" * 32, 2: b"\x02" * 32, 3: b"\x03" * 80, 1 << 9: b"\x04" * 32}
    b.map_size = 2
    store.commit_block(b)
    assert store.map_size() == 2
    assert store.map_nodes([1, 3, 5]) == {1: b"\x01" * 32, 3: b"\x03" * 80}
    assert store.map_nodes_above(8) == {1: b"\x01" * 32, 2: b"\x02" * 32, 3: b"\x03" * 80}
    assert store.map_nodes_at(9) == {1 << 9: b"\x04" * 32}
    assert store.map_node_count() == 4
    assert dict(store.all_map_nodes()) == b.map_nodes
    store.commit_map({2: b"\x05" * 32}, 2, 2)  # replaces a node
    assert store.map_nodes([2]) == {2: b"\x05" * 32}
    with pytest.raises(StorageError, match="another writer"):
        store.commit_map({2: b"\x06" * 32}, 0, 2)  # built on a map size that is not stored
    assert store.map_nodes([2]) == {2: b"\x05" * 32}


def test_meta_and_reopen_preserve_everything(opener: Opener) -> None:
    frontier = Frontier()
    blocks = [block(frontier, n, tag=f" b{i}") for i, n in enumerate((1, 2, 5))]
    first = opener()
    for b in blocks:
        first.commit_block(b)
    first.set_meta("origin", "log.example/test")
    first.set_meta("origin", "log.example/again")  # replaced, not added
    first.close()
    again = opener()
    assert again.size() == 8
    assert list(again.entries(0, 8)) == [e for b in blocks for e in b.entries]
    assert list(again.checkpoints()) == [b.checkpoint for b in blocks]
    assert again.get_meta("origin") == "log.example/again"
    assert again.get_meta("absent") is None


def test_a_leaf_that_is_not_json_cannot_be_stored(store: Store) -> None:
    frontier = Frontier()
    b = block(frontier, 1)
    e = b.entries[0]
    b.entries[0] = EntryRow(e.index, e.id, e.work, e.type, b"not json " + store_leaf(WORK_A, ""))
    with pytest.raises(StorageError, match="could not write block"):
        store.commit_block(b)
    assert store.size() == 0
