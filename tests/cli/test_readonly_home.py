"""A home the user may only read (a read-only mount, or a copy handed to an auditor) still
answers every read command; a write command fails with one line and changes nothing
(specs/storage.md section 2.2).

The tests run as root, whom file modes do not stop, so the CLI runs as the unprivileged user
``nobody`` (``setpriv``) over a copy of the home that belongs to nobody with read-only modes:
the operating system, not the test, refuses the writes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import PROVENANCE, Result, assert_one_error_line, log_key, run

NOBODY = 65534


@pytest.fixture
def readonly_home(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(home, file): a home with one anchored file, copied where nobody can read it and
    write nothing."""
    home = tmp_path / "home"
    page = tmp_path / "page.txt"
    page.write_text("a page for the auditor\n")
    run("anchor", page, home=home)
    run("consent", "grant", page, "--purpose", "ai_training", "--anyone", home=home)
    top = Path(tempfile.mkdtemp(prefix="ro-home-", dir="/tmp"))
    try:
        top.chmod(0o755)
        copy = top / "home"
        shutil.copytree(home, copy)
        shutil.copy(page, top / "page.txt")
        for p in [copy, *copy.rglob("*"), top / "page.txt"]:
            os.chown(p, NOBODY, NOBODY)
            p.chmod(0o500 if p.is_dir() else 0o400)
        yield copy, top / "page.txt"
    finally:
        shutil.rmtree(top)


def run_as_nobody(*args: str | Path, home: Path) -> Result:
    env = {"PATH": os.environ.get("PATH", ""), "PROVENANCE_HOME": str(home),
           "HOME": str(home), "NO_COLOR": "1"}
    proc = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         str(PROVENANCE), *map(str, args)],
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
    key = run_as_nobody("log", "key", home=home)
    assert key.code == 0, key.err
    assert key.out.strip() == log_key(home)
    for args in (["status", page], ["log", "checkpoint"], ["log", "audit"]):
        r = run_as_nobody(*args, home=home)
        assert r.code == 0, (args, r.err)
    studio = "ed25519:" + "ab" * 32
    allowed = run_as_nobody("may", studio, "ai_training", page, home=home)
    assert allowed.code == 0, allowed.err
    assert run_as_nobody("may", studio, "data_mining", page, home=home).code == 1
    assert digest(home) == before  # nothing written, not even a -shm file


def test_a_write_to_a_readonly_home_is_one_line(readonly_home: tuple[Path, Path]) -> None:
    home, page = readonly_home
    before = digest(home)
    r = run_as_nobody("consent", "grant", page, "--purpose", "data_mining", "--anyone",
                      home=home)
    assert r.code == 2
    assert "read-only" in assert_one_error_line(r)
    assert digest(home) == before
