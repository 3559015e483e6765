"""Receipts: what a creator keeps and a verifier checks offline (specs/receipts.md).

A receipt carries a signed checkpoint, the log's verifier key, the exact leaf bytes, the leaf
index and an inclusion proof, plus the decoded event for people and the same proof as a C2SP
tlog-proof text. :func:`verify_receipt` needs nothing but the receipt and trusted keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedError, VerificationError
from .encoding import b64decode, b64encode
from .events import SignedEvent, parse_leaf
from .merkle import HASH_SIZE, leaf_hash, verify_inclusion
from .note import Checkpoint, SignedNote, Verifier, verify_note

RECEIPT_FORMAT = "provenance-ledger/receipt/v1"
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
MAX_RECEIPT_BYTES = 1 << 20
"""Largest receipt file accepted, in bytes."""
MAX_PROOF_HASHES = 64
_FIELDS = frozenset({"format", "log_key", "checkpoint", "leaf_index", "leaf",
                     "inclusion_proof", "event", "tlog_proof"})


@dataclass(frozen=True, slots=True)
class Receipt:
    """One event's proof of inclusion in a signed checkpoint."""

    log_key: str
    checkpoint: str
    leaf_index: int
    leaf: bytes
    inclusion_proof: tuple[bytes, ...]

    def tlog_proof(self) -> str:
        """The proof as C2SP tlog-proof text (c2sp.org/tlog-proof, draft)."""
        hashes = "".join(b64encode(h) + "\n" for h in self.inclusion_proof)
        return f"{TLOG_PROOF_HEADER}\nindex {self.leaf_index}\n{hashes}\n{self.checkpoint}"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RECEIPT_FORMAT,
            "log_key": self.log_key,
            "checkpoint": self.checkpoint,
            "leaf_index": self.leaf_index,
            "leaf": b64encode(self.leaf),
            "inclusion_proof": [b64encode(h) for h in self.inclusion_proof],
            "event": parse_leaf(self.leaf, verify=False).to_json(),
            "tlog_proof": self.tlog_proof(),
        }

    @classmethod
    def from_json(cls, data: Any) -> Receipt:
        if not isinstance(data, dict):
            raise MalformedError("receipt must be a JSON object")
        unknown = data.keys() - _FIELDS
        if unknown:
            raise MalformedError(f"receipt has unknown field {sorted(unknown)[0]!r}")
        if data.get("format") != RECEIPT_FORMAT:
            raise MalformedError(f"receipt format is not {RECEIPT_FORMAT}")
        for name, kind in (("log_key", str), ("checkpoint", str), ("leaf", str),
                           ("leaf_index", int), ("inclusion_proof", list)):
            if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
                raise MalformedError(f"receipt field {name!r} is missing or not a {kind.__name__}")
        proof = data["inclusion_proof"]
        if len(proof) > MAX_PROOF_HASHES or not all(isinstance(h, str) for h in proof):
            raise MalformedError("receipt inclusion_proof must be a list of base64 hashes")
        return cls(
            data["log_key"],
            data["checkpoint"],
            data["leaf_index"],
            b64decode(data["leaf"], "receipt leaf"),
            tuple(b64decode(h, "inclusion proof hash", HASH_SIZE) for h in proof),
        )


def load_receipt_json(raw: bytes) -> Any:
    if len(raw) > MAX_RECEIPT_BYTES:
        raise MalformedError(f"receipt is larger than {MAX_RECEIPT_BYTES} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MalformedError(f"receipt is not valid JSON: {e}") from e


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """What a receipt proves once verified."""

    event: SignedEvent
    checkpoint: Checkpoint
    leaf_index: int
    cosigners: dict[str, int]  # witness name (as the caller named it) -> cosignature time


def verify_checkpoint_note(
    note_text: str, log_keys: Sequence[Verifier], witnesses: Mapping[str, Verifier] | None = None
) -> tuple[Checkpoint, SignedNote, dict[str, int]]:
    """Verify a signed checkpoint: (1) a trusted log key whose name is the origin signed it;
    (2) return the checkpoint and the valid cosignatures among ``witnesses``."""
    note = SignedNote.from_text(note_text)
    cp = Checkpoint.from_text(note.text)
    own = [v for v in log_keys if v.name == cp.origin]
    if not own:
        raise VerificationError(f"no trusted log key for origin {cp.origin!r}")
    verify_note(note, own)
    cosigners: dict[str, int] = {}
    for wname, w in (witnesses or {}).items():
        for sig in note.signatures:
            if w.matches(sig):
                try:
                    ts = w.verify(sig, note.text)
                except VerificationError:
                    continue  # a bad cosignature counts for nothing; the quorum decides
                if ts is not None:
                    cosigners[wname] = ts
    return cp, note, cosigners


def verify_receipt(
    receipt: Receipt, log_keys: Sequence[Verifier], witnesses: Mapping[str, Verifier] | None = None
) -> VerifiedReceipt:
    """Verify a receipt offline (specs/receipts.md section 3)."""
    # (1)-(2) the checkpoint is signed by a trusted log key named by its origin.
    cp, _, cosigners = verify_checkpoint_note(receipt.checkpoint, log_keys, witnesses)
    # (3) the receipt's log key, if trusted, is the one that signed.
    if receipt.log_key not in {v.to_vkey() for v in log_keys}:
        raise VerificationError("the receipt names a log key that is not trusted")
    # (4) the leaf parses strictly and its actor's signature verifies.
    event = parse_leaf(receipt.leaf)
    # (5) the leaf is in the tree the checkpoint commits to.
    if not 0 <= receipt.leaf_index < cp.size:
        raise VerificationError(
            f"leaf index {receipt.leaf_index} is not below checkpoint size {cp.size}")
    try:
        verify_inclusion(receipt.leaf_index, cp.size, leaf_hash(receipt.leaf),
                         receipt.inclusion_proof, cp.root)
    except VerificationError as e:
        raise VerificationError(f"inclusion proof: {e}") from e
    return VerifiedReceipt(event, cp, receipt.leaf_index, cosigners)


def check_decoded_event(data: Any, event: SignedEvent) -> None:
    """The human-readable ``event`` part must say exactly what the signed leaf says."""
    if isinstance(data, dict) and "event" in data and data["event"] != event.to_json():
        raise VerificationError("the receipt's decoded event does not match its signed leaf")
