"""Late cosignatures of frozen checkpoints (specs/node.md sections 3, 9.3, 10.3 and 10.5):
a witness that was down when the node rotated cosigns the frozen log's final checkpoint
later, when the node's witnessing asks it again, and a mirror of the frozen shard delivers
its cosignature; the frozen checkpoint, its receipts and its tiles then carry them. What a
frozen shard is sent that it must not keep is refused and stores nothing.

Every node is a real server on 127.0.0.1 in a thread of the test process, on one injected
clock (test_freshness.py ``Clock``, ``serving``): the test moves the clock past the back-off
instead of waiting, and node a looks every few hundredths of a second, so each wait below is
a poll for a state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import (
    Checkpoint,
    NoteSignature,
    NoteSigner,
    SignedNote,
    Verifier,
)
from provenance_ledger.core.receipt import Receipt, verify_checkpoint_note, verify_receipt
from provenance_ledger.core.witness import SIZE_CONTENT_TYPE, add_checkpoint_body
from provenance_ledger.ledger import Home
from provenance_ledger.ledger.keys import read_private_key
from provenance_ledger.node import add_peer, init_node, load_config, node_keys, node_witness
from provenance_ledger.node.config import set_tiles, witness_signer
from provenance_ledger.node.freshness import cosignature_time
from provenance_ledger.node.frozen_cosign import FROZEN_MAX_RETRY_S, FROZEN_RETRY_S, Backoff
from provenance_ledger.node.mirror import sync_all
from provenance_ledger.node.shard_manifest import shard_id
from provenance_ledger.node.shards import rotate

from ..cli.conftest import run
from ..conftest import NOW, KeyFactory, Signer
from .conftest import HOST, ORIGIN, free_port, poll_until, register
from .test_freshness import LOOK_S, Clock, forwarding, make_net, serving
from .test_shards import make_home

NEW = "node-a.test/log/2027"
SID = shard_id(ORIGIN)


def submit(url: str, sign: Signer, keys: KeyFactory, names: list[str]) -> list[dict[str, Any]]:
    """Register ``names`` in one block through ``POST /events/batch``; their receipts."""
    body = b"\n".join(register(sign, keys("alice"), n).leaf for n in names)
    r = httpx.post(f"{url}/events/batch", content=body, timeout=60)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [200] * len(names), results
    return [x["receipt"] for x in results]


def frozen_cosigners(url: str, log_vkey: str, witnesses: dict[str, Verifier],
                     path: str = f"/shards/{SID}/checkpoint") -> dict[str, int]:
    """The witnesses whose valid cosignature the frozen checkpoint served carries, with its
    time."""
    text = httpx.get(url + path, timeout=30).text
    _, _, times = verify_checkpoint_note(text, [Verifier.from_vkey(log_vkey)], witnesses)
    return dict(times)


def messages(caplog: pytest.LogCaptureFixture, message: str,
             origin: str | None = None) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if r.getMessage() == message
            and (origin is None or r.fields.get("origin") == origin)]


def test_a_witness_down_at_the_rotation_cosigns_the_frozen_checkpoint_later(
        tmp_path: Path, sign: Signer, keys: KeyFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    with forwarding() as proxy:
        net = make_net(tmp_path, ("b",), ask={"b": proxy.url})
        a, b = net.a, net.witnesses["b"]
        set_tiles(a, "tiles")
        proxy.target = f"http://{load_config(b).listen}"
        b_key = net.verifiers()
        old_vkey = net.log_vkey

        # Before the rotation: b cosigns size 3, then goes down; the log grows to 5.
        with serving(a, clock, freshness_look_s=LOOK_S) as node_a:
            with serving(b, clock):
                submit(node_a.url, sign, keys, ["one", "two", "three"])
            assert set(frozen_cosigners(node_a.url, old_vkey, b_key, "/checkpoint")) == {"b"}
            later = submit(node_a.url, sign, keys, ["four", "five"])
        assert Checkpoint.from_text(SignedNote.from_text(later[0]["checkpoint"]).text).size == 5
        rotate(a, NEW, NOW)
        add_peer(b, NEW, f"http://{load_config(a).listen}", node_keys(a)["log"])

        # After it: a asks b about the frozen final checkpoint at once (b is down), and again
        # only once the back-off has passed on the clock.
        with caplog.at_level(logging.INFO, logger="provenance_ledger"), \
                serving(a, clock, freshness_look_s=LOOK_S) as node_a:
            poll_until(lambda: messages(caplog, "witness did not cosign", ORIGIN),
                       "a asked b about the frozen checkpoint")
            with serving(b, clock):
                clock.advance(FROZEN_RETRY_S + 1)
                poll_until(lambda: messages(caplog, "frozen checkpoints cosigned"),
                           "every frozen checkpoint is cosigned")
                times = frozen_cosigners(node_a.url, old_vkey, b_key)
                assert times == {"b": int(NOW + FROZEN_RETRY_S + 1)}
                # One request since b is up: from the size b last cosigned, with the proof.
                assert [s for s in proxy.seen if s[1] == 5] == [(3, 5, 200)]
                # The failed request was not repeated while b was down (a looked many times).
                assert len(messages(caplog, "witness did not cosign", ORIGIN)) == 1
                # A frozen receipt carries b's cosignature, here and where it is looked up.
                kept = httpx.get(f"{node_a.url}/shards/{SID}/receipts/"
                                 f"{register(sign, keys('alice'), 'four').id}").json()
                across = httpx.get(f"{node_a.url}/receipts/"
                                   f"{register(sign, keys('alice'), 'four').id}").json()
                assert across == kept
                verify_receipt(Receipt.from_json(kept), [Verifier.from_vkey(old_vkey)],
                               {"b": b_key["b"]})

        # The frozen tiles checkpoint was written again with it.
        tiles_note = (a / "tiles" / "shards" / SID / "checkpoint").read_text()
        _, _, tile_times = verify_checkpoint_note(tiles_note, [Verifier.from_vkey(old_vkey)],
                                                  b_key)
        assert set(tile_times) == {"b"}

    # The user's verifier, with a policy that requires b, accepts the frozen receipt.
    receipt = tmp_path / "four.receipt.json"
    receipt.write_text(json.dumps(kept))
    policy = tmp_path / "policy"
    policy.write_text(f"log {old_vkey}\nwitness b {b_key['b'].to_vkey()}\nquorum b\n")
    run("verify", receipt, "--policy", policy, home=tmp_path / "user")


MIRROR = "mirror.test/log"
STRANGER = NoteSigner("stranger.test/witness",
                      PrivateKey.from_seed(hashlib.sha256(b"stranger witness").digest()), True)


def stored(home: Path, table: str = "own_cosignatures") -> list[tuple[Any, ...]]:
    db = home / "shards" / SID / "cosignatures.db"
    conn = sqlite3.connect(db)
    try:
        return sorted(conn.execute(f"SELECT size, name, line FROM {table}"))  # noqa: S608
    finally:
        conn.close()


def test_a_frozen_shard_keeps_a_mirrors_delivery_and_refuses_what_it_must_not_keep(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home = tmp_path / "node"
    _, _, old_vkey = make_home(home, sign, keys)
    mirror = tmp_path / "mirror"
    init_node(mirror, MIRROR, f"{HOST}:{free_port()}")
    m_keys = node_keys(mirror)
    add_peer(home, MIRROR, f"http://{HOST}:9", m_keys["log"], m_keys["witness"])
    rotate(home, NEW, NOW)
    log_key = NoteSigner(ORIGIN, read_private_key(Home(home).log_key_path, None))

    with serving(home, Clock()) as node, node.client() as c:
        # The mirror of the frozen shard delivers its cosignature: kept and served.
        add_peer(mirror, ORIGIN, node.url, old_vkey)
        with node_witness(mirror) as witness:
            (result,) = sync_all(mirror, load_config(mirror), witness, NOW)
        assert (result.status, result.cosigned, result.delivered) == ("frozen", True, True)
        m_verifier = Verifier.from_vkey(m_keys["witness"])
        assert set(frozen_cosigners(node.url, old_vkey, {"m": m_verifier})) == {"m"}
        assert [r[:2] for r in stored(home, "first_own_cosignatures")] == [
            (3, m_verifier.name)]
        before = stored(home)

        note = c.get(f"/shards/{SID}/checkpoint").text
        plain = SignedNote.from_text(note)
        cp = Checkpoint.from_text(plain.text)
        own = SignedNote(plain.text, plain.signatures[:1])

        def post(body: bytes, path: str = f"/shards/{SID}/add-checkpoint") -> httpx.Response:
            return c.post(path, content=body, headers={"content-type": "text/plain"})

        # A cosignature by a key the node does not know, or a known key's that does not
        # verify: the checkpoint is its own, so the node cosigns (200), and keeps neither.
        stranger = own.with_signatures([STRANGER.sign(cp.to_text(), NOW)]).to_text()
        good = next(s for s in plain.signatures if m_verifier.matches(s))
        forged = NoteSignature(good.name, good.key_id, bytes(len(good.signature)))
        for body in (stranger, own.with_signatures([forged]).to_text()):
            for path in (f"/shards/{SID}/add-checkpoint", "/add-checkpoint"):
                r = post(add_checkpoint_body(0, [], body), path)
                assert r.status_code == 200, r.text
        # Refusals, each with its status; nothing is kept.
        assert post(b"old 0\n\nnot a note").status_code == 400
        assert post(add_checkpoint_body(4, [], note)).status_code == 400  # old > size
        assert post(add_checkpoint_body(0, [], note), "/shards/00000000000000ff/"
                    "add-checkpoint").status_code == 404
        assert post(add_checkpoint_body(0, [], note), "/shards/NOTHEX/"
                    "add-checkpoint").status_code == 400
        current = c.get("/checkpoint").text  # the current log's: not this shard's origin
        assert post(add_checkpoint_body(0, [], current)).status_code == 404
        stranger_log = NoteSigner(ORIGIN, PrivateKey.from_seed(bytes(32)))
        other = SignedNote(plain.text, ()).with_signatures(
            [stranger_log.sign(plain.text)]).to_text()
        assert post(add_checkpoint_body(0, [], other)).status_code == 403
        garbage = add_checkpoint_body(2, [bytes(32)], note)
        assert post(garbage).status_code == 422
        assert post(b"x" * (1 << 20)).status_code == 413
        assert stored(home) == before

        # Per witness its newest: an older cosignature is not kept over the one kept; a newer
        # one replaces it, and the first stays apart.
        m_signer = witness_signer(mirror, load_config(mirror))
        (kept_line,) = [line for _, name, line in before if name == m_verifier.name]
        kept_at = cosignature_time(NoteSignature.from_line(kept_line.rstrip("\n")))
        assert kept_at is not None
        for at in (kept_at - 10, kept_at + 10):
            again = own.with_signatures([m_signer.sign(cp.to_text(), at)]).to_text()
            assert post(add_checkpoint_body(0, [], again)).status_code == 200
        (newest,) = [line for _, name, line in stored(home) if name == m_verifier.name]
        assert cosignature_time(NoteSignature.from_line(newest.rstrip("\n"))) == kept_at + 10
        assert [r[2] for r in stored(home, "first_own_cosignatures")] == [kept_line]
        before = stored(home)

        # A checkpoint the frozen log's key signed with another root for its final size: a
        # fork (409 naming the final size), kept as evidence; nothing stored.
        forked = Checkpoint(ORIGIN, cp.size, bytes(32)).to_text()
        fork_note = SignedNote(forked, ()).with_signatures([log_key.sign(forked)]).to_text()
        r = post(add_checkpoint_body(0, [], fork_note))
        assert (r.status_code, r.text, r.headers["content-type"]) == (
            409, f"{cp.size}\n", SIZE_CONTENT_TYPE)
        assert stored(home) == before
        evidence = c.get("/evidence", params={"origin": ORIGIN}).json()
        assert evidence["faulty"] == [ORIGIN]
        assert evidence["evidence"][0]["kind"] == "split-view"


def test_a_witness_that_did_not_cosign_is_asked_again_after_a_doubling_wait() -> None:
    key = (ORIGIN, "b")
    backoff = Backoff()
    assert backoff.due(key, NOW)  # never asked: at once
    backoff.asked(key, NOW)
    assert not backoff.due(key, NOW + FROZEN_RETRY_S - 1)
    assert backoff.due(key, NOW + FROZEN_RETRY_S) and backoff.due((ORIGIN, "c"), NOW)
    assert backoff.wait(NOW + 1, 30.0) == 30.0 and backoff.wait(NOW + 50, 30.0) == 10.0
    at = NOW + FROZEN_RETRY_S
    backoff.asked(key, at)
    assert not backoff.due(key, at + 2 * FROZEN_RETRY_S - 1)
    for _ in range(10):  # then 4, 8, ... minutes, never more than an hour
        at += FROZEN_MAX_RETRY_S
        assert backoff.due(key, at)
        backoff.asked(key, at)
    assert not backoff.due(key, at + FROZEN_MAX_RETRY_S - 1)
    assert backoff.due(key, at + FROZEN_MAX_RETRY_S)
