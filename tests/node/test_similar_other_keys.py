"""``GET /works/{work}?other_than=KEY`` (specs/node.md section 6.1): a key with more similar
works of its own than the node lists still hears of another key's similar work, which is what
``anchor --node`` asks for; a real node on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.similarity import ContentCode, Unit
from provenance_ledger.node.client import NodeClient
from provenance_ledger.node.similar import MAX_SIMILAR

from ..conftest import KeyFactory, Signer
from .conftest import running, work

BASE = 0x0123_4567_89AB_CDEF


def _registration(sign: Signer, key: PrivateKey, name: str, bits: int) -> bytes:
    body = {"size": 1, "media_type": "image/png", "title": name,
            "similarity": ContentCode(Unit.IMAGE, bits).to_text()}
    return sign(key, "work.register", work(name), body).leaf


@pytest.fixture
def client(node_home: Path) -> Iterator[httpx.Client]:
    with running(node_home) as node, node.client() as c:
        yield c


def test_other_keys_similar_works_are_listed_past_the_own_ones(
        client: httpx.Client, sign: Signer, keys: KeyFactory, tmp_path: Path) -> None:
    owner, rival = keys("owner"), keys("rival")
    own = [_registration(sign, owner, f"page {n}", BASE ^ (n % 2))
           for n in range(MAX_SIMILAR + 6)]
    theirs = _registration(sign, rival, "their page", BASE ^ 0b1110)  # 3 bits from BASE
    body = b"\n".join([*own, theirs]) + b"\n"
    r = client.post("/events/batch", content=body,
                    headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    asked = work("page 0")
    everyone = client.get(f"/works/{asked}").json()["similar"]
    assert len(everyone) == MAX_SIMILAR
    assert work("their page") not in [s["work"] for s in everyone]  # the nearest are own
    others = client.get(f"/works/{asked}", params={"other_than": owner.public.text}).json()
    assert [(s["work"], s["registrant"], s["distance"]) for s in others["similar"]] == [
        (work("their page"), rival.public.text, 3)]
    assert client.get(f"/works/{asked}", params={"other_than": "nobody"}).status_code == 400
    node = NodeClient(str(client.base_url).rstrip("/"), tmp_path / "pins")
    try:
        seen = node.registrations(asked, other_than=owner.public.text)["similar"]
    finally:
        node.close()
    assert [s["work"] for s in seen] == [work("their page")]
