"""The ledger layer: append path, queries, receipts, audit, key files, the data directory,
anchoring files and folders, and files written atomically."""

from .audit import AuditReport, audit
from .files import write_atomic, write_atomic_all
from .folder import (
           Content,
           FileResult,
           FolderListing,
           Status,
           anchor_folder,
           list_folder,
           read_content,
)
from .home import Home, default_home
from .keys import KeyStore
from .ledger import MAX_BLOCK_EVENTS, Appended, Ledger, inclusion_proof_with_leaf

__all__ = ["MAX_BLOCK_EVENTS", "Appended", "AuditReport", "Content", "FileResult",
           "FolderListing", "Home", "KeyStore", "Ledger", "Status", "anchor_folder", "audit",
           "default_home", "inclusion_proof_with_leaf", "list_folder", "read_content",
           "write_atomic", "write_atomic_all"]
