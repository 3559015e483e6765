"""Reads trust only what the signed map proves (specs/map.md section 10, reads).

A creator grants a consent, then revokes it. Whatever is then done to the database behind the
ledger's back (the revocation deleted, a map value rewritten), ``may`` and ``status`` answer
from events the log's signed map root vouches for, or fail with one line naming the audit:
never a false "allowed". The real CLI in a subprocess, a real SQLite file.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from provenance_ledger.core import vmap

from .conftest import new_key, run, run_json


@pytest.fixture(scope="module")
def revoked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, int]:
    """A home where a work's consent to B was granted, then revoked: (home, work, B, index
    of the revocation)."""
    root = tmp_path_factory.mktemp("map-reads")
    home = root / "home"
    page = root / "page.png"
    page.write_bytes(b"a page whose consent was revoked")
    work = run_json("anchor", page, "--json", home=home)["work"]
    b = new_key("b", home)
    grant = run_json("consent", "grant", work, "--purpose", "ai_training", "--to", b,
                     "--json", home=home)["id"]
    revocation = run_json("consent", "revoke", grant, "--json", home=home)
    run("may", b, "ai_training", work, home=home, ok_codes=(1,))
    return home, work, b, int(revocation["index"])


@pytest.fixture
def copy(revoked: tuple[Path, str, str, int], tmp_path: Path
         ) -> tuple[Path, str, str, int]:
    home, work, b, index = revoked
    clone = tmp_path / "home"
    shutil.copytree(home, clone)
    return clone, work, b, index


def altered(home: Path, change: Callable[[sqlite3.Connection], None]) -> None:
    with sqlite3.connect(home / "ledger.db") as conn:
        change(conn)


def test_a_deleted_revocation_is_an_error_never_allowed(
        copy: tuple[Path, str, str, int]) -> None:
    home, work, b, index = copy
    altered(home, lambda c: c.execute("DELETE FROM entries WHERE idx = ?", (index,)))
    for args in (["may", b, "ai_training", work], ["status", work]):
        result = run(*args, home=home, ok_codes=(2,))
        assert "database was altered" in result.err and "log audit" in result.err
        assert "allowed" not in result.out
        assert "Traceback" not in result.err


def test_a_rewritten_map_value_is_an_error(copy: tuple[Path, str, str, int]) -> None:
    """The map says the work has two events (no revocation), and the revocation row is gone:
    consistent with each other, but not with the root the log signed."""
    home, work, b, index = copy
    key = vmap.map_key(work)

    def rewrite(conn: sqlite3.Connection) -> None:
        rows = conn.execute("SELECT pos, node FROM map_nodes").fetchall()
        pos, node = next((p, n) for p, n in rows if n[:32] == key)
        grant_id = conn.execute("SELECT id FROM entries WHERE idx = ?", (index - 1,)).fetchone()
        value = vmap.MapValue(grant_id[0], 2, index - 1).to_bytes()
        conn.execute("UPDATE map_nodes SET node = ? WHERE pos = ?", (key + value, pos))
        conn.execute("DELETE FROM entries WHERE idx = ?", (index,))

    altered(home, rewrite)
    result = run("may", b, "ai_training", work, home=home, ok_codes=(2,))
    assert "signed root" in result.err and "log audit" in result.err


def test_an_untouched_home_still_answers(copy: tuple[Path, str, str, int]) -> None:
    home, work, b, _ = copy
    result = run("may", b, "ai_training", work, home=home, ok_codes=(1,))
    assert result.out.startswith("not allowed")
    assert "revoked" in result.out
