"""The ledger layer: append path, queries, receipts, audit, key files and the data directory."""

from .audit import AuditReport, audit
from .home import Home, default_home
from .keys import KeyStore
from .ledger import MAX_BLOCK_EVENTS, Appended, Ledger

__all__ = ["MAX_BLOCK_EVENTS", "Appended", "AuditReport", "Home", "KeyStore", "Ledger", "audit",
           "default_home"]
