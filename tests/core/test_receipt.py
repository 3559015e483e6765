"""Tests for provenance_ledger.core.receipt: receipts from a real ledger, checked offline.

The receipts come from a real SQLite-backed ledger; verification is given nothing but the
receipt and the log's verifier key, as a court or a journalist would have.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from tlog_scales.signing import Vkey

from provenance_ledger.core.events import work_id_of
from provenance_ledger.core.merkle import leaf_hash, verify_inclusion
from provenance_ledger.core.note import Checkpoint, NoteSigner, SignedNote, Verifier
from provenance_ledger.core.receipt import (
    MAX_PROOF_HASHES,
    MAX_RECEIPT_BYTES,
    RECEIPT_FORMAT,
    TLOG_PROOF_HEADER,
    Receipt,
    check_decoded_event,
    load_receipt_json,
    verify_receipt,
)
from provenance_ledger.errors import MalformedError, VerificationError
from provenance_ledger.ledger import Ledger
from tests.scales import ScalesCheckpoint

from ..conftest import NOW, KeyFactory, Signer

EVENTS = 11  # over three blocks, so proofs have several levels and an odd right edge


@pytest.fixture
def filled(ledger: Ledger, keys: KeyFactory, sign: Signer) -> Ledger:
    creator = keys("creator")
    leaves = []
    for i in range(EVENTS):
        work = work_id_of(hashlib.sha256(f"receipt work {i}".encode()).hexdigest())
        leaves.append(sign(creator, "work.register", work,
                           {"size": 1000 + i, "media_type": "text/plain",
                            "title": f"Short story no. {i}"}).leaf)
    for start, end in ((0, 4), (4, 9), (9, EVENTS)):
        assert all(not isinstance(r, Exception) for r in ledger.append_block(leaves[start:end],
                                                                             NOW))
    assert ledger.size == EVENTS
    return ledger


def trusted(ledger: Ledger) -> list[Verifier]:
    return [Verifier.from_vkey(ledger.vkey)]


def other_log_key(ledger: Ledger, keys: KeyFactory) -> NoteSigner:
    return NoteSigner(ledger.origin, keys("impostor log"))


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x40]) + data[index + 1 :]


# -- the good case -------------------------------------------------------------------------


def test_every_receipt_verifies_offline_with_only_the_log_key(filled: Ledger) -> None:
    vkey = filled.vkey
    for index in range(EVENTS):
        receipt = filled.receipt(index)
        raw = json.dumps(receipt.to_json()).encode()
        # What the verifier has: the receipt file and the log's vkey, nothing else.
        data = load_receipt_json(raw)
        parsed = Receipt.from_json(data)
        verified = verify_receipt(parsed, [Verifier.from_vkey(vkey)])
        check_decoded_event(data, verified.event)
        assert verified.leaf_index == index
        assert verified.checkpoint.size == EVENTS
        assert verified.checkpoint.origin == filled.origin
        assert verified.event.id == filled.store.entry(index).id.hex()
        assert verified.cosigners == {}


def test_receipt_json_round_trip(filled: Ledger) -> None:
    receipt = filled.receipt(5)
    out = receipt.to_json()
    assert out["format"] == RECEIPT_FORMAT
    assert out["log_key"] == filled.vkey
    assert base64.b64decode(out["leaf"]) == receipt.leaf
    assert Receipt.from_json(out) == receipt
    assert Receipt.from_json(json.loads(json.dumps(out))) == receipt
    assert out["event"]["id"] == leaf_hash(receipt.leaf).hex()


def test_tlog_proof_text_structure(filled: Ledger) -> None:
    receipt = filled.receipt(6)
    text = receipt.tlog_proof()
    assert receipt.to_json()["tlog_proof"] == text
    head, checkpoint = text.split("\n\n", 1)
    lines = head.split("\n")
    assert lines[0] == TLOG_PROOF_HEADER == "c2sp.org/tlog-proof@v1"
    assert lines[1] == "index 6"
    hashes = [base64.b64decode(line, validate=True) for line in lines[2:]]
    assert hashes == list(receipt.inclusion_proof)
    assert all(len(h) == 32 for h in hashes)
    assert checkpoint == receipt.checkpoint
    # The embedded checkpoint and proof check out independently of our verifier.
    cp = Checkpoint.from_text(SignedNote.from_text(checkpoint).text)
    verify_inclusion(6, cp.size, leaf_hash(receipt.leaf), hashes, cp.root)
    ScalesCheckpoint.from_text(checkpoint).verify(Vkey.from_string(filled.vkey))


def test_receipt_with_cosignatures(filled: Ledger, keys: KeyFactory) -> None:
    receipt = filled.receipt(2)
    note = SignedNote.from_text(receipt.checkpoint)
    good = NoteSigner("witness.example/a", keys("witness a"), cosigner=True)
    bad = NoteSigner("witness.example/b", keys("witness b"), cosigner=True)
    bad_sig = bad.sign(note.text, NOW)
    bad_sig = dataclasses.replace(bad_sig, signature=flip(bad_sig.signature, 30))
    cosigned = note.with_signatures([good.sign(note.text, NOW + 5), bad_sig])
    receipt = dataclasses.replace(receipt, checkpoint=cosigned.to_text())
    witnesses = {"a": good.verifier, "b": bad.verifier}
    verified = verify_receipt(receipt, trusted(filled), witnesses)
    assert verified.cosigners == {"a": NOW + 5}  # keyed by the caller's name for the witness
    assert verify_receipt(receipt, trusted(filled)).cosigners == {}


# -- refused receipts ---------------------------------------------------------------------------


def test_wrong_log_key_is_refused(filled: Ledger, keys: KeyFactory) -> None:
    receipt = filled.receipt(3)
    impostor = other_log_key(filled, keys).verifier
    with pytest.raises(VerificationError, match="no trusted key signed"):
        verify_receipt(receipt, [impostor])
    elsewhere = NoteSigner("other.example/log", keys("log")).verifier
    with pytest.raises(VerificationError, match="no trusted log key for origin"):
        verify_receipt(receipt, [elsewhere])
    with pytest.raises(VerificationError):
        verify_receipt(receipt, [])


def test_receipt_naming_an_untrusted_log_key_is_refused(filled: Ledger,
                                                        keys: KeyFactory) -> None:
    receipt = filled.receipt(3)
    swapped = dataclasses.replace(receipt, log_key=other_log_key(filled, keys).verifier.to_vkey())
    with pytest.raises(VerificationError, match="log key"):
        verify_receipt(swapped, trusted(filled))


def test_checkpoint_signed_by_another_key_is_refused(filled: Ledger, keys: KeyFactory) -> None:
    receipt = filled.receipt(4)
    text = SignedNote.from_text(receipt.checkpoint).text
    forged = SignedNote(text, (other_log_key(filled, keys).sign(text),)).to_text()
    with pytest.raises(VerificationError, match="no trusted key signed"):
        verify_receipt(dataclasses.replace(receipt, checkpoint=forged), trusted(filled))


def test_checkpoint_with_edited_root_is_refused(filled: Ledger) -> None:
    receipt = filled.receipt(4)
    note = SignedNote.from_text(receipt.checkpoint)
    cp = Checkpoint.from_text(note.text)
    edited = Checkpoint(cp.origin, cp.size, flip(cp.root, 0)).to_text()
    forged = SignedNote(edited, note.signatures).to_text()
    with pytest.raises(VerificationError, match="does not verify"):
        verify_receipt(dataclasses.replace(receipt, checkpoint=forged), trusted(filled))


@pytest.mark.parametrize("index", [0, 10, 57, 300, 500])
def test_tampered_leaf_is_refused(filled: Ledger, index: int) -> None:
    receipt = filled.receipt(7)
    leaf = receipt.leaf
    tampered = dataclasses.replace(receipt, leaf=flip(leaf, index % len(leaf)))
    with pytest.raises((VerificationError, MalformedError)):
        verify_receipt(tampered, trusted(filled))


def test_another_valid_leaf_is_refused(filled: Ledger) -> None:
    receipt = filled.receipt(7)
    other = filled.receipt(8).leaf
    with pytest.raises(VerificationError, match="inclusion proof"):
        verify_receipt(dataclasses.replace(receipt, leaf=other), trusted(filled))


def test_tampered_proof_is_refused(filled: Ledger) -> None:
    receipt = filled.receipt(7)
    proof = receipt.inclusion_proof
    assert len(proof) >= 3
    variants = [
        *(proof[:i] + (flip(proof[i], 31),) + proof[i + 1 :] for i in range(len(proof))),
        proof[:-1],
        proof + (proof[0],),
        tuple(reversed(proof)),
        (),
    ]
    for bad in variants:
        with pytest.raises(VerificationError, match="inclusion proof"):
            verify_receipt(dataclasses.replace(receipt, inclusion_proof=bad), trusted(filled))


def test_wrong_index_is_refused(filled: Ledger) -> None:
    receipt = filled.receipt(7)
    for index in (6, 8, 3):
        with pytest.raises(VerificationError, match="inclusion proof"):
            verify_receipt(dataclasses.replace(receipt, leaf_index=index), trusted(filled))
    for index in (EVENTS, EVENTS + 5, -1):
        with pytest.raises(VerificationError, match="not below checkpoint size"):
            verify_receipt(dataclasses.replace(receipt, leaf_index=index), trusted(filled))


def test_edited_decoded_event_is_refused(filled: Ledger) -> None:
    receipt = filled.receipt(1)
    verified = verify_receipt(receipt, trusted(filled))
    data = receipt.to_json()
    check_decoded_event(data, verified.event)
    edits = {
        "title": lambda e: e["body"].update(title="Someone else's story"),
        "actor": lambda e: e.update(actor="ed25519:" + "11" * 32),
        "at": lambda e: e.update(at="2020-01-01T00:00:00Z"),
        "id": lambda e: e.update(id="00" * 32),
        "extra": lambda e: e.update(note="added"),
    }
    for edit in edits.values():
        edited = json.loads(json.dumps(data))
        edit(edited["event"])
        # The signed parts of the receipt still verify: only the human-readable part lies.
        again = verify_receipt(Receipt.from_json(edited), trusted(filled))
        with pytest.raises(VerificationError, match="decoded event"):
            check_decoded_event(edited, again.event)


# -- malformed receipt files -------------------------------------------------------------------


def test_from_json_is_strict(filled: Ledger) -> None:
    good = filled.receipt(0).to_json()
    cases = {
        "unknown field 'extra'": {**good, "extra": 1},
        "format": {**good, "format": "provenance-ledger/receipt/v2"},
        "'leaf_index'": {**good, "leaf_index": True},
        "'leaf_index' ": {k: v for k, v in good.items() if k != "leaf_index"},
        "'checkpoint'": {**good, "checkpoint": None},
        "'inclusion_proof'": {**good, "inclusion_proof": "abc"},
        "receipt leaf": {**good, "leaf": "not base64!"},
        "inclusion proof hash": {**good, "inclusion_proof": ["AAAA"]},
        "list of base64": {**good, "inclusion_proof": [7]},
        "list of base64 ": {**good, "inclusion_proof": ["A" * 43 + "="] *
                            (MAX_PROOF_HASHES + 1)},
    }
    for message, data in cases.items():
        with pytest.raises(MalformedError, match=message.strip()):
            Receipt.from_json(data)
    with pytest.raises(MalformedError, match="JSON object"):
        Receipt.from_json([good])


def test_load_receipt_json_refuses_bad_files() -> None:
    with pytest.raises(MalformedError, match="larger than"):
        load_receipt_json(b" " * (MAX_RECEIPT_BYTES + 1))
    with pytest.raises(MalformedError, match="not valid"):
        load_receipt_json(b"{not json")
    with pytest.raises(MalformedError, match="not valid"):
        load_receipt_json(b"\xff\xfe{}")


def test_load_receipt_json_refuses_deep_nesting() -> None:
    # 4 KB of brackets, far below MAX_RECEIPT_BYTES: must be "malformed", not a crash.
    with pytest.raises(MalformedError):
        load_receipt_json(b"[" * 2048 + b"]" * 2048)


def test_receipt_keeps_no_private_material(filled: Ledger) -> None:
    seed = filled.signer.key.inner.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    text = json.dumps(filled.receipt(0).to_json())
    assert seed.hex() not in text
    assert base64.b64encode(seed).decode() not in text
