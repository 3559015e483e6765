"""A compliance receipt v2 (``dataset check --require-attested``) carries the key records of
the works' controllers in its state receipt. The page, like ``provenance verify``, lists the
items and their works, not those records: said as works, an attested key's record read as a
registered work with "all its 1 events", and the asker's absent record as a work not
registered."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page

from provenance_ledger.core.identity import key_record_id
from provenance_ledger.ledger import Home
from tests.cli.conftest import log_key, run

from .conftest import ASKER, INDEX, check_in_page


def test_a_compliance_receipt_lists_its_works_not_its_key_records(
        page: Page, tmp_path: Path) -> None:
    home = tmp_path / "home"
    h = Home(home)
    h.ensure()
    keys = {name: h.keys.create(name).public.text for name in ("guild", "member", "default")}
    data = tmp_path / "set"
    data.mkdir()
    work = data / "drawing.txt"
    work.write_text("a drawing, attested\n")
    (data / "draft.txt").write_text("never registered\n")
    run("anchor", work, "--key", "member", home=home)
    run("identity", "attest", "member", "--name", "Mika Sato", "--key", "guild", home=home)
    run("consent", "grant", work, "--purpose", "ai_training", "--anyone", "--key", "member",
        home=home)
    path = tmp_path / "compliance.json"
    run("dataset", "check", data, "--purpose", "ai_training", "--as", ASKER,
        "--require-attested", "--attester", keys["guild"], "--receipt", path, home=home,
        ok_codes=(0, 1))
    receipt = json.loads(path.read_text())
    listed = [w["work"] for w in receipt["state_receipt"]["works"]]
    records = [key_record_id(keys["member"])]
    assert set(records) <= set(listed)
    works = [w for w in listed if w not in records]
    said = run("verify", path, "--log-key", log_key(home), home=home)[1]
    assert not any(r in said for r in records)  # verify does not list them
    page.goto(INDEX.as_uri())
    assert check_in_page(page, path, log_key(home))["state"] == "valid"
    for lang in ("en", "ja"):
        page.click(f"#lang-{lang}")
        lines = page.locator("#works > li").all_inner_texts()
        assert [line[:71] for line in lines] == works, lines  # each starts with its work
        assert not any(r in page.inner_text("#explain") for r in records), lang
