"""The similarity index of a log (specs/storage.md section 2.3): registrations within a
distance of a code, caught up from the log on read, for a home's own log and for a mirror."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, sign_event
from provenance_ledger.core.similarity import ContentCode, Unit
from provenance_ledger.errors import MalformedError
from provenance_ledger.ledger import Home, Ledger
from provenance_ledger.ledger.similarity import SimilarityIndex
from provenance_ledger.store import SqliteStore
from provenance_ledger.store.similarity import CodeRow, SimilarityStore, index_path

NOW = 1_790_000_000
OWNER = PrivateKey.from_seed(bytes([1]) * 32)
BASE = 0x0123_4567_89AB_CDEF


def _flip(bits: int, n: int) -> int:
    """``bits`` with its ``n`` lowest bits inverted."""
    return bits ^ ((1 << n) - 1)


def _register(n: int, code: ContentCode | None, key: PrivateKey = OWNER) -> bytes:
    work = "sha256:" + hashlib.sha256(f"work {n}".encode()).hexdigest()
    body: dict[str, object] = {"size": n + 1, "media_type": "image/png"}
    if code is not None:
        body["similarity"] = code.to_text()
    return sign_event(Event("work.register", work, None, key.public.text, NOW, body), key).leaf


def _work(n: int) -> str:
    return "sha256:" + hashlib.sha256(f"work {n}".encode()).hexdigest()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Home(tmp_path / "home").open_ledger(origin="example.org/log")


def test_finds_codes_within_the_distance_and_not_beyond(ledger: Ledger) -> None:
    leaves = [_register(n, ContentCode(Unit.IMAGE, _flip(BASE, n))) for n in range(12)]
    leaves.append(_register(50, ContentCode(Unit.TEXT, BASE)))  # a text: never an image's match
    leaves.append(_register(51, None))
    ledger.append_block(leaves, NOW)
    with SimilarityIndex(ledger) as index:
        found = index.near(ContentCode(Unit.IMAGE, BASE), 8)
        assert [(s.work, s.distance) for s in found] == [(_work(n), n) for n in range(9)]
        assert found[3].registrant == found[3].controller == OWNER.public.text
        assert found[3].code == ContentCode(Unit.IMAGE, _flip(BASE, 3)).to_text()
        assert [s.work for s in index.near(ContentCode(Unit.TEXT, BASE), 0)] == [_work(50)]
        assert index.near(ContentCode(Unit.IMAGE, BASE), 8, exclude_work=_work(0))[0].distance == 1
        with pytest.raises(MalformedError, match="distance"):
            index.near(ContentCode(Unit.IMAGE, BASE), 17)
    assert index_path(ledger.store.path).is_file()  # type: ignore[attr-defined]


def test_catches_up_with_appends_made_after_it_was_built(ledger: Ledger) -> None:
    ledger.append_block([_register(0, ContentCode(Unit.IMAGE, BASE))], NOW)
    near = ContentCode(Unit.IMAGE, _flip(BASE, 2))
    with SimilarityIndex(ledger) as index:
        assert [s.work for s in index.near(near, 8)] == [_work(0)]
    # appended with no index open: the append path does not touch it
    ledger.append_block([_register(1, near), _register(2, None)], NOW)
    with SimilarityIndex(ledger) as index:
        assert index.store.watermark() == 1
        assert [s.work for s in index.near(near, 8)] == [_work(1), _work(0)]
        assert index.store.watermark() == 3
        assert index.catch_up() == 0


def test_an_altered_index_cannot_invent_a_match(ledger: Ledger) -> None:
    ledger.append_block([_register(0, ContentCode(Unit.IMAGE, _flip(BASE, 30)))], NOW)
    with SimilarityIndex(ledger) as index:
        index.catch_up()
        index.store.conn.execute("UPDATE codes SET bits = ?, c0 = ?, c1 = ?, c2 = ?",
                                 (BASE, *ContentCode(Unit.IMAGE, BASE).chunks()))
        assert index.near(ContentCode(Unit.IMAGE, BASE), 8) == []


def test_an_index_of_another_log_is_rebuilt(tmp_path: Path, ledger: Ledger) -> None:
    ledger.append_block([_register(0, ContentCode(Unit.IMAGE, BASE))], NOW)
    other = Home(tmp_path / "other").open_ledger(origin="example.org/other")
    other.append_block([_register(7, ContentCode(Unit.IMAGE, BASE))], NOW)
    path = tmp_path / "shared.similarity.db"
    with SimilarityIndex(ledger, path) as index:
        assert [s.work for s in index.near(ContentCode(Unit.IMAGE, BASE), 0)] == [_work(0)]
    with SimilarityIndex(other, path) as index:
        assert [s.work for s in index.near(ContentCode(Unit.IMAGE, BASE), 0)] == [_work(7)]


def test_a_mirror_indexes_its_peers_works(tmp_path: Path, ledger: Ledger) -> None:
    rival = PrivateKey.from_seed(bytes([2]) * 32)
    leaves = [_register(n, ContentCode(Unit.IMAGE, _flip(BASE, n)), rival) for n in range(3)]
    ledger.append_block(leaves[:2], NOW)
    (tmp_path / "mirrors").mkdir()
    mirror = Ledger(SqliteStore(tmp_path / "mirrors" / "peer.db"), None, verifier=ledger.verifier)
    cp, note = ledger.latest_checkpoint()
    mirror.mirror_block(leaves[:2], cp, note, NOW)
    with SimilarityIndex(mirror) as index:
        found = index.near(ContentCode(Unit.IMAGE, BASE), 8)
        assert [(s.work, s.registrant) for s in found] == [(_work(0), rival.public.text),
                                                           (_work(1), rival.public.text)]
    ledger.append_block(leaves[2:], NOW)
    cp, note = ledger.latest_checkpoint()
    mirror.mirror_block(leaves[2:], cp, note, NOW)
    with SimilarityIndex(mirror) as index:  # caught up with the mirror's new entries
        assert len(index.near(ContentCode(Unit.IMAGE, BASE), 8)) == 3
    assert (tmp_path / "mirrors" / "peer.similarity.db").is_file()


codes = st.lists(st.tuples(st.sampled_from([0, 1]), st.integers(0, (1 << 64) - 1)),
                 max_size=60)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(codes, st.integers(0, (1 << 64) - 1), st.lists(st.integers(0, 63), max_size=20),
       st.integers(0, 16))
def test_index_answers_as_brute_force(rows: list[tuple[int, int]], query: int,
                                      flips: list[int], distance: int) -> None:
    """Any codes, some planted near the query: the index returns exactly the codes of the
    query's unit within the distance, as comparing with every code does."""
    near = query
    for f in flips:
        near ^= 1 << f
    rows = [*rows, (1, near), (0, near)]
    store = SimilarityStore(None)
    key = "ed25519:" + "00" * 32
    store.add(0, len(rows), [CodeRow(i, u, b, key) for i, (u, b) in enumerate(rows)])
    got = {r.index for r in store.candidates(1, query, distance)}
    want = {i for i, (u, b) in enumerate(rows) if u == 1 and (b ^ query).bit_count() <= distance}
    assert got == want
    store.close()


def test_other_keys_works_are_found_without_reading_the_keys_own(ledger: Ledger) -> None:
    """A key with many similar works of its own (a series of near-identical pages) asks for the
    similar works of other keys: it gets them, nearest first, and the look-up reads none of
    its own registrations back from the log; a limit stops at the nearest."""
    rival = PrivateKey.from_seed(bytes([2]) * 32)
    own = [_register(n, ContentCode(Unit.IMAGE, _flip(BASE, n % 3))) for n in range(40)]
    theirs = [_register(100 + n, ContentCode(Unit.IMAGE, _flip(BASE, 4 + n)), rival)
              for n in range(3)]
    ledger.append_block(own + theirs, NOW)
    read: list[int] = []
    entry = ledger.store.entry

    def counted(index: int) -> object:
        read.append(index)
        return entry(index)

    ledger.store.entry = counted  # type: ignore[method-assign]
    with SimilarityIndex(ledger) as index:
        index.catch_up()
        read.clear()
        found = index.near(ContentCode(Unit.IMAGE, BASE), 8, other_than=OWNER.public.text)
        assert [(s.work, s.distance) for s in found] == [(_work(100 + n), 4 + n)
                                                         for n in range(3)]
        assert set(read) <= {40, 41, 42}, read
        read.clear()
        nearest = index.near(ContentCode(Unit.IMAGE, BASE), 8, limit=2)
        assert [s.distance for s in nearest] == [0, 0]
        assert len(read) == 2
        assert index.near(ContentCode(Unit.IMAGE, BASE), 8, before=40,
                          other_than=OWNER.public.text) == []


def test_an_index_of_the_schema_before_is_rebuilt_with_registrants(tmp_path: Path,
                                                                    ledger: Ledger) -> None:
    """An index file left by the release before (schema 2, no registrant column) is emptied
    and built again from the log on the next look-up."""
    rival = PrivateKey.from_seed(bytes([2]) * 32)
    ledger.append_block([_register(0, ContentCode(Unit.IMAGE, BASE), rival)], NOW)
    path = tmp_path / "old.similarity.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    old.execute("CREATE TABLE codes (idx INTEGER PRIMARY KEY, unit INTEGER NOT NULL, "
                "bits INTEGER NOT NULL, c0 INTEGER NOT NULL, c1 INTEGER NOT NULL, "
                "c2 INTEGER NOT NULL)")
    old.execute("INSERT INTO meta VALUES ('schema', '2'), ('watermark', '1'), ('first', ?)",
                (ledger.store.entry(0).id.hex(),))
    old.execute("INSERT INTO codes VALUES (0, 1, 5, 0, 0, 5)")
    old.commit()
    old.close()
    with SimilarityIndex(ledger, path) as index:
        found = index.near(ContentCode(Unit.IMAGE, BASE), 0, other_than=OWNER.public.text)
        assert [(s.work, s.registrant) for s in found] == [(_work(0), rival.public.text)]
