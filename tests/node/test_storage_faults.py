"""Faults of a node's PostgreSQL database beyond a clean stop (specs/node.md section 2,
"Storage unavailable"; specs/storage.md section 6): a database host that goes silent (the
event loop keeps answering, proofs are 503 at once), a failover to a read-only standby (a
write is a 503, not a 500), what the ``--node`` client says of that 503, and witnessing and
mirroring rounds while the database is away.

A real PostgreSQL cluster of each test's own (tests/postgres.py), stopped and started with
``pg_ctl``; a silent host is a TCP relay on 127.0.0.1 in front of its unix socket that stops
answering (it accepts nothing more and drops the connections it relays), which is what a
client sees of a host that drops packets. Real nodes serve on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from provenance_ledger.errors import NodeFailure
from provenance_ledger.node import add_peer, init_node, node_keys
from provenance_ledger.node.client import STORAGE_UNAVAILABLE, NodeClient
from provenance_ledger.node.config import add_witness, load_config, set_witnessing
from provenance_ledger.node.reads import HOT_OPEN_WAIT_S
from provenance_ledger.node.server import make_server
from provenance_ledger.store.postgres import CONNECT_DEFAULTS, PostgresStore
from tests.postgres import Cluster

from ..cli.conftest import run
from ..conftest import NOW, KeyFactory, Signer
from .conftest import (
    HOST,
    ORIGIN,
    STARTUP_TIMEOUT,
    RunningNode,
    free_port,
    poll_until,
    register,
    running,
    work,
)
from .test_storage_unavailable import UNAVAILABLE, cluster, start, stop

__all__ = ["cluster"]  # the fixture, shared with test_storage_unavailable

PROMPT_S = 3.0
"""Longest an answer may take while the database is away: generous for a noisy 2-core box,
and well under the 5 s of a connection attempt to a silent host."""
GONE = "cannot reach its database; try again shortly"
"""How the ``--node`` client's line ends for that 503 (specs/cli.md section 3.2)."""


# -- a database host that goes silent -------------------------------------------------------


class Relay:
    """A TCP relay on 127.0.0.1 to the cluster's unix socket. :meth:`silence` makes it a host
    that drops packets: it accepts no connection more (a client's connection attempt waits
    for an answer that never comes) and drops those it relays; :meth:`restore` undoes it."""

    def __init__(self, cluster: Cluster) -> None:
        self.upstream = str(cluster.folder / ".s.PGSQL.5432")
        self.listener = socket.create_server((HOST, 0), backlog=64)
        self.port: int = self.listener.getsockname()[1]
        self.answering = threading.Event()
        self.answering.set()
        self.closing = False
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="relay", daemon=True)
        self._thread.start()

    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def silence(self) -> None:
        self.answering.clear()
        with self._lock:
            for s in self._open:
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()

    def restore(self) -> None:
        self.answering.set()

    def close(self) -> None:
        self.closing = True
        self.answering.set()
        self.silence()
        self.answering.set()
        self.listener.close()
        self._thread.join(timeout=STARTUP_TIMEOUT)

    def _accept(self) -> None:
        self.listener.settimeout(0.05)
        while not self.closing:
            if not self.answering.wait(0.05):
                continue  # silent: whoever connects waits in the backlog, unanswered
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.answering.is_set():  # silenced while it was accepted: never answered
                with self._lock:
                    self._open.append(client)
                continue
            upstream = socket.socket(socket.AF_UNIX)
            try:
                upstream.connect(self.upstream)
            except OSError:  # the server is stopped: the client sees its connection end
                upstream.close()
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with suppress(OSError):
            dst.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relay(cluster: Cluster) -> Iterator[Relay]:
    made = Relay(cluster)
    try:
        yield made
    finally:
        made.close()


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    answer = call()
    return answer, time.monotonic() - began


def assert_503(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    assert answer.json() == {"error": UNAVAILABLE}


def test_a_dead_database_never_holds_the_event_loop(
        tmp_path: Path, cluster: Cluster, relay: Relay, sign: Signer, keys: KeyFactory) -> None:
    """While the database is stopped, and then while its host is silent (a connection attempt
    that would wait its whole connect_timeout), what needs no database (``GET /keys``)
    answers at once, even while a proof is being asked for, and proofs are a prompt 503;
    once it is back, proofs are answered again, with no restart of the node."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}", store=relay.url())
    alice = keys("alice")
    one = register(sign, alice, "one")
    # By id: the id is looked up in the database (a proof by index may come from the cache).
    by_id = f"/proof/inclusion?id={one.id}"
    with running(home) as node, node.client() as http:
        assert http.post("/events", content=one.leaf).status_code == 200
        assert http.get(by_id).status_code == 200

        def outage_answers_promptly() -> None:
            for _ in range(3):
                proof, took = timed(lambda: http.get(by_id))
                assert_503(proof)
                assert took < PROMPT_S, took
            # A proof asked for on another connection meanwhile does not hold GET /keys.
            with node.client() as other:
                asking = threading.Thread(
                    target=lambda: other.get(by_id), daemon=True)
                asking.start()
                keys_answer, took = timed(lambda: http.get("/keys"))
                asking.join(timeout=30)
            assert keys_answer.status_code == 200
            assert took < PROMPT_S, took

        stop(cluster)  # the server refuses at once
        outage_answers_promptly()
        start(cluster)
        assert http.get(by_id).status_code == 200

        relay.silence()  # the host drops packets: a connection attempt hears nothing
        outage_answers_promptly()
        relay.restore()
        poll_until(lambda: http.get(by_id).status_code == 200,
                   "proofs are answered again", timeout=30)
        assert http.post("/events", content=register(sign, alice, "two").leaf
                         ).status_code == 200
        assert http.get("/proof/inclusion?index=1").json()["size"] == 2


def test_connection_parameters_default_and_the_urls_own_win(cluster: Cluster) -> None:
    """Every connection gets the connect_timeout and TCP keepalive defaults (specs/storage.md
    section 6.1, whose table names each with its value); a value the URL gives is kept."""
    spec = (Path(__file__).resolve().parents[2] / "specs" / "storage.md").read_text(
        encoding="utf-8")
    for name, value in CONNECT_DEFAULTS.items():
        assert f"| `{name}` | `{value}` |" in spec, name
    store = PostgresStore(cluster.url)
    try:
        got = store.conn.info.get_parameters()
        for name, value in CONNECT_DEFAULTS.items():
            assert got[name] == value, name
    finally:
        store.close()
    own = PostgresStore(f"{cluster.url}&connect_timeout=7&keepalives_idle=99")
    try:
        got = own.conn.info.get_parameters()
        assert (got["connect_timeout"], got["keepalives_idle"]) == ("7", "99")
        assert got["keepalives_count"] == CONNECT_DEFAULTS["keepalives_count"]
    finally:
        own.close()


# -- a failover to a read-only standby ----------------------------------------------------


def read_only(cluster: Cluster, on: bool) -> None:
    """Make every transaction of the server read-only (as a standby's are), or undo it: the
    setting reloaded, so the node's open connections take it too."""
    with psycopg.connect(cluster.url, autocommit=True) as admin:
        if on:
            admin.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        else:
            admin.execute("ALTER SYSTEM RESET default_transaction_read_only")
        admin.execute("SELECT pg_reload_conf()")


def test_a_write_refused_by_a_read_only_database_is_503_and_works_again(
        tmp_path: Path, cluster: Cluster, sign: Signer, keys: KeyFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    """A block the database refuses as read-only (SQLSTATE 25006, what a standby answers a
    write) is a 503 with ``Retry-After``, not a 500; reads go on; the ``--node`` client says
    the node cannot reach its database; once writes are taken again, the same submission
    is logged."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}", store=cluster.url)
    alice = keys("alice")
    with running(home) as node, node.client() as http:
        assert http.post("/events", content=register(sign, alice, "zero").leaf
                         ).status_code == 200
        client = NodeClient(node.url, tmp_path / "pins")
        try:
            read_only(cluster, True)
            refused: list[httpx.Response] = []

            def refuses_writes() -> bool:  # the reload reaches each connection in its turn
                answer = http.post("/events", content=register(
                    sign, alice, f"try {len(refused)}").leaf)
                refused.append(answer)
                assert answer.status_code in (200, 503), answer.text
                return answer.status_code == 503

            with caplog.at_level(logging.WARNING, logger="provenance_ledger.node"):
                poll_until(refuses_writes, "a write is refused as read-only")
            assert_503(refused[-1])
            assert any("read-only transaction" in str(getattr(r, "fields", ""))
                       for r in caplog.records), [r.getMessage() for r in caplog.records]
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert http.get("/checkpoint").status_code == 200  # a standby serves reads
            with pytest.raises(NodeFailure) as failed:
                client.submit(register(sign, alice, "during"))
            assert str(failed.value) == f"node {node.url} {GONE}"

            read_only(cluster, False)
            again = register(sign, alice, f"try {len(refused) - 1}")
            poll_until(lambda: http.post("/events", content=again.leaf).status_code == 200,
                       "writes are taken again")
            assert client.submit(register(sign, alice, "after"))[0] == len(refused) + 1
        finally:
            client.close()


# -- what the --node client says --------------------------------------------------------


def test_the_client_tells_a_lost_database_from_a_busy_node(
        tmp_path: Path, cluster: Cluster, sign: Signer, keys: KeyFactory) -> None:
    """The 503 of a node whose database is away is ``node <URL> cannot reach its database;
    try again shortly``, for a read as for a submission, from the client and from the CLI's
    ``anchor --node`` (exit 2); and specs/cli.md says it."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}", store=cluster.url)
    alice = keys("alice")
    with running(home) as node:
        client = NodeClient(node.url, tmp_path / "pins")
        try:
            client.submit(register(sign, alice, "one"))
            stop(cluster)
            for ask in (lambda: client.state_receipt(work("one")),
                        lambda: client.submit(register(sign, alice, "two"))):
                with pytest.raises(NodeFailure) as failed:
                    ask()
                assert str(failed.value) == f"node {node.url} {GONE}"
            # The CLI, a real process: one file, then a folder (the lookup before its first
            # batch is what meets the 503 here).
            pages = tmp_path / "pages"
            pages.mkdir()
            (pages / "1.png").write_bytes(b"page 1, sent while the database is away")
            user = tmp_path / "user"
            one = run("anchor", pages / "1.png", "--node", node.url, home=user, ok_codes=(2,))
            assert one.err.splitlines() == [f"error: node {node.url} {GONE}"]
            many = run("anchor", pages, "--node", node.url, home=user, ok_codes=(2,))
            assert many.err.splitlines() == [f"error: node {node.url} {GONE}"]
            start(cluster)
            assert client.state_receipt(work("one"))["format"]
        finally:
            client.close()
    spec = " ".join((Path(__file__).resolve().parents[2] / "specs" / "cli.md").read_text(
        encoding="utf-8").split())
    assert f"`node <URL> {GONE}`" in spec
    assert f"`{STORAGE_UNAVAILABLE}`" in spec
    assert UNAVAILABLE.startswith(STORAGE_UNAVAILABLE)  # the node's line, as the client reads it
    node_spec = " ".join((Path(__file__).resolve().parents[2] / "specs" / "node.md"
                          ).read_text(encoding="utf-8").split())
    assert f"`error: node <URL> {GONE}`" in node_spec
    assert f"the loop waiting for it at most {HOT_OPEN_WAIT_S:g} s" in node_spec


# -- witnessing and mirroring while the database is away -------------------------------------


@contextmanager
def serving(home: Path, **options: Any) -> Iterator[RunningNode]:
    """The node at ``home`` on the address of its node.toml, in a thread."""
    server = make_server(home, clock=lambda: NOW, **options)
    thread = threading.Thread(target=server.run, name=f"uvicorn {home.name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"node {home.name} did not start")
        time.sleep(0.01)
    try:
        yield RunningNode(home, server, thread, f"http://{load_config(home).listen}")
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)


WITNESS_ORIGIN = "w.test/log"


def test_witnessing_and_mirroring_rounds_through_an_outage(
        tmp_path: Path, cluster: Cluster, sign: Signer, keys: KeyFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    """Node a keeps its log in PostgreSQL, has node w (SQLite) as its witness (quorum 1)
    and mirrors w's log. While a's database is stopped: a's witnessing rounds say the outage
    (a warning naming no witness, no traceback) and ask nobody; a's mirroring of w goes on
    (its mirror and its witness are files of its home) and w is not marked faulty; a keeps
    answering. Once the database is back, a's next receipt is cosigned by w."""
    a, w = tmp_path / "a", tmp_path / "w"
    init_node(a, ORIGIN, f"{HOST}:{free_port()}", store=cluster.url, mirror_interval=0)
    init_node(w, WITNESS_ORIGIN, f"{HOST}:{free_port()}", mirror_interval=0)
    a_keys, w_keys = node_keys(a), node_keys(w)
    w_url = f"http://{load_config(w).listen}"
    add_peer(w, ORIGIN, f"http://{load_config(a).listen}", a_keys["log"], a_keys["witness"])
    add_witness(a, "w", w_url, w_keys["witness"])
    set_witnessing(a, 1, 30.0)
    add_peer(a, WITNESS_ORIGIN, w_url, w_keys["log"], w_keys["witness"])
    alice = keys("alice")
    with caplog.at_level(logging.INFO, logger="provenance_ledger.node"), \
            serving(w) as w_node, serving(a, mirror_interval_s=0.05, freshness_interval_s=300,
                                          freshness_look_s=0.02) as a_node, \
            a_node.client() as http, w_node.client() as w_http:
        first = http.post("/events", content=register(sign, alice, "one").leaf)
        assert first.status_code == 200, first.text
        assert first.headers["provenance-cosigned"] == "1"

        stop(cluster)
        mark = len(caplog.records)

        def since() -> list[logging.LogRecord]:
            return caplog.records[mark:]

        poll_until(lambda: any(r.getMessage() == "witnessing: storage unavailable"
                               for r in since()), "a's witnessing says the outage")
        # w's log grows meanwhile: a mirrors it and cosigns it, its database away or not.
        assert w_http.post("/events", content=register(sign, alice, "at w").leaf
                           ).status_code == 200
        poll_until(lambda: any(r.getMessage() == "mirror round"
                               and r.fields["origin"] == WITNESS_ORIGIN  # type: ignore[attr-defined]
                               and r.fields["status"] == "mirrored"  # type: ignore[attr-defined]
                               and r.fields["cosigned"]  # type: ignore[attr-defined]
                               for r in since()), "a mirrors w during the outage")
        assert http.get("/keys").status_code == 200
        assert http.get("/evidence").json()["faulty"] == []
        assert_503(http.get("/checkpoint"))
        outage = [r for r in since() if r.getMessage() == "witnessing: storage unavailable"]
        assert all(r.levelno == logging.WARNING and r.exc_info is None for r in outage)
        assert not [r for r in since() if r.getMessage() in (
            "witness did not cosign", "witnessing task failed", "mirror round failed")]
        assert not [r for r in since() if r.levelno >= logging.ERROR
                    and r.getMessage() != "storage unavailable"], [
            r.getMessage() for r in since() if r.levelno >= logging.ERROR]

        start(cluster)
        second = http.post("/events", content=register(sign, alice, "two").leaf)
        assert second.status_code == 200, second.text
        assert second.headers["provenance-cosigned"] == "1"
        assert http.get("/evidence").json()["faulty"] == []
        assert w_http.get("/evidence").json()["faulty"] == []
