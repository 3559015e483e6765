"""Persistence behind one interface (:class:`Store`); SQLite is the embedded default,
PostgreSQL (:class:`PostgresStore`, specs/storage.md section 6) the other engine.

specs/storage.md describes the schema. The store keeps bytes and indexes; it knows nothing of
the rules, and checks nothing but its own consistency. Its names are imported on first use
(provenance_ledger/lazy.py).
"""

from typing import TYPE_CHECKING

from ..lazy import exports

if TYPE_CHECKING:
    from .base import Block, CheckpointRow, EntryRow, Store
    from .cache import NodeCache
    from .postgres import PostgresStore
    from .sqlite import SqliteStore
    from .witness import WitnessStore, WitnessTx

_MODULES = {
    "Block": "base", "CheckpointRow": "base", "EntryRow": "base", "Store": "base",
    "NodeCache": "cache", "PostgresStore": "postgres", "SqliteStore": "sqlite",
    "WitnessStore": "witness", "WitnessTx": "witness",
}
__getattr__ = exports(__name__, _MODULES)

__all__ = ["Block", "CheckpointRow", "EntryRow", "NodeCache", "PostgresStore", "SqliteStore",
           "Store", "WitnessStore", "WitnessTx"]
