"""Tests for provenance_ledger.ledger.ledger: the append path, checkpoints, proofs and queries.

A real ledger in a real data directory (SQLite file and log key on disk), real signatures.
Roots and proofs are checked against pymerkle, an independent RFC 9162 implementation, and
against the in-memory Frontier.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tlog_scales.tlog import ConsistencyProof as ScalesConsistencyProof

from provenance_ledger.core import vmap
from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import SignedEvent, parse_leaf, work_id_of
from provenance_ledger.core.merkle import (
    EMPTY_ROOT,
    Frontier,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from provenance_ledger.core.note import BlockLine, Checkpoint, SignedNote, Verifier, verify_note
from provenance_ledger.core.receipt import verify_receipt
from provenance_ledger.core.rules import may
from provenance_ledger.errors import (
    ConflictError,
    LedgerError,
    MalformedError,
    NotFoundError,
    RuleError,
    StorageError,
    VerificationError,
)
from provenance_ledger.ledger import Appended, Home, Ledger, audit
from provenance_ledger.ledger import ledger as ledger_module
from provenance_ledger.ledger.ledger import MAX_EVENT_AGE, MAX_FUTURE_SKEW

from ..conftest import NOW, KeyFactory, Signer
from .test_verifier import kill_verifier_process

BLOCKS = (1, 2, 3, 5, 8, 13, 7)  # 39 events: odd sizes, so checkpoints fall mid-subtree


def work(name: str) -> str:
    return work_id_of(hashlib.sha256(name.encode()).hexdigest())


def register(sign: Signer, key: PrivateKey, name: str, at: int = NOW) -> SignedEvent:
    return sign(key, "work.register", work(name),
                {"size": len(name), "media_type": "image/png", "title": name}, at=at)


def accepted(results: list[Appended | LedgerError]) -> list[Appended]:
    return [r for r in results if isinstance(r, Appended)]


def event_stream(sign: Signer, keys: KeyFactory) -> Iterator[bytes]:
    """Realistic traffic: works registered, then granted and licensed along their chains."""
    creator, dev = keys("creator"), keys("ai-developer")
    for i in itertools.count():
        reg = register(sign, creator, f"illustration {i}")
        yield reg.leaf
        if i % 3 == 0:
            grant = sign(creator, "consent.grant", reg.event.work,
                         {"grantee": "*", "purposes": ["ai_inference"]}, prev=reg.id)
            yield grant.leaf
            yield sign(creator, "licence.offer", reg.event.work,
                       {"licensee": dev.public.text, "purposes": ["ai_training"]},
                       prev=grant.id).leaf


def fill(ledger: Ledger, leaves: list[bytes], blocks: tuple[int, ...] = BLOCKS) -> None:
    start = 0
    for n in blocks:
        results = ledger.append_block(leaves[start : start + n], NOW)
        assert all(isinstance(r, Appended) for r in results), results
        start += n


def oracle(leaves: list[bytes]) -> pymerkle.InmemoryTree:
    tree = pymerkle.InmemoryTree(algorithm="sha256")  # RFC 9162 hashing by default
    tree.append_entries(leaves)
    return tree


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory, sign: Signer,
        keys: KeyFactory) -> Iterator[tuple[Ledger, list[bytes]]]:
    """One ledger of sum(BLOCKS) events, shared by the read-only tests of this module."""
    leaves = list(itertools.islice(event_stream(sign, keys), sum(BLOCKS)))
    ledger = Home(tmp_path_factory.mktemp("big")).open_ledger()
    fill(ledger, leaves)
    yield ledger, leaves
    ledger.close()


# -- append_block ---------------------------------------------------------------------------


def test_block_mixes_accepted_and_refused(ledger: Ledger, sign: Signer,
                                          keys: KeyFactory) -> None:
    alice, bob = keys("alice"), keys("bob")
    first = register(sign, alice, "first")
    ledger.append(first.leaf, NOW)
    checkpoints_before = len(list(ledger.store.checkpoints()))
    a = register(sign, alice, "song A")
    grant = sign(alice, "consent.grant", a.event.work,
                 {"grantee": bob.public.text, "purposes": ["ai_training"]}, prev=a.id)
    # Signed as "song X", presented as "song Y": well-formed, but the signature is wrong.
    tampered = register(sign, alice, "song X").leaf.replace(b"song X", b"song Y")
    leaves = [
        a.leaf,                                            # 0 ok
        b"not json",                                       # 1 malformed
        register(sign, bob, "song A").leaf,                # 2 conflict: alice's, this block
        register(sign, alice, "first").leaf,               # 3 conflict: an earlier block
        tampered,                                          # 4 bad signature
        sign(bob, "consent.grant", a.event.work,           # 5 not the controller
             {"grantee": bob.public.text, "purposes": ["ai_training"]}, prev=a.id).leaf,
        grant.leaf,                                        # 6 ok: builds on 0 within the block
        register(sign, alice, "late", at=NOW + MAX_FUTURE_SKEW + 1).leaf,  # 7 admission
        register(sign, bob, "song B").leaf,                # 8 ok
        grant.leaf,                                        # 9 replay within the block
    ]
    results = ledger.append_block(leaves, NOW)
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["Appended", "MalformedError", "ConflictError", "ConflictError",
                     "VerificationError", "RuleError", "Appended", "RuleError", "Appended",
                     "ConflictError"]
    ok = accepted(results)
    assert [r.index for r in ok] == [1, 2, 3]
    assert [r.event.leaf for r in ok] == [leaves[0], leaves[6], leaves[8]]
    # Only the accepted events landed, under exactly one new checkpoint.
    assert ledger.size == ledger.store.size() == 4
    assert [e.leaf for e in ledger.store.entries(0, 10)] == [first.leaf] + [r.event.leaf
                                                                           for r in ok]
    cps = list(ledger.store.checkpoints())
    assert len(cps) == checkpoints_before + 1
    cp, note = ledger.latest_checkpoint()
    assert cp.size == 4 and cp.root == ledger.root(4)
    verify_note(SignedNote.from_text(note), [Verifier.from_vkey(ledger.vkey)])
    # The state reflects the accepted events only.
    st_a = ledger.state(a.event.work)
    assert st_a is not None and st_a.head == grant.id
    assert may(st_a, bob.public.text, "ai_training", NOW).allowed


def test_refusal_messages_say_why(ledger: Ledger, sign: Signer, keys: KeyFactory) -> None:
    alice, bob = keys("alice"), keys("bob")
    a = register(sign, alice, "poem")
    ledger.append(a.leaf, NOW)
    with pytest.raises(ConflictError) as info:
        ledger.append(register(sign, bob, "poem").leaf, NOW)
    assert a.id in str(info.value) and info.value.head == a.id
    stale = sign(alice, "consent.grant", a.event.work,
                 {"grantee": "*", "purposes": ["data_mining"]}, prev=None)
    with pytest.raises(ConflictError, match=f"head of {a.event.work} is {a.id}"):
        ledger.append(stale.leaf, NOW)
    with pytest.raises(RuleError, match="controller"):
        ledger.append(sign(bob, "consent.grant", a.event.work,
                           {"grantee": "*", "purposes": ["data_mining"]}, prev=a.id).leaf, NOW)


def test_all_refused_block_writes_nothing(ledger: Ledger, sign: Signer,
                                          keys: KeyFactory) -> None:
    ledger.append(register(sign, keys("alice"), "only").leaf, NOW)
    before = (ledger.size, list(ledger.store.checkpoints()))
    results = ledger.append_block([b"{}", register(sign, keys("bob"), "only").leaf], NOW)
    assert all(isinstance(r, LedgerError) for r in results)
    assert (ledger.size, list(ledger.store.checkpoints())) == before


def test_empty_ledger(ledger: Ledger) -> None:
    assert ledger.size == 0
    assert ledger.root(0) == EMPTY_ROOT
    with pytest.raises(NotFoundError, match="empty"):
        ledger.latest_checkpoint()
    with pytest.raises(NotFoundError):
        ledger.root(1)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (MAX_FUTURE_SKEW, True),
        (MAX_FUTURE_SKEW + 1, False),
        (-MAX_EVENT_AGE, True),
        (-MAX_EVENT_AGE - 1, False),
        (0, True),
    ],
)
def test_admission_window(ledger: Ledger, sign: Signer, keys: KeyFactory, offset: int,
                          ok: bool) -> None:
    leaf = register(sign, keys("alice"), f"window {offset}", at=NOW + offset).leaf
    (result,) = ledger.append_block([leaf], NOW)
    if ok:
        assert isinstance(result, Appended)
    else:
        assert isinstance(result, RuleError)
        assert ("ahead of" if offset > 0 else "behind") in str(result)
        assert ledger.size == 0


# -- checkpoints and proofs ---------------------------------------------------------------------


def map_of(leaves: list[bytes]) -> bytes:
    """The verifiable map root of a log holding ``leaves`` (specs/map.md sections 1, 7),
    from the leaves alone: each work's last event, its count and index."""
    values: dict[bytes, tuple[bytes, int, int]] = {}
    for index, leaf in enumerate(leaves):
        ev = parse_leaf(leaf, verify=False)
        key = vmap.map_key(ev.event.work)
        count = values[key][1] + 1 if key in values else 1
        values[key] = (bytes.fromhex(ev.id), count, index)
    return vmap.map_root({k: vmap.MapValue(*v).to_bytes() for k, v in values.items()})


def test_one_checkpoint_per_block(big: tuple[Ledger, list[bytes]]) -> None:
    ledger, _ = big
    sizes = [cp[0] for cp in ledger.store.checkpoints()]
    assert sizes == list(itertools.accumulate(BLOCKS))


def test_every_checkpoint_is_signed_and_consistent_with_the_last(
    big: tuple[Ledger, list[bytes]]
) -> None:
    ledger, leaves = big
    log_key = Verifier.from_vkey(ledger.vkey)
    cps = list(ledger.store.checkpoints())
    prev: int | None = None
    for size, root, note_text, at in cps:
        note = SignedNote.from_text(note_text)
        assert verify_note(note, [log_key]) == {ledger.origin: None}
        # Each checkpoint signs the size of the one before it and its time (checkpoints.md 2.1)
        # and the root of the map of its entries (map.md section 8), computed here apart.
        assert Checkpoint.from_text(note.text) == Checkpoint(
            ledger.origin, size, root, BlockLine(prev, NOW), map_of(leaves[:size]))
        prev = size
        assert root == ledger.root(size) == oracle(leaves[:size]).get_root(size)
        assert at == NOW
    for (old, old_root, _, _), (new, new_root, _, _) in itertools.pairwise(cps):
        verify_consistency(old, new, ledger.consistency_proof(old, new), old_root, new_root)
    # Not only neighbours: any two checkpoints are provably consistent.
    for (old, old_root, _, _), (new, new_root, _, _) in itertools.combinations(cps, 2):
        verify_consistency(old, new, ledger.consistency_proof(old, new), old_root, new_root)


def test_consistency_proof_does_not_fit_another_root(big: tuple[Ledger, list[bytes]]) -> None:
    ledger, _ = big
    proof = ledger.consistency_proof(6, 11)
    with pytest.raises(VerificationError):
        verify_consistency(6, 11, proof, ledger.root(5), ledger.root(11))


def test_every_receipt_verifies(big: tuple[Ledger, list[bytes]]) -> None:
    ledger, leaves = big
    trusted = [Verifier.from_vkey(ledger.vkey)]
    for index, leaf in enumerate(leaves):
        receipt = ledger.receipt(index)
        assert receipt.leaf == leaf
        verified = verify_receipt(receipt, trusted)
        assert verified.checkpoint.size == len(leaves)
        assert verified.event.leaf == leaf


@pytest.mark.parametrize("indexes", [range(39), range(19, 39), [*range(0, 30, 7), *range(23, 39)],
                                     range(23, 38), range(30, 39)])
def test_receipts_of_many_are_those_of_each_alone(big: tuple[Ledger, list[bytes]],
                                                  indexes: Sequence[int]) -> None:
    """Receipts asked together (the checkpoint's last leaves come from one walk of the tree,
    the others are planned) are, byte for byte, the receipts of each entry asked alone."""
    ledger, leaves = big
    together = ledger.receipts([(i, leaves[i]) for i in indexes])
    assert [r.to_json() for r in together] == [ledger.receipt(i).to_json() for i in indexes]


def test_a_receipt_of_a_wrong_leaf_does_not_verify(big: tuple[Ledger, list[bytes]]) -> None:
    ledger, leaves = big
    entries = [(i, leaves[i]) for i in range(20, 39)]
    entries[5] = (25, leaves[24])  # not the leaf at 25: the walk's root is not the signed one
    receipts = ledger.receipts(entries)
    trusted = [Verifier.from_vkey(ledger.vkey)]
    with pytest.raises(VerificationError):
        verify_receipt(receipts[5], trusted)
    for receipt in receipts[:5] + receipts[6:]:
        verify_receipt(receipt, trusted)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_roots_and_proofs_match_pymerkle(big: tuple[Ledger, list[bytes]],
                                         data: st.DataObject) -> None:
    ledger, leaves = big
    n = len(leaves)
    new = data.draw(st.integers(1, n), label="size")
    old = data.draw(st.integers(1, new), label="old size")
    index = data.draw(st.integers(0, new - 1), label="index")
    tree = oracle(leaves[:new])
    frontier = Frontier()
    for leaf in leaves[:new]:
        frontier.append(leaf_hash(leaf))
    root = ledger.root(new)
    assert root == tree.get_root(new) == frontier.root()
    # pymerkle counts leaves from one and starts its inclusion path with the leaf hash.
    inclusion = ledger.inclusion_proof(index, new)
    assert [tree.get_leaf(index + 1)] + inclusion == tree.prove_inclusion(index + 1, new).path
    verify_inclusion(index, new, leaf_hash(leaves[index]), inclusion, root)
    # pymerkle's consistency paths use a layout of their own, so the second opinion on
    # consistency proofs is tlog_scales' literal transcription of RFC 9162 section 2.1.4.2.
    consistency = ledger.consistency_proof(old, new)
    old_root = ledger.root(old)
    assert old_root == tree.get_root(old)
    verify_consistency(old, new, consistency, old_root, root)
    ScalesConsistencyProof(old, new, consistency).check(old_root, root)


def test_proof_arguments_are_checked(big: tuple[Ledger, list[bytes]]) -> None:
    ledger, _ = big
    n = ledger.size
    with pytest.raises(NotFoundError):
        ledger.inclusion_proof(n, n)
    with pytest.raises(NotFoundError):
        ledger.inclusion_proof(0, n + 1)
    with pytest.raises(MalformedError):
        ledger.consistency_proof(5, 4)
    with pytest.raises(MalformedError):
        ledger.consistency_proof(1, n + 1)
    assert ledger.consistency_proof(n, n) == []


# -- reopening ------------------------------------------------------------------------------------


def test_frontier_survives_reopen(tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    leaves = list(itertools.islice(event_stream(sign, keys), sum(BLOCKS)))
    cut = 3  # blocks written before closing
    before = sum(BLOCKS[:cut])

    interrupted_home = Home(tmp_path / "interrupted")
    first = interrupted_home.open_ledger()
    fill(first, leaves[:before], BLOCKS[:cut])
    origin, vkey = first.origin, first.vkey
    first.close()
    reopened = interrupted_home.open_ledger()
    assert (reopened.origin, reopened.vkey, reopened.size) == (origin, vkey, before)
    fill(reopened, leaves[before:], BLOCKS[cut:])

    straight = Home(tmp_path / "straight").open_ledger()
    fill(straight, leaves)
    try:
        assert reopened.size == straight.size == len(leaves)
        for size in range(len(leaves) + 1):
            assert reopened.root(size) == straight.root(size)
        assert [c[:2] for c in reopened.store.checkpoints()] == [
            c[:2] for c in straight.store.checkpoints()]
        # The reopened ledger still knows the state of works written before the restart.
        w = parse_leaf(leaves[0]).event.work
        assert reopened.state(w) == straight.state(w)
    finally:
        reopened.close()
        straight.close()


def test_reopen_with_another_origin_is_refused(tmp_path: Path) -> None:
    home = Home(tmp_path / "h")
    home.open_ledger("log.example/one").close()
    with pytest.raises(LedgerError, match="log.example/one"):
        home.open_ledger("log.example/two")
    again = home.open_ledger()
    assert again.origin == "log.example/one"
    again.close()


def test_two_writers_on_one_file(tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    home = Home(tmp_path / "h")
    one, two = home.open_ledger(), home.open_ledger()
    try:
        one.append(register(sign, keys("alice"), "from one").leaf, NOW)
        # The second handle notices the append and builds on it, not on its stale frontier.
        two.append(register(sign, keys("alice"), "from two").leaf, NOW)
        assert one.store.size() == 2
        assert two.root(2) == oracle([e.leaf for e in one.store.entries(0, 2)]).get_root(2)
    finally:
        one.close()
        two.close()


@pytest.mark.parametrize("moment", ["latest_checkpoint_size", "commit_block"])
def test_a_writer_that_loses_the_race_between_validation_and_commit_validates_again(
    tmp_path: Path, sign: Signer, keys: KeyFactory, monkeypatch: pytest.MonkeyPatch,
    moment: str
) -> None:
    """Another process commits after ``one`` validated its block and before it signs or
    commits: ``one`` must not sign a checkpoint naming a stale size, nor fail; it validates
    again on the other's entries and lands after them, each checkpoint naming the one before."""
    home = Home(tmp_path / "h")
    one, two = home.open_ledger(), home.open_ledger()
    real = getattr(one.store, moment)
    raced: list[int] = []

    def other_writer_first(*args: object) -> object:
        if not raced:
            raced.append(two.append(register(sign, keys("bob"), "from two").leaf, NOW).index)
        return real(*args)

    monkeypatch.setattr(one.store, moment, other_writer_first)
    try:
        (result,) = one.append_block([register(sign, keys("alice"), "from one").leaf], NOW)
        assert raced == [0]
        assert isinstance(result, Appended) and result.index == 1
        cps = [Checkpoint.from_text(SignedNote.from_text(r.note).text)
               for r in one.store.checkpoints()]
        assert [(c.size, c.block.prev if c.block else None) for c in cps] == [(1, None), (2, 1)]
    finally:
        one.close()
        two.close()


# -- queries ------------------------------------------------------------------------------------


def test_resolve_work_by_prefix(ledger: Ledger, sign: Signer, keys: KeyFactory) -> None:
    alice = keys("alice")
    ids = ["sha256:abcd01" + "0" * 58, "sha256:abcd02" + "0" * 58, "sha256:1234" + "f" * 60]
    body = {"size": 1, "media_type": "text/plain"}
    ledger.append_block([sign(alice, "work.register", w, body).leaf for w in ids], NOW)
    assert ledger.resolve_work("abcd01") == ids[0]
    assert ledger.resolve_work("sha256:abcd02") == ids[1]
    assert ledger.resolve_work("ABCD01") == ids[0]
    assert ledger.resolve_work("1234") == ids[2]
    assert ledger.resolve_work(ids[2]) == ids[2]
    with pytest.raises(MalformedError, match="ambiguous"):
        ledger.resolve_work("abcd")
    with pytest.raises(NotFoundError, match="ffff"):
        ledger.resolve_work("ffff")
    with pytest.raises(MalformedError, match="too short"):
        ledger.resolve_work("abc")


def test_resolve_event_by_prefix(big: tuple[Ledger, list[bytes]]) -> None:
    ledger, leaves = big
    ids = [leaf_hash(leaf).hex() for leaf in leaves]
    for eid in ids[:10]:
        assert ledger.resolve_event(eid) == eid
        unique = next(eid[:n] for n in range(4, 65)
                      if sum(i.startswith(eid[:n]) for i in ids) == 1)
        assert ledger.resolve_event(unique.upper()) == eid
    with pytest.raises(MalformedError):
        ledger.resolve_event("xyz0")
    missing = next(p for p in (f"{i:04x}" for i in range(65536))
                   if not any(i.startswith(p) for i in ids))
    with pytest.raises(NotFoundError):
        ledger.resolve_event(missing)
    assert ledger.entry_by_id(ids[3]).index == 3
    with pytest.raises(NotFoundError):
        ledger.entry_by_id("00" * 32)


def test_history(ledger: Ledger, sign: Signer, keys: KeyFactory) -> None:
    alice, dev = keys("alice"), keys("ai-developer")
    a = register(sign, alice, "manga A")
    b = register(sign, alice, "manga B")
    grant = sign(alice, "consent.grant", a.event.work,
                 {"grantee": "*", "purposes": ["data_mining"]}, prev=a.id)
    ledger.append_block([a.leaf, b.leaf], NOW)
    offer = sign(alice, "licence.offer", a.event.work,
                 {"licensee": dev.public.text, "purposes": ["ai_training"]}, prev=grant.id)
    ledger.append_block([grant.leaf, offer.leaf], NOW)
    accept = sign(dev, "licence.accept", a.event.work, {"offer": offer.id}, prev=offer.id,
                  at=NOW + 1)
    ledger.append(accept.leaf, NOW + 1)
    history = ledger.history(a.event.work)
    assert [(i, e.id) for i, e in history] == [(0, a.id), (2, grant.id), (3, offer.id),
                                                (4, accept.id)]
    assert ledger.history(b.event.work) == [(1, b)]
    assert ledger.history(work("never registered")) == []
    st_a = ledger.state(a.event.work)
    assert st_a is not None and st_a.events == 4 and st_a.head == accept.id
    assert may(st_a, dev.public.text, "ai_training", NOW + 1).allowed


def test_large_blocks_keep_the_map_right_with_the_upper_levels_in_memory(
        tmp_path: Path, sign: Signer, keys: KeyFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer holds the map's upper levels across blocks (specs/map.md section 10); the
    roots it signs are the map of the entries, also when another writer appends between its
    blocks (it must not build on levels that writer changed)."""
    monkeypatch.setattr(ledger_module, "MAP_UPPER_DEPTH", 8)  # a split that 600 works cross
    leaves = list(itertools.islice(event_stream(sign, keys), 600))
    home = Home(tmp_path / "home")
    ours, other = home.open_ledger(), home.open_ledger()
    try:
        ours.append_block(leaves[:200], NOW)
        assert ours._map_upper is not None  # noqa: SLF001 - the levels are held
        other.append_block(leaves[200:210], NOW)  # a small block of another process
        ours.append_block(leaves[210:400], NOW)
        other.append_block(leaves[400:500], NOW)
        ours.append_block(leaves[500:], NOW)
        for ledger in (ours, other):
            for cp in ledger.store.checkpoints():
                signed = Checkpoint.from_text(SignedNote.from_text(cp.note).text)
                assert signed.map_root == map_of(leaves[: cp.size]), cp.size
        assert audit(ours).entries == 600
    finally:
        ours.close()
        other.close()


@pytest.mark.parametrize("child", ["running", "killed"])
def test_a_bad_signature_in_a_large_block_refuses_it_and_what_builds_on_it(
        tmp_path: Path, sign: Signer, keys: KeyFactory, child: str) -> None:
    """A large block's rules, tree and map are worked out while its signatures are checked;
    an event whose signature fails is refused as if it had been checked first, and so is
    every event that builds on it, and the map and root are those of what was accepted.
    The same when the verifier process was killed (ledger/verifier.py): it is replaced, and
    what it was asked is checked in this process."""
    if child == "killed":
        kill_verifier_process()
    creator = keys("creator")
    leaves = list(itertools.islice(event_stream(sign, keys), 150))
    forged_reg = register(sign, creator, "forged")
    body = json.loads(forged_reg.leaf)
    body["sig"] = base64.b64encode(bytes(64)).decode()  # a signature that does not verify
    forged = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    on_forged = sign(creator, "consent.grant", forged_reg.event.work,
                     {"grantee": "*", "purposes": ["ai_inference"]}, prev=forged_reg.id).leaf
    block = leaves[:70] + [forged] + leaves[70:120] + [on_forged] + leaves[120:]
    ledger = Home(tmp_path / "home").open_ledger()
    try:
        results = ledger.append_block(block, NOW)
        assert isinstance(results[70], VerificationError)
        assert isinstance(results[121], RuleError) and "not registered" in str(results[121])
        assert [r.index for r in accepted(results)] == list(range(150))
        cp, _ = ledger.latest_checkpoint()
        assert cp.root == oracle(leaves).get_root(150)
        assert cp.map_root == map_of(leaves)
    finally:
        ledger.close()


@pytest.mark.parametrize("block", [1, 100], ids=["one-event", "large-block"])
def test_a_map_altered_in_the_database_is_never_built_upon(
        tmp_path: Path, sign: Signer, keys: KeyFactory, block: int) -> None:
    """specs/map.md section 10: a block's map update recomputes the old root from what it
    read and compares it with the root the latest checkpoint signs; a value altered in the
    store stops the append (nothing written) instead of being signed into a new root."""
    creator = keys("creator")
    regs = [register(sign, creator, f"panel {i}") for i in range(150)]
    home = Home(tmp_path / "home")
    ledger = home.open_ledger()
    ledger.append_block([r.leaf for r in regs], NOW)
    ledger.close()
    target = regs[7]
    key = vmap.map_key(target.event.work)
    with sqlite3.connect(home.db_path) as conn:
        pos, node = next((p, n) for p, n in conn.execute("SELECT pos, node FROM map_nodes")
                         if n[:32] == key)
        forged = vmap.MapValue(bytes(32), 1, 0).to_bytes()
        conn.execute("UPDATE map_nodes SET node = ? WHERE pos = ?", (key + forged, pos))
    grant = sign(creator, "consent.grant", target.event.work,
                 {"grantee": "*", "purposes": ["ai_inference"]}, prev=target.id)
    more = [register(sign, creator, f"more {i}").leaf for i in range(block - 1)]
    ledger = home.open_ledger()
    try:
        with pytest.raises(StorageError, match="database was altered"):
            ledger.append_block([grant.leaf, *more], NOW)
        assert ledger.store.size() == 150
    finally:
        ledger.close()


def test_a_map_node_altered_below_the_levels_held_in_memory_is_never_built_upon(
        tmp_path: Path, sign: Signer, keys: KeyFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """specs/map.md section 10: the upper levels a writer holds are checked against the
    signed root once, when read; each block then checks the nodes it reads below them, so
    a leaf altered there under a running writer stops its append as it does anywhere."""
    monkeypatch.setattr(ledger_module, "MAP_UPPER_DEPTH", 8)
    creator = keys("creator")
    regs = [register(sign, creator, f"panel {i}") for i in range(400)]
    home = Home(tmp_path / "home")
    ledger = home.open_ledger()
    try:
        ledger.append_block([r.leaf for r in regs[:100]], NOW)
        ledger.append_block([r.leaf for r in regs[100:]], NOW)
        assert ledger._map_upper is not None and ledger._map_upper.verified  # noqa: SLF001
        with sqlite3.connect(home.db_path) as conn:
            pos, node = next((p, n) for p, n in conn.execute("SELECT pos, node FROM map_nodes")
                             if len(n) == 80 and int.from_bytes(p[1:], "big").bit_length() > 9)
            forged = vmap.MapValue(bytes(32), 1, 0).to_bytes()
            conn.execute("UPDATE map_nodes SET node = ? WHERE pos = ?", (node[:32] + forged, pos))
        target = next(r for r in regs if vmap.map_key(r.event.work) == node[:32])
        grant = sign(creator, "consent.grant", target.event.work,
                     {"grantee": "*", "purposes": ["ai_inference"]}, prev=target.id)
        more = [register(sign, creator, f"more {i}").leaf for i in range(99)]
        with pytest.raises(StorageError, match="database was altered"):
            ledger.append_block([grant.leaf, *more], NOW)
        assert ledger.store.size() == 400
    finally:
        ledger.close()
