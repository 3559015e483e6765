"""The map's upper levels a writer holds are pinned by the signed root (specs/map.md section
10, nothing altered is built upon): a node altered at the cut, where the held levels end,
stops the append even when no path of the block goes through it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from provenance_ledger.core import vmap
from provenance_ledger.errors import StorageError
from provenance_ledger.ledger import Home
from provenance_ledger.ledger import ledger as ledger_module
from provenance_ledger.store.sqlite import map_pos

from ..conftest import NOW, KeyFactory, Signer
from ..ledger.test_ledger import register


def test_a_node_altered_at_the_cut_off_the_blocks_paths_stops_the_append(
        tmp_path: Path, sign: Signer, keys: KeyFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_module, "MAP_UPPER_DEPTH", 8)  # held: depths 0 to 7
    creator = keys("creator")
    home = Home(tmp_path / "home")
    ledger = home.open_ledger()
    ledger.append_block([register(sign, creator, f"panel {i}").leaf for i in range(300)], NOW)
    ledger.close()
    with sqlite3.connect(home.db_path) as conn:  # an inner node at depth 7, the cut
        pos = next(p for p in range(1 << 7, 1 << 8)
                   if (row := conn.execute("SELECT node FROM map_nodes WHERE pos = ?",
                                           (map_pos(p),)).fetchone()) and len(row[0]) == 32)
        conn.execute("UPDATE map_nodes SET node = ? WHERE pos = ?", (bytes(32), map_pos(pos)))
    prefix = pos - (1 << 7)
    # New works none of whose keys lie under the altered node: no path reads below it.
    names = (f"more {i}" for i in range(10_000))
    block = []
    while len(block) < 100:
        event = register(sign, creator, next(names))
        if vmap.map_key(event.event.work)[0] >> 1 != prefix:
            block.append(event.leaf)
    ledger = home.open_ledger()
    try:
        with pytest.raises(StorageError, match="database was altered"):
            ledger.append_block(block, NOW)
        assert ledger.store.size() == 300
    finally:
        ledger.close()
