"""Freshness: when a serving node has its latest checkpoint cosigned again though no block
brought a new one (specs/node.md section 9.2).

A cosignature/v1 carries the time its witness made it, and says that as of that time the
checkpoint was the largest of the log the witness had seen (c2sp.org/tlog-cosignature). A
verifier that asks for a proof younger than ``--max-age`` needs that time to move while the log
is idle, so a node with witnesses has its latest checkpoint cosigned again once its quorum's
cosignatures are ``freshness_interval`` seconds old: a witnessing round like any other
(node/witnessing.py), for the same checkpoint, ``old`` its own size and no proof. The log key
signs nothing for it: the note, its block line and its log signature stay as they are; only
the witnesses' cosignatures are replaced by newer ones.

This module decides *when*, from values only (no I/O, no clock of its own): the cosignatures
stored for the latest checkpoint, the quorum, the interval, the time now and when the last
round for that checkpoint began. The rounds themselves, and the rule that a witness is never
asked twice at once, are node/witnessing.py's.

Not here: the requests and their answers (node/witnessing.py), keeping each witness's newest
cosignature (node/witness.py), what a verifier may conclude (specs/node.md section 9.2).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..core.note import SIG_TYPE_COSIGNATURE_V1, NoteSignature, Verifier

RETRY_S = 60
"""Seconds: the soonest a round for the same checkpoint runs again after one that left it
stale (a witness down, a clock far behind), so a stale checkpoint costs each witness at most
one request a minute."""
LOOK_S = 30.0
"""Seconds: the longest a serving node waits between two looks at its latest checkpoint's
age. It sleeps until the checkpoint is due, but never longer than this, so a step of the
wall clock (a suspended machine, a time server's correction) delays a round by this much at
most."""
COSIGNATURE_BYTES = 8 + 64  # a big-endian timestamp and an Ed25519 signature


def cosignature_time(sig: NoteSignature) -> int | None:
    """The timestamp of a cosignature/v1 line (c2sp.org/tlog-cosignature: the first 8 bytes,
    big-endian), or None for a signature of another form. The line is not verified here."""
    if len(sig.signature) != COSIGNATURE_BYTES:
        return None
    (timestamp,) = struct.unpack(">Q", sig.signature[:8])
    return int(timestamp)


def fresh_as_of(signatures: Iterable[NoteSignature], witnesses: Sequence[Verifier], need: int,
                now: float) -> int | None:
    """The time as of which ``need`` of ``witnesses`` vouch for a checkpoint: the ``need``-th
    newest of their cosignature times (each witness's newest counts once; a time ahead of
    ``now`` counts as ``now``). None when fewer than ``need`` of them cosigned it."""
    if need < 1:
        raise ValueError("freshness needs at least one cosignature")
    newest: dict[int, int] = {}  # witness (by position) -> its newest time
    for sig in signatures:
        for i, w in enumerate(witnesses):
            t = cosignature_time(sig)
            if w.sig_type != SIG_TYPE_COSIGNATURE_V1 or not w.matches(sig) or t is None:
                continue
            t = min(t, int(now))
            newest[i] = max(newest.get(i, t), t)
    if len(newest) < need:
        return None
    return sorted(newest.values(), reverse=True)[need - 1]


@dataclass(frozen=True, slots=True)
class Freshness:
    """The schedule of re-cosigning: ``interval`` seconds (node.toml ``freshness_interval``,
    above 0) after the quorum's cosignatures were made, and no sooner than
    ``min(interval, RETRY_S)`` after the previous round for the checkpoint began."""

    interval: float

    def __post_init__(self) -> None:
        if not self.interval > 0:
            raise ValueError("a freshness interval is a positive number of seconds")

    @property
    def retry(self) -> float:
        return min(self.interval, RETRY_S)

    def due(self, fresh: int | None, last_round: float) -> float:
        """When (clock seconds) the latest checkpoint is to be cosigned again: ``fresh`` is
        :func:`fresh_as_of` (None: the quorum never cosigned it), ``last_round`` when the
        last round for it began."""
        retry_at = last_round + self.retry
        if fresh is None:
            return retry_at
        return max(fresh + self.interval, retry_at)
