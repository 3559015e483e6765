"""Shared fixtures: deterministic keys, a fixed clock, an event signer and a real ledger.

Keys come from seeds so that every run signs the same bytes (Ed25519 is deterministic);
time is the fixed ``NOW`` because no test may read the clock or sleep.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event
from provenance_ledger.ledger import Home, Ledger

from .postgres import postgres_server, schema_url  # noqa: F401 - shared fixtures (issue 15)

# Property tests assert what holds for every example, not how fast one runs: on a shared 2-core
# machine running the suite on both cores, a per-example deadline only adds failures of timing.
settings.register_profile("provenance", deadline=None)
settings.load_profile("provenance")

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z, seconds since the epoch

KeyFactory = Callable[[str], PrivateKey]
Signer = Callable[..., SignedEvent]


def _key(name: str) -> PrivateKey:
    return PrivateKey.from_seed(hashlib.sha256(b"test key " + name.encode()).digest())


@pytest.fixture(scope="session")
def now() -> int:
    """The fixed time tests run at."""
    return NOW


@pytest.fixture(scope="session")
def keys() -> KeyFactory:
    """``keys("alice")``: the same Ed25519 key for the same name, in every run."""
    return _key


@pytest.fixture(scope="session")
def sign() -> Signer:
    """``sign(key, type, work, body, prev=None, at=NOW)``: a signed event by ``key``."""

    def make(
        key: PrivateKey,
        type: str,
        work: str,
        body: dict[str, Any],
        prev: str | None = None,
        at: int = NOW,
    ) -> SignedEvent:
        return sign_event(Event(type, work, prev, key.public.text, at, body), key)

    return make


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A real ledger in a fresh data directory (SQLite file and log key on disk)."""
    opened = Home(tmp_path / "home").open_ledger()
    yield opened
    opened.close()
