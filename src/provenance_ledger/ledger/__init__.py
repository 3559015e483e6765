"""The ledger layer: append path, queries, receipts, audit, key files and the data directory."""

from .audit import AuditReport, audit
from .home import Home, default_home
from .keys import KeyStore
from .ledger import MAX_BLOCK_EVENTS, Appended, Ledger, inclusion_proof_with_leaf

__all__ = ["MAX_BLOCK_EVENTS", "Appended", "AuditReport", "Home", "KeyStore", "Ledger", "audit",
           "default_home", "inclusion_proof_with_leaf"]
