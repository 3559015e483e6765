"""Similar registrations across the logs a node holds: its own and its mirrors of its peers
(specs/node.md section 6.1); and the nearest registrations on its own log to many content
codes, for ``dataset check --similar --node`` (``POST /similar``, section 6.2).

The content code of a work is read from its registration on the first log that holds it (the
node's own first, then each mirror); every log's similarity index (``ledger/similarity.py``,
caught up on read) then names the registrations within ``DEFAULT_DISTANCE`` bits of it, the
work itself left out. Like the exact registrations of section 6, this is the node's word, a
possible dispute for people to look at, not a proof.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..core.current import MAX_CURRENT_WORKS
from ..core.similarity import DEFAULT_DISTANCE, ContentCode
from ..ledger import Ledger
from ..ledger.similarity import SimilarityIndex, code_of
from .client import NodeClient
from .config import NodeConfig
from .mirror import mirror_path, open_mirror

MAX_SIMILAR = 64  # similar registrations listed for one work (nearest first)
MAX_CODES = 10_000  # content codes one POST /similar names
MAX_CODES_BODY_BYTES = 512 << 10  # a POST /similar body (10,000 codes take about 250 KB)


@contextmanager
def _logs(home: Path, config: NodeConfig, own: Ledger) -> Iterator[list[tuple[str, Ledger]]]:
    """The node's own log and every mirror it has, opened for this request."""
    opened: list[tuple[str, Ledger]] = []
    try:
        for peer in config.peers:
            if mirror_path(home, peer.origin).exists():
                opened.append((peer.origin, open_mirror(home, peer)))
        yield [(config.origin, own), *opened]
    finally:
        for _, mirror in opened:
            mirror.close()


def similar_registrations(home: Path, config: NodeConfig, own: Ledger, work: str,
                          other_than: str | None = None) -> list[dict[str, Any]]:
    """Registrations of other works, on any log this node holds, whose content code is within
    ``DEFAULT_DISTANCE`` of ``work``'s; nearest first, at most ``MAX_SIMILAR``; with
    ``other_than``, only those neither registered nor controlled by that key."""
    found: list[dict[str, Any]] = []
    with _logs(home, config, own) as logs:
        code: ContentCode | None = None
        for _, ledger in logs:
            code = code_of(ledger, work)
            if code is not None:
                break
        if code is None:
            return []
        for origin, ledger in logs:
            with SimilarityIndex(ledger) as index:
                for s in index.near(code, DEFAULT_DISTANCE, exclude_work=work,
                                    other_than=other_than, limit=MAX_SIMILAR):
                    found.append({"origin": origin, **s.to_json()})
    found.sort(key=lambda r: (r["distance"], r["origin"], r["index"]))
    return found[:MAX_SIMILAR]


def nearest_registrations(ledger: Ledger, codes: Sequence[ContentCode],
                          distance: int) -> dict[str, Any]:
    """For each code, the nearest registration on ``ledger`` (then the earliest) within
    ``distance`` bits, or None; only entries below the latest checkpoint's size count, so that
    a state receipt asked for next proves the matched work's registration (node.md 6.2)."""
    size = ledger.store.latest_checkpoint_size() or 0
    matches: list[dict[str, Any] | None] = []
    with SimilarityIndex(ledger) as index:
        for code in codes:
            near = index.near(code, distance, before=size, limit=1)
            matches.append(near[0].to_json() if near else None)
    return {"size": size, "matches": matches}


class NodeMatcher:
    """:class:`~provenance_ledger.ledger.dataset.Matcher` through a node: registration from
    the node's state receipts (verified offline), look-ups from its ``POST /similar``. The node
    could leave a similar work out (what it names is checked, what it does not cannot be);
    a work it names is proven registered by the state receipt of the check."""

    def __init__(self, client: NodeClient) -> None:
        self.client = client

    def unregistered(self, works: Sequence[str]) -> set[str]:
        missing: set[str] = set()
        for lo in range(0, len(works), MAX_CURRENT_WORKS):
            _, verified = self.client.complete_states(list(works[lo:lo + MAX_CURRENT_WORKS]))
            missing.update(w.work for w in verified.works if w.state is None)
        return missing

    def nearest(self, codes: Sequence[ContentCode], distance: int
                ) -> list[tuple[str, int] | None]:
        out: list[tuple[str, int] | None] = []
        for lo in range(0, len(codes), MAX_CODES):
            out += self.client.similar(codes[lo:lo + MAX_CODES], distance)
        return out
