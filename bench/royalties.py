#!/usr/bin/env python3
"""Benchmark of royalty statements (specs/royalties.md; see bench/README.md).

    python bench/royalties.py [--works W] [--reports R] [--rounds N] [--home DIR]

1. **A ledger.** ``--works`` works (default 100), each shared by three payees, each with one
   licence (a fee and a royalty) to the same licensee, accepted; then ``--reports`` usage
   reports per work (default 1,000: 10^5 in all) and a payment after every 100th report.
   Signed here with deterministic keys and appended in blocks of 10,000 through the real
   append path (signatures, rules, tree, map). ``--home DIR`` builds it there (kept) or reuses
   it.
2. **The statement** of the licensee's licences, in this process, as ``provenance royalties
   --licensee KEY`` computes it: the works found through the store's index, one snapshot of
   the map and every event of those works (``Ledger.current``), each leaf parsed, the events
   replayed by the rules and the statement computed (``core/royalties.statement``).
3. **Baseline**, interleaved with 2 in each round: the same reads, parsing and replay by the
   rules without the statement. ``statement_ratio`` = statement seconds / baseline seconds:
   what the statement's arithmetic and bookkeeping add to replaying the same events.
4. **Through the CLI**: ``provenance royalties --licensee KEY --json`` (start-up and JSON
   output included); then ``royalties --work W --receipt FILE`` of one work (inclusion proofs
   of each of its events) and ``provenance verify`` of that receipt (every signature checked
   again).

Figures are medians over the rounds with their min and max; the load average is printed.
This file is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, parse_leaf, sign_event
from provenance_ledger.core.royalties import Query, statement
from provenance_ledger.core.rules import WorkState, apply
from provenance_ledger.ledger import Home, Ledger
from provenance_ledger.ledger.listing import _pages

perf = time.perf_counter
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: every event's time, and the ledger's clock
BLOCK = 10_000
EXE = Path(sys.executable).parent / "provenance"


def key(name: str) -> PrivateKey:
    return PrivateKey.from_seed(hashlib.sha256(b"bench royalties " + name.encode()).digest())


CREATOR, COAUTHOR, EDITOR, LICENSEE = (key(n) for n in ("creator", "coauthor", "editor",
                                                        "licensee"))


def build(ledger: Ledger, works: int, reports: int) -> int:
    """Append the story of the module docstring; returns the number of usage reports."""
    pending: list[bytes] = []

    def flush() -> None:
        for r in ledger.append_block(pending, T0):
            if isinstance(r, Exception):
                raise r
        pending.clear()

    def add(ev: SignedEvent) -> str:
        pending.append(ev.leaf)
        if len(pending) == BLOCK:
            flush()
        return ev.id

    def ev(k: PrivateKey, type_: str, work: str, prev: str | None,
           body: dict[str, Any]) -> SignedEvent:
        return sign_event(Event(type_, work, prev, k.public.text, T0, body), k)

    payees = [{"key": CREATOR.public.text, "share_bps": 5000},
              {"key": COAUTHOR.public.text, "share_bps": 3333},
              {"key": EDITOR.public.text, "share_bps": 1667}]
    for w in range(works):
        work = "sha256:" + hashlib.sha256(f"bench royalties work {w}".encode()).hexdigest()
        head = add(ev(CREATOR, "work.register", work, None,
                      {"size": 1, "media_type": "image/png", "payees": payees}))
        offer = head = add(ev(CREATOR, "licence.offer", work, head, {
            "licensee": LICENSEE.public.text, "purposes": ["ai_training"],
            "fee": {"amount": 100_000, "currency": "EUR"}, "royalty_bps": 1250}))
        head = add(ev(LICENSEE, "licence.accept", work, head, {"offer": offer}))
        for r in range(reports):
            head = add(ev(LICENSEE, "usage.report", work, head, {
                "licence": offer, "period": f"2026-{r % 12 + 1:02d}", "units": 100 + r,
                "revenue": {"amount": 100_003 + 7 * r, "currency": "EUR"}}))
            if r % 100 == 99:
                head = add(ev(LICENSEE, "payment.record", work, head, {
                    "licence": offer, "to": COAUTHOR.public.text,
                    "amount": {"amount": 4_000, "currency": "EUR"}}))
        sys.stderr.write(f"\r  work {w + 1}/{works}")
    flush()
    sys.stderr.write("\n")
    return works * reports


def read_events(ledger: Ledger) -> list[list[SignedEvent]]:
    """What ``royalties --licensee`` reads: the works, one snapshot, every leaf parsed."""
    works = list(dict.fromkeys(r.work for r in _pages(ledger, "party", LICENSEE.public.text,
                                                      ("licence.offer",), -1)))
    current = ledger.current(works)
    assert current is not None
    return [[parse_leaf(leaf, verify=False) for _, leaf, _ in current.works[w]] for w in works]


def with_statement(ledger: Ledger) -> Any:
    return statement(read_events(ledger), Query(licensee=LICENSEE.public.text))


def replay_only(ledger: Ledger) -> Any:
    states: list[WorkState | None] = []
    for events in read_events(ledger):
        state: WorkState | None = None
        for e in events:
            state = apply(state, e)
        states.append(state)
    return states


def timed(fn: Callable[[], Any]) -> float:
    t = perf()
    fn()
    return perf() - t


def cli(home: Path, *args: str) -> float:
    env = {**os.environ, "PROVENANCE_HOME": str(home)}
    t = perf()
    subprocess.run([str(EXE), *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return perf() - t


def med(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--works", type=int, default=100)
    ap.add_argument("--reports", type=int, default=1000, help="usage reports per work")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--home", type=Path, default=None)
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-royalties-")) / "home"
    h = Home(home)
    fresh = not h.db_path.exists()
    ledger = h.open_ledger()
    if fresh:
        t = perf()
        n = build(ledger, args.works, args.reports)
        print(f"built {n} usage reports on {args.works} works in {perf() - t:.1f} s "
              f"({ledger.size} entries) at {home}")
    doc = with_statement(ledger).to_json()
    reports = sum(len(x["reports"]) for x in doc["licences"])
    print(f"statement: {len(doc['licences'])} licences, {reports} usage reports; "
          f"load average {os.getloadavg()[0]:.1f}")
    stmt, base = [], []
    for n in range(args.rounds):  # interleaved, and in turn first, against drift
        if n % 2:
            stmt.append(timed(lambda: with_statement(ledger)))
        base.append(timed(lambda: replay_only(ledger)))
        if not n % 2:
            stmt.append(timed(lambda: with_statement(ledger)))
    ratios = [s / b for s, b in zip(stmt, base, strict=True)]
    print(f"statement over {reports} usage reports (library): {med(stmt)}")
    print(f"baseline, the same events read and replayed without it: {med(base)}")
    print(f"statement_ratio: {statistics.median(ratios):.2f} ({min(ratios):.2f}-"
          f"{max(ratios):.2f})")
    ledger.close()
    key_text = LICENSEE.public.text
    out = home.parent / "royalties.receipt.json"
    plain = [cli(home, "royalties", "--licensee", key_text, "--json")
             for _ in range(args.rounds)]
    print(f"provenance royalties --licensee KEY --json: {med(plain)}")
    # One work's receipt: a receipt of every work would pass the 64 MiB a verifier reads
    # (specs/receipts.md section 8) at about 1.5 KB per proven event.
    one = doc["licences"][0]["work"]
    made = [cli(home, "royalties", "--work", one, "--json", "--receipt", str(out))
            for _ in range(args.rounds)]
    size = out.stat().st_size
    print(f"provenance royalties --work W --receipt FILE (one work, {args.reports} reports): "
          f"{med(made)}, {size / 1e6:.2f} MB")
    vkey = subprocess.run([str(EXE), "log", "key"], env={**os.environ,
                          "PROVENANCE_HOME": str(home)}, check=True, capture_output=True,
                          text=True).stdout.strip()
    checked = [cli(home, "verify", str(out), "--log-key", vkey) for _ in range(args.rounds)]
    print(f"provenance verify of that receipt: {med(checked)}")
    print(json.dumps({"reports": reports, "statement_s": statistics.median(stmt),
                      "baseline_s": statistics.median(base),
                      "statement_ratio": statistics.median(ratios),
                      "cli_s": statistics.median(plain), "receipt_s": statistics.median(made),
                      "receipt_bytes": size, "verify_s": statistics.median(checked)}))


if __name__ == "__main__":
    main()
