"""The dataset proof file: one item's path plus the receipt of the disclosure it is checked
against (specs/datasets.md section 6).

Verification needs only the file and the trusted log keys: the receipt (core/receipt.py) proves
that the signed ``dataset.disclose`` is in the log at a signed, possibly cosigned, checkpoint;
the path proves the item's answer against that event's root.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedError, VerificationError, quoted
from .dataset import PROOF_FORMAT, Path
from .note import Verifier
from .receipt import Receipt, VerifiedReceipt, check_decoded_event, verify_receipt

MAX_PROOF_FILE_BYTES = (1 << 20) + (64 << 10)
"""Largest proof file accepted, in bytes: a receipt (at most 1 MiB) and a path (at most 256
siblings, about 12 KiB)."""
_FIELDS = frozenset({"format", "item", "answer", "salt", "bitmap", "siblings", "disclosure"})


@dataclass(frozen=True, slots=True)
class DatasetProof:
    path: Path
    disclosure: Receipt

    def to_json(self, disclosure_json: dict[str, Any]) -> dict[str, Any]:
        return {"format": PROOF_FORMAT, **self.path.to_json(), "disclosure": disclosure_json}

    @classmethod
    def from_json(cls, data: Any) -> DatasetProof:
        if not isinstance(data, dict):
            raise MalformedError("dataset proof must be a JSON object")
        if data.get("format") != PROOF_FORMAT:
            raise MalformedError(f"dataset proof format is not {PROOF_FORMAT}")
        unknown = data.keys() - _FIELDS
        if unknown:
            raise MalformedError(f"dataset proof has unknown field {quoted(sorted(unknown)[0])}")
        if "disclosure" not in data:
            raise MalformedError("dataset proof lacks field 'disclosure'")
        path = Path.from_json({k: v for k, v in data.items()
                               if k not in ("format", "disclosure")})
        return cls(path, Receipt.from_json(data["disclosure"]))


@dataclass(frozen=True, slots=True)
class VerifiedAnswer:
    """What a verified proof says: the item, whether it is in the set, and the disclosure."""

    item: str
    member: bool
    receipt: VerifiedReceipt

    @property
    def body(self) -> Mapping[str, Any]:
        return self.receipt.event.event.body


def verify_dataset_proof(
    data: Any, log_keys: Sequence[Verifier], witnesses: Mapping[str, Verifier] | None = None
) -> VerifiedAnswer:
    """Verify a proof file's JSON offline (specs/datasets.md section 6.2)."""
    # (1) the file parses strictly.
    proof = DatasetProof.from_json(data)
    # (2) the disclosure is a logged, signed event at a trusted checkpoint, and its decoded
    # copy says what the signed leaf says.
    verified = verify_receipt(proof.disclosure, log_keys, witnesses)
    check_decoded_event(data["disclosure"], verified.event)
    # (3) it is a dataset.disclose.
    if verified.event.event.type != "dataset.disclose":
        raise VerificationError(f"the disclosure is a {verified.event.event.type}, not a "
                                "dataset.disclose")
    # (4) the path leads from the item's leaf (or its empty place) to the disclosed root.
    root = bytes.fromhex(verified.event.event.body["root"])
    proof.path.verify(root)
    return VerifiedAnswer(proof.path.item, proof.path.salt is not None, verified)
