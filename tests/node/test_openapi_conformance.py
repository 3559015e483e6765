"""The node's OpenAPI document is true: schemathesis, with all its checks, sends generated
requests (valid and invalid) to a real node on 127.0.0.1 and finds no reply the document does
not declare (status, content type, headers, body schema), no schema-valid request refused, no
schema-invalid one accepted, no 405 without ``Allow``, no server error (specs/node.md
section 2). The hot read path answers in front of FastAPI, so it is checked too.

The node holds a few events first so that reads find something; examples per operation are
limited and the seed fixed, to keep the run short and the same each time.

One thing JSON Schema cannot say: a rule that spans parameters or lies in the content (a
signature, ``end - start <= 1000``, exactly one of ``index`` and ``id``, ``old <= new <= log
size``). A request valid by the schema may still break one and be refused 400, as each of
those operations' 400 description says; :data:`CONFIG` lets the ``positive_data_acceptance``
check take that 400 for exactly those five operations, and nowhere else."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance_ledger.node import init_node

from ..conftest import KeyFactory, Signer
from .conftest import HOST, ORIGIN, RunningNode, free_port, grant, register, running

MAX_EXAMPLES = 30
"""Examples per operation and phase."""
SEED = 1
SCHEMATHESIS_TIMEOUT_S = 300  # a hung run fails the test rather than the suite
BEYOND_SCHEMA = ("/events", "/add-checkpoint", "/entries", "/proof/inclusion",
                 "/proof/consistency")
"""Operations with a rule the schema cannot state (see the module docstring)."""
CONFIG = "".join(
    f"""
[[operations]]
include-path = "{path}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404", "409", "422"]
""" for path in BEYOND_SCHEMA)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, sign: Signer,
        keys: KeyFactory) -> Iterator[RunningNode]:
    home = tmp_path_factory.mktemp("conformance") / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    with running(home) as node, node.client() as http:
        alice = keys("alice")
        for name in ("first", "second", "third"):
            ev = register(sign, alice, name)
            assert http.post("/events", content=ev.leaf).status_code == 200
        assert http.post("/events", content=grant(sign, alice, "third", ev.id).leaf
                         ).status_code == 200
        yield node


def test_every_reply_is_as_documented(api: RunningNode, tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "schemathesis"
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    run = subprocess.run(
        [str(exe), "--config-file", str(config), "run", f"{api.url}/openapi.json",
         "--checks", "all",
         "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1",
         "--continue-on-failure", "--no-color"],
        capture_output=True, text=True, cwd=tmp_path, timeout=SCHEMATHESIS_TIMEOUT_S,
        check=False)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-2000:]
