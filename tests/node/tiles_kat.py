"""The known-answer log of tests/data/tiles: deterministic events, appended in blocks that end
at ``KAT_SIZES`` (tests/data/tiles/README.md says how the expected tiles were made from them)."""

from __future__ import annotations

from pathlib import Path

from provenance_ledger.core.events import Event, SignedEvent, sign_event

from ..conftest import NOW, _key
from .conftest import work

KAT_DIR = Path(__file__).parent.parent / "data" / "tiles"
KAT_SIZES = (1, 3, 255, 256, 257, 300, 511, 512, 600)
"""Checkpoint sizes of the known-answer log: partial tiles, full ones, and the level above."""


def kat_events() -> list[SignedEvent]:
    """The known-answer log's events: registrations of works ``tiles-0`` ... by one key,
    at the tests' fixed time (Ed25519 is deterministic, so the same bytes in every run)."""
    key = _key("tiles")
    return [sign_event(Event("work.register", work(f"tiles-{i}"), None, key.public.text, NOW,
                             {"size": 7, "media_type": "image/png", "title": f"tiles {i}"}),
                       key)
            for i in range(KAT_SIZES[-1])]


if __name__ == "__main__":  # the leaf hashes, for tests/data/tiles/gen
    import sys

    from provenance_ledger.core.merkle import leaf_hash

    sys.stdout.buffer.write(b"".join(leaf_hash(e.leaf) for e in kat_events()))
