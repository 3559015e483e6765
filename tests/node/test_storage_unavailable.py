"""While a node's PostgreSQL database cannot be reached, the node says so: 503 with
``Retry-After`` and one line, on reads and submissions alike, and works again once the
database is back, with no restart of the node; a storage fault that is not an outage (a row
the database refuses) stays a 500 (specs/node.md section 2, "Storage unavailable";
specs/storage.md section 6.2). Its clients take that 503 as "try again later": the ``--node``
client with one line naming the node, a mirroring round as that peer's ``error``, never
``faulty``.

A real PostgreSQL cluster of each test's own (tests/postgres.py), stopped and started again
with ``pg_ctl``, under a real node serving on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from provenance_ledger.errors import NodeFailure, StorageError, StorageUnavailableError
from provenance_ledger.node import add_peer, init_node, load_config, node_keys, node_witness
from provenance_ledger.node import http as http_layer
from provenance_ledger.node.client import NodeClient
from provenance_ledger.node.mirror import sync_peer
from provenance_ledger.store.postgres import PostgresStore
from tests.postgres import START_TIMEOUT_S, Cluster, _server_options, run_as, start_cluster

from ..conftest import NOW, KeyFactory, Signer
from .conftest import HOST, ORIGIN, PEER, RunningNode, free_port, register, running, work

UNAVAILABLE = ("storage unavailable: the node's database cannot be reached; try again "
               "shortly")
"""The whole error line of the 503 (specs/node.md section 2)."""
PASSWORD = "hunter2-not-for-logs"
"""A password in the store's URL (the cluster trusts local connections, so it is not
checked): no answer and no log line may hold it."""


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL server of this test's own, which it stops and starts."""
    made = start_cluster()
    try:
        yield made
    finally:
        if not (made.folder / "data" / "postmaster.pid").exists():
            start(made)  # a test that failed while it was stopped: stop() needs it running
        made.stop()


def stop(cluster: Cluster) -> None:
    """Stop the server as an administrator does (``-m fast``: every connection ended), and
    wait until it is down."""
    run_as(cluster.user, [str(cluster.bin / "pg_ctl"), "-D", str(cluster.folder / "data"),
                          "-m", "fast", "-w", "-t", str(START_TIMEOUT_S), "stop"])


def start(cluster: Cluster) -> None:
    """Start the stopped server on the same socket, and wait until it takes connections."""
    run_as(cluster.user, [str(cluster.bin / "pg_ctl"), "-D", str(cluster.folder / "data"),
                          "-l", str(cluster.folder / "log"), "-w", "-t", str(START_TIMEOUT_S),
                          "-o", _server_options(cluster.folder), "start"])


@pytest.fixture
def node_on(tmp_path: Path, cluster: Cluster) -> Iterator[RunningNode]:
    """A node serving on 127.0.0.1 whose log is in ``cluster``, named by a URL with a
    password."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}",
              store=f"{cluster.url}&password={PASSWORD}")
    with running(home) as node:
        yield node


def assert_unavailable(answer: httpx.Response, cluster: Cluster) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    assert answer.json() == {"error": UNAVAILABLE}
    for secret in (PASSWORD, str(cluster.folder), "postgresql://"):
        assert secret not in answer.text


def test_while_the_database_is_down_reads_and_submissions_get_503_then_work_again(
        node_on: RunningNode, cluster: Cluster, sign: Signer, keys: KeyFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    alice = keys("alice")
    with node_on.client() as http:
        assert http.post("/events", content=register(sign, alice, "before").leaf
                         ).status_code == 200
        stop(cluster)
        with caplog.at_level(logging.WARNING, logger="provenance_ledger.node"):
            for path in (f"/works/{work('before')}", "/checkpoint", "/proof/inclusion?index=0",
                         f"/works/{work('before')}/state-receipt", "/explorer"):
                assert_unavailable(http.get(path), cluster)
            assert_unavailable(http.post("/events", content=register(sign, alice, "during").leaf),
                               cluster)
            batch = http.post("/events/batch", content=register(sign, alice, "batch").leaf)
            assert batch.status_code == 200, batch.text
            assert [(r["status"], r["error"]) for r in batch.json()["results"]] == [
                (503, UNAVAILABLE)]
            # What needs no database still answers, and the OpenAPI document declares the
            # 503 with its Retry-After on every route that needs it, and there only.
            assert http.get("/keys").status_code == 200
            paths = http.get("/openapi.json").json()["paths"]
            for path, method in (("/works/{work}", "get"), ("/checkpoint", "get"),
                                 ("/proof/inclusion", "get"), ("/events", "post"),
                                 ("/events/batch", "post"), ("/explorer", "get")):
                declared = paths[path][method]["responses"]["503"]
                assert "database cannot be reached" in declared["description"]
                assert declared["headers"]["Retry-After"]["required"] is True
            assert "503" not in paths["/keys"]["get"]["responses"]
            assert "503" not in paths["/page/{name}"]["get"]["responses"]
        records = [r for r in caplog.records if r.name == "provenance_ledger.node"]
        unavailable = [r for r in records if r.getMessage() == "storage unavailable"]
        assert {r.fields["path"] for r in unavailable} >= {  # type: ignore[attr-defined]
            f"/works/{work('before')}", "/checkpoint", "/events"}
        assert all(r.levelno == logging.WARNING for r in unavailable)
        assert any(r.getMessage() == "block failed: storage unavailable" for r in records)
        for record in records:
            assert PASSWORD not in str(getattr(record, "fields", "")), record.fields  # type: ignore[attr-defined]
            assert record.exc_info is None  # an outage is no failure of the node: no trace
        assert "password=***" in " ".join(r.fields["error"]  # type: ignore[attr-defined]
                                          for r in unavailable)

        start(cluster)  # the same node, not restarted
        assert http.get(f"/works/{work('before')}").status_code == 200
        assert http.get("/proof/inclusion?index=0").status_code == 200
        again = http.post("/events", content=register(sign, alice, "during").leaf)
        assert again.status_code == 200, again.text
        batch = http.post("/events/batch", content=register(sign, alice, "batch").leaf)
        assert [r["status"] for r in batch.json()["results"]] == [200]
        assert http.get("/checkpoint").text.split("\n")[1] == "3"


def test_a_row_the_database_refuses_stays_500_and_an_outage_is_503(
        node_on: RunningNode, cluster: Cluster, sign: Signer, keys: KeyFactory) -> None:
    """A block the database refuses (a tree node already stored under the key the block
    writes: a primary key violation) is the node's fault, 500 without a Retry-After; the same
    submission while the database is down is 503; once it is back, the refusal is the same
    500 again, and a corrupt row read is a 500 too."""
    alice = keys("alice")
    with node_on.client() as http:
        assert http.post("/events", content=register(sign, alice, "first").leaf
                         ).status_code == 200
        # The next block appends entry 1 and writes the node of level 1, index 0 (key
        # 1 << 56, specs/storage.md section 6.2): it is there already. (The log is in the
        # cluster's public schema.)
        with psycopg.connect(cluster.url, autocommit=True) as admin:
            admin.execute("INSERT INTO nodes VALUES (%s, %s)", (1 << 56, bytes(32)))
        second = register(sign, alice, "second").leaf
        refused = http.post("/events", content=second)
        assert refused.status_code == 500, refused.text
        assert refused.json() == {"error": "internal storage error"}
        assert "retry-after" not in refused.headers

        stop(cluster)
        assert_unavailable(http.post("/events", content=second), cluster)
        start(cluster)
        assert http.post("/events", content=second).status_code == 500

        # Corrupt rows: an entry's id that is not its leaf's hash (a read), the map's size
        # in meta that is not a number (a submission).
        with psycopg.connect(cluster.url, autocommit=True) as admin:
            admin.execute("UPDATE entries SET id = %s WHERE idx = 0", (bytes(32),))
            admin.execute("UPDATE meta SET value = 'x' WHERE key = 'map_size'")
        for broken in (http.get(f"/works/{work('first')}"),
                       http.post("/events", content=second)):
            assert broken.status_code == 500, broken.text
            assert broken.json() == {"error": "internal storage error"}
            assert "retry-after" not in broken.headers


def test_clients_take_the_503_as_try_again_later(
        tmp_path: Path, node_on: RunningNode, cluster: Cluster, sign: Signer,
        keys: KeyFactory) -> None:
    """The ``--node`` client stops with one line naming the node and saying to try again; a
    mirroring round reports the peer's ``error`` with the node's line, and the next round,
    once the database is back, mirrors it: the peer is never marked faulty."""
    with node_on.client() as http:
        assert http.post("/events", content=register(sign, keys("alice"), "one").leaf
                         ).status_code == 200
    mirror_home = tmp_path / "mirror"
    init_node(mirror_home, PEER, f"{HOST}:{free_port()}")
    add_peer(mirror_home, ORIGIN, node_on.url, node_keys(node_on.home)["log"])
    client = NodeClient(node_on.url, tmp_path / "pins")  # pins the key while all is well
    try:
        stop(cluster)
        with pytest.raises(NodeFailure) as failed:
            client.state_receipt(work("one"))
        assert str(failed.value) == (f"node {node_on.url} cannot reach its database; try "
                                     "again shortly")

        peer = load_config(mirror_home).peer(ORIGIN)
        with node_witness(mirror_home) as witness, httpx.Client() as http:
            down = sync_peer(mirror_home, peer, witness, http, NOW)
            assert (down.status, down.new_size) == ("error", 0)
            assert down.detail == (
                f"peer {ORIGIN} ({node_on.url}): GET {node_on.url}/checkpoint answered 503, "
                f"unavailable for now: try again later (Retry-After: 5 s): {UNAVAILABLE}")
            assert not witness.is_faulty(ORIGIN)
            start(cluster)
            up = sync_peer(mirror_home, peer, witness, http, NOW)
        assert (up.status, up.new_size) == ("mirrored", 1), up.detail
        assert client.state_receipt(work("one"))["format"]
    finally:
        client.close()


def test_which_failures_of_the_database_are_an_outage(cluster: Cluster) -> None:
    """A server that takes no more connections (here: of a role limited to one) is an
    outage; a server that refuses the role itself is not (the node's configuration is at
    fault), nor a stopped server's data. Each as ``PostgresStore`` opens its connection."""
    with psycopg.connect(cluster.url, autocommit=True) as admin:
        admin.execute("CREATE ROLE limited LOGIN CONNECTION LIMIT 1")
        admin.execute("GRANT ALL ON SCHEMA public TO limited")
    limited = cluster.url.replace("postgres@", "limited@")
    held = PostgresStore(limited)  # the role's one connection
    try:
        with pytest.raises(StorageUnavailableError, match="too many connections for role"):
            PostgresStore(limited, readonly=True)
    finally:
        held.close()
    with pytest.raises(StorageError, match="role \"nobody\" does not exist") as refused:
        PostgresStore(cluster.url.replace("postgres@", "nobody@"))
    assert not isinstance(refused.value, StorageUnavailableError)
    stop(cluster)
    with pytest.raises(StorageUnavailableError, match="cannot open ledger database"):
        PostgresStore(cluster.url)
    start(cluster)


def test_the_spec_states_the_status_header_and_line_the_node_answers() -> None:
    """specs/node.md section 2, "Storage unavailable", word for word with the node's own."""
    spec = " ".join((Path(__file__).resolve().parents[2] / "specs" / "node.md").read_text(
        encoding="utf-8").split())
    assert UNAVAILABLE == http_layer.UNAVAILABLE
    assert f'`{{"error": "{UNAVAILABLE}"}}`' in spec
    assert f"`Retry-After: {http_layer.UNAVAILABLE_RETRY_AFTER_S}`" in spec
    assert f"(Retry-After: {http_layer.UNAVAILABLE_RETRY_AFTER_S} s)" in spec
    assert http_layer.UNAVAILABLE_RETRY_AFTER_S == 5  # the seconds the tests above expect
