"""Reading a log from its tiles URL alone (specs/tiles.md section 5).

The client fetches ``<url>/checkpoint``, verifies it against the log key it was given (never
one the server names), fetches the tiles a proof needs and the entry bundle of the entry, and
builds the entry's receipt, which it verifies as a verifier would before handing it out. Every
answer is read through :class:`~.fetch.Fetcher`, capped at the size the spec allows for what
is asked while it streams in. Nothing the server sends is trusted: a wrong tile or entry makes
the proof fail against the signed root (VerificationError).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..core.events import MAX_LEAF_BYTES
from ..core.merkle import HASH_SIZE, leaf_hash
from ..core.note import MAX_NOTE_BYTES, Checkpoint, Verifier
from ..core.receipt import Receipt, verify_checkpoint_note, verify_receipt
from ..core.tiles import (
    ENTRIES,
    Tile,
    bundle_for_entry,
    consistency_proof,
    consistency_tiles,
    inclusion_proof,
    inclusion_tiles,
    parse_bundle,
    tile_hashes,
)
from ..errors import MalformedError, NotFoundError, PeerError, VerificationError, quoted
from .fetch import Fetcher, Timeouts

MAX_KEYS_BYTES = 4096
"""The most of a ``GET /keys`` answer read to tell a node from a tiles URL."""


def tile_limit(tile: Tile) -> int:
    """The most bytes a tile can be: ``width`` hashes, or ``width`` entries of the longest
    leaf with their 2-byte lengths."""
    return tile.width * ((2 + MAX_LEAF_BYTES) if tile.level == ENTRIES else HASH_SIZE)


class TilesClient:
    """One log's tiles below ``url``, verified against ``log_key``."""

    def __init__(self, url: str, log_key: str, timeouts: Timeouts | None = None,
                 fetcher: Fetcher | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise MalformedError(f"--tiles {quoted(url)} must be an http:// or https:// URL")
        self.url = url.rstrip("/")
        self.who = f"tiles {self.url}"
        try:
            self.verifier = Verifier.from_vkey(log_key, 0x01)
        except MalformedError as e:
            raise MalformedError(f"--log-key: {e}") from e
        self.vkey = log_key
        self._own = fetcher is None
        self._fetch = fetcher or Fetcher(timeouts)
        self.fetches = 0
        """Requests made so far (tiles, bundles and checkpoints), for bench/bench_tiles.py."""

    def close(self) -> None:
        if self._own:
            self._fetch.close()

    def __enter__(self) -> TilesClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, limit: int) -> bytes | None:
        """The body of ``<url>/<path>``; None for a 404."""
        self.fetches += 1
        answer = self._fetch.get(self.who, f"{self.url}/{path}", limit)
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise PeerError(self.who, f"{answer.where}: answered {answer.status}: "
                            f"{answer.excerpt()}")
        return answer.body

    def _not_a_node(self) -> None:
        """Raise, naming the option, when ``url`` is a ledger node rather than its tiles (it
        answers ``GET /keys`` with its origin and log key, specs/node.md section 2): a node
        serves a ``/checkpoint`` of its own, but no tiles (specs/tiles.md section 5)."""
        try:
            answer = self._fetch.get(self.who, f"{self.url}/keys", MAX_KEYS_BYTES)
            keys = json.loads(answer.body) if answer.status == 200 else None
        except (PeerError, ValueError):
            return  # not asked, or not a node's answer: the caller's error stands
        if isinstance(keys, dict) and isinstance(keys.get("origin"), str) and isinstance(
                keys.get("log"), str):
            raise NotFoundError(
                f"--tiles {self.url} is a ledger node's URL (it answers /keys as the node of "
                f"{quoted(keys['origin'], 80)}), not a tiles URL: give --tiles the URL its "
                "tiles folder is served at (node.toml's tiles, behind a web server), or ask "
                f"the node itself: provenance receipt WORK --node {self.url}")

    def checkpoint(self) -> tuple[Checkpoint, str]:
        """The latest checkpoint, verified against the log key, and its note as served."""
        body = self._get("checkpoint", MAX_NOTE_BYTES)
        if body is None:
            self._not_a_node()
            raise NotFoundError(f"{self.url}/checkpoint was not found: is it a log's tiles "
                                "URL?")
        try:
            text = body.decode("utf-8")
            cp, _, _ = verify_checkpoint_note(text, [self.verifier])
        except (UnicodeDecodeError, MalformedError, VerificationError) as e:
            raise VerificationError(f"{self.url}/checkpoint does not verify against the log "
                                    f"key: {e}") from e
        return cp, text

    def tile(self, tile: Tile) -> bytes:
        """A tile's bytes, of exactly the length its width gives for a hash tile. A partial
        tile the log deleted is read from the full tile's first hashes (C2SP)."""
        body = self._get(tile.path, tile_limit(tile))
        if body is None and not tile.full:
            full = self._get(Tile(tile.level, tile.index).path, tile_limit(Tile(tile.level,
                                                                                 tile.index)))
            if full is not None and tile.level != ENTRIES:
                body = full[:tile.width * HASH_SIZE]
            elif full is not None:
                body = full  # parse_bundle below takes only what it needs
        if body is None:
            self._not_a_node()
            raise PeerError(self.who, f"GET {self.url}/{tile.path}: not found")
        if tile.level != ENTRIES:
            tile_hashes(tile, body)  # the length, or MalformedError naming the path
        return body

    def tiles(self, wanted: Iterable[Tile]) -> dict[Tile, bytes]:
        return {t: self.tile(t) for t in sorted(wanted)}

    def bundle(self, tile: Tile) -> list[bytes]:
        """The ``width`` entries of an entry bundle (the first ones of the full bundle when
        the log has replaced the partial one by it); MalformedError for a bundle that does
        not parse."""
        data = self.tile(tile)
        try:
            return parse_bundle(tile, data)
        except MalformedError:
            if tile.full:
                raise
            return parse_bundle(Tile(ENTRIES, tile.index), data)[:tile.width]

    def entry(self, index: int, size: int) -> bytes:
        """The leaf bytes of entry ``index`` in the tree of ``size`` leaves."""
        tile, at = bundle_for_entry(index, size)
        try:
            return self.bundle(tile)[at]
        except MalformedError as e:
            raise VerificationError(f"the tiles of {self.url} are malformed: {e}") from e

    def receipt(self, index: int) -> Receipt:
        """Entry ``index``'s receipt against the latest checkpoint, verified."""
        cp, note = self.checkpoint()
        if not 0 <= index < cp.size:
            raise NotFoundError(f"entry {index} is not in the log: its latest checkpoint "
                                f"has {cp.size} entries")
        leaf = self.entry(index, cp.size)
        try:
            proof = inclusion_proof(index, cp.size, self.tiles(inclusion_tiles(index, cp.size)))
        except MalformedError as e:
            raise VerificationError(f"the tiles of {self.url} are malformed: {e}") from e
        receipt = Receipt(self.vkey, note, index, leaf, tuple(proof))
        try:
            verify_receipt(receipt, [self.verifier])
        except (VerificationError, MalformedError) as e:
            raise VerificationError(f"entry {index} from {self.url} does not verify against "
                                    f"its checkpoint (leaf hash {leaf_hash(leaf).hex()}): "
                                    f"{e}") from e
        return receipt

    def consistency(self, old_size: int, cp: Checkpoint) -> list[bytes]:
        """The consistency proof from ``old_size`` to the checkpoint ``cp`` (not verified
        here: the caller holds the old root)."""
        return consistency_proof(old_size, cp.size,
                                 self.tiles(consistency_tiles(old_size, cp.size)))
