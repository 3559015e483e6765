"""Running a node: uvicorn over :func:`.app.node_app`, listening where ``node.toml`` says
(127.0.0.1 by default). Shutdown (SIGTERM/SIGINT, handled by uvicorn): stop accepting
connections, let requests in flight finish, then refuse new submissions, integrate whatever is
still queued, and close (specs/node.md section 2)."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

import uvicorn

from ..errors import LedgerError
from .app import node_app
from .config import check_home_access, load_config, parse_listen, require_keys
from .hotpath import BODY_TIMEOUT_S, HEAD_TIMEOUT_S, MAX_CONNECTIONS, HotReadsProtocol
from .logs import configure_logging
from .shards import is_serving, served_already

log = logging.getLogger("provenance_ledger.node")

LISTEN_BACKLOG = 2048  # pending connections the socket queues, as uvicorn's default
GRACEFUL_SHUTDOWN_S = 30  # seconds in-flight requests get to finish on shutdown
LIMIT_ENV = {"head_timeout": ("PROVENANCE_NODE_HEAD_TIMEOUT", HEAD_TIMEOUT_S),
             "body_timeout": ("PROVENANCE_NODE_BODY_TIMEOUT", BODY_TIMEOUT_S),
             "max_connections": ("PROVENANCE_NODE_MAX_CONNECTIONS", MAX_CONNECTIONS)}
"""The connection limits of :class:`.hotpath.HotReadsProtocol` and the environment variables
that change them (specs/node.md section 2, "Connections")."""


def connection_limits() -> dict[str, float | int]:
    """The limits :data:`LIMIT_ENV` names, from the environment or by default; a value that
    is not a positive number is one line, exit 2."""
    limits: dict[str, float | int] = {}
    for attr, (env, default) in LIMIT_ENV.items():
        text = os.environ.get(env)
        if not text:
            limits[attr] = default
            continue
        try:
            value: float | int = int(text) if isinstance(default, int) else float(text)
        except ValueError:
            value = 0
        if not 0 < value < 1e6:
            raise LedgerError(f"{env} must be a positive number "
                              f"{'' if isinstance(default, int) else 'of seconds '}"
                              f"below 1000000, not {text[:40]!r}")
        limits[attr] = value
    return limits


def make_server(
    home: Path,
    host: str | None = None,
    port: int | None = None,
    **app_options: Any,
) -> uvicorn.Server:
    """A uvicorn server for the node at ``home``, listening where ``node.toml`` says
    (127.0.0.1 by default) unless ``host``/``port`` are given."""
    config = load_config(home)
    require_keys(home)  # before it listens: one line, exit 2 (each key read and checked)
    check_home_access(home)
    limits = connection_limits()
    if is_serving(home):  # likewise; the lock itself is taken once it starts (shards.serving)
        raise served_already(home)
    listen_host, listen_port = parse_listen(config.listen)
    server_config = uvicorn.Config(
        node_app(home, **app_options),
        host=listen_host if host is None else host,
        port=listen_port if port is None else port,
        log_config=None,
        access_log=False,  # the app logs each request itself, as JSON
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        lifespan="on",
        server_header=False,
        proxy_headers=False,  # it binds 127.0.0.1 by default: no proxy's headers to trust
        http=HotReadsProtocol,  # hot reads at the parser, one write an answer (node/hotpath.py)
    )
    server_config.connection_limits = limits  # type: ignore[attr-defined] # hotpath.py reads
    return uvicorn.Server(server_config)


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, made before the server starts so that an address in
    use (or not this machine's) is one clear error rather than a startup failure in the log."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as e:
        sock.close()
        raise LedgerError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    return sock


def serve(home: Path, host: str | None = None, port: int | None = None,
          log_level: str = "info", **app_options: Any) -> None:
    """Run the node until SIGTERM or SIGINT, then shut down gracefully (specs/node.md
    section 2); uvicorn then ends the process by that signal."""
    configure_logging(log_level)
    startup_errors: list[LedgerError] = []
    url: list[str] = []

    def started() -> None:  # once the node has started: its keys, log and witness open
        log.info("listening", extra={"fields": {"url": url[0]}})

    server = make_server(home, host, port, startup_errors=startup_errors, started=started,
                         **app_options)
    sock = listening_socket(server.config.host, server.config.port)
    host = f"[{server.config.host}]" if ":" in server.config.host else server.config.host
    url.append(f"http://{host}:{sock.getsockname()[1]}")
    uvicorn_log = logging.getLogger("uvicorn.error")
    quiet = _StartupTraceback(startup_errors)
    uvicorn_log.addFilter(quiet)
    try:
        server.run(sockets=[sock])
    except SystemExit:
        # uvicorn exits 3 when the lifespan failed; a LedgerError there (a database that
        # cannot be opened or written, a read-only home) is one line and exit 2, as any
        # error before the node serves (specs/cli.md section 1.1).
        if startup_errors:
            raise startup_errors[0] from None
        raise
    finally:
        uvicorn_log.removeFilter(quiet)
        sock.close()


class _StartupTraceback(logging.Filter):
    """Drops uvicorn's record of the traceback of a start-up that failed with a
    :class:`LedgerError`: the CLI says it in one line instead."""

    def __init__(self, startup_errors: list[LedgerError]) -> None:
        super().__init__()
        self._errors = startup_errors

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self._errors and record.levelno >= logging.ERROR
                    and str(record.msg).startswith("Traceback"))
