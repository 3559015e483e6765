"""A node whose log is in PostgreSQL outlives a restart of the database (specs/storage.md
section 6): the connections the server ended are opened again, so reads and submissions
work once the server is back, with no restart of the node. While the server is down, the node
answers with one line and keeps running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provenance_ledger.node import init_node
from provenance_ledger.node.reads import READ_CONNECTIONS
from tests.postgres import Cluster, start_cluster

from ..conftest import KeyFactory, Signer
from .conftest import HOST, ORIGIN, free_port, register, running, work


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL server of this test's own, which it restarts."""
    made = start_cluster()
    try:
        yield made
    finally:
        made.stop()


def submitted(http: httpx.Client, sign: Signer, keys: KeyFactory, name: str) -> httpx.Response:
    return http.post("/events", content=register(sign, keys("creator"), name).leaf)


def test_a_node_on_postgresql_outlives_a_restart_of_its_database(
        tmp_path: Path, cluster: Cluster, sign: Signer, keys: KeyFactory) -> None:
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}", store=cluster.url)
    with running(home) as node, node.client() as http:
        assert submitted(http, sign, keys, "before the restart").status_code == 200
        for _ in range(READ_CONNECTIONS + 1):  # open every read connection of the pool
            assert http.get(f"/works/{work('before the restart')}").status_code == 200

        cluster.restart()  # ends every connection the node holds

        # Each read opens its connection again: none fails, however many there are.
        for _ in range(2 * READ_CONNECTIONS + 2):
            answer = http.get(f"/works/{work('before the restart')}")
            assert answer.status_code == 200, answer.text
            assert http.get("/checkpoint").status_code == 200
        assert http.get("/proof/inclusion?index=0").status_code == 200  # the hot path
        # The writer too: a submission after the restart lands, and reads see it.
        landed = submitted(http, sign, keys, "after the restart")
        assert landed.status_code == 200, landed.text
        assert http.get(f"/works/{work('after the restart')}").status_code == 200
        assert http.get("/checkpoint").text.split("\n")[1] == "2"
