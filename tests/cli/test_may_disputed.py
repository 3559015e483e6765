"""``provenance may`` on a disputed work (specs/cli.md section 3.5, specs/node.md section 6):
the same content registered on two logs by two keys. Two real ``provenance node serve``
processes on 127.0.0.1 mirror each other by themselves (``mirror_interval = 1``); the real
CLI asks each of them (``--node``) and each node's own data directory (locally).

``owner`` registers the page on a and grants consent to anyone for ai_training there;
``rival`` registers the same page on b, where nothing is granted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Result, new_key, run
from tests.node.network_helpers import Node, Processes, in_parallel, make_network

DEADLINE_S = 30  # seconds for the two nodes to have mirrored each other
POLL_S = 0.05


@dataclass
class Dispute:
    home: Path
    a: Node
    b: Node
    owner: str
    rival: str
    user: str
    page: Path
    work: str
    alone: Path  # a page registered on a only, with the same consent


def disputed_on(node: Node, work: str) -> bool:
    r = httpx.get(f"{node.url}/works/{work}", timeout=30)
    return r.status_code == 200 and r.json()["disputed"] is True


@pytest.fixture(scope="module")
def dispute(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dispute]:
    root = tmp_path_factory.mktemp("may-disputed")
    processes = Processes()
    try:
        a, b = make_network(root / "net", ("a", "b"), processes, mirror_interval=1)
        in_parallel(a.start, b.start)
        home = root / "home"
        owner, rival, user = (new_key(n, home) for n in ("owner", "rival", "user"))
        page = root / "page-012.png"
        page.write_bytes(b"one page, claimed on two logs")
        alone = root / "page-013.png"
        alone.write_bytes(b"a page claimed on one log")
        work = json.loads(run("anchor", page, "--key", "owner", "--node", a.url, "--json",
                              home=home).out)["work"]
        run("anchor", page, "--key", "rival", "--node", b.url, home=home)
        run("anchor", alone, "--key", "owner", "--node", a.url, home=home)
        for p in (page, alone):
            run("consent", "grant", p, "--purpose", "ai_training", "--anyone", "--key",
                "owner", "--node", a.url, home=home)
        # Nobody runs node sync: each node's own rounds bring the other's registration in.
        deadline = time.monotonic() + DEADLINE_S
        while not (disputed_on(a, work) and disputed_on(b, work)):
            assert time.monotonic() < deadline, "the nodes did not mirror each other"
            time.sleep(POLL_S)
        yield Dispute(home, a, b, owner, rival, user, page, work, alone)
    finally:
        processes.close()


def may(d: Dispute, *args: str | Path, ok: tuple[int, ...]) -> Result:
    return run("may", d.user, "ai_training", *args, home=d.home, ok_codes=ok)


@pytest.mark.parametrize("where", ["node", "local"])
def test_may_on_a_disputed_work_says_so_and_answers_no(dispute: Dispute, where: str) -> None:
    d = dispute
    on_a = ("--node", d.a.url) if where == "node" else ("--home", d.a.home)
    text = may(d, d.page, *on_a, ok=(1,)).out.splitlines()
    assert text[0] == (
        "not allowed: the work is disputed (registered on several logs by different keys); "
        "on this log: consent granted to anyone for ai_training; add --accept-disputed to rely "
        "on this log's registration")
    assert text[1].startswith(f"  DISPUTED: also registered on {d.b.origin} by {d.rival}")
    doc = json.loads(may(d, d.page, *on_a, "--json", ok=(1,)).out)
    assert (doc["allowed"], doc["allowed_on_this_log"], doc["disputed"]) == (False, True, True)
    assert {(r["origin"], r["registrant"]) for r in doc["registrations"]} == {
        (d.a.origin, d.owner), (d.b.origin, d.rival)}
    assert doc["elsewhere"] == [] and doc["work"] == d.work

    # --accept-disputed: the answer from this log, still saying the work is disputed.
    accepted = may(d, d.page, *on_a, "--accept-disputed", ok=(0,)).out.splitlines()
    assert accepted[0] == "allowed: consent granted to anyone for ai_training"
    assert accepted[1].startswith(f"  DISPUTED: also registered on {d.b.origin} by {d.rival}")
    assert accepted[1].endswith("(answered from this log's registration: --accept-disputed)")
    doc = json.loads(may(d, d.page, *on_a, "--accept-disputed", "--json", ok=(0,)).out)
    assert (doc["allowed"], doc["disputed"], doc["reason"]) == (
        True, True, "consent granted to anyone for ai_training")


@pytest.mark.parametrize("where", ["node", "local"])
def test_the_other_log_says_no_either_way(dispute: Dispute, where: str) -> None:
    d = dispute
    on_b = ("--node", d.b.url) if where == "node" else ("--home", d.b.home)
    for extra in ((), ("--accept-disputed",)):
        doc = json.loads(may(d, d.page, *on_b, *extra, "--json", ok=(1,)).out)
        assert (doc["allowed"], doc["allowed_on_this_log"], doc["disputed"]) == (
            False, False, True)
        text = may(d, d.page, *on_b, *extra, ok=(1,)).out.splitlines()
        assert text[0].startswith("not allowed: no ")
        assert text[1].startswith(f"  DISPUTED: also registered on {d.a.origin} by {d.owner}")


def test_a_work_on_one_log_only_is_not_disputed(dispute: Dispute) -> None:
    d = dispute
    for on_a in (("--node", d.a.url), ("--home", d.a.home)):
        doc = json.loads(may(d, d.alone, *on_a, "--json", ok=(0,)).out)
        assert (doc["allowed"], doc["disputed"]) == (True, False)
        assert [(r["origin"], r["registrant"]) for r in doc["registrations"]] == [
            (d.a.origin, d.owner)]
        assert "DISPUTED" not in may(d, d.alone, *on_a, ok=(0,)).out
    # A plain ledger knows no other log: nothing disputed, no registrations listed.
    plain = d.home.parent / "plain"
    run("anchor", d.page, "--key", "default", home=plain)
    doc = json.loads(run("may", d.user, "ai_training", d.page, "--json", home=plain,
                         ok_codes=(1,)).out)
    assert (doc["disputed"], doc["registrations"]) == (False, [])
