"""Similar works across logs (specs/node.md section 6.1): two real ``provenance node serve``
processes on 127.0.0.1 mirror each other by themselves; ``owner`` registers a picture on a,
``rival`` a re-encoded, resized copy on b. Node b indexes its mirror of a: its view of the
copy lists the original, ``status --node`` shows it, and ``anchor --node`` of a further copy
by a third key warns naming the original on a's log."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import iscc_core
from PIL import Image

from tests.cli.conftest import new_key, run
from tests.cli.test_similarity import picture
from tests.node.network_helpers import Node, Processes, in_parallel, make_network

DEADLINE_S = 30  # seconds for b to have mirrored a
POLL_S = 0.05


def similar_on(node: Node, work: str) -> list[dict[str, object]]:
    r = httpx.get(f"{node.url}/works/{work}", timeout=30)
    assert r.status_code == 200, r.text
    found: list[dict[str, object]] = r.json()["similar"]
    return found


def test_a_node_lists_similar_works_of_its_peers(tmp_path: Path) -> None:
    processes = Processes()
    try:
        a, b = make_network(tmp_path / "net", ("a", "b"), processes, mirror_interval=1)
        in_parallel(a.start, b.start)
        home = tmp_path / "home"
        owner, rival, third = (new_key(n, home) for n in ("owner", "rival", "third"))
        original = picture(tmp_path / "original.png", 11)
        with Image.open(original) as img:
            img.resize((img.width // 2, img.height // 2)).save(tmp_path / "copy.jpg",
                                                               quality=50)
            img.convert("L").save(tmp_path / "grey.png")
        first = json.loads(run("anchor", original, "--key", "owner", "--node", a.url, "--json",
                               home=home).out)
        copy = json.loads(run("anchor", tmp_path / "copy.jpg", "--key", "rival", "--node",
                              b.url, "--json", home=home).out)
        distance = iscc_core.iscc_distance(first["similarity"], copy["similarity"])
        deadline = time.monotonic() + DEADLINE_S
        while not similar_on(b, copy["work"]):  # b's own rounds bring a's registration in
            assert time.monotonic() < deadline, "b did not mirror a"
            time.sleep(POLL_S)
        [seen] = similar_on(b, copy["work"])
        assert seen == {"origin": a.origin, "work": first["work"], "id": first["id"],
                        "index": first["index"], "registrant": owner, "controller": owner,
                        "similarity": first["similarity"], "distance": distance}
        text = run("status", copy["work"], "--node", b.url, home=home).out
        assert text.startswith("POSSIBLE DISPUTE: similar content is registered as other works")
        assert f"  {first['work']} on {a.origin}: distance {distance}, controller {owner}" in text
        # a third key anchoring a grey copy on b is warned of both earlier registrations
        result = run("anchor", tmp_path / "grey.png", "--key", "third", "--node", b.url,
                     home=home)
        warned = {line.split(" is similar to work ")[1].split()[0]
                  for line in result.err.splitlines()}
        assert warned == {first["work"], copy["work"]}
        assert f"on log {a.origin}" in result.err and rival in result.err
        assert third not in result.err
    finally:
        processes.close()
