"""``provenance anchor DIR`` after a crash: a run killed once its block committed is finished by
the next run (every file ends with a receipt that verifies), a complete folder's re-run writes
nothing, and no temporary file outlives a kill.

The "killed run" is made exactly: its block committed through the ledger layer with the home's
own key, as the CLI commits it, and no receipts written. One test also SIGKILLs the real CLI
while it writes receipts.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from provenance_ledger.ledger import Home
from provenance_ledger.ledger.folder import commit_plan, list_folder, plan_folder
from tests.cli.conftest import PROVENANCE, log_key, run, run_json, stored_sizes, user_home

FILES = 30


def make_folder(root: Path, files: int) -> Path:
    root.mkdir(parents=True)
    for n in range(files):
        (root / f"page-{n:04}.png").write_bytes(f"page {n} of a long book".encode())
    return root


def dead_pid() -> int:
    """The pid of a process that has run and exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def commit_without_receipts(home: Path, folder: Path) -> None:
    """What a run killed right after its block committed leaves: the registrations, signed
    with the home's default key, and no receipt."""
    h = Home(home)
    ledger = h.open_ledger()
    try:
        key = h.keys.create("default")
        plan = plan_folder(ledger, key, list_folder(folder), int(time.time()))
        commit_plan(ledger, key, plan, int(time.time()))
    finally:
        ledger.close()


def kept(home: Path) -> dict[str, tuple[int, int]]:
    """Each kept receipt's (inode, mtime): a rewrite changes them."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (home / "receipts").iterdir()}


def temporary_files(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*.tmp"))


def check_every_file_has_its_receipt(doc: dict[str, Any], files: int, home: Path) -> None:
    assert len(doc["files"]) == files
    for row in doc["files"]:
        assert row["status"] in ("anchored", "exists"), row
        assert isinstance(row["index"], int)
        receipt = json.loads(Path(row["receipt"]).read_text())
        assert receipt["event"]["id"] == row["id"]
        assert receipt["event"]["work"] == row["work"]
        assert receipt["leaf_index"] == row["index"]
    assert sorted(row["index"] for row in doc["files"]) == list(range(files))
    assert len(list((home / "receipts").glob("*.json"))) == files


def test_a_run_killed_after_its_block_committed_is_finished_by_the_next(
    tmp_path: Path
) -> None:
    home = tmp_path / "home"
    folder = make_folder(tmp_path / "pages", FILES)
    commit_without_receipts(home, folder)
    assert not (home / "receipts").exists()
    doc = run_json("anchor", folder, "--json", home=home)
    assert doc["summary"] == {"exists": FILES}
    check_every_file_has_its_receipt(doc, FILES, home)
    vkey = log_key(home)
    for row in (doc["files"][0], doc["files"][-1]):
        run("verify", row["receipt"], "--log-key", vkey, "--file", row["file"], home=home)
    # Finished: another re-run appends nothing and rewrites no receipt.
    before, sizes = kept(home), stored_sizes(home)
    again = run_json("anchor", folder, "--json", home=home)
    assert again["files"] == doc["files"]
    assert kept(home) == before
    assert stored_sizes(home) == sizes == (FILES, FILES)


def test_exists_rows_carry_index_and_receipt_in_text_too(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = make_folder(tmp_path / "pages", 3)
    commit_without_receipts(home, folder)
    out = run("anchor", folder, home=home).out
    assert "  already yours              3\n" in out
    assert len(list((home / "receipts").glob("*.json"))) == 3


def test_a_sigkilled_run_is_finished_by_the_next_with_no_temporary_files(
    tmp_path: Path
) -> None:
    """SIGKILL the real CLI as soon as it has written its first receipts; the re-run leaves
    every file with one receipt and nothing half-written. (If the run ends before the kill
    lands, the same must hold.)"""
    files = 1500
    home = tmp_path / "home"
    folder = make_folder(tmp_path / "pages", files)
    run("key", "new", "default", home=home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(user_home(home))})
    proc = subprocess.Popen([str(PROVENANCE), "anchor", str(folder)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    receipts = home / "receipts"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if receipts.is_dir() and any(receipts.iterdir()):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)  # poll interval, not a wait for time to pass
    proc.wait(timeout=60)
    doc = run_json("anchor", folder, "--json", home=home)
    check_every_file_has_its_receipt(doc, files, home)
    assert temporary_files(home) == []
    run("log", "audit", home=home)


def test_temporary_files_of_killed_runs_are_removed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = make_folder(tmp_path / "pages", 2)
    run("anchor", folder, home=home)
    gone = dead_pid()
    stale = [home / "receipts" / f".0123456789abcdef-work.register-0123.json.{gone}.1a2b3c4d.tmp",
             home / "receipts" / f".old-style.json.{gone}.140737488355328.tmp",
             home / "keys" / f".default.key.{gone}.5e6f7a8b.tmp",
             home / f".log.key.{gone}.9c0d1e2f.tmp"]
    live = home / "receipts" / f".r.json.{os.getpid()}.0a0b0c0d.tmp"  # this test is alive
    for path in (*stale, live):
        path.write_bytes(b"half")
    run("anchor", folder, home=home)
    assert temporary_files(home) == [live]


def test_receipts_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = make_folder(tmp_path / "pages", 2)
    home.mkdir(mode=0o700)
    (home / "receipts").mkdir(mode=0o755)  # as an older version made it
    (home / "receipts").chmod(0o755)
    run("anchor", folder, home=home)
    run("anchor", tmp_path / "pages" / "page-0000.png", home=home)  # FILE writes one too
    assert stat.S_IMODE((home / "receipts").stat().st_mode) == 0o700
    receipts = list((home / "receipts").iterdir())
    assert len(receipts) == 2
    for receipt in receipts:
        assert stat.S_IMODE(receipt.stat().st_mode) == 0o600, receipt
