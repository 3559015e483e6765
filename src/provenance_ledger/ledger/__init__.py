"""The ledger layer: append path, queries, receipts, audit, key files, the data directory,
anchoring files and folders, and files written atomically.

Its names are imported on first use (provenance_ledger/lazy.py)."""

from typing import TYPE_CHECKING

from ..lazy import exports

if TYPE_CHECKING:
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
    from .log_audit import AuditReport, audit

_MODULES = {
    "AuditReport": "log_audit", "audit": "log_audit",
    "write_atomic": "files", "write_atomic_all": "files",
    "Content": "folder", "FileResult": "folder", "FolderListing": "folder", "Status": "folder",
    "anchor_folder": "folder", "list_folder": "folder", "read_content": "folder",
    "Home": "home", "default_home": "home",
    "KeyStore": "keys",
    "MAX_BLOCK_EVENTS": "ledger", "Appended": "ledger", "Ledger": "ledger",
    "inclusion_proof_with_leaf": "ledger",
}
__getattr__ = exports(__name__, _MODULES)

__all__ = ["MAX_BLOCK_EVENTS", "Appended", "AuditReport", "Content", "FileResult",
           "FolderListing", "Home", "KeyStore", "Ledger", "Status", "anchor_folder", "audit",
           "default_home", "inclusion_proof_with_leaf", "list_folder", "read_content",
           "write_atomic", "write_atomic_all"]
