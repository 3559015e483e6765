"""Every shell example in the README runs as written: the blocks of module number 1 (see
tests/test_readme.py, which runs every third block, as this module and the other do)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_readme import blocks_of, run_block


@pytest.mark.parametrize("block", blocks_of(1), ids=lambda b: b.split()[1])
def test_readme_block_runs_as_written(block: str, tmp_path: Path) -> None:
    run_block(block, tmp_path)
