"""The shard manifest of a node home: which logs (origins) the node has kept, in order, and
the rotation under way, if any (specs/node.md section 10).

``shards.json`` in the home, written atomically (temporary file, fsync, rename)::

    {"format": "provenance-ledger/shards/v1",
     "frozen": [{"origin", "id", "vkey", "first_at", "frozen_at", "final_size",
                 "final_root", "final_checkpoint"}, ...],        oldest first
     "current": {"origin", "first_at"},
     "rotating": null or {"from", "to", "at", "final_size", "final_root",
                          "final_checkpoint", "first_at"}}

A home that never rotated has no manifest: its one log is the current shard. A frozen
shard's database is ``shards/<id>/ledger.db``, ``id`` being the first 16 hex digits of
SHA-256 of its origin (as for mirrors). Values are checked when read; a manifest that does
not parse is one :class:`MalformedError` naming the file. No I/O but the file itself.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.encoding import load_json
from ..core.note import Verifier, check_key_name
from ..errors import LedgerError, MalformedError, quoted
from ..ledger.files import write_atomic

MANIFEST_FILE = "shards.json"
MANIFEST_FORMAT = "provenance-ledger/shards/v1"
SHARDS_DIR = "shards"
MAX_MANIFEST_BYTES = 4 << 20
"""Largest ``shards.json`` read, in bytes (a checkpoint note is at most a few KiB)."""
MAX_SHARDS = 1000
"""Most frozen shards a node keeps (one a year, or one a month, for a long while)."""
SHARD_ID = re.compile(r"[0-9a-f]{16}")
"""A shard's id in paths and URLs."""
_HEX32 = re.compile(r"[0-9a-f]{64}")


def shard_id(origin: str) -> str:
    """The shard's id: the first 16 hex digits of SHA-256(origin)."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()[:16]


def shard_dir(home: Path, origin: str) -> Path:
    """Where a frozen shard's files are: ``shards/<id>/``."""
    return home / SHARDS_DIR / shard_id(origin)


@dataclass(frozen=True, slots=True)
class FrozenShard:
    """A log this node no longer appends to: its origin, verifier key, the time of its first
    checkpoint, when it was frozen, and its final checkpoint (size, root, signed note)."""

    origin: str
    vkey: str
    first_at: int
    frozen_at: int
    final_size: int
    final_root: str
    final_checkpoint: str

    def __post_init__(self) -> None:
        check_key_name(self.origin, "shard origin")
        if Verifier.from_vkey(self.vkey).name != self.origin:
            raise MalformedError(f"shard {self.origin}: its key is named otherwise")
        if not 0 <= self.first_at <= self.frozen_at:
            raise MalformedError(f"shard {self.origin}: first_at after frozen_at")
        if self.final_size < 0 or not _HEX32.fullmatch(self.final_root):
            raise MalformedError(f"shard {self.origin}: bad final size or root")

    @property
    def id(self) -> str:
        return shard_id(self.origin)

    @property
    def verifier(self) -> Verifier:
        return Verifier.from_vkey(self.vkey)

    def to_json(self) -> dict[str, Any]:
        return {"origin": self.origin, "id": self.id, "vkey": self.vkey,
                "first_at": self.first_at, "frozen_at": self.frozen_at,
                "final_size": self.final_size, "final_root": self.final_root,
                "final_checkpoint": self.final_checkpoint}

    @classmethod
    def from_json(cls, data: Any) -> FrozenShard:
        fields = {"origin", "id", "vkey", "first_at", "frozen_at", "final_size", "final_root",
                  "final_checkpoint"}
        if not isinstance(data, dict) or data.keys() != fields:
            raise MalformedError("a frozen shard is not an object of " + ", ".join(sorted(
                fields)))
        for name in ("first_at", "frozen_at", "final_size"):
            if type(data[name]) is not int:
                raise MalformedError(f"frozen shard field {name!r} is not an integer")
        for name in ("origin", "id", "vkey", "final_root", "final_checkpoint"):
            if not isinstance(data[name], str):
                raise MalformedError(f"frozen shard field {name!r} is not a string")
        shard = cls(data["origin"], data["vkey"], data["first_at"], data["frozen_at"],
                    data["final_size"], data["final_root"], data["final_checkpoint"])
        if data["id"] != shard.id:
            raise MalformedError(f"shard {shard.origin}: id {quoted(data['id'])} is not its own")
        return shard


@dataclass(frozen=True, slots=True)
class Rotation:
    """A rotation begun and not yet finished: the log ``source`` is being frozen with the
    final checkpoint below, and ``target`` made the current log, at time ``at``."""

    source: str
    target: str
    at: int
    first_at: int
    final_size: int
    final_root: str
    final_checkpoint: str

    def to_json(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "at": self.at,
                "first_at": self.first_at, "final_size": self.final_size,
                "final_root": self.final_root, "final_checkpoint": self.final_checkpoint}

    @classmethod
    def from_json(cls, data: Any) -> Rotation:
        fields = {"from", "to", "at", "first_at", "final_size", "final_root",
                  "final_checkpoint"}
        if not isinstance(data, dict) or data.keys() != fields:
            raise MalformedError("'rotating' is not an object of " + ", ".join(sorted(fields)))
        if not all(type(data[n]) is int for n in ("at", "first_at", "final_size")) or not all(
                isinstance(data[n], str) for n in ("from", "to", "final_root",
                                                   "final_checkpoint")):
            raise MalformedError("'rotating' has a field of the wrong type")
        check_key_name(data["from"], "shard origin")
        check_key_name(data["to"], "shard origin")
        return cls(data["from"], data["to"], data["at"], data["first_at"],
                   data["final_size"], data["final_root"], data["final_checkpoint"])


@dataclass(frozen=True, slots=True)
class Manifest:
    """The node's shards: the frozen ones, oldest first, the current one and when it began
    (None: at the home's creation), and the rotation under way."""

    current: str
    current_first_at: int | None = None
    frozen: tuple[FrozenShard, ...] = field(default_factory=tuple)
    rotating: Rotation | None = None

    def __post_init__(self) -> None:
        origins = [s.origin for s in self.frozen] + [self.current]
        if len(set(origins)) != len(origins):
            raise MalformedError("shards.json names an origin twice")
        if len(self.frozen) > MAX_SHARDS:
            raise MalformedError(f"shards.json lists more than {MAX_SHARDS} frozen shards")

    def origins(self) -> list[str]:
        """Every origin this node has logged as, oldest first."""
        return [s.origin for s in self.frozen] + [self.current]

    def shard(self, sid: str) -> FrozenShard | None:
        """The frozen shard of id ``sid`` (None: none)."""
        return next((s for s in self.frozen if s.id == sid), None)

    def to_json(self) -> dict[str, Any]:
        return {"format": MANIFEST_FORMAT, "frozen": [s.to_json() for s in self.frozen],
                "current": {"origin": self.current, "first_at": self.current_first_at},
                "rotating": None if self.rotating is None else self.rotating.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.keys() != {"format", "frozen", "current",
                                                         "rotating"}:
            raise MalformedError("it is not an object of format, frozen, current, rotating")
        if data["format"] != MANIFEST_FORMAT:
            raise MalformedError(f"format is not {MANIFEST_FORMAT}")
        current = data["current"]
        if not isinstance(current, dict) or current.keys() != {"origin", "first_at"} or not (
                isinstance(current["origin"], str)) or not (
                current["first_at"] is None or type(current["first_at"]) is int):
            raise MalformedError("'current' is not {\"origin\", \"first_at\"}")
        if not isinstance(data["frozen"], list):
            raise MalformedError("'frozen' is not a list")
        return cls(check_key_name(current["origin"], "shard origin"), current["first_at"],
                   tuple(FrozenShard.from_json(s) for s in data["frozen"]),
                   None if data["rotating"] is None else Rotation.from_json(data["rotating"]))


def manifest_path(home: Path) -> Path:
    return home / MANIFEST_FILE


def load_manifest(home: Path, origin: str) -> Manifest:
    """The home's manifest; for a home that never rotated, its one log ``origin``."""
    path = manifest_path(home)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        return Manifest(origin)
    except OSError as e:
        raise LedgerError(f"cannot read {path}: {e.strerror}") from e
    if len(raw) > MAX_MANIFEST_BYTES:
        raise MalformedError(f"{path} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        return Manifest.from_json(load_json(raw, str(path)))
    except MalformedError as e:
        raise MalformedError(f"{path}: {e}") from e


def save_manifest(home: Path, manifest: Manifest) -> None:
    """Replace ``shards.json`` atomically."""
    import json

    text = json.dumps(manifest.to_json(), indent=1, sort_keys=True) + "\n"
    write_atomic(manifest_path(home), text.encode("utf-8"), mode=None)
