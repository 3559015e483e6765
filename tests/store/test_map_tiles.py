"""The map's nodes are keyed by tile (specs/map.md section 10, table; specs/storage.md sections
2 and 6), and homes keyed as schema 4 keyed them are migrated in place, proofs unchanged.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path

import psycopg
import pytest

from provenance_ledger.core import vmap
from provenance_ledger.ledger import Home, audit
from provenance_ledger.store import SqliteStore
from provenance_ledger.store.base import Block
from provenance_ledger.store.map_tiles import key_v4, position_v4, tile_key, tile_position
from provenance_ledger.store.postgres import PostgresStore
from provenance_ledger.store.sqlite import SCHEMA_VERSION

from ..conftest import NOW, KeyFactory, Signer
from ..ledger.test_ledger import map_of

MEDIA = {"size": 1, "media_type": "text/plain"}


def positions(seed: int, n: int) -> list[int]:
    rng = random.Random(seed)
    out = [1, 2, 3, 255, 256, (1 << 16) | 0xABCD, 1 << 256, (2 << 256) - 1]
    for _ in range(n):
        d = rng.randrange(257)
        out.append((1 << d) | rng.getrandbits(d) if d else 1)
    return out


def test_a_key_names_its_tile_then_its_place_in_it() -> None:
    # Depth 20, prefix 0xabcde: tile level 2 (byte 3), tile prefix 0xabcd, place 1 0b1110.
    assert tile_key((1 << 20) | 0xABCDE) == bytes.fromhex("03abcd1e")
    assert tile_key(1) == b"\x01\x01" and tile_key(1 << 8) == b"\x02\x00\x01"
    assert tile_key(1 << 256) == b"\x21" + bytes(32) + b"\x01"
    for pos in positions(1, 5000):
        assert tile_position(tile_key(pos)) == pos
        assert position_v4(key_v4(pos)) == pos
    for junk in (b"", b"\x01", b"\x03\x00\x00", b"\x02\x00\x00", b"\x05" + bytes(5)):
        assert tile_position(junk) == 0 or tile_key(tile_position(junk)) == junk


def test_a_tiles_nodes_are_neighbours_and_the_upper_levels_one_range() -> None:
    """What makes a block write a page or two per changed subtree (the nodes of a key's
    path within a tile sort together), and lets a writer load the levels above 16 at once."""
    nodes = sorted(set(positions(2, 3000)), key=tile_key)
    tiles = [(pos.bit_length() - 1) // 8 for pos in nodes]  # the tile level
    roots = [pos >> (pos.bit_length() - 1) % 8 for pos in nodes]  # the tile's root
    runs = [r for i, r in enumerate(roots) if i == 0 or roots[i - 1] != r]
    assert len(runs) == len(set(roots))  # each tile's nodes form one run of the order
    assert tiles == sorted(tiles)  # by tile level first
    upper = [tile_key(p) < bytes((3,)) for p in nodes]
    assert upper == [p < 1 << 16 for p in nodes] == sorted(upper, reverse=True)


# --- migrating a schema 4 home ----------------------------------------------------------------


def deep_works(n: int) -> list[str]:
    """Works whose keys share their first 20 bits (their nodes lie below depth 16), and as
    many with random keys."""
    works = []
    for i in range(n):
        rest = hashlib.sha256(b"deep %d" % i).hexdigest()
        works.append("sha256:abcde" + rest[5:])
        works.append("sha256:" + hashlib.sha256(b"wide %d" % i).hexdigest())
    return works


def as_version_4(db: Path) -> None:
    """Key the map's rows as schema 4 did, and record the home as schema 4."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT pos, node FROM map_nodes").fetchall()
        conn.execute("DELETE FROM map_nodes")
        conn.executemany("INSERT INTO map_nodes VALUES (?, ?)",
                         [(key_v4(tile_position(k)), n) for k, n in rows])
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0004_map_tiles'")


@pytest.fixture(scope="module")
def v4_home(tmp_path_factory: pytest.TempPathFactory, sign: Signer,
            keys: KeyFactory) -> tuple[Path, list[bytes]]:
    """A home of 60 works (30 of them deep), its map keyed as schema 4 keyed it; a pristine
    copy that each test copies."""
    home = Home(tmp_path_factory.mktemp("v4") / "home")
    creator = keys("creator")
    events = [sign(creator, "work.register", w, MEDIA) for w in deep_works(30)]
    leaves = [e.leaf for e in events]
    ledger = home.open_ledger()
    ledger.append_block(leaves[:40], NOW)
    ledger.append_block(leaves[40:], NOW)
    ledger.close()
    as_version_4(home.db_path)
    return home.path, leaves


def copy_home(src: Path, dst: Path) -> Home:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
        (dst / f.name).chmod(0o600)
    return Home(dst)


def test_a_schema_4_home_is_rekeyed_on_open_with_the_same_map(
        v4_home: tuple[Path, list[bytes]], tmp_path: Path, sign: Signer,
        keys: KeyFactory) -> None:
    src, leaves = v4_home
    home = copy_home(src, tmp_path / "home")
    with sqlite3.connect(home.db_path) as conn:
        before = {position_v4(k): n for k, n in conn.execute("SELECT pos, node FROM map_nodes")}
    assert max(before).bit_length() - 1 >= 20  # the deep works' nodes are below depth 16

    ledger = home.open_ledger()
    try:
        assert ledger.store.get_meta("schema") == SCHEMA_VERSION == "5"
        with sqlite3.connect(home.db_path) as conn:
            rows = dict(conn.execute("SELECT pos, node FROM map_nodes"))
        assert rows == {tile_key(p): n for p, n in before.items()}
        assert dict(ledger.store.all_map_nodes()) == before
        assert ledger.store.map_nodes_above(16) == {p: n for p, n in before.items()
                                                    if p < 1 << 16}
        # Proofs read the new keys and are byte for byte what the map gives.
        works = deep_works(30)
        cp, _ = ledger.latest_checkpoint()
        assert cp.map_root == map_of(leaves)
        memory = vmap.MemoryMap()
        memory.nodes, memory.root = dict(before), cp.map_root
        keys_ = [vmap.map_key(w) for w in works]
        assert vmap.prove(ledger.store, keys_) == vmap.prove(memory, keys_)
        current = ledger.current(works[:3])
        assert current is not None and all(len(current.works[w]) == 1 for w in works[:3])
        # Appending builds on the rekeyed map (deep keys included) and signs the right root.
        more = [sign(keys("creator"), "work.register", f"sha256:abcde{i:059x}", MEDIA)
                for i in range(70)]
        ledger.append_block([e.leaf for e in more], NOW)
        cp, _ = ledger.latest_checkpoint()
        assert cp.map_root == map_of(leaves + [e.leaf for e in more])
        assert audit(ledger).entries == len(leaves) + 70
    finally:
        ledger.close()
    with sqlite3.connect(home.db_path) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
    assert applied[-1] == "0004_map_tiles"


def test_a_read_only_schema_4_home_reads_its_map_as_keyed(
        v4_home: tuple[Path, list[bytes]], tmp_path: Path) -> None:
    src, leaves = v4_home
    home = copy_home(src, tmp_path / "home")
    store = SqliteStore(home.db_path, readonly=True)
    try:
        keys_ = [vmap.map_key(w) for w in deep_works(30)]
        proof = vmap.prove(store, keys_)
        values = vmap.verify_map_proof(map_of(leaves), keys_, proof)
        assert all(v is not None and v.count == 1 for v in values.values())
    finally:
        store.close()
    with sqlite3.connect(home.db_path) as conn:  # nothing was migrated
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("4",)


def test_a_schema_4_postgresql_store_is_rekeyed_on_open(schema_url: str) -> None:
    nodes = {p: hashlib.sha256(p.to_bytes(33, "big")).digest() + (b"" if p % 3 else bytes(48))
             for p in positions(3, 400)}
    store = PostgresStore(schema_url)
    store.commit_block(Block(map_nodes=nodes, map_size=0, map_start=0))
    store.close()
    with psycopg.connect(schema_url, autocommit=True) as conn, conn.transaction():
        conn.execute("DELETE FROM map_nodes")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO map_nodes VALUES (%s, %s)",
                            [(key_v4(p), n) for p, n in nodes.items()])
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
        conn.execute("DELETE FROM migrations WHERE name = '0002_map_tiles'")

    store = PostgresStore(schema_url)
    try:
        assert store.get_meta("schema") == SCHEMA_VERSION
        assert dict(store.all_map_nodes()) == nodes
        assert store.map_nodes(list(nodes)[:50]) == {p: nodes[p] for p in list(nodes)[:50]}
        assert store.map_nodes_above(16) == {p: n for p, n in nodes.items() if p < 1 << 16}
        assert store.map_nodes_at(20) == {p: n for p, n in nodes.items()
                                          if p.bit_length() == 21}
    finally:
        store.close()
    with psycopg.connect(schema_url, autocommit=True) as conn:
        stored = {bytes(k) for (k,) in conn.execute("SELECT pos FROM map_nodes")}
    assert stored == {tile_key(p) for p in nodes}
