"""tlog_scales, the independent C2SP implementation the tests use as a second opinion, reading
checkpoints with extension lines.

tlog_scales parses and signs only the three-line checkpoint body; C2SP tlog-checkpoint allows
extension lines after the root, and this log signs one (specs/checkpoints.md section 2.1). The
subclass below only keeps those lines in the body that signatures cover; key ids, verifier
keys, the Ed25519 note signature and the cosignature/v1 message stay tlog_scales' own code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Self

from tlog_scales.signing import NoteSignature
from tlog_scales.tlog import Checkpoint


@dataclass(frozen=True)
class ScalesCheckpoint(Checkpoint):
    extensions: tuple[str, ...] = ()

    def serialize_body(self) -> str:
        return super().serialize_body() + "".join(line + "\n" for line in self.extensions)

    @classmethod
    def from_text(cls, text: str) -> Self:
        body, _, signatures = text.partition("\n\n")
        lines = body.split("\n")
        base = Checkpoint.from_text("\n".join(lines[:3]) + "\n\n" + signatures)
        return cls(**{f.name: getattr(base, f.name) for f in dataclasses.fields(Checkpoint)},
                   extensions=tuple(lines[3:]))


__all__ = ["NoteSignature", "ScalesCheckpoint"]
