"""Rules of usage reports and payments: who may state them, and what they may refer to.

specs/rules.md section 6 (R13-R16). A ``usage.report`` and a ``payment.record`` are signed by a
licence's licensee, a ``payment.ack`` and a ``payment.dispute`` by the payment's payee; all four
live on the licensed work's chain (they name its head, like every event of a work), so a work's
state carries, beside its licences, the few facts these rules need: each licence's currency
and the keys it owes, and each payment's payee and answer (:class:`Accounts`). The amounts
themselves are not kept in the state: a royalty statement (core/royalties.py) is computed by
replaying the events. Pure, like core/rules.py, which calls :func:`apply` and
:func:`on_accept`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from ..errors import RuleError
from . import keystate
from .events import SignedEvent

if TYPE_CHECKING:
    from .rules import Licence, WorkState

USAGE = "usage.report"
PAYMENT = "payment.record"
ACK = "payment.ack"
DISPUTE = "payment.dispute"
TYPES = frozenset({USAGE, PAYMENT, ACK, DISPUTE})

PENDING = "pending"
ACKNOWLEDGED = "acknowledged"
DISPUTED = "disputed"


@dataclass(frozen=True, slots=True)
class Account:
    """What the rules know of one accepted licence: its currency (the fee's, else that of
    its first usage report or payment; None before either) and the keys that had a share in
    an amount due on it (the work's effective payees at its acceptance and at each report)."""

    currency: str | None
    owed: frozenset[str]


@dataclass(frozen=True, slots=True)
class Payment:
    """A ``payment.record``: its licence, payee and answer (pending, acknowledged, disputed)."""

    id: str
    licence: str
    payee: str
    status: str = PENDING


@dataclass(frozen=True, slots=True)
class Accounts:
    """The licences' accounts and the payments of one work (read-only mappings)."""

    licences: Mapping[str, Account]
    payments: Mapping[str, Payment]


NO_ACCOUNTS = Accounts(MappingProxyType({}), MappingProxyType({}))


V = TypeVar("V")


def _put(m: Mapping[str, V], key: str, value: V) -> Mapping[str, V]:
    """A read-only copy of ``m`` with ``key`` set (states are shared: never changed)."""
    d = dict(m)
    d[key] = value
    return MappingProxyType(d)


def _payee_keys(state: WorkState) -> frozenset[str]:
    return frozenset(k for k, _ in state.effective_payees())


def on_accept(state: WorkState, licence: Licence) -> WorkState:
    """R10 done: the accepted licence's account opens, in the fee's currency if it has one,
    owing the work's effective payees of now (the fixed fee falls due to them)."""
    fee = licence.terms.get("fee")
    account = Account(fee["currency"] if fee is not None else None, _payee_keys(state))
    licences = _put(state.accounts.licences, licence.id, account)
    return replace(state, accounts=Accounts(licences, state.accounts.payments))


def apply(state: WorkState, signed: SignedEvent, keys: keystate.KeyLookup | None = None,
          strict: bool = False) -> WorkState:
    """R13-R16 for a work whose R2-R4 checks passed; returns the new state or raises. With
    ``keys`` (specs/rules.md section 9) the key a licensee or a payee was rotated to acts for
    it from the rotation on: ``strict`` (a log admitting the event) wants the holder of the
    role at the event's time, a replay any key reachable from it."""
    ev, eid = signed.event, signed.id
    body = ev.body
    new = replace(state, head=eid, last_at=ev.at, events=state.events + 1)
    accounts = state.accounts
    if ev.type in (USAGE, PAYMENT):
        # (1) a licence of this work, (2) stated by its licensee, (3) accepted.
        lic = state.licence(body["licence"])
        if lic is None:
            raise RuleError(f"no licence {body['licence']} on work {ev.work}")
        if not keystate.acts_for(ev.actor, lic.licensee, ev.at, keys, strict):
            raise RuleError(f"{ev.type} of licence {lic.id} must be signed by its licensee "
                            f"{lic.licensee}")
        account = accounts.licences.get(lic.id)
        if lic.accepted_at is None or account is None:
            raise RuleError(f"licence {lic.id} was never accepted: no usage or payment can be "
                            "recorded on it")
        # (4) one currency per licence.
        money = body["revenue"] if ev.type == USAGE else body["amount"]
        if account.currency is not None and money["currency"] != account.currency:
            raise RuleError(f"licence {lic.id} is in {account.currency}: a "
                            f"{'usage report' if ev.type == USAGE else 'payment'} in "
                            f"{money['currency']} is refused (one currency per licence)")
        payees = _payee_keys(state)
        if ev.type == USAGE:
            if account.currency == money["currency"] and payees <= account.owed:
                return new  # the usual report: nothing the rules keep changes
            account = Account(money["currency"], account.owed | payees)
            licences = _put(accounts.licences, lic.id, account)
            return replace(new, accounts=Accounts(licences, accounts.payments))
        # (5) a payment goes to a key the licence owes, or to a payee of the work now (or,
        # from its rotation on, to the key it was rotated to).
        _check_payee(body["to"], account.owed | payees, ev.at, keys, strict, ev.work, lic.id)
        licences = _put(accounts.licences, lic.id, Account(money["currency"], account.owed))
        payments = _put(accounts.payments, eid, Payment(eid, lic.id, body["to"]))
        return replace(new, accounts=Accounts(licences, payments))
    # payment.ack, payment.dispute: (1) a payment of this work, (2) answered by its payee,
    # (3) once acknowledged, final; disputed once, which a later acknowledgement settles.
    pay = accounts.payments.get(body["payment"])
    if pay is None:
        raise RuleError(f"no payment {body['payment']} on work {ev.work}")
    if not keystate.acts_for(ev.actor, pay.payee, ev.at, keys, strict):
        who = keystate.holder(pay.payee, ev.at, keys)
        raise RuleError(f"only the payee {who} may answer payment {pay.id}")
    if pay.status == ACKNOWLEDGED:
        raise RuleError(f"payment {pay.id} is already acknowledged")
    if ev.type == DISPUTE and pay.status == DISPUTED:
        raise RuleError(f"payment {pay.id} is already disputed")
    status = ACKNOWLEDGED if ev.type == ACK else DISPUTED
    payments = _put(accounts.payments, pay.id, replace(pay, status=status))
    return replace(new, accounts=Accounts(accounts.licences, payments))


def _check_payee(to: str, owed: frozenset[str], at: int, keys: keystate.KeyLookup | None,
                 strict: bool, work: str, licence: str) -> None:
    """R14.5 with key records: ``to`` is a key owed, or from its rotation on the key it was
    rotated to; a log admitting the payment (``strict``) wants the holder of the role at
    ``at``, so once a payee was rotated away its successor is the one paid."""
    if to in owed and (keys is None or not strict or keystate.holder(to, at, keys) == to):
        return
    if keys is not None and any(
            (keystate.holder(k, at, keys) == to) if strict else to in keystate.reachable(k, keys)
            for k in sorted(owed)):
        return
    if to in owed:
        raise RuleError(f"{to} was rotated to {keystate.holder(to, at, keys)}: pay that key "
                        f"(it holds the payee's role on licence {licence} from the rotation on)")
    raise RuleError(f"{to} is not a payee of work {work} nor owed anything on licence "
                    f"{licence}")
