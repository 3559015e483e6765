"""Compliance receipts: may this dataset be used for this purpose? (specs/receipts.md
section 14).

A compliance receipt is a question (key, purpose, time), the dataset's items in order, each
with the work id it resolves to, and ONE state receipt v2 (section 11) of every distinct work
those items name: one checkpoint, one map multiproof, each registered work's events with their
inclusion proofs, and the absence of every work the log does not hold. Its verifier re-derives
the answer of ``may`` (specs/rules.md section 5) for every item offline, exactly as a decision
receipt's verifier does for one work (section 12).

An item resolves by exact content id (a ``sha256:`` work id, the hash of a file) or, with
its ``similar`` member, to a registered work whose ISCC content code (the ``similarity`` member
of its registration, specs/events.md section 6.1) is within a distance of the item's code: the
verifier recomputes that distance from the registration event the state receipt proves.

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
    CurrentWork,
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
from .similarity import MAX_DISTANCE, ContentCode

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
_ITEM_FIELDS = frozenset({"name", "work", "similar", "decision"})
_SIMILAR_FIELDS = frozenset({"code", "distance"})
REGISTER = "work.register"
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
class SimilarClaim:
    """An item matched by similarity (section 14, ``similar``): the item's ISCC content code
    as the item gives it, and its distance to the matched work's registered code; ``distance``
    None: no registered work was found within the distance asked (the item's ``work`` is
    null then), which no receipt can prove."""

    code: str
    distance: int | None

    def __post_init__(self) -> None:
        if ContentCode.from_text(self.code) is None:
            raise ValueError("similar code is not an ISCC content code of 64 bits (image, "
                             "text, audio or video unit)")
        if self.distance is not None and not 0 <= self.distance <= MAX_DISTANCE:
            raise ValueError(f"similar distance must be 0 to {MAX_DISTANCE}")

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "distance": self.distance}

    @classmethod
    def from_json(cls, data: Any, where: str) -> SimilarClaim:
        if not isinstance(data, dict) or data.keys() != _SIMILAR_FIELDS:
            raise MalformedError(f"{where}: similar must be an object of exactly code, distance")
        code, distance = data["code"], data["distance"]
        if not isinstance(code, str) or (distance is not None and (
                isinstance(distance, bool) or not isinstance(distance, int))):
            raise MalformedError(f"{where}: similar code must be text and distance an integer "
                                 "or null")
        try:
            return cls(code, distance)
        except ValueError as e:
            raise MalformedError(f"{where}: {e}") from e


@dataclass(frozen=True, slots=True)
class Item:
    """One item of the dataset as the receipt lists it: its name, the work it resolves to
    (exactly, or by similarity with ``similar``), or None for an ISCC code that matched no
    registered work."""

    name: str
    work: str | None
    similar: SimilarClaim | None = None

    def __post_init__(self) -> None:
        try:
            check_item_name(self.name, "item")
            if self.work is not None:
                check_work_id(self.work, "item work")
        except MalformedError as e:
            raise ValueError(str(e)) from e
        if (self.work is None) != (self.similar is not None and self.similar.distance is None):
            raise ValueError("an item names a work, unless its similar code matched none "
                             "(distance null)")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "work": self.work}
        if self.similar is not None:
            out["similar"] = self.similar.to_json()
        return out


def distinct_works(items: Sequence[Item]) -> tuple[str, ...]:
    """The works the items name, each once, in the order first named."""
    return tuple(dict.fromkeys(i.work for i in items if i.work is not None))


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
        if distinct_works(self.items) != tuple(w.work for w in self.state_receipt.works):
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
            item = i.to_json()
            if decoded:
                state = states[i.work] if i.work is not None else None
                d = may(state, q.key, q.purpose, q.at)
                item["decision"] = d.to_json()
                outcomes.append(outcome(d, state))
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
            similar = (SimilarClaim.from_json(it["similar"], where) if "similar" in it
                       else None)
            unmatched = similar is not None and similar.distance is None
            if unmatched and it.get("work") is not None:
                raise MalformedError(f"{where}: a similar item with distance null names no work")
            items.append(Item(check_item_name(it.get("name"), where),
                              None if unmatched else check_work_id(it.get("work"),
                                                                   f"{where} work"),
                              similar))
        summary = data.get("summary")
        if summary is not None and (not isinstance(summary, dict)
                                    or summary.keys() != _SUMMARY_FIELDS):
            raise MalformedError("compliance receipt summary must be null or an object of "
                                 f"exactly {', '.join(sorted(_SUMMARY_FIELDS))}")
        sr = StateReceiptV2.from_json(data.get("state_receipt"))
        if distinct_works(items) != tuple(w.work for w in sr.works):
            raise MalformedError("the state receipt does not list exactly the items' distinct "
                                 "works in the order they are first named (an item or a work "
                                 "was added or dropped)")
        return cls(question, tuple(items), sr)


DECODED_STATE_WORKS = 100
"""Up to this many works, the embedded state receipt keeps its own informative members."""


def build_compliance_receipt(question: Question, items: Sequence[Item | tuple[str, str]],
                             state_receipt: StateReceiptV2) -> ComplianceReceipt:
    """A compliance receipt from the question, the items in dataset order (an
    :class:`Item`, or ``(name, work)`` for an exact one), and a state receipt v2 of their
    distinct works in first-named order (one snapshot: ``Ledger.complete_state_receipt`` or a
    node's batch)."""
    return ComplianceReceipt(question, tuple(i if isinstance(i, Item) else Item(*i)
                                             for i in items), state_receipt)


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemAnswer:
    """One item's re-derived answer: its name, its work's verified state (None: not
    registered as of the checkpoint), the decision and the outcome."""

    name: str
    work: str | None
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


def decide_items(question: Question, items: Sequence[tuple[str, str | None]],
                 states: Mapping[str, WorkState | None]) -> tuple[ItemAnswer, ...]:
    """Each item's answer from its work's state (``states``: every work named, None for a
    work not registered; an item naming no work is unregistered): ``may`` of specs/rules.md
    section 5 with the question's key, purpose and time. The CLI's check and the verifier use
    this one function."""
    q = question
    out = []
    for name, work in items:
        state = states[work] if work is not None else None
        out.append(ItemAnswer(name, work, state, may(state, q.key, q.purpose, q.at)))
    return tuple(out)


def registered_code(work: CurrentWork) -> str | None:
    """The ``similarity`` member of the work's registration among its proven events."""
    for ev in work.events:
        if ev.event.type == REGISTER:
            text = ev.event.body.get("similarity")
            return text if isinstance(text, str) else None
    return None


def check_similar(items: Sequence[Item], works: Sequence[CurrentWork]) -> None:
    """Section 14.1 step (3): every similar match is recomputed, the distance between the
    item's code and the code in the matched work's proven registration."""
    by_work = {w.work: w for w in works}
    for n, i in enumerate(items):
        if i.similar is None or i.work is None:
            continue
        where = f"item {n} ({i.name})"
        work = by_work[i.work]
        if not work.registered:
            raise VerificationError(f"{where}: matched by similarity to a work the log does not "
                                    "hold")
        text = registered_code(work)
        theirs = ContentCode.from_text(text) if text is not None else None
        ours = ContentCode.from_text(i.similar.code)
        distance = None if theirs is None or ours is None else ours.distance(theirs)
        if distance is None:
            raise VerificationError(f"{where}: the matched work's registration has no content "
                                    "code comparable with the item's")
        if distance != i.similar.distance:
            raise VerificationError(f"{where}: the item's code is {distance} bits from the "
                                    f"matched work's registered code, not "
                                    f"{i.similar.distance}")


def verify_compliance_receipt(
    receipt: ComplianceReceipt, log_keys: Sequence[Verifier],
    witnesses: Mapping[str, Verifier] | None = None,
) -> VerifiedCompliance:
    """Verify a compliance receipt offline and re-derive every item's answer
    (specs/receipts.md section 14.1)."""
    # step 2: the state receipt, steps (1)-(7) of section 11.2: one checkpoint, one multiproof.
    current = verify_state_receipt_v2(receipt.state_receipt, log_keys, witnesses)
    # step 1: it lists exactly the items' distinct works (checked when parsed and built; again
    # here, for a receipt made in memory).
    if distinct_works(receipt.items) != tuple(w.work for w in current.works):
        raise VerificationError("the state receipt does not list exactly the items' works")
    # step 3: every similar match's distance, from the matched work's proven registration.
    check_similar(receipt.items, current.works)
    # step 4: each item's answer from its work's proven state.
    states = {w.work: w.state for w in current.works}
    answers = decide_items(receipt.question, [(i.name, i.work) for i in receipt.items], states)
    return VerifiedCompliance(receipt.question, current, answers)


def check_decoded_compliance(data: Any, verified: VerifiedCompliance) -> None:
    """The members written for people must say what was verified (section 14.1, step 5):
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
