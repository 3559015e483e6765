"""Period shards of a node whose log is in PostgreSQL (specs/node.md section 10.1, specs/
storage.md section 6.4): the rotation copies the log out into a SQLite file in the home, which
is served as a SQLite node's frozen shard is, and only then makes the database the new, empty
log; a rotation cut short anywhere is finished by the next run, with nothing lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from provenance_ledger.core.events import SignedEvent
from provenance_ledger.core.note import Checkpoint, SignedNote, Verifier
from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.errors import StorageError
from provenance_ledger.ledger import Appended, Home, Ledger, audit
from provenance_ledger.ledger.similarity import SimilarityIndex
from provenance_ledger.node import init_node, load_config
from provenance_ledger.node import shards as shards_module
from provenance_ledger.node.config import open_node_ledger
from provenance_ledger.node.shard_manifest import load_manifest, shard_dir, shard_id
from provenance_ledger.node.shards import finish_rotation, frozen_ledger, rotate
from provenance_ledger.store import PostgresStore
from provenance_ledger.store import freeze as freeze_module

from ..cli.conftest import run
from ..conftest import NOW, KeyFactory, Signer
from .conftest import HOST, ORIGIN, free_port, grant, register, running, work

NEW = "node-a.test/log/2027"
NAMES = ("pg-old-1", "pg-old-2", "pg-old-3")


def make_home(path: Path, url: str, sign: Signer, keys: KeyFactory
              ) -> tuple[dict[str, SignedEvent], dict[str, Any], str]:
    """A node home on PostgreSQL whose log holds three registrations in two blocks, and its
    similarity index: (events by name, the receipt of the first, the log's verifier key)."""
    init_node(path, ORIGIN, f"{HOST}:{free_port()}", store=url)
    ledger = open_node_ledger(path, load_config(path))
    try:
        regs = {n: register(sign, keys("alice"), n) for n in NAMES}
        leaves = [e.leaf for e in regs.values()]
        for block in (leaves[:1], leaves[1:]):
            assert all(isinstance(r, Appended) for r in ledger.append_block(block, NOW))
        with SimilarityIndex(ledger) as index:  # kept in the home, beside the database
            index.catch_up()
        assert (path / "ledger.similarity.db").is_file()
        return regs, ledger.receipt(0).to_json(), ledger.vkey
    finally:
        ledger.close()


def database(url: str) -> tuple[str, int, list[int]]:
    """What the PostgreSQL schema holds: its origin, entry count, checkpoint sizes."""
    with psycopg.connect(url) as conn:
        origin = conn.execute("SELECT value FROM meta WHERE key = 'origin'").fetchone()
        count = conn.execute("SELECT count(*) FROM entries").fetchone()
        sizes = [r[0] for r in conn.execute("SELECT size FROM checkpoints ORDER BY size")]
    assert origin is not None and count is not None
    return origin[0], count[0], sizes


def frozen_file(home: Path) -> Path:
    return shard_dir(home, ORIGIN) / "ledger.db"


def assert_rotated(home: Path, url: str, regs: dict[str, SignedEvent], old_vkey: str) -> None:
    """The end state of a rotation: nothing lost, the frozen shard readable with the old key,
    the database the empty log of NEW with its empty tree's checkpoint signed."""
    manifest = load_manifest(home, NEW)
    assert manifest.rotating is None and manifest.current == NEW
    (shard,) = manifest.frozen
    assert (shard.origin, shard.final_size, shard.vkey) == (ORIGIN, 3, old_vkey)
    assert load_config(home).origin == NEW
    origin, count, sizes = database(url)
    assert (origin, count, sizes) == (NEW, 0, [0])
    ledger = Home(home).open_ledger()
    try:
        _, note = ledger.latest_checkpoint()
        assert Checkpoint.from_text(SignedNote.from_text(note).text).origin == NEW
    finally:
        ledger.close()
    path = frozen_file(home)
    assert path.stat().st_mode & 0o777 == 0o600
    # the log is one file; the similarity index moved beside it (node.md section 10.1)
    assert sorted(p.name for p in path.parent.iterdir()) == ["ledger.db",
                                                             "ledger.similarity.db"]
    assert not (home / "ledger.similarity.db").exists()
    with frozen_ledger(home, shard) as frozen:
        assert frozen.size == 3
        assert [frozen.store.entry(i).id.hex() for i in range(3)] == [
            e.id for e in regs.values()]
        assert frozen.store.latest_checkpoint() == frozen.store.checkpoint(3)
        receipt = frozen.receipt(2)
        assert verify_receipt(receipt, [Verifier.from_vkey(old_vkey)]).checkpoint.size == 3
        assert audit(frozen).entries == 3


def test_a_node_on_postgresql_rotates_and_serves_the_frozen_log_from_a_file(
        tmp_path: Path, schema_url: str, sign: Signer, keys: KeyFactory) -> None:
    home = tmp_path / "node"
    regs, old_receipt, old_vkey = make_home(home, schema_url, sign, keys)
    old = Verifier.from_vkey(old_vkey)

    out = run("node", "shard", "rotate", "--home", home, "--origin", NEW, home=home).out
    assert f"frozen {ORIGIN} at size 3 (shard {shard_id(ORIGIN)})" in out
    assert f"now logging as {NEW}" in out
    assert_rotated(home, schema_url, regs, old_vkey)
    assert not (home / "ledger.db").exists()
    assert (home / "store.url").read_text() == schema_url + "\n"
    assert verify_receipt(Receipt.from_json(old_receipt), [old]).checkpoint.origin == ORIGIN

    with running(home) as node, node.client() as c:
        new = Verifier.from_vkey(c.get("/keys").json()["log"])
        assert new.name == NEW and new.public_key.raw == old.public_key.raw
        (frozen,) = c.get("/shards").json()["frozen"]
        assert (frozen["origin"], frozen["final_size"]) == (ORIGIN, 3)
        served = c.get(f"/shards/{frozen['id']}/receipts/{regs['pg-old-2'].id}").json()
        assert verify_receipt(Receipt.from_json(served), [old]).checkpoint.size == 3
        r = c.get(f"/receipts/{regs['pg-old-2'].id[:12]}")  # looked up across the shards
        assert r.headers["provenance-shard"] == ORIGIN and r.json() == served
        r = c.get(f"/works/{work('pg-old-3')}")
        assert r.status_code == 200 and r.headers["provenance-shard"] == ORIGIN

        # A new event on a work of the frozen log: carried, then appended in PostgreSQL.
        granted = grant(sign, keys("alice"), "pg-old-1", prev=regs["pg-old-1"].id)
        r = c.post("/events", content=granted.leaf)
        assert r.status_code == 200, r.text
        assert verify_receipt(Receipt.from_json(r.json()), [new]).checkpoint.origin == NEW
        view = c.get(f"/works/{work('pg-old-1')}").json()
        assert [h["event"]["id"] for h in view["history"]] == [regs["pg-old-1"].id, granted.id]
    origin, count, _ = database(schema_url)
    assert (origin, count) == (NEW, 2)  # the carried registration and the grant
    with psycopg.connect(schema_url) as conn:
        ids = [bytes(r[0]).hex() for r in conn.execute("SELECT id FROM entries ORDER BY idx")]
    assert ids == [regs["pg-old-1"].id, granted.id]
    with frozen_ledger(home, load_manifest(home, NEW).frozen[0]) as frozen_log:
        assert frozen_log.size == 3  # the frozen file never changes


class Killed(Exception):
    """The process killed at a step of the rotation."""


def kill(*args: object, **kwargs: object) -> None:
    raise Killed


@pytest.mark.parametrize("cut", ["copy", "moves", "reset", "sign", "config"])
def test_a_postgresql_rotation_cut_short_is_finished_by_the_next_run(
        tmp_path: Path, schema_url: str, sign: Signer, keys: KeyFactory,
        monkeypatch: pytest.MonkeyPatch, cut: str) -> None:
    """Killed while the log is copied (a half-written copy left), with the copy in place but
    the cosignatures not moved, or the database not reset, with the database reset but its
    empty checkpoint not signed, or before node.toml: the next run ends in the one state a
    whole rotation ends in."""
    home = tmp_path / "node"
    regs, _, old_vkey = make_home(home, schema_url, sign, keys)
    signing = Ledger.checkpoint_empty_log

    def unsigned(self: Ledger, now: int) -> bool:
        if self.origin == NEW:
            raise Killed
        return signing(self, now)

    target = {"copy": (freeze_module, "_check", kill),
              "moves": (shards_module, "move_own_cosignatures", kill),
              "reset": (PostgresStore, "reset_log", kill),
              "sign": (Ledger, "checkpoint_empty_log", unsigned),
              "config": (shards_module, "_write_config", kill)}[cut]
    monkeypatch.setattr(*target)
    with pytest.raises(Killed):
        rotate(home, NEW, NOW)
    monkeypatch.undo()
    assert load_manifest(home, ORIGIN).rotating is not None
    assert load_config(home).origin == ORIGIN
    origin, count, sizes = database(schema_url)
    if cut in ("copy", "moves", "reset"):  # the log is still whole in PostgreSQL
        assert (origin, count, sizes) == (ORIGIN, 3, [1, 3])
    else:
        assert (origin, count, sizes) == (NEW, 0, [] if cut == "sign" else [0])
    if cut == "copy":
        assert not frozen_file(home).exists()
        # a kill, unlike an exception, leaves the half-written copy behind
        freeze_module.part_path(frozen_file(home)).write_bytes(b"half a copy")
    else:
        assert frozen_file(home).is_file()

    manifest = finish_rotation(home)
    assert manifest.rotating is None
    assert_rotated(home, schema_url, regs, old_vkey)
    assert finish_rotation(home) == manifest  # and again: nothing left to do


def test_a_copy_that_is_not_the_frozen_log_never_empties_the_database(
        tmp_path: Path, schema_url: str, sign: Signer, keys: KeyFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "node"
    make_home(home, schema_url, sign, keys)
    monkeypatch.setattr(PostgresStore, "reset_log", kill)
    with pytest.raises(Killed):
        rotate(home, NEW, NOW)
    monkeypatch.undo()
    with sqlite3.connect(frozen_file(home)) as conn:  # the copy loses the final checkpoint
        conn.execute("DELETE FROM checkpoints WHERE size = 3")
    err = run("node", "shard", "list", "--home", home, home=home, ok_codes=(2,)).err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line, exit 2
    assert "final checkpoint (size 3): the log in PostgreSQL is left as it is" in err
    with pytest.raises(StorageError, match="final checkpoint .* left as it is"):
        finish_rotation(home)
    assert database(schema_url) == (ORIGIN, 3, [1, 3])
    assert load_manifest(home, ORIGIN).rotating is not None


def test_an_event_appended_after_the_copy_is_copied_again_never_lost(
        tmp_path: Path, schema_url: str, sign: Signer, keys: KeyFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that appends while the rotation is stopped between the copy and the reset
    (a command run on the stopped node's home): the next run journals the log's new latest
    checkpoint as the final one and copies the log again, whole, so the frozen log is
    exactly the log up to its final checkpoint."""
    home = tmp_path / "node"
    regs, _, _ = make_home(home, schema_url, sign, keys)
    monkeypatch.setattr(PostgresStore, "reset_log", kill)
    with pytest.raises(Killed):
        rotate(home, NEW, NOW)
    monkeypatch.undo()
    late = grant(sign, keys("alice"), "pg-old-1", prev=regs["pg-old-1"].id)
    ledger = Home(home).open_ledger()
    try:
        assert isinstance(ledger.append_block([late.leaf], NOW)[0], Appended)
    finally:
        ledger.close()
    manifest = finish_rotation(home)
    shard = manifest.frozen[0]
    assert shard.final_size == 4 and database(schema_url)[:2] == (NEW, 0)
    with frozen_ledger(home, shard) as frozen:
        assert frozen.size == 4 and frozen.store.entry(3).id.hex() == late.id
        latest = frozen.store.latest_checkpoint()
        assert latest is not None and (latest.note, latest.root.hex()) == (
            shard.final_checkpoint, shard.final_root)
