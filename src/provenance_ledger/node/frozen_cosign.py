"""Late cosignatures of frozen checkpoints (specs/node.md sections 3, 9.3, 10.3 and 10.5).

A frozen shard's log never grows, but the cosignatures of its checkpoints may still come:
from a peer's witness delivering its cosignature (``POST /add-checkpoint`` or ``POST
/shards/{id}/add-checkpoint``, section 3), from a mirror of the frozen shard (section 10.5,
which delivers as section 4 step 8 does), or from the node's own ``[[witnesses]]`` asked by
the witnessing rounds (section 9.3) when one was down at the rotation. This module is what
the witness (node/witness.py) and the rounds (node/witnessing.py) know of the frozen shards:

- :class:`FrozenLog`: a frozen shard's log as the witness reads its own (``OwnLog``): roots,
  signed checkpoints and consistency proofs from the frozen ``ledger.db``, opened read-only
  for each read (a frozen database never changes);
- :class:`Backoff`: when the witnessing rounds may ask a witness about a frozen checkpoint
  again after it did not cosign (section 9.3);
- :class:`FrozenShards`: the node's frozen shards (from ``shards.json``, read when the witness
  opens: a rotation needs the node stopped), each one's ``cosignatures.db``
  (store/shard_cosignatures.py), its final checkpoint, which witnesses still lack a
  cosignature of it, and the rewrite of its tiles checkpoint when new ones are stored
  (specs/tiles.md section 4.7).

Deciding and storing stay in node/witness.py, with the rules of the live log: the checkpoint
must be one the frozen log signed, cosignatures only by configured witness keys, verified,
per witness its newest, its first kept apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.note import Checkpoint, SignedNote
from ..store.shard_cosignatures import ShardCosignatures
from .shard_manifest import SHARDS_DIR, FrozenShard, load_manifest, shard_dir
from .shards import COSIGNATURES_FILE, frozen_ledger, frozen_note
from .tiles import rewrite_frozen_checkpoint

FROZEN_RETRY_S = 60.0
"""Seconds (node clock) before a witness that did not cosign a frozen shard's final
checkpoint is asked again (specs/node.md section 9.3); doubled at each failure."""
FROZEN_MAX_RETRY_S = 3600.0
"""The longest wait between two requests to one witness about one frozen checkpoint."""


class Backoff:
    """When each (frozen origin, witness) may be asked again (specs/node.md section 9.3):
    at once the first time; after the n-th request, ``first * 2**(n-1)`` seconds later, at
    most ``most``. A request is counted when it is sent, whatever it brings: one that
    succeeds is never followed by another, since the witness no longer lacks a cosignature."""

    def __init__(self, first: float = FROZEN_RETRY_S, most: float = FROZEN_MAX_RETRY_S) -> None:
        self._first = first
        self._most = most
        self._next: dict[tuple[str, str], tuple[float, float]] = {}  # -> (due, last wait)

    def due(self, key: tuple[str, str], now: float) -> bool:
        found = self._next.get(key)
        return found is None or found[0] <= now

    def asked(self, key: tuple[str, str], now: float) -> None:
        found = self._next.get(key)
        wait = self._first if found is None else min(found[1] * 2, self._most)
        self._next[key] = (now + wait, wait)

    def wait(self, now: float, longest: float) -> float:
        """Seconds until the next one is due, at most ``longest``."""
        return min([longest, *(at - now for at, _ in self._next.values() if at > now)])


class FrozenLog:
    """``OwnLog`` (node/witness.py) over a frozen shard's ``ledger.db``."""

    def __init__(self, home: Path, shard: FrozenShard) -> None:
        self._home = home
        self._shard = shard

    def root_at(self, size: int) -> bytes | None:
        """The frozen log's root at ``size``; None beyond its final size (nothing there is
        the frozen log's, whatever its file holds)."""
        with frozen_ledger(self._home, self._shard) as ledger:
            last = min(ledger.size, self._shard.final_size)
            return ledger.root(size) if 0 <= size <= last else None

    def note_at(self, size: int | None) -> tuple[int, str] | None:
        with frozen_ledger(self._home, self._shard) as ledger:
            row = ledger.store.checkpoint(self._shard.final_size if size is None else size)
        return None if row is None or row.size > self._shard.final_size else (row.size, row.note)

    def consistency(self, old: int, new: int) -> Sequence[bytes]:
        with frozen_ledger(self._home, self._shard) as ledger:
            return ledger.consistency_proof(old, new)


@dataclass(frozen=True, slots=True)
class FinalCheckpoint:
    """A frozen shard's final checkpoint, as its log signed it (no cosignatures)."""

    shard: FrozenShard
    checkpoint: Checkpoint
    note: SignedNote

    @property
    def size(self) -> int:
        return self.checkpoint.size


class FrozenShards:
    """The frozen shards of the node at ``home`` and their late cosignatures."""

    def __init__(self, home: Path, shards: Sequence[FrozenShard],
                 tiles: Path | None = None) -> None:
        """``tiles``: the node's tiles folder (node.toml ``tiles``), whose
        ``shards/<id>/checkpoint`` is written again as cosignatures arrive; None: none."""
        self.home = home
        self.shards = tuple(shards)
        self._by_origin = {s.origin: s for s in self.shards}
        self._tiles = tiles
        self._dbs = {s.origin: ShardCosignatures(shard_dir(home, s.origin) / COSIGNATURES_FILE)
                     for s in self.shards}

    @classmethod
    def of_home(cls, home: Path, origin: str, tiles: Path | None) -> FrozenShards:
        """The frozen shards ``shards.json`` lists (none for a home that never rotated)."""
        return cls(home, load_manifest(home, origin).frozen, tiles)

    def shard(self, origin: str) -> FrozenShard | None:
        return self._by_origin.get(origin)

    def log(self, shard: FrozenShard) -> FrozenLog:
        return FrozenLog(self.home, shard)

    def cosignatures(self, shard: FrozenShard) -> ShardCosignatures:
        """The shard's ``cosignatures.db`` (one object per shard, so its lock is shared)."""
        return self._dbs[shard.origin]

    def final(self, shard: FrozenShard) -> FinalCheckpoint:
        """The shard's final checkpoint, read from its log."""
        size, note = FrozenLog(self.home, shard).note_at(shard.final_size) or (
            shard.final_size, shard.final_checkpoint)
        signed = SignedNote.from_text(note)
        return FinalCheckpoint(shard, Checkpoint.from_text(signed.text), signed)

    def lacking(self, names: Sequence[str]) -> list[tuple[FinalCheckpoint, str, int]]:
        """For each frozen shard and each witness key name in ``names`` whose cosignature of
        the final checkpoint is not kept: (the final checkpoint, the name, the size of the
        frozen log that key last cosigned, 0 if none) (specs/node.md section 9.3)."""
        out = []
        for shard in self.shards:
            final = self.final(shard)
            db = self._dbs[shard.origin]
            have = db.names(final.size, final.checkpoint.root)
            for name in names:
                if name not in have:
                    out.append((final, name, db.cosigned_size(name) or 0))
        return out

    def cosigned(self, shard: FrozenShard, size: int) -> bool:
        """New cosignatures of the shard's checkpoint of ``size`` were stored: with tiles,
        its tiles checkpoint is written again with every one kept (specs/tiles.md section
        4.7). True when the file was rewritten."""
        if self._tiles is None or size != shard.final_size:
            return False
        row = FrozenLog(self.home, shard).note_at(size)
        if row is None:
            return False
        final = self.final(shard)

        def note() -> str:
            return frozen_note(self.home, shard, row[1], size, final.checkpoint.root)

        return rewrite_frozen_checkpoint(self._tiles / SHARDS_DIR / shard.id, shard.origin,
                                         size, note)
