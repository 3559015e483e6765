"""``node config --tiles DIR`` / ``--no-tiles`` on an existing node (specs/cli.md section
2.3, specs/tiles.md section 4): the real CLI sets the folder, the next start of the node
writes every tile its log already has; a folder that cannot be written is one line, exit 2,
and node.toml is left as it was."""

from __future__ import annotations

import json
from pathlib import Path

from provenance_ledger.core.note import Checkpoint, SignedNote
from provenance_ledger.core.tiles import tree_tiles
from provenance_ledger.ledger import Appended, Home
from provenance_ledger.node.config import config_path, init_node, load_config, tiles_dir
from provenance_ledger.node.tiles import CHECKPOINT_FILE

from ..cli.conftest import run
from ..conftest import NOW
from .conftest import HOST, ORIGIN, free_port, running
from .tiles_kat import kat_events

ENTRIES = 300  # in the log before tiles are turned on


def test_tiles_turned_on_for_a_node_with_a_log_are_all_written_at_its_next_start(
        tmp_path: Path) -> None:
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    ledger = Home(home).open_ledger(origin=ORIGIN)
    try:
        leaves = [e.leaf for e in kat_events()[:ENTRIES]]
        assert all(isinstance(r, Appended) for r in ledger.append_block(leaves, NOW))
    finally:
        ledger.close()
    cli = tmp_path / "cli"
    shown = run("node", "config", "--home", home, "--tiles", "public/tiles", home=cli).out
    assert "tiles            public/tiles (C2SP tlog-tiles, written as blocks commit)" in shown
    assert 'tiles = "public/tiles"' in config_path(home).read_text()
    folder = home / "public/tiles"
    assert folder.is_dir() and not any(folder.iterdir())  # made and checked, nothing yet
    with running(home) as node, node.client() as http:
        note = (folder / CHECKPOINT_FILE).read_text()
        assert note == http.get("/checkpoint").text
    assert Checkpoint.from_text(SignedNote.from_text(note).text).size == ENTRIES
    for tile in tree_tiles(ENTRIES):
        assert (folder / tile.path).is_file(), tile.path
    # Off again: node.toml forgets the folder; the files stay where they are.
    off = json.loads(run("node", "config", "--home", home, "--no-tiles", "--json",
                         home=cli).out)
    assert off["tiles"] is None
    assert tiles_dir(home, load_config(home)) is None
    assert "tiles" not in config_path(home).read_text()
    assert (folder / CHECKPOINT_FILE).read_text() == note


def test_a_tiles_folder_that_cannot_be_written_is_one_line_and_changes_nothing(
        tmp_path: Path) -> None:
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    before = config_path(home).read_bytes()
    cli = tmp_path / "cli"
    for folder in ("node.toml", "node.toml/tiles"):
        bad = run("node", "config", "--home", home, "--tiles", folder, home=cli,
                  ok_codes=(2,))
        assert bad.err == (f"error: cannot write the tiles to {home / folder} (--tiles): "
                           f"{home / 'node.toml'} is a file, not a folder\n")
        assert config_path(home).read_bytes() == before
    both = run("node", "config", "--home", home, "--tiles", "t", "--no-tiles", home=cli,
               ok_codes=(2,))
    assert both.err == "error: give --tiles DIR or --no-tiles, not both\n"
    empty = run("node", "config", "--home", home, "--tiles", "", home=cli, ok_codes=(2,))
    assert empty.err == "error: --tiles needs a folder (--no-tiles: none)\n"
    assert config_path(home).read_bytes() == before and not (home / "t").exists()
