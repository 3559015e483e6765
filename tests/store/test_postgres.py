"""What is particular to the PostgreSQL store (specs/storage.md section 6): its schema and
migrations, the servers and schemas it refuses, and URLs whose password is never shown.
The store's semantics shared with SQLite are in test_backends.py.
"""

from __future__ import annotations

import threading

import psycopg
import pytest

from provenance_ledger.core.merkle import Frontier
from provenance_ledger.errors import StorageError
from provenance_ledger.store.postgres import MIGRATIONS, PostgresStore, check_url, redact
from provenance_ledger.store.sqlite import SCHEMA_VERSION

from .test_sqlite import block

TABLES = {"meta", "entries", "nodes", "checkpoints", "map_nodes", "migrations"}


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql.encode())
        return cur.fetchall() if cur.description else []


def test_the_schema_is_made_in_the_urls_schema_and_recorded(schema_url: str) -> None:
    PostgresStore(schema_url).close()
    names = {r[0] for r in query(schema_url, "SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = current_schema()")}
    assert names == TABLES
    assert query(schema_url, "SELECT name FROM migrations") == [(m[0],) for m in MIGRATIONS]
    assert query(schema_url, "SELECT value FROM meta WHERE key = 'schema'") == [
        (SCHEMA_VERSION,)]


def test_writers_opening_a_new_schema_together_migrate_it_once(schema_url: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            PostgresStore(schema_url).close()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert query(schema_url, "SELECT count(*) FROM migrations") == [(len(MIGRATIONS),)]


def test_a_newer_or_missing_schema_version_is_refused(schema_url: str) -> None:
    PostgresStore(schema_url).close()
    query(schema_url, "UPDATE meta SET value = '999' WHERE key = 'schema'")
    with pytest.raises(StorageError, match="999"):
        PostgresStore(schema_url)
    query(schema_url, "DELETE FROM meta WHERE key = 'schema'")
    with pytest.raises(StorageError, match="schema None"):
        PostgresStore(schema_url)


def test_another_programs_tables_are_not_taken_over(schema_url: str) -> None:
    query(schema_url, "CREATE TABLE entries (name text)")
    with pytest.raises(StorageError, match="not a provenance-ledger store"):
        PostgresStore(schema_url)
    assert query(schema_url, "SELECT count(*) FROM information_schema.tables WHERE "
                             "table_schema = current_schema()") == [(1,)]


def test_a_missing_schema_is_named(schema_url: str) -> None:
    with pytest.raises(StorageError, match="search_path does not exist"):
        PostgresStore(schema_url.replace("search_path%3D", "search_path%3Dmissing_"))


def test_a_server_that_could_lose_commits_is_refused(schema_url: str) -> None:
    # synchronous_commit=off acknowledges a commit before its WAL is on disk.
    with pytest.raises(StorageError, match="synchronous_commit=off"):
        PostgresStore(schema_url.replace("options=", "options=-csynchronous_commit%3Doff%20"))


def test_a_read_only_store_writes_nothing(schema_url: str) -> None:
    writer = PostgresStore(schema_url)
    frontier = Frontier()
    writer.commit_block(block(frontier, 2))
    reader = PostgresStore(schema_url, readonly=True)
    try:
        assert reader.size() == 2
        with pytest.raises(StorageError, match="read-only"):
            reader.commit_block(block(frontier, 1))
        with pytest.raises(StorageError, match="read-only"):
            reader.set_meta("origin", "x")
        assert writer.size() == 2
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize("url, shown", [
    ("postgresql://alice:pw@db.example/ledger", "postgresql://alice:***@db.example/ledger"),
    ("postgres://alice:p%40ss:w@db.example:5433/l?sslmode=require",
     "postgres://alice:***@db.example:5433/l?sslmode=require"),
    ("postgresql://db.example/l?user=alice&password=pw&sslmode=require",
     "postgresql://db.example/l?user=alice&password=***&sslmode=require"),
    ("postgresql://alice@db.example/ledger", "postgresql://alice@db.example/ledger"),
    ("postgresql://alice:p@ss@db.example/ledger", "postgresql://alice:***@db.example/ledger"),
    ("mysql://root:pw@localhost/db", "mysql://root:***@localhost/db"),
])
def test_passwords_are_never_shown(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_errors_never_carry_the_password(tmp_path: object) -> None:
    with pytest.raises(StorageError) as bad:
        check_url("sqlite:///x?password=hunter2")
    assert "hunter2" not in str(bad.value) and "postgresql://" in str(bad.value)
    with pytest.raises(StorageError) as gone:
        PostgresStore(f"postgresql://u:hunter2@/db?host={tmp_path}/none&connect_timeout=2")
    assert "hunter2" not in str(gone.value) and "cannot open ledger database" in str(gone.value)
