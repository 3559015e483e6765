"""Fuzz and properties of signed notes, checkpoints, verifier keys and cosignatures
(specs/checkpoints.md): any text gives a value or a MalformedError/VerificationError; every
to_text/from_text pair round-trips; a changed signed checkpoint is refused, or verifies as the
same checkpoint with fewer signers (a line that no longer names a trusted key is ignored)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from provenance_ledger.core.merkle import HASH_SIZE
from provenance_ledger.core.note import (
    MAX_TREE_SIZE,
    Checkpoint,
    NoteSignature,
    NoteSigner,
    SignedNote,
    Verifier,
    verify_note,
)
from provenance_ledger.core.timefmt import MAX_TIME
from provenance_ledger.errors import MalformedError, VerificationError

from .strategies import KEYS, LOG, WITNESSES, fuzz, text_mutation

REFUSALS = (MalformedError, VerificationError)
TRUSTED = [LOG.verifier, *(w.verifier for w in WITNESSES)]

# Key names of the kinds logs use: host/path, with some non-ASCII text.
key_names = st.from_regex(r"[a-z0-9.-]{1,20}(/[a-zA-Z0-9._\u00e9\u65e5-]{1,12}){0,2}",
                          fullmatch=True)
checkpoints = st.builds(Checkpoint, key_names, st.integers(0, MAX_TREE_SIZE),
                        st.binary(min_size=HASH_SIZE, max_size=HASH_SIZE))


@st.composite
def signed_checkpoints(draw: st.DrawFn) -> tuple[Checkpoint, SignedNote]:
    """A checkpoint of the fuzz log, signed by it and cosigned by some witnesses."""
    cp = Checkpoint(LOG.name, draw(st.integers(0, 2**40)),
                    draw(st.binary(min_size=HASH_SIZE, max_size=HASH_SIZE)))
    text = cp.to_text()
    cosigners = draw(st.lists(st.sampled_from(WITNESSES), unique_by=lambda w: w.name,
                              max_size=len(WITNESSES)))
    # Cosignature times are those a cosignature may state (checkpoints.md section 4).
    sigs = [LOG.sign(text)] + [w.sign(text, draw(st.integers(0, MAX_TIME))) for w in cosigners]
    return cp, SignedNote(text, tuple(sigs))


@fuzz(300)
@given(st.text(max_size=300))
def test_any_text_as_a_note_parses_or_is_refused(text: str) -> None:
    try:
        note = SignedNote.from_text(text)
        Checkpoint.from_text(note.text)
        verify_note(note, TRUSTED)
    except REFUSALS:
        return


@fuzz(300)
@given(st.text(max_size=120))
def test_any_text_as_a_vkey_or_signature_line_parses_or_is_refused(text: str) -> None:
    for parse in (Verifier.from_vkey, NoteSignature.from_line, Checkpoint.from_text):
        try:
            parse(text)
        except MalformedError:
            pass


@fuzz(100)
@given(checkpoints)
def test_checkpoint_round_trip(cp: Checkpoint) -> None:
    assert Checkpoint.from_text(cp.to_text()) == cp


@fuzz(60)
@given(signed_checkpoints())
def test_signed_note_round_trip(made: tuple[Checkpoint, SignedNote]) -> None:
    cp, note = made
    parsed = SignedNote.from_text(note.to_text())
    assert parsed == note and Checkpoint.from_text(parsed.text) == cp
    for sig in note.signatures:
        assert NoteSignature.from_line(sig.to_line()[:-1]) == sig
    signers = verify_note(parsed, TRUSTED)
    assert set(signers) == {s.name for s in note.signatures}


@fuzz(60)
@given(key_names, st.sampled_from(KEYS), st.booleans())
def test_vkey_round_trip(name: str, key: object, cosigner: bool) -> None:
    v = NoteSigner(name, key, cosigner=cosigner).verifier  # type: ignore[arg-type]
    assert Verifier.from_vkey(v.to_vkey()) == v


@fuzz(300)
@given(signed_checkpoints(), st.data())
def test_a_changed_signed_checkpoint_is_refused(made: tuple[Checkpoint, SignedNote],
                                                data: st.DataObject) -> None:
    cp, note = made
    original = verify_note(note, TRUSTED)
    changed = data.draw(text_mutation(note.to_text()))
    try:
        parsed = SignedNote.from_text(changed)
        signers = verify_note(parsed, TRUSTED)
        got = Checkpoint.from_text(parsed.text)
    except REFUSALS:
        return
    # Accepted: the same checkpoint, and never a signer more or a timestamp changed.
    assert got == cp, changed
    assert signers.items() <= original.items(), changed
    assert signers != original or parsed.text == note.text, changed


@fuzz(200)
@given(signed_checkpoints(), st.binary(max_size=100), st.integers(0, len(WITNESSES) - 1))
def test_a_cosignature_of_other_bytes_is_refused(made: tuple[Checkpoint, SignedNote],
                                                 raw: bytes, w: int) -> None:
    _, note = made
    witness = WITNESSES[w].verifier
    forged = NoteSignature(witness.name, witness.key_id, raw)
    try:
        witness.verify(forged, note.text)
    except VerificationError:
        return
    raise AssertionError(f"a cosignature of random bytes verified: {raw!r}")
