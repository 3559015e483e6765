"""A block's receipts as the JSON bytes ``POST /events`` and ``POST /events/batch`` answer
(specs/node.md section 2; specs/receipts.md).

The entries a block appended are the leaves ``[first, size)`` of the tree its checkpoint signs,
so their inclusion proofs (RFC 9162 section 2.1.3.1) come from one walk of that tree: the
block's own leaf hashes, hashed up in memory, and the O(log n) stored hashes of the complete
subtrees to the left of ``first``; the walk's root must be the checkpoint's, or the proofs
are planned one by one from the store instead (:meth:`Ledger.receipts`). Each receipt's JSON is
then put together from the parts the block's receipts share (the checkpoint note, quoted
once; the proof hashes, each base64-encoded once): byte for byte what Starlette's
``JSONResponse`` encodes for :meth:`Receipt.to_json`, since a JSON text is the concatenation
of its members' encodings. Nothing here writes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.events import SignedEvent, parse_leaf
from ..core.merkle import NodeId, node_hash
from ..core.receipt import RECEIPT_FORMAT, TLOG_PROOF_HEADER
from ..errors import NotFoundError
from ..ledger import Appended, Ledger

ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
"""The encoding of Starlette's ``JSONResponse``, made once (``json.dumps`` with options
makes an encoder per call)."""


@dataclass(frozen=True, slots=True)
class ReceiptReply:
    """An integrated event's receipt: its log index and the receipt's JSON, as ``POST
    /events`` answers it."""

    index: int
    body: bytes

    def to_json(self) -> dict[str, Any]:
        """The receipt as a JSON object (what :meth:`Receipt.to_json` gives)."""
        doc: dict[str, Any] = json.loads(self.body)
        return doc


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1), RFC 9162 section 2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def left_of(first: int, size: int) -> list[NodeId]:
    """The complete subtrees left of leaf ``first`` whose hashes the proofs of the leaves
    ``[first, size)`` in the tree of ``size`` leaves need: the left siblings along the path
    down to ``first`` (one per level at most)."""
    nodes: list[NodeId] = []
    start, n = 0, size
    while start < first:
        k = _split(n)
        if start + k <= first:  # the left half lies wholly before the block
            nodes.append(((k.bit_length() - 1), start // k))
            start, n = start + k, n - k
        else:  # the right half lies wholly in the block: only the left one holds older leaves
            n = k
    return nodes


def block_proofs(first: int, hashes: Sequence[bytes],
                 stored: Callable[[Iterable[NodeId]], Mapping[NodeId, bytes]]
                 ) -> tuple[bytes, list[list[bytes]]]:
    """The root of the tree of ``first + len(hashes)`` leaves and the inclusion proofs
    PATH(i, D[0:size]) (RFC 9162 section 2.1.3.1) of the leaves ``first`` and on, whose leaf
    hashes are ``hashes``; ``stored`` gives the hashes of complete subtrees left of them."""
    size = first + len(hashes)
    if not hashes:
        raise ValueError("a block proves at least one leaf")
    older = stored(left_of(first, size))

    def walk(start: int, n: int) -> tuple[bytes, list[list[bytes]]]:
        """MTH(D[start:start+n]) and the proofs, within this subtree, of its leaves from
        ``first`` on (deepest hash first, as PATH lists them)."""
        if start + n <= first:  # wholly before the block: a complete subtree, stored
            level = n.bit_length() - 1
            return older[(level, start >> level)], []
        if n == 1:
            return hashes[start - first], [[]]
        k = _split(n)
        left, left_proofs = walk(start, k)
        right, right_proofs = walk(start + k, n - k)
        for proof in left_proofs:  # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])
            proof.append(right)
        for proof in right_proofs:  # PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])
            proof.append(left)
        left_proofs.extend(right_proofs)
        return node_hash(left, right), left_proofs

    return walk(0, size)


class _Base64(dict[bytes, bytes]):
    """Proof hashes in base64, each encoded once: a block's proofs share most of them."""

    def __missing__(self, digest: bytes) -> bytes:
        text = self[digest] = base64.b64encode(digest)
        return text


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


class ReceiptEncoder:
    """Receipts against one signed checkpoint note, encoded as ``JSONResponse`` encodes
    :meth:`Receipt.to_json`: the parts every receipt repeats are encoded once, as UTF-8
    (the note's signature lines start with an em dash: text holding it is slow to join)."""

    def __init__(self, log_key: str, note: str) -> None:
        quoted = ENCODER.encode(note)
        self._head = _utf8(f'{{"format":{ENCODER.encode(RECEIPT_FORMAT)},'
                           f'"log_key":{ENCODER.encode(log_key)},"checkpoint":{quoted},'
                           '"leaf_index":')
        # tlog_proof is "<header>\nindex <i>\n<hash>\n...\n<note>": a JSON string escapes
        # each character alone, so its encoding is the encodings of its pieces run together
        # (base64 and digits need no escape).
        self._tlog = _utf8(f',"tlog_proof":{ENCODER.encode(TLOG_PROOF_HEADER)[:-1]}\\nindex ')
        self._tail = _utf8(f"\\n{quoted[1:]}}}")
        self._b64 = _Base64()

    def encode(self, index: int, leaf: bytes, proof: Sequence[bytes],
               event: SignedEvent | None = None) -> ReceiptReply:
        """The receipt of ``leaf`` at ``index`` with inclusion ``proof``; ``event``, when
        the caller has the leaf parsed already, saves parsing it again."""
        if event is None or event.leaf != leaf:
            event = parse_leaf(leaf, verify=False)
        b64 = self._b64
        hashes = [b64[h] for h in proof]
        number = b"%d" % index
        return ReceiptReply(index, b"".join((
            self._head, number, b',"leaf":"', base64.b64encode(leaf), b'","inclusion_proof":[',
            b'"' + b'","'.join(hashes) + b'"' if hashes else b"", b'],"event":',
            _utf8(ENCODER.encode(event.to_json())), self._tlog, number, b"\\n",
            b"".join([h + b"\\n" for h in hashes]), self._tail)))


def block_receipts(ledger: Ledger, appended: Sequence[Appended],
                   held: Sequence[tuple[int, bytes]]) -> tuple[list[ReceiptReply],
                                                               list[ReceiptReply]]:
    """The receipts, against the latest checkpoint, of the events a block just ``appended``
    (in log order) and of the ``(index, leaf)`` entries the log ``held`` already."""
    latest = ledger.store.latest_checkpoint()  # the note as Ledger.receipts serves it
    if latest is None:
        raise NotFoundError("the log is empty: nothing has been anchored yet")
    encoder = ReceiptEncoder(ledger.vkey, latest.note)
    proofs: list[list[bytes]] | None = None
    if appended:
        first = appended[0].index
        if latest.size == first + len(appended) and all(
                a.index == i for i, a in enumerate(appended, first)):
            root, proofs = block_proofs(
                first, [bytes.fromhex(a.event.id) for a in appended], ledger.store.nodes)
            if root != latest.root:
                proofs = None
        if proofs is None:  # not the block this checkpoint closed: plan each proof
            proofs = [list(r.inclusion_proof) for r in
                      ledger.receipts([(a.index, a.event.leaf) for a in appended])]
    new = [encoder.encode(a.index, a.event.leaf, proof, a.event)
           for a, proof in zip(appended, proofs or (), strict=True)]
    old = [encoder.encode(r.leaf_index, r.leaf, r.inclusion_proof)
           for r in (ledger.receipts(held) if held else ())]
    return new, old
