"""Mirroring a peer that rotated (specs/node.md section 10.5).

A peer node that rotated serves its new log at its URL, under a new origin; the log this
node mirrors as that peer is now one of its frozen shards, served under
``<url>/shards/<id>``. When a round against the peer fails, the peer's ``GET /shards`` is
asked whether the origin is one of its frozen shards; if so, the round is run again against
that base URL (every step as for any peer: the final checkpoint is verified, checked
consistent with the mirror, the rest downloaded and replayed, cosigned, and the cosignature
delivered as in section 4 step 8, to ``<url>/shards/<id>/add-checkpoint``, where the peer
keeps it with its frozen checkpoint: sections 3 and 10.3), and the result is ``frozen``: not
a failure. The new origin is not trusted by itself: its log key is the
peer operator's to announce, and the result's detail tells this node's operator what to
add (``node peer add``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import httpx

from ..core.encoding import load_json
from ..errors import MalformedError, PeerError
from .config import Peer
from .fetch import Fetcher, Timeouts
from .shard_manifest import SHARD_ID

MAX_SHARDS_BYTES = 4 << 20
"""Largest ``GET /shards`` answer read, in bytes (its final checkpoints included)."""
FROZEN = "frozen"


@dataclass(frozen=True, slots=True)
class PeerShards:
    """What a peer's ``GET /shards`` says: its current origin and key, and its frozen
    shards' ids and final sizes by origin. The peer's word: only used to find a URL, whose
    answers are then verified as any peer's."""

    current: str
    current_vkey: str
    frozen: dict[str, tuple[str, int]]

    @classmethod
    def from_bytes(cls, body: bytes) -> PeerShards:
        data: Any = load_json(body, "shards")
        try:
            current = data["current"]
            frozen = {s["origin"]: (s["id"], s["final_size"]) for s in data["frozen"]}
            if not isinstance(current["origin"], str) or not isinstance(current["vkey"], str):
                raise TypeError
        except (TypeError, KeyError) as e:
            raise MalformedError("the shards listing is not in the documented form") from e
        for origin, (sid, size) in frozen.items():
            if not isinstance(origin, str) or not isinstance(sid, str) or not (
                    SHARD_ID.fullmatch(sid)) or type(size) is not int:
                raise MalformedError("a frozen shard of the listing is not in the documented "
                                     "form")
        return cls(current["origin"], current["vkey"], frozen)


def frozen_peer(peer: Peer, client: httpx.Client, timeouts: Timeouts | None
                ) -> tuple[Peer, PeerShards] | None:
    """The peer as the frozen shard of its origin (its base URL ``<url>/shards/<id>``), with
    the peer's listing; None when the peer lists no such shard (or lists none at all)."""
    who = f"peer {peer.origin} ({peer.url})"
    try:
        answer = Fetcher(timeouts, client).get(who, f"{peer.url}/shards", MAX_SHARDS_BYTES)
        if answer.status != 200:
            return None
        shards = PeerShards.from_bytes(answer.body)
    except (PeerError, MalformedError):
        return None
    found = shards.frozen.get(peer.origin)
    if found is None:
        return None
    return replace(peer, url=f"{peer.url}/shards/{found[0]}", tiles=None), shards


def frozen_detail(shards: PeerShards, peer: Peer, known: frozenset[str] = frozenset()) -> str:
    """What a ``frozen`` result says: where the peer logs now and, unless that origin is
    among the ``known`` peers already, how to mirror it too."""
    frozen = f"the peer froze this log at size {shards.frozen[peer.origin][1]} and now logs as "
    if shards.current in known:
        return frozen + f"{shards.current}, a peer here too"
    # A peer mirrored from its tiles: the new log's tiles are written where the frozen
    # log's were (specs/tiles.md section 4, item 7), so the same --tiles mirrors it too.
    tiles = f" --tiles {peer.tiles}" if peer.tiles else ""
    return (frozen + f"{shards.current}: to mirror that too, node peer add --origin "
            f"{shards.current} --url {peer.url} --vkey {shards.current_vkey}{tiles}")
