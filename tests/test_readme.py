"""Every shell example in the README runs as written.

Each ```sh block after the first (the first installs the project: .ci/run does that part) is
run by bash with ``set -e``, in an empty folder, against a throwaway home, with the installed
``provenance`` first on the PATH. A block that fails, or a command the README shows that no
longer exists, fails the test, so the README cannot drift from the CLI.

The blocks are shared out among three modules, this one and tests/test_readme_b.py and
tests/test_readme_c.py (every third block each, :func:`blocks_of`): under pytest-xdist's
``--dist loadscope`` a module runs on one worker, and this one, collected near the end, ran
its blocks one after another while the other workers had finished.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.S | re.M)
TIMEOUT = 180  # seconds for one block; the node block starts two servers


MODULES = 3
"""The modules the blocks are shared out among (this one is number 0)."""


def shell_blocks() -> list[str]:
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 3, "the README's shell examples were not found"
    return blocks[1:]


def blocks_of(module: int) -> list[str]:
    """The blocks module number ``module`` runs: every ``MODULES``-th, from its own; the
    modules together run every block once."""
    return shell_blocks()[module::MODULES]


def test_the_first_block_is_the_two_newcomer_commands() -> None:
    first = BLOCK.findall(README.read_text(encoding="utf-8"))[0]
    commands = [line for line in first.splitlines() if line and not line.startswith("#")]
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/provenance anchor "
        "README.md",
        "bash .ci/run",
    ]


def test_the_modules_run_every_block_once() -> None:
    shared = [b for m in range(MODULES) for b in blocks_of(m)]
    assert sorted(shared) == sorted(shell_blocks()) and len(shared) == len(shell_blocks())


@pytest.mark.parametrize("block", blocks_of(0), ids=lambda b: b.split()[1])
def test_readme_block_runs_as_written(block: str, tmp_path: Path) -> None:
    run_block(block, tmp_path)


def run_block(block: str, tmp_path: Path) -> None:
    """Run one block as the module docstring says; it must succeed, with no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PROVENANCE_HOME": str(tmp_path / "home"),
        "HOME": str(tmp_path / "user"),
        "NO_COLOR": "1",
    })
    # Background jobs (node servers) end with the block, whatever happens.
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + block
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, f"README block failed:\n{block}\nstdout:\n{proc.stdout}\n" \
                                 f"stderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr
