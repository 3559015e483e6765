"""Ctrl-C (SIGINT) stops a command with one line that says so and what to do, exit 130
(specs/cli.md section 1.1); `node serve` stops gracefully and says nothing more.

The command is caught while it waits on a node that never answers: a socket on 127.0.0.1
that accepts the request and keeps silent. The test signals the CLI once the request has
arrived, so nothing waits for time to pass.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

from tests.cli.conftest import PROVENANCE, user_home


def test_ctrl_c_says_interrupted_and_exits_130(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    asked = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        conn, _ = listener.accept()
        held.append(conn)
        conn.recv(65536)  # the request is in; no answer ever comes
        asked.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    home = tmp_path / "home"
    user_home(home).mkdir(parents=True)
    page = tmp_path / "page.png"
    page.write_bytes(b"a page")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(user_home(home)), "NO_COLOR": "1"})
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    # As from a terminal: SIGINT not ignored (a background job of a non-interactive shell,
    # such as a CI script run with '&', starts with it ignored, and children inherit that).
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([str(PROVENANCE), "status", str(page), "--node", url,
                                 "--timeout", "120"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, inherited)
    try:
        assert asked.wait(60), "the CLI never asked the node"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        for conn in held:
            conn.close()
        listener.close()
    assert proc.returncode == 130
    assert out == ""
    assert err.splitlines() == ["error: interrupted (Ctrl-C): run the same command again to "
                                "finish what it began"]
