"""Finding one's own things: the works a key registered or controls, the licence offers made to
it or by it, and the state of each grant and licence in words (specs/cli.md sections 3.10 to
3.12).

Everything here reads the store's ``actor``/``party`` index (specs/storage.md section 2) in
pages and replays one work at a time, so a key with 10^5 works is listed in bounded memory:
results are yielded as they are found, never collected. Replay is the ledger's own
(:meth:`Ledger.history` and :func:`rules.apply`), so a listing says what ``status`` says.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..core import rules
from ..core.encoding import thaw
from ..core.events import SignedEvent
from ..core.keystate import FAR_FUTURE, MAX_ROTATION_HOPS, holder
from ..core.timefmt import format_time
from ..errors import NotFoundError
from ..store import EntryRow
from .ledger import Ledger, stored_event

PAGE_ENTRIES = 500
"""Entries read from the store per query while listing."""

# Grant states (specs/cli.md section 3.4).
IN_FORCE = "in force"
REVOKED = "revoked"
EXPIRED = "expired"
NOT_YET = "not yet started"
# Licence states: an accepted licence is in force, not yet started, ended or terminated; an
# offer not accepted is open, lapsed (expired before acceptance) or withdrawn.
ENDED = "ended"
TERMINATED = "terminated"
OPEN = "open offer"
LAPSED = "offer lapsed"
WITHDRAWN = "offer withdrawn"


def grant_status(grant: rules.Grant, now: int) -> str:
    """A consent grant's state at ``now``: in force, revoked, expired or not yet started."""
    if grant.revoked_at is not None and grant.revoked_at <= now:
        return REVOKED
    if grant.until is not None and now >= grant.until:
        return EXPIRED
    if now < grant.at:
        return NOT_YET
    return IN_FORCE


def licence_status(licence: rules.Licence, now: int) -> str:
    """A licence's state at ``now`` (specs/rules.md section 3): an accepted one is in force,
    not yet started, ended or terminated; an offer never accepted is open, lapsed or
    withdrawn."""
    terminated = licence.terminated_at is not None and licence.terminated_at <= now
    if licence.accepted_at is None or licence.accepted_at > now:  # an offer, as of ``now``
        if terminated:
            return WITHDRAWN
        lapsed = any(t is not None and now >= t for t in (licence.offer_expires, licence.until))
        return LAPSED if lapsed else OPEN
    if terminated:
        return TERMINATED
    if licence.until is not None and now >= licence.until:
        return ENDED
    if licence.start is not None and now < licence.start:
        return NOT_YET
    return IN_FORCE


@dataclass(frozen=True, slots=True)
class WorkSummary:
    """One work of a listing. ``since`` is the log index of the entry through which the key
    first held the work (its registration, or the first transfer to it): listings are in
    that order, and ``--after WORK`` resumes after it."""

    work: str
    title: str | None
    media_type: str | None
    size: int | None
    registered_at: int
    registrant: str
    controller: str
    since: int

    def to_json(self) -> dict[str, Any]:
        return {"work": self.work, "title": self.title, "media_type": self.media_type,
                "size": self.size, "registered_at": format_time(self.registered_at),
                "registrant": self.registrant, "controller": self.controller}


@dataclass(frozen=True, slots=True)
class OfferSummary:
    """A licence offer with the state of its work's replay at ``now``."""

    id: str
    work: str
    title: str | None
    offered_by: str
    licensee: str
    purposes: tuple[str, ...]
    terms: Mapping[str, Any]  # read-only, as the state holds it
    offered_at: int
    start: int | None
    until: int | None
    expires: int | None
    status: str
    index: int

    def to_json(self) -> dict[str, Any]:
        def t(v: int | None) -> str | None:
            return None if v is None else format_time(v)

        return {"id": self.id, "work": self.work, "title": self.title,
                "offered_by": self.offered_by, "licensee": self.licensee,
                "purposes": list(self.purposes), "terms": thaw(self.terms),
                "offered_at": format_time(self.offered_at), "from": t(self.start),
                "until": t(self.until), "offer_expires": t(self.expires),
                "status": self.status}


def _pages(ledger: Ledger, role: str, key: str, types: tuple[str, ...],
           after: int) -> Iterator[EntryRow]:
    """Every entry of ``types`` naming ``key`` in ``role`` above index ``after``, read a page
    at a time."""
    while True:
        page = ledger.store.entries_by_key(role, key, types, after, PAGE_ENTRIES)
        yield from page
        if len(page) < PAGE_ENTRIES:
            return
        after = page[-1].index


def _gained(ledger: Ledger, keys: tuple[str, ...], after: int) -> Iterator[EntryRow]:
    """The entries through which one of ``keys`` came to hold a work, in log order:
    registrations it signed and transfers to it."""
    streams: list[Iterator[EntryRow]] = []
    for key in keys:
        streams.append(_pages(ledger, "actor", key, ("work.register",), after))
        streams.append(_pages(ledger, "party", key, ("work.transfer",), after))
    return heapq.merge(*streams, key=lambda row: row.index)


def rotated_into(ledger: Ledger, key: str) -> tuple[str, ...]:
    """``key`` and every key whose control ``key`` now holds through rotations that count
    (specs/rules.md section 9): a key rotated to it, one rotated to that, and so on (at most
    ``MAX_ROTATION_HOPS``). A creator who rotated their key finds their works under the new
    one, as ``status`` shows it holding them."""
    out = [key]
    frontier = [key]
    while frontier and len(out) <= MAX_ROTATION_HOPS:
        newer = frontier.pop()
        for row in _pages(ledger, "party", newer, ("key.rotate",), -1):
            old = stored_event(row).event.body.get("key")
            if (isinstance(old, str) and old not in out
                    and holder(old, FAR_FUTURE, ledger.key_record) == key):
                out.append(old)
                frontier.append(old)
    return tuple(out)


def _replay(ledger: Ledger, work: str,
            keys: tuple[str, ...]) -> tuple[rules.WorkState | None, int | None]:
    """The work's state and the index of the first entry through which one of ``keys`` held
    it."""
    state: rules.WorkState | None = None
    first: int | None = None
    for index, ev in ledger.history(work):
        state = rules.apply(state, ev, keys=ledger.key_record)
        if first is None and _gives(ev, keys):
            first = index
    return state, first


def _gives(ev: SignedEvent, keys: tuple[str, ...]) -> bool:
    e = ev.event
    return (e.type == "work.register" and e.actor in keys) or (
        e.type == "work.transfer" and e.body.get("to") in keys)


def titled(works: Iterable[WorkSummary], text: str | None) -> Iterator[WorkSummary]:
    """The works whose title holds ``text``, any case (specs/cli.md section 3.10, ``works
    --search``): a folder's works are titled by their paths below it, so a file's name finds
    its work. None: every work."""
    if text is None:
        yield from works
        return
    wanted = text.casefold()
    for w in works:
        if w.title is not None and wanted in w.title.casefold():
            yield w


def works_of(ledger: Ledger, key: str, *, controlled_only: bool = False,
             after: str | None = None, search: str | None = None) -> Iterator[WorkSummary]:
    """The works ``key`` registered or now controls (``controlled_only``: now controls), in
    the order it first held them; after the work ``after`` when given (a cursor from an
    earlier page, which must be one of the key's works); only those whose title holds
    ``search`` (any case) when given (:func:`titled`). The works of a key rotated to
    ``key`` (:func:`rotated_into`) count as its own: ``key`` holds their control now."""
    return titled(_works_of(ledger, key, controlled_only, after), search)


def _works_of(ledger: Ledger, key: str, controlled_only: bool,
              after: str | None) -> Iterator[WorkSummary]:
    keys = rotated_into(ledger, key)
    start = -1
    if after is not None:
        _, first = _replay(ledger, after, keys)
        if first is None:
            raise NotFoundError(f"work {after} was never held by {key}: it cannot be a cursor")
        start = first
    for row in _gained(ledger, keys, start):
        state, first = _replay(ledger, row.work, keys)
        # A work gained twice (transferred away and back) is listed once, at its first entry.
        if state is None or first != row.index:
            continue
        if state.controller not in keys and (controlled_only or state.registrant not in keys):
            continue
        c = state.content
        yield WorkSummary(state.work, c.get("title"), c.get("media_type"), c.get("size"),
                          state.registered_at, state.registrant, state.controller, row.index)


def offers_to(ledger: Ledger, key: str, now: int, *, open_only: bool = True,
              after: int = -1) -> Iterator[OfferSummary]:
    """Licence offers naming ``key`` as the licensee, in log order (``open_only``: those it
    can still accept at ``now``), from log index ``after + 1`` on (a page's cursor)."""
    return _offers(ledger, _pages(ledger, "party", key, ("licence.offer",), after), now,
                   open_only)


def offers_by(ledger: Ledger, key: str, now: int, *, open_only: bool = True,
              after: int = -1) -> Iterator[OfferSummary]:
    """Licence offers ``key`` signed, in log order (``open_only``: still open at ``now``),
    from log index ``after + 1`` on."""
    return _offers(ledger, _pages(ledger, "actor", key, ("licence.offer",), after), now,
                   open_only)


def _offers(ledger: Ledger, rows: Iterable[EntryRow], now: int,
            open_only: bool) -> Iterator[OfferSummary]:
    for row in rows:
        ev = stored_event(row)
        state = ledger.state(row.work)
        lic = state.licence(ev.id) if state is not None else None
        if state is None or lic is None:
            continue  # not in the replayed state: never happens on an audited log
        status = licence_status(lic, now)
        if open_only and status != OPEN:
            continue
        yield OfferSummary(lic.id, state.work, state.content.get("title"), ev.event.actor,
                           lic.licensee, lic.purposes, lic.terms, lic.offered_at,
                           lic.start, lic.until, lic.offer_expires, status, row.index)
