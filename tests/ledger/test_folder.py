"""Tests for provenance_ledger.ledger.folder: reading content, listing a folder, and anchoring
it with a receipt for every file, also after a run was killed and while another run anchors
the same files.

A real ledger in a real data directory, real files (FIFOs and symbolic links included) and
real signatures; receipts are verified with the log's key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provenance_ledger.core.receipt import Receipt, verify_receipt
from provenance_ledger.errors import LedgerError, MalformedError, NotFoundError
from provenance_ledger.ledger import Home, Ledger
from provenance_ledger.ledger import folder as folder_module
from provenance_ledger.ledger import worker as worker_module
from provenance_ledger.ledger.files import receipt_path
from provenance_ledger.ledger.folder import (
    FileResult,
    Status,
    anchor_folder,
    commit_plan,
    list_folder,
    plan_folder,
    read_content,
)
from provenance_ledger.store import Block, SqliteStore

from ..conftest import NOW, KeyFactory

FILES = 12


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """12 files with content (two levels), one hidden file."""
    root = tmp_path / "pages"
    (root / "sub").mkdir(parents=True)
    for n in range(FILES - 2):
        (root / f"page-{n:02}.png").write_bytes(f"page {n}".encode())
    (root / "sub" / "a.jpg").write_bytes(b"sketch a")
    (root / "sub" / "b.jpg").write_bytes(b"sketch b")
    (root / ".hidden").write_bytes(b"not listed")
    return root


@pytest.fixture
def home_ledger(tmp_path: Path) -> Iterator[tuple[Home, Ledger]]:
    home = Home(tmp_path / "home")
    ledger = home.open_ledger()
    yield home, ledger
    ledger.close()


def verify_kept(ledger: Ledger, result: FileResult) -> None:
    """The result's receipt is kept, 0600, proves its event, and verifies."""
    assert result.receipt is not None
    assert stat.S_IMODE(result.receipt.stat().st_mode) == 0o600
    doc = json.loads(result.receipt.read_text())
    assert doc["event"]["id"] == result.id
    assert doc["leaf_index"] == result.index
    verify_receipt(Receipt.from_json(doc), [ledger.verifier])


def statuses(results: tuple[FileResult, ...]) -> dict[Status, int]:
    counts: dict[Status, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


# -- reading and listing -------------------------------------------------------------------------
def test_read_content_hashes_a_regular_file(tmp_path: Path) -> None:
    page = tmp_path / "page.png"
    page.write_bytes(b"\x89PNG page")
    content = read_content(page)
    assert content.size == 9
    assert content.media_type == "image/png"
    assert content.work == "sha256:" + hashlib.sha256(b"\x89PNG page").hexdigest()


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_content(fifo)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            outcome.append(e)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "read_content waited on a FIFO"
    assert isinstance(outcome[0], MalformedError)
    assert str(outcome[0]) == f"{fifo} is a FIFO (named pipe), not a regular file"


def test_a_symbolic_link_is_followed_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "target.png"
    target.write_bytes(b"the target")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    assert read_content(link).sha256 == read_content(target).sha256
    with pytest.raises((MalformedError, NotFoundError), match="link.png"):
        read_content(link, follow_symlinks=False)


def test_list_folder_skips_links_and_special_files(folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not in the folder")
    (folder / "link-to-outside").symlink_to(outside)
    (folder / "link-to-sub").symlink_to(folder / "sub")
    os.mkfifo(folder / "sub" / "pipe")
    listing = list_folder(folder)
    assert len(listing.files) == FILES
    assert list(listing.files) == sorted(listing.files)
    assert folder / ".hidden" not in listing.files
    assert {(r.file.name, r.status, r.reason) for r in listing.skipped} == {
        ("link-to-outside", Status.SKIPPED, "a symbolic link (not followed)"),
        ("link-to-sub", Status.SKIPPED, "a symbolic link (not followed)"),
        ("pipe", Status.SKIPPED, "a FIFO (named pipe), not a regular file"),
    }


# -- anchoring a folder ----------------------------------------------------------------------
def test_anchor_folder_keeps_a_verifying_receipt_for_every_file(
    folder: Path, home_ledger: tuple[Home, Ledger], keys: KeyFactory
) -> None:
    home, ledger = home_ledger
    (folder / "empty.txt").write_bytes(b"")
    results = anchor_folder(ledger, keys("alice"), list_folder(folder), home.receipts, NOW)
    assert statuses(results) == {Status.ANCHORED: FILES, Status.SKIPPED: 1}
    assert stat.S_IMODE(home.receipts.stat().st_mode) == 0o700
    for r in results:
        if r.status is Status.ANCHORED:
            verify_kept(ledger, r)
    (empty,) = (r for r in results if r.status is Status.SKIPPED)
    assert empty.reason == "empty (an empty file is nobody's work)"
    assert ledger.size == FILES


def test_where_a_process_cannot_fork_the_folder_is_anchored_the_same_way(
    folder: Path, home_ledger: tuple[Home, Ledger], keys: KeyFactory,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signing and receipts on a thread (platforms without fork): the same results."""
    home, ledger = home_ledger
    monkeypatch.setattr(worker_module, "_can_fork", lambda: False)
    monkeypatch.setattr(folder_module, "PIPELINE_FILES", 5)
    monkeypatch.setattr(folder_module, "PIPELINE_BLOCK", 4)
    results = anchor_folder(ledger, keys("alice"), list_folder(folder), home.receipts, NOW)
    assert statuses(results) == {Status.ANCHORED: FILES}
    for r in results:
        verify_kept(ledger, r)
    assert not [p for p in home.receipts.iterdir() if p.name.endswith(".tmp")]


def test_a_rerun_reports_exists_with_receipts_and_writes_nothing(
    folder: Path, home_ledger: tuple[Home, Ledger], keys: KeyFactory
) -> None:
    home, ledger = home_ledger
    first = anchor_folder(ledger, keys("alice"), list_folder(folder), home.receipts, NOW)
    kept = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in home.receipts.iterdir()}
    checkpoint = ledger.latest_checkpoint()
    again = anchor_folder(ledger, keys("alice"), list_folder(folder), home.receipts, NOW + 1)
    assert statuses(again) == {Status.EXISTS: FILES}
    for before, now in zip(first, again, strict=True):
        assert (now.id, now.index, now.receipt) == (before.id, before.index, before.receipt)
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in home.receipts.iterdir()} == kept
    assert ledger.latest_checkpoint() == checkpoint


def test_a_run_killed_after_its_block_committed_is_finished_by_the_next(
    folder: Path, home_ledger: tuple[Home, Ledger], keys: KeyFactory
) -> None:
    home, ledger = home_ledger
    key = keys("alice")
    # The block of the killed run committed; it wrote two receipts of twelve, and a temporary
    # file it was writing when killed is left over.
    plan = plan_folder(ledger, key, list_folder(folder), NOW)
    killed = commit_plan(ledger, key, plan, NOW)
    assert statuses(killed) == {Status.ANCHORED: FILES}
    partial = anchor_folder(ledger, key, list_folder(folder / "sub"), home.receipts, NOW)
    assert statuses(partial) == {Status.EXISTS: 2}
    (home.receipts / f".x.json.{dead_pid()}.0badf00d.tmp").write_bytes(b'{"format"')
    results = anchor_folder(ledger, key, list_folder(folder), home.receipts, NOW + 1)
    assert statuses(results) == {Status.EXISTS: FILES}
    for r in results:
        verify_kept(ledger, r)
    assert len(list(home.receipts.iterdir())) == FILES
    assert ledger.size == FILES


def test_a_folder_larger_than_a_block_is_anchored_in_blocks_each_file_with_its_receipt(
    folder: Path, home_ledger: tuple[Home, Ledger], keys: KeyFactory,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    home, ledger = home_ledger
    # Parts of 4 files, a block from 3 new events: the receipts of one block are written
    # while the next files are planned; a copy in a later part is a duplicate of the first.
    monkeypatch.setattr(folder_module, "PIPELINE_FILES", 4)
    monkeypatch.setattr(folder_module, "PIPELINE_BLOCK", 3)
    (folder / "sub" / "z-copy.png").write_bytes((folder / "page-00.png").read_bytes())
    results = anchor_folder(ledger, keys("alice"), list_folder(folder), home.receipts, NOW)
    assert statuses(results) == {Status.ANCHORED: FILES, Status.DUPLICATE: 1}
    (copy,) = (r for r in results if r.status is Status.DUPLICATE)
    assert copy.duplicate_of == folder / "page-00.png"
    sizes = set()
    for r in results:
        if r.status is Status.ANCHORED:
            verify_kept(ledger, r)
            sizes.add(json.loads(r.receipt.read_text())["checkpoint"].split("\n")[1])
    assert len(sizes) == 3  # 13 files in parts of 4: a block after each of parts 1 to 3
    assert sorted(p.name for p in home.receipts.iterdir()) == sorted(
        r.receipt.name for r in results if r.receipt is not None)
    assert ledger.size == FILES


def test_a_receipt_that_cannot_be_written_is_an_error_and_the_next_run_writes_it(
    folder: Path, home_ledger: tuple[Home, Ledger], keys: KeyFactory,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    home, ledger = home_ledger
    key = keys("alice")
    monkeypatch.setattr(folder_module, "PIPELINE_FILES", 4)
    monkeypatch.setattr(folder_module, "PIPELINE_BLOCK", 3)
    plan = plan_folder(ledger, key, list_folder(folder), NOW)
    path = receipt_path(home.receipts, plan.results[5].work or "", "work.register",
                        dict(plan.to_append)[5].id)
    path.mkdir(parents=True)  # a folder where that receipt goes: its rename fails
    with pytest.raises(LedgerError, match=re.escape(f"cannot write {path}")):
        anchor_folder(ledger, key, list_folder(folder), home.receipts, NOW)
    assert not [p for p in home.receipts.iterdir() if p.name.endswith(".tmp")]
    path.rmdir()
    results = anchor_folder(ledger, key, list_folder(folder), home.receipts, NOW + 1)
    assert statuses(results) == {Status.EXISTS: FILES}
    for r in results:
        verify_kept(ledger, r)
    assert ledger.size == FILES


def dead_pid() -> int:
    """The pid of a process that has run and exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


@pytest.mark.parametrize("same_key", [True, False], ids=["same key", "another key"])
def test_a_race_lost_to_another_run(
    folder: Path, home_ledger: tuple[Home, Ledger], keys: KeyFactory, same_key: bool
) -> None:
    home, ledger = home_ledger
    mine = keys("alice")
    theirs = mine if same_key else keys("bob")
    listing = list_folder(folder)
    # Both runs looked the works up before either committed.
    plan_mine = plan_folder(ledger, mine, listing, NOW)
    plan_theirs = plan_folder(ledger, theirs, listing, NOW)
    commit_plan(ledger, theirs, plan_theirs, NOW)
    results = commit_plan(ledger, mine, plan_mine, NOW)
    expected = Status.EXISTS if same_key else Status.CONFLICT
    assert statuses(results) == {expected: FILES}
    for r, theirs_r in zip(results, plan_theirs.results, strict=True):
        assert r.registrant == theirs.public.text
        assert r.file == theirs_r.file
    assert ledger.size == FILES


class _InterleavedStore(SqliteStore):
    """A real SQLite store that lets another writer commit just before its first commit: the
    moment between a block's validation and its commit."""

    def __init__(self, path: Path, other_writer: Callable[[], None]) -> None:
        super().__init__(path)
        self.other_writer: Callable[[], None] | None = other_writer
        self.commits = 0

    def commit_block(self, block: Block, ready: Callable[[], bool] | None = None) -> bool:
        if self.other_writer is not None:
            writer, self.other_writer = self.other_writer, None
            writer()
        self.commits += 1
        return super().commit_block(block, ready)


def test_a_block_refused_by_the_store_after_another_commit_is_tried_again(
    folder: Path, home_ledger: tuple[Home, Ledger], keys: KeyFactory
) -> None:
    home, ledger = home_ledger
    key = keys("alice")
    listing = list_folder(folder)
    other_plan = plan_folder(ledger, key, list_folder(folder / "sub"), NOW)
    store = _InterleavedStore(home.db_path,
                              lambda: commit_plan(ledger, key, other_plan, NOW) and None)
    racing = Ledger(store, ledger.signer)
    try:
        plan = plan_folder(racing, key, listing, NOW)
        results = commit_plan(racing, key, plan, NOW)
    finally:
        racing.close()
    assert statuses(results) == {Status.ANCHORED: FILES - 2, Status.EXISTS: 2}
    assert store.commits == 2  # refused whole (the index was taken), then committed
    assert {r.file.name for r in results if r.status is Status.EXISTS} == {"a.jpg", "b.jpg"}
    assert ledger.store.size() == FILES


def test_to_json_leaves_out_what_does_not_apply(tmp_path: Path) -> None:
    dup = FileResult(tmp_path / "b", Status.DUPLICATE, "sha256:" + "00" * 32,
                     duplicate_of=tmp_path / "a")
    assert dup.to_json() == {"file": str(tmp_path / "b"), "work": "sha256:" + "00" * 32,
                             "status": "duplicate", "duplicate_of": str(tmp_path / "a")}
    skipped = FileResult(tmp_path / "l", Status.SKIPPED, reason="a symbolic link (not followed)")
    assert skipped.to_json() == {"file": str(tmp_path / "l"), "status": "skipped",
                                 "reason": "a symbolic link (not followed)"}


def test_results_are_frozen(tmp_path: Path) -> None:
    r = FileResult(tmp_path / "a", Status.ANCHORED)
    with pytest.raises(AttributeError):
        r.status = Status.EXISTS  # type: ignore[misc]
