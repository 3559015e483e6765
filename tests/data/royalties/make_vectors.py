"""Write tests/data/royalties/vectors.json: known answers for royalty receipts
(specs/receipts.md section 15).

Run from the repository root: ``python tests/data/royalties/make_vectors.py``. The log is a
``TinyLog`` of tests/data/current/make_vectors.py (deterministic keys, real signed events,
RFC 9162 proofs computed by recursion, the map of ``core/vmap.py``) holding the worked example
of specs/royalties.md section 4 as one block, so every run writes the same bytes. The good
cases are the receipts of that statement for all time, for ``2026-Q1`` and for the co-author
alone; the bad ones are tampered copies of the first, each with a word of the reason a verifier
must give.

Receipts v1 carry statement version 1 (specs/royalties.md section 3.3), receipts v3 version 2
(outstanding and overpaid, never netted; specs/receipts.md section 15.4). A second log holds
the two-payee transfer of specs/royalties.md section 3.4. The figures each case expects are
computed here, by :func:`expected`, from the dues and payments of the story written out by hand
(the royalty and the split in this file's own arithmetic), not by ``src/``.
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
from provenance_ledger.core.identity import key_record_id  # noqa: E402
from provenance_ledger.core.royalties import Period, Query  # noqa: E402
from provenance_ledger.core.royalty_receipt import RoyaltyReceipt  # noqa: E402
from provenance_ledger.core.timefmt import parse_time  # noqa: E402

OUT = HERE / "vectors.json"
WORK = "sha256:" + hashlib.sha256(b"royalties worked example").hexdigest()
W1 = "sha256:" + hashlib.sha256(b"royalties transfer, licence 1").hexdigest()
W2 = "sha256:" + hashlib.sha256(b"royalties transfer, licence 2").hexdigest()
FIGURES_V1 = ("due", "paid", "acknowledged", "disputed", "outstanding")
FIGURES_V2 = (*FIGURES_V1, "overpaid")


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
P = gen.key("publisher")


def jpy(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "JPY"}


def expected(licences: list[list[tuple[str, int, int, int, int]]], version: int
             ) -> dict[str, Any]:
    """What a statement says, computed from each licence's payee lines ``(payee, due, paid,
    acknowledged, disputed)`` by specs/royalties.md section 3 (version 2: outstanding and
    overpaid per line, never negative, summed without netting) or section 3.3 (version 1:
    outstanding = due - paid + disputed, summed). Licence figures in order; totals per payee
    (the licences here are all in one currency)."""
    def line(payee: str, due: int, paid: int, ack: int, disputed: int) -> dict[str, int]:
        net = due - paid + disputed
        row = {"due": due, "paid": paid, "acknowledged": ack, "disputed": disputed}
        if version == 1:
            return {**row, "outstanding": net}
        return {**row, "outstanding": max(0, net), "overpaid": max(0, -net)}
    names = FIGURES_V2 if version == 2 else FIGURES_V1
    out: list[list[int]] = []
    totals: dict[str, list[int]] = {}
    for lic in licences:
        rows = [(x[0], line(*x)) for x in lic]
        out.append([sum(r[f] for _, r in rows) for f in names])
        for payee, r in rows:
            t = totals.setdefault(payee, [0] * len(names))
            for n, f in enumerate(names):
                t[n] += r[f]
    return {"statement_version": version, "licences": out,
            "totals": {k: totals[k] for k in sorted(totals)}}


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


def transfer_story() -> tuple[Any, dict[str, str]]:
    """specs/royalties.md section 3.4 as one block: W1 licensed for a fee of 3,000 JPY and 10 %,
    the creator paid 3,100 JPY, W1 transferred to the publisher, a report of 50,000 JPY;
    W2 licensed for 2,000 JPY, not paid."""
    events: list[SignedEvent] = []
    ids: dict[str, str] = {}
    heads: dict[str, str] = {}

    def do(name: str, work: str, k: Any, type_: str, body: dict[str, Any], at: str) -> None:
        ev = sign_event(Event(type_, work, heads.get(work), k.public.text, parse_time(at), body),
                        k)
        events.append(ev)
        ids[name] = heads[work] = ev.id

    for n, work, fee in ((1, W1, 3000), (2, W2, 2000)):
        do(f"reg{n}", work, C, "work.register", {"size": 1, "media_type": "image/png"},
           "2026-01-01T00:00:00Z")
        do(f"offer{n}", work, C, "licence.offer", {
            "licensee": L.public.text, "purposes": ["ai_training"], "fee": jpy(fee),
            "royalty_bps": 1000}, "2026-01-01T00:01:00Z")
        do(f"accept{n}", work, L, "licence.accept", {"offer": ids[f"offer{n}"]},
           "2026-01-05T00:00:00Z")
    do("pay", W1, L, "payment.record", {"licence": ids["offer1"], "to": C.public.text,
                                         "amount": jpy(3100)}, "2026-02-01T00:00:00Z")
    do("transfer", W1, C, "work.transfer", {"to": P.public.text, "payees": [
        {"key": P.public.text, "share_bps": 10000}]}, "2026-03-01T00:00:00Z")
    do("report", W1, L, "usage.report", {"licence": ids["offer1"], "period": "2026-Q1",
                                          "units": 10, "revenue": jpy(50000)},
       "2026-04-02T00:00:00Z")
    log = gen.TinyLog()
    log.append_block(events, parse_time("2026-04-02T00:01:00Z"))
    return log, ids


def receipt(log: Any, query: Query, works: list[str] | None = None,
            version: int = 1) -> dict[str, Any]:
    """A royalty receipt of ``works``; a v3 lists after them the key record of every key
    involved (none has one here: each is proven absent)."""
    size = len(log.leaves)
    works = works or [WORK]
    listed = list(works)
    if version >= 2:
        listed += [key_record_id(k.public.text) for k in sorted((A, B, C, L, P),
                                                                 key=lambda k: k.public.text)]
    sr = StateReceiptV2.from_json(log.state_receipt(listed, size, decoded=False))
    return RoyaltyReceipt(query, sr, version).to_json()


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
    # the worked example as a v3 (statement version 2): no one was paid beyond what is due
    worked = [[(C.public.text, 128125, 112500, 112500, 0), (A.public.text, 85409, 74993, 0,
                                                              74993),
               (B.public.text, 42717, 37408, 0, 0)]]
    v3 = receipt(log, Query(), version=3)
    out.append({"name": "v3-all-time", "what": "the worked example, all time, in a receipt v3: "
                "statement version 2, every overpaid 0", "receipt": v3,
                "expect": {"valid": True, "tree_size": len(log.leaves),
                           **expected(worked, 2)}})

    # specs/royalties.md section 3.4: the dues and payments by hand (fee split to the only
    # payee; royalty of 50,000 JPY at 1000 bps, halves up, to the publisher after the transfer)
    t_log, t_ids = transfer_story()
    royalty = (50000 * 1000 + 5000) // 10000
    transfer = [[(C.public.text, 3000, 3100, 0, 0), (P.public.text, royalty, 0, 0, 0)],
                [(C.public.text, 2000, 0, 0, 0)]]
    by_licensee = Query(licensee=L.public.text)
    t3 = receipt(t_log, by_licensee, [W1, W2], version=3)
    for name, what, r, version in (
            ("transfer-v3", "two payees after a transfer, two licences, in a receipt v3: "
             "outstanding and overpaid never netted", t3, 2),
            ("transfer-v1", "the same in a receipt v1: statement version 1 nets the creator's "
             "overpayment against the publisher's due", receipt(t_log, by_licensee, [W1, W2]),
             1)):
        out.append({"name": name, "what": what, "receipt": r,
                    "expect": {"valid": True, "tree_size": len(t_log.leaves),
                               **expected(transfer, version)}})

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

    def netted(r: dict[str, Any]) -> None:
        """The v3's statement replaced by what version 1 says of the same events."""
        old = receipt(t_log, by_licensee, [W1, W2])["statement"]
        r.update(statement=old)

    first = t3
    bad("v3-netted", "a receipt v3 whose statement nets the overpayment (version 1)",
        tamper(netted), "statement is not what the proven events give")
    bad("v3-overpaid-dropped", "a receipt v3 whose licence says no overpaid",
        tamper(lambda r: r["statement"]["licences"][0].update(overpaid=0)),
        "statement is not what the proven events give")
    first = receipt(t_log, by_licensee, [W1, W2])
    bad("v1-relabelled-v3", "a receipt v1 relabelled v3: no key record listed",
        tamper(lambda r: r.update(format="provenance-ledger/royalty-receipt/v3",
                                  statement=None)), "does not list the key record")
    return {"format": "provenance-ledger/royalty-vectors/v1", "log_key": log.vkey,
            "work": WORK, "events": ids, "transfer": {"works": [W1, W2], "events": t_ids},
            "cases": out}


def text() -> str:
    return json.dumps(cases(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(text())
    print(f"wrote {OUT}")
