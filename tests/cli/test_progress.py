"""Progress bars on stderr (issue 10; specs/cli.md section 1.4): drawn when stderr is a
terminal, and nothing but the normal output with ``--json`` or when stderr is piped.

The real CLI runs with its stderr on a pseudo-terminal (python's ``pty`` module) and its
stdout on a pipe, so that what goes where can be told apart; one run has both on the terminal,
as in a shell. The node is a real ``provenance node serve`` on 127.0.0.1
(tests/node/network_helpers.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import termios
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import PROVENANCE, TIMEOUT, Result, run, user_home
from tests.node.network_helpers import Node, Processes, make_network

BIG = 64 << 20  # bytes of the large file
COLUMNS = 120
HIDE_CURSOR = "\x1b[?25l"  # a live bar hides the cursor while it draws


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    processes = Processes()
    try:
        (a,) = make_network(tmp_path_factory.mktemp("progress"), ("a",), processes)
        a.start()
        yield a
    finally:
        processes.close()


def run_tty(*args: str | Path, home: Path, stdout_too: bool = False) -> Result:
    """``provenance ARGS`` with stderr (and with ``stdout_too`` stdout) on a pseudo-terminal
    of COLUMNS columns; stdout otherwise a pipe. What the terminal received is ``err``."""
    user = user_home(home)
    user.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(user), "NO_COLOR": "1",
                "TERM": "xterm-256color"})
    env.pop("COLUMNS", None)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    chunks: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: every writer of the terminal has closed it
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        proc = subprocess.Popen([str(PROVENANCE), *map(str, args)], env=env,
                                stdin=subprocess.DEVNULL,
                                stdout=slave if stdout_too else subprocess.PIPE, stderr=slave)
        os.close(slave)
        out, _ = proc.communicate(timeout=TIMEOUT)
        reader.join(TIMEOUT)
        assert not reader.is_alive()
    finally:
        os.close(master)
    terminal = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return Result(proc.returncode, (out or b"").decode(), terminal)


def assert_bar(err: str, stage: str, amount: str) -> None:
    """A rich bar for ``stage`` was drawn, finished: its label, 100% and ``amount``."""
    assert HIDE_CURSOR in err, err
    drawn = [x for x in err.replace("\r", "\n").split("\n") if stage in x]
    assert drawn, err
    assert "100%" in drawn[-1] and amount in drawn[-1], drawn[-1]


def test_hashing_a_large_file_draws_a_bar_only_on_a_terminal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    big = tmp_path / "scan.tiff"
    with big.open("wb") as f:
        f.write(os.urandom(1 << 20) * (BIG >> 20))
    r = run_tty("anchor", big, home=home)
    assert r.code == 0, r
    assert_bar(r.err, "hashing scan.tiff", "67.1 MB/67.1 MB")
    assert r.out.startswith(f"anchored {big}\n") and "\x1b" not in r.out
    # --json: the terminal gets nothing, stdout only the JSON.
    r = run_tty("anchor", big, "--json", home=home)
    assert (r.code, r.err) == (0, "")
    assert json.loads(r.out)["status"] == "exists"
    # Piped: nothing on stderr either.
    r = run("anchor", big, home=home)
    assert r.err == "" and r.out.startswith("already registered: ")
    # A small file is hashed in a blink: no bar to flash.
    small = tmp_path / "note.txt"
    small.write_text("a small work\n")
    r = run_tty("anchor", small, home=home)
    assert (r.code, r.err) == (0, "")


def folder_of(tmp_path: Path, name: str, files: int) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for i in range(files):
        (folder / f"page-{i:03}.png").write_text(f"{name} page {i}\n")
    return folder


def test_anchoring_a_folder_draws_a_bar_per_stage(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run_tty("anchor", folder_of(tmp_path, "chapter-1", 40), home=home)
    assert r.code == 0, r
    assert_bar(r.err, "hashing", "40/40")
    assert_bar(r.err, "writing receipts", "40/40")
    assert r.out.startswith("anchored folder ") and "\x1b" not in r.out
    r = run_tty("anchor", folder_of(tmp_path, "chapter-2", 40), "--json", home=home)
    assert (r.code, r.err) == (0, "")
    assert json.loads(r.out)["summary"] == {"anchored": 40}
    r = run("anchor", folder_of(tmp_path, "chapter-3", 40), home=home)
    assert r.err == ""


def test_through_a_node_anchoring_a_folder_and_upgrading_receipts_draw_bars(
        node: Node, tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run_tty("anchor", folder_of(tmp_path, "chapter-4", 12), "--node", node.url, home=home)
    assert r.code == 0, r
    assert_bar(r.err, "anchoring on the node", "12/12")
    receipts = sorted((home / "receipts").glob("*.json"))
    assert len(receipts) == 12
    # Upgrading many receipts: a bar on the terminal, one line per file on stdout.
    r = run_tty("receipt", "upgrade", *receipts, "--node", node.url, home=home)
    assert r.code == 0, r
    assert_bar(r.err, "upgrading receipts", "12/12")
    lines = r.out.splitlines()
    assert len(lines) == 13 and all(x.startswith("already up to date: ") for x in lines[:12])
    # Both on the terminal, as in a shell: each line is written once, above the bar.
    r = run_tty("receipt", "upgrade", *receipts, "--node", node.url, home=home,
                stdout_too=True)
    assert r.code == 0 and r.out == ""
    for receipt in receipts:
        assert r.err.count(f"already up to date: {receipt}: ") == 1, r.err
    assert_bar(r.err, "upgrading receipts", "12/12")
    # --json and pipes: the normal output only.
    r = run_tty("receipt", "upgrade", *receipts, "--node", node.url, "--json", home=home)
    assert (r.code, r.err) == (0, "")
    assert json.loads(r.out)["summary"] == {"up-to-date": 12}
    r = run("receipt", "upgrade", *receipts, "--node", node.url, home=home)
    assert r.err == "" and len(r.out.splitlines()) == 13
    r = run_tty("anchor", folder_of(tmp_path, "chapter-5", 12), "--node", node.url, "--json",
                home=home)
    assert (r.code, r.err) == (0, "")


def test_node_sync_draws_a_bar_per_peer_it_mirrors(tmp_path: Path) -> None:
    processes = Processes()
    try:
        a, b = make_network(tmp_path / "net", ("pa", "pb"), processes)
        a.start()
        home = tmp_path / "home"
        run("anchor", folder_of(tmp_path, "chapter-5", 30), "--node", a.url, home=home)
        r = run_tty("node", "sync", "--home", b.home, home=home)
        assert r.code == 0, r
        assert_bar(r.err, f"mirroring {a.origin}", "30/30")
        assert r.out.startswith(f"{a.origin}: mirrored 0 -> 30")
        r = run_tty("node", "sync", "--home", b.home, "--json", home=home)
        assert (r.code, r.err) == (0, "")
        assert json.loads(r.out)[0]["status"] == "up-to-date"
    finally:
        processes.close()
