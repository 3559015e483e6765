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

A v2 receipt (section 14.3, the block at the end) also records the asker's trust policy
(``--require-attested`` and the trusted attesters, specs/rules.md section 8) and lists, after
the works, the key records of every key that controlled them: its verifier answers with the
key records (rotations, compromises, specs/rules.md section 9), names the key that granted
each allowed item and its attestations, and under ``require_attested`` refuses a grant no
trusted attester vouches for. A v1 receipt verifies exactly as before.

Nothing here does I/O: the builder takes what the ledger read, the verifier the parsed JSON
and the trusted keys. Freshness (section 13) is the caller's, as for the other receipts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedError, VerificationError, quoted
from .current import (
    CurrentWork,
    Question,
    StateReceiptV2,
    VerifiedStateV2,
    _records_of,
    check_decoded_current,
    replay_unverified,
    verify_state_receipt_v2,
)
from .encoding import is_text
from .events import SignedEvent, check_key, check_work_id, parse_leaf
from .identity import Vouching, is_key_record_id, key_record_id
from .keystate import KeyLookup, affected, effective, reachable
from .note import Verifier
from .rules import Decision, WorkState, apply, may, same_decision
from .similarity import MAX_DISTANCE, ContentCode
from .vouch import granter, vouch

COMPLIANCE_RECEIPT_FORMAT = "provenance-ledger/compliance-receipt/v1"
COMPLIANCE_RECEIPT_FORMAT_V2 = "provenance-ledger/compliance-receipt/v2"
COMPLIANCE_RECEIPT_FORMATS = (COMPLIANCE_RECEIPT_FORMAT, COMPLIANCE_RECEIPT_FORMAT_V2)
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
_FIELDS_V2 = _FIELDS | {"trust"}
_ITEM_FIELDS = frozenset({"name", "work", "similar", "decision"})
_ITEM_FIELDS_V2 = _ITEM_FIELDS | {"granted_by"}
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
    """``provenance-ledger/compliance-receipt/v1`` (specs/receipts.md section 14); with
    ``trust``, ``.../v2`` (section 14.3): the verifier's trust policy, and the key records
    listed after the works."""

    question: Question
    items: tuple[Item, ...]
    state_receipt: StateReceiptV2
    trust: Trust | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.items) <= MAX_COMPLIANCE_ITEMS:
            raise ValueError(f"a compliance receipt lists 1 to {MAX_COMPLIANCE_ITEMS} items")
        if not _lists_works(self.items, self.state_receipt, self.trust is not None):
            raise ValueError("the state receipt must list the items' distinct works, in the "
                             "order they are first named (v2: then only key records)")

    @property
    def format(self) -> str:
        return COMPLIANCE_RECEIPT_FORMAT if self.trust is None else COMPLIANCE_RECEIPT_FORMAT_V2

    def to_json(self, decoded: bool = True) -> dict[str, Any]:
        """The receipt as JSON; with ``decoded``, each item's decision and the summary, for
        people (the state receipt's own informative members only while it is small)."""
        q = self.question
        items: list[dict[str, Any]] = []
        outcomes = []
        answers: dict[int, ItemAnswer] = {}
        if decoded:
            answers = dict(enumerate(_unverified_answers(self)))
        for n, i in enumerate(self.items):
            item = i.to_json()
            if decoded:
                a = answers[n]
                item["decision"] = a.decision.to_json()
                if self.trust is not None:
                    item["granted_by"] = (None if a.vouching is None
                                          else a.vouching.to_json())
                outcomes.append(a.outcome)
            items.append(item)
        out: dict[str, Any] = {
            "format": self.format, "scope": COMPLIANCE_RECEIPT_SCOPE,
            "question": q.to_json(), "items": items,
            "state_receipt": self.state_receipt.to_json(
                decoded and len(self.state_receipt.works) <= DECODED_STATE_WORKS)}
        if self.trust is not None:
            out["trust"] = self.trust.to_json()
        if decoded:
            out["summary"] = summarize(outcomes)
        return out

    @classmethod
    def from_json(cls, data: Any) -> ComplianceReceipt:
        if not isinstance(data, dict) or data.get("format") not in COMPLIANCE_RECEIPT_FORMATS:
            raise MalformedError(f"compliance receipt format is not {COMPLIANCE_RECEIPT_FORMAT} "
                                 f"nor {COMPLIANCE_RECEIPT_FORMAT_V2}")
        v2 = data["format"] == COMPLIANCE_RECEIPT_FORMAT_V2
        unknown = data.keys() - (_FIELDS_V2 if v2 else _FIELDS)
        if unknown:
            raise MalformedError(
                f"compliance receipt has unknown field {quoted(sorted(unknown)[0])}")
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
            unknown = it.keys() - (_ITEM_FIELDS_V2 if v2 else _ITEM_FIELDS)
            if unknown:
                raise MalformedError(f"{where} has unknown field {quoted(sorted(unknown)[0])}")
            for member in ("decision", "granted_by"):
                if it.get(member) is not None and not isinstance(it[member], dict):
                    raise MalformedError(f"{where}: {member} is not an object or null")
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
        trust = Trust.from_json(data.get("trust")) if v2 else None
        sr = StateReceiptV2.from_json(data.get("state_receipt"))
        if not _lists_works(items, sr, v2):
            raise MalformedError("the state receipt does not list exactly the items' distinct "
                                 "works in the order they are first named (an item or a work "
                                 "was added or dropped)")
        return cls(question, tuple(items), sr, trust)


DECODED_STATE_WORKS = 100
"""Up to this many works, the embedded state receipt keeps its own informative members."""


def build_compliance_receipt(question: Question, items: Sequence[Item | tuple[str, str]],
                             state_receipt: StateReceiptV2,
                             trust: Trust | None = None) -> ComplianceReceipt:
    """A compliance receipt from the question, the items in dataset order (an
    :class:`Item`, or ``(name, work)`` for an exact one), and a state receipt v2 of their
    distinct works in first-named order (one snapshot: ``Ledger.complete_state_receipt`` or a
    node's batch); with ``trust``, a v2 receipt, whose state receipt lists after the works the
    key records of :func:`needed_keys`."""
    return ComplianceReceipt(question, tuple(i if isinstance(i, Item) else Item(*i)
                                             for i in items), state_receipt, trust)


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemAnswer:
    """One item's re-derived answer: its name, its work's verified state (None: not
    registered as of the checkpoint), the decision and the outcome."""

    name: str
    work: str | None
    state: WorkState | None
    decision: Decision
    vouching: Vouching | None = None  # v2: who granted an allowed item, who vouches for it

    @property
    def outcome(self) -> str:
        return outcome(self.decision, self.state)


@dataclass(frozen=True, slots=True)
class VerifiedCompliance:
    """What a compliance receipt proves once verified."""

    question: Question
    current: VerifiedStateV2
    answers: tuple[ItemAnswer, ...]
    trust: Trust | None = None

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
    if not _lists_works(receipt.items, receipt.state_receipt, receipt.trust is not None):
        raise VerificationError("the state receipt does not list exactly the items' works")
    # step 3: every similar match's distance, from the matched work's proven registration.
    check_similar(receipt.items, current.works)
    named = [(i.name, i.work) for i in receipt.items]
    if receipt.trust is None:
        # step 4: each item's answer from its work's proven state.
        states = {w.work: w.state for w in current.works}
        answers = decide_items(receipt.question, named, states)
        return VerifiedCompliance(receipt.question, current, answers)
    # v2, section 14.3 steps 4a-4b: every key record the answers read is proven, then each
    # answer with the key records and the trust policy recorded.
    works = {w.work: w for w in current.works}
    for w in current.works:
        if w.state is None or is_key_record_id(w.work):
            continue
        missing = [k for k in needed_keys(w.state, current.key_record)
                   if not current.proves_key(k)]
        if missing:
            raise VerificationError(
                f"the receipt does not list the key record of {missing[0]} "
                f"({key_record_id(missing[0])}), a key that controlled {w.work}: who granted "
                "it, its attestations, a rotation or a compromise could be left out")
    answers = decide_items_v2(receipt.question, named,
                              {k: (w.state, w.events) for k, w in works.items()},
                              current.key_record, receipt.trust)
    return VerifiedCompliance(receipt.question, current, answers, receipt.trust)


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
        if raw.get("decision") is not None and not same_decision(raw["decision"], a.decision):
            raise VerificationError(
                f"item {n} ({a.name}): the receipt's decision is not what the rules give: "
                "they say " + ("allowed" if a.decision.allowed else "not allowed")
                + f" ({a.decision.reason})")
        given = raw.get("granted_by")
        if given is not None and (a.vouching is None or given != a.vouching.to_json()):
            raise VerificationError(
                f"item {n} ({a.name}): the receipt's granted_by is not what the proven key "
                "records give: " + (a.vouching.describe() if a.vouching is not None
                                    else "no key granted it"))
    if data.get("summary") is not None and data["summary"] != verified.summary:
        raise VerificationError("the receipt's summary is not the count of the answers the "
                                f"rules give ({verified.summary})")


# --- version 2: whose grant counts (specs/receipts.md section 14.3) ------------------------------

_TRUST_FIELDS = frozenset({"require_attested", "attesters"})


@dataclass(frozen=True, slots=True)
class Trust:
    """The trust policy a v2 receipt's answers were given under (specs/rules.md section 8):
    whether a grant must come from a key a trusted attester vouches for, and those attesters
    (distinct, sorted). It is the asker's policy, recorded so that ``verify`` re-derives the
    same verdict offline; a verifier of other trust re-checks with its own."""

    require_attested: bool
    attesters: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if tuple(sorted(set(self.attesters))) != self.attesters:
            raise ValueError("trusted attesters must be distinct and sorted")
        if self.require_attested and not self.attesters:
            raise ValueError("require_attested needs at least one trusted attester")

    def to_json(self) -> dict[str, Any]:
        return {"require_attested": self.require_attested, "attesters": list(self.attesters)}

    @classmethod
    def from_json(cls, data: Any) -> Trust:
        if data is None:
            raise MalformedError(f"a receipt of format {COMPLIANCE_RECEIPT_FORMAT_V2} must have "
                                 "its trust member")
        if not isinstance(data, dict) or data.keys() != _TRUST_FIELDS:
            raise MalformedError("compliance receipt trust must be an object of exactly "
                                 "require_attested, attesters")
        flag, keys = data["require_attested"], data["attesters"]
        if not isinstance(flag, bool) or not isinstance(keys, list) or len(keys) > MAX_ATTESTERS:
            raise MalformedError("compliance receipt trust: require_attested must be true or "
                                 f"false and attesters a list of at most {MAX_ATTESTERS} keys")
        for k in keys:
            check_key(k, "compliance receipt trusted attester")
        try:
            return cls(flag, tuple(keys))
        except ValueError as e:
            raise MalformedError(f"compliance receipt trust: {e}") from e


MAX_ATTESTERS = 64
"""Most trusted attesters a v2 receipt records."""


def _lists_works(items: Sequence[Item], sr: StateReceiptV2, v2: bool) -> bool:
    """Section 14.1 step 1 (and 14.3): the state receipt lists the items' distinct works in
    first-named order; a v2 receipt then only key records."""
    works = distinct_works(items)
    listed = tuple(w.work for w in sr.works)
    if not v2:
        return listed == works
    return listed[:len(works)] == works and all(is_key_record_id(w)
                                                for w in listed[len(works):])


def needed_keys(state: WorkState, lookup: KeyLookup) -> tuple[str, ...]:
    """The keys whose records a v2 receipt lists for a registered work: every key reachable
    (any logged rotation) from each key that controlled it. The granting key of an allowed
    answer is among them (the holder of a controller), and so is every key whose rotation or
    compromise changes the answer."""
    out: dict[str, None] = {}
    for k, _ in state.controllers:
        out.update(dict.fromkeys(reachable(k, lookup)))
    return tuple(out)


def decide_items_v2(question: Question, items: Sequence[tuple[str, str | None]],
                    works: Mapping[str, tuple[WorkState | None, Sequence[SignedEvent]]],
                    lookup: KeyLookup, trust: Trust) -> tuple[ItemAnswer, ...]:
    """Each item's answer with the key records (specs/rules.md section 9: the effective
    state, the controller read through its rotations) and the trust policy (section 8: who
    granted it, who vouches for that key; with ``require_attested`` an allowed answer whose
    granting key no trusted attester vouches for is not allowed). ``works``: each work named,
    its replayed state (None: not registered) and its events."""
    q = question
    decided: dict[str, tuple[Decision, Vouching | None]] = {}
    out = []
    for name, work in items:
        state, events = works[work] if work is not None else (None, ())
        if work is not None and work not in decided:
            eff = state
            if state is not None and affected(state, lookup):
                eff = effective(events, lookup, apply).state
            d = may(eff, q.key, q.purpose, q.at, keys=lookup)
            by = granter(eff, d, q.at, lookup)
            v = vouch(eff, d, q.at, lookup(by) if by else None, trust.attesters,
                      trust.require_attested, lookup)
            decided[work] = (v.decision, v.vouching)
        d, vouching_ = decided[work] if work is not None else (may(None, q.key, q.purpose, q.at),
                                                               None)
        out.append(ItemAnswer(name, work, state, d, vouching_))
    return tuple(out)


def _unverified_answers(receipt: ComplianceReceipt) -> tuple[ItemAnswer, ...]:
    """The answers for the members a builder writes (signatures and proofs unchecked:
    :func:`verify_compliance_receipt` checks them)."""
    named = [(i.name, i.work) for i in receipt.items]
    works = receipt.state_receipt.works
    if receipt.trust is None:
        return decide_items(receipt.question, named,
                            {w.work: replay_unverified(w.events) for w in works})
    lookup = _records_of(works)
    replayed = {w.work: (replay_unverified(w.events, lookup),
                         [parse_leaf(e.leaf, verify=False) for e in w.events])
                for w in works if not is_key_record_id(w.work)}
    return decide_items_v2(receipt.question, named, replayed, lookup, receipt.trust)
