"""The worked examples in specs/ are what the code produces, byte for byte.

An outsider builds a verifier from specs/ alone, so every example there is a known-answer case:
this module rebuilds the log of specs/checkpoints.md section 7.2 (the two events of
specs/events.md section 10, in two blocks) with the code, and requires each note, cosignature
and receipt it produces to appear verbatim in the spec. A change to a format changes the
example with it, or this fails.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.core.note import NoteSigner, SignedNote
from provenance_ledger.core.timefmt import parse_time
from provenance_ledger.ledger import Ledger
from provenance_ledger.store import SqliteStore

SPECS = Path(__file__).resolve().parents[1] / "specs"
CONTENT = b"Chapter 1, page 12\n"
REGISTERED = parse_time("2025-11-01T09:00:00Z")
BLOCK_TIMES = (parse_time("2025-11-01T09:00:30Z"), parse_time("2025-11-01T09:01:30Z"))
COSIGNED = parse_time("2025-11-01T09:02:00Z")


def spec(name: str) -> str:
    return (SPECS / name).read_text(encoding="utf-8")


def example_events() -> tuple[SignedEvent, SignedEvent]:
    """The two events of specs/events.md section 10."""
    creator = PrivateKey.from_seed(bytes(32))
    grantee = PrivateKey.from_seed(bytes([3]) * 32)
    work = work_id_of(hashlib.sha256(CONTENT).hexdigest())
    reg = sign_event(Event("work.register", work, None, creator.public.text, REGISTERED,
                           {"size": 19, "media_type": "image/png", "title": "第1話 p.12"}),
                     creator)
    grant = sign_event(Event("consent.grant", work, reg.id, creator.public.text,
                             REGISTERED + 60,
                             {"grantee": grantee.public.text, "purposes": ["ai_training"],
                              "until": "2026-11-01T00:00:00Z",
                              "conditions": ["attribution"]}),
                       creator)
    return reg, grant


@pytest.fixture
def example_log(tmp_path: Path) -> Ledger:
    """The log of specs/checkpoints.md section 7.2."""
    key = PrivateKey.from_seed(bytes([1]) * 32)
    origin = "provenance-ledger.local/" + hashlib.sha256(key.public.raw).hexdigest()[:12]
    ledger = Ledger(SqliteStore(tmp_path / "ledger.db"), NoteSigner(origin, key))
    for ev, now in zip(example_events(), BLOCK_TIMES, strict=True):
        ledger.append(ev.leaf, now)
    return ledger


def test_event_leaves_are_the_spec_examples() -> None:
    text = spec("events.md")
    for ev in example_events():
        assert ev.leaf.decode() in text
        assert ev.id in text


def test_checkpoint_notes_are_the_spec_examples(example_log: Ledger) -> None:
    text = spec("checkpoints.md")
    assert example_log.vkey in text
    for row in example_log.store.checkpoints():
        assert f"```\n{row.note}```" in text, f"checkpoint at size {row.size} is not in the spec"


def test_cosigned_note_is_the_spec_example(example_log: Ledger) -> None:
    witness = NoteSigner("witness.example/w1", PrivateKey.from_seed(bytes([2]) * 32),
                         cosigner=True)
    _, note_text = example_log.latest_checkpoint()
    note = SignedNote.from_text(note_text)
    cosigned = note.with_signatures([witness.sign(note.text, COSIGNED)])
    text = spec("checkpoints.md")
    assert witness.verifier.to_vkey() in text
    assert f"```\n{cosigned.to_text()}```" in text


def test_receipt_is_the_spec_example(example_log: Ledger) -> None:
    receipt = example_log.receipt(0)
    shown = json.dumps(receipt.to_json(), indent=2, ensure_ascii=False)
    assert f"```json\n{shown}\n```" in spec("receipts.md")
