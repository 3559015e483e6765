"""Tests for provenance_ledger.ledger.files: files written whole or not at all, with exact
permissions, and the temporary files of killed writers cleaned up.

Real files under tmp_path; a "dead" writer is a real child process that has exited.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from provenance_ledger.errors import LedgerError
from provenance_ledger.ledger.files import (
    SYNCFS_MIN_FILES,
    private_folder,
    receipt_path,
    remove_stale_temps,
    temp_path,
    write_atomic,
    write_atomic_all,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def dead_pid() -> int:
    """The pid of a process that has run and exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_atomic_writes_the_bytes_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_atomic(tmp_path / "r.json", b"{}\n")
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").read_bytes() == b"{}\n"
    assert mode(tmp_path / "r.json") == 0o600
    assert temps(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o277], ids=["usual", "taking the owner's bits"])
def test_many_files_are_written_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    items = [(tmp_path / f"r{n}.json", f"{n}\n".encode()) for n in range(SYNCFS_MIN_FILES)]
    old = os.umask(umask)
    try:
        write_atomic_all(items)
    finally:
        os.umask(old)
    assert [(mode(p), p.read_bytes()) for p, _ in items] == [(0o600, d) for _, d in items]
    assert temps(tmp_path) == []


def test_mode_none_gives_a_new_files_default(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "node.toml", b"x = 1\n", mode=None)
    finally:
        os.umask(old)
    assert mode(tmp_path / "node.toml") == 0o644


def test_write_atomic_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"


def test_exclusive_never_replaces(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    path.write_bytes(b"first")
    with pytest.raises(LedgerError, match="already exists"):
        write_atomic(path, b"second", exclusive=True)
    assert path.read_bytes() == b"first"
    assert temps(tmp_path) == []


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(LedgerError, match="cannot write"):
        write_atomic_all([(tmp_path / f"r{n}", b"x") for n in range(3)]
                         + [(tmp_path / "taken", b"y")])
    assert temps(tmp_path) == []


def test_write_atomic_all_writes_many_files(tmp_path: Path) -> None:
    items = [(tmp_path / f"r{n}.json", f"{n}\n".encode()) for n in range(SYNCFS_MIN_FILES * 3)]
    write_atomic_all(items)
    for path, data in items:
        assert path.read_bytes() == data
        assert mode(path) == 0o600
    assert temps(tmp_path) == []


def test_stale_temporary_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    gone = dead_pid()
    stale = [f".r.json.{gone}.0a1b2c3d.tmp", f".k.key.{gone}.140234.tmp"]  # now and before
    live = f".r.json.{os.getpid()}.0a1b2c3d.tmp"
    other = ["notes.tmp", ".r.json.tmp", "r.json"]
    for name in [*stale, live, *other]:
        (tmp_path / name).write_bytes(b"x")
    assert remove_stale_temps(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live, *other])


def test_temp_names_name_this_process(tmp_path: Path) -> None:
    a, b = temp_path(tmp_path / "r.json"), temp_path(tmp_path / "r.json")
    assert a != b
    assert a.name.startswith(f".r.json.{os.getpid()}.") and a.name.endswith(".tmp")


def test_private_folder_is_created_0700_and_tightened(tmp_path: Path) -> None:
    made = private_folder(tmp_path / "receipts")
    assert mode(made) == 0o700
    loose = tmp_path / "old-receipts"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    private_folder(loose)
    assert mode(loose) == 0o700


def test_private_folder_removes_stale_temporary_files(tmp_path: Path) -> None:
    (tmp_path / f".r.json.{dead_pid()}.00ff00ff.tmp").write_bytes(b"half a rec")
    private_folder(tmp_path)
    assert temps(tmp_path) == []


def test_receipt_path_is_named_after_work_type_and_event(tmp_path: Path) -> None:
    path = receipt_path(tmp_path, "sha256:" + "ab" * 32, "work.register", "cd" * 32)
    assert path == tmp_path / f"{'ab' * 8}-work.register-{'cd' * 6}.json"


def test_many_files_are_flushed_one_by_one_without_syncfs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance_ledger.ledger import files

    monkeypatch.setattr(files, "_syncfs", lambda: None)  # a system without syncfs(2)
    items = [(tmp_path / f"r{n}.json", b"x") for n in range(SYNCFS_MIN_FILES)]
    write_atomic_all(items)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p, _ in items)


def test_many_files_named_as_text_are_written_like_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Receipts are handed over as text (a bare name: in the current folder)."""
    monkeypatch.chdir(tmp_path)
    items: list[tuple[Path | str, bytes]] = [(str(tmp_path / f"r{n}.json"), b"%d" % n)
                                             for n in range(SYNCFS_MIN_FILES)]
    items.append(("bare.json", b"bare"))
    write_atomic_all(items)
    for path, data in items:
        assert Path(path).read_bytes() == data
        assert mode(Path(path)) == 0o600
    assert temps(tmp_path) == []
