"""The page and ``provenance verify`` agree on compliance receipts v2 (specs/receipts.md
section 14.3: the trust policy, who granted each item, the key records) and royalty receipts
v3 (sections 15.3 and 15.4, specs/royalties.md section 3.1: the key records of every key
involved, statement version 2), made by the real CLI: a squatter's grant refused under
``--require-attested``, a licensee and a payee rotated, and tampered copies of both. The known
answers of tests/data/compliance_v2 go through both as well, and so do the royalty receipts v1
and v2 the release before statement version 2 made (tests/data/royalties/release)."""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from provenance_ledger.core.identity import is_key_record_id
from provenance_ledger.ledger import Home
from tests.cli.conftest import log_key, run

from .conftest import INDEX, ReceiptFolder, as_sentence, check_in_page, royalty_lines
from .test_parity import cli_check, compare

VECTORS = Path(__file__).resolve().parents[1] / "data" / "compliance_v2" / "vectors.json"

V2_CHECKS = [
    (r"does not list the key record", "keys"),
    (r"granted_by is not what", "decoded"),
    (r"do not replay without key records", "rules"),
    (r"must have its trust member|compliance receipt trust", "receipt"),
]
"""The CLI's failure lines of the v2 formats -> the check the page names; then cli_check's."""


def check_of(line: str) -> str | None:
    for pattern, check in V2_CHECKS:
        if re.search(pattern, line):
            return check
    return cli_check(line)


@dataclass
class World(ReceiptFolder):
    """Receipts the CLI made (``made``), and what ``compare`` needs."""

    home: Path
    log_key: str
    keys: dict[str, str]
    made: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """One ledger, built once. A squatter registers a copy of a member's page and grants
    anyone ai_training; the member grants the same on the own page and the guild attests the
    member's key. A creator licenses a page to a studio; both keys are rotated; the studio's
    new key reports usage and pays the creator's new key, which acknowledges; the creator's
    new key grants anyone ai_training on another page the old key registered. The squatter
    also licenses the copy to a buyer (no key of that licence has a record). The dataset:
    the copy, the own page, the creator's other page and a page no one registered."""
    root = tmp_path_factory.mktemp("page-v2")
    home = root / "home"
    h = Home(home)  # the keys are made in process: the CLI's key commands are not tested here
    h.ensure()
    keys = {name: h.keys.create(name).public.text
            for name in ("squatter", "member", "guild", "creator", "creator2", "studio",
                         "studio2", "buyer")}
    data = root / "dataset"
    data.mkdir()
    files = {}
    for name, key in (("copy", "squatter"), ("own", "member"), ("later", "creator"),
                      ("licensed", "creator")):
        files[name] = (root if name == "licensed" else data) / f"page-{name}.txt"
        files[name].write_text(f"a page of the member's book ({name})\n")
        run("anchor", files[name], "--key", key, home=home)
    (data / "page-unregistered.txt").write_text("a page no one registered\n")
    for name in ("copy", "own"):
        run("consent", "grant", files[name], "--purpose", "ai_training", "--anyone", "--key",
            "squatter" if name == "copy" else "member", home=home)
    run("identity", "attest", "member", "--name", "Mika Sato", "--member", "1042", "--key",
        "guild", home=home)
    lid = json.loads(run("licence", "offer", files["licensed"], "--to", keys["studio"],
                         "--purpose", "ai_training", "--fee", "100.00", "EUR", "--royalty-bps",
                         "1000", "--key", "creator", "--json", home=home).out)["id"]
    run("licence", "accept", lid, "--key", "studio", home=home)
    run("key", "rotate", "creator", "--to", "creator2", home=home)
    run("key", "rotate", "studio", "--to", "studio2", home=home)
    run("consent", "grant", files["later"], "--purpose", "ai_training", "--anyone", "--key",
        "creator2", home=home)  # the creator's control, held by its new key
    run("usage", "report", lid, "--period", "2026", "--units", "5", "--revenue", "50.00",
        "EUR", "--key", "studio2", home=home)
    pid = json.loads(run("payment", "record", lid, "--to", keys["creator2"], "--amount",
                         "105.00", "EUR", "--key", "studio2", "--json", home=home).out)["id"]
    run("payment", "ack", pid, "--key", "creator2", home=home)
    plain = json.loads(run("licence", "offer", files["copy"], "--to", keys["buyer"],
                           "--purpose", "ai_inference", "--fee", "20.00", "EUR", "--key",
                           "squatter", "--json", home=home).out)["id"]
    run("licence", "accept", plain, "--key", "buyer", home=home)
    made: dict[str, dict[str, Any]] = {}

    def receipt(name: str, *args: str | Path) -> None:
        path = root / f"made-{name}.json"
        run(*args, path, home=home, ok_codes=(0, 1))
        made[name] = json.loads(path.read_text())

    ask = ("dataset", "check", data, "--purpose", "ai_training", "--as", keys["buyer"])
    receipt("refused", *ask, "--require-attested", "--attester", keys["guild"], "--receipt")
    receipt("trusting", *ask, "--attester", keys["guild"], "--receipt")
    receipt("royalties", "royalties", "--payee", keys["creator"], "--receipt")
    receipt("plain-royalties", "royalties", "--payee", keys["squatter"], "--receipt")
    # The buyer pays the squatter, whose key is then declared compromised from the time of
    # its acknowledgement on: the acknowledgement does not count (R22).
    paid = json.loads(run("payment", "record", plain, "--to", keys["squatter"], "--amount",
                          "20.00", "EUR", "--key", "buyer", "--json", home=home).out)["id"]
    run("payment", "ack", paid, "--key", "squatter", home=home)
    at = json.loads(run("status", files["copy"], "--json", home=home).out)["history"][-1]["at"]
    run("key", "compromised", "squatter", "--since", at, "--yes", home=home)
    receipt("compromised-royalties", "royalties", "--payee", keys["squatter"], "--receipt")
    assert made["refused"]["format"] == "provenance-ledger/compliance-receipt/v2"
    assert made["royalties"]["format"] == "provenance-ledger/royalty-receipt/v3"
    assert made["plain-royalties"]["format"] == "provenance-ledger/royalty-receipt/v3"
    (line,) = made["compromised-royalties"]["statement"]["licences"][0]["payees"]
    assert (line["paid"], line["acknowledged"], line["answered_in"]) == (2000, 0, [])
    return World(root, home, log_key(home), keys, made)


def sr_works(r: dict[str, Any], edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
             ) -> dict[str, Any]:
    sr = r["state_receipt"]
    return {**r, "state_receipt": {**sr, "works": edit(list(sr["works"]))}}


def records_only(r: dict[str, Any]) -> list[int]:
    """The positions of the key records the receipt lists with events (present records)."""
    return [n for n, w in enumerate(r["state_receipt"]["works"])
            if is_key_record_id(w["work"]) and w["events"]]


def record_emptied(r: dict[str, Any]) -> dict[str, Any]:
    """The last key record listed with none of its events."""
    n = records_only(r)[-1]

    def edit(works: list[dict[str, Any]]) -> list[dict[str, Any]]:
        works[n] = {**works[n], "events": [], "state": None}
        return works
    return sr_works(r, edit)


def record_dropped(r: dict[str, Any]) -> dict[str, Any]:
    n = records_only(r)[0]
    return sr_works(r, lambda works: works[:n] + works[n + 1:])


def granted_by_edited(r: dict[str, Any]) -> dict[str, Any]:
    """The squatter's item said to be vouched for by a trusted attester."""
    items = [dict(i) for i in r["items"]]
    squat = next(i for i in items if i["granted_by"] and not i["granted_by"]["trusted"])
    squat["granted_by"] = {**squat["granted_by"], "trusted": True}
    return {**r, "items": items}


def decision_edited(r: dict[str, Any]) -> dict[str, Any]:
    items = [dict(i) for i in r["items"]]
    refused = next(i for i in items if i["decision"] and not i["decision"]["allowed"])
    refused["decision"] = {**refused["decision"], "allowed": True}
    return {**r, "items": items}


def royalty_figure_edited(r: dict[str, Any]) -> dict[str, Any]:
    st = r["statement"]
    lic = {**st["licences"][0], "outstanding": st["licences"][0]["outstanding"] + 1}
    return {**r, "statement": {**st, "licences": [lic, *st["licences"][1:]]}}


def leaf_edited(r: dict[str, Any]) -> dict[str, Any]:
    """One byte of the first key record's first signed event changed."""
    n = records_only(r)[0]

    def edit(works: list[dict[str, Any]]) -> list[dict[str, Any]]:
        e = works[n]["events"]
        leaf = base64.b64decode(e[0]["leaf"]).replace(b'"at":"20', b'"at":"21', 1)
        works[n] = {**works[n], "events": [{**e[0], "leaf": base64.b64encode(leaf).decode()},
                                           *e[1:]]}
        return works
    return sr_works(r, edit)


Case = tuple[str, Callable[[World], dict[str, Any]], str | None]

CASES: list[Case] = [
    ("compliance v2: the squatter's grant refused", lambda w: w.made["refused"], None),
    ("compliance v2: attested, not required", lambda w: w.made["trusting"], None),
    ("compliance v2: requirement dropped",
     lambda w: {**w.made["refused"], "trust": {**w.made["refused"]["trust"],
                                               "require_attested": False}}, "decoded"),
    ("compliance v2: another attester trusted",
     lambda w: {**w.made["refused"], "trust": {"require_attested": True,
                                               "attesters": [w.keys["squatter"]]}}, "decoded"),
    ("compliance v2: granted_by edited", lambda w: granted_by_edited(w.made["refused"]),
     "decoded"),
    ("compliance v2: a refusal edited to allowed", lambda w: decision_edited(w.made["refused"]),
     "decoded"),
    ("compliance v2: trust taken out",
     lambda w: {x: v for x, v in w.made["refused"].items() if x != "trust"}, "receipt"),
    ("compliance v2: a key record taken out", lambda w: record_dropped(w.made["refused"]),
     "map"),
    ("compliance v2: a key record emptied", lambda w: record_emptied(w.made["refused"]),
     "history"),
    ("compliance v2: a key record's event edited", lambda w: leaf_edited(w.made["refused"]),
     "event"),
    ("royalties v3: rotated payee and licensee", lambda w: w.made["royalties"], None),
    ("royalties v3: a figure edited", lambda w: royalty_figure_edited(w.made["royalties"]),
     "decoded"),
    ("royalties v3: passed off as v1",
     lambda w: {**w.made["royalties"], "format": "provenance-ledger/royalty-receipt/v1"},
     "rules"),
    ("royalties v3: passed off as v2 (its statement is version 2, a v2's is version 1)",
     lambda w: {**w.made["royalties"], "format": "provenance-ledger/royalty-receipt/v2"},
     "decoded"),
    ("royalties v3: a key record taken out", lambda w: record_dropped(w.made["royalties"]),
     "map"),
    ("royalties v3: the rotation left out of a key record",
     lambda w: record_emptied(w.made["royalties"]), "history"),
    ("royalties v3: no key has a record, each proven absent",
     lambda w: w.made["plain-royalties"], None),
    ("royalties v3: the acknowledgement of a key compromised does not count",
     lambda w: w.made["compromised-royalties"], None),
    ("royalties v3: the compromise left out of the key record",
     lambda w: record_emptied(w.made["compromised-royalties"]), "history"),
]

IN_A_SUBPROCESS = {"compliance v2: the squatter's grant refused",
                   "royalties v3: rotated payee and licensee",
                   "royalties v3: the acknowledgement of a key compromised does not count"}
"""The console script itself, whose lines the page must say word for word."""


def test_page_and_cli_agree_on_v2_receipts(page: Page, world: World) -> None:
    page.goto(INDEX.as_uri())
    for name, make, expected in CASES:
        sub = name in IN_A_SUBPROCESS
        seen, _, line = compare(page, world, name, make(world), world.log_key, None,  # type: ignore[arg-type]
                                in_process=not sub)
        assert seen["check"] == expected, f"{name}: page {seen}, CLI: {line}"
        assert expected is None or check_of(line) == expected, f"{name}: CLI: {line}"
        if name.startswith("compliance") and sub:
            lines = line.splitlines()
            assert lines[0].startswith("OK: "), name
            assert as_sentence(lines[0][4:]) == page.inner_text("#compliance"), name
            shown = page.inner_text("#items").splitlines()
            refused = [x for x in lines if x.startswith("  not allowed: ")]
            assert refused and all(as_sentence(x[2:]) in shown for x in refused), (refused, shown)
            assert "is not attested by anyone (--require-attested)" in refused[0]
        elif sub:
            said = [page.inner_text("#royalties"),
                    *page.inner_text("#royalty-licences").splitlines()]
            assert royalty_lines(line, len(said)) == said, name
            figures = ("due 105.00 EUR, paid 105.00 EUR, acknowledged 105.00 EUR"
                       if "rotated" in name else
                       "due 20.00 EUR, paid 20.00 EUR, acknowledged 0.00 EUR")
            assert f"{figures}, disputed 0.00 EUR, " in said[1], said
            version = page.inner_text("#royalty-version")
            assert "  " + version[:1].lower() + version[1:] in line.splitlines(), (version, line)
            assert version.startswith("Statement version 2 (royalty receipt v3)"), version


RELEASE = Path(__file__).resolve().parents[1] / "data" / "royalties" / "release"


def test_page_verifies_the_release_receipts_with_their_version_1_statement(
        page: Page, world: World) -> None:
    """specs/receipts.md section 15.4: the receipts v1 and v2 the release before statement
    version 2 made (the creator's 100 JPY overpayment netted: outstanding 4,900 JPY) verify on
    the page as in ``provenance verify``, whose lines it says word for word, the statement
    version too, in English and in Japanese; relabelled, they do not."""
    page.goto(INDEX.as_uri())
    vkey = (RELEASE / "log_key.txt").read_text().strip()
    for name in ("v1", "v2"):
        receipt = json.loads((RELEASE / f"{name}-two-licences.json").read_text())
        seen, ok, line = compare(page, world, f"release {name}", receipt, vkey, None)  # type: ignore[arg-type]
        assert ok and seen["check"] is None, line
        said = [page.inner_text("#royalties"),
                *page.inner_text("#royalty-licences").splitlines(),
                page.inner_text("#royalty-version")]
        assert royalty_lines(line, len(said)) == said, (said, line)
        assert said[1].endswith("outstanding 4,900 JPY") and "overpaid" not in said[1], said
        assert said[-1].startswith(f"Statement version 1 (royalty receipt {name})"), said
        assert page.get_attribute("#royalty-version", "data-version") == "1"
        page.click("#lang-ja")
        ja = page.inner_text("#royalty-licences")
        assert "未払い 4,900 JPY" in ja and "過払い" not in ja, ja
        assert page.inner_text("#royalty-version").startswith(
            f"明細の版 1（ロイヤリティ受領証 {name}）")
        page.click("#lang-en")
    for name, relabel, check in (("v1", "v2", "keys"), ("v1", "v3", "keys"),
                                 ("v2", "v3", "decoded"), ("v2", "v1", None)):
        receipt = json.loads((RELEASE / f"{name}-two-licences.json").read_text())
        receipt["format"] = f"provenance-ledger/royalty-receipt/{relabel}"
        seen, ok, line = compare(page, world, f"release {name} as {relabel}", receipt, vkey,  # type: ignore[arg-type]
                                 None, in_process=True)
        assert seen["check"] == check, (name, relabel, seen, line)
        assert check is None or check_of(line) == check, (name, relabel, line)


def test_page_says_overpaid_where_it_applies(page: Page, world: World,
                                             tmp_path: Path) -> None:
    """A receipt v3 of the two-payee transfer (specs/royalties.md section 3.4) made by the
    real CLI: the page says outstanding 5,000 JPY and overpaid 100 JPY as verify does."""
    home = tmp_path / "home"
    h = Home(home)
    h.ensure()
    k = {n: h.keys.create(n).public.text for n in ("default", "publisher", "studio")}
    work = tmp_path / "page-1.txt"
    work.write_text("page 1 of the book\n")
    run("anchor", work, home=home)
    lid = json.loads(run("licence", "offer", work, "--to", k["studio"], "--purpose",
                         "ai_training", "--fee", "3000", "JPY", "--royalty-bps", "1000",
                         "--json", home=home).out)["id"]
    run("licence", "accept", lid, "--key", "studio", home=home)
    run("payment", "record", lid, "--to", k["default"], "--amount", "3100", "JPY", "--key",
        "studio", home=home)
    run("transfer", work, "--to", k["publisher"], home=home)
    run("usage", "report", lid, "--period", "2026", "--units", "10", "--revenue", "50000",
        "JPY", "--key", "studio", home=home)
    path = tmp_path / "receipt.json"
    run("royalties", "--licensee", "studio", "--receipt", path, home=home)
    page.goto(INDEX.as_uri())
    seen, ok, line = compare(page, world, "transfer v3", json.loads(path.read_text()),  # type: ignore[arg-type]
                             log_key(home), None)
    assert ok, line
    said = page.inner_text("#royalty-licences")
    assert said == (f"licence {lid}: due 8,000 JPY, paid 3,100 JPY, acknowledged 0 JPY, "
                    "disputed 0 JPY, outstanding 5,000 JPY, overpaid 100 JPY")
    assert f"  {said}" in line.splitlines()
    page.click("#lang-ja")
    assert page.inner_text("#royalty-licences").endswith("未払い 5,000 JPY、過払い 100 JPY")
    assert page.inner_text("#royalty-version").startswith("明細の版 2（ロイヤリティ受領証 v3）")


def test_page_names_who_granted_without_the_requirement(page: Page, world: World) -> None:
    """Without the requirement every grant is allowed, the one the creator's new key made for
    the old key's page too: the page re-derives each item as ``verify``."""
    page.goto(INDEX.as_uri())
    check_in_page(page, world.write("trusting", world.made["trusting"]), world.log_key)
    outcomes = page.eval_on_selector_all("#items li", "els => els.map(e => e.dataset.outcome)")
    names = [i["name"] for i in world.made["trusting"]["items"]]
    assert dict(zip(names, outcomes, strict=True)) == {
        "page-copy.txt": "allowed", "page-own.txt": "allowed", "page-later.txt": "allowed",
        "page-unregistered.txt": "unregistered"}
    later = next(i for i in world.made["trusting"]["items"] if i["name"] == "page-later.txt")
    assert later["granted_by"]["key"] == world.keys["creator2"]


def test_page_and_cli_agree_on_the_known_answers(page: Page, world: World) -> None:
    """tests/data/compliance_v2: every case, the verdict and the outcomes."""
    page.goto(INDEX.as_uri())
    vectors = json.loads(VECTORS.read_text())
    for case in vectors["cases"]:
        name = f"vector {case['name']}"
        seen, ok, line = compare(page, world, name, case["receipt"], vectors["log_key"], None,  # type: ignore[arg-type]
                                 in_process=True)
        assert ok == case["expect"]["valid"], (name, line)
        if ok:
            outcomes = page.eval_on_selector_all("#items li",
                                                 "els => els.map(e => e.dataset.outcome)")
            assert outcomes == case["expect"]["outcomes"], name
        else:
            assert seen["check"] == check_of(line), (name, seen, line)


@pytest.mark.parametrize("which", ["refused", "royalties"])
def test_page_and_cli_agree_on_random_byte_flips_of_v2(page: Page, world: World,
                                                       which: str) -> None:
    page.goto(INDEX.as_uri())
    good = json.dumps(world.made[which], indent=2).encode()
    rng = random.Random(which)
    for n in range(6):
        at = rng.randrange(len(good))
        bad = bytearray(good)
        bad[at] ^= 1 << rng.randrange(7)
        compare(page, world, f"flip-{which}-{n}-at-{at}", bytes(bad), world.log_key, None,  # type: ignore[arg-type]
                in_process=True)
