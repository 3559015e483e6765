"""Receipts: what a creator keeps and a verifier checks offline (specs/receipts.md).

A receipt carries a signed checkpoint, the log's verifier key, the exact leaf bytes, the leaf
index and an inclusion proof, plus the decoded event for people and the same proof as a C2SP
tlog-proof text. :func:`verify_receipt` needs nothing but the receipt and trusted keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..errors import MalformedError, RuleError, VerificationError, quoted
from .encoding import b64decode, b64encode, load_json
from .events import SignedEvent, parse_leaf
from .merkle import HASH_SIZE, leaf_hash, verify_inclusion
from .note import SIG_TYPE_ED25519, Checkpoint, SignedNote, Verifier, verify_note
from .rules import WorkState, apply

RECEIPT_FORMAT = "provenance-ledger/receipt/v1"
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
MAX_RECEIPT_BYTES = 1 << 20
"""Largest receipt file accepted, in bytes."""
MAX_PROOF_HASHES = 64
_FIELDS = frozenset({"format", "log_key", "checkpoint", "leaf_index", "leaf",
                     "inclusion_proof", "event", "tlog_proof"})


@dataclass(frozen=True, slots=True)
class Receipt:
    """One event's proof of inclusion in a signed checkpoint."""

    log_key: str
    checkpoint: str
    leaf_index: int
    leaf: bytes
    inclusion_proof: tuple[bytes, ...]

    def tlog_proof(self) -> str:
        """The proof as C2SP tlog-proof text (c2sp.org/tlog-proof, draft)."""
        hashes = "".join(b64encode(h) + "\n" for h in self.inclusion_proof)
        return f"{TLOG_PROOF_HEADER}\nindex {self.leaf_index}\n{hashes}\n{self.checkpoint}"

    def to_json(self, event: SignedEvent | None = None) -> dict[str, Any]:
        """The receipt as JSON; ``event``, when the caller has it parsed, saves a re-parse."""
        if event is None or event.leaf != self.leaf:
            event = parse_leaf(self.leaf, verify=False)
        return {
            "format": RECEIPT_FORMAT,
            "log_key": self.log_key,
            "checkpoint": self.checkpoint,
            "leaf_index": self.leaf_index,
            "leaf": b64encode(self.leaf),
            "inclusion_proof": [b64encode(h) for h in self.inclusion_proof],
            "event": event.to_json(),
            "tlog_proof": self.tlog_proof(),
        }

    @classmethod
    def from_json(cls, data: Any) -> Receipt:
        if not isinstance(data, dict):
            raise MalformedError("receipt must be a JSON object")
        unknown = data.keys() - _FIELDS
        if unknown:
            raise MalformedError(f"receipt has unknown field {sorted(unknown)[0]!r}")
        if data.get("format") != RECEIPT_FORMAT:
            raise MalformedError(f"receipt format is not {RECEIPT_FORMAT}")
        for name, kind in (("log_key", str), ("checkpoint", str), ("leaf", str),
                           ("leaf_index", int), ("inclusion_proof", list)):
            if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
                raise MalformedError(f"receipt field {name!r} is missing or not a {kind.__name__}")
        proof = data["inclusion_proof"]
        if len(proof) > MAX_PROOF_HASHES or not all(isinstance(h, str) for h in proof):
            raise MalformedError("receipt inclusion_proof must be a list of base64 hashes")
        return cls(
            data["log_key"],
            data["checkpoint"],
            data["leaf_index"],
            b64decode(data["leaf"], "receipt leaf"),
            tuple(b64decode(h, "inclusion proof hash", HASH_SIZE) for h in proof),
        )


def load_receipt_json(raw: bytes, limit: int = MAX_RECEIPT_BYTES) -> Any:
    """Parse a receipt file's JSON, refusing more than ``limit`` bytes."""
    if len(raw) > limit:
        raise MalformedError(f"receipt is larger than {limit} bytes")
    return load_json(raw, "receipt")


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """What a receipt proves once verified."""

    event: SignedEvent
    checkpoint: Checkpoint
    leaf_index: int
    cosigners: Mapping[str, int]  # witness name (as the caller named it) -> time; read-only


def verify_checkpoint_note(
    note_text: str, log_keys: Sequence[Verifier], witnesses: Mapping[str, Verifier] | None = None
) -> tuple[Checkpoint, SignedNote, dict[str, int]]:
    """Verify a signed checkpoint: (1) a trusted log key whose name is the origin signed it;
    (2) return the checkpoint and the valid cosignatures among ``witnesses``, each witness
    key counted once, with its newest valid cosignature (specs/receipts.md section 3)."""
    note = SignedNote.from_text(note_text)
    cp = Checkpoint.from_text(note.text)
    # only a type 0x01 key signs as a log (specs/receipts.md section 1): a cosignature/v1
    # key named as the origin is a witness's, never the log's
    own = [v for v in log_keys if v.name == cp.origin and v.sig_type == SIG_TYPE_ED25519]
    if not own:
        raise VerificationError(f"no trusted log key for origin {cp.origin!r}")
    verify_note(note, own)
    cosigners: dict[str, int] = {}
    # witness public keys already counted; a log key never counts as a witness's
    seen: set[bytes] = {v.public_key.raw for v in log_keys}
    for wname, w in (witnesses or {}).items():
        # One key counts once, under the first local name that holds it: a policy naming
        # one witness twice must not let one cosignature count twice toward a quorum.
        if w.public_key.raw in seen:
            continue
        seen.add(w.public_key.raw)
        for sig in note.signatures:
            if w.matches(sig):
                try:
                    ts = w.verify(sig, note.text)
                except VerificationError:
                    continue  # a bad cosignature counts for nothing; the quorum decides
                # several valid cosignatures of one witness: its newest counts, whatever
                # the order of the lines
                if ts is not None and ts > cosigners.get(wname, -1):
                    cosigners[wname] = ts
    return cp, note, cosigners


def check_log_key(log_key: str, cp: Checkpoint, log_keys: Sequence[Verifier]) -> None:
    """The receipt's ``log_key`` is, as a string, a trusted key of the checkpoint's origin
    (specs/receipts.md section 3, step 3)."""
    if log_key not in {v.to_vkey() for v in log_keys if v.name == cp.origin}:
        raise VerificationError(
            f"the receipt's log key is not the trusted key of origin {cp.origin!r}")


def verify_receipt(
    receipt: Receipt, log_keys: Sequence[Verifier], witnesses: Mapping[str, Verifier] | None = None
) -> VerifiedReceipt:
    """Verify a receipt offline (specs/receipts.md section 3)."""
    # (1)-(2) the checkpoint is signed by a trusted log key named by its origin.
    cp, _, cosigners = verify_checkpoint_note(receipt.checkpoint, log_keys, witnesses)
    # (3) the receipt's log key is the trusted key of the checkpoint's origin.
    check_log_key(receipt.log_key, cp, log_keys)
    # (4) the leaf parses strictly and its actor's signature verifies.
    event = parse_leaf(receipt.leaf)
    # (5) the leaf is in the tree the checkpoint commits to.
    if not 0 <= receipt.leaf_index < cp.size:
        raise VerificationError(
            f"leaf index {quoted(receipt.leaf_index)} is not below checkpoint size {cp.size}")
    try:
        verify_inclusion(receipt.leaf_index, cp.size, leaf_hash(receipt.leaf),
                         receipt.inclusion_proof, cp.root)
    except VerificationError as e:
        raise VerificationError(f"inclusion proof: {e}") from e
    return VerifiedReceipt(event, cp, receipt.leaf_index, MappingProxyType(cosigners))


def check_decoded_event(data: Any, event: SignedEvent) -> None:
    """The parts written for people (``event``, ``tlog_proof``) must say exactly what the
    verified parts say, so that nobody is misled by an edited copy (specs/receipts.md 3)."""
    if not isinstance(data, dict):
        return
    if "event" in data and data["event"] != event.to_json():
        raise VerificationError("the receipt's decoded event does not match its signed leaf")
    if "tlog_proof" in data and data["tlog_proof"] != Receipt.from_json(data).tlog_proof():
        raise VerificationError("the receipt's tlog_proof does not match its other fields")


STATE_RECEIPT_FORMAT = "provenance-ledger/state-receipt/v1"
MAX_STATE_RECEIPT_BYTES = 16 << 20
"""Largest state receipt accepted, in bytes."""
MAX_STATE_EVENTS = 10_000
"""Most events one state receipt may carry."""
STATE_RECEIPT_SCOPE = (
    "proves that these events, from the registration on, are in the log at this checkpoint "
    "and form an unbroken chain (each names the one before); it does not prove that no later "
    "event exists: events after the last one shown may have been left out")
_STATE_FIELDS = frozenset({"format", "log_key", "checkpoint", "work", "events", "state",
                           "scope"})
_STATE_EVENT_FIELDS = frozenset({"leaf_index", "leaf", "inclusion_proof", "event"})


@dataclass(frozen=True, slots=True)
class StateReceipt:
    """A work's whole history up to one checkpoint, each event with its inclusion proof."""

    log_key: str
    checkpoint: str
    work: str
    events: tuple[tuple[int, bytes, tuple[bytes, ...]], ...]  # index, leaf, proof

    def to_json(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "format": STATE_RECEIPT_FORMAT,
            "scope": STATE_RECEIPT_SCOPE,
            "log_key": self.log_key,
            "checkpoint": self.checkpoint,
            "work": self.work,
            "events": [{"leaf_index": i, "leaf": b64encode(leaf),
                        "inclusion_proof": [b64encode(h) for h in proof],
                        "event": parse_leaf(leaf, verify=False).to_json()}
                       for i, leaf, proof in self.events],
            "state": state,
        }

    @classmethod
    def from_json(cls, data: Any) -> StateReceipt:
        if not isinstance(data, dict) or data.get("format") != STATE_RECEIPT_FORMAT:
            raise MalformedError(f"state receipt format is not {STATE_RECEIPT_FORMAT}")
        unknown = data.keys() - _STATE_FIELDS
        if unknown:
            raise MalformedError(f"state receipt has unknown field {sorted(unknown)[0]!r}")
        for name in ("log_key", "checkpoint", "work"):
            if not isinstance(data.get(name), str):
                raise MalformedError(f"state receipt field {name!r} is missing or not a string")
        events = data.get("events")
        if not isinstance(events, list) or not 1 <= len(events) <= MAX_STATE_EVENTS:
            raise MalformedError(f"state receipt must list 1 to {MAX_STATE_EVENTS} events")
        parsed = []
        for n, e in enumerate(events):
            if not isinstance(e, dict) or e.keys() - _STATE_EVENT_FIELDS:
                raise MalformedError(f"state receipt event {n} has unknown fields")
            r = Receipt.from_json({"format": RECEIPT_FORMAT, "log_key": data["log_key"],
                                   "checkpoint": data["checkpoint"],
                                   **{k: e.get(k) for k in ("leaf_index", "leaf",
                                                            "inclusion_proof")}})
            parsed.append((r.leaf_index, r.leaf, r.inclusion_proof))
        return cls(data["log_key"], data["checkpoint"], data["work"], tuple(parsed))


@dataclass(frozen=True, slots=True)
class VerifiedState:
    """A work's state recomputed offline from a state receipt."""

    state: WorkState
    events: tuple[SignedEvent, ...]
    checkpoint: Checkpoint
    cosigners: Mapping[str, int]  # read-only


def verify_state_receipt(
    receipt: StateReceipt, log_keys: Sequence[Verifier],
    witnesses: Mapping[str, Verifier] | None = None,
) -> VerifiedState:
    """Verify every event's inclusion, then replay the rules from the empty state
    (specs/receipts.md section 5)."""
    # (1) one checkpoint, signed by a trusted log key.
    cp, _, cosigners = verify_checkpoint_note(receipt.checkpoint, log_keys, witnesses)
    check_log_key(receipt.log_key, cp, log_keys)
    state: WorkState | None = None
    events: list[SignedEvent] = []
    last = -1
    for index, leaf, proof in receipt.events:
        # (2) each event is in the tree, in log order, and about this work.
        if index <= last:
            raise VerificationError(f"events are not in log order at index {index}")
        last = index
        event = parse_leaf(leaf)
        if event.event.work != receipt.work:
            raise VerificationError(f"event at index {index} is about another work")
        if not 0 <= index < cp.size:
            raise VerificationError(f"leaf index {quoted(index)} is not below checkpoint size "
                                    f"{cp.size}")
        try:
            verify_inclusion(index, cp.size, leaf_hash(leaf), proof, cp.root)
        except VerificationError as e:
            raise VerificationError(f"event at index {index}: inclusion proof: {e}") from e
        # (3) the rules accept it on a replay from nothing; prev links make the chain whole.
        try:
            state = apply(state, event)
        except RuleError as e:
            raise VerificationError(f"event at index {index} breaks the rules: {e}") from e
        events.append(event)
    if state is None:  # pragma: no cover - from_json requires at least one event
        raise VerificationError("state receipt has no events")
    return VerifiedState(state, tuple(events), cp, MappingProxyType(cosigners))


def check_decoded_state(data: Any, verified: VerifiedState) -> None:
    """The parts of a state receipt written for people (its scope, decoded events and state)
    must say exactly what was verified (specs/receipts.md section 5)."""
    if not isinstance(data, dict):
        return
    if "scope" in data and data["scope"] != STATE_RECEIPT_SCOPE:
        raise VerificationError("the receipt's scope is not the sentence of its format: it "
                                "would claim more or less than the receipt proves")
    for n, (raw, ev) in enumerate(zip(data.get("events", ()), verified.events, strict=False)):
        if isinstance(raw, dict) and "event" in raw and raw["event"] != ev.to_json():
            raise VerificationError(f"decoded event {n} does not match its signed leaf")
    if data.get("state") is not None and data["state"] != verified.state.to_json():
        raise VerificationError("the receipt's decoded state is not the state its events give")
