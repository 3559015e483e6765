"""A real nginx (Debian's package, installed by .ci/run) serving a folder on 127.0.0.1, as a
log's tiles would be served by any static web server (specs/tiles.md section 6)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT = 20  # seconds for nginx to accept connections


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def config(root: Path, port: int, work: Path, workers: int = 1) -> str:
    """nginx.conf serving ``root`` read-only on 127.0.0.1:``port``; every file it keeps in
    ``work``. The checkpoint may not be cached for long; tiles are immutable."""
    temp = "\n".join(f"    {kind}_temp_path {work}/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # the test's folders are private
    return f"""{user}daemon off;
worker_processes {workers};
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
{temp}
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        default_type application/octet-stream;
        location = /checkpoint {{
            types {{ }} default_type "text/plain; charset=utf-8";
            add_header Cache-Control "no-cache";
        }}
        location /tile/ {{ add_header Cache-Control "max-age=31536000, immutable"; }}
    }}
}}
"""


@contextmanager
def serving(root: Path, work: Path, workers: int = 1) -> Iterator[str]:
    """nginx serving ``root``; yields its base URL once it accepts connections, and stops it
    (by its pid) on exit."""
    work.mkdir(parents=True, exist_ok=True)
    for _ in range(3):  # a port another process takes between choosing and binding: again
        port = _free_port()
        (work / "nginx.conf").write_text(config(root, port, work, workers))
        proc = subprocess.Popen([NGINX, "-e", str(work / "error.log"), "-c",
                                 str(work / "nginx.conf")], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_TIMEOUT
        up = False
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                up = True
                break
            except OSError:
                time.sleep(0.02)
        if up:
            break
        proc.kill()
        proc.wait()
    else:
        err = (work / "error.log").read_text() if (work / "error.log").exists() else ""
        raise RuntimeError(f"nginx did not start: {err[-500:]}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
