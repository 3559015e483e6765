"""Preconditions through the CLI's own commands, in this process: ``given("consent", "grant",
...)`` runs the same command as ``provenance consent grant ...`` does (same parser, same
session, same ledger code), without starting an interpreter for it.

Only for what a test sets up, never for what it asserts: the behaviour under test goes through
the real ``provenance`` subprocess (tests/cli/conftest.py ``run``), its entry point and error
boundary included. A start of the CLI costs about 0.3 s of a 2-core machine, most of a call
that sets up one grant; a test that sets up twenty of them spent most of its time there.
"""

from __future__ import annotations

import io
import json
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from provenance_ledger.cli.main import command
from provenance_ledger.cli.session import Session
from provenance_ledger.ledger import Home

from .cli.conftest import user_home


def given(*args: str | Path, home: Path) -> str:
    """Run ``provenance ARGS`` with ``home`` as its data directory, in this process, as
    tests/cli/conftest.py ``run`` does in a subprocess (``HOME`` beside it, no ``PROVENANCE_*``
    variable but the home, stdin empty); it must succeed. Returns what it printed."""
    argv = [str(a) for a in args]
    user = user_home(home)
    user.mkdir(parents=True, exist_ok=True)
    saved = dict(os.environ)
    for name in [k for k in os.environ if k.startswith("PROVENANCE_")]:
        del os.environ[name]
    os.environ.update({"HOME": str(user), "NO_COLOR": "1"})
    session = Session(Home(home))
    out, err = io.StringIO(), io.StringIO()
    stdin = sys.stdin
    try:
        with open(os.devnull) as empty, redirect_stdout(out), redirect_stderr(err):
            sys.stdin = empty
            rc = command(argv)(argv, prog_name="provenance", standalone_mode=False,
                               obj=session)
    finally:
        sys.stdin = stdin
        session.close()
        os.environ.clear()
        os.environ.update(saved)
    assert rc in (None, 0), f"provenance {' '.join(argv)}: exit {rc}\n{err.getvalue()}"
    return out.getvalue()


def given_json(*args: str | Path, home: Path) -> Any:
    """:func:`given` for a command that prints JSON: the parsed JSON."""
    return json.loads(given(*args, home=home))


def given_key(name: str, home: Path) -> str:
    """``key new NAME`` in this process: its public key."""
    created = given_json("key", "new", name, "--json", home=home)
    assert created["name"] == name
    return str(created["public_key"])
