"""``GET /works/{work}/preferences`` on a real node on 127.0.0.1 (specs/vocabularies.md
section 9): each format with its content type and version header, the same rendering the CLI
exports through ``--node``, and default deny."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance_ledger.core.vocab import read
from provenance_ledger.node import init_node

from ..cli.conftest import run
from ..conftest import KeyFactory, Signer
from .conftest import HOST, ORIGIN, RunningNode, free_port, register, running, work

NAME = "page-012.png"
MEDIA = {"cawg": "application/json", "tdmrep": "application/json",
         "aipref": "text/plain; charset=utf-8", "rsl": "application/rsl+xml"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, sign: Signer,
        keys: KeyFactory) -> Iterator[RunningNode]:
    """A node holding NAME: inference granted to anyone, training to one key."""
    home = tmp_path_factory.mktemp("preferences") / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    alice = keys("alice")
    with running(home) as node, node.client() as http:
        ev = register(sign, alice, NAME)
        assert http.post("/events", content=ev.leaf).status_code == 200
        for body in ({"grantee": "*", "purposes": ["ai_inference"]},
                     {"grantee": keys("studio").public.text, "purposes": ["ai_training"]}):
            ev = sign(alice, "consent.grant", work(NAME), body, prev=ev.id)
            assert http.post("/events", content=ev.leaf).status_code == 200
        yield node


@pytest.mark.parametrize("fmt", sorted(MEDIA))
def test_each_format_is_served_with_its_type_and_version(api: RunningNode, fmt: str) -> None:
    with api.client() as http:
        reply = http.get(f"/works/{work(NAME)}/preferences", params={"format": fmt})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == MEDIA[fmt]
    assert reply.headers["provenance-vocabulary"]
    reading = read(reply.content, fmt)
    if fmt == "aipref":  # -07 names generative training only: not granted to anyone
        assert reply.headers["content-usage"] == "train-ai=n"
        assert reading.allowed == {}
    elif fmt == "tdmrep":  # mining and training are not granted to anyone: reserved
        assert json.loads(reply.text)[0]["tdm-reservation"] == 1
        assert reading.allowed == {}
    else:
        assert dict(reading.allowed) == {"ai_inference": ()}
    if fmt != "aipref":  # training needs a licence: the pointer is this node's page
        assert f"{api.url}/works/{work(NAME)}" in reply.text


def test_the_cli_exports_the_same_rendering_through_the_node(api: RunningNode,
                                                             tmp_path: Path) -> None:
    with api.client() as http:
        served = http.get(f"/works/{work(NAME)}/preferences", params={"format": "cawg"}).text
    exported = run("export", work(NAME), "--format", "cawg", "--node", api.url,
                   home=tmp_path / "client").out
    assert exported == served


@pytest.mark.parametrize("path, params, status", [
    (f"/works/{'0' * 64}/preferences", {"format": "cawg"}, 404),
    (f"/works/{work(NAME)}/preferences", {"format": "odrl"}, 400),
    (f"/works/{work(NAME)}/preferences", {}, 400),
])
def test_an_unknown_work_or_format_is_refused(api: RunningNode, path: str,
                                              params: dict[str, str], status: int) -> None:
    with api.client() as http:
        reply = http.get(path, params=params)
    assert reply.status_code == status
    assert reply.json()["error"]
