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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..errors import MalformedError, RuleError, quoted
from . import payments
from .events import BASIS_POINTS, PERIOD_PATTERN, SignedEvent
from .identity import is_key_record_id
from .keystate import KeyLookup, effective, final_holder
from .rules import WorkState, apply
from .timefmt import format_time

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


_NOT_BEGUN = {payments.USAGE: "usage is reported after the fact",
              payments.PAYMENT: "a payment is recorded for a period that has begun"}


def admit_period(signed: SignedEvent, now: int, skew: int) -> None:
    """Admission policy, not a rule (specs/rules.md section 4): a ``usage.report``, or a
    ``payment.record`` naming a period, whose period starts more than ``skew`` seconds after
    the ledger clock ``now`` is refused. Only a ledger admitting a write asks this; replay
    never does, so a log already holding such an event stays valid."""
    ev = signed.event
    why = _NOT_BEGUN.get(ev.type)
    text = ev.body.get("period") if why is not None else None
    if text is None:
        return
    period = Period.parse(text)
    if period.start > now + skew:
        raise RuleError(f"period {period.text} has not begun (it starts "
                        f"{format_time(period.start)[:10]}; the ledger clock is "
                        f"{format_time(now)}): {why}")


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


STATEMENT_VERSION = 2
"""The statement version ``royalties`` computes and a royalty receipt v3 carries (section 3);
version 1 (section 3.3) is that of receipts v1 and v2."""
FIGURES_V1 = ("due", "paid", "acknowledged", "disputed", "outstanding")
FIGURES = (*FIGURES_V1, "overpaid")


def figures_of(version: int) -> tuple[str, ...]:
    """The figures of a statement version: version 2 adds ``overpaid`` (section 3.3)."""
    return FIGURES if version >= 2 else FIGURES_V1


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
    def netted(self) -> int:
        """Due less what was paid and not disputed: negative when paid beyond what is due
        (statement version 1's ``outstanding``, section 3.3)."""
        return self.due - self.paid + self.disputed

    @property
    def outstanding(self) -> int:
        """What is due and not paid (a disputed payment counts as not paid); never negative."""
        return max(0, self.netted)

    @property
    def overpaid(self) -> int:
        """What was paid, and not disputed, beyond what is due; never negative."""
        return max(0, -self.netted)

    def figure(self, name: str, version: int = STATEMENT_VERSION) -> int:
        """One figure of this line in a statement version (version 1: ``outstanding`` netted)."""
        if name == "outstanding" and version < 2:
            return self.netted
        return int(getattr(self, name))

    def to_json(self, version: int = STATEMENT_VERSION) -> dict[str, Any]:
        return {"payee": self.payee,
                **{f: self.figure(f, version) for f in figures_of(version)},
                "due_from": list(self.due_from), "paid_in": list(self.paid_in),
                "answered_in": list(self.answered_in)}


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

    def total(self, figure: str, version: int = STATEMENT_VERSION) -> int:
        """The sum of the payee lines' figure: never netted across payees in version 2."""
        return sum(x.figure(figure, version) for x in self.lines.values())

    def to_json(self, version: int = STATEMENT_VERSION) -> dict[str, Any]:
        return {"licence": self.licence, "work": self.work, "licensee": self.licensee,
                "currency": self.currency, "accepted_by": self.accepted_by,
                "units": self.units, "revenue": self.revenue, "reports": list(self.reports),
                **{f: self.total(f, version) for f in figures_of(version)},
                "payees": [self.lines[k].to_json(version) for k in sorted(self.lines)]}


@dataclass(frozen=True, slots=True)
class Statement:
    """A royalty statement: the query and each licence it covers, in log order, in a
    statement ``version`` (2: ``outstanding`` and ``overpaid`` per line, never netted; 1: the
    netted ``outstanding`` of royalty receipts v1 and v2, section 3.3)."""

    query: Query
    licences: tuple[LicenceStatement, ...]
    version: int = STATEMENT_VERSION

    def __post_init__(self) -> None:
        if self.version not in (1, 2):
            raise ValueError("a royalty statement is version 1 or 2")

    @property
    def figures(self) -> tuple[str, ...]:
        return figures_of(self.version)

    def total(self, lic: LicenceStatement, figure: str) -> int:
        """A licence's figure in this statement's version."""
        return lic.total(figure, self.version)

    def totals(self) -> list[dict[str, Any]]:
        """Per payee and currency, the figures of its lines summed over the licences (key,
        then currency order): in version 2 an overpayment on one licence never lowers what is
        outstanding on another."""
        sums: dict[tuple[str, str], dict[str, int]] = {}
        for lic in self.licences:
            for line in lic.lines.values():
                row = sums.setdefault((line.payee, lic.currency or ""),
                                      dict.fromkeys(self.figures, 0))
                for f in self.figures:
                    row[f] += line.figure(f, self.version)
        return [{"payee": k, "currency": c or None, **row}
                for (k, c), row in sorted(sums.items())]

    def to_json(self) -> dict[str, Any]:
        head: dict[str, Any] = {"version": self.version} if self.version >= 2 else {}
        return {**head, "query": self.query.to_json(),
                "licences": [x.to_json(self.version) for x in self.licences],
                "totals": self.totals()}


def _in_period(q: Query, period_text: str | None, at: int) -> bool:
    """Whether an amount with this period (else logged at ``at``) counts in ``q.period``."""
    if q.period is None:
        return True
    if period_text is not None:
        return Period.parse(period_text).within(q.period)
    return q.period.holds(at)


def statement(works: Iterable[Sequence[SignedEvent]], query: Query,
              keys: KeyLookup | None = None, version: int = STATEMENT_VERSION) -> Statement:
    """The royalty statement of the licences of ``works`` (each work's events from its
    registration on, in log order, as the log holds them) that ``query`` selects
    (specs/royalties.md section 3). The events are replayed with the rules; a refusal raises
    as replay does. With ``keys`` (the key records, specs/rules.md section 9) only the events
    that count are replayed (R22: :func:`keystate.effective`), and each licensee and payee
    is named by the key that holds its role after every rotation (section 3.1). A history of
    a key record (listed beside the works in a royalty receipt v2) has no licence: skipped.
    ``version`` is the statement version (section 3: 2; section 3.3: 1, for receipts v1, v2)."""
    out: list[LicenceStatement] = []
    for events in works:
        if not events or is_key_record_id(events[0].event.work):
            continue
        open_: dict[str, LicenceStatement] = {}
        account = partial(_account, open_, q=query, keys=keys)
        if keys is not None:  # the events that count alone (R22)
            effective(events, keys, apply, account)
        else:
            state: WorkState | None = None
            for ev in events:
                before, state = state, apply(state, ev)
                account(before, state, ev)
        out.extend(open_.values())
    licensee = None if query.licensee is None else final_holder(query.licensee, keys)
    selected = [s for s in out if licensee in (None, s.licensee)]
    if query.payee is not None:
        payee = final_holder(query.payee, keys)
        selected = [s for s in selected if payee in s.lines]
        for s in selected:
            s.lines = {payee: s.lines[payee]}
    return Statement(query, tuple(selected), version)


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


def words(figures: Mapping[str, int], currency: str | None) -> str:
    """``due 120.00 EUR, paid 0.00 EUR, ...``: a licence's, a payee line's or a total's
    figures in words (section 3.2): the five of version 1, and ``overpaid`` only when above 0
    (``outstanding 0 JPY, overpaid 100 JPY``)."""
    shown = [*FIGURES_V1] + (["overpaid"] if figures.get("overpaid", 0) > 0 else [])
    return ", ".join(f"{f} {describe(figures[f], currency)}" for f in shown)


def describe(amount: int, currency: str | None) -> str:
    """An amount of a statement in words for people, as ``royalties`` and ``verify`` of a
    royalty receipt print it (specs/royalties.md section 3.2): ``1,234.56 USD``, ``5 JPY``
    (core/money.py's ISO 4217 exponents); ``0 (no currency yet)`` for a licence with no fee,
    report or payment."""
    from .money import format_amount

    return format_amount(amount, currency) if currency else f"{amount} (no currency yet)"

