"""``provenance anchor DIR``: a folder tree anchored in blocks, hidden files skipped, the same
content twice anchored once, and a re-run that appends nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import log_key, new_key, run, run_json, tree_size

LISTED_FILES = 20  # files the text report names per list
TOP_FILES = 40
SUB_FILES = 7
UNIQUE = TOP_FILES + SUB_FILES + 1  # plus the file two levels down
LISTED = UNIQUE + 1  # plus the second copy of one content


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of 49 visible files (one content twice) and two hidden ones."""
    root = tmp_path_factory.mktemp("folder") / "pages"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".cache").mkdir()
    for n in range(TOP_FILES):
        (root / f"page-{n:03}.png").write_bytes(f"page {n}".encode())
    for n in range(SUB_FILES):
        (root / "sub" / f"sketch-{n}.jpg").write_bytes(f"sketch {n}".encode())
    (root / "sub" / "deeper" / "cover.tif").write_bytes(b"cover")
    (root / "sub" / "same-as-page-000.png").write_bytes(b"page 0")
    (root / ".hidden.png").write_bytes(b"hidden file")
    (root / ".cache" / "thumb.png").write_bytes(b"hidden folder")
    return root


def _summary_counts(out: str) -> dict[str, int]:
    """The table ``anchor DIR`` prints: label -> number of files."""
    counts = {}
    for line in out.splitlines():
        m = re.fullmatch(r"  (\S.*?)\s+(\d+)", line)
        if m:
            counts[m.group(1)] = int(m.group(2))
    return counts


def test_anchor_folder_prints_a_summary(tree: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = run("anchor", tree, home=home).out
    assert out.startswith(f"anchored folder {tree}\n")
    assert _summary_counts(out) == {
        "anchored now": UNIQUE, "already yours": 0, "same content twice": 1,
        "owned by another key": 0, "refused": 0, "skipped": 0, "total": LISTED}
    assert f"receipts in {home / 'receipts'}" in out
    assert tree_size(home) == UNIQUE
    # A re-run appends nothing and counts every file as already yours.
    again = run("anchor", tree, home=home).out
    assert _summary_counts(again)["already yours"] == UNIQUE
    assert _summary_counts(again)["anchored now"] == 0
    assert tree_size(home) == UNIQUE


Anchored = tuple[Path, dict[str, Any]]  # a data directory and the `anchor DIR --json` output


@pytest.fixture(scope="module")
def anchored_json(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Anchored:
    home = tmp_path_factory.mktemp("folder-json") / "home"
    return home, run_json("anchor", tree, "--json", home=home)


def test_json_summary_counts(anchored_json: Anchored, tree: Path) -> None:
    _, doc = anchored_json
    assert doc["folder"] == str(tree)
    assert doc["summary"] == {"anchored": UNIQUE, "duplicate": 1}
    assert len(doc["files"]) == LISTED


def test_json_lists_every_visible_file_with_its_work_id(
    anchored_json: Anchored, tree: Path
) -> None:
    _, doc = anchored_json
    listed = {Path(row["file"]) for row in doc["files"]}
    assert listed == {p for p in tree.rglob("*") if p.is_file() and ".cache" not in p.parts
                      and not p.name.startswith(".")}
    assert tree / "sub" / "deeper" / "cover.tif" in listed
    for row in doc["files"]:
        digest = hashlib.sha256(Path(row["file"]).read_bytes()).hexdigest()
        assert row["work"] == "sha256:" + digest


def test_hidden_files_are_skipped(anchored_json: Anchored, tree: Path) -> None:
    home, doc = anchored_json
    assert not any("/." in row["file"] for row in doc["files"])
    result = run("status", tree / ".hidden.png", home=home, ok_codes=(2,))
    assert "no work" in result.err


def test_the_same_content_twice_is_anchored_once(
    anchored_json: Anchored, tree: Path
) -> None:
    _, doc = anchored_json
    rows = {row["file"]: row for row in doc["files"]}
    first, copy = rows[str(tree / "page-000.png")], rows[str(tree / "sub" / "same-as-page-000.png")]
    assert first["status"] == "anchored"
    assert copy["status"] == "duplicate"
    assert copy["duplicate_of"] == first["file"]
    assert copy["work"] == first["work"]


def test_every_anchored_file_has_a_receipt(anchored_json: Anchored) -> None:
    home, doc = anchored_json
    anchored = [row for row in doc["files"] if row["status"] == "anchored"]
    assert sorted(row["index"] for row in anchored) == list(range(UNIQUE))
    for row in anchored:
        receipt = json.loads(Path(row["receipt"]).read_text())
        assert receipt["event"]["id"] == row["id"]
        assert receipt["event"]["work"] == row["work"]
    run("verify", anchored[-1]["receipt"], "--log-key", log_key(home), home=home)


def test_a_rerun_appends_nothing_and_reports_already_yours(
    anchored_json: Anchored, tree: Path
) -> None:
    home, first = anchored_json
    size = tree_size(home)
    receipts = {p: p.stat().st_mtime_ns for p in (home / "receipts").iterdir()}
    doc = run_json("anchor", tree, "--json", home=home)
    assert doc["summary"] == {"exists": UNIQUE, "duplicate": 1}
    assert tree_size(home) == size
    # Each "exists" row names its registration's index and kept receipt, as `anchor FILE`
    # does; the receipts kept are not written again.
    anchored = {row["file"]: row for row in first["files"] if row["status"] == "anchored"}
    for row in doc["files"]:
        if row["status"] == "exists":
            was = anchored[row["file"]]
            assert (row["id"], row["index"], row["receipt"]) == (
                was["id"], was["index"], was["receipt"])
    assert {p: p.stat().st_mtime_ns for p in (home / "receipts").iterdir()} == receipts


def test_another_key_is_refused_every_file(anchored_json: Anchored, tree: Path) -> None:
    home, _ = anchored_json
    new_key("rival", home)
    size = tree_size(home)
    result = run("anchor", tree, "--key", "rival", home=home, ok_codes=(1,))
    assert _summary_counts(result.out)["owned by another key"] == UNIQUE
    # The text names the first 20 files and says how many more --json lists.
    lines = result.err.splitlines()
    conflicts = [line for line in lines if line.startswith("  conflict: ")]
    assert len(conflicts) == LISTED_FILES
    assert lines[-1] == f"  ... {UNIQUE - LISTED_FILES} more in --json"
    assert len(lines) == LISTED_FILES + 1
    assert conflicts[0].startswith(f"  conflict: {tree / 'page-000.png'}: registered by another")
    assert tree_size(home) == size
    doc = json.loads(run("anchor", tree, "--key", "rival", "--json", home=home,
                         ok_codes=(1,)).out)
    assert doc["summary"] == {"conflict": UNIQUE, "duplicate": 1}
    assert sum(row["status"] == "conflict" for row in doc["files"]) == UNIQUE
