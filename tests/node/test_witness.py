"""Tests for the witness (core/witness.py decisions, store/witness.py, node/witness.py):
c2sp.org/tlog-witness add-checkpoint over a real witness.db, checkpoints of real ledgers, and
split-view evidence made with the fork tool.

Cosignatures are checked with our verifier and with tlog-scales (an independent C2SP
implementation). The HTTP route is exercised in test_service.py.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from tlog_scales.signing import Vkey

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.evidence import Evidence, verify_evidence
from provenance_ledger.core.merkle import verify_consistency
from provenance_ledger.core.note import NoteSigner, SignedNote, Verifier
from provenance_ledger.core.witness import (
    COSIGN,
    FOREIGN,
    INCONSISTENT,
    MAX_PROOF_LINES,
    SPLIT_VIEW,
    AddCheckpointRequest,
    Cosigned,
    Decision,
    add_checkpoint_body,
    peer_decision,
    prefix_root,
)
from provenance_ledger.errors import VerificationError
from provenance_ledger.ledger import Ledger
from provenance_ledger.node.config import load_config, node_keys, open_node_ledger
from provenance_ledger.node.witness import LedgerLog, Witness, open_witness
from tests.scales import ScalesCheckpoint

from ..conftest import NOW, KeyFactory, Signer
from .conftest import ORIGIN, PEER, PEER_WITNESS, body_for, fork, grow


@pytest.fixture
def own(node_home: Path) -> Iterator[Ledger]:
    ledger = open_node_ledger(node_home, load_config(node_home))
    yield ledger
    ledger.close()


def _open(home: Path, own: Ledger) -> Witness:
    return open_witness(home, load_config(home), LedgerLog(lambda: nullcontext(own)), own.vkey)


@pytest.fixture
def witness(node_home: Path, own: Ledger) -> Iterator[Witness]:
    w = _open(node_home, own)
    yield w
    w.close()


def _cosignature_ok(line: str, note: str, witness_vkey: str) -> int:
    """Check a 200 body with our verifier and with tlog-scales; return the timestamp."""
    assert line.startswith("\u2014 ") and line.endswith("\n") and line.count("\n") == 1
    signed = SignedNote.from_text(note + line)
    v = Verifier.from_vkey(witness_vkey)
    (sig,) = [s for s in signed.signatures if v.matches(s)]
    ts = v.verify(sig, signed.text)
    scales = ScalesCheckpoint.from_text(note + line)
    Vkey.from_string(witness_vkey).get_verifier().verify(
        scales.signatures[-1].payload, scales)
    assert ts is not None
    return ts


def test_first_checkpoint_then_growth(witness: Witness, node_home: Path, peer_log: Ledger,
                                      sign: Signer, keys: KeyFactory) -> None:
    note3 = grow(peer_log, sign, keys("p"), ["a", "b", "c"])
    status, line = witness.add_checkpoint(body_for(peer_log, 0), NOW)
    assert status == 200
    assert _cosignature_ok(line, note3, node_keys(node_home)["witness"]) == NOW
    grow(peer_log, sign, keys("p"), ["d", "e", "f", "g"])
    note7 = peer_log.latest_checkpoint()[1]
    status, line = witness.add_checkpoint(body_for(peer_log, 3), NOW + 1)
    assert status == 200
    assert _cosignature_ok(line, note7, node_keys(node_home)["witness"]) == NOW + 1
    latest = witness.latest(PEER)
    assert latest is not None and (latest.size, latest.note) == (7, note7)
    # The same checkpoint again, from its own size (empty proof): cosigned afresh.
    assert witness.add_checkpoint(body_for(peer_log, 7), NOW + 2)[0] == 200


def test_state_survives_reopening(node_home: Path, own: Ledger, peer_log: Ledger,
                                  sign: Signer, keys: KeyFactory) -> None:
    grow(peer_log, sign, keys("p"), ["a", "b"])
    w = _open(node_home, own)
    assert w.add_checkpoint(body_for(peer_log, 0), NOW)[0] == 200
    w.close()
    w = _open(node_home, own)
    assert w.add_checkpoint(body_for(peer_log, 0), NOW) == (409, "2\n")
    w.close()


def test_stale_old_size_is_409_with_the_size(witness: Witness, peer_log: Ledger,
                                            sign: Signer, keys: KeyFactory) -> None:
    grow(peer_log, sign, keys("p"), ["a", "b", "c"])
    assert witness.add_checkpoint(body_for(peer_log, 0), NOW)[0] == 200
    grow(peer_log, sign, keys("p"), ["d"])
    assert witness.add_checkpoint(body_for(peer_log, 0), NOW) == (409, "3\n")
    assert witness.add_checkpoint(body_for(peer_log, 2), NOW) == (409, "3\n")
    assert witness.add_checkpoint(body_for(peer_log, 3), NOW)[0] == 200


def test_unknown_origin_404_and_untrusted_signature_403(
        witness: Witness, tmp_path: Path, peer_log: Ledger, sign: Signer,
        keys: KeyFactory) -> None:
    from provenance_ledger.ledger import Home

    stranger = Home(tmp_path / "stranger").open_ledger(origin="stranger.test/log")
    grow(stranger, sign, keys("s"), ["a"])
    assert witness.add_checkpoint(body_for(stranger, 0), NOW)[0] == 404
    stranger.close()
    # A checkpoint of the peer's origin signed by another key named like the peer.
    impostor = NoteSigner(PEER, PrivateKey.from_seed(b"\x09" * 32))
    grow(peer_log, sign, keys("p"), ["a"])
    cp, _ = peer_log.latest_checkpoint()
    forged = SignedNote(cp.to_text(), (impostor.sign(cp.to_text()),)).to_text()
    status, text = witness.add_checkpoint(add_checkpoint_body(0, [], forged), NOW)
    assert status == 403 and PEER in text
    # A note with no signature line by any trusted key (only an unknown name).
    other = NoteSigner("nobody.test", PrivateKey.from_seed(b"\x0a" * 32))
    unsigned = SignedNote(cp.to_text(), (other.sign(cp.to_text()),)).to_text()
    assert witness.add_checkpoint(add_checkpoint_body(0, [], unsigned), NOW)[0] == 403
    assert witness.latest(PEER) is None


def _malformed_bodies(note: str) -> list[bytes]:
    h = base64.b64encode(b"\x00" * 32).decode()
    return [
        b"",
        b"\xff\xfe",
        ("new 0\n\n" + note).encode(),
        ("old 01\n\n" + note).encode(),
        ("old -1\n\n" + note).encode(),
        ("old 1 \n\n" + note).encode(),
        ("old 0\n" + note).encode(),  # no empty line: the note's lines read as proof lines
        ("old 0\n" + "AAAA\n" + "\n" + note).encode(),  # a hash that is not 32 bytes
        ("old 0\n" + (h + "\n") * (MAX_PROOF_LINES + 1) + "\n" + note).encode(),
        b"old 0\n\n" + note.replace("\n\n", "\n").encode(),  # no signature block
        b"old 0\n\nexample\nten\n" + note.split("\n", 2)[2].encode(),  # not a checkpoint
        ("old 0\n\n" + note.replace("\n\n", "\nextension line\n\n", 1)).encode(),
    ]


def test_malformed_bodies_are_400(witness: Witness, peer_log: Ledger, sign: Signer,
                                  keys: KeyFactory) -> None:
    note = grow(peer_log, sign, keys("p"), ["a", "b"])
    for body in _malformed_bodies(note):
        status, text = witness.add_checkpoint(body, NOW)
        assert status == 400, (body, status, text)
        assert text.startswith("malformed")
    assert witness.latest(PEER) is None


def test_old_above_checkpoint_size_is_400(witness: Witness, peer_log: Ledger, sign: Signer,
                                          keys: KeyFactory) -> None:
    note = grow(peer_log, sign, keys("p"), ["a", "b"])
    status, text = witness.add_checkpoint(add_checkpoint_body(3, [], note), NOW)
    assert status == 400 and "larger" in text


def test_bad_proof_is_422_and_not_evidence(witness: Witness, peer_log: Ledger, sign: Signer,
                                           keys: KeyFactory) -> None:
    grow(peer_log, sign, keys("p"), ["a", "b", "c"])
    assert witness.add_checkpoint(body_for(peer_log, 0), NOW)[0] == 200
    note = grow(peer_log, sign, keys("p"), ["d", "e"])
    proof = peer_log.consistency_proof(3, 5)
    garbage = [bytes(32)] * len(proof)
    assert witness.add_checkpoint(add_checkpoint_body(3, garbage, note), NOW)[0] == 422
    assert witness.add_checkpoint(add_checkpoint_body(3, proof[:-1], note), NOW)[0] == 422
    assert witness.add_checkpoint(add_checkpoint_body(3, [], note), NOW)[0] == 422
    # Anyone can send garbage with a real checkpoint: that proves nothing about the log.
    assert witness.evidence() == [] and not witness.is_faulty(PEER)
    assert witness.add_checkpoint(add_checkpoint_body(3, proof, note), NOW)[0] == 200


def test_nonempty_proof_from_zero_is_422(witness: Witness, peer_log: Ledger, sign: Signer,
                                         keys: KeyFactory) -> None:
    note = grow(peer_log, sign, keys("p"), ["a", "b", "c"])
    assert witness.add_checkpoint(add_checkpoint_body(0, [bytes(32)], note), NOW)[0] == 422


def test_split_view_same_size(witness: Witness, node_home: Path, peer_log: Ledger,
                              tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    honest = grow(peer_log, sign, keys("p"), ["a", "b", "c"])
    assert witness.add_checkpoint(body_for(peer_log, 0), NOW)[0] == 200
    forked = fork(tmp_path / "peer", tmp_path / "fork", PEER)
    other = grow(forked, sign, keys("p"), ["x", "y", "z"])
    # The client claims old 0, but the conflict is with what the witness cosigned.
    status, text = witness.add_checkpoint(add_checkpoint_body(0, [], other), NOW + 5)
    assert (status, text) == (409, "3\n")
    assert witness.is_faulty(PEER)
    (ev,) = witness.evidence(PEER)
    assert (ev.kind, ev.origin, ev.checkpoints, ev.at) == (SPLIT_VIEW, PEER, (honest, other),
                                                          NOW + 5)
    verify_evidence(ev, peer_log.vkey)
    verify_evidence(Evidence.from_json(ev.to_json()), peer_log.vkey)
    assert witness.evidence(ORIGIN) == []
    # A faulty origin is refused from now on, even with a good proof.
    grow(peer_log, sign, keys("p"), ["d"])
    assert witness.add_checkpoint(body_for(peer_log, 3), NOW) == (409, "3\n")
    # Evidence does not verify with another key, nor with its two notes the same.
    with pytest.raises(VerificationError):
        verify_evidence(ev, NoteSigner(PEER, keys("x")).verifier.to_vkey())
    same = Evidence(ev.id, ev.origin, ev.kind, (honest, honest), (), "", 0)
    with pytest.raises(VerificationError, match="two roots"):
        verify_evidence(same, peer_log.vkey)
    forked.close()


def test_conclusive_bad_proof_is_inconsistency_evidence(
        witness: Witness, peer_log: Ledger, tmp_path: Path, sign: Signer,
        keys: KeyFactory) -> None:
    grow(peer_log, sign, keys("p"), ["a", "b", "c"])  # size 3: not a power of two
    assert witness.add_checkpoint(body_for(peer_log, 0), NOW)[0] == 200
    forked = fork(tmp_path / "peer", tmp_path / "fork", PEER)
    grow(forked, sign, keys("p"), ["x", "y", "z", "w", "v"])
    body = body_for(forked, 3)  # the fork's own, correct proof from its size 3
    status, _ = witness.add_checkpoint(body, NOW)
    assert status == 422
    (ev,) = witness.evidence()
    assert ev.kind == INCONSISTENT
    verify_evidence(ev, peer_log.vkey)
    assert witness.is_faulty(PEER)
    forked.close()


def test_power_of_two_old_size_cannot_be_conclusive(
        witness: Witness, peer_log: Ledger, tmp_path: Path, sign: Signer,
        keys: KeyFactory) -> None:
    grow(peer_log, sign, keys("p"), ["a", "b", "c", "d"])
    assert witness.add_checkpoint(body_for(peer_log, 0), NOW)[0] == 200
    forked = fork(tmp_path / "peer", tmp_path / "fork", PEER)
    grow(forked, sign, keys("p"), ["x", "y", "z", "w", "v"])
    assert witness.add_checkpoint(body_for(forked, 4), NOW)[0] == 422
    assert witness.evidence() == [] and not witness.is_faulty(PEER)
    forked.close()


def test_prefix_root_matches_the_tree(peer_log: Ledger, sign: Signer,
                                      keys: KeyFactory) -> None:
    grow(peer_log, sign, keys("p"), [str(i) for i in range(13)])
    for old in range(1, 13):
        proof = peer_log.consistency_proof(old, 13)
        path = [peer_log.root(old), *proof] if old & (old - 1) == 0 else proof
        assert prefix_root(old, 13, path, peer_log.root(13)) == peer_log.root(old)
        verify_consistency(old, 13, proof, peer_log.root(old), peer_log.root(13))
        assert prefix_root(old, 13, path, bytes(32)) is None
    assert prefix_root(0, 13, [bytes(32)], peer_log.root(13)) is None
    assert prefix_root(5, 5, [bytes(32)], peer_log.root(5)) is None


def test_check_and_store_is_atomic(node_home: Path, own: Ledger, peer_log: Ledger,
                                   sign: Signer, keys: KeyFactory) -> None:
    """Racing requests from the same old size, through two connections (as two processes
    would): exactly one is cosigned, the rest see 409 with its size."""
    grow(peer_log, sign, keys("p"), ["a"])
    w1, w2 = _open(node_home, own), _open(node_home, own)
    assert w1.add_checkpoint(body_for(peer_log, 0), NOW)[0] == 200
    bodies = []
    for n in range(8):
        grow(peer_log, sign, keys("p"), [f"n{n}"])
        bodies.append(body_for(peer_log, 1))
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(len(bodies))

    def post(i: int) -> None:
        barrier.wait()
        results.append((w1 if i % 2 else w2).add_checkpoint(bodies[i], NOW))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r[0] == 200]
    assert len(winners) == 1
    latest = w1.latest(PEER)
    assert latest is not None
    assert sorted(results)[1:] == [(409, f"{latest.size}\n")] * (len(bodies) - 1)
    w1.close()
    w2.close()


def test_own_checkpoint_stores_peer_cosignatures(
        witness: Witness, own: Ledger, peer_witness: NoteSigner, sign: Signer,
        keys: KeyFactory, node_home: Path) -> None:
    note = grow(own, sign, keys("c"), ["a", "b", "c"])
    cp, _ = own.latest_checkpoint()
    cosig = peer_witness.sign(cp.to_text(), NOW)
    stranger = NoteSigner("stranger.test/w", keys("w"), cosigner=True).sign(cp.to_text(), NOW)
    delivered = SignedNote.from_text(note).with_signatures([cosig, stranger]).to_text()
    status, line = witness.add_checkpoint(add_checkpoint_body(0, [], delivered), NOW)
    assert status == 200
    _cosignature_ok(line, note, node_keys(node_home)["witness"])
    assert witness.cosignatures(cp.size, cp.root) == [cosig]  # the stranger's is ignored
    served = SignedNote.from_text(witness.cosigned_note(note, cp.size, cp.root))
    assert served.signatures[1:] == (cosig,)
    # A proof from an earlier size of our own log is checked against our tree.
    grow(own, sign, keys("c"), ["d", "e"])
    cp5, note5 = own.latest_checkpoint()
    good = own.consistency_proof(3, 5)
    assert witness.add_checkpoint(add_checkpoint_body(3, good, note5), NOW)[0] == 200
    assert witness.add_checkpoint(add_checkpoint_body(3, [bytes(32)] * len(good), note5),
                                  NOW)[0] == 422
    # An invalid cosignature by a configured witness is dropped, not stored.
    bad = peer_witness.sign(cp5.to_text(), NOW)
    bad = type(bad)(bad.name, bad.key_id, bad.signature[:-1] + bytes([bad.signature[-1] ^ 1]))
    tampered = SignedNote.from_text(note5).with_signatures([bad]).to_text()
    assert witness.add_checkpoint(add_checkpoint_body(0, [], tampered), NOW)[0] == 200
    assert witness.cosignatures(cp5.size, cp5.root) == []


def test_own_key_signing_another_history_is_evidence(
        witness: Witness, own: Ledger, node_home: Path, tmp_path: Path, sign: Signer,
        keys: KeyFactory) -> None:
    grow(own, sign, keys("c"), ["a", "b", "c"])
    grow(own, sign, keys("c"), ["d", "e", "f", "g"])  # checkpoints at 3 and 7
    forked = fork(node_home, tmp_path / "own-fork", ORIGIN)
    grow(forked, sign, keys("c"), ["x", "y", "z"])  # another root at 3: split view
    grow(forked, sign, keys("c"), ["u", "v"])  # size 5: inside our log, no note of ours
    forked_note5 = forked.latest_checkpoint()[1]
    status, _ = witness.add_checkpoint(add_checkpoint_body(0, [], forked_note5), NOW)
    assert status == 409
    (ev,) = witness.evidence(ORIGIN)
    assert ev.kind == INCONSISTENT
    verify_evidence(ev, own.vkey)
    assert witness.is_faulty(ORIGIN)
    forked.close()


def test_own_key_signing_a_larger_tree_is_kept(
        witness: Witness, own: Ledger, node_home: Path, tmp_path: Path, sign: Signer,
        keys: KeyFactory) -> None:
    grow(own, sign, keys("c"), ["a"])
    forked = fork(node_home, tmp_path / "own-fork", ORIGIN)
    note = grow(forked, sign, keys("c"), ["x", "y"])
    assert witness.add_checkpoint(add_checkpoint_body(0, [], note), NOW)[0] == 409
    (ev,) = witness.evidence()
    assert ev.kind == FOREIGN and ev.checkpoints[1] == note
    with pytest.raises(VerificationError, match="third party"):
        verify_evidence(ev, own.vkey)
    forked.close()


def test_request_round_trip(peer_log: Ledger, sign: Signer, keys: KeyFactory) -> None:
    grow(peer_log, sign, keys("p"), ["a", "b", "c"])
    note = grow(peer_log, sign, keys("p"), ["d", "e"])
    proof = peer_log.consistency_proof(3, 5)
    req = AddCheckpointRequest.from_bytes(add_checkpoint_body(3, proof, note))
    assert (req.old, list(req.proof), req.note.to_text()) == (3, proof, note)
    assert req.checkpoint == peer_log.latest_checkpoint()[0]
    assert (req.checkpoint.origin, req.checkpoint.size) == (PEER, 5)
    assert req.checkpoint.root == peer_log.root(5)


def test_peer_witness_name_is_configured(node_home: Path) -> None:
    assert [p.witness_verifier.name for p in load_config(node_home).peers
            if p.witness_verifier] == [PEER_WITNESS]


def test_node_witness_for_one_command(node_home: Path, peer_log: Ledger, tmp_path: Path,
                                      sign: Signer, keys: KeyFactory) -> None:
    """What ``provenance node evidence`` and ``node sync`` open: same state as the server's."""
    from provenance_ledger.node import node_witness

    grow(peer_log, sign, keys("p"), ["a"])
    with node_witness(node_home) as w:
        assert w.add_checkpoint(body_for(peer_log, 0), NOW)[0] == 200
        assert w.vkey == node_keys(node_home)["witness"]
    forked = fork(tmp_path / "peer", tmp_path / "fork", PEER)
    other = grow(forked, sign, keys("p"), ["b"])
    with node_witness(node_home) as w:
        assert w.add_checkpoint(add_checkpoint_body(0, [], other), NOW)[0] == 409
    with node_witness(node_home) as w:
        assert [e.kind for e in w.evidence()] == [SPLIT_VIEW]
        assert w.faulty_origins() == {PEER: w.evidence()[0].id}
    forked.close()


def test_offline_evidence_check_loads_no_node_code(witness: Witness, peer_log: Ledger,
                                                   tmp_path: Path, sign: Signer,
                                                   keys: KeyFactory) -> None:
    """``verify --evidence`` is offline: checking evidence imports nothing of the node (its
    HTTP service, config or witness database)."""
    grow(peer_log, sign, keys("p"), ["a", "b", "c"])
    assert witness.add_checkpoint(body_for(peer_log, 0), NOW)[0] == 200
    forked = fork(tmp_path / "peer", tmp_path / "fork", PEER)
    other = grow(forked, sign, keys("p"), ["x", "y", "z"])
    assert witness.add_checkpoint(add_checkpoint_body(0, [], other), NOW)[0] == 409
    evidence = tmp_path / "evidence.json"
    evidence.write_text(json.dumps({"evidence": [e.to_json() for e in witness.evidence()]}))
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from provenance_ledger.cli.verify import _load_evidence\n"
        "from provenance_ledger.core.policy import Policy\n"
        f"policy = Policy.for_log_key({peer_log.vkey!r})\n"
        f"faulty = _load_evidence(Path({str(evidence)!r}), policy)\n"
        "node = [m for m in sys.modules if m.startswith('provenance_ledger.node')]\n"
        "print(sorted(faulty), sorted(node))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == f"[{PEER!r}] []"


def test_peer_decisions_are_values_from_values(peer_log: Ledger, sign: Signer,
                                               keys: KeyFactory) -> None:
    """core/witness.py decides from the request and the state passed in, with no database:
    cosign a first checkpoint; refuse a faulty origin with the size held; a stored checkpoint
    of the same size with another root is split-view evidence whatever old size is claimed."""
    note = grow(peer_log, sign, keys("p"), ["a", "b", "c"])
    req = AddCheckpointRequest.from_bytes(body_for(peer_log, 0))
    assert peer_decision(req, None, None, False) == COSIGN
    assert peer_decision(req, None, None, True) == Decision(False, (409, "0\n"))
    other = Cosigned(PEER, 3, bytes(32), "the other note", NOW)
    decision = peer_decision(req, other, other, False)
    assert not decision.cosign and decision.reply == (409, "3\n")
    assert decision.finding is not None
    assert (decision.finding.kind, decision.finding.note_a, decision.finding.note_b) == (
        SPLIT_VIEW, "the other note", note)
    same = Cosigned(PEER, 3, req.checkpoint.root, note, NOW)
    assert peer_decision(req, same, same, False) == Decision(False, (409, "3\n"))


def test_the_first_cosignature_of_an_entry_never_moves(
        witness: Witness, own: Ledger, peer_witness: NoteSigner, sign: Signer,
        keys: KeyFactory) -> None:
    # A witness that cosigns the same checkpoint again, a round later, refreshes what the
    # node serves, but the earliest time it vouched for the entries stays the first one
    # (disputes order registrations by it: specs/node.md section 6).
    note = grow(own, sign, keys("c"), ["a", "b"])
    cp, _ = own.latest_checkpoint()
    for at in (NOW, NOW + 60, NOW + 120):
        cosig = peer_witness.sign(cp.to_text(), at)
        delivered = SignedNote.from_text(note).with_signatures([cosig]).to_text()
        status, _ = witness.add_checkpoint(add_checkpoint_body(0, [], delivered), at)
        assert status == 200
        assert witness.cosignatures(cp.size, cp.root) == [cosig]  # the freshest is served
    assert witness.vouched_at(0, 1) == NOW
