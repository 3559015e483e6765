"""``node init --store postgresql://...`` and ``$PROVENANCE_STORE`` through the real CLI (issue
15; specs/storage.md section 6): the home records where its log is, later commands use it
without being told again, and the URL's password is never printed.
"""

from __future__ import annotations

import stat
from pathlib import Path

import psycopg

from .conftest import run, run_json

PASSWORD = "s3cret-Pa55"  # the test server trusts local sockets: the password is only carried


def with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)


def test_node_init_keeps_the_log_in_postgresql(tmp_path: Path, schema_url: str) -> None:
    home = tmp_path / "node"
    url = with_password(schema_url)
    made = run_json("node", "init", "--home", home, "--origin", "example.org/pg", "--store",
                    url, "--json", home=home)
    assert PASSWORD not in str(made) and made["store"].startswith("postgresql://postgres:***@")
    assert not (home / "ledger.db").exists()
    recorded = home / "store.url"
    assert recorded.read_text() == url + "\n"
    assert stat.S_IMODE(recorded.stat().st_mode) == 0o600
    page = tmp_path / "page.txt"
    page.write_text("a page drawn for the PostgreSQL store\n")
    out = run("anchor", page, home=home)
    assert PASSWORD not in out.out + out.err
    # Later commands find the log in PostgreSQL from the home alone.
    assert run("log", "checkpoint", home=home).out.split("\n")[1] == "1"
    with psycopg.connect(schema_url) as conn:
        row = conn.execute("SELECT count(*), min(work) FROM entries").fetchone()
    assert row is not None and row[0] == 1 and row[1].startswith("sha256:")
    assert not (home / "ledger.db").exists()


def test_a_home_made_with_provenance_store_stays_there(tmp_path: Path, schema_url: str) -> None:
    home = tmp_path / "home"
    page = tmp_path / "page.txt"
    page.write_text("anchored into the store the environment names\n")
    run("anchor", page, home=home, env={"PROVENANCE_STORE": schema_url})
    assert (home / "store.url").read_text() == schema_url + "\n"
    assert run("log", "checkpoint", home=home).out.split("\n")[1] == "1"  # no variable now
    # Another URL for the same home is refused, naming both without a password.
    other = with_password(schema_url.replace("search_path%3D", "search_path%3Dx"))
    bad = run("log", "checkpoint", home=home, env={"PROVENANCE_STORE": other}, ok_codes=(2,))
    assert "keeps its log in" in bad.err and PASSWORD not in bad.err
    assert len(bad.err.strip().splitlines()) == 1


def test_bad_store_urls_are_refused_before_anything_is_made(tmp_path: Path,
                                                            schema_url: str) -> None:
    home = tmp_path / "node"
    bad = run("node", "init", "--home", home, "--origin", "example.org/pg", "--store",
              f"mysql://root:{PASSWORD}@localhost/db", home=home, ok_codes=(2,))
    assert bad.err.startswith("error") or "postgresql://" in bad.err
    assert PASSWORD not in bad.err and len(bad.err.strip().splitlines()) == 1
    assert not home.exists()
    # A server that is not there: one line, the password left out, no node.toml.
    gone = with_password("postgresql://postgres@/postgres?host=" + str(tmp_path / "nowhere"))
    bad = run("node", "init", "--home", home, "--origin", "example.org/pg", "--store", gone,
              home=home, ok_codes=(2,))
    assert "cannot open ledger database" in bad.err and PASSWORD not in bad.err
    assert not home.exists()  # no empty home left to puzzle over
    # A schema that already holds another node's log: refused, and nothing made either.
    run("node", "init", "--home", tmp_path / "first", "--origin", "example.org/first",
        "--store", schema_url, home=tmp_path / "first")
    bad = run("node", "init", "--home", home, "--origin", "example.org/pg", "--store",
              schema_url, home=home, ok_codes=(2,))
    assert "already holds the log example.org/first" in bad.err
    assert len(bad.err.strip().splitlines()) == 1 and not home.exists()
