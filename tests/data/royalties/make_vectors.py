"""Write tests/data/royalties/vectors.json: known answers for royalty receipts
(specs/receipts.md section 15).

Run from the repository root: ``python tests/data/royalties/make_vectors.py``. The log is a
``TinyLog`` of tests/data/current/make_vectors.py (deterministic keys, real signed events,
RFC 9162 proofs computed by recursion, the map of ``core/vmap.py``) holding the worked example
of specs/royalties.md section 4 as one block, so every run writes the same bytes. The good
cases are the receipts of that statement for all time, for ``2026-Q1`` and for the co-author
alone; the bad ones are tampered copies of the first, each with a word of the reason a verifier
must give.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
if str(ROOT / "src") not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT / "src"))

from provenance_ledger.core.current import StateReceiptV2  # noqa: E402
from provenance_ledger.core.events import Event, SignedEvent, sign_event  # noqa: E402
from provenance_ledger.core.royalties import Period, Query  # noqa: E402
from provenance_ledger.core.royalty_receipt import RoyaltyReceipt  # noqa: E402
from provenance_ledger.core.timefmt import parse_time  # noqa: E402

OUT = HERE / "vectors.json"
WORK = "sha256:" + hashlib.sha256(b"royalties worked example").hexdigest()


def current_generator() -> ModuleType:
    """tests/data/current/make_vectors.py, whose TinyLog and keys these vectors reuse."""
    name = "current_make_vectors"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE.parent / "current" /
                                                  "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


gen = current_generator()
C, A, B, L = (gen.key(n) for n in ("creator", "coauthor", "editor", "licensee"))


def usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


def story() -> tuple[Any, dict[str, str]]:
    """specs/royalties.md section 4 as one block of a TinyLog."""
    events: list[SignedEvent] = []
    ids: dict[str, str] = {}

    def do(name: str, k: Any, type_: str, body: dict[str, Any], at: str) -> None:
        prev = events[-1].id if events else None
        ev = sign_event(Event(type_, WORK, prev, k.public.text, parse_time(at), body), k)
        events.append(ev)
        ids[name] = ev.id

    do("reg", C, "work.register", {"size": 1, "media_type": "image/png", "payees": [
        {"key": C.public.text, "share_bps": 5000}, {"key": A.public.text, "share_bps": 3333},
        {"key": B.public.text, "share_bps": 1667}]}, "2026-01-01T00:00:00Z")
    do("offer", C, "licence.offer", {"licensee": L.public.text, "purposes": ["ai_training"],
                                     "fee": usd(100000), "royalty_bps": 1250},
       "2026-01-01T00:01:00Z")
    do("accept", L, "licence.accept", {"offer": ids["offer"]}, "2026-01-05T00:00:00Z")
    do("r1", L, "usage.report", {"licence": ids["offer"], "period": "2026-Q1", "units": 1200,
                                 "revenue": usd(1000004)}, "2026-04-02T00:00:00Z")
    do("r2", L, "usage.report", {"licence": ids["offer"], "period": "2026-04", "units": 300,
                                 "revenue": usd(250000)}, "2026-05-03T00:00:00Z")
    for name, payee, amount in (("p1", C, 112500), ("p2", A, 74993), ("p3", B, 37408)):
        do(name, L, "payment.record", {"licence": ids["offer"], "to": payee.public.text,
                                       "amount": usd(amount), "period": "2026-Q1"},
           "2026-05-10T00:00:00Z")
    do("ack1", C, "payment.ack", {"payment": ids["p1"]}, "2026-05-11T00:00:00Z")
    do("dispute2", A, "payment.dispute", {"payment": ids["p2"], "reason": "not received"},
       "2026-05-11T00:00:00Z")
    log = gen.TinyLog()
    log.append_block(events, parse_time("2026-05-11T00:01:00Z"))
    return log, ids


def receipt(log: Any, query: Query) -> dict[str, Any]:
    size = len(log.leaves)
    sr = StateReceiptV2.from_json(log.state_receipt([WORK], size, decoded=False))
    return RoyaltyReceipt(query, sr).to_json()


def cases() -> dict[str, Any]:
    log, ids = story()
    out: list[dict[str, Any]] = []

    def good(name: str, what: str, r: dict[str, Any], totals: list[int]) -> None:
        out.append({"name": name, "what": what, "receipt": r,
                    "expect": {"valid": True, "tree_size": len(log.leaves),
                               "licence_totals": totals}})

    def bad(name: str, what: str, r: dict[str, Any], error: str) -> None:
        out.append({"name": name, "what": what, "receipt": r,
                    "expect": {"valid": False, "error": error}})

    first = receipt(log, Query())
    good("all-time", "the worked example, all time: due, paid, acknowledged, disputed, "
         "outstanding", first, [256251, 224901, 112500, 74993, 106343])
    good("2026-Q1", "the same for 2026-Q1: r2 (2026-04) left out",
         receipt(log, Query(period=Period.parse("2026-Q1"))), [225001, 224901, 112500, 74993,
                                                               75093])
    good("coauthor", "the co-author's line only", receipt(log, Query(payee=A.public.text)),
         [85409, 74993, 0, 74993, 85409])

    def tamper(change: Any) -> dict[str, Any]:
        copy = json.loads(json.dumps(first))
        change(copy)
        return copy

    def payee_line(r: dict[str, Any], key: str) -> dict[str, Any]:
        lines = r["statement"]["licences"][0]["payees"]
        return next(x for x in lines if x["payee"] == key)  # type: ignore[no-any-return]

    bad("figure-edited", "the editor's paid figure raised to what is due",
        tamper(lambda r: payee_line(r, B.public.text).update(paid=42717, outstanding=0)),
        "statement is not what the proven events give")
    bad("cited-event-changed", "the co-author's payment cited as the creator's",
        tamper(lambda r: payee_line(r, A.public.text).update(paid_in=[ids["p1"]])),
        "statement is not what the proven events give")
    bad("period-changed", "the query's period set to 2026-Q1, the all-time statement kept",
        tamper(lambda r: r["query"].update(period="2026-Q1")),
        "statement is not what the proven events give")
    bad("event-left-out", "the dispute left out of the proof, the statement dropped",
        tamper(lambda r: (r.update(statement=None),
                          r["state_receipt"]["works"][0]["events"].pop())),
        "left out")
    bad("scope-edited", "the scope claims the works are all of the licensee's",
        tamper(lambda r: r.update(scope="proves everything the licensee owes")), "scope")
    return {"format": "provenance-ledger/royalty-vectors/v1", "log_key": log.vkey,
            "work": WORK, "events": ids, "cases": out}


def text() -> str:
    return json.dumps(cases(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(text())
    print(f"wrote {OUT}")
