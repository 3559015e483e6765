"""A home the user owns is private (specs/cli.md section 1, data directory and signing key):
its folder, ``keys/`` and ``receipts/`` are made 0700 again when they were made open by hand,
and a signing key file that group or others may read is refused with one line that says how
to fix it, as ssh refuses one."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.inproc import given

from .conftest import run


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_folders_made_open_by_hand_are_made_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for folder in (home, home / "keys", home / "receipts"):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)
    (tmp_path / "f.txt").write_text("a page\n")
    run("anchor", tmp_path / "f.txt", home=home)
    assert {p.name: mode(p) for p in (home, home / "keys", home / "receipts")} == {
        "home": 0o700, "keys": 0o700, "receipts": 0o700}


def test_an_open_keys_folder_is_made_private_when_a_key_is_used(tmp_path: Path) -> None:
    home = tmp_path / "home"
    given("key", "new", "studio", home=home)
    (home / "keys").chmod(0o755)
    home.chmod(0o755)
    (tmp_path / "f.txt").write_text("a page\n")
    run("anchor", tmp_path / "f.txt", "--key", "studio", home=home)
    assert (mode(home), mode(home / "keys")) == (0o700, 0o700)


def test_a_key_file_readable_by_others_is_refused_with_how_to_fix_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    given("key", "new", "studio", home=home)
    key_file = home / "keys" / "studio.key"
    key_file.chmod(0o644)
    (tmp_path / "f.txt").write_text("a page\n")
    r = run("anchor", tmp_path / "f.txt", "--key", "studio", home=home, ok_codes=(2,))
    assert r.out == ""
    assert r.err.count("\n") == 1, r.err
    assert f"key file {key_file} is open to others (mode 0644)" in r.err
    assert f"chmod 600 {key_file}" in r.err
    assert mode(key_file) == 0o644  # the user's file: not changed behind their back
    assert run("works", "--key", "studio", home=home).out.startswith("no works")
    key_file.chmod(0o600)
    run("anchor", tmp_path / "f.txt", "--key", "studio", home=home)


def test_a_group_readable_key_file_is_refused_too(tmp_path: Path) -> None:
    home = tmp_path / "home"
    given("key", "new", "studio", home=home)
    (home / "keys" / "studio.key").chmod(0o640)
    (tmp_path / "f.txt").write_text("a page\n")
    r = run("anchor", tmp_path / "f.txt", "--key", "studio", home=home, ok_codes=(2,))
    assert "(mode 0640)" in r.err and "chmod 600" in r.err


def test_a_log_key_open_to_others_is_made_private_and_said(tmp_path: Path) -> None:
    """specs/cli.md section 1, data directory: the log's signing key and ``store.url`` are the
    owner's alone; one found open to others is made 0600 when the home is opened, and the
    user is told once, since it may have been copied."""
    home = tmp_path / "home"
    (tmp_path / "f.txt").write_text("a page\n")
    run("anchor", tmp_path / "f.txt", home=home)
    log_key = home / "log.key"
    assert mode(log_key) == 0o600
    log_key.chmod(0o644)
    r = run("works", home=home)
    assert r.err == (f"warning: {log_key} was open to others (mode 0644): made 0600; whoever "
                     "could read it may have copied it\n")
    assert mode(log_key) == 0o600
    assert run("works", home=home).err == ""  # said once
