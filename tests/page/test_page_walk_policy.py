"""A file that is not a trust policy (a picture chosen by mistake) given as the policy: the
page says it cannot be read in the words ``provenance verify`` uses, its bytes quoted as
Python quotes them ('\\x00\\x01…'), never as invisible control characters."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page

from tests.cli.conftest import run

from .conftest import INDEX, Receipts

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def test_a_policy_file_that_is_not_text_is_quoted_as_verify_quotes_it(
        page: Page, receipts: Receipts, tmp_path: Path) -> None:
    picture = tmp_path / "drawing.png"
    picture.write_bytes(b"\x00\x01\x02\x1a\x1b\x7f\x10PNG not a policy\n" + bytes(range(256)))
    receipt = receipts.write("walk-policy", receipts.receipt)
    said = run("verify", receipt, "--policy", picture, home=receipts.home, ok_codes=(2,))
    detail = said[2].strip().removeprefix("error: ")
    assert detail.startswith("policy line 1: ") and "\\x1a" in detail, detail
    page.goto(INDEX.as_uri())
    page.set_input_files("#receipt-input", receipt)
    page.set_input_files("#policy-input", picture)
    page.evaluate("window.PLPage.check()")
    assert page.get_attribute("#verdict", "data-state") == "bad-trust"
    shown = page.evaluate("document.getElementById('verdict').textContent")
    assert shown == f"The trust policy or log key cannot be read: {detail}"
    assert not CONTROL.search(shown)
    # In Japanese words, the line quoted as verify quotes it.
    page.click("#lang-ja")
    shown = page.evaluate("document.getElementById('verdict').textContent")
    quoted = detail.removeprefix("policy line 1: cannot read ")
    ja = "信頼ポリシーまたはログの鍵を読み取れません。1 行目：{} を読み取れません。"
    assert shown == ja.format(quoted)
    assert not CONTROL.search(shown)
