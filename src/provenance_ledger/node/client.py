"""A client of a node's HTTP API for the CLI's ``--node URL`` (specs/node.md section 5).

Events are signed locally and submitted; nothing a node answers is taken on trust: receipts and
state receipts are verified offline against the node's log key before they are used or kept.
The key is pinned on first contact (``<home>/nodes/<sha256(url)>.vkey``) and a node that later
shows another key is refused, unless the caller names the key it expects. Answers are read
through node/fetch.py and parsed into typed values (node/replies.py): a node that is silent or
answers what does not parse is one error line naming its URL (specs/node.md section 8).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import urlencode

from ..core.crypto import PublicKey
from ..core.current import (
    MAX_CURRENT_RECEIPT_BYTES,
    STATE_RECEIPT_V2_FORMAT,
    StateReceiptV2,
    VerifiedStateV2,
    check_decoded_current,
    verify_state_receipt_v2,
)
from ..core.encoding import load_json
from ..core.events import MAX_LEAF_BYTES, SignedEvent, full_work_id
from ..core.identity import KeyRecord, key_record_id
from ..core.note import MAX_NOTE_BYTES, Checkpoint, SignedNote, Verifier
from ..core.receipt import (
    Receipt,
    StateReceipt,
    check_decoded_event,
    check_decoded_state,
    verify_receipt,
    verify_state_receipt,
)
from ..core.rules import WorkState
from ..core.similarity import ContentCode
from ..core.timefmt import parse_time
from ..errors import (
    ConflictError,
    LedgerError,
    MalformedError,
    NodeFailure,
    NotFoundError,
    PeerError,
    RuleError,
    quoted,
)
from ..ledger.listing import (
    ENDED,
    IN_FORCE,
    LAPSED,
    NOT_YET,
    OPEN,
    TERMINATED,
    WITHDRAWN,
    OfferSummary,
    WorkSummary,
)
from . import replies
from .fetch import Answer, Fetcher, Timeouts

T = TypeVar("T")

MAX_ELSEWHERE = 64  # registrations on other logs kept from a node's 404
MAX_MESSAGE_CHARS = replies.MAX_TEXT_CHARS  # longest error text of a node shown to the user
MAX_RESPONSE_BYTES = 16 << 20  # largest answer read (a state receipt), bytes
MAX_BATCH_EVENTS = 1000  # most events one POST /events/batch takes (node/batch.py)


class NodeClient:
    """Signed events in, verified receipts out. Every answer is read through a
    :class:`Fetcher` (bounded in size while it streams, and in time by ``timeouts``); a node
    that cannot be reached, is silent, or answers what does not parse is one
    :class:`PeerError` naming its URL."""

    def __init__(self, url: str, pin_dir: Path, expected_vkey: str | None = None,
                 timeouts: Timeouts | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise MalformedError(f"--node {quoted(url)} must be an http:// or https:// URL")
        self.url = url.rstrip("/")
        self.who = f"node {self.url}"
        self.lacking: tuple[int, str] | None = None
        """After :meth:`submit`: (cosignatures missing, pending witnesses) or None."""
        self.refusing = ""
        """After :meth:`submit`: the witnesses that refused the log's checkpoint (a fork), as
        the node's ``Provenance-Refusing-Witnesses`` header names them; shown, not trusted."""
        self._fetch = Fetcher(timeouts)
        self._shards: dict[str, Verifier] | None = None  # frozen shards (node.md 10.6)
        try:
            self.verifier = self._pin(pin_dir, expected_vkey)
        except BaseException:
            self._fetch.close()
            raise

    def close(self) -> None:
        self._fetch.close()

    # -- transport -----------------------------------------------------------------------
    def _request(self, method: str, path: str, content: bytes | None = None,
                 limit: int = MAX_RESPONSE_BYTES,
                 content_type: str = "application/json") -> Answer:
        headers = {"content-type": content_type} if content is not None else None
        r = self._fetch.request(method, self.who, self.url + path, limit,
                                content=content, headers=headers)
        if r.status == 200:
            return r
        reply = replies.ErrorReply.from_bytes(r.body)
        if r.status == 404 and reply.error is None:
            raise LedgerError(f"{self.url} answered 404 for {path}: is it a provenance-ledger "
                              "node?")
        message = _one_line(reply.error) if reply.error is not None else r.excerpt()
        message = message or f"HTTP {r.status}"
        if r.status == 404:
            raise NotFoundError(message, elsewhere=_elsewhere(reply.body))
        if r.status == 409:
            raise ConflictError(message, head=reply.head)
        if r.status == 422:
            raise RuleError(message)
        if r.status == 503:
            raise _busy(self.url, message)
        if r.status >= 500:
            raise NodeFailure(f"node {self.url} failed ({r.status}): {message}")
        raise LedgerError(f"node {self.url} refused the request ({r.status}): {message}")

    def _typed(self, path: str, what: str, parser: Callable[[bytes], T]) -> T:
        return replies.parse(self._request("GET", path), self.who, what, parser)

    def _json(self, path: str, what: str) -> Any:
        return self._typed(path, what, lambda body: load_json(body, what))

    def _pin(self, pin_dir: Path, expected: str | None) -> Verifier:
        try:
            served = self._typed("/keys", "keys", replies.NodeKeys.from_bytes).log
        except (PeerError, NodeFailure):
            raise  # not reached, or failed: asking it more says nothing
        except LedgerError:  # a 404 for /keys
            self._not_tiles()
            raise
        if expected is not None and served != expected:
            raise LedgerError(f"node {self.url} has log key {served}, not the expected one")
        try:
            verifier = Verifier.from_vkey(served)
        except MalformedError as e:
            raise PeerError(self.who, f"GET /keys: the log key does not parse: {e}") from e
        pin = pin_dir / f"{hashlib.sha256(self.url.encode()).hexdigest()[:16]}.vkey"
        if pin.exists():
            pinned = pin.read_text(encoding="ascii").strip()
            if pinned != served and expected is None and self._rotated_from(pinned, verifier):
                pin.write_text(served + "\n", encoding="ascii")  # node.md 10.6: same key
            elif pinned != served and expected is None:
                raise LedgerError(
                    f"node {self.url} now shows log key {served}, but {pinned} was pinned on "
                    f"first contact ({pin}); if that is expected, delete the pin")
        else:
            pin_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            pin.write_text(served + "\n", encoding="ascii")
        return verifier

    def _not_tiles(self) -> None:
        """Raise, naming the option, when ``url`` has no ``/keys`` but serves a signed
        ``/checkpoint``: a log's static tiles (specs/tiles.md), which are read with ``log
        proof --tiles``, not a node."""
        try:
            answer = self._fetch.get(self.who, f"{self.url}/checkpoint", MAX_NOTE_BYTES)
            if answer.status != 200:
                return
            Checkpoint.from_text(SignedNote.from_text(answer.body.decode("utf-8")).text)
        except (LedgerError, UnicodeDecodeError):
            return
        raise MalformedError(
            f"--node {self.url} is a log's tiles URL (it serves a checkpoint but no "
            "/keys), not a ledger node: read it with provenance log proof INDEX --tiles "
            f"{self.url} --log-key VKEY, or give --node the node's own URL")

    # -- reads ------------------------------------------------------------------------------
    def resolve_work(self, text: str) -> str:
        return self._typed(f"/works/{text}", "work", replies.WorkView.from_bytes).work

    def registrations(self, work: str, other_than: str | None = None) -> dict[str, Any]:
        """The node's view of this work across its own log and its mirrors (disputes);
        ``other_than``: its similar registrations of other keys only (specs/node.md 6.1)."""
        query = "" if other_than is None else f"?other_than={other_than}"
        view = self._typed(f"/works/{work}{query}", "work", replies.WorkView.from_bytes)
        return {"disputed": view.disputed,
                "registrations": [r.to_json() for r in view.registrations],
                "similar": [r.to_json() for r in view.similar]}

    def state_receipt(self, work: str) -> dict[str, Any]:
        data = self._json(f"/works/{work}/state-receipt", "state receipt")
        if not isinstance(data, dict):
            raise PeerError(self.who, f"GET /works/{work}/state-receipt: the state receipt is "
                            "not a JSON object")
        return data

    def complete_state(self, work: str) -> tuple[dict[str, Any], VerifiedStateV2]:
        """The node's state receipt v2 of ``work`` (present or absent), verified offline
        against the pinned log key: the JSON as served, and what it proves."""
        data = self.state_receipt(work)
        return data, self.check_complete(data, work)[1]

    def check_complete(self, data: dict[str, Any], work: str
                  ) -> tuple[StateReceiptV2, VerifiedStateV2]:
        if data.get("format") != STATE_RECEIPT_V2_FORMAT:
            raise PeerError(self.who, f"the state receipt of {work} is not complete (the node's "
                            "latest checkpoint carries no map line yet)")
        try:
            receipt = StateReceiptV2.from_json(data)
            log_key = self._log_key_of(receipt.checkpoint, work)
            # rotated keys (specs/rules.md section 9): the key records, each verified too
            verified = verify_state_receipt_v2(receipt, [log_key], keys=self.key_record)
            check_decoded_current(data, verified)
        except MalformedError as e:
            raise PeerError(self.who, f"the state receipt of {work} is malformed: {e}") from e
        if [w.work for w in verified.works] != [work]:
            raise PeerError(self.who, f"answered for other works than {work}")
        return receipt, verified

    # -- a node that rotated (specs/node.md section 10.6) --------------------------------------
    def _frozen_shards(self) -> dict[str, Verifier]:
        """The node's frozen shards whose log key is the pinned key under their own origin
        (``GET /shards``), by origin; fetched once. A shard under another key is left out:
        only the key pinned is trusted."""
        if self._shards is None:
            listing = self._json("/shards", "shards")
            found: dict[str, Verifier] = {}
            for item in listing.get("frozen", []) if isinstance(listing, dict) else []:
                try:
                    v = Verifier.from_vkey(item["vkey"]) if isinstance(item, dict) else None
                except (KeyError, TypeError, MalformedError):
                    v = None
                if v is not None and v.public_key.raw == self.verifier.public_key.raw:
                    found[v.name] = v
            self._shards = found
        return self._shards

    def _rotated_from(self, pinned: str, served: Verifier) -> bool:
        """Whether the node now shows the pinned key under a new origin, having frozen the
        pinned origin as one of its shards."""
        try:
            old = Verifier.from_vkey(pinned)
        except MalformedError:
            return False
        if old.public_key.raw != served.public_key.raw:
            return False
        self.verifier = served
        try:
            return old.name in self._frozen_shards()
        except LedgerError:
            return False  # a node that lists no shards: the pin holds

    def _log_key_of(self, note: str, work: str) -> Verifier:
        """The key a state receipt's checkpoint must verify with: the node's, or, for a
        checkpoint of one of its frozen shards, that shard's, and then only once the current
        log proves that it holds nothing of ``work`` (a work that changed after the freeze
        was carried whole into the current log: specs/node.md section 10.4)."""
        from ..core.note import Checkpoint, SignedNote

        origin = Checkpoint.from_text(SignedNote.from_text(note).text).origin
        if origin == self.verifier.name:
            return self.verifier
        shard = self._frozen_shards().get(origin)
        if shard is None:
            return self.verifier  # verification names the origin it does not trust
        if self.complete_states([work])[1].works[0].state is not None:
            raise PeerError(self.who, f"answered the frozen shard {origin}'s state of {work}, "
                            "but its current log holds that work")
        return shard
    def _receipt_key(self, note: str) -> Verifier:
        """The key an event receipt's checkpoint must verify with: the node's, or that of
        the frozen shard it names (only one under the pinned key)."""
        from ..core.note import Checkpoint, SignedNote

        origin = Checkpoint.from_text(SignedNote.from_text(note).text).origin
        if origin == self.verifier.name:
            return self.verifier
        return self._frozen_shards().get(origin, self.verifier)
    # -- end of rotated nodes -------------------------------------------------------------------

    def key_record(self, key: str) -> KeyRecord | None:
        """A key's record from the node, verified like any state (None: it holds none)."""
        rid = key_record_id(key)
        try:
            state = self.verified_state(rid)[0]
        except NotFoundError:
            return None
        if state.identity is None:
            raise PeerError(self.who, f"answered a work for the key record of {key}")
        return state.identity

    def complete_states(self, works: list[str]) -> tuple[dict[str, Any], VerifiedStateV2]:
        """One state receipt v2 of ``works`` (whole ids, distinct, at most
        ``MAX_CURRENT_WORKS``) from ``POST /state-receipts``: one checkpoint, one map
        multiproof. Verified offline against the pinned log key, and it must list exactly
        the works asked, in that order, before anything is taken from it."""
        body = json.dumps({"works": works}).encode("ascii")
        answer = self._request("POST", "/state-receipts", content=body,
                               limit=MAX_CURRENT_RECEIPT_BYTES)
        data = replies.parse(answer, self.who, "state receipt",
                             lambda b: load_json(b, "state receipt"))
        if not isinstance(data, dict):
            raise PeerError(self.who, "POST /state-receipts: the answer is not a JSON object")
        try:
            receipt = StateReceiptV2.from_json(data)
            # rotated keys (specs/rules.md section 9): the key records, each verified too
            verified = verify_state_receipt_v2(receipt, [self.verifier],
                                               keys=self.key_record)
            check_decoded_current(data, verified)
        except MalformedError as e:
            raise PeerError(self.who, f"the state receipt of {len(works)} works is malformed: "
                            f"{e}") from e
        if [w.work for w in verified.works] != works:
            raise PeerError(self.who, f"answered for other works than the {len(works)} asked")
        return data, verified

    def similar(self, codes: Sequence[ContentCode], distance: int
                ) -> list[tuple[str, int] | None]:
        """For each code (at most ``MAX_SIMILAR_CODES``), the nearest work the node's log
        registered within ``distance`` bits, from ``POST /similar`` (node.md 6.2), and its
        distance, recomputed here from the registration's code the node names."""
        body = json.dumps({"codes": [c.to_text() for c in codes],
                           "distance": distance}).encode("ascii")
        data = replies.parse(self._request("POST", "/similar", content=body), self.who,
                             "similar works", lambda b: load_json(b, "similar works"))
        matches = data.get("matches") if isinstance(data, dict) else None
        if not isinstance(matches, list) or len(matches) != len(codes):
            raise PeerError(self.who, f"POST /similar: the answer does not list one match per "
                            f"code ({len(codes)} asked)")
        out: list[tuple[str, int] | None] = []
        for code, m in zip(codes, matches, strict=True):
            if m is None:
                out.append(None)
                continue
            fields = m if isinstance(m, dict) else {}
            work, text = fields.get("work"), fields.get("similarity")
            whole = full_work_id(work) if isinstance(work, str) else None
            theirs = ContentCode.from_text(text) if isinstance(text, str) else None
            d = code.distance(theirs) if theirs is not None else None
            if whole is None or d is None or d > distance or fields.get("distance") != d:
                raise PeerError(self.who, f"POST /similar: a match is not a registration "
                                f"within {distance} bits of the code asked")
            out.append((whole, d))
        return out

    def verified_state(self, work: str) -> tuple[WorkState, list[tuple[int, SignedEvent]]]:
        """The work's state and history, from a state receipt verified offline (complete,
        v2, when the node's checkpoint carries its map line)."""
        data = self.state_receipt(work)
        if data.get("format") == STATE_RECEIPT_V2_FORMAT:
            receipt, proven = self.check_complete(data, work)
            current = proven.works[0]
            if current.state is None:
                self.resolve_work(work)  # the node's 404 names registrations elsewhere
                raise NotFoundError(f"no work {work} on this ledger")
            return current.state, [(e.leaf_index, ev) for e, ev in
                                   zip(receipt.works[0].events, current.events, strict=True)]
        try:
            sr = StateReceipt.from_json(data)
            verified = verify_state_receipt(sr, [self.verifier])
            check_decoded_state(data, verified)
        except MalformedError as e:
            raise PeerError(self.who, f"the state receipt of {work} is malformed: {e}") from e
        if sr.work != work:
            raise PeerError(self.who, f"answered for work {sr.work}, not {work}")
        return verified.state, [(i, ev) for (i, _, _), ev in
                                zip(sr.events, verified.events, strict=True)]

    def receipt(self, event_id: str) -> dict[str, Any]:
        """An event's receipt (id or unique prefix), verified against the node's key."""
        data: dict[str, Any] = self._json(f"/receipts/{event_id}", "receipt")
        self._check(data)
        return data

    # -- listings (specs/node.md section 2.1): the node's word, not verified ----------------
    def works_page(self, key: str, controlled: bool, after: str | None,
                   limit: int) -> tuple[list[WorkSummary], str | None]:
        """One page of ``GET /works``: the works and the next page's cursor (None: last)."""
        params: dict[str, Any] = {"key": key, "limit": limit}
        if controlled:
            params["controlled"] = "true"
        if after is not None:
            params["after"] = after
        return self._typed(f"/works?{urlencode(params)}", "works page", _works_page)

    def offers_page(self, key: str, role: str, every: bool, after: int | None,
                    limit: int) -> tuple[list[OfferSummary], int | None]:
        """One page of ``GET /offers`` (``role``: ``to_accept`` or ``made``)."""
        params: dict[str, Any] = {"key": key, "role": role, "limit": limit}
        if every:
            params["all"] = "true"
        if after is not None:
            params["after"] = after
        return self._typed(f"/offers?{urlencode(params)}", "offers page", _offers_page)

    # -- writes ------------------------------------------------------------------------------
    def submit(self, event: SignedEvent) -> tuple[int, dict[str, Any]]:
        """Submit a signed event; return its index and its verified receipt. The node's word
        on its witnesses' cosignatures is kept in :attr:`lacking`."""
        answer = self._request("POST", "/events", content=event.leaf)
        self.lacking = _lacking(answer)
        self.refusing = _refusing(answer)
        data = replies.parse(answer, self.who, "receipt",
                             lambda body: load_json(body, "receipt"))
        verified = self._check(data)
        if verified.event.id != event.id:
            raise PeerError(self.who, "sent a receipt for another event")
        return verified.leaf_index, data

    def submit_batch(self, events: Sequence[SignedEvent]
                     ) -> list[tuple[int, dict[str, Any]] | LedgerError]:
        """Submit signed events in one ``POST /events/batch`` (at most ``MAX_BATCH_EVENTS``,
        specs/node.md section 2.2); for each, in order, its index and verified receipt, or
        why the node refused it (the error :meth:`submit` would raise). The node's word on
        its witnesses is kept in :attr:`lacking`, as for :meth:`submit`."""
        if not 1 <= len(events) <= MAX_BATCH_EVENTS:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_EVENTS} events")
        body = b"".join(e.leaf + b"\n" for e in events)
        answer = self._request("POST", "/events/batch", content=body,
                               content_type="application/octet-stream")
        self.lacking = _lacking(answer)
        self.refusing = _refusing(answer)
        data = replies.parse(answer, self.who, "batch results",
                             lambda b: load_json(b, "batch results"))
        items = data.get("results") if isinstance(data, dict) else None
        if not isinstance(items, list) or len(items) != len(events):
            raise PeerError(self.who, f"POST /events/batch: the answer does not list one "
                            f"result per event ({len(events)} sent)")
        out: list[tuple[int, dict[str, Any]] | LedgerError] = []
        for event, item in zip(events, items, strict=True):
            fields = item if isinstance(item, dict) else {}
            status = fields.get("status")
            if status == 200 and isinstance(fields.get("receipt"), dict):
                verified = self._check(fields["receipt"])
                if verified.event.id != event.id:
                    raise PeerError(self.who, "sent a receipt for another event")
                out.append((verified.leaf_index, fields["receipt"]))
            elif type(status) is int and status != 200 and isinstance(fields.get("error"), str):
                out.append(_refusal(status, _one_line(fields["error"]) or f"HTTP {status}",
                                    fields.get("head"), self.url))
            else:
                raise PeerError(self.who, "POST /events/batch: a result is neither a receipt "
                                "nor an error")
        return out

    def _check(self, data: Any) -> Any:
        """The verified receipt; a malformed one is the node's fault (exit 2), one that
        does not verify against the pinned key is a negative answer (exit 1)."""
        try:
            receipt = Receipt.from_json(data)
            verified = verify_receipt(receipt, [self._receipt_key(receipt.checkpoint)])
            check_decoded_event(data, verified.event)
        except MalformedError as e:
            raise PeerError(self.who, f"the receipt is malformed: {e}") from e
        return verified


STORAGE_UNAVAILABLE = "storage unavailable:"
"""How a node's error line of a 503 begins while it cannot reach its database (specs/node.md
section 2, "Storage unavailable"); any other 503 is a full queue or a shutdown."""


def _busy(url: str, message: str) -> NodeFailure:
    """The error of a 503 (specs/cli.md section 3.2): the node cannot reach its database, by
    its error line, or else it is busy (its queue is full, it is shutting down)."""
    if message.startswith(STORAGE_UNAVAILABLE):
        return NodeFailure(f"node {url} cannot reach its database; try again shortly")
    return NodeFailure(f"node {url} is busy, try again: {message}")


def _refusal(status: int, message: str, head: Any, url: str) -> LedgerError:
    """The error a refused submission raises, by the status the node gave it."""
    if status == 409:
        return ConflictError(message, head=head if isinstance(head, str) else None)
    if status == 422:
        return RuleError(message)
    if status == 503:
        return _busy(url, message)
    if status >= 500:
        return NodeFailure(f"node {url} failed to store the event ({status}): {message}")
    return LedgerError(f"node {url} refused the event ({status}): {message}")


def _lacking(answer: Answer) -> tuple[int, str] | None:
    """How many witness cosignatures a receipt lacks for the node's quorum, and whose, as the
    node's ``Provenance-*`` headers say (specs/node.md section 9); None when it lacks none or
    the node asks no witnesses. Shown to the user, not trusted: a policy decides."""
    headers = answer.provenance
    quorum, cosigned = headers.get("provenance-witness-quorum"), headers.get(
        "provenance-cosigned")
    if quorum is None or cosigned is None or not (quorum.isdigit() and cosigned.isdigit()):
        return None
    missing = int(quorum) - int(cosigned)
    if missing <= 0:
        return None
    return missing, _one_line(headers.get("provenance-pending-witnesses", ""), 200)


def _refusing(answer: Answer) -> str:
    """The witnesses the node says refused its checkpoint (specs/node.md section 9), one
    line; "" when none."""
    return _one_line(answer.provenance.get("provenance-refusing-witnesses", ""), 200)


def _elsewhere(body: Any) -> list[dict[str, Any]]:
    """The registrations on other logs that a node names in a 404 (specs/node.md section 6),
    kept only in the documented shape: they come from the node and are shown, not trusted."""
    items = body.get("elsewhere") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    keep = ("origin", "registrant", "id", "cosigned_at")
    return [{k: _one_line(r[k]) if isinstance(r.get(k), str) else None for k in keep}
            | {"index": r["index"] if type(r.get("index")) is int else None,
               "faulty": r.get("faulty") is True}
            for r in items[:MAX_ELSEWHERE] if isinstance(r, dict)]


_one_line = replies.one_line


# -- reads for `receipt upgrade` (specs/receipts.md section 10) ------------------------------
# Functions of a client, not methods: they only fetch and parse; the caller verifies every
# answer against the log key the receipt already holds, never against the node's word.


def fetch_checkpoint(client: NodeClient, *, size: int | None = None,
                     at_most: int | None = None) -> str:
    """``GET /checkpoint`` (the latest, or of ``size``, or the largest not beyond
    ``at_most``): the signed note with its cosignatures, as text. Not verified here."""
    query = (f"?size={size}" if size is not None
             else f"?at_most={at_most}" if at_most is not None else "")
    return client._typed(f"/checkpoint{query}", "checkpoint", replies.checkpoint_text)


def fetch_latest_checkpoint(client: NodeClient) -> tuple[str, tuple[str, ...]]:
    """``GET /checkpoint``: the latest signed note, as text (not verified here), and the
    witnesses the node says refuse this log's checkpoint, by its
    ``Provenance-Refusing-Witnesses`` header (specs/node.md section 9): the node's word, to
    be shown, never trusted; () when it names none."""
    answer = client._request("GET", "/checkpoint")
    note = replies.parse(answer, client.who, "checkpoint", replies.checkpoint_text)
    header = answer.provenance.get("provenance-refusing-witnesses", "")
    try:
        refusing = replies.witness_names(header)
    except MalformedError as e:
        raise PeerError(client.who, f"{answer.where}: its Provenance-Refusing-Witnesses "
                        f"header is not in the documented form: {e}") from e
    return note, refusing


def fetch_consistency(client: NodeClient, old: int, new: int) -> tuple[bytes, ...]:
    """``GET /proof/consistency?old=A&new=B``: the proof's hashes. Not verified here."""
    return client._typed(f"/proof/consistency?old={old}&new={new}", "consistency proof",
                         lambda body: replies.ConsistencyReply.from_bytes(body, old, new)).proof


def fetch_inclusion(client: NodeClient, index: int, size: int) -> tuple[bytes, ...]:
    """``GET /proof/inclusion?index=I&size=N``: the proof's hashes. Not verified here."""
    return client._typed(f"/proof/inclusion?index={index}&size={size}", "inclusion proof",
                         lambda body: _inclusion_hashes(body, index, size))


def _inclusion_hashes(body: bytes, index: int, size: int) -> tuple[bytes, ...]:
    from ..core.encoding import b64decode
    from ..core.merkle import HASH_SIZE
    from ..core.receipt import MAX_PROOF_HASHES

    what = "inclusion proof"
    data = load_json(body, what)
    if not isinstance(data, dict):
        raise MalformedError(f"{what} is not a JSON object")
    if (data.get("index"), data.get("size")) != (index, size) or not all(
            type(data.get(k)) is int for k in ("index", "size")):
        raise MalformedError(f"it is not for entry {index} in the tree of size {size}")
    hashes = data.get("inclusion_proof")
    if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES or not all(
            isinstance(h, str) for h in hashes):
        raise MalformedError(f"'inclusion_proof' is not a list of at most {MAX_PROOF_HASHES} "
                             "base64 hashes")
    return tuple(b64decode(h, "inclusion proof hash", HASH_SIZE) for h in hashes)


# -- listing pages: checked into the ledger's own summaries, so the CLI prints them as it
# prints a local listing. Text is kept as the node sent it (a title is anyone's words; the
# CLI quotes it), only bounded; keys, ids and times must parse.
MAX_LIST_ITEMS = 1000  # items of one listing page kept (a node answers at most 100)
_WORK_ID = re.compile(r"sha256:[0-9a-f]{64}")
_EVENT_ID = re.compile(r"[0-9a-f]{64}")
_OFFER_STATES = frozenset({OPEN, LAPSED, WITHDRAWN, IN_FORCE, NOT_YET, ENDED, TERMINATED})


def _page(body: bytes, member: str) -> tuple[list[Any], Any]:
    data = load_json(body, f"{member} page")
    if not isinstance(data, dict) or not isinstance(data.get(member), list):
        raise MalformedError(f"not an object with a list {member!r}")
    items = data[member]
    if len(items) > MAX_LIST_ITEMS:
        raise MalformedError(f"more than {MAX_LIST_ITEMS} {member} in one page")
    if not all(isinstance(i, dict) for i in items):
        raise MalformedError(f"an item of {member!r} is not an object")
    return items, data.get("next")


def _text(item: dict[str, Any], name: str, optional: bool = False) -> Any:
    value = item.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > MAX_LEAF_BYTES:
        raise MalformedError(f"field {name!r} is not a string of at most {MAX_LEAF_BYTES}")
    return value


def _key(item: dict[str, Any], name: str) -> str:
    return PublicKey.from_text(_text(item, name)).text


def _time(item: dict[str, Any], name: str, optional: bool = False) -> int | None:
    value = _text(item, name, optional)
    return None if value is None else parse_time(value, f"field {name!r}")


def _match(item: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = _text(item, name)
    if not pattern.fullmatch(value):
        raise MalformedError(f"field {name!r} is not an id")
    return str(value)


def _count(item: dict[str, Any], name: str, optional: bool = False) -> int | None:
    value = item.get(name)
    if value is None and optional:
        return None
    if type(value) is not int or value < 0:
        raise MalformedError(f"field {name!r} is not a non-negative integer")
    return value


def _works_page(body: bytes) -> tuple[list[WorkSummary], str | None]:
    items, cursor = _page(body, "works")
    works = []
    for w in items:
        registered_at = _time(w, "registered_at")
        assert registered_at is not None
        works.append(WorkSummary(
            _match(w, "work", _WORK_ID), _text(w, "title", True), _text(w, "media_type", True),
            _count(w, "size", True), registered_at, _key(w, "registrant"),
            _key(w, "controller"), -1))  # -1: the log index is not part of the answer
    if cursor is not None and (not isinstance(cursor, str) or not _WORK_ID.fullmatch(cursor)):
        raise MalformedError("field 'next' is not a work id or null")
    return works, cursor


def _terms(item: dict[str, Any]) -> dict[str, Any]:
    """The offer's terms in the form the CLI describes (fee, royalty, territories, URI)."""
    terms = item.get("terms")
    if not isinstance(terms, dict) or not terms.keys() <= {
            "fee", "royalty_bps", "territories", "terms_uri"}:
        raise MalformedError("field 'terms' is not an object of fee, royalty_bps, "
                             "territories and terms_uri")
    fee = terms.get("fee")
    if fee is not None and not (isinstance(fee, dict) and fee.keys() == {"amount", "currency"}
                                and type(fee["amount"]) is int
                                and isinstance(fee["currency"], str)):
        raise MalformedError("field 'terms.fee' is not {amount, currency}")
    if "royalty_bps" in terms:
        _count(terms, "royalty_bps")
    territories = terms.get("territories")
    if territories is not None and not (isinstance(territories, list) and all(
            isinstance(t, str) for t in territories)):
        raise MalformedError("field 'terms.territories' is not a list of codes")
    if "terms_uri" in terms:
        _text(terms, "terms_uri")
    return terms


def _offers_page(body: bytes) -> tuple[list[OfferSummary], int | None]:
    items, cursor = _page(body, "offers")
    offers = []
    for o in items:
        purposes = o.get("purposes")
        if not isinstance(purposes, list) or not all(isinstance(p, str) for p in purposes):
            raise MalformedError("field 'purposes' is not a list of strings")
        status = _text(o, "status")
        if status not in _OFFER_STATES:
            raise MalformedError(f"field 'status' {quoted(status, 42)} is not a "
                                 "licence state")
        offered_at = _time(o, "offered_at")
        index = _count(o, "index")
        assert offered_at is not None and index is not None
        offers.append(OfferSummary(
            _match(o, "id", _EVENT_ID), _match(o, "work", _WORK_ID), _text(o, "title", True),
            _key(o, "offered_by"), _key(o, "licensee"), tuple(purposes),
            MappingProxyType(_terms(o)), offered_at, _time(o, "from", True),
            _time(o, "until", True), _time(o, "offer_expires", True), status, index))
    if cursor is not None and type(cursor) is not int:
        raise MalformedError("field 'next' is not an index or null")
    return offers, cursor
