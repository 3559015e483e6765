"""Works whose content is similar to a given ISCC content code: the similarity index of one
log, its own or a mirrored peer's (specs/storage.md section 3.1; specs/cli.md section 2.1).

The index (``store/similarity.py``) is caught up from the log's entries on every look-up, from
its watermark, so that appending pays nothing for it. Every entry a look-up finds is read back
from the log and its ``similarity`` member decoded again: the answer rests on signed leaves, not
on the derived file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.similarity import MAX_DISTANCE, ContentCode
from ..errors import MalformedError
from ..store.postgres import PostgresStore
from ..store.similarity import (
    CATCH_UP_BATCH,
    CodeRow,
    SimilarityStore,
    index_path,
    registration_codes,
)
from ..store.sqlite import SqliteStore
from .ledger import Ledger, stored_event

REGISTER = "work.register"


@dataclass(frozen=True, slots=True)
class Similar:
    """A registration whose content code is within some distance of the one asked about."""

    work: str
    id: str  # the registration event
    index: int  # its log entry
    registrant: str
    controller: str
    code: str  # its ``similarity`` text
    distance: int

    def to_json(self) -> dict[str, Any]:
        return {"work": self.work, "id": self.id, "index": self.index,
                "registrant": self.registrant, "controller": self.controller,
                "similarity": self.code, "distance": self.distance}


class SimilarityIndex:
    """The similarity index of ``ledger``, kept beside its database when that folder can be
    written, else in memory for this process."""

    def __init__(self, ledger: Ledger, path: Path | None = None) -> None:
        self.ledger = ledger
        if path is None:
            path = default_path(ledger)
        self.store = SimilarityStore(path)
        self._indexed_size = -1  # the log size this object last caught up to

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> SimilarityIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def catch_up(self) -> int:
        """Index the registrations appended since the watermark; the number indexed."""
        log = self.ledger.store
        size = log.size()
        if size == self._indexed_size:
            return 0  # nothing appended since (many look-ups in a row: a folder's files)
        first = log.entry(0).id.hex() if size else None
        if self.store.first() != first or self.store.watermark() > size:
            self.store.reset(first)  # another log's index, or none yet
        added = 0
        start = self.store.watermark()
        while start < size:
            end = min(size, start + CATCH_UP_BATCH)
            rows = []
            for logged in registration_codes(log, start, end):
                code = ContentCode.from_text(logged.text)
                if code is not None:
                    rows.append(CodeRow(logged.index, int(code.unit), code.bits,
                                        logged.registrant))
            if not self.store.add(start, end, rows):
                start = self.store.watermark()  # another process indexed this stretch
                continue
            added += len(rows)
            start = end
        self._indexed_size = size
        return added

    def near(self, code: ContentCode, max_distance: int, exclude_work: str | None = None, *,
             other_than: str | None = None, before: int | None = None,
             limit: int | None = None) -> list[Similar]:
        """Registrations of the same unit type within ``max_distance`` bits of ``code``,
        nearest first (then in log order). ``exclude_work``: leave that work out;
        ``other_than``: only works neither registered nor controlled by that key (its own
        registrations are passed over by the index's registrant, unread, so that a key with
        thousands of similar works of its own pays nothing for them); ``before``: only log
        entries below that index; ``limit``: at most that many, the nearest (the rows are
        read back from the log nearest first, and no more once that many are found)."""
        if not 0 <= max_distance <= MAX_DISTANCE:
            raise MalformedError(f"the distance must be 0 to {MAX_DISTANCE} bits")
        self.catch_up()
        rows = self.store.candidates(int(code.unit), code.bits, max_distance, other_than)
        rows.sort(key=lambda r: ((r.bits ^ code.bits).bit_count(), r.index))
        out: list[Similar] = []
        for row in rows:  # the key's own rows are left out by ``candidates`` already
            if before is not None and row.index >= before:
                continue
            found = self._checked(row, code)
            if found is None or found.distance > max_distance or found.work == exclude_work:
                continue
            if other_than is not None and other_than in (found.registrant, found.controller):
                continue
            out.append(found)
            if limit is not None and len(out) >= limit:
                break
        out.sort(key=lambda s: (s.distance, s.index))
        return out

    def _checked(self, row: CodeRow, asked: ContentCode) -> Similar | None:
        """The registration at ``row.index`` as the log holds it; None when the log's entry
        is no registration with a comparable code (an index that does not match its log)."""
        event = stored_event(self.ledger.store.entry(row.index))
        text = event.event.body.get("similarity")
        if event.event.type != REGISTER or not isinstance(text, str):
            return None
        code = ContentCode.from_text(text)
        distance = None if code is None else asked.distance(code)
        if distance is None:
            return None
        state = self.ledger.state(event.event.work)
        controller = state.controller if state is not None else event.event.actor
        return Similar(event.event.work, event.id, row.index, event.event.actor, controller,
                       text, distance)


def default_path(ledger: Ledger) -> Path | None:
    """Beside the log's database file when the folder can be written; None (in memory)
    otherwise, as for a read-only copy handed to an auditor."""
    store = ledger.store
    if not isinstance(store, SqliteStore | PostgresStore) or store.readonly or not store.path:
        return None  # a PostgreSQL store keeps it in its home (specs/storage.md section 6.3)
    path = index_path(store.path)
    if path.exists():
        return path if os.access(path, os.W_OK) else None
    return path if os.access(path.parent, os.W_OK) else None


def code_of(ledger: Ledger, work: str) -> ContentCode | None:
    """The content code in ``work``'s registration on ``ledger``, if it has one."""
    history = ledger.history(work)
    if not history:
        return None
    text = history[0][1].event.body.get("similarity")
    return ContentCode.from_text(text) if isinstance(text, str) else None
