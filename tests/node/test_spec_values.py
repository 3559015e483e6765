"""The numbers specs/node.md section 2 gives a client or an operator, read from the spec and
compared with the constants the node runs with: a change to either side fails here."""

from __future__ import annotations

import re
from pathlib import Path

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT

from provenance_ledger.core.events import MAX_LEAF_BYTES
from provenance_ledger.node.batch import MAX_BATCH_BYTES, MAX_BATCH_EVENTS
from provenance_ledger.node.hotpath import HOT_PER_READ
from provenance_ledger.node.reads import READ_CACHE_KIB, READ_CONNECTIONS, READ_MMAP_BYTES
from provenance_ledger.node.sequencer import BATCH_LINGER_S, BATCH_MAX, QUEUE_LIMIT
from provenance_ledger.node.server import GRACEFUL_SHUTDOWN_S

SPEC = Path(__file__).resolve().parents[2] / "specs" / "node.md"
TEXT = " ".join(SPEC.read_text(encoding="utf-8").split())


def number(pattern: str) -> int:
    """The first group of ``pattern`` in specs/node.md (white space folded), as an integer;
    thousands separators allowed."""
    m = re.search(pattern, TEXT)
    assert m is not None, f"specs/node.md no longer says {pattern!r}"
    return int(m.group(1).replace(",", ""))


def test_the_hot_read_paths_bounds() -> None:
    assert number(r"at most ([0-9]+) such answers a read of the socket") == HOT_PER_READ
    assert number(r"the connection's write buffer under ([0-9]+) KiB") << 10 == HIGH_WATER_LIMIT


def test_the_submission_limits() -> None:
    assert number(r"`POST /events` \| body: one signed leaf, .*? at most ([0-9]+) KiB") << 10 \
        == MAX_LEAF_BYTES
    assert number(r"`POST /events/batch` \| body: up to ([0-9,]+) signed leaves") \
        == MAX_BATCH_EVENTS
    assert number(r"`MAX_BATCH_EVENTS` = ([0-9,]+) lines") == MAX_BATCH_EVENTS
    assert number(r"`MAX_BATCH_BYTES` = ([0-9]+) MiB") << 20 == MAX_BATCH_BYTES
    assert number(r"when the queue \(([0-9,]+) events\) is full") == QUEUE_LIMIT


def test_the_sequencer_and_shutdown() -> None:
    assert number(r"taken in batches of up to ([0-9,]+)") == BATCH_MAX
    assert number(r"\(or after ([0-9]+) ms\)") == round(BATCH_LINGER_S * 1000)
    assert number(r"in-flight ones finish \(up to ([0-9]+) s\)") == GRACEFUL_SHUTDOWN_S


def test_the_read_connections() -> None:
    assert number(r"on one of at most ([0-9]+) read connections") == READ_CONNECTIONS
    assert number(r"Each has an ([0-9]+) MiB page cache") << 10 == READ_CACHE_KIB
    assert "(`mmap_size` 0)" in TEXT and READ_MMAP_BYTES == 0
