"""Compliance receipts: may this dataset be used for this purpose? (specs/receipts.md
section 14).

A compliance receipt is a question (key, purpose, time), the dataset's items in order, each
with the work id it resolves to, and ONE state receipt v2 (section 11) of every distinct work
those items name: one checkpoint, one map multiproof, each registered work's events with their
inclusion proofs, and the absence of every work the log does not hold. Its verifier re-derives
the answer of ``may`` (specs/rules.md section 5) for every item offline, exactly as a decision
receipt's verifier does for one work (section 12).

Version 1 resolves items by exact content id only (a ``sha256:`` work id, the hash of a file);
a similarity match (an ISCC code within a distance) is for a later version of the format.

Nothing here does I/O: the builder takes what the ledger read, the verifier the parsed JSON
and the trusted keys. Freshness (section 13) is the caller's, as for the other receipts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedError, VerificationError
from .current import (
    Question,
    StateReceiptV2,
    VerifiedStateV2,
    check_decoded_current,
    replay_unverified,
    verify_state_receipt_v2,
)
from .encoding import is_text
from .events import check_work_id
from .note import Verifier
from .rules import Decision, WorkState, may

COMPLIANCE_RECEIPT_FORMAT = "provenance-ledger/compliance-receipt/v1"
COMPLIANCE_RECEIPT_SCOPE = (
    "proves, for each item listed, the answer of the rules to this question about the work "
    "the item names, computed from all of that work's events in the log up to the "
    "checkpoint's tree size (or from its absence there): no later event of any of these "
    "works exists up to that size; it proves nothing about events after that size, nor that "
    "the items listed are all of a dataset")

MAX_COMPLIANCE_ITEMS = 10_000
"""Most items one compliance receipt lists (specs/receipts.md section 14); its distinct
works are at most ``MAX_CURRENT_WORKS`` too."""
MAX_ITEM_NAME_CHARS = 1024
"""Longest item name (a path or an id as the dataset lists it), in characters."""

ALLOWED = "allowed"
NOT_ALLOWED = "not allowed"
UNREGISTERED = "unregistered"
OUTCOMES = (ALLOWED, NOT_ALLOWED, UNREGISTERED)
"""An item's outcome: its work is registered and the key may use it, registered and it may
not, or not registered on the log (the rules' default deny is about registered works)."""

_FIELDS = frozenset({"format", "scope", "question", "items", "state_receipt", "summary"})
_ITEM_FIELDS = frozenset({"name", "work", "decision"})
_SUMMARY_FIELDS = frozenset({"items", *(o.replace(" ", "_") for o in OUTCOMES)})


def check_item_name(value: Any, where: str) -> str:
    """An item name: 1 to ``MAX_ITEM_NAME_CHARS`` characters of text (no control
    characters: specs/events.md section 6)."""
    if (not isinstance(value, str) or not 0 < len(value) <= MAX_ITEM_NAME_CHARS
            or not is_text(value)):
        raise MalformedError(f"{where}: name must be 1 to {MAX_ITEM_NAME_CHARS} characters of "
                             "text")
    return value


@dataclass(frozen=True, slots=True)
class Item:
    """One item of the dataset as the receipt lists it: its name and the work it resolves
    to."""

    name: str
    work: str

    def __post_init__(self) -> None:
        try:
            check_item_name(self.name, "item")
            check_work_id(self.work, "item work")
        except MalformedError as e:
            raise ValueError(str(e)) from e


def outcome(decision: Decision, state: WorkState | None) -> str:
    """``allowed``, ``not allowed`` or ``unregistered``."""
    if state is None:
        return UNREGISTERED
    return ALLOWED if decision.allowed else NOT_ALLOWED


def summarize(outcomes: Sequence[str]) -> dict[str, int]:
    """The counts per outcome (section 14, ``summary``): ``items``, ``allowed``,
    ``not_allowed``, ``unregistered``."""
    counts = Counter(outcomes)
    return {"items": len(outcomes),
            **{o.replace(" ", "_"): counts.get(o, 0) for o in OUTCOMES}}


@dataclass(frozen=True, slots=True)
class ComplianceReceipt:
    """``provenance-ledger/compliance-receipt/v1`` (specs/receipts.md section 14)."""

    question: Question
    items: tuple[Item, ...]
    state_receipt: StateReceiptV2

    def __post_init__(self) -> None:
        if not 1 <= len(self.items) <= MAX_COMPLIANCE_ITEMS:
            raise ValueError(f"a compliance receipt lists 1 to {MAX_COMPLIANCE_ITEMS} items")
        if tuple(dict.fromkeys(i.work for i in self.items)) != tuple(
                w.work for w in self.state_receipt.works):
            raise ValueError("the state receipt must list the items' distinct works, in the "
                             "order they are first named")

    def to_json(self, decoded: bool = True) -> dict[str, Any]:
        """The receipt as JSON; with ``decoded``, each item's decision and the summary, for
        people (the state receipt's own informative members only while it is small)."""
        q = self.question
        items: list[dict[str, Any]] = []
        outcomes = []
        states: dict[str, WorkState | None] = {}
        if decoded:
            states = {w.work: replay_unverified(w.events) for w in self.state_receipt.works}
        for i in self.items:
            item: dict[str, Any] = {"name": i.name, "work": i.work}
            if decoded:
                d = may(states[i.work], q.key, q.purpose, q.at)
                item["decision"] = d.to_json()
                outcomes.append(outcome(d, states[i.work]))
            items.append(item)
        out: dict[str, Any] = {
            "format": COMPLIANCE_RECEIPT_FORMAT, "scope": COMPLIANCE_RECEIPT_SCOPE,
            "question": q.to_json(), "items": items,
            "state_receipt": self.state_receipt.to_json(
                decoded and len(self.state_receipt.works) <= DECODED_STATE_WORKS)}
        if decoded:
            out["summary"] = summarize(outcomes)
        return out

    @classmethod
    def from_json(cls, data: Any) -> ComplianceReceipt:
        if not isinstance(data, dict) or data.get("format") != COMPLIANCE_RECEIPT_FORMAT:
            raise MalformedError(f"compliance receipt format is not {COMPLIANCE_RECEIPT_FORMAT}")
        unknown = data.keys() - _FIELDS
        if unknown:
            raise MalformedError(f"compliance receipt has unknown field {sorted(unknown)[0]!r}")
        question = Question.from_json(data.get("question"))
        raw = data.get("items")
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_COMPLIANCE_ITEMS:
            raise MalformedError(f"compliance receipt must list 1 to {MAX_COMPLIANCE_ITEMS} "
                                 "items")
        items = []
        for n, it in enumerate(raw):
            where = f"compliance receipt item {n}"
            if not isinstance(it, dict):
                raise MalformedError(f"{where} is not a JSON object")
            unknown = it.keys() - _ITEM_FIELDS
            if unknown:
                raise MalformedError(f"{where} has unknown field {sorted(unknown)[0]!r}")
            if it.get("decision") is not None and not isinstance(it["decision"], dict):
                raise MalformedError(f"{where}: decision is not an object or null")
            items.append(Item(check_item_name(it.get("name"), where),
                              check_work_id(it.get("work"), f"{where} work")))
        summary = data.get("summary")
        if summary is not None and (not isinstance(summary, dict)
                                    or summary.keys() != _SUMMARY_FIELDS):
            raise MalformedError("compliance receipt summary must be null or an object of "
                                 f"exactly {', '.join(sorted(_SUMMARY_FIELDS))}")
        sr = StateReceiptV2.from_json(data.get("state_receipt"))
        if tuple(dict.fromkeys(i.work for i in items)) != tuple(w.work for w in sr.works):
            raise MalformedError("the state receipt does not list exactly the items' distinct "
                                 "works in the order they are first named (an item or a work "
                                 "was added or dropped)")
        return cls(question, tuple(items), sr)


DECODED_STATE_WORKS = 100
"""Up to this many works, the embedded state receipt keeps its own informative members."""


def build_compliance_receipt(question: Question, items: Sequence[tuple[str, str]],
                             state_receipt: StateReceiptV2) -> ComplianceReceipt:
    """A compliance receipt from the question, the items as ``(name, work)`` in dataset
    order, and a state receipt v2 of their distinct works in first-named order (one
    snapshot: ``Ledger.complete_state_receipt`` or a node's batch)."""
    return ComplianceReceipt(question, tuple(Item(n, w) for n, w in items), state_receipt)


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemAnswer:
    """One item's re-derived answer: its name, its work's verified state (None: not
    registered as of the checkpoint), the decision and the outcome."""

    name: str
    work: str
    state: WorkState | None
    decision: Decision

    @property
    def outcome(self) -> str:
        return outcome(self.decision, self.state)


@dataclass(frozen=True, slots=True)
class VerifiedCompliance:
    """What a compliance receipt proves once verified."""

    question: Question
    current: VerifiedStateV2
    answers: tuple[ItemAnswer, ...]

    @property
    def summary(self) -> dict[str, int]:
        return summarize([a.outcome for a in self.answers])


def decide_items(question: Question, items: Sequence[tuple[str, str]],
                 states: Mapping[str, WorkState | None]) -> tuple[ItemAnswer, ...]:
    """Each item's answer from its work's state (``states``: every work named, None for a
    work not registered): ``may`` of specs/rules.md section 5 with the question's key,
    purpose and time. The CLI's check and the verifier use this one function."""
    q = question
    return tuple(ItemAnswer(name, work, states[work], may(states[work], q.key, q.purpose, q.at))
                 for name, work in items)


def verify_compliance_receipt(
    receipt: ComplianceReceipt, log_keys: Sequence[Verifier],
    witnesses: Mapping[str, Verifier] | None = None,
) -> VerifiedCompliance:
    """Verify a compliance receipt offline and re-derive every item's answer
    (specs/receipts.md section 14.1)."""
    # (1) the state receipt, steps (1)-(7) of section 11.2: one checkpoint, one multiproof.
    current = verify_state_receipt_v2(receipt.state_receipt, log_keys, witnesses)
    # (2) it lists exactly the items' distinct works (checked when parsed and built; again
    # here, for a receipt made in memory).
    if tuple(dict.fromkeys(i.work for i in receipt.items)) != tuple(
            w.work for w in current.works):
        raise VerificationError("the state receipt does not list exactly the items' works")
    # (3) each item's answer from its work's proven state.
    states = {w.work: w.state for w in current.works}
    answers = decide_items(receipt.question, [(i.name, i.work) for i in receipt.items], states)
    return VerifiedCompliance(receipt.question, current, answers)


def check_decoded_compliance(data: Any, verified: VerifiedCompliance) -> None:
    """The members written for people must say what was verified (section 14.1, step 4):
    the scope, the state receipt's informative members, each item's decision and the
    summary."""
    if not isinstance(data, dict):
        return
    if "scope" in data and data["scope"] != COMPLIANCE_RECEIPT_SCOPE:
        raise VerificationError("the receipt's scope is not the sentence of its format: it "
                                "would claim more or less than the receipt proves")
    check_decoded_current(data.get("state_receipt"), verified.current)
    for n, (raw, a) in enumerate(zip(data.get("items", ()), verified.answers, strict=False)):
        if raw.get("decision") is not None and raw["decision"] != a.decision.to_json():
            raise VerificationError(
                f"item {n} ({a.name}): the receipt's decision is not what the rules give: "
                "they say " + ("allowed" if a.decision.allowed else "not allowed")
                + f" ({a.decision.reason})")
    if data.get("summary") is not None and data["summary"] != verified.summary:
        raise VerificationError("the receipt's summary is not the count of the answers the "
                                f"rules give ({verified.summary})")
