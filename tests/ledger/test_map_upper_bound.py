"""When a writer loads the verifiable map's upper levels (specs/map.md section 10): at the
first block that changes 64 works or more, not at 64 events of fewer works; once loaded, they
are kept for every block after, whatever its size. The bound is read from the spec."""

from __future__ import annotations

import re
from pathlib import Path

from provenance_ledger.core.events import SignedEvent
from provenance_ledger.ledger import Appended, Home, Ledger
from provenance_ledger.ledger.ledger import MAP_UPPER_MIN_BLOCK

from ..conftest import NOW, KeyFactory, Signer
from .test_ledger import register, work

SPEC = Path(__file__).resolve().parents[2] / "specs" / "map.md"


def spec_bound() -> int:
    text = " ".join(SPEC.read_text(encoding="utf-8").split())
    m = re.search(r"at the first block that changes ([0-9]+) works or more", text)
    assert m is not None, "specs/map.md section 10 names the block that loads the upper levels"
    return int(m.group(1))


def held(ledger: Ledger) -> bool:
    return ledger._map_upper is not None  # noqa: SLF001 - what the section is about


def append_all(ledger: Ledger, events: list[SignedEvent]) -> None:
    results = ledger.append_block([e.leaf for e in events], NOW)
    assert all(isinstance(r, Appended) for r in results), results


def test_the_bound_is_the_specs() -> None:
    assert spec_bound() == MAP_UPPER_MIN_BLOCK


def test_many_events_of_few_works_load_nothing_many_works_do(
        tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    bound = spec_bound()
    creator = keys("creator")
    ledger = Home(tmp_path / "home").open_ledger()
    try:
        # 2 * bound events on two works: two changes to the map.
        chain: list[SignedEvent] = []
        for name in ("one", "two"):
            ev = register(sign, creator, name)
            chain.append(ev)
            for _ in range(bound - 1):
                ev = sign(creator, "consent.grant", work(name),
                          {"grantee": "*", "purposes": ["ai_inference"]}, prev=ev.id,
                          at=NOW)
                chain.append(ev)
        append_all(ledger, chain)
        assert not held(ledger)
        append_all(ledger, [register(sign, creator, f"a {i}") for i in range(bound - 1)])
        assert not held(ledger)  # one work short
        append_all(ledger, [register(sign, creator, f"b {i}") for i in range(bound)])
        assert held(ledger)
        append_all(ledger, [register(sign, creator, "c")])
        assert held(ledger)  # kept for a small block after
    finally:
        ledger.close()
