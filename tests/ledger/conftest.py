"""The ledger's tests run against both stores (issue 15): every test here runs once on SQLite
(the embedded default) and once on PostgreSQL, where each home the test makes keeps its log in
a fresh schema of the test server, as ``node init --store`` would give it.

Not doubled: tests that make no folder (so no home, no store), and the modules and tests named
in ``SQLITE_ONLY_MODULES`` and ``SQLITE_ONLY`` (no store involved, or one that edits the SQLite
file itself; test_audit_postgres.py makes those edits on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provenance_ledger.ledger import home as home_module
from provenance_ledger.ledger.home import STORE_FILE, Home

from ..postgres import new_schema

BACKENDS = ("sqlite", "postgresql")

SQLITE_ONLY_MODULES = frozenset({
    "test_files",    # atomic file writes: no store involved
    "test_keys",     # key files: no store involved
    "test_mirror",   # a mirror's store is a SQLite file in the node home (specs/storage.md 6.3)
    "test_audit",    # edits the SQLite file with sqlite3; test_audit_postgres.py does the same
                     # edits on PostgreSQL
    "test_media_code",  # audio and video coding; its index tests edit the SQLite index file
})
SQLITE_ONLY = frozenset({
    # The map rows are edited through sqlite3 (test_audit_postgres.py edits them on PostgreSQL).
    "test_a_map_altered_in_the_database_is_never_built_upon",
    "test_a_map_node_altered_below_the_levels_held_in_memory_is_never_built_upon",
    # A store subclassed from SqliteStore to interleave two writers (the race on PostgreSQL:
    # tests/store/test_backends.py).
    "test_a_block_refused_by_the_store_after_another_commit_is_tried_again",
})

POSTGRESQL_ONLY_MODULES = frozenset({"test_audit_postgres"})  # its edits use psycopg


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    # A test that makes no folder makes no home, so no store: it runs once.
    makes_homes = {"tmp_path", "tmp_path_factory"} & set(metafunc.fixturenames)
    if "backend" in metafunc.fixturenames:
        if (module in SQLITE_ONLY_MODULES or metafunc.function.__name__ in SQLITE_ONLY
                or not makes_homes):
            metafunc.parametrize("backend", BACKENDS[:1], indirect=True, scope="module")
        elif module in POSTGRESQL_ONLY_MODULES:
            metafunc.parametrize("backend", BACKENDS[1:], indirect=True, scope="module")
        else:
            metafunc.parametrize("backend", BACKENDS, indirect=True, scope="module")


@pytest.fixture(scope="module", autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The store every home made in this test keeps its log in: ``sqlite`` (``ledger.db``)
    or ``postgresql`` (a new schema of the test server for each new home)."""
    name: str = getattr(request, "param", "sqlite")
    if name == "sqlite":
        yield name
        return
    server: str = request.getfixturevalue("postgres_server")
    original = Home.store_url

    def store_url(self: Home) -> str | None:
        if (self.store is None and not (self.path / STORE_FILE).exists()
                and not self.db_path.exists()):
            return new_schema(server)
        return original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(home_module.Home, "store_url", store_url)
        yield name
