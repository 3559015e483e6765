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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.events import SignedEvent, parse_leaf
from ..core.merkle import block_proofs
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
