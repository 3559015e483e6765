"""Fuzz and properties of trust policies (specs/receipts.md section 4) and Merkle proofs
(specs/merkle.md): any text is a policy or a MalformedError; Policy.to_text round-trips; a
changed policy text is refused or is another policy (or the same words re-spaced); proofs made
by an independent RFC 9162 implementation verify, and a changed hash or leaf is refused."""

from __future__ import annotations

import hashlib

from hypothesis import assume, given
from hypothesis import strategies as st

from provenance_ledger.core.merkle import HASH_SIZE, verify_consistency, verify_inclusion
from provenance_ledger.core.policy import Group, Policy, parse_policy
from provenance_ledger.errors import MalformedError, VerificationError

from .strategies import LOG, WITNESSES, fuzz, text_mutation

# -- policies ----------------------------------------------------------------------------------

local_names = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True).filter(lambda s: s != "none")


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    names = draw(st.lists(local_names, min_size=0, max_size=len(WITNESSES), unique=True))
    witnesses = {n: w.verifier for n, w in zip(names, WITNESSES, strict=False)}
    groups: dict[str, Group] = {}
    for g in range(draw(st.integers(0, 2)) if witnesses else 0):
        name = f"group{g}"
        pool = list(witnesses) + list(groups)
        members = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, unique=True)))
        groups[name] = Group(name, draw(st.integers(1, len(members))), members)
    targets = [None, *witnesses, *groups]
    return Policy((LOG.verifier,), witnesses, groups, draw(st.sampled_from(targets)))


@fuzz(300)
@given(st.text(max_size=300))
def test_any_text_is_a_policy_or_refused(text: str) -> None:
    try:
        parse_policy(text)
    except MalformedError:
        pass


@fuzz(100)
@given(policies())
def test_policy_round_trip(policy: Policy) -> None:
    assert parse_policy(policy.to_text()) == policy


@fuzz(300)
@given(policies(), st.data())
def test_a_changed_policy_is_refused_or_another_policy(policy: Policy,
                                                       data: st.DataObject) -> None:
    text = policy.to_text()
    changed = data.draw(text_mutation(text))
    try:
        got = parse_policy(changed)
    except MalformedError:
        return
    assert got != policy or _meaning(changed) == _meaning(text), changed


def _meaning(text: str) -> list[list[str]]:
    """The words of a policy that carry meaning: not spacing, and not the optional URL of a
    log or witness line (informative, not part of the policy)."""
    out = []
    for line in text.splitlines():
        words = line.split()
        if words and words[0] == "log":
            words = words[:2]
        elif words and words[0] == "witness":
            words = words[:3]
        if words and not words[0].startswith("#"):
            out.append(words)
    return out


@fuzz(100)
@given(policies(), st.sets(st.sampled_from([w.name for w in WITNESSES])))
def test_quorum_is_monotone(policy: Policy, cosigners: set[str]) -> None:
    """More valid cosignatures never turn a met quorum into an unmet one."""
    names = set(policy.witnesses)
    some = names & cosigners
    if policy.satisfied(some):
        assert policy.satisfied(names)


# -- Merkle proofs, against an independent RFC 9162 implementation --------------------------------


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (RFC 9162 section 2.1.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return _leaf(leaves[0])
    k = _k(len(leaves))
    return _node(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 section 2.1.3.1."""
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 9162 section 2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


trees = st.integers(1, 70).map(lambda n: [f"entry {i}".encode() for i in range(n)])


@fuzz(150)
@given(trees, st.data())
def test_inclusion_proofs_verify_and_changes_are_refused(leaves: list[bytes],
                                                         data: st.DataObject) -> None:
    n = len(leaves)
    m = data.draw(st.integers(0, n - 1))
    proof, root = path(m, leaves), mth(leaves)
    verify_inclusion(m, n, _leaf(leaves[m]), proof, root)
    # Another leaf, or any proof hash changed, does not lead to the root.
    other = data.draw(st.binary(max_size=20))
    assume(other != leaves[m])
    for bad_leaf, bad_proof in [(_leaf(other), proof)] + [
            (_leaf(leaves[m]), proof[:i] + [_flip(proof[i])] + proof[i + 1:])
            for i in range(len(proof))]:
        try:
            verify_inclusion(m, n, bad_leaf, bad_proof, root)
        except VerificationError:
            continue
        raise AssertionError("a changed inclusion proof verified")


@fuzz(150)
@given(trees, st.data())
def test_consistency_proofs_verify_and_changes_are_refused(leaves: list[bytes],
                                                           data: st.DataObject) -> None:
    n = len(leaves)
    m = data.draw(st.integers(1, n))
    proof = subproof(m, leaves, True)
    old, new = mth(leaves[:m]), mth(leaves)
    verify_consistency(m, n, proof, old, new)
    for i in range(len(proof)):
        try:
            verify_consistency(m, n, proof[:i] + [_flip(proof[i])] + proof[i + 1:], old, new)
        except VerificationError:
            continue
        raise AssertionError("a changed consistency proof verified")


@fuzz(300)
@given(st.integers(-3, 2**64), st.integers(-3, 2**64), st.binary(max_size=40),
       st.lists(st.binary(max_size=40), max_size=70), st.binary(max_size=40))
def test_any_proof_input_is_refused_with_one_error(index: int, size: int, leaf: bytes,
                                                   proof: list[bytes], root: bytes) -> None:
    for check in (lambda: verify_inclusion(index, size, leaf, proof, root),
                  lambda: verify_consistency(index, size, proof, leaf, root)):
        try:
            check()
        except VerificationError:
            continue
        # Accepted: only possible with well-formed hashes.
        assert all(len(h) == HASH_SIZE for h in proof)


def _flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]
