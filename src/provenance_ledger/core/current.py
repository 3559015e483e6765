"""Proofs of current state: state receipts v2 and decision receipts (specs/receipts.md
sections 11-13).

A state receipt v2 carries a checkpoint with a map line (specs/map.md section 8), one map
proof (section 4) for every work it lists, and each listed work's events with their inclusion
proofs. The map proof says, for each work, either that the log had no event of it up to the
checkpoint's size, or which event was its last (``head``, ``count``, ``index``); the events,
replayed from the registration on, must end exactly there. So the receipt proves that no later
event of the work exists up to that size: what a state receipt v1 cannot prove. A decision
receipt is a question (key, purpose, time) and a state receipt v2 of one work; its verifier
re-derives the answer of ``may`` (specs/rules.md section 5) offline.

Nothing here does I/O: the builders take the checkpoint note, the map proof and the events
the ledger read, and the verifiers take the parsed JSON and trusted keys. Freshness (how old
"current" is, section 13): :func:`fresh_as_of` gives the time a proof is fresh as of, and the
caller compares it with its own clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..errors import MalformedError, RuleError, VerificationError, quoted
from .encoding import b64decode, b64encode
from .events import ANYONE, SignedEvent, check_key, check_purpose, check_work_id, parse_leaf
from .identity import KeyRecord, is_key_record_id, key_record_id
from .keystate import KeyLookup, affected, effective, reachable
from .merkle import HASH_SIZE, leaf_hash, verify_inclusion
from .note import Checkpoint, SignedNote, Verifier
from .receipt import (
    MAX_PROOF_HASHES,
    MAX_STATE_EVENTS,
    check_log_key,
    verify_checkpoint_note,
)
from .rules import Decision, WorkState, apply, may, same_decision
from .timefmt import format_time, parse_time
from .vmap import MAX_PROOF_BYTES, MapValue, map_key, verify_map_proof

STATE_RECEIPT_V2_FORMAT = "provenance-ledger/state-receipt/v2"
DECISION_RECEIPT_FORMAT = "provenance-ledger/decision-receipt/v1"

MAX_CURRENT_WORKS = 10_000
"""Most works one state receipt v2 may list (specs/receipts.md section 8)."""
MAX_CURRENT_EVENTS = 100_000
"""Most events, over all its works, one state receipt v2 may carry."""
MAX_CURRENT_RECEIPT_BYTES = 64 << 20
"""Largest state receipt v2 or decision receipt file accepted, in bytes."""

STATE_RECEIPT_V2_SCOPE = (
    "proves, for each work listed, either that the work was not registered on this log as of "
    "the checkpoint's tree size, or that these events, from its registration on, are all of "
    "its events in the log up to that tree size: no later event of the work exists up to that "
    "size; it proves nothing about events after that size")
DECISION_RECEIPT_SCOPE = (
    "proves the answer of the rules to this question, computed from all of the work's events "
    "in the log up to the checkpoint's tree size (or from its absence there): no later event "
    "of the work exists up to that size; it proves nothing about events after that size")

NO_KEY_RECORDS = ("this receipt holds no key records, so a rotation or compromise of the "
                  "controller's key is not ruled out")
"""The end of the statement of a decision receipt that proves no key state (``keys_proven``
false, section 12.1 step 2): its answer is from the events alone."""

_V2_FIELDS = frozenset({"format", "scope", "log_key", "checkpoint", "map_proof", "works"})
_WORK_FIELDS = frozenset({"work", "events", "state"})
_EVENT_FIELDS = frozenset({"leaf_index", "leaf", "inclusion_proof", "event"})
_DECISION_FIELDS = frozenset({"format", "scope", "question", "state_receipt", "decision"})
_QUESTION_FIELDS = frozenset({"key", "purpose", "at"})


# --- the formats -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProvenEvent:
    """One event of a work with its inclusion proof against the receipt's checkpoint."""

    leaf_index: int
    leaf: bytes
    inclusion_proof: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.leaf_index < 2**63 - 1:
            raise ValueError(f"leaf index {quoted(self.leaf_index)} out of range")
        if len(self.inclusion_proof) > MAX_PROOF_HASHES or any(
                len(h) != HASH_SIZE for h in self.inclusion_proof):
            raise ValueError(f"an inclusion proof is at most {MAX_PROOF_HASHES} 32-byte hashes")

    def to_json(self, decoded: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"leaf_index": self.leaf_index, "leaf": b64encode(self.leaf),
                               "inclusion_proof": [b64encode(h) for h in self.inclusion_proof]}
        if decoded:
            out["event"] = parse_leaf(self.leaf, verify=False).to_json()
        return out

    @classmethod
    def from_json(cls, data: Any, where: str) -> ProvenEvent:
        if not isinstance(data, dict):
            raise MalformedError(f"{where} is not a JSON object")
        unknown = data.keys() - _EVENT_FIELDS
        if unknown:
            raise MalformedError(f"{where} has unknown field {sorted(unknown)[0]!r}")
        index, leaf, proof = data.get("leaf_index"), data.get("leaf"), data.get("inclusion_proof")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 2**63 - 1:
            raise MalformedError(f"{where}: leaf_index is missing or not a leaf index")
        if not isinstance(leaf, str):
            raise MalformedError(f"{where}: leaf is missing or not a string")
        if (not isinstance(proof, list) or len(proof) > MAX_PROOF_HASHES
                or not all(isinstance(h, str) for h in proof)):
            raise MalformedError(f"{where}: inclusion_proof must be a list of at most "
                                 f"{MAX_PROOF_HASHES} base64 hashes")
        return cls(index, b64decode(leaf, f"{where} leaf"),
                   tuple(b64decode(h, f"{where} inclusion proof hash", HASH_SIZE) for h in proof))


@dataclass(frozen=True, slots=True)
class WorkHistory:
    """A work and all its events up to the checkpoint (none: the work is not in the log)."""

    work: str
    events: tuple[ProvenEvent, ...]

    def __post_init__(self) -> None:
        map_key(self.work)  # a work id, else MalformedError
        if len(self.events) > MAX_STATE_EVENTS:
            raise ValueError(f"a work's history is at most {MAX_STATE_EVENTS} events")


@dataclass(frozen=True, slots=True)
class StateReceiptV2:
    """``provenance-ledger/state-receipt/v2`` (specs/receipts.md section 11): the complete
    state of one or more works as of a checkpoint with a map line."""

    log_key: str
    checkpoint: str
    map_proof: bytes
    works: tuple[WorkHistory, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.works) <= MAX_CURRENT_WORKS:
            raise ValueError(f"a state receipt v2 lists 1 to {MAX_CURRENT_WORKS} works")
        if len({w.work for w in self.works}) != len(self.works):
            raise ValueError("a state receipt v2 lists a work twice")
        if sum(len(w.events) for w in self.works) > MAX_CURRENT_EVENTS:
            raise ValueError(f"a state receipt v2 carries at most {MAX_CURRENT_EVENTS} events")
        if len(self.map_proof) > MAX_PROOF_BYTES:
            raise ValueError(f"a map proof is at most {MAX_PROOF_BYTES} bytes")

    def to_json(self, decoded: bool = True) -> dict[str, Any]:
        """The receipt as JSON. With ``decoded`` (the default), each event's decoded ``event``
        and each work's ``state`` (from a replay of its events) are written for people; a
        batch of many works may leave them out to halve its size."""
        works = []
        records = _records_of(self.works)  # key records listed here (rules.md section 9)
        for w in self.works:
            item: dict[str, Any] = {"work": w.work,
                                    "events": [e.to_json(decoded) for e in w.events]}
            if decoded:
                try:
                    state = replay_unverified(w.events, records)
                except RuleError:  # signed by a rotated-to key whose record is not listed
                    state = None
                item["state"] = None if state is None else state.to_json()
            works.append(item)
        return {"format": STATE_RECEIPT_V2_FORMAT, "scope": STATE_RECEIPT_V2_SCOPE,
                "log_key": self.log_key, "checkpoint": self.checkpoint,
                "map_proof": b64encode(self.map_proof), "works": works}

    @classmethod
    def from_json(cls, data: Any) -> StateReceiptV2:
        if not isinstance(data, dict) or data.get("format") != STATE_RECEIPT_V2_FORMAT:
            raise MalformedError(f"state receipt format is not {STATE_RECEIPT_V2_FORMAT}")
        unknown = data.keys() - _V2_FIELDS
        if unknown:
            raise MalformedError(f"state receipt has unknown field {sorted(unknown)[0]!r}")
        for name in ("log_key", "checkpoint", "map_proof"):
            if not isinstance(data.get(name), str):
                raise MalformedError(f"state receipt field {name!r} is missing or not a string")
        if len(data["map_proof"]) > (MAX_PROOF_BYTES + 2) // 3 * 4:
            raise MalformedError(f"state receipt map_proof is larger than {MAX_PROOF_BYTES} "
                                 "bytes")
        raw_works = data.get("works")
        if not isinstance(raw_works, list) or not 1 <= len(raw_works) <= MAX_CURRENT_WORKS:
            raise MalformedError(f"state receipt must list 1 to {MAX_CURRENT_WORKS} works")
        works = []
        total = 0
        for n, w in enumerate(raw_works):
            if not isinstance(w, dict):
                raise MalformedError(f"state receipt work {n} is not a JSON object")
            unknown = w.keys() - _WORK_FIELDS
            if unknown:
                raise MalformedError(f"state receipt work {n} has unknown field "
                                     f"{sorted(unknown)[0]!r}")
            work = check_work_id(w.get("work"), f"state receipt work {n}")
            events = w.get("events")
            if not isinstance(events, list) or len(events) > MAX_STATE_EVENTS:
                raise MalformedError(f"state receipt work {n}: events must be a list of at most "
                                     f"{MAX_STATE_EVENTS} events")
            total += len(events)
            if total > MAX_CURRENT_EVENTS:
                raise MalformedError(f"state receipt carries more than {MAX_CURRENT_EVENTS} "
                                     "events")
            if "state" in w and w["state"] is not None and not isinstance(w["state"], dict):
                raise MalformedError(f"state receipt work {n}: state is not an object or null")
            works.append(WorkHistory(work, tuple(
                ProvenEvent.from_json(e, f"state receipt work {n} event {i}")
                for i, e in enumerate(events))))
        if len({w.work for w in works}) != len(works):
            raise MalformedError("state receipt lists a work twice")
        return cls(data["log_key"], data["checkpoint"],
                   b64decode(data["map_proof"], "state receipt map_proof"), tuple(works))


@dataclass(frozen=True, slots=True)
class Question:
    """What a decision receipt answers: may ``key`` use the work for ``purpose`` at ``at``?"""

    key: str
    purpose: str
    at: int

    def __post_init__(self) -> None:
        try:
            check_key(self.key, "question key")
            check_purpose(self.purpose, "question purpose")
            format_time(self.at)
        except (MalformedError, ValueError) as e:
            raise ValueError(str(e)) from e

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "purpose": self.purpose, "at": format_time(self.at)}

    @classmethod
    def from_json(cls, data: Any) -> Question:
        if not isinstance(data, dict):
            raise MalformedError("decision receipt question is not a JSON object")
        unknown = data.keys() - _QUESTION_FIELDS
        if unknown:
            raise MalformedError(f"decision receipt question has unknown field "
                                 f"{sorted(unknown)[0]!r}")
        check_key(data.get("key"), "decision receipt question key")
        check_purpose(data.get("purpose"), "decision receipt question purpose")
        at = data.get("at")
        if not isinstance(at, str):
            raise MalformedError("decision receipt question at is missing or not a time")
        return cls(data["key"], data["purpose"], parse_time(at, "decision receipt question at"))


@dataclass(frozen=True, slots=True)
class DecisionReceipt:
    """``provenance-ledger/decision-receipt/v1`` (specs/receipts.md section 12): a question
    and the complete state of the one work it is about, as a state receipt v2, followed by
    the records of the keys its control passed through (specs/rules.md section 9)."""

    question: Question
    state_receipt: StateReceiptV2

    def __post_init__(self) -> None:
        works = self.state_receipt.works
        if not works or any(not is_key_record_id(w.work) for w in works[1:]):
            raise ValueError("a decision receipt's state receipt lists one work, then only "
                             "key records")

    @property
    def work(self) -> str:
        return self.state_receipt.works[0].work

    def to_json(self, decoded: bool = True) -> dict[str, Any]:
        """The receipt as JSON; with ``decoded``, the informative state and decision too."""
        out: dict[str, Any] = {"format": DECISION_RECEIPT_FORMAT, "scope": DECISION_RECEIPT_SCOPE,
                               "question": self.question.to_json(),
                               "state_receipt": self.state_receipt.to_json(decoded)}
        if decoded:
            out["decision"] = _unverified_decision(self).to_json()
        return out

    @classmethod
    def from_json(cls, data: Any) -> DecisionReceipt:
        if not isinstance(data, dict) or data.get("format") != DECISION_RECEIPT_FORMAT:
            raise MalformedError(f"decision receipt format is not {DECISION_RECEIPT_FORMAT}")
        unknown = data.keys() - _DECISION_FIELDS
        if unknown:
            raise MalformedError(f"decision receipt has unknown field {sorted(unknown)[0]!r}")
        if "decision" in data and data["decision"] is not None and not isinstance(
                data["decision"], dict):
            raise MalformedError("decision receipt decision is not an object or null")
        question = Question.from_json(data.get("question"))
        sr = StateReceiptV2.from_json(data.get("state_receipt"))
        # the work, then only key records (specs/receipts.md section 12, rules.md section 9)
        if not sr.works or any(not is_key_record_id(w.work) for w in sr.works[1:]):
            raise MalformedError("a decision receipt's state receipt must list one work, then "
                                 "only key records")
        return cls(question, sr)


# --- builders (what the ledger calls) --------------------------------------------------------


def build_state_receipt_v2(
    log_key: str, checkpoint_note: str, map_proof: bytes,
    works: Iterable[tuple[str, Sequence[tuple[int, bytes, Sequence[bytes]]]]],
) -> StateReceiptV2:
    """A state receipt v2 from what the ledger read in one snapshot: its vkey, the signed
    checkpoint note (with its map line and any cosignatures), the map proof for the keys of
    all ``works`` at that checkpoint (``vmap.prove``), and for each work, in the order to be
    listed, its events ``(leaf_index, leaf, inclusion proof)`` in log order: all of them, or
    none for a work the map holds no entry for. The result is checked for shape only; the
    ledger verifies it with :func:`verify_state_receipt_v2` before handing it out if it
    wants to."""
    cp = Checkpoint.from_text(SignedNote.from_text(checkpoint_note).text)
    if cp.map_root is None:
        raise ValueError("the checkpoint has no map line: a state receipt v2 needs one")
    histories = tuple(
        WorkHistory(work, tuple(ProvenEvent(i, bytes(leaf), tuple(proof))
                                for i, leaf, proof in events))
        for work, events in works)
    return StateReceiptV2(log_key, checkpoint_note, bytes(map_proof), histories)


def build_decision_receipt(
    log_key: str, checkpoint_note: str, map_proof: bytes, work: str,
    events: Sequence[tuple[int, bytes, Sequence[bytes]]], key: str, purpose: str, at: int,
) -> DecisionReceipt:
    """A decision receipt: the question (``key``, ``purpose``, ``at``) and the one work's
    state receipt v2 (arguments as :func:`build_state_receipt_v2`, ``map_proof`` for the
    one work's key)."""
    sr = build_state_receipt_v2(log_key, checkpoint_note, map_proof, [(work, events)])
    return DecisionReceipt(Question(key, purpose, at), sr)


def _records_of(works: Sequence[WorkHistory]) -> KeyLookup:
    """The key records listed among ``works``, replayed unverified (informative members)."""
    listed = {w.work: w for w in works}

    def lookup(key: str) -> KeyRecord | None:
        w = listed.get(key_record_id(key))
        st = replay_unverified(w.events) if w is not None else None
        return None if st is None else st.identity

    return lookup


def _unverified_decision(receipt: DecisionReceipt) -> Decision:
    works = receipt.state_receipt.works
    lookup = _records_of(works)
    try:
        state = replay_unverified(works[0].events, lookup)
    except RuleError as e:  # the builder checks with verify_decision_receipt; say why here
        return Decision(False, f"the work's events do not replay: {e}")
    events = [parse_leaf(e.leaf, verify=False) for e in works[0].events]
    return decide_with_keys(state, events, receipt.question, lookup)


def decide_with_keys(state: WorkState | None, events: Sequence[SignedEvent], q: Question,
                     lookup: KeyLookup) -> Decision:
    """The answer of specs/receipts.md section 12.1 step 2 with the key records listed
    (rules.md section 9): from the events that count, the controller read through its key's
    rotations."""
    return may(counted_state(state, events, lookup), q.key, q.purpose, q.at, keys=lookup)


def counted_state(state: WorkState | None, events: Sequence[SignedEvent],
                  lookup: KeyLookup) -> WorkState | None:
    """The state a decision is answered from, and its citations read (rules.md section 9,
    R22): the replay of the events that count, ``state`` itself when none may not."""
    if state is not None and affected(state, lookup):
        counted: WorkState | None = effective(events, lookup, apply).state
        return counted
    return state


def replay_unverified(events: Iterable[ProvenEvent],
                      keys: KeyLookup | None = None) -> WorkState | None:
    """The state the events give, for the informative members a builder writes; signatures
    and proofs are not checked here (:func:`verify_state_receipt_v2` does that)."""
    state: WorkState | None = None
    for e in events:
        state = apply(state, parse_leaf(e.leaf, verify=False), keys=keys)
    return state


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrentWork:
    """One work as a verified state receipt v2 proves it, as of the checkpoint: its state
    replayed from all its events, or None when the log held no event of it."""

    work: str
    state: WorkState | None
    events: tuple[SignedEvent, ...]
    value: MapValue | None

    @property
    def registered(self) -> bool:
        return self.state is not None


@dataclass(frozen=True, slots=True)
class VerifiedStateV2:
    """What a state receipt v2 proves once verified."""

    checkpoint: Checkpoint
    cosigners: Mapping[str, int]  # witness name -> cosignature time; read-only
    works: tuple[CurrentWork, ...]

    @property
    def map_root(self) -> bytes:
        assert self.checkpoint.map_root is not None  # noqa: S101 - verified to be there
        return self.checkpoint.map_root

    def key_record(self, key: str) -> KeyRecord | None:
        """The record of ``key`` as this receipt proves it (None: absent, or not listed)."""
        rid = key_record_id(key)
        w = next((w for w in self.works if w.work == rid), None)
        return None if w is None or w.state is None else w.state.identity

    def proves_key(self, key: str) -> bool:
        """Does this receipt prove ``key``'s record (present or absent) at its checkpoint?"""
        rid = key_record_id(key)
        return any(w.work == rid for w in self.works)


@dataclass(frozen=True, slots=True)
class VerifiedDecision:
    """What a decision receipt proves once verified: the answer to its question as of its
    checkpoint, from the work's complete state there."""

    question: Question
    current: VerifiedStateV2
    decision: Decision
    keys_proven: bool = False
    """The receipt proves, as of its checkpoint, the record of every key the controller's
    control passed through at the question's time: none rotated away unseen, none declared
    compromised unseen (specs/receipts.md section 12.1 step 2)."""

    @property
    def work(self) -> CurrentWork:
        return self.current.works[0]

    @property
    def answered_from(self) -> WorkState | None:
        """The work's state the answer is computed from: its events that count (R22)."""
        w = self.work
        return counted_state(w.state, w.events, self.current.key_record)


def verify_state_receipt_v2(
    receipt: StateReceiptV2, log_keys: Sequence[Verifier],
    witnesses: Mapping[str, Verifier] | None = None,
    keys: KeyLookup | None = None,
) -> VerifiedStateV2:
    """Verify a state receipt v2 offline (specs/receipts.md section 11.2). A work's events
    signed by a key its controller was rotated to (specs/rules.md section 9) replay with the
    key records listed in the same receipt, else with those ``keys`` gives."""
    # (1) one checkpoint, signed by a trusted log key; its valid cosignatures.
    cp, _, cosigners = verify_checkpoint_note(receipt.checkpoint, log_keys, witnesses)
    check_log_key(receipt.log_key, cp, log_keys)
    # (2) it carries the map root at its size.
    if cp.map_root is None:
        raise VerificationError(
            f"checkpoint {cp.size} of {cp.origin} has no map line: it proves no current state")
    # (3) one map proof for the keys of all works listed.
    map_keys = [map_key(w.work) for w in receipt.works]
    try:
        values = verify_map_proof(cp.map_root, map_keys, receipt.map_proof)
    except (VerificationError, MalformedError) as e:
        raise VerificationError(f"map proof: {e}") from e
    listed = {w.work: (w, values[k]) for w, k in zip(receipt.works, map_keys, strict=True)}
    done: dict[str, CurrentWork] = {}

    def verified(work: str) -> CurrentWork:
        if work not in done:  # a key record is verified when first looked up
            w, value = listed[work]
            done[work] = _verify_work(w, value, cp, lookup)
        return done[work]

    def lookup(key: str) -> KeyRecord | None:
        rid = key_record_id(key)
        if rid in listed:  # proven by this receipt's map proof: present, or absent
            state = verified(rid).state
            return None if state is None else state.identity
        return None if keys is None else keys(key)

    results = [verified(w.work) for w in receipt.works]
    return VerifiedStateV2(cp, MappingProxyType(cosigners), tuple(results))


def _verify_work(w: WorkHistory, value: MapValue | None, cp: Checkpoint,
                 keys: KeyLookup | None = None) -> CurrentWork:
    # (4) an absent work: no events.
    if value is None:
        if w.events:
            raise VerificationError(f"the map proves {w.work} absent at size {cp.size}, but "
                                    f"the receipt lists {len(w.events)} events of it")
        return CurrentWork(w.work, None, (), None)
    if not w.events:
        raise VerificationError(f"the map holds {w.work} at size {cp.size} ({value.count} "
                                "events), but the receipt lists none of them")
    state: WorkState | None = None
    events: list[SignedEvent] = []
    last = -1
    for e in w.events:
        # (5) each event: log order, strict leaf and signature, this work, in the tree.
        if e.leaf_index <= last:
            raise VerificationError(f"{w.work}: events are not in log order at index "
                                    f"{e.leaf_index}")
        last = e.leaf_index
        event = parse_leaf(e.leaf)
        if event.event.work != w.work:
            raise VerificationError(f"event at index {e.leaf_index} is about another work "
                                    f"than {w.work}")
        if e.leaf_index >= cp.size:
            raise VerificationError(f"leaf index {quoted(e.leaf_index)} is not below checkpoint "
                                    f"size {cp.size}")
        try:
            verify_inclusion(e.leaf_index, cp.size, leaf_hash(e.leaf), e.inclusion_proof,
                             cp.root)
        except VerificationError as err:
            raise VerificationError(f"event at index {e.leaf_index}: inclusion proof: {err}"
                                    ) from err
        # (6) the rules accept it on a replay from nothing.
        try:
            state = apply(state, event, keys=keys)
        except RuleError as err:
            raise VerificationError(f"event at index {e.leaf_index} breaks the rules: {err}"
                                    ) from err
        events.append(event)
    # (7) the last event is the one the map names: nothing of the work was left out.
    head = events[-1]
    if (bytes.fromhex(head.id) != value.head or value.index != last
            or value.count != len(events)):
        raise VerificationError(
            f"{w.work}: the map says its last event is {value.head.hex()} at index "
            f"{value.index} ({value.count} events), the receipt ends with {head.id} at index "
            f"{last} ({len(events)} events): events were left out or added")
    return CurrentWork(w.work, state, tuple(events), value)


def verify_decision_receipt(
    receipt: DecisionReceipt, log_keys: Sequence[Verifier],
    witnesses: Mapping[str, Verifier] | None = None,
) -> VerifiedDecision:
    """Verify a decision receipt offline and re-derive its answer (specs/receipts.md
    section 12.1)."""
    current = verify_state_receipt_v2(receipt.state_receipt, log_keys, witnesses)
    q = receipt.question
    work = current.works[0]
    decision = decide_with_keys(work.state, work.events, q, current.key_record)
    return VerifiedDecision(q, current, decision, check_decision_keys(current))


def decision_keys(state: WorkState | None, lookup: KeyLookup) -> tuple[str, ...]:
    """The keys whose records a decision about ``state`` relies on (specs/receipts.md section
    12.2): every key reachable (specs/rules.md section 9, any logged rotation) from each key
    the work names in a role: its controllers, its grants' grantees, its licences' licensees
    and its payments' payees. Who holds a grant, a licence or control at the question's time,
    and which signatures count (R22), are read from these records and no others; the key
    asking is among them whenever its record can change the answer. In first-named order."""
    if state is None or state.identity is not None or state.dataset is not None:
        return ()
    roles: dict[str, None] = dict.fromkeys(k for k, _ in state.controllers)
    roles.update(dict.fromkeys(g.grantee for g in state.grants if g.grantee != ANYONE))
    roles.update(dict.fromkeys(x.licensee for x in state.licences))
    roles.update(dict.fromkeys(p.payee for p in state.accounts.payments.values()))
    out: dict[str, None] = {}
    for k in roles:
        out.update(dict.fromkeys(reachable(k, lookup)))
    return tuple(out)


def check_decision_keys(current: VerifiedStateV2) -> bool:
    """specs/receipts.md section 12.2: does the receipt prove the key state its answer relies
    on? A receipt that lists no key record (as every receipt made before key records) does
    not, and answers without them; one that lists any MUST list every key of
    :func:`decision_keys`, read through the records it lists, else it does not verify (a
    rotation or a compromise of a grantee, a licensee or a controller could be left out)."""
    work = current.works[0]
    if len(current.works) == 1 or work.state is None:
        return False
    missing = [k for k in decision_keys(work.state, current.key_record)
               if not current.proves_key(k)]
    if missing:
        raise VerificationError(
            f"the receipt lists key records but not the record of {missing[0]}, a key the "
            "answer relies on: a rotation or a compromise of it could change the answer")
    return True


def check_decoded_current(data: Any, verified: VerifiedStateV2) -> None:
    """The members of a state receipt v2 written for people (its scope, decoded events and
    states) must say exactly what was verified (specs/receipts.md section 11.2, step 8)."""
    if not isinstance(data, dict):
        return
    if "scope" in data and data["scope"] != STATE_RECEIPT_V2_SCOPE:
        raise VerificationError("the receipt's scope is not the sentence of its format: it "
                                "would claim more or less than the receipt proves")
    for raw, w in zip(data.get("works", ()), verified.works, strict=False):
        for n, (e, ev) in enumerate(zip(raw.get("events", ()), w.events, strict=False)):
            if "event" in e and e["event"] != ev.to_json():
                raise VerificationError(f"{w.work}: decoded event {n} does not match its "
                                        "signed leaf")
        if raw.get("state") is not None and (
                w.state is None or raw["state"] != w.state.to_json()):
            raise VerificationError(f"{w.work}: the receipt's decoded state is not the state "
                                    "its events give")


def check_decoded_decision(data: Any, verified: VerifiedDecision) -> None:
    """The same for a decision receipt: its scope, its state receipt's decoded members and
    its decision (specs/receipts.md section 12.1, step 3)."""
    if not isinstance(data, dict):
        return
    if "scope" in data and data["scope"] != DECISION_RECEIPT_SCOPE:
        raise VerificationError("the receipt's scope is not the sentence of its format: it "
                                "would claim more or less than the receipt proves")
    check_decoded_current(data.get("state_receipt"), verified.current)
    if data.get("decision") is not None and not same_decision(data["decision"],
                                                                 verified.decision):
        raise VerificationError(
            "the receipt's decision is not what the rules give for its question: they say "
            + ("allowed" if verified.decision.allowed else "not allowed")
            + f" ({verified.decision.reason})")


# --- what a verified answer says -------------------------------------------------------------


def fresh_as_of(checkpoint: Checkpoint, cosigners: Mapping[str, int],
                witnesses_required: bool,
                quorum: Callable[[AbstractSet[str]], bool] | None = None) -> int:
    """The time a proof of current state is fresh as of (specs/receipts.md section 13).

    When the policy requires witnesses: the latest time ``T`` such that the witnesses whose
    counted cosignature is at ``T`` or later meet the ``quorum`` by themselves (a witness
    cosigns a checkpoint again while it is the latest, so this time moves on). So one
    witness, or a witness the quorum does not need, cannot make an old checkpoint fresh
    alone: as many witnesses must vouch for the time as for the checkpoint. A caller with a
    policy MUST pass its ``quorum``; without it (``None``) the newest counted cosignature
    counts, which is right only for a quorum of one witness. Without required witnesses:
    the checkpoint's block time, the log's own word."""
    if witnesses_required and cosigners:
        if quorum is None:
            return max(cosigners.values())
        for t in sorted(set(cosigners.values()), reverse=True):
            if quorum({w for w, ts in cosigners.items() if ts >= t}):
                return t
        raise VerificationError("the counted cosignatures do not meet the witness quorum")
    if checkpoint.block is None:  # pragma: no cover - a map line needs a block line
        raise VerificationError("the checkpoint has no block line and no counted cosignature")
    return checkpoint.block.time


def _later(ended: str, by: str | None, when: int | None, until: int | None) -> str:
    """What the citation of a grant or licence that answered "allowed" for an earlier time
    adds (specs/receipts.md section 12.1): that it ``ended`` since (revoked, terminated), or
    when it ends."""
    if by is not None and when is not None:
        return f", {ended} by {by} at {format_time(when)}, after the time asked"
    return f", which ends at {format_time(until)}" if until is not None else ""


def citations(decision: Decision, state: WorkState | None,
              at: int | None = None) -> tuple[str, ...]:
    """Each event a decision cites, in words: ``consent grant <id>``, ``licence <id> accepted
    in <id>``, ``controller head <id>``, and for a refusal why each cited grant or licence
    is not in force (``revoked by <id> at <time>``, ``expired at <time>``, ...).

    With the question's time ``at`` (specs/receipts.md section 12.1), an answer "allowed"
    also says what the state it is computed from holds after that time: the grant revoked,
    the licence terminated, or control passed to another key, all before the checkpoint, and
    when the grant or licence ends. An
    answer for a time before such an event is true for that time, and must not read as if it
    still held at the checkpoint."""
    if state is None:
        return ()
    if decision.allowed:
        # rules.may cites one grant, or a licence's offer and acceptance, or the head when
        # the key controls the work; its reason says which (the head may itself be a grant).
        if decision.reason.startswith("consent granted"):
            g = state.grant(decision.events[0])
            later = ("" if at is None or g is None
                     else _later("revoked", g.revoked_by, g.revoked_at, g.until))
            return (f"consent grant {decision.events[0]}{later}",)
        if decision.reason.startswith("licence in force"):
            x = next((x for x in state.licences if x.id == decision.events[0]), None)
            later = ("" if at is None or x is None
                     else _later("terminated", x.terminated_by, x.terminated_at, x.until))
            return (f"licence {decision.events[0]} accepted in {decision.events[-1]}{later}",)
        if at is not None and state.controller != state.controller_at(at):
            since = state.controllers[-1][1]
            return tuple(f"controller event {e} (the work's head; this key controlled the work "
                         f"at the time asked, and control passed to {state.controller} at "
                         f"{format_time(since)})" for e in decision.events)
        return tuple(f"controller event {e} (the work's head: this key controls it)"
                     for e in decision.events)
    words = []
    cited = set(decision.events)
    for g in state.grants:
        if g.id not in cited:
            continue
        if g.revoked_by is not None and g.revoked_at is not None:
            words.append(f"consent grant {g.id}, revoked by {g.revoked_by} at "
                         f"{format_time(g.revoked_at)}")
        elif g.until is not None:
            words.append(f"consent grant {g.id}, which ends at {format_time(g.until)}")
        else:
            words.append(f"consent grant {g.id}, in force from {format_time(g.at)}")
    for x in state.licences:
        if x.id not in cited:
            continue
        if x.terminated_by is not None and x.terminated_at is not None:
            words.append(f"licence {x.id}, terminated by {x.terminated_by} at "
                         f"{format_time(x.terminated_at)}")
        elif x.accepted_by is None:
            words.append(f"licence offer {x.id}, not accepted")
        else:
            words.append(f"licence {x.id}, not in force at that time")
    return tuple(words)
