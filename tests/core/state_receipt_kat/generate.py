"""Regenerate the state-receipt known-answer files beside this script (specs/receipts.md 5.1).

    .venv/bin/python tests/core/state_receipt_kat/generate.py

Keys come from fixed seeds and Ed25519 is deterministic, so a run writes the same bytes every
time; a change to any of them is a change of format. ``state.json`` is written from the
replayed state and was checked by hand against specs/receipts.md section 5.1 and specs/rules.md
(effective payees after a transfer that clears the split, a revoked grant, a licence terminated
before its start, an accepted licence in force).
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.core.note import NoteSigner, Verifier
from provenance_ledger.core.receipt import StateReceipt, verify_state_receipt
from provenance_ledger.core.timefmt import format_time
from provenance_ledger.ledger import Ledger
from provenance_ledger.store import SqliteStore

HERE = Path(__file__).resolve().parent
ORIGIN = "kat.example/state-receipt"
T0 = 1761987600  # 2025-11-01T09:00:00Z
DAY = 86_400


def key(name: str) -> PrivateKey:
    return PrivateKey.from_seed(hashlib.sha256(b"state receipt kat " + name.encode()).digest())


CREATOR, PUBLISHER, DEVELOPER = key("creator"), key("publisher"), key("developer")
LOG = NoteSigner(ORIGIN, key("log"))
WORK = work_id_of(hashlib.sha256(b"Harbour at Dawn, page 1").hexdigest())
OTHER = work_id_of(hashlib.sha256(b"another work in the same log").hexdigest())


def build(ledger: Ledger) -> None:
    heads: dict[str, str | None] = {WORK: None, OTHER: None}

    def add(by: PrivateKey, type_: str, body: dict[str, Any], at: int,
            work: str = WORK) -> SignedEvent:
        ev = sign_event(Event(type_, work, heads[work], by.public.text, at, body), by)
        (result,) = ledger.append_block([ev.leaf], at)
        if isinstance(result, Exception):
            raise result
        heads[work] = ev.id
        return ev

    add(CREATOR, "work.register", {
        "size": 19, "media_type": "image/png", "title": "第1話 p.12",
        "payees": [{"key": CREATOR.public.text, "share_bps": 7_000},
                   {"key": PUBLISHER.public.text, "share_bps": 3_000}]}, T0)
    add(PUBLISHER, "work.register", {"size": 7, "media_type": "text/plain"}, T0 + 30, OTHER)
    grant = add(CREATOR, "consent.grant", {
        "grantee": "*", "purposes": ["ai_inference"], "until": format_time(T0 + 365 * DAY),
        "conditions": ["attribution"]}, T0 + 60)
    offer = add(CREATOR, "licence.offer", {
        "licensee": DEVELOPER.public.text, "purposes": ["ai_training"],
        "fee": {"amount": 500_000, "currency": "JPY"}, "royalty_bps": 250,
        "territories": ["JP", "US"], "from": format_time(T0 + DAY),
        "until": format_time(T0 + 365 * DAY), "terms_uri": "https://kat.example/terms/v1",
        "offer_expires": format_time(T0 + 7 * DAY)}, T0 + 120)
    add(DEVELOPER, "licence.accept", {"offer": offer.id}, T0 + 180)
    add(CREATOR, "licence.terminate", {"licence": offer.id, "reason": "advance not paid"},
        T0 + 240)
    second = add(CREATOR, "licence.offer", {"licensee": DEVELOPER.public.text,
                                             "purposes": ["data_mining"]}, T0 + 300)
    add(DEVELOPER, "licence.accept", {"offer": second.id}, T0 + 360)
    add(CREATOR, "consent.revoke", {"grant": grant.id}, T0 + 420)
    add(CREATOR, "work.transfer", {"to": PUBLISHER.public.text}, T0 + 480)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(SqliteStore(Path(tmp) / "kat.db"), LOG)
        try:
            build(ledger)
            receipt: StateReceipt = ledger.state_receipt(WORK)
        finally:
            ledger.close()
    verified = verify_state_receipt(receipt, [Verifier.from_vkey(LOG.verifier.to_vkey())])
    state = verified.state.to_json()
    files = {
        "log.vkey": LOG.verifier.to_vkey() + "\n",
        "state-receipt.json": json.dumps(receipt.to_json(state), indent=2, ensure_ascii=False)
        + "\n",
        "state.json": json.dumps(state, indent=2, ensure_ascii=False) + "\n",
    }
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote {HERE / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
