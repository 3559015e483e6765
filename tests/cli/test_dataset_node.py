"""The dataset commands through a node. ``dataset check --similar D --node URL``: re-encoded
copies matched to registered works by the node's similarity index (``POST /similar``,
specs/node.md section 6.2), their states proven by the node's state receipt, and a compliance
receipt that verifies offline against the node's log key alone. ``dataset disclose|versions|
prove --node``: the disclosure logged on the node, and proofs that verify with its key. One
real ``provenance node serve`` on 127.0.0.1, the real CLI in a subprocess."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import iscc_core
import pytest

from tests.cli.conftest import assert_one_error_line, new_key, run
from tests.cli.test_dataset_similar import _copy
from tests.cli.test_similarity import picture
from tests.node.network_helpers import Processes, make_network


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``owner`` registered two pictures on the node and consented to ``dev`` training on the
    first; the folder ``set`` holds re-encoded copies of both and an unrelated picture."""
    root = tmp_path_factory.mktemp("similar-node")
    processes = Processes()
    try:
        (node,) = make_network(root / "net", ("a",), processes)
        node.start()
        home = root / "home"
        new_key("owner", home)
        dev = new_key("dev", home)
        works, codes = {}, {}
        for name, seed in (("consented", 3), ("refused", 4)):
            doc = json.loads(run("anchor", picture(root / f"{name}.png", seed), "--key", "owner",
                                 "--node", node.url, "--json", home=home).out)
            works[name], codes[name] = doc["work"], doc["similarity"]
        run("consent", "grant", works["consented"], "--purpose", "ai_training", "--to", dev,
            "--key", "owner", "--node", node.url, home=home)
        folder = root / "set"
        folder.mkdir()
        _copy(root / "consented.png", folder / "consented.jpg", 0.5, 60)
        _copy(root / "refused.png", folder / "refused.jpg", 1.5, 80)
        picture(folder / "unrelated.png", 98)
        yield {"root": root, "home": home, "node": node, "works": works, "codes": codes}
    finally:
        processes.close()


def test_copies_match_through_the_node_and_the_receipt_verifies_offline(
        world: dict[str, Any]) -> None:
    node, works = world["node"], world["works"]
    receipt = world["root"] / "set.compliance.json"
    doc = json.loads(run("dataset", "check", world["root"] / "set", "--purpose", "ai_training",
                         "--as", "dev", "--similar", "8", "--node", node.url, "--receipt",
                         receipt, "--json", home=world["home"], ok_codes=(1,)).out)
    items = {i["item"]: i for i in doc["items"]}
    good, bad, other = items["consented.jpg"], items["refused.jpg"], items["unrelated.png"]
    assert (good["outcome"], good["match"], good["work"]) == ("allowed", "similar",
                                                             works["consented"])
    assert (bad["outcome"], bad["match"], bad["work"]) == ("not allowed", "similar",
                                                          works["refused"])
    assert good["distance"] == iscc_core.iscc_distance(good["code"], world["codes"]["consented"])
    assert other["outcome"] == "unregistered"
    # offline, with nothing but the node's log key: every decision and distance re-derived
    out = json.loads(run("verify", receipt, "--log-key", node.log_vkey, "--json",
                         home=world["root"] / "verifier").out)
    assert out["summary"] == {"items": 3, "allowed": 1, "not_allowed": 1, "unregistered": 1}
    # without --similar the copies are other content: unregistered, exit 0
    plain = json.loads(run("dataset", "check", world["root"] / "set", "--purpose",
                           "ai_training", "--as", "dev", "--node", node.url, "--json",
                           home=world["home"]).out)
    assert {i["outcome"] for i in plain["items"]} == {"unregistered"}


def test_iscc_manifest_lines_are_looked_up_on_the_node(world: dict[str, Any]) -> None:
    near = iscc_core.gen_image_code_v0([0] * 1024, bits=64)["iscc"]  # nobody's picture
    manifest = world["root"] / "codes.txt"
    manifest.write_text(f"{world['codes']['refused']}\n{near}\n")
    doc = json.loads(run("dataset", "check", manifest, "--purpose", "ai_training", "--as",
                         "dev", "--node", world["node"].url, "--json", home=world["home"],
                         ok_codes=(1,)).out)
    first, second = doc["items"]
    assert (first["outcome"], first["work"], first["distance"]) == (
        "not allowed", world["works"]["refused"], 0)
    assert (second["outcome"], second["work"]) == ("unregistered", None)


@pytest.mark.parametrize("body,words", [
    (b'{"codes": ["ISCC:nope"], "distance": 8}', "codes[0] is not an ISCC content code"),
    (b'{"codes": [], "distance": 8}', "name 1 to 10000 codes"),
    (b'{"codes": ["ISCC:EEA4GQZQTY6J5DTH"], "distance": 17}', "distance must be an integer"),
    (b'{"works": []}', 'the body must be {"codes"'),
])
def test_the_node_refuses_a_bad_look_up_in_one_line(world: dict[str, Any], body: bytes,
                                                    words: str) -> None:
    r = httpx.post(f"{world['node'].url}/similar", content=body,
                   headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 400 and words in r.json()["error"], r.text


def test_a_body_over_the_cap_is_refused_while_it_streams_in(world: dict[str, Any]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"codes": ['
        for _ in range(40_000):  # about 1 MB, twice the cap
            yield b'"ISCC:EEA4GQZQTY6J5DTH",'
        yield b'"ISCC:EEA4GQZQTY6J5DTH"], "distance": 8}'
    r = httpx.post(f"{world['node'].url}/similar", content=chunks(),
                   headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413


def test_a_bad_distance_is_one_line_and_exit_2(world: dict[str, Any]) -> None:
    r = run("dataset", "check", world["root"] / "set", "--purpose", "ai_training", "--as",
            "dev", "--similar", "17", "--node", world["node"].url, home=world["home"],
            ok_codes=(2,))
    assert "--similar: '17' is not a whole number of the 64 bits" in assert_one_error_line(r)


def test_a_disclosure_on_the_node_is_listed_and_proven_from_it(world: dict[str, Any]) -> None:
    node, home, root = world["node"], world["home"], world["root"]
    manifest = root / "train.txt"
    manifest.write_text("set/consented.jpg\nset/unrelated.png\n")
    url = ("--node", node.url)
    first = json.loads(run("dataset", "disclose", manifest, "--name", "corpus", "--version",
                           "v1", "--key", "dev", *url, "--json", home=home).out)
    assert first["status"] == "disclosed" and first["count"] == 2
    again = json.loads(run("dataset", "disclose", manifest, "--name", "corpus", "--version",
                           "v1", "--key", "dev", *url, "--json", home=home).out)
    assert (again["status"], again["event"]) == ("exists", first["event"])
    manifest.write_text("set/consented.jpg\n")
    second = json.loads(run("dataset", "disclose", manifest, "--name", "corpus", "--version",
                            "v2", "--previous", first["event"], "--key", "dev", *url, "--json",
                            home=home).out)
    assert second["previous"] == first["event"]
    listed = json.loads(run("dataset", "versions", "corpus", "--by", first["key"], *url,
                            "--json", home=root / "creator").out)
    assert [v["version"] for v in listed["versions"]] == ["v1", "v2"]
    proof = root / "unrelated-in-v2.json"
    run("dataset", "prove", manifest, root / "set" / "unrelated.png", "--name", "corpus",
        "--key", "dev", "--out", proof, *url, home=home)
    out = json.loads(run("verify", proof, "--log-key", node.log_vkey, "--json",
                         home=root / "verifier").out)
    assert (out["in_dataset"], out["version"], out["event"]) == (False, "v2", second["event"])
