"""A home's log key is made once (specs/cli.md section 1, "log key"): a home whose log.key
went missing, or was replaced by another home's, is refused with one line naming the file and
the backup, exit 2, and nothing is written; a new key never goes on signing the old log."""

from __future__ import annotations

import shutil
from pathlib import Path

from .conftest import assert_one_error_line, run


def _anchored(tmp_path: Path, name: str) -> tuple[Path, Path]:
    home = tmp_path / name
    work = tmp_path / f"{name}.txt"
    work.write_text(f"a page of {name}\n")
    run("anchor", work, home=home)
    return home, work


def test_a_missing_log_key_is_refused_not_made_again(tmp_path: Path) -> None:
    home, work = _anchored(tmp_path, "creator")
    key = (home / "log.key").read_bytes()
    (home / "log.key").unlink()
    other = tmp_path / "other.txt"
    other.write_text("another page\n")
    for args in (("anchor", other), ("status", work), ("log", "key")):
        out = run(*args, home=home, ok_codes=(2,))
        assert_one_error_line(out)
        assert f"this home's log key {home / 'log.key'} is missing" in out.err
        assert "restore log.key from your backup" in out.err
        assert not (home / "log.key").exists()  # no new key was made
    (home / "log.key").write_bytes(key)
    (home / "log.key").chmod(0o600)
    assert "no work" in run("status", other, home=home, ok_codes=(2,)).err
    run("anchor", other, home=home)  # the home's own key back: it works as before


def test_another_homes_log_key_is_refused(tmp_path: Path) -> None:
    home, work = _anchored(tmp_path, "creator")
    elsewhere, _ = _anchored(tmp_path, "elsewhere")
    shutil.copy(elsewhere / "log.key", home / "log.key")
    out = run("status", work, home=home, ok_codes=(2,))
    assert_one_error_line(out)
    assert f"this home's log key {home / 'log.key'} did not sign its log's checkpoints " \
           "(latest: size 1)" in out.err


def test_a_new_home_still_makes_its_log_key(tmp_path: Path) -> None:
    home, _ = _anchored(tmp_path, "fresh")
    assert (home / "log.key").stat().st_mode & 0o777 == 0o600
