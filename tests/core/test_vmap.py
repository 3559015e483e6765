"""Tests for provenance_ledger.core.vmap, the verifiable map (specs/map.md).

Two sources of truth: the known-answer vectors in tests/data/map/vectors.json, computed by
tests/data/map/make_vectors.py straight from the definitions of specs/map.md (recursion over
sets, no positions or batching), and hypothesis properties over random maps: proofs round-trip,
absent keys are proven absent, any change of a proof, a value or the root is refused,
multiproofs agree with single proofs, and the root does not depend on the order of updates.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance_ledger.core.vmap import (
    EMPTY_HASH,
    MAX_PROOF_KEYS,
    MapUpdate,
    MapValue,
    MemoryMap,
    leaf_hash,
    map_key,
    map_root,
    proof_nodes,
    prove,
    root_after,
    verify_map_proof,
)
from provenance_ledger.errors import LedgerError, MalformedError, VerificationError

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "data" / "map" / "vectors.json"
SPEC = ROOT / "specs" / "map.md"
SPEC_CASES = ("log-size-1", "log-size-2", "small")  # the examples of specs/map.md section 9
SPEC_PROOFS = {("log-size-2", 0), ("log-size-2", 1), ("small", 0), ("small", 2), ("small", 4),
               ("small", 5)}  # (case, proof number) of the proofs section 9 shows


def load_map_cases() -> list[dict[str, Any]]:
    """Every case of the map vectors; a missing file is an error, never a skip."""
    if not VECTORS.is_file():
        raise FileNotFoundError(f"map vectors not found at {VECTORS}: they are part of the "
                                "repository (tests/data/map/make_vectors.py writes them)")
    data = json.loads(VECTORS.read_bytes())
    assert data["format"] == "provenance-ledger/map-vectors/v1"
    cases: list[dict[str, Any]] = data["cases"]
    assert cases
    return cases


CASES = load_map_cases()


def _entries(case: dict[str, Any]) -> dict[bytes, bytes]:
    return {bytes.fromhex(e["key"]): bytes.fromhex(e["value"]) for e in case["entries"]}


def _proof_cases() -> list[Any]:
    return [pytest.param(case, p, id=f"{case['name']}-{i}")
            for case in CASES for i, p in enumerate(case["proofs"])]


# --- known answers -------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector_root_and_leaf_hashes(case: dict[str, Any]) -> None:
    entries = _entries(case)
    assert map_root(entries).hex() == case["root"]
    for e in case["entries"]:
        assert leaf_hash(bytes.fromhex(e["key"]), bytes.fromhex(e["value"])).hex() == e[
            "leaf_hash"]


@pytest.mark.parametrize(("case", "vector"), _proof_cases())
def test_vector_proof_is_generated_and_verifies(case: dict[str, Any],
                                                vector: dict[str, Any]) -> None:
    m = MemoryMap()
    m.apply(_entries(case))
    keys = [bytes.fromhex(k) for k in vector["keys"]]
    proof = bytes.fromhex(vector["proof"])
    assert prove(m, keys) == proof
    got = verify_map_proof(bytes.fromhex(case["root"]), keys, proof)
    assert [None if got[k] is None else got[k].to_bytes().hex() for k in keys] == vector[
        "values"]


@pytest.mark.parametrize(("case", "vector"), _proof_cases())
def test_vector_proof_refused_against_another_root(case: dict[str, Any],
                                                   vector: dict[str, Any]) -> None:
    keys = [bytes.fromhex(k) for k in vector["keys"]]
    other = hashlib.sha256(bytes.fromhex(case["root"])).digest()
    with pytest.raises(VerificationError):
        verify_map_proof(other, keys, bytes.fromhex(vector["proof"]))


def test_vectors_are_what_the_generator_writes() -> None:
    """The committed vectors are the generator's output (nobody edited one by hand)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS.parent /
                                                  "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.text() == VECTORS.read_text()


def test_spec_examples_are_the_vectors() -> None:
    """Every value of specs/map.md section 9 is in the vectors, and the reverse for the
    cases the spec shows: roots, values, leaf hashes and proofs, byte for byte."""
    compact = re.sub(r"\s+", "", SPEC.read_text(encoding="utf-8"))
    shown = set()
    for case in CASES:
        if case["name"] not in SPEC_CASES:
            continue
        assert case["root"] in compact, case["name"]
        for e in case["entries"]:
            assert e["key"] in compact and e["value"] in compact
        for i, vector in enumerate(case["proofs"]):
            if (case["name"], i) in SPEC_PROOFS:
                assert vector["proof"] in compact, (case["name"], vector["keys"])
                shown.add((case["name"], i))
    assert shown == SPEC_PROOFS


def test_spec_example_log_values_match_the_example_log() -> None:
    """Section 9.1 is the map of the log of specs/checkpoints.md section 7.2: its values are
    that log's event ids, counts and indexes."""
    text = (ROOT / "specs" / "events.md").read_text(encoding="utf-8")
    ids = re.findall(r"[0-9a-f]{64}", text)
    one = next(c for c in CASES if c["name"] == "log-size-1")
    two = next(c for c in CASES if c["name"] == "log-size-2")
    v1 = MapValue.from_bytes(bytes.fromhex(one["entries"][0]["value"]))
    v2 = MapValue.from_bytes(bytes.fromhex(two["entries"][0]["value"]))
    assert (v1.count, v1.index, v2.count, v2.index) == (1, 0, 2, 1)
    assert v1.head.hex() in ids and v2.head.hex() in ids
    work = "sha256:" + one["entries"][0]["key"]
    assert work in text
    assert map_key(work).hex() == one["entries"][0]["key"]


# --- values and keys ---------------------------------------------------------------------------


def test_map_value_round_trip_and_limits() -> None:
    v = MapValue(bytes(range(32)), 3, 9)
    assert MapValue.from_bytes(v.to_bytes()) == v
    assert len(v.to_bytes()) == 48
    with pytest.raises(ValueError):
        MapValue(bytes(32), 0, 5)  # a work in the map has at least one event
    with pytest.raises(ValueError):
        MapValue(bytes(32), 7, 5)  # more events than entries up to the head
    with pytest.raises(MalformedError):
        MapValue.from_bytes(bytes(47))
    with pytest.raises(MalformedError):
        MapValue.from_bytes(bytes(32) + (0).to_bytes(8, "big") + (1).to_bytes(8, "big"))


@pytest.mark.parametrize("work", ["sha256:" + "A" * 64, "sha256:" + "0" * 63, "0" * 64,
                                  "sha512:" + "0" * 64, "sha256:" + "g" * 64])
def test_map_key_refuses_what_is_not_a_work_id(work: str) -> None:
    with pytest.raises(MalformedError):
        map_key(work)


@pytest.mark.parametrize("change", [{bytes(31): bytes(48)}, {bytes(32): bytes(47)}])
def test_changes_of_the_wrong_size_are_refused(change: dict[bytes, bytes]) -> None:
    m = MemoryMap()
    with pytest.raises(ValueError):
        m.apply(change)  # the first batch (a bulk build)
    m.apply({bytes([9]) * 32: MapValue(bytes(32), 1, 0).to_bytes()})
    with pytest.raises(ValueError):
        m.apply(change)  # a later batch (an update)


def test_empty_map() -> None:
    m = MemoryMap()
    assert m.root == EMPTY_HASH == map_root({})
    key = bytes(32)
    proof = prove(m, [key])
    assert verify_map_proof(EMPTY_HASH, [key], proof) == {key: None}


# --- properties --------------------------------------------------------------------------------

# Keys from a few short prefixes, so that random maps have deep shared paths and one-child
# chains, not only the balanced tree that uniform keys give.
_prefix = st.sampled_from([b"", b"\x00", b"\x00\x00", b"\xff\xfe", b"\x5a\x5a\x5a"])
keys_st = st.builds(lambda p, rest: (p + rest)[:32], _prefix, st.binary(min_size=32,
                                                                       max_size=32))
values_st = st.builds(lambda h, c, extra: MapValue(h, c, c - 1 + extra).to_bytes(),
                      st.binary(min_size=32, max_size=32), st.integers(1, 2**20),
                      st.integers(0, 2**30))
maps_st = st.dictionaries(keys_st, values_st, max_size=40)


def _memory(entries: Mapping[bytes, bytes]) -> MemoryMap:
    m = MemoryMap()
    m.apply(entries)
    return m


def _flips(data: bytes) -> Iterable[bytes]:
    for i in range(len(data) * 8):
        b = bytearray(data)
        b[i // 8] ^= 0x80 >> (i % 8)
        yield bytes(b)


def _refused(root: bytes, keys: list[bytes], proof: bytes,
             claims: Mapping[bytes, bytes | None]) -> bool:
    """True when the proof does not verify, or verifies to other values than ``claims``."""
    try:
        got = verify_map_proof(root, keys, proof)
    except LedgerError:
        return True
    return {k: None if v is None else v.to_bytes() for k, v in got.items()} != dict(claims)


@settings(max_examples=60, deadline=None)
@given(maps_st, st.lists(keys_st, min_size=1, max_size=6, unique=True))
def test_proofs_round_trip(entries: dict[bytes, bytes], asked: list[bytes]) -> None:
    m = _memory(entries)
    for key in asked + list(entries)[:6]:
        got = verify_map_proof(m.root, [key], prove(m, [key]))
        want = entries.get(key)
        assert (None if got[key] is None else got[key].to_bytes()) == want
        assert m.get(key) == want


@settings(max_examples=60, deadline=None)
@given(maps_st, st.lists(keys_st, min_size=1, max_size=8, unique=True))
def test_multiproof_agrees_with_single_proofs(entries: dict[bytes, bytes],
                                              extra: list[bytes]) -> None:
    m = _memory(entries)
    keys = list(dict.fromkeys(list(entries)[:8] + extra))
    multi = prove(m, keys)
    assert prove(m, list(reversed(keys))) == multi  # the order asked in does not matter
    got = verify_map_proof(m.root, keys, multi)
    for key in keys:
        assert got[key] == verify_map_proof(m.root, [key], prove(m, [key]))[key]
    assert len(multi) <= sum(len(prove(m, [k])) for k in keys) - 4 * (len(keys) - 1)


@settings(max_examples=25, deadline=None)
@given(maps_st.filter(lambda e: len(e) >= 1), keys_st, st.data())
def test_every_bit_flip_is_caught(entries: dict[bytes, bytes], absent: bytes,
                                  data: st.DataObject) -> None:
    m = _memory(entries)
    present = data.draw(st.sampled_from(sorted(entries)))
    for key in (present, absent):
        proof = prove(m, [key])
        claims = {key: entries.get(key)}
        assert not _refused(m.root, [key], proof, claims)
        for tampered in _flips(proof):
            assert _refused(m.root, [key], tampered, claims)
        for root in _flips(m.root):
            assert _refused(root, [key], proof, claims)
        assert _refused(m.root, [key], proof + b"\x00", claims)
        assert _refused(m.root, [key], proof[:-1], claims)
    # a proof of membership does not answer for another key (an absence proof may: every key
    # whose search ends at the same node is absent by it)
    other = bytearray(present)
    other[31] ^= 1
    assert _refused(m.root, [bytes(other)], prove(m, [present]),
                    {bytes(other): entries.get(bytes(other))})


@settings(max_examples=25, deadline=None)
@given(maps_st.filter(lambda e: len(e) >= 1), st.data())
def test_every_value_bit_flip_is_caught(entries: dict[bytes, bytes],
                                        data: st.DataObject) -> None:
    m = _memory(entries)
    key = data.draw(st.sampled_from(sorted(entries)))
    proof = prove(m, [key])
    at = proof.index(entries[key])  # the value inside the proof
    for i in range(len(entries[key]) * 8):
        tampered = bytearray(proof)
        tampered[at + i // 8] ^= 0x80 >> (i % 8)
        assert _refused(m.root, [key], bytes(tampered), {key: entries[key]})


@settings(max_examples=10, deadline=None)
@given(maps_st.filter(lambda e: len(e) >= 2),
       st.lists(keys_st, min_size=1, max_size=3, unique=True))
def test_every_bit_flip_of_a_multiproof_is_caught(entries: dict[bytes, bytes],
                                                  extra: list[bytes]) -> None:
    m = _memory(entries)
    keys = list(dict.fromkeys(list(entries)[:3] + extra))
    proof = prove(m, keys)
    claims = {k: entries.get(k) for k in keys}
    assert not _refused(m.root, keys, proof, claims)
    for tampered in _flips(proof):
        assert _refused(m.root, keys, tampered, claims)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(keys_st, values_st), max_size=60), st.randoms(use_true_random=False),
       st.integers(1, 7))
def test_root_does_not_depend_on_update_order(changes: list[tuple[bytes, bytes]],
                                              rng: Any, batch: int) -> None:
    final = dict(changes)  # a later change of a key wins, as a later block does
    one = _memory(final)
    shuffled = list(final.items())
    rng.shuffle(shuffled)
    m = MemoryMap()
    for i in range(0, len(shuffled), batch):
        m.apply(dict(shuffled[i:i + batch]))
    # and the values first set to something else, then changed, batch by batch
    staged = MemoryMap()
    staged.apply({k: MapValue(bytes(32), 1, 0).to_bytes() for k in final})
    for i in range(0, len(shuffled), batch):
        staged.apply(dict(shuffled[i:i + batch]))
    assert m.root == one.root == staged.root == map_root(final)
    assert m.nodes == one.nodes == staged.nodes


class _CountingSource:
    """A node source that is not a MemoryMap: the batched path a store takes."""

    def __init__(self, m: MemoryMap) -> None:
        self.m = m
        self.reads = 0

    def map_nodes(self, positions: Iterable[int]) -> Mapping[int, bytes]:
        self.reads += 1
        return self.m.map_nodes(positions)


@settings(max_examples=40, deadline=None)
@given(maps_st, maps_st, st.lists(keys_st, min_size=1, max_size=5, unique=True))
def test_node_source_gives_the_same_proofs_and_updates(first: dict[bytes, bytes],
                                                       second: dict[bytes, bytes],
                                                       asked: list[bytes]) -> None:
    m = _memory(first)
    source = _CountingSource(m)
    assert prove(source, asked) == prove(m, asked)
    update = MapUpdate(source, second)
    expected = _memory({**first, **second})
    assert update.root == expected.root
    m.nodes.update(update.writes)
    assert m.nodes == expected.nodes  # the writes are exactly the changed nodes


def test_batched_reads_are_few() -> None:
    """A proof reads its paths 24 levels at a time: at 2000 keys, one read."""
    m = _memory({hashlib.sha256(b"%d" % i).digest(): MapValue(bytes(32), 1, i).to_bytes()
                 for i in range(2000)})
    source = _CountingSource(m)
    prove(source, [hashlib.sha256(b"7").digest()])
    assert source.reads == 1


# --- refusals ------------------------------------------------------------------------------


def _small() -> tuple[MemoryMap, list[bytes]]:
    case = next(c for c in CASES if c["name"] == "small")
    m = _memory(_entries(case))
    return m, [bytes.fromhex(e["key"]) for e in case["entries"]]


def test_refuses_wrong_key_count_and_duplicates() -> None:
    m, keys = _small()
    proof = prove(m, keys[:2])
    with pytest.raises(MalformedError):
        verify_map_proof(m.root, keys[:1], proof)
    with pytest.raises(MalformedError):
        verify_map_proof(m.root, [keys[0], keys[0]], proof)
    with pytest.raises(ValueError):
        prove(m, [keys[0], keys[0]])
    with pytest.raises(ValueError):
        prove(m, [])
    with pytest.raises(ValueError):
        prove(m, [b"short"])
    assert MAX_PROOF_KEYS == 100_000


def test_refuses_a_collapsible_shape() -> None:
    """A leaf shown one level deeper than it is, beside an empty sibling, is refused for its
    shape (section 5 step 5), not only because the root differs."""
    key, value = bytes(32), MapValue(bytes(32), 1, 0).to_bytes()
    root = leaf_hash(key, value)
    # kind 1 at depth 1, one sibling: empty (bitmap 00)
    proof = (1).to_bytes(4, "big") + b"\x01\x00\x01" + value + b"\x00"
    with pytest.raises(VerificationError, match="collapsed"):
        verify_map_proof(root, [key], proof)


def test_refuses_padding_bits_and_unknown_kinds() -> None:
    m, keys = _small()
    proof = bytearray(prove(m, [keys[2]]))  # two siblings: bitmap c0
    at = 4 + 3 + 48
    assert proof[at] == 0xC0
    proof[at] |= 0x01
    with pytest.raises(MalformedError, match="padding"):
        verify_map_proof(m.root, [keys[2]], bytes(proof))
    proof = bytearray(prove(m, [keys[2]]))
    proof[4] = 4
    with pytest.raises(MalformedError, match="kind"):
        verify_map_proof(m.root, [keys[2]], bytes(proof))


def test_refuses_other_leaf_off_the_path() -> None:
    """A kind 2 result must show a leaf that shares the key's first bits."""
    m, keys = _small()
    absent = bytes([0x81]) + bytes(31)
    proof = prove(m, [absent])
    assert proof[4] == 2
    with pytest.raises(VerificationError, match="not on the key's path"):
        verify_map_proof(m.root, [bytes([0x41]) + bytes(31)], proof)
    with pytest.raises(VerificationError, match="not on the key's path"):
        verify_map_proof(m.root, [keys[2]], proof)  # the leaf's own key is not absent


def test_keys_that_differ_only_in_their_last_bit() -> None:
    """The deepest tree: two leaves at depth 256 under an inner node of depth 255, and a
    third key absent at the bottom of the chain."""
    a, b = bytes(32), bytes(31) + b"\x01"
    value = MapValue(bytes(32), 1, 0).to_bytes()
    m = _memory({a: value, b: value})
    proof = prove(m, [a])
    assert proof[5:7] == (256).to_bytes(2, "big")
    assert verify_map_proof(m.root, [a], proof)[a] == MapValue.from_bytes(value)
    c = bytes(31) + b"\x02"  # shares 254 bits with a and b: absent at the empty position 0...1
    absent = prove(m, [c])
    assert absent[4:7] == b"\x03" + (255).to_bytes(2, "big")
    assert verify_map_proof(m.root, [c], absent) == {c: None}
    assert verify_map_proof(m.root, [a, b, c], prove(m, [a, b, c]))[c] is None
    for tampered in _flips(proof):
        assert _refused(m.root, [a], tampered, {a: value})


# --- recomputing a root from a proof (root_after, used by map-root evidence) ----------------


@settings(max_examples=80, deadline=None)
@given(maps_st, st.lists(keys_st, min_size=1, max_size=8, unique=True),
       st.lists(values_st, min_size=8, max_size=8), st.data())
def test_root_after_a_proof_is_the_root_of_the_changed_map(
        entries: dict[bytes, bytes], extra: list[bytes], values: list[bytes],
        data: st.DataObject) -> None:
    """Over a proof for some keys (present and absent), applying new values to any of them
    gives the root of the whole map with those values: what a verifier of map-root evidence
    recomputes without the rest of the map."""
    m = _memory(entries)
    keys = sorted(set(extra) | set(data.draw(st.lists(st.sampled_from(sorted(entries)),
                                                      max_size=6) if entries else st.just([]))))
    proof = prove(m, keys)
    changed = data.draw(st.lists(st.sampled_from(keys), unique=True))
    changes = dict(zip(changed, values, strict=False))
    assert root_after(m.root, keys, proof, changes) == map_root({**entries, **changes})


@settings(max_examples=40, deadline=None)
@given(maps_st, st.lists(keys_st, min_size=1, max_size=6, unique=True))
def test_proof_nodes_hash_up_to_the_root(entries: dict[bytes, bytes],
                                         keys: list[bytes]) -> None:
    """The partial tree holds the map's own nodes: each is the one the full map stores
    there, or (an off-path sibling) its hash."""
    m = _memory(entries)
    nodes = proof_nodes(m.root, keys, prove(m, keys))
    for pos, node in nodes.items():
        full = m.nodes[pos]
        assert node == full or (len(node) == 32 and node == leaf_hash(full[:32], full[32:]))


def test_root_after_refuses_a_proof_that_does_not_verify_or_a_change_it_does_not_cover(
        ) -> None:
    m, keys = _small()
    proof = prove(m, keys[:2])
    value = MapValue(bytes(32), 1, 0).to_bytes()
    with pytest.raises(VerificationError):
        root_after(EMPTY_HASH, keys[:2], proof,
                   {keys[0]: value})
    with pytest.raises(ValueError, match="does not answer"):
        root_after(m.root, keys[:2], proof, {keys[2]: value})
    assert root_after(m.root, keys[:2], proof, {}) == m.root
