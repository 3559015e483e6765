"""The tiles folder's checkpoint carries the cosignatures that arrive after its block
(specs/tiles.md section 4.6): a verifier reading only the tiles URL sees the cosigned
checkpoint that ``GET /checkpoint`` serves. Real nodes in a thread (conftest ``running``),
cosignatures from a peer's mirror (add-checkpoint) and from a C2SP witness asked by
synchronous witnessing."""

from __future__ import annotations

from pathlib import Path

import httpx

from provenance_ledger.core.note import Checkpoint, NoteSigner, SignedNote, Verifier
from provenance_ledger.core.receipt import verify_checkpoint_note
from provenance_ledger.core.witness import add_checkpoint_body
from provenance_ledger.node.config import add_witness, node_keys, set_tiles, set_witnessing
from provenance_ledger.node.tiles import CHECKPOINT_FILE

from ..conftest import NOW, KeyFactory, Signer
from .conftest import PEER_WITNESS, poll_until, register, running
from .test_witnessing import LONG_S, StandInWitness, make_home
from .test_witnessing import serving as witnesses_serving


def cosign(witness: NoteSigner, note: str, at: int) -> str:
    """``note`` with ``witness``'s cosignature made at ``at``."""
    cp = Checkpoint.from_text(SignedNote.from_text(note).text)
    return note + witness.sign(cp.to_text(), at).to_line()


def size_of(note: str) -> int:
    return Checkpoint.from_text(SignedNote.from_text(note).text).size


def test_a_cosignature_delivered_after_the_block_is_written_into_the_tiles_checkpoint(
        node_home: Path, peer_witness: NoteSigner, sign: Signer, keys: KeyFactory) -> None:
    set_tiles(node_home, "tiles")
    on_disk = (node_home / "tiles" / CHECKPOINT_FILE).read_text
    log_key = Verifier.from_vkey(node_keys(node_home)["log"])
    creator = keys("creator")
    with running(node_home) as node, node.client() as http:
        assert http.post("/events", content=register(sign, creator, "one").leaf
                         ).status_code == 200
        first = http.get("/checkpoint").text
        assert on_disk() == first and size_of(first) == 1  # the block's, no cosignature yet
        # The peer, having mirrored and cosigned the log, delivers its cosignature.
        delivered = cosign(peer_witness, first, NOW + 10)
        assert http.post("/add-checkpoint", content=add_checkpoint_body(0, [], delivered)
                         ).status_code == 200
        assert on_disk() == delivered == http.get("/checkpoint").text
        # A verifier holding only the tiles URL counts the peer's cosignature.
        _, _, cosigners = verify_checkpoint_note(on_disk(), [log_key],
                                                 {PEER_WITNESS: peer_witness.verifier})
        assert cosigners == {PEER_WITNESS: NOW + 10}
        # The next block writes its own checkpoint; a cosignature of the older one arriving
        # afterwards is stored, but never takes the file back to the older checkpoint.
        assert http.post("/events", content=register(sign, creator, "two").leaf
                         ).status_code == 200
        second = http.get("/checkpoint").text
        assert on_disk() == second and size_of(second) == 2
        assert http.post("/add-checkpoint", content=add_checkpoint_body(
            0, [], cosign(peer_witness, first, NOW + 20))).status_code == 200
        assert on_disk() == second
        latest = cosign(peer_witness, second, NOW + 30)
        assert http.post("/add-checkpoint", content=add_checkpoint_body(0, [], latest)
                         ).status_code == 200
        assert on_disk() == latest
    # A folder whose checkpoint lacks them (written by an older node, or restored): the next
    # start writes the checkpoint with the cosignatures stored for it.
    (node_home / "tiles" / CHECKPOINT_FILE).write_text(second)
    with running(node_home) as node, node.client() as http:
        assert on_disk() == latest == http.get("/checkpoint").text


def test_a_witness_answer_that_comes_after_the_block_reaches_the_tiles_checkpoint(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    """Synchronous witnessing with a quorum of 0: the receipt and the block's tiles are out
    before the witness answers; its cosignature then reaches the folder's checkpoint."""
    home, log_vkey = make_home(tmp_path)
    witness = StandInWitness("late", log_vkey)
    add_witness(home, "late", witness.url, witness.vkey)
    set_witnessing(home, 0, LONG_S)
    set_tiles(home, "tiles")
    on_disk = (home / "tiles" / CHECKPOINT_FILE).read_text

    def signers(note: str) -> set[str]:
        return {s.name for s in SignedNote.from_text(note).signatures}

    witness.gate.clear()  # the witness holds its answers back
    with witnesses_serving(witness), running(home) as node:
        r = httpx.post(node.url + "/events", content=register(sign, keys("a"), "late").leaf,
                       timeout=LONG_S)
        assert r.status_code == 200 and r.headers["Provenance-Pending-Witnesses"] == "late"
        assert size_of(on_disk()) == 1 and witness.signer.name not in signers(on_disk())
        witness.gate.set()
        poll_until(lambda: witness.signer.name in signers(on_disk()),
                   "the witness's late cosignature is in the folder's checkpoint")
        assert size_of(on_disk()) == 1
        assert on_disk() == httpx.get(node.url + "/checkpoint", timeout=30).text
