"""Split-view evidence, pure: two validly signed checkpoints of one log that cannot both be
true, in the form ``GET /evidence`` serves it, and its offline check (specs/node.md section 4,
"Evidence"). ``provenance verify --evidence`` uses this module without loading the node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import MalformedError, VerificationError
from .encoding import b64decode, b64encode
from .merkle import HASH_SIZE
from .note import SIG_TYPE_ED25519, Checkpoint, SignedNote, Verifier, verify_note
from .witness import INCONSISTENT, SPLIT_VIEW, prefix_root


@dataclass(frozen=True, slots=True)
class Evidence:
    """Two validly signed checkpoints of one origin that cannot both be true.

    ``checkpoints`` are the two notes, older first. For ``inconsistent``, ``path`` is the
    consistency path (see :func:`~provenance_ledger.core.witness.prefix_root`) from the first
    to the second."""

    id: int
    origin: str
    kind: str
    checkpoints: tuple[str, str]
    path: tuple[bytes, ...]
    detail: str
    at: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "origin": self.origin, "kind": self.kind,
                "checkpoints": list(self.checkpoints),
                "consistency_path": [b64encode(h) for h in self.path],
                "detail": self.detail, "at": self.at}

    @classmethod
    def from_json(cls, data: Any) -> Evidence:
        try:
            return cls(int(data["id"]), str(data["origin"]), str(data["kind"]),
                       (str(data["checkpoints"][0]), str(data["checkpoints"][1])),
                       tuple(b64decode(h, "consistency path hash", HASH_SIZE)
                             for h in data["consistency_path"]),
                       str(data["detail"]), int(data["at"]))
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise MalformedError(f"evidence is not in the expected form: {e}") from e


def verify_evidence(evidence: Evidence, log_vkey: str) -> None:
    """Check offline that ``evidence`` proves the log with ``log_vkey`` signed two histories:
    (1) both notes are checkpoints of the origin signed by the log key; (2) for a split view,
    one size and two roots; for an inconsistency, the path leads to the second root and
    implies another root than the first at its size. Raises :class:`VerificationError`."""
    v = Verifier.from_vkey(log_vkey)
    if v.sig_type != SIG_TYPE_ED25519 or v.name != evidence.origin:
        raise VerificationError(f"{log_vkey[:60]!r} is not the log key of {evidence.origin}")
    # (1)
    cps = []
    for text in evidence.checkpoints:
        note = SignedNote.from_text(text)
        cp = Checkpoint.from_text(note.text)
        if cp.origin != evidence.origin:
            raise VerificationError(f"evidence checkpoint is of {cp.origin}, not {v.name}")
        verify_note(note, [v])
        cps.append(cp)
    a, b = cps
    # (2)
    if evidence.kind == SPLIT_VIEW:
        if a.size != b.size or a.root == b.root:
            raise VerificationError("split-view evidence needs one size and two roots")
    elif evidence.kind == INCONSISTENT:
        implied = prefix_root(a.size, b.size, evidence.path, b.root)
        if implied is None:
            raise VerificationError("the consistency path does not lead to the newer root")
        if implied == a.root:
            raise VerificationError("the two checkpoints are consistent")
    else:
        raise VerificationError(
            f"evidence of kind {evidence.kind!r} cannot be checked by a third party")
