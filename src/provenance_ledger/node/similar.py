"""Similar registrations across the logs a node holds: its own and its mirrors of its peers
(specs/node.md section 6.1).

The content code of a work is read from its registration on the first log that holds it (the
node's own first, then each mirror); every log's similarity index (``ledger/similarity.py``,
caught up on read) then names the registrations within ``DEFAULT_DISTANCE`` bits of it, the
work itself left out. Like the exact registrations of section 6, this is the node's word, a
possible dispute for people to look at, not a proof.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..core.similarity import DEFAULT_DISTANCE, ContentCode
from ..ledger import Ledger
from ..ledger.similarity import SimilarityIndex, code_of
from .config import NodeConfig
from .mirror import mirror_path, open_mirror

MAX_SIMILAR = 64  # similar registrations listed for one work (nearest first)


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


def similar_registrations(home: Path, config: NodeConfig, own: Ledger,
                          work: str) -> list[dict[str, Any]]:
    """Registrations of other works, on any log this node holds, whose content code is within
    ``DEFAULT_DISTANCE`` of ``work``'s; nearest first, at most ``MAX_SIMILAR``."""
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
                for s in index.near(code, DEFAULT_DISTANCE, exclude_work=work):
                    found.append({"origin": origin, **s.to_json()})
    found.sort(key=lambda r: (r["distance"], r["origin"], r["index"]))
    return found[:MAX_SIMILAR]
