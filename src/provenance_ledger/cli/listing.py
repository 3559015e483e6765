"""``provenance works`` and ``provenance offers``: find your own things (specs/cli.md sections
3.10 and 3.11). A thin shell over :mod:`provenance_ledger.ledger.listing`, or, with ``--node
URL``, over the node's ``GET /works`` and ``GET /offers`` pages (specs/node.md section 2.1):
output is written as the items arrive, so 10^5 works stream out in bounded memory."""

from __future__ import annotations

import csv
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.keystate import FAR_FUTURE, KeyLookup, holder
from ..core.timefmt import format_time
from ..errors import MalformedError, NotFoundError, PeerError, quoted
from ..ledger.listing import (
    OPEN,
    OfferSummary,
    WorkSummary,
    offers_by,
    offers_to,
    titled,
    works_of,
)
from .numbers import whole
from .session import (
    DEFAULT_KEY,
    NodeOpt,
    Session,
    TimeoutOpt,
    emit_json,
)
from .words import describe_terms

if TYPE_CHECKING:
    from ..node.client import NodeClient

KeyNameOpt = Annotated[str | None, typer.Option(
    "--key", help="Your key's name (default: 'default').")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
WORK_PREFIX_HEX = 16  # hex digits of a work id shown in text output: a usable WORK prefix
EVENT_PREFIX_HEX = 12  # hex digits of an offer id shown in text output
CSV_FIELDS = ("work", "title", "media_type", "size", "registered_at", "registrant",
              "controller", "registration_counts")
_SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")
NODE_PAGE = 100  # works or offers asked of a node per request (its most, node/app.py)


def _node_works(client: NodeClient, key: str, controlled: bool, after: str | None,
                limit: int | None) -> Iterator[WorkSummary]:
    """The works of ``GET /works``, a page at a time as they are consumed; one more than
    ``limit`` is asked at first, so that a page that ends the list costs one request."""
    size = NODE_PAGE if limit is None else min(NODE_PAGE, limit + 1)
    seen = {after}
    while True:
        page, cursor = client.works_page(key, controlled, after, size)
        yield from page
        if cursor is None:
            return
        if cursor in seen or not page:  # a node that would send us round in circles
            raise PeerError(client.who, f"GET /works: the next page after {quoted(cursor)} "
                            "does not move forward")
        seen = {cursor}
        after, size = cursor, NODE_PAGE


def _node_offers(client: NodeClient, key: str, role: str, every: bool) -> Iterator[OfferSummary]:
    after: int | None = None
    while True:
        page, cursor = client.offers_page(key, role, every, after, NODE_PAGE)
        yield from page
        if cursor is None:
            return
        if not page or (after is not None and cursor <= after):
            raise PeerError(client.who, f"GET /offers: the next page after index {quoted(cursor)} "
                            "does not move forward")
        after = cursor


def _whose(session: Session, key: str | None, controller: str | None) -> tuple[str | None, str]:
    """(public key or None, how to name it) for --key NAME or --controller KEY."""
    if key is not None and controller is not None:
        raise MalformedError("give --key NAME or --controller KEY, not both")
    if controller is not None:
        return session.key_option(controller, "--controller"), controller
    name = key or DEFAULT_KEY
    return session.public_key(name), f"key '{name}'"


def works(
    ctx: typer.Context,
    key: KeyNameOpt = None,
    controller: Annotated[str | None, typer.Option(
        "--controller", help="List the works this key (ed25519:... or one of your key names) now "
                             "controls.")
    ] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV with a header row.")] = False,
    limit: Annotated[int | None, typer.Option(
        "--limit", metavar="N", parser=whole("--limit", 1, unit="works"),
        help="Print at most N works; the next page starts --after the last.")
    ] = None,
    after: Annotated[str | None, typer.Option(
        "--after", help="Start after this work (the last of the previous page).")] = None,
    search: Annotated[str | None, typer.Option(
        "--search", metavar="TEXT",
        help="Only the works whose title holds TEXT, any case (a folder's works are titled "
             "by their paths below it).")] = None,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
) -> None:
    """List the works your key registered or now controls, oldest first.

    Each work with its title, media type, registration time and current controller.
    With --controller KEY: the works that public key controls now. With --search TEXT:
    only those whose title holds TEXT (a file name finds the work anchor DIR registered
    it as). With --node URL: as that node lists them (its word: use status WORK --node
    URL to verify one).

    Example: provenance works --search page-012
    """
    if as_json and as_csv:
        raise MalformedError("give --json or --csv, not both")
    if search is not None and not search.strip():
        raise MalformedError("--search: give the text to look for in the works' titles")
    s = Session.from_ctx(ctx).use_node(node, timeout)
    public, who = _whose(s, key, controller)
    found: Iterator[WorkSummary] = iter(())
    if public is not None:
        cursor = s.resolve_work(after) if after is not None else None
        if s.node_url is not None:
            found = titled(_node_works(s.client, public, controller is not None, cursor,
                                       None if search is not None else limit), search)
        elif s.has_ledger():  # a fresh home holds no work: listing it makes nothing
            found = works_of(s.ledger, public, controlled_only=controller is not None,
                             after=cursor, search=search)
            if cursor is not None:
                found = _after_named(found)
    page = _Page(found, limit)
    # The key records of the log listed (through --node, each verified as a state is), read
    # once a key: who holds a rotated key's works, and whose registration does not count.
    lookup: KeyLookup | None = None
    if s.node_url is not None:
        lookup = _cached(s.client.key_record)
    elif s.has_ledger():
        lookup = _cached(s.ledger.key_record)
    if as_json:
        _stream_json({**w.to_json(), "registration_counts": _void_since(w, lookup) is None}
                     for w in page)
    elif as_csv:
        _stream_csv(page, lookup)
    else:
        _stream_text(page, public, lookup)
        if page.count == 0:
            verb = "controls" if controller is not None else "registered or controls"
            which = "" if search is None else f" whose title holds {quoted(search)}"
            typer.echo(f"no works: {who} {verb} none{which} on this ledger")
    if page.last is not None and page.count == limit and next(found, None) is not None:
        typer.echo(f"more works: the next page is --after {page.last.work}", err=True)


def _after_named(found: Iterator[WorkSummary]) -> Iterator[WorkSummary]:
    """``found``, a cursor that is none of the key's works named as the option it came from
    (specs/cli.md section 1, errors: bad input names the option)."""
    try:
        yield from found
    except NotFoundError as e:
        raise NotFoundError(f"--after: {e} (give the last work of a page of this listing)"
                            ) from e


class _Page:
    """At most ``limit`` of ``items``, counting them and keeping the last (the next page's
    cursor)."""

    def __init__(self, items: Iterator[WorkSummary], limit: int | None) -> None:
        self._items = items if limit is None else itertools.islice(items, limit)
        self.count = 0
        self.last: WorkSummary | None = None

    def __iter__(self) -> Iterator[WorkSummary]:
        for item in self._items:
            self.count += 1
            self.last = item
            yield item


def _stream_text(found: Iterable[WorkSummary], public: str | None,
                 lookup: KeyLookup | None) -> None:
    """One line per work; ``lookup`` (the local ledger's key records) says who holds the
    control of a controller whose key was rotated (specs/cli.md section 3.10)."""
    write = sys.stdout.write
    for w in found:
        held = holder(w.controller, FAR_FUTURE, lookup)
        if held == w.controller:
            whose = "you" if w.controller == public else w.controller
        elif held == public:
            whose = f"you (rotated from {w.controller})"
        elif w.controller == public:
            whose = f"{held} (your key was rotated to it)"
        else:
            whose = f"{held} (rotated from {w.controller})"
        title = f"  {w.title!r}" if w.title is not None else ""
        write(f"{w.work[:len('sha256:') + WORK_PREFIX_HEX]}  {format_time(w.registered_at)}  "
              f"{w.media_type or '-'}  controller {whose}{title}{_void(w, lookup)}\n")


def _cached(lookup: KeyLookup) -> KeyLookup:
    """``lookup`` reading each key's record once: a listing asks of the same few keys for
    every work (its registrant, its controller)."""
    seen: dict[str, Any] = {}

    def cached(key: str) -> Any:
        if key not in seen:
            seen[key] = lookup(key)
        return seen[key]

    return cached


def _void_since(w: WorkSummary, lookup: KeyLookup | None) -> int | None:
    """When the work was registered by a key declared compromised at its registration's time
    (specs/rules.md R22: nothing of it counts, specs/cli.md section 3.10), the time the key
    is compromised since; else None. One key record per work's registrant, cached by the
    caller's lookup."""
    record = lookup(w.registrant) if lookup is not None else None
    if record is None or not record.compromised_at(w.registered_at):
        return None
    return record.compromised_since


def _void(w: WorkSummary, lookup: KeyLookup | None) -> str:
    """``  [registration does not count: key compromised since T]`` for such a work."""
    since = _void_since(w, lookup)
    return "" if since is None else (
        f"  [registration does not count: key compromised since {format_time(since)}]")


def _stream_json(items: Iterable[dict[str, Any]]) -> None:
    """A JSON array, written an element at a time."""
    write = sys.stdout.write
    first = True
    for item in items:
        write(("[\n  " if first else ",\n  ") + json.dumps(item, ensure_ascii=False))
        first = False
    write("[]\n" if first else "\n]\n")


def _stream_csv(found: Iterable[WorkSummary], lookup: KeyLookup | None) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(CSV_FIELDS)
    for w in found:
        row = {**w.to_json(), "registration_counts": (
            "true" if _void_since(w, lookup) is None else "false")}
        out.writerow([_cell(row[f]) for f in CSV_FIELDS])


def _cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe
    (OWASP "CSV injection"): a title is anyone's words."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_SPREADSHEET_FORMULA) else text


def offers(
    ctx: typer.Context,
    key: KeyNameOpt = None,
    every: Annotated[bool, typer.Option(
        "--all", help="Also the offers no longer open: accepted, lapsed or withdrawn.")
    ] = False,
    as_json: JsonOpt = False,
    node: NodeOpt = None,
    timeout: TimeoutOpt = None,
) -> None:
    """Licence offers waiting for your acceptance, and the ones you made.

    An offer waits while it is not accepted, not expired and not withdrawn.
    Each is shown with the command that accepts it. With --node URL: as that node lists
    them, in their state at the node's time.

    Example: provenance offers --key studio
    """
    s = Session.from_ctx(ctx).use_node(node, timeout)
    name = key or DEFAULT_KEY
    public = s.public_key(name)
    to_you: list[OfferSummary] = []
    by_you: list[OfferSummary] = []
    if public is not None and s.node_url is not None:
        to_you = list(_node_offers(s.client, public, "to_accept", every))
        by_you = list(_node_offers(s.client, public, "made", every))
    elif public is not None:
        now = s.now()
        to_you = list(offers_to(s.ledger, public, now, open_only=not every))
        by_you = list(offers_by(s.ledger, public, now, open_only=not every))
    if as_json:
        emit_json({"key": name, "public_key": public,
                   "to_accept": [o.to_json() for o in to_you],
                   "made": [o.to_json() for o in by_you]})
        return
    who = f"key '{name}'" + (f", {public}" if public else ", not created yet")
    open_word = "" if every else "open "
    typer.echo(f"{open_word}offers to you ({who}):" + ("" if to_you else " none"))
    flag = "" if name == DEFAULT_KEY else f" --key {name}"
    for o in to_you:
        _offer_lines(o, f"from {o.offered_by}")
        if o.status == OPEN:
            typer.echo(f"    to accept: provenance licence accept {o.id[:EVENT_PREFIX_HEX]}"
                       f"{flag}")
    typer.echo(f"{open_word}offers you made:" + ("" if by_you else " none"))
    for o in by_you:
        _offer_lines(o, f"to {o.licensee}")


def _offer_lines(o: OfferSummary, party: str) -> None:
    title = f" {o.title!r}" if o.title is not None else ""
    typer.echo(f"  {o.id[:EVENT_PREFIX_HEX]}  work {o.work[:len('sha256:') + WORK_PREFIX_HEX]}"
               f"{title}  {o.status}")
    typer.echo(f"    {party}")
    typer.echo(f"    purposes: {', '.join(o.purposes)}; {describe_terms(o.terms)}")
    span = []
    if o.start is not None:
        span.append(f"from {format_time(o.start)}")
    if o.until is not None:
        span.append(f"until {format_time(o.until)}")
    expiry = (f"offer expires {format_time(o.expires)}" if o.expires is not None
              else "offer does not expire")
    typer.echo(f"    {', '.join(span) + '; ' if span else ''}{expiry}")
