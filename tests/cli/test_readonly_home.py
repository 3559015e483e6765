"""A home the user may only read (a read-only mount, or a copy handed to an auditor) still
answers every read command; a write command fails with one line and changes nothing
(specs/storage.md section 2.2).

The tests run as root, whom file modes do not stop, so the CLI runs in a mount namespace of its
own (``unshare -m``) where the home is bind-mounted read-only: the operating system, not the
test, refuses the writes, as on a read-only mount.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import PROVENANCE, Result, assert_one_error_line, log_key, run


@pytest.fixture
def readonly_home(tmp_path: Path) -> tuple[Path, Path]:
    """(home, file): a home with one anchored file and a grant on it."""
    home = tmp_path / "home"
    page = tmp_path / "page.txt"
    page.write_text("a page for the auditor\n")
    run("anchor", page, home=home)
    run("consent", "grant", page, "--purpose", "ai_training", "--anyone", home=home)
    return home, page


def run_readonly(*args: str | Path, home: Path, ledger_home: bool = True) -> Result:
    """``provenance ARGS`` with ``home`` mounted read-only in a mount namespace of its own
    (``ledger_home``: it is the ledger's home, ``$PROVENANCE_HOME``; else a node's, named by
    the command's own ``--home``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"HOME": str(home.parent), "NO_COLOR": "1"})
    if ledger_home:
        env["PROVENANCE_HOME"] = str(home)
    mount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", mount, str(home), str(PROVENANCE), *map(str, args)],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def test_read_commands_answer_from_a_readonly_home(readonly_home: tuple[Path, Path]) -> None:
    home, page = readonly_home
    before = digest(home)
    key = run_readonly("log", "key", home=home)
    assert key.code == 0, key.err
    assert key.out.strip() == log_key(home)
    for args in (["status", page], ["log", "checkpoint"], ["log", "audit"]):
        r = run_readonly(*args, home=home)
        assert r.code == 0, (args, r.err)
    studio = "ed25519:" + "ab" * 32
    allowed = run_readonly("may", studio, "ai_training", page, home=home)
    assert allowed.code == 0, allowed.err
    assert run_readonly("may", studio, "data_mining", page, home=home).code == 1
    assert digest(home) == before  # nothing written, not even a -shm file


def test_a_write_to_a_readonly_home_is_one_line(readonly_home: tuple[Path, Path]) -> None:
    home, page = readonly_home
    before = digest(home)
    r = run_readonly("consent", "grant", page, "--purpose", "data_mining", "--anyone",
                      home=home)
    assert r.code == 2
    assert "read-only" in assert_one_error_line(r)
    assert digest(home) == before


def test_may_answers_from_a_readonly_copy_of_a_node_home(tmp_path: Path) -> None:
    """A node's home read-only: ``may`` reads the node's witness database (for registrations
    on the logs it mirrors) without writing it."""
    home = tmp_path / "node"
    run("node", "init", "--home", home, "--origin", "auditor.example/log", home=home)
    page = tmp_path / "page.txt"
    page.write_text("a page on a node\n")
    run("anchor", page, home=home)
    run("consent", "grant", page, "--purpose", "ai_training", "--anyone", home=home)
    run("node", "evidence", "--home", home, home=home)  # the witness database exists
    assert (home / "witness.db").is_file()
    before = digest(home)
    studio = "ed25519:" + "cd" * 32
    allowed = run_readonly("may", studio, "ai_training", page, home=home)
    assert allowed.code == 0, allowed.err
    assert run_readonly("may", studio, "data_mining", page, home=home).code == 1
    assert digest(home) == before
