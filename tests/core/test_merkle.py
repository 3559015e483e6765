"""Tests for provenance_ledger.core.merkle (RFC 9162 section 2.1).

Three sources of truth: the transparency-dev known-answer vectors (loaded by tests/vectors.py),
the reference 8-leaf tree those vectors were made from, and pymerkle, an independent
implementation, for hypothesis property tests over random trees.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pymerkle
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provenance_ledger.core.merkle import (
    EMPTY_ROOT,
    Frontier,
    NodeId,
    Plan,
    assemble,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    plan_nodes,
    range_nodes,
    root_from_inclusion_proof,
    root_plan,
    verify_consistency,
    verify_inclusion,
)
from provenance_ledger.errors import VerificationError
from tests.vectors import load_cases

INCLUSION_CASES = load_cases("inclusion")
CONSISTENCY_CASES = load_cases("consistency")
VECTOR_COUNT = 196  # files under tests/data/rfc9162/{inclusion,consistency}

REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
REFERENCE_ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")

MAX_LEAVES = 300  # largest random tree the property tests build


def _params(cases: Sequence[tuple[str, dict[str, Any]]]) -> list[Any]:
    return [pytest.param(case, id=test_id) for test_id, case in cases]


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(h) for h in case["proof"] or []]


def _flip(proof: Sequence[bytes], position: int, bit: int) -> list[bytes]:
    tampered = list(proof)
    h = bytearray(tampered[position])
    h[bit // 8] ^= 1 << (bit % 8)
    tampered[position] = bytes(h)
    return tampered


@dataclass
class Built:
    """A tree grown leaf by leaf with :class:`Frontier`, keeping what a store would keep."""

    nodes: dict[NodeId, bytes] = field(default_factory=dict)
    roots: list[bytes] = field(default_factory=lambda: [EMPTY_ROOT])  # roots[s]: first s leaves
    emitted: list[list[tuple[NodeId, bytes]]] = field(default_factory=list)  # per append


def build(leaves: Sequence[bytes]) -> Built:
    built = Built()
    frontier = Frontier()
    assert frontier.root() == EMPTY_ROOT
    for data in leaves:
        made = frontier.append(leaf_hash(data))
        for node, h in made:
            # every complete subtree is emitted exactly once
            assert node not in built.nodes
            built.nodes[node] = h
        built.emitted.append(made)
        built.roots.append(frontier.root())
    return built


def oracle(leaves: Sequence[bytes]) -> pymerkle.InmemoryTree:
    """pymerkle's tree over the same data; its default "security" mode is RFC 9162 hashing."""
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    tree.append_entries(leaves)
    return tree


def oracle_inclusion(tree: pymerkle.InmemoryTree, index: int, size: int) -> list[bytes]:
    # pymerkle counts leaves from one and starts its path with the leaf hash itself.
    path: list[bytes] = tree.prove_inclusion(index + 1, size).path
    assert path[0] == tree.get_leaf(index + 1)
    return path[1:]


def rfc_consistency(leaves: Sequence[bytes], old: int, new: int) -> list[bytes]:
    """PROOF(old, D[0:new]) exactly as RFC 9162 section 2.1.4.1 defines it, with every MTH
    computed by pymerkle.

    pymerkle's own consistency proofs use another layout (e.g. for 4 -> 8 leaves it sends
    h4, h5, h67, h0123 where RFC 9162 sends only h4567), so they cannot be compared byte for
    byte; its tree hashes can.
    """

    def mth(start: int, end: int) -> bytes:
        root: bytes = oracle(leaves[start:end]).get_root()
        return root

    def subproof(m: int, start: int, n: int, b: bool) -> list[bytes]:
        # SUBPROOF(m, D[start:start + n], b)
        if m == n:
            return [] if b else [mth(start, start + n)]
        k = 1
        while 2 * k < n:  # the largest power of two smaller than n
            k *= 2
        if m <= k:
            return subproof(m, start, k, b) + [mth(start + k, start + n)]
        return subproof(m - k, start + k, n - k, False) + [mth(start, start + k)]

    return subproof(old, 0, new, True) if 0 < old < new else []


def _trees(unique: bool) -> st.SearchStrategy[list[bytes]]:
    return st.integers(1, MAX_LEAVES).flatmap(
        lambda n: st.lists(st.binary(max_size=8), min_size=n, max_size=n, unique=unique)
    )


# Any data, duplicates included, for agreement with the oracle.
trees = _trees(unique=False)
# Distinct leaves for tampering: with two equal leaves a proof for one may rightly be accepted
# at the other's index.
distinct_trees = _trees(unique=True)


# Known-answer vectors.


def test_vector_count() -> None:
    assert len(INCLUSION_CASES) + len(CONSISTENCY_CASES) == VECTOR_COUNT


@pytest.mark.parametrize("case", _params(INCLUSION_CASES))
def test_inclusion_vector(case: dict[str, Any]) -> None:
    def verify() -> None:
        leaf, root = _b64(case["leafHash"]), _b64(case["root"])
        verify_inclusion(case["leafIdx"], case["treeSize"], leaf, _proof(case), root)

    if case["wantErr"]:
        with pytest.raises(VerificationError):
            verify()
    else:
        verify()


@pytest.mark.parametrize("case", _params(CONSISTENCY_CASES))
def test_consistency_vector(case: dict[str, Any]) -> None:
    def verify() -> None:
        verify_consistency(
            case["size1"], case["size2"], _proof(case), _b64(case["root1"]), _b64(case["root2"])
        )

    if case["wantErr"]:
        with pytest.raises(VerificationError):
            verify()
    else:
        verify()


# The reference tree behind the numbered vector folders.

REFERENCE = build(REFERENCE_LEAVES)
HAPPY_INCLUSION = [
    (test_id, case)
    for test_id, case in INCLUSION_CASES
    if test_id.endswith("happy-path") and case["treeSize"] <= 8
]
HAPPY_CONSISTENCY = [
    (test_id, case)
    for test_id, case in CONSISTENCY_CASES
    if test_id.endswith("happy-path") and case["size2"] <= 8
]


def test_reference_tree() -> None:
    assert REFERENCE.roots[8] == REFERENCE_ROOT
    # Frontier emitted every complete subtree of the 8-leaf tree, and nothing else.
    assert set(REFERENCE.nodes) == {(level, i) for level in range(4) for i in range(8 >> level)}
    assert [REFERENCE.nodes[node] for node in root_plan(8)] == [REFERENCE_ROOT]


def test_happy_path_vectors_are_found() -> None:
    assert len(HAPPY_INCLUSION) >= 5
    assert len(HAPPY_CONSISTENCY) >= 5


@pytest.mark.parametrize("case", _params(HAPPY_INCLUSION))
def test_inclusion_proof_matches_vector(case: dict[str, Any]) -> None:
    index, size = case["leafIdx"], case["treeSize"]
    assert _b64(case["leafHash"]) == REFERENCE.nodes[(0, index)]
    assert _b64(case["root"]) == REFERENCE.roots[size]
    assert assemble(inclusion_plan(index, size), REFERENCE.nodes) == _proof(case)


@pytest.mark.parametrize("case", _params(HAPPY_CONSISTENCY))
def test_consistency_proof_matches_vector(case: dict[str, Any]) -> None:
    old, new = case["size1"], case["size2"]
    assert _b64(case["root1"]) == REFERENCE.roots[old]
    assert _b64(case["root2"]) == REFERENCE.roots[new]
    assert assemble(consistency_plan(old, new), REFERENCE.nodes) == _proof(case)


def test_oracle_agrees_with_reference_tree() -> None:
    # The property tests below trust pymerkle only because of this check.
    tree = oracle(REFERENCE_LEAVES)
    assert tree.get_root() == REFERENCE_ROOT
    assert [tree.get_root(size) for size in range(9)] == REFERENCE.roots


# Property tests against pymerkle.


@settings(max_examples=40, deadline=None)
@given(leaves=trees)
def test_frontier_matches_oracle_at_every_size(leaves: list[bytes]) -> None:
    built = build(leaves)
    tree = oracle(leaves)
    assert built.roots == [tree.get_root(size) for size in range(len(leaves) + 1)]
    n = len(leaves)
    assert set(built.nodes) == {
        (level, i) for level in range(n.bit_length()) for i in range(n >> level)
    }
    for i, made in enumerate(built.emitted):
        assert made[0] == ((0, i), leaf_hash(leaves[i]))  # the leaf first


@settings(max_examples=40, deadline=None)
@given(leaves=trees, data=st.data())
def test_inclusion_proofs_match_oracle_and_verify(leaves: list[bytes], data: st.DataObject) -> None:
    built = build(leaves)
    tree = oracle(leaves)
    for _ in range(5):
        size = data.draw(st.integers(1, len(leaves)), label="size")
        index = data.draw(st.integers(0, size - 1), label="index")
        proof = assemble(inclusion_plan(index, size), built.nodes)
        assert proof == oracle_inclusion(tree, index, size)
        leaf = built.nodes[(0, index)]
        assert root_from_inclusion_proof(index, size, leaf, proof) == built.roots[size]
        verify_inclusion(index, size, leaf, proof, built.roots[size])


@settings(max_examples=40, deadline=None)
@given(leaves=trees, data=st.data())
def test_consistency_proofs_match_oracle_and_verify(
    leaves: list[bytes], data: st.DataObject
) -> None:
    built = build(leaves)
    tree = oracle(leaves)
    for _ in range(5):
        new = data.draw(st.integers(1, len(leaves)), label="new")
        old = data.draw(st.integers(1, new), label="old")
        proof = assemble(consistency_plan(old, new), built.nodes)
        assert proof == rfc_consistency(leaves, old, new)
        # pymerkle's own proof, in its layout, agrees with our roots.
        pymerkle.verify_consistency(
            built.roots[old], built.roots[new], tree.prove_consistency(old, new)
        )
        verify_consistency(old, new, proof, built.roots[old], built.roots[new])


@settings(max_examples=25, deadline=None)
@given(leaves=distinct_trees, data=st.data())
def test_tampered_inclusion_proofs_are_rejected(leaves: list[bytes], data: st.DataObject) -> None:
    built = build(leaves)
    size = data.draw(st.integers(1, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = assemble(inclusion_plan(index, size), built.nodes)
    leaf, root = built.nodes[(0, index)], built.roots[size]
    verify_inclusion(index, size, leaf, proof, root)

    for position in range(len(proof)):
        for bit in range(256):
            with pytest.raises(VerificationError):
                verify_inclusion(index, size, leaf, _flip(proof, position, bit), root)
    bit = data.draw(st.integers(0, 255), label="bit")
    with pytest.raises(VerificationError):
        verify_inclusion(index, size, _flip([leaf], 0, bit)[0], proof, root)
    with pytest.raises(VerificationError):
        verify_inclusion(index, size, leaf, proof, _flip([root], 0, bit)[0])
    with pytest.raises(VerificationError):
        verify_inclusion(index, size, leaf, proof + [leaf], root)
    if proof:
        with pytest.raises(VerificationError):
            verify_inclusion(index, size, leaf, proof[:-1], root)

    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
        with pytest.raises(VerificationError):
            verify_inclusion(other, size, leaf, proof, root)
    # A wrong size is checked against that size's root, as a verifier holding a checkpoint
    # would. Against the true root it can pass: RFC 9162 verification uses the size only for
    # the path's shape, and e.g. (index 0, size 5) and (index 0, size 6) share it.
    wrong = data.draw(st.integers(0, len(leaves)).filter(lambda s: s != size), label="wrong")
    with pytest.raises(VerificationError):
        verify_inclusion(index, wrong, leaf, proof, built.roots[wrong])


@settings(max_examples=25, deadline=None)
@given(leaves=distinct_trees, data=st.data())
def test_tampered_consistency_proofs_are_rejected(leaves: list[bytes], data: st.DataObject) -> None:
    built = build(leaves)
    new = data.draw(st.integers(1, len(leaves)), label="new")
    old = data.draw(st.integers(1, new), label="old")
    proof = assemble(consistency_plan(old, new), built.nodes)
    old_root, new_root = built.roots[old], built.roots[new]
    verify_consistency(old, new, proof, old_root, new_root)

    for position in range(len(proof)):
        for bit in range(256):
            with pytest.raises(VerificationError):
                verify_consistency(old, new, _flip(proof, position, bit), old_root, new_root)
    bit = data.draw(st.integers(0, 255), label="bit")
    with pytest.raises(VerificationError):
        verify_consistency(old, new, proof, _flip([old_root], 0, bit)[0], new_root)
    with pytest.raises(VerificationError):
        verify_consistency(old, new, proof, old_root, _flip([new_root], 0, bit)[0])
    with pytest.raises(VerificationError):
        verify_consistency(old, new, proof + [old_root], old_root, new_root)
    if proof:
        with pytest.raises(VerificationError):
            verify_consistency(old, new, proof[:-1], old_root, new_root)

    # Wrong sizes, each with the root a verifier would hold for it (see the inclusion test).
    if new > 1:
        wrong_old = data.draw(st.integers(1, new).filter(lambda s: s != old), label="wrong_old")
        with pytest.raises(VerificationError):
            verify_consistency(wrong_old, new, proof, built.roots[wrong_old], new_root)
    if len(leaves) > old:
        wrong_new = data.draw(
            st.integers(old, len(leaves)).filter(lambda s: s != new), label="wrong_new"
        )
        with pytest.raises(VerificationError):
            verify_consistency(old, wrong_new, proof, old_root, built.roots[wrong_new])


# Frontier restored from stored nodes.


@settings(max_examples=40, deadline=None)
@given(leaves=trees, data=st.data())
def test_restored_frontier_continues_like_uninterrupted(
    leaves: list[bytes], data: st.DataObject
) -> None:
    whole = build(leaves)
    cut = data.draw(st.integers(0, len(leaves)), label="cut")
    restored = Frontier(cut, [whole.nodes[node] for node in root_plan(cut)])
    assert restored.size == cut
    assert restored.root() == whole.roots[cut]
    for i in range(cut, len(leaves)):
        assert restored.append(leaf_hash(leaves[i])) == whole.emitted[i]
        assert restored.root() == whole.roots[i + 1]
    assert restored.size == len(leaves)


@pytest.mark.parametrize(("size", "count"), [(0, 1), (1, 0), (3, 1), (3, 3), (8, 2)])
def test_frontier_refuses_wrong_number_of_hashes(size: int, count: int) -> None:
    with pytest.raises(ValueError):
        Frontier(size, [bytes(32)] * count)


# Plans: O(log n) nodes, all inside the tree, for trees far too big to hash.

BIG = 2**40


def _check_plan(plan: Plan, size: int, max_hashes: int) -> None:
    nodes = plan_nodes(plan)
    assert len(nodes) <= 2 * math.log2(size) + 2
    assert len(plan) <= max_hashes
    assert all(element for element in plan)
    for level, index in nodes:
        assert (index + 1) << level <= size  # a complete subtree of this tree


def _worst_sizes() -> list[int]:
    return sorted({s for k in range(1, 41) for s in (2**k - 1, 2**k, 2**k + 1) if s <= BIG})


@settings(max_examples=300, deadline=None)
@given(case=st.integers(1, BIG).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
@example(case=(BIG - 1, 0))
@example(case=(BIG - 1, BIG - 2))
@example(case=(BIG, BIG - 1))
@example(case=(1, 0))
def test_inclusion_plan_is_logarithmic(case: tuple[int, int]) -> None:
    size, index = case
    _check_plan(inclusion_plan(index, size), size, (size - 1).bit_length())


@settings(max_examples=300, deadline=None)
@given(case=st.integers(1, BIG).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
@example(case=(1, BIG - 1))
@example(case=(BIG // 2 + 1, BIG - 1))
@example(case=(BIG - 2, BIG - 1))
@example(case=(3, BIG))
def test_consistency_plan_is_logarithmic(case: tuple[int, int]) -> None:
    old, new = case
    _check_plan(consistency_plan(old, new), new, (new - 1).bit_length() + 1)


def test_plans_are_logarithmic_at_awkward_sizes() -> None:
    for size in _worst_sizes():
        for index in {i for i in (0, 1, size // 2, size - 2, size - 1) if 0 <= i < size}:
            _check_plan(inclusion_plan(index, size), size, (size - 1).bit_length())
            _check_plan(consistency_plan(index + 1, size), size, (size - 1).bit_length() + 1)


# Caller mistakes in the plan functions are ValueError, not VerificationError.


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (5, 5), (6, 5), (-1, 5)])
def test_inclusion_plan_refuses_index_outside_tree(index: int, size: int) -> None:
    with pytest.raises(ValueError):
        inclusion_plan(index, size)


@pytest.mark.parametrize(("old", "new"), [(1, 0), (2, 1), (6, 5), (-1, 5)])
def test_consistency_plan_refuses_old_larger_than_new(old: int, new: int) -> None:
    with pytest.raises(ValueError):
        consistency_plan(old, new)


@pytest.mark.parametrize(("old", "new"), [(0, 0), (0, 5), (5, 5)])
def test_consistency_plan_is_empty_when_nothing_to_prove(old: int, new: int) -> None:
    assert consistency_plan(old, new) == []


def test_range_nodes_refuses_unaligned_range() -> None:
    with pytest.raises(ValueError):
        range_nodes(1, 3)
