"""A client of a node's HTTP API for the CLI's ``--node URL`` (specs/node.md section 5).

Events are signed locally and submitted; nothing a node answers is taken on trust: receipts and
state receipts are verified offline against the node's log key before they are used or kept.
The key is pinned on first contact (``<home>/nodes/<sha256(url)>.vkey``) and a node that later
shows another key is refused, unless the caller names the key it expects.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx

from ..core.events import SignedEvent
from ..core.note import Verifier
from ..core.receipt import (
    Receipt,
    StateReceipt,
    check_decoded_event,
    check_decoded_state,
    verify_receipt,
    verify_state_receipt,
)
from ..core.rules import WorkState
from ..errors import ConflictError, LedgerError, MalformedError, NotFoundError, RuleError

HTTP_TIMEOUT = 30.0  # seconds; a submission waits for its block to be integrated
MAX_ELSEWHERE = 64  # registrations on other logs kept from a node's 404
MAX_MESSAGE_CHARS = 300  # longest error text of a node shown to the user
MAX_RESPONSE_BYTES = 16 << 20  # largest answer read (a state receipt), bytes


class NodeClient:
    """Signed events in, verified receipts out."""

    def __init__(self, url: str, pin_dir: Path, expected_vkey: str | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise MalformedError(f"--node {url!r} must be an http:// or https:// URL")
        self.url = url.rstrip("/")
        self._http = httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False)
        self.verifier = self._pin(pin_dir, expected_vkey)

    def close(self) -> None:
        self._http.close()

    # -- transport -----------------------------------------------------------------------
    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self._http.request(method, self.url + path, **kw)
        except httpx.HTTPError as e:
            raise LedgerError(f"cannot reach node {self.url}: {e}") from e
        if len(r.content) > MAX_RESPONSE_BYTES:
            raise MalformedError(f"node {self.url} sent more than {MAX_RESPONSE_BYTES} bytes")
        if r.status_code == 200:
            return r
        try:
            body = r.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        if r.status_code == 404 and not isinstance(error, str):
            raise LedgerError(f"{self.url} answered 404 for {path}: is it a provenance-ledger "
                              "node?")
        message = _one_line(error if isinstance(error, str) else r.text) or f"HTTP {r.status_code}"
        if r.status_code == 404:
            raise NotFoundError(message, elsewhere=_elsewhere(body))
        if r.status_code == 409:
            raise ConflictError(message, head=body.get("head"))
        if r.status_code == 422:
            raise RuleError(message)
        if r.status_code == 503:
            raise LedgerError(f"node {self.url} is busy, try again: {message}")
        raise LedgerError(f"node {self.url} refused the request ({r.status_code}): {message}")

    def _json(self, path: str) -> Any:
        try:
            return self._request("GET", path).json()
        except ValueError as e:
            raise MalformedError(f"node {self.url} sent invalid JSON for {path}") from e

    def _pin(self, pin_dir: Path, expected: str | None) -> Verifier:
        keys = self._json("/keys")
        served = keys.get("log") if isinstance(keys, dict) else None
        if not isinstance(served, str):
            raise MalformedError(f"node {self.url} did not say its log key")
        if expected is not None and served != expected:
            raise LedgerError(f"node {self.url} has log key {served}, not the expected one")
        pin = pin_dir / f"{hashlib.sha256(self.url.encode()).hexdigest()[:16]}.vkey"
        if pin.exists():
            pinned = pin.read_text(encoding="ascii").strip()
            if pinned != served and expected is None:
                raise LedgerError(
                    f"node {self.url} now shows log key {served}, but {pinned} was pinned on "
                    f"first contact ({pin}); if that is expected, delete the pin")
        else:
            pin_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            pin.write_text(served + "\n", encoding="ascii")
        return Verifier.from_vkey(served)

    # -- reads ------------------------------------------------------------------------------
    def resolve_work(self, text: str) -> str:
        data = self._json(f"/works/{text}")
        return str(data["work"])

    def registrations(self, work: str) -> dict[str, Any]:
        """The node's view of this work across its own log and its mirrors (disputes)."""
        data = self._json(f"/works/{work}")
        return {"disputed": bool(data.get("disputed")),
                "registrations": list(data.get("registrations") or [])}

    def state_receipt(self, work: str) -> dict[str, Any]:
        data: dict[str, Any] = self._json(f"/works/{work}/state-receipt")
        return data

    def verified_state(self, work: str) -> tuple[WorkState, list[tuple[int, SignedEvent]]]:
        """The work's state and history, from a state receipt verified offline."""
        data = self.state_receipt(work)
        sr = StateReceipt.from_json(data)
        verified = verify_state_receipt(sr, [self.verifier])
        check_decoded_state(data, verified)
        if sr.work != work:
            raise MalformedError(f"node {self.url} answered for work {sr.work}, not {work}")
        return verified.state, [(i, ev) for (i, _, _), ev in
                                zip(sr.events, verified.events, strict=True)]

    def receipt(self, event_id: str) -> dict[str, Any]:
        """An event's receipt (id or unique prefix), verified against the node's key."""
        data: dict[str, Any] = self._json(f"/receipts/{event_id}")
        self._check(data)
        return data

    # -- writes ------------------------------------------------------------------------------
    def submit(self, event: SignedEvent) -> tuple[int, dict[str, Any]]:
        """Submit a signed event; return its index and its verified receipt."""
        r = self._request("POST", "/events", content=event.leaf,
                          headers={"content-type": "application/json"})
        try:
            data: dict[str, Any] = r.json()
        except ValueError as e:
            raise MalformedError(f"node {self.url} sent an invalid receipt") from e
        verified = self._check(data)
        if verified.event.id != event.id:
            raise LedgerError(f"node {self.url} sent a receipt for another event")
        return verified.leaf_index, data

    def _check(self, data: Any) -> Any:
        receipt = Receipt.from_json(data)
        verified = verify_receipt(receipt, [self.verifier])
        check_decoded_event(data, verified.event)
        return verified


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


def _one_line(text: str) -> str:
    """A node's text as one printable line of at most ``MAX_MESSAGE_CHARS``: it is shown to
    the user, so it cannot add lines or terminal controls of its own."""
    printable = "".join(c if c.isprintable() else " " for c in text[:4 * MAX_MESSAGE_CHARS])
    line = " ".join(printable.split())
    return line if len(line) <= MAX_MESSAGE_CHARS else line[:MAX_MESSAGE_CHARS - 3] + "..."
