"""Period shards (specs/node.md section 10): a node rotates to a new log, the old one is
frozen at its final checkpoint and still served and verifiable, works registered in it are
still found and carried into the new log when they change, a rotation cut short is finished
when the node starts, and a mirror of the node keeps the frozen log without failing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.current import StateReceiptV2, verify_state_receipt_v2
from provenance_ledger.core.encoding import b64encode
from provenance_ledger.core.events import SignedEvent
from provenance_ledger.core.identity import key_record_id
from provenance_ledger.core.note import (
    Checkpoint,
    NoteSigner,
    SignedNote,
    Verifier,
    verify_note,
)
from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.core.witness import add_checkpoint_body
from provenance_ledger.errors import MalformedError
from provenance_ledger.ledger import Appended, Home
from provenance_ledger.node import add_peer, init_node, load_config, node_witness, remove_peer
from provenance_ledger.node import shards as shards_module
from provenance_ledger.node.config import open_node_ledger
from provenance_ledger.node.mirror import sync_all
from provenance_ledger.node.shard_manifest import (
    FrozenShard,
    Manifest,
    load_manifest,
    save_manifest,
    shard_id,
)
from provenance_ledger.node.shards import finish_rotation, rotate

from ..cli.conftest import run
from ..conftest import NOW, KeyFactory, Signer
from ..core.test_keystate import Log as KeyLog
from ..core.test_keystate import grant_body as key_grant
from ..core.test_keystate import pub as key_pub
from .conftest import HOST, ORIGIN, PEER, free_port, grant, register, running, work

NEW = "node-a.test/log/2027"
KEY_LOG = PrivateKey.from_seed(hashlib.sha256(b"shards log key").digest())
NAMES = ("old-1", "old-2", "old-3")


def make_home(path: Path, sign: Signer, keys: KeyFactory, tiles: str = ""
              ) -> tuple[dict[str, SignedEvent], dict[str, Any], str]:
    """A node home whose log holds three registrations: (events by name, the receipt of the
    first, the log's verifier key)."""
    init_node(path, ORIGIN, f"{HOST}:{free_port()}", tiles=tiles)
    ledger = open_node_ledger(path, load_config(path))
    try:
        regs = {n: register(sign, keys("alice"), n) for n in NAMES}
        assert all(isinstance(r, Appended)
                   for r in ledger.append_block([e.leaf for e in regs.values()], NOW))
        return regs, ledger.receipt(0).to_json(), ledger.vkey
    finally:
        ledger.close()


def one_line_error(err: str, *words: str) -> None:
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for w in words:
        assert w in err, err


def test_rotation_freezes_the_log_and_look_ups_span_the_shards(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home = tmp_path / "node"
    regs, old_receipt, old_vkey = make_home(home, sign, keys)
    old = Verifier.from_vkey(old_vkey)

    out = run("node", "shard", "rotate", "--home", home, "--origin", NEW, home=home).out
    assert f"frozen {ORIGIN} at size 3 (shard {shard_id(ORIGIN)})" in out
    assert f"now logging as {NEW}" in out

    with running(home) as node, node.client() as c:
        keys_doc = c.get("/keys").json()
        new = Verifier.from_vkey(keys_doc["log"])
        assert keys_doc["origin"] == NEW and new.public_key.raw == old.public_key.raw

        # A consent granted in the new log to a work registered in the frozen one: its
        # history is carried first, and the rules replay the whole of it.
        granted = grant(sign, keys("alice"), "old-1", prev=regs["old-1"].id)
        r = c.post("/events", content=granted.leaf)
        assert r.status_code == 200, r.text
        receipt = Receipt.from_json(r.json())
        assert verify_receipt(receipt, [new]).checkpoint.origin == NEW
        view = c.get(f"/works/{work('old-1')}").json()
        assert [h["event"]["id"] for h in view["history"]] == [regs["old-1"].id, granted.id]
        assert len(view["state"]["grants"]) == 1

        # A work only the frozen shard holds is found there, and its complete state receipt
        # verifies with the frozen log's key; the current log proves it absent.
        r = c.get(f"/works/{work('old-2')}")
        assert r.status_code == 200 and r.headers["provenance-shard"] == ORIGIN
        assert r.json()["state"]["registrant"] == keys("alice").public.text
        r = c.get(f"/works/{work('old-2')}/state-receipt")
        frozen_state = verify_state_receipt_v2(StateReceiptV2.from_json(r.json()), [old])
        assert [w.work for w in frozen_state.works] == [work("old-2")]
        absent = c.post("/state-receipts", json={"works": [work("old-2")]}).json()
        assert verify_state_receipt_v2(StateReceiptV2.from_json(absent),
                                       [new]).works[0].state is None

        # A second registration of a work of the frozen log is refused, as in one log.
        again = register(sign, keys("bob"), "old-3")
        r = c.post("/events", content=again.leaf)
        assert (r.status_code, r.json()["head"]) == (409, regs["old-3"].id)

        # The frozen shard: listed, served, its final checkpoint signed by the old key.
        listing = c.get("/shards").json()
        assert listing["current"]["origin"] == NEW
        (frozen,) = listing["frozen"]
        assert (frozen["origin"], frozen["final_size"]) == (ORIGIN, 3)
        sid = frozen["id"]
        note = c.get(f"/shards/{sid}/checkpoint").text
        verify_note(SignedNote.from_text(note), [old])
        assert Checkpoint.from_text(SignedNote.from_text(note).text).size == 3
        served = c.get(f"/shards/{sid}/receipts/{regs['old-2'].id}").json()
        assert verify_receipt(Receipt.from_json(served), [old]).checkpoint.size == 3
        r = c.get(f"/receipts/{regs['old-2'].id[:12]}")  # looked up across the shards
        assert r.headers["provenance-shard"] == ORIGIN and r.json() == served
        refused = c.post(f"/shards/{sid}/events", content=again.leaf)
        assert refused.status_code == 403 and NEW in refused.json()["error"]

        # No rotation while the node serves.
        busy = run("node", "shard", "rotate", "--home", home, "--origin", "x.test/2028",
                   home=home, ok_codes=(2,))
        one_line_error(busy.err, "is serving", "serve.lock")

    # A receipt of the frozen log still verifies offline with its key.
    kept = tmp_path / "old-receipt.json"
    kept.write_text(json.dumps(old_receipt))
    run("verify", kept, "--log-key", old_vkey, home=tmp_path / "verifier")


def test_rotation_refuses_an_origin_it_cannot_take(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home = tmp_path / "node"
    make_home(home, sign, keys)
    rotate(home, NEW, NOW)
    for origin, words in ((NEW, ("current log's origin",)),
                          (ORIGIN, ("frozen shard", "forever")),
                          ("two words", ("--origin", "white space"))):
        err = run("node", "shard", "rotate", "--home", home, "--origin", origin,
                  home=home, ok_codes=(2,)).err
        one_line_error(err, *words)
    assert [s.origin for s in load_manifest(home, NEW).frozen] == [ORIGIN]
    listed = json.loads(run("node", "shard", "list", "--home", home, "--json", home=home).out)
    assert listed["current"] == NEW
    assert [(f["origin"], f["final_size"]) for f in listed["frozen"]] == [(ORIGIN, 3)]


def _cut_short(home: Path, monkeypatch: pytest.MonkeyPatch, cut: str) -> None:
    """A rotation to NEW killed before its files move or before node.toml is written."""

    def killed(*args: object) -> None:
        raise OSError("killed")

    monkeypatch.setattr(shards_module, "_move" if cut == "before-moves" else "_write_config",
                        killed)
    with pytest.raises(OSError):
        rotate(home, NEW, NOW)
    monkeypatch.undo()


@pytest.mark.parametrize("cut", ["before-moves", "before-config"])
def test_a_rotation_cut_short_is_finished_when_the_node_starts(
        tmp_path: Path, sign: Signer, keys: KeyFactory, monkeypatch: pytest.MonkeyPatch,
        cut: str) -> None:
    home = tmp_path / "node"
    regs, _, _ = make_home(home, sign, keys)
    _cut_short(home, monkeypatch, cut)
    assert load_manifest(home, ORIGIN).rotating is not None
    assert load_config(home).origin == ORIGIN  # node.toml not yet written

    with running(home) as node, node.client() as c:
        assert c.get("/keys").json()["origin"] == NEW
        (frozen,) = c.get("/shards").json()["frozen"]
        assert (frozen["origin"], frozen["final_size"]) == (ORIGIN, 3)
        r = c.get(f"/works/{work('old-1')}")
        assert r.status_code == 200 and r.json()["history"][0]["event"]["id"] == \
            regs["old-1"].id
    manifest = finish_rotation(home)
    assert manifest.rotating is None and manifest.current == NEW


@pytest.mark.parametrize("cut", ["before-moves", "before-config"])
def test_the_same_rotate_command_run_again_finishes_the_cut_short_rotation(
        tmp_path: Path, sign: Signer, keys: KeyFactory, monkeypatch: pytest.MonkeyPatch,
        cut: str) -> None:
    """A user whose ``node shard rotate --origin NEW`` was cut short (Ctrl-C, a crash) runs
    it again: it finishes that rotation and says so, exit 0, rather than finish it and then
    refuse NEW as the current origin."""
    home = tmp_path / "node"
    make_home(home, sign, keys)
    _cut_short(home, monkeypatch, cut)
    out = run("node", "shard", "rotate", "--home", home, "--origin", NEW, home=home).out
    assert f"frozen {ORIGIN} at size 3" in out and f"now logging as {NEW}" in out
    manifest = load_manifest(home, NEW)
    assert manifest.rotating is None and manifest.current == NEW
    assert [s.origin for s in manifest.frozen] == [ORIGIN]
    # Once it is done, the same origin again is the current one: refused as before.
    err = run("node", "shard", "rotate", "--home", home, "--origin", NEW, home=home,
              ok_codes=(2,)).err
    one_line_error(err, "current log's origin")


def test_a_log_appended_to_before_a_cut_short_rotation_ends_is_frozen_whole(
        tmp_path: Path, sign: Signer, keys: KeyFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An event appended to the old log between a rotation cut short (before any file
    moved) and its finish: the finish journals the log's latest checkpoint as the final
    one, so the frozen shard is exactly its log, never entries past its final checkpoint."""
    home = tmp_path / "node"
    regs, _, _ = make_home(home, sign, keys)

    def killed(*args: object) -> None:
        raise OSError("killed")

    monkeypatch.setattr(shards_module, "_move", killed)
    with pytest.raises(OSError):
        rotate(home, NEW, NOW)
    monkeypatch.undo()
    late = grant(sign, keys("alice"), "old-1", prev=regs["old-1"].id)
    ledger = Home(home).open_ledger()  # a command that opens the home, not the node
    try:
        assert isinstance(ledger.append_block([late.leaf], NOW)[0], Appended)
    finally:
        ledger.close()
    manifest = finish_rotation(home)
    (shard,) = manifest.frozen
    assert shard.final_size == 4
    with shards_module.frozen_ledger(home, shard) as frozen:
        latest = frozen.store.latest_checkpoint()
        assert frozen.size == 4 and latest is not None
        assert (latest.note, latest.root.hex()) == (shard.final_checkpoint, shard.final_root)


def test_a_mirror_keeps_the_frozen_shard(tmp_path: Path, sign: Signer,
                                         keys: KeyFactory) -> None:
    home = tmp_path / "node"
    _, _, old_vkey = make_home(home, sign, keys)
    mirror = tmp_path / "mirror"
    init_node(mirror, "mirror.test/log", f"{HOST}:{free_port()}")
    with running(home) as node:
        add_peer(mirror, ORIGIN, node.url, old_vkey)
        with node_witness(mirror) as witness:
            (first,) = sync_all(mirror, load_config(mirror), witness, NOW)
    assert (first.status, first.new_size) == ("mirrored", 3)

    rotate(home, NEW, NOW)
    with running(home) as node:
        remove_peer(mirror, ORIGIN)  # the same node, started again on another free port
        add_peer(mirror, ORIGIN, node.url, old_vkey)
        with node_witness(mirror) as witness:
            (after,) = sync_all(mirror, load_config(mirror), witness, NOW)
        assert (after.status, after.new_size) == ("frozen", 3), after
        assert NEW in after.detail and "node peer add" in after.detail
        out = run("node", "sync", "--home", mirror, home=mirror).out
        assert f"{ORIGIN}: frozen 3 -> 3" in out


def test_a_client_that_pinned_the_node_follows_the_rotation(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home = tmp_path / "node"
    _, _, old_vkey = make_home(home, sign, keys)
    user = tmp_path / "user"
    with running(home) as node:
        run("status", work("old-2"), "--node", node.url, home=user)  # pins the key
        before = node.url
    rotate(home, NEW, NOW)
    with running(home) as node:
        # The same node at the same URL (here another free port: the pin is moved along).
        pins = user / "nodes"
        (pins / pin_name(before)).rename(pins / pin_name(node.url))
        shown = run("status", work("old-2"), "--node", node.url, "--json", home=user).out
        assert json.loads(shown)["registrant"] == keys("alice").public.text
        kept = tmp_path / "old-2.receipt.json"
        run("receipt", work("old-2"), "--node", node.url, "-o", kept, home=user)
        receipt = Receipt.from_json(json.loads(kept.read_text()))
        assert receipt.log_key == old_vkey and receipt.checkpoint.startswith(ORIGIN + "\n")
        assert NEW in (pins / pin_name(node.url)).read_text()


def pin_name(url: str) -> str:
    return f"{hashlib.sha256(url.encode()).hexdigest()[:16]}.vkey"


def test_a_rotated_key_carries_its_record_into_the_new_log(tmp_path: Path) -> None:
    """The rules of a work of the frozen log read the key records of its keys (specs/rules.md
    section 9): those are carried too, so the new key signs for the work in the new log, the
    rotated-away key no longer does, and the new log's state receipt replays alone."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    log = KeyLog()
    works = [log.register("old", "page 0"), log.register("old", "page 1")]
    log.rotate("old", "new")
    ledger = open_node_ledger(home, load_config(home))
    try:
        done = ledger.append_block([ev.leaf for evs in log.events.values() for ev in evs],
                                   NOW + 10)
        assert all(isinstance(r, Appended) for r in done)
    finally:
        ledger.close()
    rotate(home, NEW, NOW + 10)

    ledger = open_node_ledger(home, load_config(home))
    try:
        granted = log.do("new", "consent.grant", works[0], key_grant())
        refused = log.event("old", "consent.grant", works[1], key_grant())
        first, second = ledger.append_block([granted.leaf, refused.leaf], NOW + 10)
        assert isinstance(first, Appended)
        assert "controller" in str(second)
        rid = key_record_id(key_pub("old"))
        assert ledger.store.works_present({rid, works[1]}) == {rid, works[1]}
        complete = ledger.complete_state_receipt([works[0]])
        assert complete is not None
        proven = verify_state_receipt_v2(complete, [ledger.verifier],
                                         keys=ledger.key_record).works[0].state
        assert proven is not None and len(proven.grants) == 1
        assert proven.registered_at == log.states[works[0]].registered_at
    finally:
        ledger.close()


def test_the_shard_manifest_round_trips_and_a_bad_one_is_one_line(tmp_path: Path) -> None:
    shard = FrozenShard(ORIGIN, Verifier(ORIGIN, 1, KEY_LOG.public).to_vkey(), NOW, NOW + 5,
                        3, "ab" * 32, "note")
    manifest = Manifest(NEW, NOW + 5, (shard,), None)
    save_manifest(tmp_path, manifest)
    assert load_manifest(tmp_path, "ignored") == manifest
    assert Manifest.from_json(json.loads(json.dumps(manifest.to_json()))) == manifest
    doc = manifest.to_json()
    doc["frozen"][0]["id"] = "0" * 16
    (tmp_path / "shards.json").write_text(json.dumps(doc))
    with pytest.raises(MalformedError, match="shards.json: shard .* is not its own"):
        load_manifest(tmp_path, NEW)
    (tmp_path / "shards.json").write_text('{"format": 1, "format": 2}')
    with pytest.raises(MalformedError, match="shards.json"):
        load_manifest(tmp_path, NEW)
    assert load_manifest(tmp_path / "never-rotated", ORIGIN) == Manifest(ORIGIN)


def test_the_frozen_tiles_stay_beside_the_new_ones(tmp_path: Path, sign: Signer,
                                                   keys: KeyFactory) -> None:
    home = tmp_path / "node"
    make_home(home, sign, keys, tiles="tiles")
    with running(home):
        pass  # the tiles of the three entries are written when the node starts
    rotate(home, NEW, NOW)
    with running(home):
        pass
    tiles = home / "tiles"
    frozen = tiles / "shards" / shard_id(ORIGIN)

    def origin_size(folder: Path) -> tuple[str, int]:
        cp = Checkpoint.from_text(SignedNote.from_text((folder / "checkpoint").read_text()).text)
        return cp.origin, cp.size

    assert origin_size(frozen) == (ORIGIN, 3)
    assert (frozen / "tile" / "entries" / "000.p" / "3").is_file()
    assert origin_size(tiles) == (NEW, 0)


def test_the_frozen_logs_cosignatures_move_with_it(tmp_path: Path, sign: Signer,
                                                   keys: KeyFactory,
                                                   peer_witness: NoteSigner) -> None:
    """Cosignatures of the old log's checkpoints leave witness.db for the frozen shard, which
    serves them; the new log's checkpoints of the same sizes start with none."""
    home = tmp_path / "node"
    make_home(home, sign, keys)
    add_peer(home, PEER, f"http://{HOST}:9", Verifier(PEER, 1, KEY_LOG.public).to_vkey(),
             peer_witness.verifier.to_vkey())
    ledger = open_node_ledger(home, load_config(home))
    try:
        cp, note = ledger.latest_checkpoint()
    finally:
        ledger.close()
    cosig = peer_witness.sign(cp.to_text(), NOW)
    delivered = SignedNote.from_text(note).with_signatures([cosig]).to_text()
    with node_witness(home) as witness:
        assert witness.add_checkpoint(add_checkpoint_body(0, [], delivered), NOW)[0] == 200
        assert witness.cosignatures(cp.size, cp.root) == [cosig]

    rotate(home, NEW, NOW)
    with node_witness(home) as witness:
        assert witness.cosignatures(cp.size, cp.root) == []
    with running(home) as node, node.client() as c:
        served = SignedNote.from_text(c.get(f"/shards/{shard_id(ORIGIN)}/checkpoint").text)
        assert served.signatures[1:] == (cosig,)


def test_a_forged_event_makes_the_node_carry_nothing(tmp_path: Path, sign: Signer,
                                                    keys: KeyFactory) -> None:
    home = tmp_path / "node"
    regs, _, _ = make_home(home, sign, keys)
    rotate(home, NEW, NOW)
    granted = grant(sign, keys("alice"), "old-1", prev=regs["old-1"].id)
    forged = granted.leaf.replace(b64encode(granted.signature).encode(),
                                  b64encode(bytes(64)).encode())
    ledger = open_node_ledger(home, load_config(home))
    try:
        (refused,) = ledger.append_block([forged], NOW)
        assert "signature" in str(refused)
        assert ledger.size == 0 and not ledger.store.works_present({work("old-1")})
    finally:
        ledger.close()


def test_works_are_carried_from_the_newest_shard_that_holds_them(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home = tmp_path / "node"
    regs, _, _ = make_home(home, sign, keys)
    alice = keys("alice")
    rotate(home, NEW, NOW)
    ledger = open_node_ledger(home, load_config(home))
    try:
        first = grant(sign, alice, "old-1", prev=regs["old-1"].id)
        assert isinstance(ledger.append_block([first.leaf], NOW)[0], Appended)
    finally:
        ledger.close()
    rotate(home, "node-a.test/log/2028", NOW)
    ledger = open_node_ledger(home, load_config(home))
    try:
        # old-1's whole history is in the second log; old-2's only in the first
        again = sign(alice, "consent.revoke", work("old-1"), {"grant": first.id},
                     prev=first.id)
        other = grant(sign, alice, "old-2", prev=regs["old-2"].id)
        assert all(isinstance(r, Appended)
                   for r in ledger.append_block([again.leaf, other.leaf], NOW))
        assert [e.id for _, e in ledger.history(work("old-1"))] == [
            regs["old-1"].id, first.id, again.id]
        assert [e.id for _, e in ledger.history(work("old-2"))] == [regs["old-2"].id, other.id]
    finally:
        ledger.close()
