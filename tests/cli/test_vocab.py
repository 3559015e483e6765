"""``provenance export`` and ``provenance import`` through the real CLI (specs/vocabularies.md
section 8): a work's consents leave as a vocabulary and come back as signed grants on another
work; import shows what it proposes and signs nothing unconfirmed; hostile or unknown input is
one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import KeyFactory
from .conftest import assert_one_error_line, run, run_json, stored_sizes

DATA = Path(__file__).resolve().parents[1] / "data" / "vocab"
NODE = "https://node.example"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, keys: KeyFactory) -> Path:
    """A ledger with page-012.png: training granted to anyone, inference to one key."""
    root = tmp_path_factory.mktemp("vocab")
    home = root / "home"
    (root / "page-012.png").write_bytes(b"a page")
    run("anchor", root / "page-012.png", home=home)
    run("consent", "grant", root / "page-012.png", "--purpose", "ai_training", "--anyone",
        home=home)
    run("consent", "grant", root / "page-012.png", "--purpose", "ai_inference", "--to",
        keys("studio").public.text, home=home)
    return home


def test_export_and_import_carry_the_consents_to_another_work(home: Path) -> None:
    page = home.parent / "page-012.png"
    exported = run("export", page, "--format", "rsl", "--base-url", NODE, home=home).out
    assert '<permits type="usage">ai-train</permits>\n      <payment type="free"/>' in exported
    assert f"<custom>{NODE}/works/sha256:" in exported  # inference: a licence, from the page
    rsl = home.parent / "license.xml"
    rsl.write_text(exported)
    other = home.parent / "page-013.png"
    other.write_bytes(b"another page")
    run("anchor", other, home=home)
    done = run_json("import", rsl, "--work", other, "--yes", "--json", home=home)
    assert done["vocabulary"] == "rsl"
    assert [(e["type"], e["body"]) for e in done["events"]] == [
        ("consent.grant", {"grantee": "*", "purposes": ["ai_training"]})]
    again = run_json("export", other, "--format", "cawg", "--json", home=home)
    entries = json.loads(again["rendering"])["data"]["entries"]
    assert again["version"].startswith("CAWG Training and Data Mining Assertion 1.1")
    assert {k: v["use"] for k, v in entries.items()} == {
        "cawg.ai_training": "allowed", "cawg.ai_generative_training": "allowed",
        "cawg.ai_inference": "notAllowed", "cawg.data_mining": "notAllowed"}


def test_import_shows_the_events_and_signs_nothing_unconfirmed(home: Path) -> None:
    doc = home.parent / "assertion.json"
    doc.write_text(json.dumps({"entries": {"cawg.ai_inference": {"use": "allowed"}}}))
    before = stored_sizes(home)
    result = run("import", doc, "--work", home.parent / "page-012.png", home=home,
                 ok_codes=(2,))
    assert 'consent.grant {"grantee": "*", "purposes": ["ai_inference"]}' in result.out
    assert result.err == "error: add --yes to sign and append these events (no terminal to " \
                         "confirm on)\n"
    assert stored_sizes(home) == before


def test_a_reservation_imports_as_nothing(home: Path) -> None:
    before = stored_sizes(home)
    result = run("import", DATA / "tdmrep-opt-out.json", "--work",
                 home.parent / "page-012.png", home=home)
    assert "TDM rights are reserved: nothing is imported" in result.out
    assert "nothing to import" in result.out
    assert stored_sizes(home) == before


@pytest.mark.parametrize("args, message", [
    (["hostile-billion-laughs.xml"], "error: the RSL document declares a DTD (<!DOCTYPE>): "
                                     "refused, entities and external references are not "
                                     "expanded"),
    (["aipref-vocab-07.txt", "--format", "odrl"], "error: --format must be one of cawg, "
                                                   "tdmrep, aipref, rsl, not 'odrl'"),
])
def test_hostile_or_unknown_input_is_one_line_and_exit_2(home: Path, args: list[str],
                                                         message: str) -> None:
    before = stored_sizes(home)
    result = run("import", DATA / args[0], *args[1:], "--work", home.parent / "page-012.png",
                 "--yes", home=home, ok_codes=(2,))
    assert assert_one_error_line(result) == message
    assert stored_sizes(home) == before
