"""The store interface: what the ledger needs from a database (specs/storage.md section 1).

Another engine (PostgreSQL for operators who outgrow one machine) implements the same
protocol; the ledger never issues SQL itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ..core.merkle import NodeId


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One log entry: its index, event id (leaf hash), work, type and exact leaf bytes."""

    index: int
    id: bytes
    work: str
    type: str
    leaf: bytes


@dataclass(frozen=True, slots=True)
class WorkRow:
    """The index row of a work: enough to route, find conflicts and list works."""

    work: str
    registration: str
    registrant: str
    controller: str
    head: str
    events: int


@dataclass(slots=True)
class Block:
    """Everything one integrated batch writes, committed in a single transaction."""

    entries: list[EntryRow] = field(default_factory=list)
    nodes: list[tuple[NodeId, bytes]] = field(default_factory=list)
    works: dict[str, WorkRow] = field(default_factory=dict)
    checkpoint: tuple[int, bytes, str, int] | None = None  # size, root, signed note, time


class Store(Protocol):
    def size(self) -> int: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def nodes(self, ids: Iterable[NodeId]) -> dict[NodeId, bytes]: ...
    def commit_block(self, block: Block) -> None: ...
    def entry(self, index: int) -> EntryRow: ...
    def entry_by_id(self, event_id: bytes) -> EntryRow | None: ...
    def entries(self, start: int, end: int) -> Iterator[EntryRow]: ...
    def ids_between(self, lo: bytes, hi: bytes | None, limit: int) -> list[bytes]: ...
    def work_entries(self, work: str) -> list[EntryRow]: ...
    def work(self, work: str) -> WorkRow | None: ...
    def works_with_prefix(self, prefix: str, limit: int) -> list[str]: ...
    def latest_checkpoint(self) -> tuple[int, bytes, str, int] | None: ...
    def checkpoint(self, size: int) -> tuple[int, bytes, str, int] | None: ...
    def checkpoints(self) -> Iterator[tuple[int, bytes, str, int]]: ...
    def all_nodes(self) -> Iterator[tuple[NodeId, bytes]]: ...
    def all_works(self) -> Iterator[WorkRow]: ...
    def close(self) -> None: ...
