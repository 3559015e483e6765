"""``--payee KEY=PERCENT`` on ``anchor`` (a file, a folder) and ``transfer``: the royalty split
a creator sets from the CLI, which ``royalties`` then divides fees by (specs/cli.md section
2.2, specs/events.md section 6). The real CLI in a subprocess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import assert_one_error_line, new_key, run, run_json, stored_sizes


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("payees")
    h = root / "home"
    for name in ("artist", "writer", "studio"):
        new_key(name, h)
    (root / "sketch.png").write_bytes(b"an earlier sketch")
    run("anchor", root / "sketch.png", "--key", "artist", home=h)  # the ledger exists
    return h


def _split(state: dict[str, Any]) -> dict[str, int]:
    return {p["key"]: p["share_bps"] for p in state["payees"]}


def test_a_file_and_a_folder_are_registered_with_their_split(home: Path,
                                                             tmp_path: Path) -> None:
    artist, writer = (run("key", "show", n, "--public", home=home).out.strip()
                      for n in ("artist", "writer"))
    page = tmp_path / "page-1.png"
    page.write_bytes(b"page one of chapter 1")
    doc = run_json("anchor", page, "--key", "artist", "--payee", "artist=62.5",
                   "--payee", f"{writer}=37.5", "--json", home=home)
    assert _split(run_json("status", doc["work"], "--json", home=home)) == {
        artist: 6250, writer: 3750}
    chapter = tmp_path / "chapter"
    chapter.mkdir()
    for n in (2, 3):
        (chapter / f"page-{n}.png").write_bytes(f"page {n} of chapter 1".encode())
    done = run_json("anchor", chapter, "--key", "artist", "--payee", "artist=50",
                    "--payee", "writer=50", "--json", home=home)
    assert [f["status"] for f in done["files"]] == ["anchored", "anchored"]
    for f in done["files"]:
        assert _split(run_json("status", f["work"], "--json", home=home)) == {
            artist: 5000, writer: 5000}


def test_a_transfer_replaces_the_split_or_clears_it(home: Path, tmp_path: Path) -> None:
    studio = run("key", "show", "studio", "--public", home=home).out.strip()
    writer = run("key", "show", "writer", "--public", home=home).out.strip()
    page = tmp_path / "cover.png"
    page.write_bytes(b"the cover of volume 1")
    work = run_json("anchor", page, "--key", "artist", "--payee", "artist=70", "--payee",
                    "writer=30", "--json", home=home)["work"]
    run("transfer", work, "--to", studio, "--key", "artist", "--payee", "studio=80",
        "--payee", "writer=20", home=home)
    assert _split(run_json("status", work, "--json", home=home)) == {studio: 8000,
                                                                    writer: 2000}
    run("transfer", work, "--to", writer, "--key", "studio", home=home)
    assert _split(run_json("status", work, "--json", home=home)) == {writer: 10000}


@pytest.mark.parametrize("payees,words", [
    (["artist"], "give KEY=PERCENT"),
    (["artist=101"], "give KEY=PERCENT"),
    (["artist=33.333", "writer=66.667"], "give KEY=PERCENT"),
    (["artist=-5", "writer=105"], "give KEY=PERCENT"),
    (["artist=60"], "the shares add up to 60%, not 100%"),
    (["artist=50", "artist=50"], "a key is named twice"),
    (["nobody=100"], "'nobody' is neither a key (ed25519:<64 hex>) nor the name of one of "
                     "your keys"),
    (["ed25519:00=100"], "--payee 'ed25519:00=100'"),
])
def test_a_bad_split_is_one_line_and_nothing_is_appended(home: Path, tmp_path: Path,
                                                         payees: list[str], words: str) -> None:
    page = tmp_path / "draft.png"
    page.write_bytes(b"a draft nobody anchored " + "".join(payees).encode())
    before = stored_sizes(home)
    args = [a for p in payees for a in ("--payee", p)]
    r = run("anchor", page, "--key", "artist", *args, home=home, ok_codes=(2,))
    line = assert_one_error_line(r)
    assert line.startswith("error: --payee") and words in line, line
    assert stored_sizes(home) == before
