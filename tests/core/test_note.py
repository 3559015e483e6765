"""Tests for provenance_ledger.core.note: C2SP signed notes, checkpoints and cosignatures.

Sources of truth: the c2sp.org/signed-note known answer quoted in DESIGN.md, round trips of
our own encoders, and ``tlog_scales``, an independent C2SP implementation, as a second opinion
on the notes we sign (type 0x01) and cosign (type 0x04).
"""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from hypothesis import given
from hypothesis import strategies as st
from tlog_scales.signing import Vkey

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import (
    MAX_NOTE_BYTES,
    MAX_NOTE_SIGNATURES,
    MAX_TREE_SIZE,
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    BlockLine,
    Checkpoint,
    NoteSignature,
    NoteSigner,
    SignedNote,
    Verifier,
    check_key_name,
    cosignature_message,
    key_id,
    verify_note,
)
from provenance_ledger.errors import MalformedError, VerificationError
from tests.scales import ScalesCheckpoint

from ..conftest import NOW, KeyFactory

# c2sp.org/signed-note, "Example" (quoted in DESIGN.md).
KAT_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
KAT_TEXT = "This is an example message.\n"
KAT_SIGNATURE_LINE = (
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3m"
    "FXmRKuwHjG1Yu72IneyaQM=\n"
)
KAT_NOTE = KAT_TEXT + "\n" + KAT_SIGNATURE_LINE

ORIGIN = "log.example/provenance"
WITNESS = "witness.example/w1"
ROOT = bytes(range(32))
ROOT_B64 = base64.b64encode(ROOT).decode()
CHECKPOINT_TEXT = f"{ORIGIN}\n7\n{ROOT_B64}\n"
BLOCK = "provenance-ledger/block prev=3 time=2026-01-01T00:00:00Z"
MAP = f"provenance-ledger/map root={ROOT_B64}"


def log_signer(keys: KeyFactory, name: str = ORIGIN) -> NoteSigner:
    return NoteSigner(name, keys("log"))


def witness_signer(keys: KeyFactory, name: str = WITNESS) -> NoteSigner:
    return NoteSigner(name, keys("witness"), cosigner=True)


def signed_checkpoint(keys: KeyFactory, text: str = CHECKPOINT_TEXT) -> SignedNote:
    return SignedNote(text, (log_signer(keys).sign(text),))


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# -- known answer --------------------------------------------------------------------------


def test_known_answer_verifies() -> None:
    note = SignedNote.from_text(KAT_NOTE)
    assert note.text == KAT_TEXT
    assert verify_note(note, [Verifier.from_vkey(KAT_VKEY)]) == {"example.com/foo": None}


def test_known_answer_vkey_parses_and_round_trips() -> None:
    v = Verifier.from_vkey(KAT_VKEY)
    assert v.name == "example.com/foo"
    assert v.sig_type == SIG_TYPE_ED25519
    assert v.key_id.hex() == "530d903a"
    assert v.to_vkey() == KAT_VKEY


def test_known_answer_note_round_trips() -> None:
    assert SignedNote.from_text(KAT_NOTE).to_text() == KAT_NOTE


def test_known_answer_with_other_text_is_refused() -> None:
    note = SignedNote.from_text(KAT_NOTE.replace("example", "Example", 1))
    with pytest.raises(VerificationError):
        verify_note(note, [Verifier.from_vkey(KAT_VKEY)])


# -- signing and verifying ------------------------------------------------------------------


def test_sign_verify_round_trip(keys: KeyFactory) -> None:
    signer = log_signer(keys)
    note = SignedNote(CHECKPOINT_TEXT, (signer.sign(CHECKPOINT_TEXT),))
    parsed = SignedNote.from_text(note.to_text())
    assert parsed == note
    assert verify_note(parsed, [Verifier.from_vkey(signer.verifier.to_vkey())]) == {ORIGIN: None}


def test_vkey_round_trip(keys: KeyFactory) -> None:
    for signer in (log_signer(keys), witness_signer(keys)):
        vkey = signer.verifier.to_vkey()
        assert Verifier.from_vkey(vkey) == signer.verifier
        assert Verifier.from_vkey(vkey).to_vkey() == vkey


def test_key_id_depends_on_signature_type(keys: KeyFactory) -> None:
    plain = NoteSigner(ORIGIN, keys("same"))
    cosigner = NoteSigner(ORIGIN, keys("same"), cosigner=True)
    assert plain.verifier.sig_type == SIG_TYPE_ED25519
    assert cosigner.verifier.sig_type == SIG_TYPE_COSIGNATURE_V1
    assert plain.verifier.key_id != cosigner.verifier.key_id
    # A plain signature never counts as a cosignature by the same key, nor the reverse.
    note = SignedNote(CHECKPOINT_TEXT, (plain.sign(CHECKPOINT_TEXT),))
    with pytest.raises(VerificationError, match="no trusted key"):
        verify_note(note, [cosigner.verifier])


def test_cosignature_verifies_and_carries_its_timestamp(keys: KeyFactory) -> None:
    witness = witness_signer(keys)
    note = signed_checkpoint(keys).with_signatures([witness.sign(CHECKPOINT_TEXT, NOW)])
    parsed = SignedNote.from_text(note.to_text())
    assert verify_note(parsed, [witness.verifier]) == {WITNESS: NOW}
    both = verify_note(parsed, [log_signer(keys).verifier, witness.verifier])
    assert both == {ORIGIN: None, WITNESS: NOW}


def test_cosignature_payload_layout(keys: KeyFactory) -> None:
    witness = witness_signer(keys)
    sig = witness.sign(CHECKPOINT_TEXT, NOW)
    assert len(sig.signature) == 8 + 64
    assert struct.unpack(">Q", sig.signature[:8]) == (NOW,)
    # The signed message is the c2sp.org/tlog-cosignature header, the time, the checkpoint.
    msg = cosignature_message(NOW, CHECKPOINT_TEXT)
    assert msg == f"cosignature/v1\ntime {NOW}\n{CHECKPOINT_TEXT}".encode()
    witness.key.public.verify(sig.signature[8:], msg)


def test_cosignature_with_edited_timestamp_is_refused(keys: KeyFactory) -> None:
    witness = witness_signer(keys)
    sig = witness.sign(CHECKPOINT_TEXT, NOW)
    moved = NoteSignature(sig.name, sig.key_id, struct.pack(">Q", NOW + 1) + sig.signature[8:])
    with pytest.raises(VerificationError):
        verify_note(SignedNote(CHECKPOINT_TEXT, (moved,)), [witness.verifier])


def test_cosignature_of_wrong_length_is_refused(keys: KeyFactory) -> None:
    witness = witness_signer(keys)
    sig = witness.sign(CHECKPOINT_TEXT, NOW)
    short = NoteSignature(sig.name, sig.key_id, sig.signature[:-1])
    with pytest.raises(VerificationError, match="cosignature"):
        verify_note(SignedNote(CHECKPOINT_TEXT, (short,)), [witness.verifier])


def test_cosignature_dated_after_9999_is_refused(keys: KeyFactory) -> None:
    """specs/checkpoints.md section 4: a genuine signature over a time no reader can show
    (after 9999-12-31T23:59:59Z) counts as not verifying; the last second still counts."""
    witness = witness_signer(keys)
    last = 253402300799
    note = SignedNote(CHECKPOINT_TEXT, (witness.sign(CHECKPOINT_TEXT, last),))
    assert verify_note(note, [witness.verifier]) == {WITNESS: last}
    for at in (last + 1, 2**64 - 1):
        note = SignedNote(CHECKPOINT_TEXT, (witness.sign(CHECKPOINT_TEXT, at),))
        with pytest.raises(VerificationError, match="after 9999-12-31T23:59:59Z"):
            verify_note(note, [witness.verifier])


def test_cosigner_needs_a_timestamp(keys: KeyFactory) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        witness_signer(keys).sign(CHECKPOINT_TEXT)
    with pytest.raises(ValueError, match="timestamp"):
        witness_signer(keys).sign(CHECKPOINT_TEXT, -1)


# -- tampering ---------------------------------------------------------------------------------


def test_tampered_text_is_refused(keys: KeyFactory) -> None:
    note = signed_checkpoint(keys)
    tampered = SignedNote.from_text(note.to_text().replace("\n7\n", "\n8\n", 1))
    with pytest.raises(VerificationError, match="does not verify"):
        verify_note(tampered, [log_signer(keys).verifier])


@given(st.data())
def test_any_flipped_signature_bit_is_refused(keys: KeyFactory, data: st.DataObject) -> None:
    note = signed_checkpoint(keys)
    (sig,) = note.signatures
    index = data.draw(st.integers(0, len(sig.signature) - 1))
    bad = NoteSignature(sig.name, sig.key_id, flip(sig.signature, index))
    with pytest.raises(VerificationError):
        verify_note(SignedNote(note.text, (bad,)), [log_signer(keys).verifier])


def test_truncated_signature_is_refused(keys: KeyFactory) -> None:
    (sig,) = signed_checkpoint(keys).signatures
    bad = NoteSignature(sig.name, sig.key_id, sig.signature[:63])
    with pytest.raises(VerificationError, match="64 bytes"):
        verify_note(SignedNote(CHECKPOINT_TEXT, (bad,)), [log_signer(keys).verifier])


def test_invalid_trusted_signature_is_refused_beside_a_valid_one(keys: KeyFactory) -> None:
    good = signed_checkpoint(keys)
    witness = witness_signer(keys)
    cosig = witness.sign(CHECKPOINT_TEXT, NOW)
    bad = NoteSignature(cosig.name, cosig.key_id, flip(cosig.signature, 20))
    note = good.with_signatures([bad])
    with pytest.raises(VerificationError):
        verify_note(note, [log_signer(keys).verifier, witness.verifier])


# -- trust: unknown signatures are ignored, some trusted one is required ----------------------


def test_unknown_signatures_are_ignored(keys: KeyFactory) -> None:
    stranger = NoteSigner("stranger.example/log", keys("stranger"))
    garbage = NoteSignature("garbage.example", b"\x00\x01\x02\x03", b"\xff" * 5)
    note = SignedNote(CHECKPOINT_TEXT, (
        stranger.sign(CHECKPOINT_TEXT),
        garbage,
        log_signer(keys).sign(CHECKPOINT_TEXT),
    ))
    parsed = SignedNote.from_text(note.to_text())
    assert parsed.signatures == note.signatures  # kept, so the note can be passed on whole
    assert verify_note(parsed, [log_signer(keys).verifier]) == {ORIGIN: None}


def test_same_name_other_key_is_not_trusted(keys: KeyFactory) -> None:
    impostor = NoteSigner(ORIGIN, keys("impostor"))
    note = SignedNote(CHECKPOINT_TEXT, (impostor.sign(CHECKPOINT_TEXT),))
    with pytest.raises(VerificationError, match="no trusted key signed this note"):
        verify_note(note, [log_signer(keys).verifier])


def test_note_without_trusted_signature_is_refused(keys: KeyFactory) -> None:
    stranger = NoteSigner("stranger.example/log", keys("stranger"))
    note = SignedNote(CHECKPOINT_TEXT, (stranger.sign(CHECKPOINT_TEXT),))
    with pytest.raises(VerificationError, match=ORIGIN):
        verify_note(note, [log_signer(keys).verifier])
    with pytest.raises(VerificationError, match="none"):
        verify_note(note, [])


def test_with_signatures_drops_exact_duplicates(keys: KeyFactory) -> None:
    note = signed_checkpoint(keys)
    cosig = witness_signer(keys).sign(CHECKPOINT_TEXT, NOW)
    again = note.with_signatures([cosig, note.signatures[0], cosig])
    assert again.signatures == (note.signatures[0], cosig)


# -- checkpoints ---------------------------------------------------------------------------------

# Key names: non-empty, no '+', no white space, printable (c2sp.org/signed-note).
key_names = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp", "Cf", "Co", "Cn"),
                  blacklist_characters="+"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.isprintable() and not any(c.isspace() for c in s))


@given(origin=key_names, size=st.integers(0, MAX_TREE_SIZE), root=st.binary(min_size=32,
                                                                            max_size=32))
def test_checkpoint_text_round_trip(origin: str, size: int, root: bytes) -> None:
    cp = Checkpoint(origin, size, root)
    text = cp.to_text()
    assert text == f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    assert Checkpoint.from_text(text) == cp


@given(origin=key_names, size=st.integers(0, 2**40), root=st.binary(min_size=32, max_size=32))
def test_signed_checkpoint_round_trip(keys: KeyFactory, origin: str, size: int,
                                      root: bytes) -> None:
    text = Checkpoint(origin, size, root).to_text()
    signer = NoteSigner(origin, keys("log"))
    cosigner = NoteSigner(WITNESS, keys("witness"), cosigner=True)
    note = SignedNote(text, (signer.sign(text), cosigner.sign(text, NOW)))
    parsed = SignedNote.from_text(note.to_text())
    assert parsed == note
    assert Checkpoint.from_text(parsed.text) == Checkpoint(origin, size, root)
    assert verify_note(parsed, [signer.verifier, cosigner.verifier]) == {origin: None,
                                                                       WITNESS: NOW}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\nextension\n", "extension", id="extension-line"),
        pytest.param(f"{ORIGIN}\n07\n{ROOT_B64}\n", "decimal", id="leading-zero"),
        pytest.param(f"{ORIGIN}\n00\n{ROOT_B64}\n", "decimal", id="double-zero"),
        pytest.param(f"{ORIGIN}\n+7\n{ROOT_B64}\n", "decimal", id="plus-sign"),
        pytest.param(f"{ORIGIN}\n-7\n{ROOT_B64}\n", "decimal", id="negative"),
        pytest.param(f"{ORIGIN}\n 7\n{ROOT_B64}\n", "decimal", id="space"),
        pytest.param(f"{ORIGIN}\n\n{ROOT_B64}\n", "decimal", id="empty-size"),
        pytest.param(f"{ORIGIN}\n\u0667\n{ROOT_B64}\n", "decimal", id="arabic-digit"),
        pytest.param(f"{ORIGIN}\n{2**63}\n{ROOT_B64}\n", "range", id="size-too-large"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}", "three", id="no-final-newline"),
        pytest.param(f"{ORIGIN}\n7\n", "three", id="two-lines"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64[:-4]}\n", "bytes", id="short-root"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64[:-1]}\n", "base64", id="bad-padding"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64} \n", "base64", id="root-trailing-space"),
        pytest.param(f"\n7\n{ROOT_B64}\n", "key name", id="empty-origin"),
        pytest.param(f"log example\n7\n{ROOT_B64}\n", "key name", id="origin-with-space"),
        pytest.param(f"log+example\n7\n{ROOT_B64}\n", "key name", id="origin-with-plus"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\n{BLOCK}\n{MAP}\nmore\n", "two extension",
                     id="three-extension-lines"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\n{MAP}\n", "block", id="map-line-first"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\n{MAP}\n{BLOCK}\n", "block",
                     id="lines-swapped"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\n{BLOCK}\n{BLOCK}\n", "map root",
                     id="two-block-lines"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\n{BLOCK}\n{MAP[:-4]}\n", "bytes",
                     id="short-map-root"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\n{BLOCK}\n{MAP} \n", "base64",
                     id="map-root-trailing-space"),
    ],
)
def test_malformed_checkpoint_is_refused(text: str, message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        Checkpoint.from_text(text)


def test_map_line_round_trips_after_the_block_line() -> None:
    """specs/map.md section 8: the map root is the second extension line, signed with the
    checkpoint."""
    text = f"{ORIGIN}\n7\n{ROOT_B64}\n{BLOCK}\n{MAP}\n"
    cp = Checkpoint.from_text(text)
    assert cp.map_root == bytes(range(32))
    assert cp.block == BlockLine(3, NOW)
    assert cp.to_text() == text
    assert Checkpoint(ORIGIN, 7, ROOT, BlockLine(3, NOW)).map_root is None


def test_checkpoint_values_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Checkpoint(ORIGIN, 1, b"\x00" * 31)
    with pytest.raises(ValueError, match="out of range"):
        Checkpoint(ORIGIN, -1, ROOT)
    with pytest.raises(MalformedError):
        Checkpoint("bad origin", 1, ROOT)
    with pytest.raises(ValueError, match="block line"):
        Checkpoint(ORIGIN, 1, ROOT, None, ROOT)


# -- malformed notes --------------------------------------------------------------------------


def _sig_line(keys: KeyFactory) -> str:
    return log_signer(keys).sign(CHECKPOINT_TEXT).to_line()


def test_malformed_notes_are_refused(keys: KeyFactory) -> None:
    line = _sig_line(keys)
    cases = {
        "no empty line": CHECKPOINT_TEXT + line,
        "end with a newline": CHECKPOINT_TEXT + "\n" + line[:-1],
        "not valid base64": CHECKPOINT_TEXT + "\n\u2014 " + ORIGIN + " ***not*base64***\n",
        "em dash": CHECKPOINT_TEXT + "\n" + line.replace("\u2014", "-", 1),
        "is not '\u2014 <name> <base64>'": CHECKPOINT_TEXT + "\n" + line.replace(" ", "  ", 1),
        "no empty line before": "no signatures at all\n",
        "shorter than a key id": CHECKPOINT_TEXT + "\n\u2014 " + ORIGIN + " AAAA\n",
        "key name": CHECKPOINT_TEXT + "\n\u2014 a+b " + line.split(" ")[2],
        "control characters": "bell\x07\n\n" + line,
    }
    for message, note in cases.items():
        with pytest.raises(MalformedError, match=message):
            SignedNote.from_text(note)


def test_non_canonical_signature_base64_is_refused(keys: KeyFactory) -> None:
    line = _sig_line(keys)
    name, b64 = line[2:-1].split(" ")
    raw = base64.b64decode(b64)
    # Same bytes, but the unused low bits of the last base64 character are set.
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(b64[-2])
    loose = b64[:-2] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[
        last | 1] + "="
    assert base64.b64decode(loose) == raw and loose != b64
    with pytest.raises(MalformedError, match="base64"):
        SignedNote.from_text(f"{CHECKPOINT_TEXT}\n\u2014 {name} {loose}\n")


def test_signature_count_limit(keys: KeyFactory) -> None:
    line = _sig_line(keys)
    at_limit = SignedNote.from_text(CHECKPOINT_TEXT + "\n" + line * MAX_NOTE_SIGNATURES)
    assert len(at_limit.signatures) == MAX_NOTE_SIGNATURES
    with pytest.raises(MalformedError, match="more than"):
        SignedNote.from_text(CHECKPOINT_TEXT + "\n" + line * (MAX_NOTE_SIGNATURES + 1))


def test_note_size_limit() -> None:
    big = "x" * MAX_NOTE_BYTES + "\n"
    with pytest.raises(MalformedError, match="larger than"):
        SignedNote.from_text(big + "\n\u2014 a AAAAAAAA\n")


def test_note_text_must_end_with_newline() -> None:
    with pytest.raises(MalformedError, match="newline"):
        SignedNote("no newline")


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        pytest.param("example.com/foo", "is not", id="no-parts"),
        pytest.param("example.com/foo+530d903a", "is not", id="two-parts"),
        pytest.param(KAT_VKEY.replace("+530d903a+", "+530d90+"), "is not", id="short-id"),
        pytest.param(KAT_VKEY.replace("530d903a", "530d903b"), "does not match", id="wrong-id"),
        pytest.param(KAT_VKEY.replace("530d903a", "530d90zz"), "not hex", id="non-hex-id"),
        pytest.param(KAT_VKEY.replace("530d903a", "530D903A"), "is not", id="uppercase-id"),
        pytest.param(KAT_VKEY + "\n", "base64", id="trailing-newline"),
        pytest.param(" " + KAT_VKEY, "key name", id="leading-space"),
        pytest.param(KAT_VKEY.replace("example.com/foo", "example.com/bar"), "does not match",
                     id="other-name"),
        pytest.param(KAT_VKEY[:-1], "base64", id="truncated-key"),
        pytest.param(KAT_VKEY + "AAAA", "one type byte", id="long-key"),
        pytest.param(KAT_VKEY.replace("+Aeky", "+Ajky"), "unsupported signature type",
                     id="type-0x02"),
        pytest.param("a b+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "key name",
                     id="name-with-space"),
    ],
)
def test_malformed_vkey_is_refused(vkey: str, message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        Verifier.from_vkey(vkey)


@pytest.mark.parametrize("seed", ["plus0", "plus10"])
@pytest.mark.parametrize("cosigner", [False, True], ids=["ed25519", "cosignature"])
def test_vkey_with_plus_in_base64_parses(keys: KeyFactory, seed: str, cosigner: bool) -> None:
    # Regression: the key's base64 may contain '+', the separator of the vkey fields.
    signer = NoteSigner("log.example/plus", keys(seed), cosigner=cosigner)
    vkey = signer.verifier.to_vkey()
    assert "+" in vkey.split("+", 2)[2]
    parsed = Verifier.from_vkey(vkey)
    assert parsed == signer.verifier
    note = SignedNote(CHECKPOINT_TEXT, (signer.sign(CHECKPOINT_TEXT, NOW if cosigner else None),))
    assert verify_note(note, [parsed]) == {"log.example/plus": NOW if cosigner else None}


# -- second opinion: tlog_scales ----------------------------------------------------------------


def _scales_verify(note_text: str, vkey: str) -> None:
    ScalesCheckpoint.from_text(note_text).verify(Vkey.from_string(vkey))


def test_our_log_signature_verifies_with_tlog_scales(keys: KeyFactory) -> None:
    signer = log_signer(keys)
    _scales_verify(signed_checkpoint(keys).to_text(), signer.verifier.to_vkey())


def test_our_cosignature_verifies_with_tlog_scales(keys: KeyFactory) -> None:
    witness = witness_signer(keys)
    note = signed_checkpoint(keys).with_signatures([witness.sign(CHECKPOINT_TEXT, NOW)])
    _scales_verify(note.to_text(), witness.verifier.to_vkey())
    _scales_verify(note.to_text(), log_signer(keys).verifier.to_vkey())


@pytest.mark.parametrize("cosigner", [False, True], ids=["ed25519", "cosignature"])
def test_tlog_scales_parses_our_vkeys_with_plus(keys: KeyFactory, cosigner: bool) -> None:
    signer = NoteSigner(ORIGIN, keys("plus10"), cosigner=cosigner)
    note = SignedNote(CHECKPOINT_TEXT, (signer.sign(CHECKPOINT_TEXT, NOW if cosigner else None),))
    vkey = signer.verifier.to_vkey()
    assert Vkey.from_string(vkey).serialize() == vkey
    _scales_verify(note.to_text(), vkey)


@given(size=st.integers(0, 2**40), root=st.binary(min_size=32, max_size=32),
       timestamp=st.integers(0, 2**40))
def test_tlog_scales_agrees_on_random_checkpoints(keys: KeyFactory, size: int, root: bytes,
                                                  timestamp: int) -> None:
    text = Checkpoint(ORIGIN, size, root).to_text()
    signer, witness = log_signer(keys), witness_signer(keys)
    note = SignedNote(text, (signer.sign(text), witness.sign(text, timestamp))).to_text()
    _scales_verify(note, signer.verifier.to_vkey())
    _scales_verify(note, witness.verifier.to_vkey())


def test_tlog_scales_refuses_what_we_refuse(keys: KeyFactory) -> None:
    # The second opinion is only worth having if it can say no.
    tampered = signed_checkpoint(keys).to_text().replace("\n7\n", "\n8\n", 1)
    with pytest.raises(InvalidSignature):
        _scales_verify(tampered, log_signer(keys).verifier.to_vkey())


def test_private_key_is_not_in_signer_repr(keys: KeyFactory) -> None:
    key: PrivateKey = keys("log")
    seed = key.inner.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    text = repr(NoteSigner(ORIGIN, key))
    assert seed.hex() not in text
    assert base64.b64encode(seed).decode() not in text


# -- key names: one fixed rule for notes, vkeys, origins and a node's configuration ------------

NAME_CASES = [
    ("log.example/provenance", True, "ascii-origin"),
    ("ログ.example/台帳", True, "japanese"),
    ("log.example/\U0001f6dc", True, "emoji-of-unicode-15"),
    ("log.example/\u0378", True, "unassigned"),
    ("a" * 255, True, "255-bytes"),
    ("\u00e9" * 127 + "a", True, "255-bytes-two-byte-chars"),
    ("", False, "empty"),
    ("a" * 256, False, "256-bytes"),
    ("\u00e9" * 128, False, "256-bytes-two-byte-chars"),
    ("log+example", False, "plus"),
    ("log example", False, "space"),
    ("log\texample", False, "tab"),
    ("log\u00a0example", False, "no-break-space"),
    ("log\u3000example", False, "ideographic-space"),
    ("log\u2028example", False, "line-separator"),
    ("log\u200bexample", False, "zero-width-space"),
    ("log\u200dexample", False, "zero-width-joiner"),
    ("log\u00adexample", False, "soft-hyphen"),
    ("log\ufeffexample", False, "byte-order-mark"),
    ("log\u2060example", False, "word-joiner"),
    ("log\u202eexample", False, "right-to-left-override"),
    ("log\x85example", False, "next-line"),
    ("log\x7fexample", False, "delete"),
]


@pytest.mark.parametrize(("name", "valid"), [pytest.param(n, ok, id=i)
                                             for n, ok, i in NAME_CASES])
def test_key_name_rule(keys: KeyFactory, name: str, valid: bool) -> None:
    text = f"{name}\n7\n{ROOT_B64}\n"
    raw = bytes([SIG_TYPE_ED25519]) + keys("log").public.raw
    kid = key_id(name, SIG_TYPE_ED25519, raw[1:]).hex()
    vkey = f"{name}+{kid}+{base64.b64encode(raw).decode()}"
    if valid:
        assert check_key_name(name) == name
        assert Checkpoint.from_text(text).origin == name
        signer = NoteSigner(name, keys("log"))
        assert Verifier.from_vkey(signer.verifier.to_vkey()) == signer.verifier
        return
    with pytest.raises(MalformedError, match="key name"):
        check_key_name(name)
    with pytest.raises(MalformedError, match="key name"):
        Checkpoint.from_text(text)
    with pytest.raises(MalformedError):  # '+' splits the vkey's fields: another message
        Verifier.from_vkey(vkey)


@pytest.mark.parametrize(("name", "valid"), [pytest.param(n, ok, id=i)
                                             for n, ok, i in NAME_CASES if n])
def test_node_configuration_uses_the_same_name_rule(name: str, valid: bool) -> None:
    from provenance_ledger.node.config import NodeConfig

    if valid:
        assert NodeConfig(name, "127.0.0.1:1", "witness.example/w").origin == name
        return
    with pytest.raises(MalformedError, match="origin"):
        NodeConfig(name, "127.0.0.1:1", "witness.example/w")
