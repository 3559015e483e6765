"""Evidence against a log, pure: two validly signed checkpoints of one log that cannot both be
true, in the form ``GET /evidence`` serves it, and its offline check (specs/node.md section 5,
"Split views and evidence"). ``provenance verify --evidence`` uses this module without loading
the node.

Kinds a third party can check: ``split-view`` and ``inconsistent`` (two checkpoints), and
``map-root`` when it carries a :class:`MapRecomputation`: the entries between the two
checkpoints, the border of the tree at the first and one map proof against the first's map
root, from which anyone recomputes the map root at the second and finds it is not the signed
one. ``map-root`` evidence without them (as mirrors kept it before) and ``foreign-checkpoint``
are not checked here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import MalformedError, VerificationError
from . import merkle, vmap
from .encoding import b64decode, b64encode
from .events import MAX_LEAF_BYTES, parse_leaf
from .merkle import HASH_SIZE
from .note import SIG_TYPE_ED25519, Checkpoint, SignedNote, Verifier, verify_note
from .witness import INCONSISTENT, MAP_ROOT, SPLIT_VIEW, prefix_root

MAX_EVIDENCE_ENTRIES = 100_000
"""Most entries one ``map-root`` evidence carries: a mirror's step (ledger.MAX_MIRROR_EVENTS)."""
MAX_EVIDENCE_LEAF_BYTES = 64 << 20
"""Most bytes of entries (decoded leaves, together) one ``map-root`` evidence carries."""
MAX_BORDER_HASHES = 63
"""Most border hashes: one per set bit of a tree size below 2^63."""


@dataclass(frozen=True, slots=True)
class MapRecomputation:
    """What ``map-root`` evidence carries for a verifier to recompute the map root at the
    second checkpoint (size N) from the first (size M) (specs/node.md section 5):

    - ``border``: the hashes of the complete subtrees of the tree of size M, largest first
      (specs/merkle.md section 5, the root plan of M), which fold to the root at M;
    - ``entries``: the log's leaves ``[M, N)``, in index order;
    - ``map_proof``: one map proof (specs/map.md section 4) against the map root at M for the
      keys of every work those entries touch."""

    border: tuple[bytes, ...]
    entries: tuple[bytes, ...]
    map_proof: bytes

    def __post_init__(self) -> None:
        if len(self.border) > MAX_BORDER_HASHES or any(len(h) != HASH_SIZE
                                                      for h in self.border):
            raise ValueError(f"a border is at most {MAX_BORDER_HASHES} hashes of 32 bytes")
        if not 1 <= len(self.entries) <= MAX_EVIDENCE_ENTRIES:
            raise ValueError(f"map-root evidence carries 1 to {MAX_EVIDENCE_ENTRIES} entries")
        if any(len(leaf) > MAX_LEAF_BYTES for leaf in self.entries):
            raise ValueError(f"an entry is over the {MAX_LEAF_BYTES}-byte limit")
        if sum(len(leaf) for leaf in self.entries) > MAX_EVIDENCE_LEAF_BYTES:
            raise ValueError(f"the entries are over {MAX_EVIDENCE_LEAF_BYTES} bytes together")
        if len(self.map_proof) > vmap.MAX_PROOF_BYTES:
            raise ValueError(f"the map proof is over {vmap.MAX_PROOF_BYTES} bytes")

    def to_json(self) -> dict[str, Any]:
        return {"border": [b64encode(h) for h in self.border],
                "entries": [b64encode(leaf) for leaf in self.entries],
                "map_proof": b64encode(self.map_proof)}

    @classmethod
    def from_json(cls, data: Any) -> MapRecomputation:
        if not isinstance(data, dict) or data.keys() != {"border", "entries", "map_proof"}:
            raise MalformedError('evidence "map" is not an object of "border", "entries" and '
                                 '"map_proof"')
        border, entries = data["border"], data["entries"]
        if not isinstance(border, list) or len(border) > MAX_BORDER_HASHES:
            raise MalformedError(f'evidence "border" is not a list of at most '
                                 f"{MAX_BORDER_HASHES} hashes")
        if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_EVIDENCE_ENTRIES:
            raise MalformedError(f'evidence "entries" is not a list of 1 to '
                                 f"{MAX_EVIDENCE_ENTRIES} entries")
        if not all(isinstance(x, str) for x in [*border, *entries, data["map_proof"]]):
            raise MalformedError("evidence border, entries and map proof are base64 strings")
        try:
            return cls(tuple(b64decode(h, "evidence border hash", HASH_SIZE) for h in border),
                       tuple(b64decode(e, "evidence entry") for e in entries),
                       b64decode(data["map_proof"], "evidence map proof"))
        except ValueError as e:
            raise MalformedError(f"evidence map recomputation: {e}") from e


@dataclass(frozen=True, slots=True)
class Evidence:
    """Two validly signed checkpoints of one origin that cannot both be true.

    ``checkpoints`` are the two notes, older first. For ``inconsistent``, ``path`` is the
    consistency path (see :func:`~provenance_ledger.core.witness.prefix_root`) from the first
    to the second. For ``map-root``, ``map`` (when present) is what recomputes the second's
    map root; the first note is empty when the first tree is the empty one, unsigned."""

    id: int
    origin: str
    kind: str
    checkpoints: tuple[str, str]
    path: tuple[bytes, ...]
    detail: str
    at: int
    map: MapRecomputation | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "origin": self.origin, "kind": self.kind,
                               "checkpoints": list(self.checkpoints),
                               "consistency_path": [b64encode(h) for h in self.path],
                               "detail": self.detail, "at": self.at}
        if self.map is not None:
            out["map"] = self.map.to_json()
        return out

    @classmethod
    def from_json(cls, data: Any) -> Evidence:
        try:
            evidence = cls(int(data["id"]), str(data["origin"]), str(data["kind"]),
                           (str(data["checkpoints"][0]), str(data["checkpoints"][1])),
                           tuple(b64decode(h, "consistency path hash", HASH_SIZE)
                                 for h in data["consistency_path"]),
                           str(data["detail"]), int(data["at"]))
            raw_map = data.get("map")
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
            raise MalformedError(f"evidence is not in the expected form: {e}") from e
        if raw_map is None:
            return evidence
        return cls(evidence.id, evidence.origin, evidence.kind, evidence.checkpoints,
                   evidence.path, evidence.detail, evidence.at,
                   MapRecomputation.from_json(raw_map))


def verify_evidence(evidence: Evidence, log_vkey: str) -> None:
    """Check offline that ``evidence`` proves the log with ``log_vkey`` signed two histories,
    or a map root that is not the map of its entries (specs/node.md section 5): (1) both notes
    are checkpoints of the origin signed by the log key; (2) for a split view, one size and
    two roots; for an inconsistency, the path leads to the second root and implies another
    root than the first at its size; for a map root, :func:`verify_map_lie`. Raises
    :class:`VerificationError` (or :class:`MalformedError` for what does not parse)."""
    v = Verifier.from_vkey(log_vkey)
    if v.sig_type != SIG_TYPE_ED25519 or v.name != evidence.origin:
        raise VerificationError(f"{log_vkey[:60]!r} is not the log key of {evidence.origin}")
    # (1); map-root evidence from the empty tree may have no first note: nothing to sign.
    cps: list[Checkpoint | None] = []
    for n, text in enumerate(evidence.checkpoints):
        if n == 0 and text == "" and evidence.kind == MAP_ROOT:
            cps.append(None)
            continue
        note = SignedNote.from_text(text)
        cp = Checkpoint.from_text(note.text)
        if cp.origin != evidence.origin:
            raise VerificationError(f"evidence checkpoint is of {cp.origin}, not {v.name}")
        verify_note(note, [v])
        cps.append(cp)
    a, b = cps
    assert b is not None  # noqa: S101 - only the first may be absent
    # (2)
    if evidence.kind == MAP_ROOT:
        if evidence.map is None:
            raise VerificationError(
                "map-root evidence without the entries and proofs that recompute the map "
                "cannot be checked by a third party")
        verify_map_lie(a, b, evidence.map)
        return
    if a is None:
        raise VerificationError("evidence without its first checkpoint")
    if evidence.kind == SPLIT_VIEW:
        if a.size != b.size or a.root == b.root:
            raise VerificationError("split-view evidence needs one size and two roots")
    elif evidence.kind == INCONSISTENT:
        implied = prefix_root(a.size, b.size, evidence.path, b.root)
        if implied is None:
            raise VerificationError("the consistency path does not lead to the newer root")
        if implied == a.root:
            raise VerificationError("the two checkpoints are consistent")
    else:
        raise VerificationError(
            f"evidence of kind {evidence.kind!r} cannot be checked by a third party")


def verify_map_lie(first: Checkpoint | None, second: Checkpoint,
                   data: MapRecomputation) -> None:
    """Steps (2.1)-(2.7) of specs/node.md section 5 for ``map-root`` evidence: the map root
    at the ``second`` checkpoint (size N), recomputed from the ``first`` (size M; None: the
    empty tree and the empty map) and ``data``, is not the one the second states. Both
    checkpoints' signatures are the caller's step (1). Raises :class:`VerificationError`
    when the evidence does not show that, :class:`MalformedError` for an entry that does not
    parse."""
    # (2.1) sizes M < N, and a map line on both (the empty map at the empty tree).
    m = 0 if first is None else first.size
    n = second.size
    if first is None:
        tree_root, map_root_m = merkle.EMPTY_ROOT, vmap.EMPTY_HASH
    elif first.map_root is None:
        raise VerificationError("map-root evidence needs a first checkpoint with a map line")
    else:
        tree_root, map_root_m = first.root, first.map_root
    if second.map_root is None:
        raise VerificationError("the second checkpoint of map-root evidence has no map line")
    if not m < n:
        raise VerificationError(f"map-root evidence needs sizes M < N, not {m} and {n}")
    if len(data.entries) != n - m:
        raise VerificationError(f"map-root evidence carries {len(data.entries)} entries, not "
                                f"the {n - m} from {m} to {n}")
    # (2.2) the border folds to the root at M.
    try:
        frontier = merkle.Frontier(m, data.border)
    except ValueError as e:
        raise VerificationError(f"the border of the tree at {m}: {e}") from e
    if frontier.root() != tree_root:
        raise VerificationError(f"the border does not fold to the root at size {m}")
    # (2.3) the entries appended to it give the root at N.
    ids = [merkle.leaf_hash(leaf) for leaf in data.entries]
    for h in ids:
        frontier.append(h)
    if frontier.root() != second.root:
        raise VerificationError(f"the entries from {m} do not give the root at size {n}")
    # (2.4) each work the entries touch: its last entry, how many, the index of the last.
    touched: dict[bytes, tuple[bytes, int, int]] = {}
    for index, (leaf, h) in enumerate(zip(data.entries, ids, strict=True), m):
        key = vmap.map_key(parse_leaf(leaf, verify=False).event.work)
        before = touched.get(key)
        touched[key] = (h, (before[1] if before else 0) + 1, index)
    # (2.5) the map proof verifies against the map root at M and gives each old value.
    old = vmap.verify_map_proof(map_root_m, touched, data.map_proof)
    # (2.6) the new values (specs/map.md section 1.2).
    changes = {}
    for key, (head, count, index) in touched.items():
        was = old[key]
        try:
            value = vmap.MapValue(head, count + (was.count if was is not None else 0), index)
        except ValueError as e:
            raise VerificationError(f"a work's new map value is impossible: {e}") from e
        changes[key] = value.to_bytes()
    # (2.7) the map root they give is not the one the log signed at N.
    if vmap.root_after(map_root_m, touched, data.map_proof, changes) == second.map_root:
        raise VerificationError(f"the map root signed at size {n} is the map of the entries: "
                                "the evidence proves nothing")
