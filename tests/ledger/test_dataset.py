"""Tests for provenance_ledger.ledger.dataset: reading a dataset and resolving its items
(specs/cli.md section 3.14), on real files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from provenance_ledger.core.events import work_id_of
from provenance_ledger.errors import MalformedError, NotFoundError
from provenance_ledger.ledger.dataset import ExactResolver, read_dataset


def _quiet(stage: str, done: int, total: int) -> None:
    """No progress shown."""


def _work(data: bytes) -> str:
    return work_id_of(hashlib.sha256(data).hexdigest())


def test_a_folder_lists_its_files_by_relative_path_and_skips_links(tmp_path: Path) -> None:
    root = tmp_path / "set"
    (root / "sub").mkdir(parents=True)
    (root / "b.png").write_bytes(b"bee")
    (root / "sub" / "a.png").write_bytes(b"ay")
    (root / ".hidden").write_bytes(b"not listed")
    (root / "link.png").symlink_to(root / "b.png")
    (root / "empty.png").write_bytes(b"")
    ds = read_dataset(root)
    assert [i.name for i in ds.items] == ["b.png", "empty.png", "sub/a.png"]
    assert [s.file.name for s in ds.skipped] == ["link.png"]
    resolved = ExactResolver().resolve(ds.items, _quiet)
    assert [(r.work, r.empty) for r in resolved] == [
        (_work(b"bee"), False), (_work(b""), True), (_work(b"ay"), False)]


def test_a_text_manifest_names_paths_ids_and_skips_comments(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"ex")
    wid = _work(b"elsewhere")
    manifest = tmp_path / "m.txt"
    manifest.write_text(f"# a comment\n\n  x.png  \n{wid.upper().replace('SHA256', 'sha256')}\n")
    ds = read_dataset(manifest)
    resolved = ExactResolver().resolve(ds.items, _quiet)
    assert [r.work for r in resolved] == [_work(b"ex"), wid]
    assert ds.items[0].where == f"{manifest} line 3"


def test_json_lines_take_one_member_and_ignore_the_others(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"ex")
    wid = _work(b"other")
    manifest = tmp_path / "m.data"  # detected by its first line, not its name
    manifest.write_text("\n".join(json.dumps(o) for o in (
        {"path": "x.png", "caption": "a cat", "url": "https://example.org/x.png"},
        {"sha256": wid[7:], "name": "other"},
        {"work": wid})) + "\n")
    ds = read_dataset(manifest)
    assert [i.name for i in ds.items] == ["x.png", "other", wid]
    assert [r.work for r in ExactResolver().resolve(ds.items, _quiet)] == [
        _work(b"ex"), wid, wid]


@pytest.mark.parametrize(("line", "words"), [
    ('{"path": "x", "iscc": "ISCC:AA"}', "exactly one of"),
    ('{"name": "x"}', "exactly one of"),
    ('{"sha256": "abc"}', "64 hex digits"),
    ('{"work": "' + "ab" * 32 + '"}', "a work id"),
    ('{"path": 3}', "non-empty string"),
    ('["x.png"]', "not a JSON object"),
    ('{"path": "a", "path": "b"}', "duplicate"),
])
def test_bad_json_lines_name_their_line(tmp_path: Path, line: str, words: str) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"work": "' + _work(b"ok") + '"}\n' + line + "\n")
    with pytest.raises(MalformedError, match=words) as e:
        read_dataset(manifest)
    assert "line 2" in str(e.value)


def test_an_iscc_code_names_no_exact_work(tmp_path: Path) -> None:
    manifest = tmp_path / "m.txt"
    manifest.write_text("ISCC:KACYPXW445FTYNJ3\n")
    (r,) = ExactResolver().resolve(read_dataset(manifest).items, _quiet)
    assert (r.work, r.similar, r.code) == (None, None, "ISCC:KACYPXW445FTYNJ3")


def test_a_missing_file_names_its_manifest_line(tmp_path: Path) -> None:
    manifest = tmp_path / "m.txt"
    manifest.write_text("gone.png\n")
    with pytest.raises(NotFoundError, match=r"m.txt line 1: no such file"):
        ExactResolver().resolve(read_dataset(manifest).items, _quiet)
