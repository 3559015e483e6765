"""A real PostgreSQL server for the tests: the one CI started (its URL in
``$PROVENANCE_TEST_POSTGRES``), else a throwaway cluster of the OS's PostgreSQL started here
(initdb in a temporary folder, as the ``postgres`` user when run as root, since initdb refuses
root; a unix socket in that folder and no TCP port, so parallel workers never collide).

Each test gets its own schema (``schema_url``), so tests and pytest-xdist workers never see
each other's tables. When neither a server nor the binaries are there, the fixture fails: a
test never skips because PostgreSQL is missing (issue 15).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

URL_ENV = "PROVENANCE_TEST_POSTGRES"
START_TIMEOUT_S = 60  # pg_ctl -w: seconds to wait for the server to accept connections


def binaries() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("no PostgreSQL binaries (initdb) on this machine and no "
                           f"${URL_ENV}: install postgresql (apt-get install -y postgresql)")
    return Path(initdb).parent


@dataclass
class Cluster:
    """A throwaway cluster: its folder and the URL of its ``postgres`` database."""

    folder: Path
    url: str
    bin: Path
    user: str | None

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def restart(self) -> None:
        """Stop the server as an administrator restarting it does (``-m fast``: every
        connection is ended), then start it again on the same socket."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"),
                  "-m", "fast", "-w", "-t", str(START_TIMEOUT_S), "-o",
                  _server_options(self.folder), "restart")

    def _run(self, *argv: str) -> None:
        run_as(self.user, [str(self.bin / argv[0]), *argv[1:]])


def run_as(user: str | None, argv: list[str]) -> None:
    cmd = argv if user is None else ["runuser", "-u", user, "--", *argv]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=START_TIMEOUT_S + 30,  # noqa: S603
                          check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv[:2])} failed: {done.stderr.strip()[-500:]}")


def _server_options(folder: Path) -> str:
    """No TCP: a unix socket in the cluster's own folder only."""
    return f"-c listen_addresses='' -k {folder} -p 5432"


def start_cluster() -> Cluster:
    """initdb and start a cluster listening on a unix socket in its own temporary folder."""
    bin_dir = binaries()
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="pl-pg-"))  # short: a socket path has 107 bytes
    if user is not None:
        shutil.chown(folder, user)
    data = folder / "data"
    try:
        run_as(user, [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C", "-N"])
        run_as(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"),
                      "-w", "-t", str(START_TIMEOUT_S), "-o", _server_options(folder),
                      "start"])
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Cluster(folder, f"postgresql://postgres@/postgres?host={quote(str(folder))}"
                           "&port=5432", bin_dir, user)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL database whose role may create schemas."""
    given = os.environ.get(URL_ENV)
    if given:
        yield given
        return
    try:
        cluster = start_cluster()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"no PostgreSQL for the tests: {e}")
    try:
        yield cluster.url
    finally:
        cluster.stop()


def new_schema(server: str) -> str:
    """A new, empty schema on ``server``, and the URL whose ``search_path`` names it."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}".encode())
    sep = "&" if "?" in server else "?"
    return f"{server}{sep}options=-csearch_path%3D{name}"


@pytest.fixture
def schema_url(postgres_server: str) -> str:
    """A PostgreSQL URL of a schema of this test's own."""
    return new_schema(postgres_server)
