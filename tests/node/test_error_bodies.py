"""A node's error bodies never echo a hostile request whole (specs/node.md section 2): every
``{"error": ...}`` is one line of at most 1,000 characters without control characters, a
value of the request quoted bounded (errors.quoted), and so is the text of a refused
``add-checkpoint``. Real uvicorn server on 127.0.0.1, httpx client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provenance_ledger.errors import MAX_ERROR_CHARS

from ..conftest import KeyFactory, Signer
from .conftest import RunningNode, register, running

HUGE = b"9" * 4_300
OCTETS = {"content-type": "application/octet-stream"}


@pytest.fixture
def node(node_home: Path) -> Iterator[RunningNode]:
    with running(node_home) as n:
        yield n


@pytest.fixture
def client(node: RunningNode) -> Iterator[httpx.Client]:
    with node.client() as c:
        yield c


def _bounded(text: str, *words: str) -> None:
    assert len(text) <= MAX_ERROR_CHARS and text.isprintable(), text[:300]
    for word in words:
        assert word in text, text


def _hostile_leaf(sign: Signer, keys: KeyFactory) -> bytes:
    """A leaf, canonical JSON, whose event time is a 4,300-digit integer."""
    leaf = register(sign, keys("alice"), "hostile").leaf
    start = leaf.index(b'"at":"') + len(b'"at":')
    end = leaf.index(b'"', start + 1) + 1
    return leaf[:start] + HUGE + leaf[end:]


def test_an_event_with_a_4300_digit_time(client: httpx.Client, sign: Signer,
                                         keys: KeyFactory) -> None:
    r = client.post("/events", content=_hostile_leaf(sign, keys), headers=OCTETS)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    _bounded(error, "at", "an integer of 4,300 digits")
    assert "9" * 30 not in error


def test_a_batch_result_is_bounded_the_same_way(client: httpx.Client, sign: Signer,
                                                keys: KeyFactory) -> None:
    r = client.post("/events/batch", content=_hostile_leaf(sign, keys) + b"\n",
                    headers=OCTETS)
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"]
    assert result["status"] == 400
    _bounded(result["error"], "an integer of 4,300 digits")


def test_a_query_with_control_characters(client: httpx.Client) -> None:
    origin = "example.org/log\n\x1b[2Jall good"
    r = client.get("/cosigned", params={"origin": origin})
    assert r.status_code == 404, r.text
    _bounded(r.json()["error"], "\\n", "\\x1b[2J")


def test_a_malformed_add_checkpoint_request(client: httpx.Client) -> None:
    body = b"old " + b"x" * 60_000 + b"\n\n"
    r = client.post("/add-checkpoint", content=body)
    assert r.status_code == 400, r.text
    line = r.text.removesuffix("\n")
    _bounded(line, "malformed add-checkpoint request", "(60,000 characters)")
