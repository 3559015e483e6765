"""Rollback detection: what the peers hold of this node's own log (specs/node.md section 8).

A node restored from an old backup has a smaller log than the one it signed, and nothing in
its own files says so: every block it lost went with them. Its peers saw those blocks: their
witnesses cosigned its larger checkpoints. Before the node signs again (``node serve``, ``node
sync``), it asks each peer for the latest checkpoint of its origin that the peer cosigned
(``GET /cosigned?origin=O``, node/cosigned.py), verifies that note against its own log key,
and compares it with its log: (1) a size larger than the log's means blocks were lost; (2) at
a size the log holds, another root means the log now holds another history than the one it
signed. Either is a :class:`Rollback`, and the node refuses to sign, so it never signs a fork.

A peer's answer is never trusted by itself: only a note signed by this log's own key counts,
so a hostile peer can at worst replay checkpoints this log really signed. A peer that cannot
be asked (down, silent, answering what does not parse, or a note not signed by this log's key)
is reported and passed over: the check proves a rollback when a peer shows one, it cannot
prove there was none.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from ..core.note import MAX_NOTE_BYTES, Checkpoint, Verifier
from ..core.receipt import verify_checkpoint_note
from ..errors import MalformedError, PeerError, StorageError, VerificationError
from ..ledger import Ledger
from .config import NodeConfig, Peer
from .fetch import Fetcher, Timeouts
from .replies import checkpoint_text, parse

MAX_PEERS_AT_ONCE = 8  # peers asked in parallel, so that one silent peer delays the start once


@dataclass(frozen=True, slots=True)
class PeerView:
    """What one peer holds of this log: the checkpoint its witness last cosigned (None: it
    cosigned none), or why it could not be asked (``error``)."""

    origin: str
    url: str
    checkpoint: Checkpoint | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Rollback:
    """A peer holds a checkpoint of this log, signed by its key, that the log does not: a
    larger size, or another root at a size the log has."""

    peer: str
    url: str
    peer_size: int
    local_size: int

    @property
    def other_root(self) -> bool:
        return self.peer_size <= self.local_size

    def message(self) -> str:
        held = (f"peer {self.peer} ({self.url}) holds a checkpoint of this log signed by its "
                f"log key at size {self.peer_size}")
        if self.other_root:
            return (f"{held} with another root than this log's at that size (log size "
                    f"{self.local_size}): the log was restored from an older copy and has "
                    "signed another history since; refusing to sign (specs/node.md section 8)")
        return (f"{held}, but this log has only {self.local_size} entries: it was restored "
                "from an older copy; refusing to sign a fork until the lost blocks are back "
                "(specs/node.md section 8)")


def peer_view(fetch: Fetcher, peer: Peer, origin: str, log_key: Verifier) -> PeerView:
    """Ask ``peer`` for the latest checkpoint of ``origin`` it cosigned; verify it against
    this log's key. Raises :class:`PeerError` when the peer cannot tell."""
    who = f"peer {peer.origin} ({peer.url})"
    answer = fetch.get(who, f"{peer.url}/cosigned", MAX_NOTE_BYTES, {"origin": origin})
    if answer.status == 404:
        return PeerView(peer.origin, peer.url)
    if answer.status != 200:
        raise PeerError(who, f"{answer.where} answered {answer.status}: {answer.excerpt()}")
    note = parse(answer, who, "checkpoint", checkpoint_text)
    try:
        cp = verify_checkpoint_note(note, [log_key])[0]
    except (MalformedError, VerificationError) as e:
        raise PeerError(who, f"{answer.where}: not a checkpoint of this log signed by its "
                        f"key: {e}") from e
    return PeerView(peer.origin, peer.url, cp)


def ask_peers(config: NodeConfig, log_key: Verifier, timeouts: Timeouts | None = None,
              client: httpx.Client | None = None) -> list[PeerView]:
    """Every configured peer's view of this node's log, in the configuration's order."""
    if not config.peers:
        return []
    own = client or httpx.Client(follow_redirects=False)
    fetch = Fetcher(timeouts, own)

    def one(peer: Peer) -> PeerView:
        try:
            return peer_view(fetch, peer, config.origin, log_key)
        except PeerError as e:
            return PeerView(peer.origin, peer.url, error=str(e))

    try:
        with ThreadPoolExecutor(min(MAX_PEERS_AT_ONCE, len(config.peers))) as pool:
            return list(pool.map(one, config.peers))
    finally:
        if client is None:
            own.close()


def find_rollback(views: Sequence[PeerView], ledger: Ledger) -> Rollback | None:
    """The first view that shows ``ledger`` lost or replaced what its key signed."""
    for v in views:
        cp = v.checkpoint
        if cp is None:
            continue
        # (1) a larger tree than the log holds; (2) another root at a size it holds.
        if cp.size > ledger.size or ledger.root(cp.size) != cp.root:
            return Rollback(v.origin, v.url, cp.size, ledger.size)
    return None


def refuse_rollback(config: NodeConfig, ledger: Ledger, timeouts: Timeouts | None = None,
                    client: httpx.Client | None = None) -> list[PeerView]:
    """Ask the peers; raise :class:`StorageError` naming the peer and the sizes when one
    shows a rollback. Returns the views (those with ``error`` could not be asked)."""
    views = ask_peers(config, ledger.verifier, timeouts, client)
    found = find_rollback(views, ledger)
    if found is not None:
        raise StorageError(found.message())
    return views
