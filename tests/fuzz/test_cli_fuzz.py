"""The real CLI (a subprocess, tests/cli/conftest.py ``run``) given random files: a receipt
that is random bytes or a mutated receipt, a policy that is random bytes. The answer is always
an exit code the spec gives (specs/cli.md 1.1: a receipt that is not valid does not verify,
1; a bad policy is bad input, 2) with one ``error:`` line on stderr, never a traceback.

Each CLI call starts a Python process, so the counts here are modest (see strategies.py)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cli.conftest import assert_one_error_line, log_key, run, run_json

from .strategies import fuzz, json_mutation


class Anchored(NamedTuple):
    root: Path
    home: Path
    receipt: Path
    log_key: str


_names = itertools.count()


@pytest.fixture(scope="module")
def anchored(tmp_path_factory: pytest.TempPathFactory) -> Anchored:
    root = tmp_path_factory.mktemp("cli-fuzz")
    home = root / "home"
    page = root / "page.png"
    page.write_bytes(b"a page for the fuzzed CLI")
    receipt = Path(run_json("anchor", page, "--json", home=home)["receipt"])
    return Anchored(root, home, receipt, log_key(home))


def _file(anchored: Anchored, data: bytes) -> Path:
    path = anchored.root / f"input-{next(_names)}"
    path.write_bytes(data)
    return path


@fuzz(10)
@given(st.binary(max_size=300))
def test_random_bytes_as_a_receipt_do_not_verify(anchored: Anchored, data: bytes) -> None:
    result = run("verify", _file(anchored, data), "--log-key", anchored.log_key,
                 home=anchored.home, ok_codes=(1,))
    assert "does not verify" in assert_one_error_line(result)


@fuzz(8)
@given(st.data())
def test_a_mutated_receipt_verifies_or_is_refused_in_one_line(anchored: Anchored,
                                                              data: st.DataObject) -> None:
    doc = json.loads(anchored.receipt.read_text())
    changed, _ = data.draw(json_mutation(doc))
    path = _file(anchored, json.dumps(changed).encode())
    result = run("verify", path, "--log-key", anchored.log_key, home=anchored.home,
                 ok_codes=(0, 1))
    if result.code == 1:
        assert "does not verify" in assert_one_error_line(result)
    else:
        assert result.out.startswith("OK: ") and result.err == ""


@fuzz(8)
@given(st.binary(max_size=300))
def test_random_bytes_as_a_policy_are_bad_input(anchored: Anchored, data: bytes) -> None:
    result = run("verify", anchored.receipt, "--policy", _file(anchored, data),
                 home=anchored.home, ok_codes=(2,))
    assert "polic" in assert_one_error_line(result)
