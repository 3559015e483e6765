"""A usage report or a payment for a period that has not begun is refused at admission, by the
ledger and so by a node, whoever signed and sent it (specs/rules.md section 4, specs/royalties.md
section 5): the CLI's own check is not the only one. Admission runs only when a write is
submitted, never on replay or mirroring, so a log that already holds such an event stays valid.

A real node server on 127.0.0.1 (its clock the fixed ``NOW``, 2026-01-01T00:00:00Z), events
signed here and sent over HTTP as any client could, bypassing the CLI; real ledgers on disk.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

import provenance_ledger.ledger.ledger as ledger_module
from provenance_ledger.core.events import SignedEvent
from provenance_ledger.core.timefmt import parse_time
from provenance_ledger.errors import RuleError
from provenance_ledger.ledger import Home, Ledger, audit
from provenance_ledger.store import SqliteStore

from ..conftest import NOW, KeyFactory, Signer
from .conftest import register, running, work

OCTETS = {"content-type": "application/octet-stream"}
SPEC = Path(__file__).resolve().parents[2] / "specs" / "rules.md"
NAME = "a licensed picture"
WORK = work(NAME)


def usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


class Chain:
    """The licensed work's events, each built on the one before (as the log accepts them)."""

    def __init__(self, sign: Signer, keys: KeyFactory) -> None:
        self.sign, self.creator, self.studio = sign, keys("creator"), keys("studio")
        self.head = ""
        self.offer = ""

    def start(self) -> list[SignedEvent]:
        """Register the work, offer a licence to the studio, the studio accepts it."""
        reg = register(self.sign, self.creator, NAME)
        offer = self.sign(self.creator, "licence.offer", WORK,
                          {"licensee": self.studio.public.text, "purposes": ["ai_training"],
                           "fee": usd(100000), "royalty_bps": 1250}, prev=reg.id)
        accept = self.sign(self.studio, "licence.accept", WORK, {"offer": offer.id},
                           prev=offer.id)
        self.head, self.offer = accept.id, offer.id
        return [reg, offer, accept]

    def usage(self, period: str, at: int = NOW) -> SignedEvent:
        return self.sign(self.studio, "usage.report", WORK,
                         {"licence": self.offer, "period": period, "units": 10,
                          "revenue": usd(5000)}, prev=self.head, at=at)

    def payment(self, period: str | None, at: int = NOW) -> SignedEvent:
        body: dict[str, Any] = {"licence": self.offer, "to": self.creator.public.text,
                                "amount": usd(1000)}
        if period is not None:
            body["period"] = period
        return self.sign(self.studio, "payment.record", WORK, body, prev=self.head, at=at)

    def logged(self, ev: SignedEvent) -> None:
        self.head = ev.id


def not_begun(period: str, starts: str, clock: str, usage: bool) -> str:
    why = ("usage is reported after the fact" if usage
           else "a payment is recorded for a period that has begun")
    return f"period {period} has not begun (it starts {starts}; the ledger clock is {clock}): {why}"


# -- a node refuses them, over HTTP -------------------------------------------------------------


def _size(http: httpx.Client) -> int:
    return int(http.get("/checkpoint").text.split("\n")[1])


def _events(http: httpx.Client) -> int:
    r = http.get(f"/works/{WORK}")
    assert r.status_code == 200, r.text
    return int(r.json()["state"]["events"])


def test_a_node_refuses_a_report_or_payment_for_a_period_to_come(
        node_home: Path, sign: Signer, keys: KeyFactory) -> None:
    chain = Chain(sign, keys)
    with running(node_home) as n, n.client() as http:
        for ev in chain.start():
            assert http.post("/events", content=ev.leaf, headers=OCTETS).status_code == 200
        size, events = _size(http), _events(http)
        for ev, message in (
                (chain.usage("2999"),
                 not_begun("2999", "2999-01-01", "2026-01-01T00:00:00Z", usage=True)),
                (chain.payment("2999-Q2"),
                 not_begun("2999-Q2", "2999-04-01", "2026-01-01T00:00:00Z", usage=False)),
                (chain.usage("2026-02"),  # next month: not begun either
                 not_begun("2026-02", "2026-02-01", "2026-01-01T00:00:00Z", usage=True))):
            r = http.post("/events", content=ev.leaf, headers=OCTETS)
            assert (r.status_code, r.json()) == (422, {"error": message})
            assert http.get(f"/receipts/{ev.id}").status_code == 404
        assert (_size(http), _events(http)) == (size, events)  # nothing appended

        # A period that has begun (2026 starts at the node's clock; 2025-Q4 is over) is
        # accepted, and so is a payment that names no period.
        for make in (lambda: chain.usage("2026"), lambda: chain.usage("2025-Q4"),
                     lambda: chain.payment(None), lambda: chain.payment("2026-01")):
            ev = make()  # built on the head, which the refused events did not move
            r = http.post("/events", content=ev.leaf, headers=OCTETS)
            assert r.status_code == 200, r.text
            assert r.json()["leaf_index"] == size
            chain.logged(ev)
            size += 1
        assert (_size(http), _events(http)) == (size, events + 4)


def test_a_batch_refuses_the_event_for_a_period_to_come_and_keeps_the_others(
        node_home: Path, sign: Signer, keys: KeyFactory) -> None:
    chain = Chain(sign, keys)
    with running(node_home) as n, n.client() as http:
        first = chain.start()
        future = chain.usage("2999-09")
        current = chain.payment("2026")  # built on the same head: the refused line is not in
        lines = [ev.leaf for ev in first] + [future.leaf, current.leaf]
        r = http.post("/events/batch", content=b"\n".join(lines) + b"\n", headers=OCTETS)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["status"] for x in results] == [200, 200, 200, 422, 200]
        assert [x["id"] for x in results] == [ev.id for ev in (*first, future, current)]
        assert results[3]["error"] == not_begun("2999-09", "2999-09-01", "2026-01-01T00:00:00Z",
                                                usage=True)
        assert "receipt" not in results[3]
        assert [x["receipt"]["leaf_index"] for x in results if x["status"] == 200] == [
            0, 1, 2, 3]
        assert (_size(http), _events(http)) == (4, 4)
        assert http.get(f"/works/{WORK}").json()["state"]["head"] == current.id


# -- the ledger: the skew, and logs that already hold such events ---------------------------------


def spec_known_answers() -> list[tuple[str, str, str, str]]:
    """specs/rules.md section 4's known answers: (now, type, period, admission)."""
    section = SPEC.read_text("utf-8").split("## 4. Admission window")[1].split("\n## ")[0]
    rows = re.findall(r"^\| (\S+Z) \| `([a-z.]+)` \| (`[^`]+`|none) \| (.+) \|$", section,
                      re.M)
    assert len(rows) == 6, rows
    return [(now, type_, period.strip("`"), answer) for now, type_, period, answer in rows]


@pytest.mark.parametrize(("now", "type_", "period", "answer"), spec_known_answers())
def test_the_ledger_admits_as_the_spec_known_answers_say(
        tmp_path: Path, sign: Signer, keys: KeyFactory,
        now: str, type_: str, period: str, answer: str) -> None:
    chain = Chain(sign, keys)
    chain.offer = chain.head = "ab" * 32  # admission looks at the period, not the licence
    at = parse_time(now)
    ev = (chain.usage(period, at=at) if type_ == "usage.report"
          else chain.payment(None if period == "none" else period, at=at))
    ledger = Home(tmp_path / "home").open_ledger()
    try:
        if answer.startswith("admitted"):
            ledger.admit(ev, at)
        else:
            with pytest.raises(RuleError) as refused:
                ledger.admit(ev, at)
            assert f"`{refused.value}`" == answer
    finally:
        ledger.close()


def test_a_log_already_holding_a_period_to_come_replays_audits_and_is_mirrored(
        tmp_path: Path, sign: Signer, keys: KeyFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A log written before this admission policy (or by another implementation) holds a
    report and a payment for 2999: it replays and audits as before, it takes further writes,
    and a mirror integrates it (admission is not part of replay or mirroring)."""
    chain = Chain(sign, keys)
    home = Home(tmp_path / "old")
    with monkeypatch.context() as m:  # the ledger as it was before the policy
        m.setattr(ledger_module, "admit_period", lambda *_: None)
        old = home.open_ledger(origin="old.test/log")
        logged = [*chain.start()]
        for ev in logged:
            old.append(ev.leaf, NOW)
            chain.logged(ev)
        for make in (lambda: chain.usage("2999"), lambda: chain.payment("2999-Q2")):
            ev = make()
            old.append(ev.leaf, NOW)
            chain.logged(ev)
            logged.append(ev)
        old.close()

    reopened = home.open_ledger(origin="old.test/log")  # the ledger as it is now
    try:
        state = reopened.state(WORK)
        assert state is not None and (state.events, state.head) == (5, chain.head)
        assert len(state.accounts.payments) == 1
        assert audit(reopened).entries == 5
        # It takes further writes; another report for a period to come is refused now.
        with pytest.raises(RuleError, match=r"^period 3000 has not begun"):
            reopened.append(chain.usage("3000").leaf, NOW)
        now_report = chain.usage("2025-12")
        assert reopened.append(now_report.leaf, NOW).index == 5
        logged.append(now_report)
        cp, note = reopened.latest_checkpoint()
        mirror = Ledger(SqliteStore(tmp_path / "mirror.db"), None, verifier=reopened.verifier)
        try:
            mirror.mirror_block([ev.leaf for ev in logged], cp, note, NOW)
            assert mirror.latest_checkpoint() == (cp, note)
            assert audit(mirror).entries == 6
            mirrored = mirror.state(WORK)
            assert mirrored is not None and mirrored.head == now_report.id
        finally:
            mirror.close()
    finally:
        reopened.close()

