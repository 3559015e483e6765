"""A block's receipts as the node answers them (node/block_receipts.py): the inclusion proofs
of a block's entries from one walk of the tree are RFC 9162's PATH for every leaf and block
position, and each receipt's JSON is byte for byte what ``JSONResponse`` encodes for
``Receipt.to_json`` (the answer before the walk and the shared encoding existed)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest
from starlette.responses import JSONResponse

from provenance_ledger.core.merkle import (
    NodeId,
    block_proofs,
    leaf_hash,
    left_of,
    node_hash,
    verify_inclusion,
)
from provenance_ledger.core.note import Verifier
from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.ledger import Appended, Ledger
from provenance_ledger.node.block_receipts import block_receipts

from ..conftest import NOW, KeyFactory, Signer
from .conftest import work


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]), RFC 9162 section 2.1.1, straight from its definition."""
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def _path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 section 2.1.3.1, straight from its definition."""
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if m < k:
        return _path(m, hashes[:k]) + [_mth(hashes[k:])]
    return _path(m - k, hashes[k:]) + [_mth(hashes[:k])]


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(b"leaf %d" % i) for i in range(n)]


class _Subtrees:
    """Hashes of complete subtrees of a tree held in memory; records what was asked."""

    def __init__(self, hashes: Sequence[bytes]) -> None:
        self.hashes = hashes
        self.asked: list[NodeId] = []

    def __call__(self, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        ids = list(ids)
        self.asked.extend(ids)
        return {(level, i): _mth(self.hashes[i << level:(i + 1) << level]) for level, i in ids}


@pytest.mark.parametrize("size", range(1, 34))
def test_every_proof_of_a_block_is_rfc_9162_path(size: int) -> None:
    hashes = _leaves(size)
    root = _mth(hashes)
    for first in range(size):
        stored = _Subtrees(hashes)
        got_root, proofs = block_proofs(first, hashes[first:], stored)
        assert got_root == root
        assert proofs == [_path(m, hashes) for m in range(first, size)]
        # Only complete subtrees wholly left of the block are read, at most one per level.
        assert stored.asked == left_of(first, size)
        assert all((i + 1) << level <= first for level, i in stored.asked)
        assert len({level for level, _ in stored.asked}) == len(stored.asked)


@pytest.mark.parametrize(("first", "size"), [(1023, 1025), (1024, 1030), (1000, 2048),
                                             (1, 1500), (4095, 4096), (3000, 4100)])
def test_proofs_of_larger_blocks_verify(first: int, size: int) -> None:
    hashes = _leaves(size)
    root = _mth(hashes)
    got_root, proofs = block_proofs(first, hashes[first:], _Subtrees(hashes))
    assert got_root == root
    for m in {first, first + 1, (first + size) // 2, size - 1} - {size}:
        assert proofs[m - first] == _path(m, hashes)
    for m, proof in enumerate(proofs, first):
        verify_inclusion(m, size, hashes[m], proof, root)


def test_a_block_proves_at_least_one_leaf() -> None:
    with pytest.raises(ValueError, match="at least one leaf"):
        block_proofs(3, [], _Subtrees(_leaves(3)))


def _as_answered(ledger: Ledger, entries: list[tuple[int, bytes]]) -> list[bytes]:
    """What the node answered before: each receipt planned alone, encoded by JSONResponse."""
    return [JSONResponse(r.to_json()).body for r in Ledger.receipts(ledger, entries)]


def test_receipts_are_the_bytes_jsonresponse_encodes(
        ledger: Ledger, sign: Signer, keys: KeyFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 1, 3, 17 and 40 events (titles with quotes, backslashes, slashes,
    non-ASCII letters and an emoji, escaped or kept as JSON says), then a
    receipt of an entry the log holds, and one for events of an older block (its
    checkpoint is not the latest: each proof is planned alone)."""
    planned: list[list[int]] = []
    plan_each = ledger.receipts

    def receipts(entries: Sequence[tuple[int, bytes]]) -> list[Receipt]:
        planned.append([i for i, _ in entries])
        return plan_each(entries)

    monkeypatch.setattr(ledger, "receipts", receipts)
    alice = keys("alice")
    titles = ['plain', 'a "quoted" \\ title', "slash / and 'apostrophe'", "Ünïcödé ✓ 🎨",
              "</script>"]
    blocks: list[list[Appended]] = []
    n = 0
    for size in (1, 3, 17, 40):
        leaves = []
        for _ in range(size):
            title = f"{titles[n % len(titles)]} {n}"
            leaves.append(sign(alice, "work.register", work(f"block {n}"),
                               {"size": n + 1, "media_type": "image/png",
                                "title": title}).leaf)
            n += 1
        results = ledger.append_block(leaves, NOW)
        appended = [r for r in results if isinstance(r, Appended)]
        assert len(appended) == size
        blocks.append(appended)
        held = [(0, blocks[0][0].event.leaf)] if len(blocks) > 1 else []
        planned.clear()
        new, old = block_receipts(ledger, appended, held)
        # The block's own proofs come from the walk; only the held entry is planned alone.
        assert planned == ([[0]] if held else [])
        entries = [(a.index, a.event.leaf) for a in appended]
        assert [r.body for r in new] == _as_answered(ledger, entries)
        assert [r.index for r in new] == [i for i, _ in entries]
        assert [r.body for r in old] == _as_answered(ledger, held)
        assert new[-1].to_json() == ledger.receipts(entries[-1:])[0].to_json()
    older = blocks[2]  # not the block of the latest checkpoint
    new, _ = block_receipts(ledger, older, [])
    assert [r.body for r in new] == _as_answered(
        ledger, [(a.index, a.event.leaf) for a in older])
    verifier = Verifier.from_vkey(ledger.vkey)
    for r in new:
        assert verify_receipt(Receipt.from_json(r.to_json()), [verifier]).leaf_index == r.index


