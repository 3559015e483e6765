"""Royalty statements: what each licence owes, to whom, what was paid and what is outstanding.

specs/royalties.md. Amounts are integers in a currency's minor units (specs/events.md section
6, ``fee``). What falls due on an accepted licence (section 2):

- its fixed fee, at its acceptance, split among the work's effective payees at that moment;
- for each ``usage.report``, ``royalty(revenue, royalty_bps)`` (halves rounded up), split among
  the work's effective payees when the report is logged.

Every split is :func:`split` (largest remainder, ties by payee key), so the parts of an amount
always add up to it. A statement is computed by replaying a work's events (the rules' own
:func:`rules.apply` gives the payees and terms in force at each event), so the same function
serves the ledger, the CLI and the offline verifier of a royalty receipt. Pure: no I/O.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import MalformedError, quoted
from . import payments
from .events import BASIS_POINTS, PERIOD_PATTERN, SignedEvent
from .identity import is_key_record_id
from .keystate import KeyLookup, counts, final_holder, signer_role
from .rules import WorkState, apply

ACCEPT = "licence.accept"


# --- amounts -----------------------------------------------------------------------------------


def royalty(revenue: int, royalty_bps: int) -> int:
    """``revenue * royalty_bps / 10000`` rounded to the nearest minor unit, halves up
    (section 2.1). Exact integer arithmetic: no floating point anywhere."""
    if revenue < 0 or not 0 <= royalty_bps <= BASIS_POINTS:
        raise ValueError("revenue must be >= 0 and royalty_bps 0 to 10000")
    return (revenue * royalty_bps + BASIS_POINTS // 2) // BASIS_POINTS


def split(total: int, shares: Sequence[tuple[str, int]]) -> dict[str, int]:
    """``total`` minor units split by ``shares`` (key, basis points; they sum to 10000) by the
    largest remainder method (section 2.2): each key gets ``floor(total * share / 10000)``;
    the units left over (fewer than the number of keys) go one each to the keys with the
    largest remainders ``total * share mod 10000``, ties broken by key in ascending order.
    The parts always add up to ``total``; a share of 0 gets 0."""
    if total < 0:
        raise ValueError("a total to split must be >= 0")
    if sum(s for _, s in shares) != BASIS_POINTS or len({k for k, _ in shares}) != len(shares):
        raise ValueError("shares must name distinct keys and add up to 10000 basis points")
    parts = {k: total * s // BASIS_POINTS for k, s in shares}
    left = total - sum(parts.values())
    by_remainder = sorted(shares, key=lambda ks: (-(total * ks[1] % BASIS_POINTS), ks[0]))
    for k, _ in by_remainder[:left]:
        parts[k] += 1
    return parts


# --- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A reporting period (specs/events.md section 6.9): ``2026``, ``2026-Q3`` or ``2026-09``,
    the UTC calendar interval ``[start, end)`` in seconds."""

    start: int
    end: int
    text: str = field(compare=False)

    @classmethod
    def parse(cls, text: str, what: str = "period") -> Period:
        if not isinstance(text, str) or not PERIOD_PATTERN.fullmatch(text):
            raise MalformedError(f"{what} {quoted(text, 42)} is not a period: a year "
                                 "(2026), a quarter (2026-Q3) or a month (2026-09)")
        year = int(text[:4])
        if len(text) == 4:
            first, months = 1, 12
        elif text[5] == "Q":
            first, months = 3 * int(text[6]) - 2, 3
        else:
            first, months = int(text[5:]), 1
        last = first + months  # the month after, possibly in the next year
        end_year, end_month = (year, last) if last <= 12 else (year + 1, last - 12)
        start = calendar.timegm((year, first, 1, 0, 0, 0))
        end = calendar.timegm((end_year, end_month, 1, 0, 0, 0))
        return cls(start, end, text)

    def within(self, other: Period) -> bool:
        """This period lies wholly inside ``other`` (``2026-09`` is within ``2026-Q3``)."""
        return other.start <= self.start and self.end <= other.end

    def holds(self, t: int) -> bool:
        return self.start <= t < self.end


# --- statements --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    """Which licences a statement covers: those of ``works`` (None: every work given), of
    ``licensee``, owing ``payee`` (its lines only), and ``period`` (None: all time)."""

    licensee: str | None = None
    payee: str | None = None
    period: Period | None = None

    def to_json(self) -> dict[str, Any]:
        return {"licensee": self.licensee, "payee": self.payee,
                "period": self.period.text if self.period is not None else None}


FIGURES = ("due", "paid", "acknowledged", "disputed", "outstanding")


@dataclass(slots=True)
class Line:
    """One payee's figures on one licence, with the events each comes from."""

    payee: str
    due: int = 0
    paid: int = 0
    acknowledged: int = 0
    disputed: int = 0
    due_from: list[str] = field(default_factory=list)
    paid_in: list[str] = field(default_factory=list)
    answered_in: list[str] = field(default_factory=list)

    @property
    def outstanding(self) -> int:
        """Due less what was paid and not disputed (negative: paid more than due)."""
        return self.due - self.paid + self.disputed

    def to_json(self) -> dict[str, Any]:
        return {"payee": self.payee, "due": self.due, "paid": self.paid,
                "acknowledged": self.acknowledged, "disputed": self.disputed,
                "outstanding": self.outstanding, "due_from": list(self.due_from),
                "paid_in": list(self.paid_in), "answered_in": list(self.answered_in)}


@dataclass(slots=True)
class LicenceStatement:
    """One licence's figures: totals and a line per payee (in key order)."""

    licence: str
    work: str
    licensee: str
    currency: str | None
    accepted_by: str
    lines: dict[str, Line] = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)
    units: int = 0
    revenue: int = 0
    amounts: dict[str, int] = field(default_factory=dict)  # payment id -> amount

    def line(self, payee: str) -> Line:
        if payee not in self.lines:
            self.lines[payee] = Line(payee)
        return self.lines[payee]

    def total(self, figure: str) -> int:
        return sum(getattr(x, figure) for x in self.lines.values())

    def to_json(self) -> dict[str, Any]:
        return {"licence": self.licence, "work": self.work, "licensee": self.licensee,
                "currency": self.currency, "accepted_by": self.accepted_by,
                "units": self.units, "revenue": self.revenue, "reports": list(self.reports),
                **{f: self.total(f) for f in FIGURES},
                "payees": [self.lines[k].to_json() for k in sorted(self.lines)]}


@dataclass(frozen=True, slots=True)
class Statement:
    """A royalty statement: the query and each licence it covers, in log order."""

    query: Query
    licences: tuple[LicenceStatement, ...]

    def totals(self) -> list[dict[str, Any]]:
        """Per payee and currency, the figures summed over the licences (key, then currency
        order)."""
        sums: dict[tuple[str, str], dict[str, int]] = {}
        for lic in self.licences:
            for line in lic.lines.values():
                row = sums.setdefault((line.payee, lic.currency or ""), dict.fromkeys(FIGURES, 0))
                for f in FIGURES:
                    row[f] += getattr(line, f)
        return [{"payee": k, "currency": c or None, **row}
                for (k, c), row in sorted(sums.items())]

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query.to_json(),
                "licences": [x.to_json() for x in self.licences],
                "totals": self.totals()}


def _in_period(q: Query, period_text: str | None, at: int) -> bool:
    """Whether an amount with this period (else logged at ``at``) counts in ``q.period``."""
    if q.period is None:
        return True
    if period_text is not None:
        return Period.parse(period_text).within(q.period)
    return q.period.holds(at)


def statement(works: Iterable[Sequence[SignedEvent]], query: Query,
              keys: KeyLookup | None = None) -> Statement:
    """The royalty statement of the licences of ``works`` (each work's events from its
    registration on, in log order, as the log holds them) that ``query`` selects
    (specs/royalties.md section 3). The events are replayed with the rules; a refusal raises
    as replay does. With ``keys`` (the key records, specs/rules.md section 9) only the events
    that count are replayed (R22: up to the first that does not), and each licensee and payee
    is named by the key that holds its role after every rotation (section 3.1). A history of
    a key record (listed beside the works in a royalty receipt v2) has no licence: skipped."""
    out: list[LicenceStatement] = []
    for events in works:
        if not events or is_key_record_id(events[0].event.work):
            continue
        state: WorkState | None = None
        open_: dict[str, LicenceStatement] = {}
        for ev in events:
            if keys is not None and not counts(ev.event.actor, signer_role(state, ev),
                                               ev.event.at, keys):
                break  # this event and every later one are disputed (R22)
            before = state
            state = apply(state, ev, keys=keys)
            _account(open_, before, state, ev, query, keys)
        out.extend(open_.values())
    licensee = None if query.licensee is None else final_holder(query.licensee, keys)
    selected = [s for s in out if licensee in (None, s.licensee)]
    if query.payee is not None:
        payee = final_holder(query.payee, keys)
        selected = [s for s in selected if payee in s.lines]
        for s in selected:
            s.lines = {payee: s.lines[payee]}
    return Statement(query, tuple(selected))


def _account(open_: dict[str, LicenceStatement], before: WorkState | None, after: WorkState,
             signed: SignedEvent, q: Query, keys: KeyLookup | None = None) -> None:
    """What one event adds to the statement of its work's licences."""
    ev, body = signed.event, signed.event.body

    def line(st: LicenceStatement, key: str) -> Line:
        return st.line(final_holder(key, keys))

    if ev.type == ACCEPT:
        lic = after.licence(body["offer"])
        assert lic is not None  # noqa: S101 - the rules accepted it
        fee = lic.terms.get("fee")
        st = LicenceStatement(lic.id, ev.work, final_holder(lic.licensee, keys),
                              fee["currency"] if fee is not None else None, signed.id)
        open_[lic.id] = st
        if fee is not None and _in_period(q, None, ev.at):
            _due(st, split(fee["amount"], after.effective_payees()), signed.id, line, True)
        return
    if ev.type not in payments.TYPES or before is None:
        return
    if ev.type == payments.USAGE:
        st = open_[body["licence"]]
        st.currency = body["revenue"]["currency"]
        if not _in_period(q, body["period"], ev.at):
            return
        lic = after.licence(body["licence"])
        assert lic is not None  # noqa: S101 - the rules accepted it
        st.reports.append(signed.id)
        st.units += body["units"]
        st.revenue += body["revenue"]["amount"]
        amount = royalty(body["revenue"]["amount"], lic.terms.get("royalty_bps", 0))
        _due(st, split(amount, after.effective_payees()), signed.id, line, False)
        return
    if ev.type == payments.PAYMENT:
        st = open_[body["licence"]]
        st.currency = body["amount"]["currency"]
        if not _in_period(q, body.get("period"), ev.at):
            return
        paid = line(st, body["to"])
        paid.paid += body["amount"]["amount"]
        paid.paid_in.append(signed.id)
        st.amounts[signed.id] = body["amount"]["amount"]
        return
    # an acknowledgement or a dispute moves the payment's amount between the figures
    pay = before.accounts.payments[body["payment"]]
    st = open_[pay.licence]
    answered = st.lines.get(final_holder(pay.payee, keys))
    paid_amount = st.amounts.get(pay.id)
    if answered is None or paid_amount is None:
        return  # a payment outside the period asked
    amount = paid_amount
    if pay.status == payments.DISPUTED:
        answered.disputed -= amount
    if ev.type == payments.ACK:
        answered.acknowledged += amount
    else:
        answered.disputed += amount
    answered.answered_in.append(signed.id)


def _due(st: LicenceStatement, parts: dict[str, int], source: str,
         line: Callable[[LicenceStatement, str], Line], always: bool) -> None:
    """Add each payee's part of an amount due to its line (the fee's source is cited even
    for a part of 0, a report's only for a part above 0). Two payees that became one key
    (one rotated to the other) share a line; the source is cited once."""
    for k, part in parts.items():
        to = line(st, k)
        to.due += part
        if (always or part) and source not in to.due_from:
            to.due_from.append(source)


def describe(amount: int, currency: str | None) -> str:
    """An amount of a statement in words for people, as ``royalties`` and ``verify`` of a
    royalty receipt print it (specs/royalties.md section 3.2): ``1,234.56 USD``, ``5 JPY``
    (core/money.py's ISO 4217 exponents); ``0 (no currency yet)`` for a licence with no fee,
    report or payment."""
    from .money import format_amount

    return format_amount(amount, currency) if currency else f"{amount} (no currency yet)"

