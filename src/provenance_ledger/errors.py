"""The package's error hierarchy.

Bad data and transport failures subclass :class:`LedgerError`; caller mistakes in the
library API raise ``ValueError``/``TypeError``. The CLI catches ``LedgerError`` in one place
and prints its message as one line.
"""

from __future__ import annotations

import re
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


class OtherOriginError(StorageError):
    """The database holds the log of another origin than the one asked for (``held``, not
    ``asked``): a node's node.toml changed by hand, or the wrong home."""

    def __init__(self, held: str, asked: str) -> None:
        super().__init__(f"this ledger's origin is {held}, not {asked}")
        self.held, self.asked = held, asked


class StorageUnavailableError(StorageError):
    """The database cannot be reached for now: its server refuses or ended the connection
    (stopped, restarting, shutting down, a failover) or takes no more connections. Nothing is
    wrong with the data or the software, and the same request may succeed later: a node
    answers 503 with ``Retry-After`` (specs/node.md section 2, "Storage unavailable";
    specs/storage.md section 6.2)."""


class PeerError(LedgerError):
    """A peer or node that cannot be reached, does not answer in time, answers over a size
    limit, or answers what does not parse into the documented form. ``peer`` names it (its
    URL, or its origin and URL), and the message starts with that name."""

    def __init__(self, peer: str, message: str) -> None:
        super().__init__(f"{peer}: {message}")
        self.peer = peer


class NodeFailure(LedgerError):
    """A node failed, not the event it was sent (a 5xx answer: its storage, or busy): another
    event sent now would fail the same way, so a command stops rather than send the rest."""


# -- values and messages on an error line ------------------------------------------------------

QUOTED_CHARS = 80
"""Longest rendering of one value quoted into an error message, quotes included."""

MAX_INT_DIGITS = 20
"""Integers of up to this many digits are shown whole; 2^64 has 20."""

MAX_NUMBER_CHARS = 100
"""Longest run of digits an error message keeps: longer than any :func:`quoted` keeps, so
that the last guard (:func:`error_line`) leaves what was quoted as it is."""

MAX_ERROR_CHARS = 1000
"""Longest error message the CLI prints, the node answers or a ``--json`` ``error`` member
holds (specs/cli.md section 1, errors)."""

MAX_WORD_CHARS = 200
"""Longest run of characters without a space that an error message keeps whole."""

_ELLIPSIS = "\u2026"
_LONG_NUMBER = re.compile(rf"(?<![0-9A-Za-z])-?[0-9]{{{MAX_NUMBER_CHARS + 1},}}(?![0-9A-Za-z])")


def _digits(value: int) -> int:
    """Decimal digits of ``value`` (its magnitude), without ``str()``, which refuses integers
    of more than 4,300 digits."""
    value = abs(value)
    if value < 10:
        return 1
    estimate = int(value.bit_length() * 0.30102999566398120)  # log10(2)
    return estimate + 1 if value >= 10 ** estimate else estimate


def _escaped(char: str) -> str:
    """``char`` as it appears in an error line: itself when printable (or a space), else its
    Python escape (``\\n``, ``\\x1b``, ``\\u202e``)."""
    return char if char.isprintable() or char == " " else repr(char)[1:-1]


def _printable(text: str) -> str:
    return text if text.isprintable() else "".join(map(_escaped, text))


def _integer(value: int) -> str:
    digits = _digits(value)
    if digits <= MAX_INT_DIGITS:
        return str(value)
    return _size_of_integer(digits, value < 0)


def _size_of_integer(digits: int, negative: bool) -> str:
    return f"{'a negative' if negative else 'an'} integer of {digits:,} digits"


def quoted(value: object, limit: int = QUOTED_CHARS) -> str:
    """``value``, from a user's input or a peer's answer, rendered for an error message: never
    longer than about ``limit`` characters and never holding a newline or another control
    character (those are escaped, as Python writes them: ``\\n``, ``\\x1b``); specs/cli.md
    section 1, errors.

    - a string is quoted as Python's ``repr`` quotes it (``'abc'``); a longer one keeps its
      start and says how long it was: ``'abc…' (12,345 characters)``;
    - bytes the same way: ``b'ab…' (4,096 bytes)``;
    - an integer of at most 20 digits as it is (``42``); a longer one by its size:
      ``an integer of 4,300 digits``;
    - a JSON array or object by its size: ``a list of 3 items``, ``an object of 2 members``;
    - anything else (``None``, a bool, a float) by its ``repr``, bounded the same way.
    """
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return _integer(value)
    if isinstance(value, str | bytes):
        if len(value) <= limit:  # repr() only what may be kept: the value may be megabytes
            whole = repr(value)
            if len(whole) <= limit:
                return whole
        unit = "characters" if isinstance(value, str) else "bytes"
        low, high = 0, min(len(value), limit)  # the longest start whose repr fits
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if len(repr(value[:mid])) < limit else (low, mid - 1)
        shown = repr(value[:low])
        return f"{shown[:-1]}{_ELLIPSIS}{shown[-1]} ({len(value):,} {unit})"
    if isinstance(value, dict):
        n = len(value)
        return f"an object of {n:,} member{'s' if n != 1 else ''}"
    if isinstance(value, list | tuple | set | frozenset):
        n = len(value)
        return f"a list of {n:,} item{'s' if n != 1 else ''}"
    text = _printable(repr(value))
    return text if len(text) <= limit else f"{text[:limit - 1]}{_ELLIPSIS}"


def _short_word(match: re.Match[str]) -> str:
    word = match.group()
    return f"{word[:60]}{_ELLIPSIS} ({len(word):,} characters)"


_LONG_WORD = re.compile(rf"[^ ]{{{MAX_WORD_CHARS + 1},}}")


def error_line(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``message`` as one line of at most ``limit`` characters, whatever it holds: the last
    guard of every error line a user or a client reads (the CLI's error boundary, ``--json``
    ``error`` members, a node's ``{"error": ...}`` bodies). Values should be bounded where
    they are quoted (:func:`quoted`); this catches what was not:

    - a number of more than 100 digits becomes ``an integer of N digits``;
    - control characters, line breaks included, are escaped (``\\n``, ``\\x1b``);
    - a run of more than 200 characters without a space keeps its first 60 and its length;
    - a message still over ``limit`` keeps its start and its end, which says what failed.
    """
    line = _LONG_NUMBER.sub(lambda m: _size_of_integer(len(m.group().lstrip("-")),
                                                       m.group().startswith("-")), message)
    line = _LONG_WORD.sub(_short_word, line)
    if len(line) > 4 * limit:  # only its ends can be shown: escape no more than those
        line = f"{line[:2 * limit]} {_ELLIPSIS} {line[-2 * limit:]}"
    line = _printable(line)
    if len(line) <= limit:
        return line
    gap = f" {_ELLIPSIS} "
    tail = (limit - len(gap)) // 3
    return line[:limit - len(gap) - tail] + gap + line[-tail:]
