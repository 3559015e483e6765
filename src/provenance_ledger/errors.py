"""The package's error hierarchy.

Bad data and transport failures subclass :class:`LedgerError`; caller mistakes in the
library API raise ``ValueError``/``TypeError``. The CLI catches ``LedgerError`` in one place
and prints its message as one line.
"""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Base of every error that provenance-ledger reports to a user."""


class MalformedError(LedgerError):
    """Input that does not parse: bad JSON, bad base64, wrong field types, over a size limit."""


class VerificationError(LedgerError):
    """A signature, proof, hash or checkpoint that does not verify."""


class MapRootError(VerificationError):
    """A log signed a checkpoint whose map root is not the map of its entries
    (specs/map.md section 8): portable evidence against the log, like a fork."""


class RuleError(LedgerError):
    """A well-formed, correctly signed event that the rules (specs/rules.md) refuse."""


class ConflictError(RuleError):
    """An event whose ``prev`` is not the work's current head, or a content hash owned by
    another key. ``head`` names what the event should have built on, when there is one."""

    def __init__(self, message: str, head: str | None = None) -> None:
        super().__init__(message)
        self.head = head


class NotFoundError(LedgerError):
    """A work, event, entry or key that the ledger does not hold. For a work that a node's own
    log lacks, ``elsewhere`` lists its registrations on the logs the node mirrors
    (specs/node.md section 6)."""

    def __init__(self, message: str, elsewhere: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.elsewhere = elsewhere or []


class StorageError(LedgerError):
    """The database is unreadable, of another schema, or not consistent with itself."""


class PeerError(LedgerError):
    """A peer or node that cannot be reached, does not answer in time, answers over a size
    limit, or answers what does not parse into the documented form. ``peer`` names it (its
    URL, or its origin and URL), and the message starts with that name."""

    def __init__(self, peer: str, message: str) -> None:
        super().__init__(f"{peer}: {message}")
        self.peer = peer
