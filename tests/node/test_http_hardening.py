"""The HTTP edges of a real ``provenance node serve`` process on 127.0.0.1 (specs/node.md
sections 1 and 2): slow or idle connections timed out, a cap on connections, HEAD wherever GET
is, relative redirects to the page, no /docs, key files checked before ``listening``, a home
and its keys kept to their owner, and the smaller answers (a number too large, a trailing
newline, the witness protocol's text/plain 413, the head cap).

Timeouts are made tiny through the environment (``PROVENANCE_NODE_*``): each wait polls the
socket until a deadline, nothing sleeps for time to pass.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from provenance_ledger.node import init_node
from provenance_ledger.node.config import load_config

from ..conftest import KeyFactory, Signer
from .conftest import HOST, ORIGIN, STARTUP_TIMEOUT, free_port, poll_until, register

SERVE = [sys.executable, "-m", "provenance_ledger", "node", "serve", "--home"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    return home


@contextmanager
def serving(home: Path, log: Path, **env: str) -> Iterator[str]:
    """``provenance node serve --home home`` with ``env`` added, until it answers."""
    url = "http://" + load_config(home).listen
    with log.open("ab") as err:
        proc = subprocess.Popen([*SERVE, str(home)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, **env})

    def answers() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(url + "/keys", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        poll_until(answers, "the node answers")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=STARTUP_TIMEOUT)


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=STARTUP_TIMEOUT)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (failing after the deadline)."""
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


SHORT = {"PROVENANCE_NODE_HEAD_TIMEOUT": "0.3", "PROVENANCE_NODE_BODY_TIMEOUT": "0.3"}


def test_silent_partial_head_and_partial_body_connections_are_timed_out(
        home: Path, tmp_path: Path) -> None:
    with serving(home, tmp_path / "log", **SHORT) as url:
        silent, head, body = connect(url), connect(url), connect(url)
        head.sendall(b"GET /keys HTTP/1.1\r\nHost: x\r\n")
        body.sendall(b"POST /similar HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"co")
        t0 = time.monotonic()
        assert read_all(silent) == b""  # nothing sent: closed without an answer
        said = read_all(head)
        assert said.startswith(b"HTTP/1.1 408 ") and b"text/plain" in said, said
        said = read_all(body)
        assert said.startswith(b"HTTP/1.1 408 ") and b"request body" in said, said
        assert time.monotonic() - t0 < 10
        # A client that sends in time is answered as usual.
        assert httpx.get(url + "/keys").status_code == 200
    lines = [json.loads(x) for x in (tmp_path / "log").read_text().splitlines()]
    assert any(x["msg"] == "request head timed out" for x in lines)
    assert any(x["msg"] == "request body timed out" for x in lines)


def test_a_head_trickled_in_byte_by_byte_is_timed_out_from_its_start(
        home: Path, tmp_path: Path) -> None:
    with serving(home, tmp_path / "log", **SHORT) as url:
        sock = connect(url)
        request = b"GET /keys HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
        t0 = time.monotonic()
        said = b""
        for i in range(len(request)):
            try:
                sock.sendall(request[i:i + 1])
            except OSError:
                break
            sock.settimeout(0.05)
            try:
                said = sock.recv(65536)
            except TimeoutError:
                continue
            break
        sock.settimeout(STARTUP_TIMEOUT)
        said += read_all(sock)
        assert said.startswith(b"HTTP/1.1 408 "), said
        assert time.monotonic() - t0 < 10


def test_connections_beyond_the_cap_are_refused_503(home: Path, tmp_path: Path) -> None:
    with serving(home, tmp_path / "log", PROVENANCE_NODE_MAX_CONNECTIONS="3") as url:
        held = [connect(url) for _ in range(3)]
        extra = connect(url)
        said = read_all(extra)
        assert said.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in said, said
        for s in held:
            s.close()

        def answers() -> bool:
            try:
                return httpx.get(url + "/keys").status_code == 200
            except httpx.TransportError:
                return False
        poll_until(answers, "a connection is taken again")


def test_a_bad_limit_in_the_environment_is_one_line_before_listening(
        home: Path, tmp_path: Path) -> None:
    done = subprocess.run([*SERVE, str(home)], capture_output=True, text=True,
                          env={**os.environ, "PROVENANCE_NODE_HEAD_TIMEOUT": "soon"},
                          timeout=STARTUP_TIMEOUT)
    assert done.returncode == 2
    assert "PROVENANCE_NODE_HEAD_TIMEOUT must be a positive number" in done.stderr
    assert "listening" not in done.stderr


def test_head_is_answered_wherever_get_is(home: Path, tmp_path: Path) -> None:
    with serving(home, tmp_path / "log") as url, httpx.Client(base_url=url) as c:
        for path in ("/keys", "/checkpoint", "/page/", "/page/app.js", "/openapi.json",
                     "/proof/inclusion?index=0&size=1"):
            got, head = c.get(path), c.head(path)
            assert head.status_code == got.status_code, path
            assert head.content == b""
            assert head.headers["content-type"] == got.headers["content-type"]
            assert head.headers["content-length"] == got.headers["content-length"]
        refused = c.post("/keys")
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET, HEAD"
        assert c.head("/events").status_code == 405  # a POST route has no GET, so no HEAD


def test_root_and_page_redirect_relatively_and_no_docs_are_served(
        home: Path, tmp_path: Path) -> None:
    with serving(home, tmp_path / "log") as url, httpx.Client(base_url=url) as c:
        for path in ("/", "/page"):
            r = c.get(path, headers={"Host": "evil.example"})
            assert r.status_code == 307, path
            assert r.headers["location"] == "/page/"
        assert c.get("/", follow_redirects=True).status_code == 200
        assert c.get("/docs").status_code == 404
        assert c.get("/redoc").status_code == 404
        assert c.get("/docs/oauth2-redirect").status_code == 404
        assert c.get("/openapi.json").status_code == 200
        assert c.get("/keys/").status_code == 404  # no redirect built from Host


def test_a_damaged_key_is_one_line_naming_its_path_and_no_listening_record(
        home: Path) -> None:
    (home / "witness.key").write_text("junk\n")
    done = subprocess.run([*SERVE, str(home)], capture_output=True, text=True,
                          timeout=STARTUP_TIMEOUT)
    assert done.returncode == 2
    assert f"error: cannot read key {home / 'witness.key'}: not a PEM private key" in \
        done.stderr
    assert '"listening"' not in done.stderr


@pytest.mark.parametrize("name", ["log.key", "witness.key"])
def test_a_key_others_may_read_is_refused(home: Path, name: str) -> None:
    (home / name).chmod(0o644)
    done = subprocess.run([*SERVE, str(home)], capture_output=True, text=True,
                          timeout=STARTUP_TIMEOUT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: the private key {home / name} may be read by other users (mode 0644): "
        f"chmod 600 {home / name}")
    assert '"listening"' not in done.stderr


def test_node_init_makes_and_adopts_homes_0700_and_names_other_files(tmp_path: Path) -> None:
    made = tmp_path / "made"
    done = subprocess.run([sys.executable, "-m", "provenance_ledger", "node", "init", "--home",
                           str(made), "--origin", ORIGIN], capture_output=True, text=True,
                          timeout=STARTUP_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert made.stat().st_mode & 0o777 == 0o700
    assert "note:" not in done.stderr
    adopted = tmp_path / "adopted"
    adopted.mkdir()
    adopted.chmod(0o777)
    (adopted / "holiday.jpg").write_bytes(b"x")
    done = subprocess.run([sys.executable, "-m", "provenance_ledger", "node", "init", "--home",
                           str(adopted), "--origin", ORIGIN], capture_output=True, text=True,
                          timeout=STARTUP_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert adopted.stat().st_mode & 0o777 == 0o700
    assert (f"note: {adopted} already held other files (holiday.jpg); they are left as they "
            "are, and the folder is now 0700") in done.stderr


def test_a_home_others_may_write_is_made_private_when_served(home: Path, tmp_path: Path
                                                            ) -> None:
    """Its owner serving it: the home is made 0700 before the node listens (specs/node.md
    section 1), so no warning is needed; the node's files stay 0600."""
    home.chmod(0o777)
    with serving(home, tmp_path / "log"):
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
    lines = [json.loads(x) for x in (tmp_path / "log").read_text().splitlines()]
    assert "listening" in [x["msg"] for x in lines]
    assert "the node's home may be written by other users" not in [x["msg"] for x in lines]
    assert stat.S_IMODE((home / "log.key").stat().st_mode) == 0o600


def test_smaller_answers(home: Path, tmp_path: Path, sign: Signer, keys: KeyFactory) -> None:
    leaf = register(sign, keys("alice"), "trailing").leaf
    with serving(home, tmp_path / "log") as url, httpx.Client(base_url=url, timeout=30) as c:
        big = c.post("/similar", content=b'{"codes": [], "distance": ' + b"1" * 5001 + b"}")
        assert big.status_code == 400
        assert "too large" in big.json()["error"]
        assert "sys." not in big.text
        newline = c.post("/events", content=leaf + b"\n")
        assert newline.status_code == 400
        assert "(a trailing newline?)" in newline.json()["error"]
        too_big = c.post("/add-checkpoint", content=b"x" * (1 << 20))
        assert too_big.status_code == 413
        assert too_big.headers["content-type"].startswith("text/plain")


def test_the_head_cap_counts_every_read(home: Path, tmp_path: Path) -> None:
    """A head of about 100 KiB sent as its start, then its end: neither read is left out of
    the count (they were: the first read of a head and the one that ends it)."""
    with serving(home, tmp_path / "log") as url:
        sock = connect(url)
        sock.sendall(b"GET /keys HTTP/1.1\r\nHost: x\r\nX-Pad-1: " + b"a" * 60_000 + b"\r\n")
        time.sleep(0.05)  # a fraction of a second: most likely two reads, one is fine too
        sock.sendall(b"X-Pad-2: " + b"a" * 40_000 + b"\r\n\r\n")
        said = read_all(sock)
        assert said.startswith(b"HTTP/1.1 431 "), said[:200]


def test_a_whole_head_over_the_cap_in_one_read_is_refused(home: Path, tmp_path: Path) -> None:
    with serving(home, tmp_path / "log") as url:
        sock = connect(url)
        sock.sendall(b"GET /keys HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 70_000 + b"\r\n\r\n")
        said = read_all(sock)
        assert said.startswith(b"HTTP/1.1 431 "), said[:200]
