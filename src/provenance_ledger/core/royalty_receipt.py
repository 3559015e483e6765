"""Royalty receipts: a royalty statement that anyone re-derives offline (specs/receipts.md
section 15).

A royalty receipt is a query (licensee, payee, period) and ONE state receipt v2 (section 11)
of the works whose licences the statement covers: one checkpoint, one map multiproof, every
event of each work up to the checkpoint's size. Its verifier verifies that state receipt and
computes the statement again from the proven events with :func:`royalties.statement`; the
receipt's ``statement`` member, written for people, must be exactly that. A v2 receipt lists,
after the works, the key record of every key the works' events involve (section 15.3): the
statement is then computed with them (a rotated payee's successor, a compromised key's
events that do not count). A v3 receipt is a v2 whose statement is version 2 (``outstanding``
and ``overpaid`` never netted, specs/royalties.md section 3); v1 and v2 receipts keep their
version 1 statement (section 15.4). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedError, RuleError, VerificationError, quoted
from .current import (
    StateReceiptV2,
    VerifiedStateV2,
    _records_of,
    check_decoded_current,
    verify_state_receipt_v2,
)
from .events import SignedEvent, check_key, parse_leaf
from .identity import is_key_record_id, key_record_id
from .keystate import KeyLookup, reachable
from .note import Verifier
from .royalties import Period, Query, Statement, statement


def statement_version(receipt_version: int) -> int:
    """The statement version a royalty receipt carries (section 15.4): 2 for v3, 1 for the
    v1 and v2 receipts of earlier releases (specs/royalties.md section 3.3)."""
    return 2 if receipt_version >= 3 else 1

ROYALTY_RECEIPT_FORMAT = "provenance-ledger/royalty-receipt/v1"
ROYALTY_RECEIPT_FORMAT_V2 = "provenance-ledger/royalty-receipt/v2"
ROYALTY_RECEIPT_FORMAT_V3 = "provenance-ledger/royalty-receipt/v3"
ROYALTY_RECEIPT_FORMATS = (ROYALTY_RECEIPT_FORMAT, ROYALTY_RECEIPT_FORMAT_V2,
                           ROYALTY_RECEIPT_FORMAT_V3)
ROYALTY_RECEIPT_VERSION = 3
"""The version ``royalties --receipt`` writes (section 15.4)."""
ROYALTY_RECEIPT_SCOPE = (
    "proves the royalty statement of the licences of the works listed that the query selects, "
    "computed from all of those works' events in the log up to the checkpoint's tree size: no "
    "later event of these works exists up to that size; it proves nothing about events after "
    "that size, nor that the works listed are all the works of a licensee or payee")

_FIELDS = frozenset({"format", "scope", "query", "state_receipt", "statement"})
_QUERY_FIELDS = frozenset({"licensee", "payee", "period"})


def query_from_json(data: Any) -> Query:
    """The ``query`` member: exactly ``licensee``, ``payee`` (keys or null) and ``period``
    (a period or null)."""
    if not isinstance(data, dict) or data.keys() != _QUERY_FIELDS:
        raise MalformedError("royalty receipt query must be an object of exactly licensee, "
                             "payee, period")
    for name in ("licensee", "payee"):
        if data[name] is not None:
            check_key(data[name], f"royalty receipt query {name}")
    period = data["period"]
    return Query(data["licensee"], data["payee"],
                 None if period is None else Period.parse(period, "royalty receipt period"))


def involved_keys(histories: Sequence[Sequence[SignedEvent]],
                  lookup: KeyLookup | None = None) -> tuple[str, ...]:
    """Every key the works' events involve (section 15.3): each event's signer, each key a
    body names (payees, a transfer's or a payment's ``to``, a licensee), and, with
    ``lookup``, every key any of them was rotated to; sorted."""
    keys: set[str] = set()
    for events in histories:
        for signed in events:
            ev = signed.event
            keys.add(ev.actor)
            body = ev.body
            keys.update(p["key"] for p in body.get("payees", ()))
            for name in ("to", "licensee"):
                if isinstance(body.get(name), str):
                    keys.add(body[name])
    if lookup is not None:
        for k in list(keys):
            keys.update(reachable(k, lookup))
    return tuple(sorted(keys))


@dataclass(frozen=True, slots=True)
class RoyaltyReceipt:
    """``provenance-ledger/royalty-receipt/v1``: a query and a state receipt v2 of the works;
    ``v2`` (``version`` 2): the state receipt lists, after the works, the key records of the
    keys involved (section 15.3); ``v3``: a v2 whose statement is version 2 (section 15.4)."""

    query: Query
    state_receipt: StateReceiptV2
    version: int = 1

    def __post_init__(self) -> None:
        if self.version not in (1, 2, 3):
            raise ValueError("a royalty receipt is version 1, 2 or 3")

    @property
    def statement_version(self) -> int:
        return statement_version(self.version)

    @property
    def format(self) -> str:
        return ROYALTY_RECEIPT_FORMATS[self.version - 1]

    def histories(self) -> list[list[SignedEvent]]:
        """The works' events as listed (unverified: for the members written for people)."""
        return [[parse_leaf(e.leaf, verify=False) for e in w.events]
                for w in self.state_receipt.works if w.events]

    def lookup(self) -> KeyLookup | None:
        """The key records listed (v2, v3), replayed unverified; None for v1."""
        return None if self.version == 1 else _records_of(self.state_receipt.works)

    def to_json(self, decoded: bool = True) -> dict[str, Any]:
        """The receipt as JSON; with ``decoded``, the statement for people. The state receipt
        is written without its own informative members (decoded events and states): the
        statement is what people read, and they would double the size of a receipt of many
        reports."""
        out: dict[str, Any] = {"format": self.format, "scope": ROYALTY_RECEIPT_SCOPE,
                               "query": self.query.to_json(),
                               "state_receipt": self.state_receipt.to_json(decoded=False)}
        if decoded:
            out["statement"] = statement(self.histories(), self.query, self.lookup(),
                                         self.statement_version).to_json()
        return out

    @classmethod
    def from_json(cls, data: Any) -> RoyaltyReceipt:
        if not isinstance(data, dict) or data.get("format") not in ROYALTY_RECEIPT_FORMATS:
            raise MalformedError(f"royalty receipt format is not {ROYALTY_RECEIPT_FORMAT}, "
                                 f"{ROYALTY_RECEIPT_FORMAT_V2} nor {ROYALTY_RECEIPT_FORMAT_V3}")
        unknown = data.keys() - _FIELDS
        if unknown:
            raise MalformedError(f"royalty receipt has unknown field {quoted(sorted(unknown)[0])}")
        if data.get("statement") is not None and not isinstance(data["statement"], dict):
            raise MalformedError("royalty receipt statement is not an object or null")
        return cls(query_from_json(data.get("query")),
                   StateReceiptV2.from_json(data.get("state_receipt")),
                   ROYALTY_RECEIPT_FORMATS.index(data["format"]) + 1)


@dataclass(frozen=True, slots=True)
class VerifiedRoyalties:
    """What a royalty receipt proves once verified: the statement from the proven events."""

    current: VerifiedStateV2
    statement: Statement


def verify_royalty_receipt(receipt: RoyaltyReceipt, log_keys: Sequence[Verifier],
                           witnesses: Mapping[str, Verifier] | None = None
                           ) -> VerifiedRoyalties:
    """Verify a royalty receipt offline and re-derive its statement (section 15.1)."""
    # (1) the state receipt, steps (1)-(7) of section 11.2: one checkpoint, one multiproof,
    # every event's signature and inclusion, the replay (with the key records it lists),
    # completeness.
    current = verify_state_receipt_v2(receipt.state_receipt, log_keys, witnesses)
    histories = [list(w.events) for w in current.works
                 if w.registered and not is_key_record_id(w.work)]
    keys: KeyLookup | None = None
    if receipt.version >= 2:
        # (2, v2 and v3) the key record of every key the events involve is listed, present or
        # proven absent: no rotation or compromise of them up to the checkpoint is left out.
        keys = current.key_record
        missing = [k for k in involved_keys(histories, keys) if not current.proves_key(k)]
        if missing:
            raise VerificationError(f"the receipt does not list the key record of {missing[0]} "
                                    f"({key_record_id(missing[0])}), a key its events "
                                    "involve: a rotation or a compromise of it may be left out")
    # (3) the statement from the proven events of the works the log holds.
    try:
        return VerifiedRoyalties(current, statement(histories, receipt.query, keys,
                                                    receipt.statement_version))
    except RuleError as e:  # a v1 replay without the key records a successor's events need
        raise VerificationError(f"the events do not replay without key records: {e}") from e


def check_decoded_royalties(data: Any, verified: VerifiedRoyalties) -> None:
    """(3) The members written for people say what was verified: the scope, the state
    receipt's informative members, and the statement, figure for figure."""
    if not isinstance(data, dict):
        return
    if "scope" in data and data["scope"] != ROYALTY_RECEIPT_SCOPE:
        raise VerificationError("the receipt's scope is not the sentence of its format: it "
                                "would claim more or less than the receipt proves")
    check_decoded_current(data.get("state_receipt"), verified.current)
    if data.get("statement") is not None and data["statement"] != verified.statement.to_json():
        raise VerificationError("the receipt's statement is not what the proven events give: "
                                "a figure, a licence or an event cited was changed")
