"""Running a node: uvicorn over :func:`.app.node_app`, listening where ``node.toml`` says
(127.0.0.1 by default). Shutdown (SIGTERM/SIGINT, handled by uvicorn): stop accepting
connections, let requests in flight finish, then refuse new submissions, integrate whatever is
still queued, and close (specs/node.md section 2)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import uvicorn

from ..errors import LedgerError
from .app import node_app
from .config import load_config, parse_listen
from .hotpath import HotReadsProtocol
from .logs import configure_logging

log = logging.getLogger("provenance_ledger.node")

LISTEN_BACKLOG = 2048  # pending connections the socket queues, as uvicorn's default
GRACEFUL_SHUTDOWN_S = 30  # seconds in-flight requests get to finish on shutdown


def make_server(
    home: Path,
    host: str | None = None,
    port: int | None = None,
    **app_options: Any,
) -> uvicorn.Server:
    """A uvicorn server for the node at ``home``, listening where ``node.toml`` says
    (127.0.0.1 by default) unless ``host``/``port`` are given."""
    config = load_config(home)
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
    server = make_server(home, host, port, **app_options)
    sock = listening_socket(server.config.host, server.config.port)
    host = f"[{server.config.host}]" if ":" in server.config.host else server.config.host
    log.info("listening", extra={"fields": {"url": f"http://{host}:{sock.getsockname()[1]}"}})
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
