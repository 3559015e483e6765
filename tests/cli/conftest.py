"""Run the real ``provenance`` console script in a subprocess, against a data directory in a
temporary folder.

Every call gets ``PROVENANCE_HOME`` (the ledger's data directory) and a separate ``HOME``, so
nothing reads or writes the real home; stdin is ``/dev/null``, so nothing can prompt. The
script is the one installed next to the running interpreter, so the tests exercise the entry
point and its error boundary exactly as a user does.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, NamedTuple

PROVENANCE = Path(sys.executable).parent / "provenance"
TIMEOUT = 60  # seconds for one CLI call; a normal call takes well under one


class Result(NamedTuple):
    code: int
    out: str
    err: str


def user_home(home: Path) -> Path:
    """The ``HOME`` given to the CLI for the data directory ``home``: a sibling folder."""
    return home.with_name(home.name + ".user")


def run(
    *args: str | Path,
    home: Path,
    ok_codes: Collection[int] = (0,),
    env: Mapping[str, str] | None = None,
    in_bash: bool = False,
) -> Result:
    """Run ``provenance ARGS`` with ``PROVENANCE_HOME=home``; fail unless the exit code is in
    ``ok_codes``. Returns ``(code, stdout, stderr)``.

    ``in_bash`` runs it from ``bash -c``, for the commands that look at their parent process
    to find the user's shell (``--show-completion``, ``--install-completion``)."""
    user = user_home(home)
    user.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    environment.update({"PROVENANCE_HOME": str(home), "HOME": str(user), "NO_COLOR": "1"})
    environment.update(env or {})
    argv = [str(PROVENANCE), *map(str, args)]
    if in_bash:  # "; exit" keeps bash from exec-ing the CLI in its own place
        argv = ["bash", "-c", shlex.join(argv) + '; exit "$?"']
    proc = subprocess.run(
        argv,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    assert result.code in ok_codes, (
        f"provenance {' '.join(map(str, args))}: exit {result.code}, expected one of "
        f"{sorted(ok_codes)}\nstdout:\n{result.out}\nstderr:\n{result.err}")
    return result


def run_json(*args: str | Path, home: Path, env: Mapping[str, str] | None = None) -> Any:
    """Run a command that must succeed and print JSON; return the parsed JSON."""
    return json.loads(run(*args, home=home, env=env).out)


def public_key(name: str, home: Path) -> str:
    """The ``ed25519:<hex>`` public key of the named key (``key show NAME --json``)."""
    key = run_json("key", "show", name, "--json", home=home)["public_key"]
    assert isinstance(key, str) and key.startswith("ed25519:")
    return key


def new_key(name: str, home: Path) -> str:
    """Create a signing key and return its public key."""
    created = run_json("key", "new", name, "--json", home=home)
    assert created["name"] == name
    return str(created["public_key"])


def log_key(home: Path) -> str:
    """The log's verifier key (vkey), as ``provenance log key`` prints it."""
    return run("log", "key", home=home).out.strip()


def tree_size(home: Path) -> int:
    """The size of the latest checkpoint, from ``provenance log checkpoint``."""
    return int(run("log", "checkpoint", home=home).out.split("\n")[1])


def stored_sizes(home: Path) -> tuple[int, int]:
    """(entries, size of the latest checkpoint) read straight from the SQLite file, read-only:
    what ``log checkpoint`` reports, without the cost of starting the CLI."""
    db = sqlite3.connect(f"{(home / 'ledger.db').as_uri()}?mode=ro", uri=True)
    try:
        (entries,) = db.execute("SELECT count(*) FROM entries").fetchone()
        (size,) = db.execute("SELECT coalesce(max(size), 0) FROM checkpoints").fetchone()
    finally:
        db.close()
    return int(entries), int(size)


def assert_one_error_line(result: Result) -> str:
    """The failure is reported as exactly one ``error: ...`` line on stderr, never a
    traceback, and nothing on stdout. Returns the message."""
    assert "Traceback" not in result.out + result.err, result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.err}"
    assert lines[0].startswith("error: "), lines[0]
    assert result.out == "", result.out
    return lines[0]
