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

The configured ``[[witnesses]]`` are asked too (a witness need not be a peer, nor serve
``/cosigned``): C2SP tlog-witness lets a log learn the size a witness holds of it. The node
sends its latest checkpoint to ``<url>/add-checkpoint`` with ``old`` its own size and no
proof; a witness holding exactly that checkpoint cosigns it (harmless: the node signed it),
any other answers 409 with the size it holds (``text/x.tlog.size``). A witness verifies the
log key's signature on every checkpoint before it holds it, so a size larger than the log's
is a :class:`Rollback` as a peer's larger checkpoint is. A witness is trusted that far
because the operator listed it with its key; one that cannot be asked is passed over as a
peer is.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from ..core.note import MAX_NOTE_BYTES, Checkpoint, Verifier
from ..core.receipt import verify_checkpoint_note
from ..core.witness import SIZE_CONTENT_TYPE, add_checkpoint_body
from ..errors import MalformedError, PeerError, StorageError, VerificationError
from ..ledger import Ledger
from .config import NodeConfig, Peer, WitnessEntry
from .fetch import Fetcher, Timeouts
from .replies import checkpoint_text, parse
from .witnessing import parse_size

MAX_PEERS_AT_ONCE = 8  # peers asked in parallel, so that one silent peer delays the start once


@dataclass(frozen=True, slots=True)
class PeerView:
    """What one peer holds of this log: the checkpoint its witness last cosigned (None: it
    cosigned none), or why it could not be asked (``error``). For a witness of
    ``[[witnesses]]`` (``kind`` "witness", ``origin`` its configured name): the size it
    holds of this log (``held``, from its 409 or 200 answer)."""

    origin: str
    url: str
    checkpoint: Checkpoint | None = None
    error: str | None = None
    kind: str = "peer"
    held: int | None = None


@dataclass(frozen=True, slots=True)
class Rollback:
    """A peer holds a checkpoint of this log, signed by its key, that the log does not: a
    larger size, or another root at a size the log has."""

    peer: str
    url: str
    peer_size: int
    local_size: int
    kind: str = "peer"  # or "witness": a witness of [[witnesses]], by its configured name

    @property
    def other_root(self) -> bool:
        return self.peer_size <= self.local_size

    def message(self) -> str:
        if self.kind == "witness":
            return (f"witness {self.peer} ({self.url}) holds a checkpoint of this log at size "
                    f"{self.peer_size} (it cosigns only checkpoints signed by this log's key), "
                    f"but this log has only {self.local_size} entries: it was restored from "
                    "an older copy; refusing to sign a fork until the lost blocks are back "
                    "(specs/node.md section 8)")
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


def witness_view(fetch: Fetcher, witness: WitnessEntry, size: int, note: str) -> PeerView:
    """Ask ``witness`` the size it holds of this log: its answer to ``add-checkpoint`` of the
    log's latest checkpoint (``note``, of ``size``) with ``old`` that size and no proof.
    Raises :class:`PeerError` when it does not tell."""
    who = f"witness {witness.name} ({witness.url})"
    answer = fetch.request("POST", who, f"{witness.url}/add-checkpoint", MAX_NOTE_BYTES,
                           content=add_checkpoint_body(size, [], note),
                           headers={"content-type": "text/plain"})
    if answer.status == 200:  # it holds exactly this checkpoint, and cosigned it again
        return PeerView(witness.name, witness.url, kind="witness", held=size)
    if answer.status == 409 and answer.media_type == SIZE_CONTENT_TYPE:
        try:
            held = parse_size(answer.body)
        except MalformedError as e:
            raise PeerError(who, f"{answer.where}: 409 answer: {e}") from e
        if held == size:  # the size sent: not a size it holds but a refusal
            raise PeerError(who, f"{answer.where} answered 409 naming the size sent ({size}): "
                            "it refuses this log's latest checkpoint (another root at that "
                            "size, or it holds the log as faulty)")
        return PeerView(witness.name, witness.url, kind="witness", held=held)
    raise PeerError(who, f"{answer.where} answered {answer.status}: {answer.excerpt()}")


def ask_peers(config: NodeConfig, log_key: Verifier, timeouts: Timeouts | None = None,
              client: httpx.Client | None = None,
              latest: tuple[int, str] | None = None) -> list[PeerView]:
    """Every configured peer's view of this node's log, in the configuration's order, then
    (given the log's ``latest`` checkpoint: size, note) every ``[[witnesses]]`` entry's."""
    witnesses = config.witnesses if latest is not None else ()
    if not config.peers and not witnesses:
        return []
    own = client or httpx.Client(follow_redirects=False)
    fetch = Fetcher(timeouts, own)

    def one(peer: Peer) -> PeerView:
        try:
            return peer_view(fetch, peer, config.origin, log_key)
        except PeerError as e:
            return PeerView(peer.origin, peer.url, error=str(e))

    def one_witness(witness: WitnessEntry) -> PeerView:
        assert latest is not None  # noqa: S101 - witnesses are asked only then
        try:
            return witness_view(fetch, witness, *latest)
        except PeerError as e:
            return PeerView(witness.name, witness.url, error=str(e), kind="witness")

    try:
        with ThreadPoolExecutor(min(MAX_PEERS_AT_ONCE,
                                    len(config.peers) + len(witnesses))) as pool:
            peers = pool.map(one, config.peers)
            others = pool.map(one_witness, witnesses)
            return [*peers, *others]
    finally:
        if client is None:
            own.close()


def find_rollback(views: Sequence[PeerView], ledger: Ledger) -> Rollback | None:
    """The first view that shows ``ledger`` lost or replaced what its key signed."""
    for v in views:
        if v.held is not None and v.held > ledger.size:  # a witness holds a larger tree
            return Rollback(v.origin, v.url, v.held, ledger.size, v.kind)
        cp = v.checkpoint
        if cp is None:
            continue
        # (1) a larger tree than the log holds; (2) another root at a size it holds.
        if cp.size > ledger.size or ledger.root(cp.size) != cp.root:
            return Rollback(v.origin, v.url, cp.size, ledger.size, v.kind)
    return None


def refuse_rollback(config: NodeConfig, ledger: Ledger, timeouts: Timeouts | None = None,
                    client: httpx.Client | None = None) -> list[PeerView]:
    """Ask the peers and the witnesses; raise :class:`StorageError` naming the peer or
    witness and the sizes when one shows a rollback. Returns the views (those with ``error``
    could not be asked). The witnesses are asked only once the log has a checkpoint to send
    them (a log that signed nothing has nothing to show them)."""
    row = ledger.store.latest_checkpoint()
    latest = None if row is None else (row.size, row.note)
    views = ask_peers(config, ledger.verifier, timeouts, client, latest)
    found = find_rollback(views, ledger)
    if found is not None:
        raise StorageError(found.message())
    return views
