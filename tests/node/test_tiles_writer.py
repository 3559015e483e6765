"""A node's tiles folder (specs/tiles.md section 4): exactly the tiles golang.org/x/mod's
tlog computes (tests/data/tiles), entry bundles that hold the log's leaves, the checkpoint
last, and a folder caught up after a crash between a block's commit and its tiles."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance_ledger.core.events import SignedEvent
from provenance_ledger.core.tiles import ENTRIES, parse_bundle, parse_tile_path
from provenance_ledger.ledger import Appended, Home, Ledger
from provenance_ledger.node.tiles import CHECKPOINT_FILE, TilesWriter

from ..conftest import NOW
from .tiles_kat import KAT_DIR, KAT_SIZES, kat_events


@pytest.fixture(scope="module")
def events() -> list[SignedEvent]:
    return kat_events()


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Home(tmp_path / "home").open_ledger(origin="tiles.test/log")
    yield ledger
    ledger.close()


def append(ledger: Ledger, events: list[SignedEvent], size: int) -> None:
    results = ledger.append_block([e.leaf for e in events[ledger.size:size]], NOW)
    assert all(isinstance(r, Appended) for r in results)


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def hash_tiles(folder: Path) -> dict[str, bytes]:
    return {k: v for k, v in files(folder).items() if k.startswith("tile/")
            and not k.startswith("tile/entries/")}


def check_bundles(folder: Path, ledger: Ledger) -> None:
    """Every bundle holds, length-prefixed, exactly the leaves of its level-0 tile."""
    bundles = [p for p in files(folder) if p.startswith("tile/entries/")]
    assert bundles
    for path in bundles:
        tile = parse_tile_path(path)
        assert tile.level == ENTRIES
        start = tile.index * 256
        leaves = [row.leaf for row in ledger.store.entries(start, start + tile.width)]
        assert parse_bundle(tile, (folder / path).read_bytes()) == leaves


def test_a_log_written_block_by_block_has_the_go_tiles(
        log: Ledger, events: list[SignedEvent], tmp_path: Path) -> None:
    folder = tmp_path / "tiles"
    writer = TilesWriter(folder, log.store)
    for size in KAT_SIZES:
        append(log, events, size)
        assert writer.publish() > 0
        _, note = log.latest_checkpoint()
        assert (folder / CHECKPOINT_FILE).read_text() == note
    expected = files(KAT_DIR / "expected")
    assert hash_tiles(folder) == expected
    check_bundles(folder, log)
    # The partial bundles of older checkpoints stay until their full bundle exists.
    assert sorted(p for p in files(folder) if p.startswith("tile/entries/")) == [
        "tile/entries/000", "tile/entries/001", "tile/entries/002.p/88"]
    assert writer.publish() == 0  # no new checkpoint: nothing written
    assert not [p for p in folder.rglob(".*.tmp")]


def test_a_restarted_node_fills_in_what_its_folder_lacks(
        log: Ledger, events: list[SignedEvent], tmp_path: Path) -> None:
    """The node died after committing blocks and before their tiles: the folder's checkpoint
    is older than the log, some tiles are missing. Catching up writes the latest tree's
    tiles and then the checkpoint."""
    folder = tmp_path / "tiles"
    append(log, events, 300)
    writer = TilesWriter(folder, log.store)
    writer.publish()
    before = files(folder)
    append(log, events, 512)  # committed; its tiles never written (the crash)
    append(log, events, 600)
    assert (folder / CHECKPOINT_FILE).read_bytes() == before[CHECKPOINT_FILE]
    (folder / "tile/0/000").unlink()
    shutil.rmtree(folder / "tile/entries")
    # Killed while writing: temporary files where the blocks' tiles were being written.
    left = [folder / "tile/0/.001.0123456789ab.tmp", folder / ".checkpoint.0123456789ab.tmp",
            folder / "tile/1/000.p/.2.0123456789ab.tmp"]
    for tmp in left:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(b"half")
    again = TilesWriter(folder, log.store)
    assert again.catch_up() == 7  # two full tiles, three bundles, two partial tiles
    assert again.size == 600
    _, note = log.latest_checkpoint()
    assert (folder / CHECKPOINT_FILE).read_text() == note
    assert hash_tiles(folder) == files(KAT_DIR / "expected")
    assert not [p for p in folder.rglob(".*.tmp")]
    check_bundles(folder, log)
    assert again.catch_up() == 3  # full tiles present are kept; the right edge is rewritten


def test_the_tiles_settings_are_kept_in_node_toml(tmp_path: Path) -> None:
    from provenance_ledger.errors import MalformedError
    from provenance_ledger.node import add_peer, init_node, load_config
    from provenance_ledger.node.config import config_path, tiles_dir

    home = tmp_path / "node"
    init_node(home, "tiles.test/a", "127.0.0.1:1", tiles="public/tiles")
    assert 'tiles = "public/tiles"' in config_path(home).read_text()
    config = load_config(home)
    assert tiles_dir(home, config) == home / "public/tiles"
    ledger_b = Home(tmp_path / "b").open_ledger(origin="tiles.test/b")
    vkey = ledger_b.vkey
    ledger_b.close()
    add_peer(home, "tiles.test/b", "http://127.0.0.1:9", vkey, tiles="http://127.0.0.1:8/b/")
    assert load_config(home).peer("tiles.test/b").tiles == "http://127.0.0.1:8/b"
    other = tmp_path / "other"
    init_node(other, "tiles.test/c", "127.0.0.1:1")
    assert tiles_dir(other, load_config(other)) is None
    text = config_path(other).read_text()
    config_path(other).write_text(text + "tiles = 3\n")
    with pytest.raises(MalformedError, match="field 'tiles' must be a string"):
        load_config(other)
    config_path(other).write_text(text + '[[peers]]\norigin = "tiles.test/b"\nurl = '
                                  f'"http://127.0.0.1:9"\nvkey = "{vkey}"\ntiles = "ftp://x"\n')
    with pytest.raises(MalformedError, match="peer tiles URL 'ftp://x' must be http"):
        load_config(other)


def test_a_tiles_folder_that_cannot_be_written_is_one_line_before_serving(
        tmp_path: Path) -> None:
    from ..cli.conftest import run

    home = tmp_path / "node"
    made = json.loads(run("node", "init", "--home", home, "--origin", "tiles.test/a",
                          "--listen", "127.0.0.1:0", "--tiles", "node.toml/tiles", "--json",
                          home=tmp_path / "cli").out)
    assert made["tiles"] == "node.toml/tiles"
    result = run("node", "serve", "--home", home, home=tmp_path / "cli", ok_codes=(2,))
    assert result.err.startswith(f"error: cannot write the tiles to {home}/node.toml/tiles "
                                 "(node.toml 'tiles'): ")
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


def test_a_block_whose_tiles_cannot_be_written_is_still_acknowledged_then_caught_up(
        tmp_path: Path, events: list[SignedEvent], caplog: pytest.LogCaptureFixture) -> None:
    """specs/tiles.md section 4.5: the block is committed and answered; the folder keeps the
    last checkpoint whose tiles are all written; the next block writes what is missing."""
    from provenance_ledger.core.note import Checkpoint, SignedNote
    from provenance_ledger.core.tiles import tree_tiles
    from provenance_ledger.node import init_node

    from .conftest import HOST, free_port, running

    def folder_size() -> int:
        note = (folder / CHECKPOINT_FILE).read_text()
        return Checkpoint.from_text(SignedNote.from_text(note).text).size

    home = tmp_path / "node"
    init_node(home, "tiles.test/a", f"{HOST}:{free_port()}", tiles="tiles")
    folder = home / "tiles"
    with running(home) as node, node.client() as http:
        assert folder_size() == 0  # the empty tree's checkpoint, written at start
        assert http.post("/events", content=events[0].leaf).status_code == 200
        assert folder_size() == 1
        shutil.rmtree(folder / "tile/entries")
        (folder / "tile/entries").write_bytes(b"")  # a file where a folder must be
        assert http.post("/events", content=events[1].leaf).status_code == 200
        assert folder_size() == 1
        assert any(r.getMessage() == "tiles not written" for r in caplog.records)
        (folder / "tile/entries").unlink()
        assert http.post("/events", content=events[2].leaf).status_code == 200
        assert folder_size() == 3
    assert {t.path for t in tree_tiles(3)} <= set(files(folder))
