"""A node home's databases are private: ``witness.db`` (the witness's own state, with its
``-wal`` and ``-shm``) is made 0600 whatever the umask, as ``ledger.db`` is, and an older,
wider one is narrowed when the node opens it (specs/storage.md section 2, "Files")."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import run

PRIVATE = 0o600


def _modes(home: Path, prefix: str) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in home.iterdir()
            if p.name.startswith(prefix)}


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The usual umask (022), inherited by the CLI: a file is 0644 unless made otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_witness_db_is_made_private_whatever_the_umask(tmp_path: Path,
                                                       usual_umask: None) -> None:
    home = tmp_path / "node"
    run("node", "init", "--home", home, "--origin", "modes.test/log", home=home)
    run("node", "sync", "--home", home, home=home)
    modes = _modes(home, "witness.db")
    assert "witness.db" in modes
    assert modes == dict.fromkeys(modes, PRIVATE)
    assert _modes(home, "ledger.db") == dict.fromkeys(_modes(home, "ledger.db"), PRIVATE)


def test_a_wider_witness_db_is_narrowed_when_opened(tmp_path: Path) -> None:
    home = tmp_path / "node"
    run("node", "init", "--home", home, "--origin", "modes.test/log", home=home)
    run("node", "sync", "--home", home, home=home)
    (home / "witness.db").chmod(0o644)
    run("node", "sync", "--home", home, home=home)
    assert stat.S_IMODE((home / "witness.db").stat().st_mode) == PRIVATE


@pytest.mark.parametrize("listen", ["foo", "127.0.0.1:99999", "[1.2.3.4]:80", "example.org:80"])
def test_a_bad_listen_option_is_named_and_nothing_is_made(tmp_path: Path, listen: str) -> None:
    """``node init --listen`` and ``node serve --listen`` name the option in their one-line
    error (exit 2), and init makes no home."""
    home = tmp_path / "node"
    code, out, err = run("node", "init", "--home", home, "--origin", "example.org/log",
                         "--listen", listen, home=tmp_path / "user", ok_codes=(2,))
    assert err.startswith(f"error: --listen {listen!r}") and err.count("\n") == 1, err
    assert not home.exists()
    run("node", "init", "--home", home, "--origin", "example.org/log", home=tmp_path / "user")
    code, out, err = run("node", "serve", "--home", home, "--listen", listen,
                         home=tmp_path / "user", ok_codes=(2,))
    assert err.startswith(f"error: --listen {listen!r}") and err.count("\n") == 1, err
