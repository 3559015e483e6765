"""The page as people read it on a phone and with a screen reader: every kind of receipt fits
a narrow screen (a key or work id breaks rather than widens the page past it, in English and
Japanese, and the title is not cut in two), a decision receipt lists the work it answers about,
not the key records it carries as works, and the history's parts are words apart when read
aloud or copied."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from .conftest import INDEX, Receipts, check_in_page

PHONE = {"width": 390, "height": 844}
"""A phone's width in CSS pixels (an iPhone 12 to 15)."""


def overflow(page: Page) -> list[str]:
    """What sticks out to the right of the screen: the page then scrolls sideways."""
    return page.evaluate("""(() => {
      const width = document.documentElement.clientWidth, out = [];
      for (const e of document.querySelectorAll('body *')) {
        const r = document.createRange();
        r.selectNodeContents(e);
        if (r.getBoundingClientRect().right > width + 1) out.push(e.tagName + '#' + e.id);
      }
      return out;
    })()""")


def test_every_kind_of_receipt_fits_a_phone_screen_in_both_languages(
        page: Page, receipts: Receipts, artifacts: Path) -> None:
    page.set_viewport_size(PHONE)
    page.goto(INDEX.as_uri())
    kinds = {"anchor": receipts.receipt, "state": receipts.state,
             "decision": receipts.decisions["ai_training"], "compliance": receipts.compliance,
             "dataset": receipts.dataset["in"]}
    for kind, data in kinds.items():
        path = receipts.write(f"walk-phone-{kind}", data)
        page.click("#lang-en")
        assert check_in_page(page, path, receipts.log_key)["state"] == "valid", kind
        for lang in ("en", "ja"):
            page.click(f"#lang-{lang}")
            width = page.evaluate("[document.documentElement.scrollWidth,"
                                  " document.documentElement.clientWidth]")
            page.screenshot(path=artifacts / f"walk-phone-{kind}-{lang}.png", full_page=True)
            assert width[0] <= width[1] and not overflow(page), (kind, lang, width,
                                                                 overflow(page))
            # The title on a line of its own (the language buttons below it), not cut in two.
            assert page.evaluate("(() => { const r = document.createRange();"
                                 " r.selectNodeContents(document.querySelector('h1'));"
                                 " return r.getClientRects().length; })()") == 1, lang


def test_a_decision_receipt_lists_its_work_and_says_its_key_records_under_keys(
        page: Page, receipts: Receipts) -> None:
    """The record of the controller's key, never logged, is in the receipt as a map entry;
    said as a work it read "sha256:…6b657921 was not registered", a second work to a reader
    who asked about one."""
    page.goto(INDEX.as_uri())
    decision = receipts.decisions["ai_inference"]
    work, *records = [w["work"] for w in decision["state_receipt"]["works"]]
    assert records  # the controller's key record, absent from the log
    path = receipts.write("walk-decision", decision)
    assert check_in_page(page, path, receipts.log_key)["state"] == "valid"
    for lang in ("en", "ja"):
        page.click(f"#lang-{lang}")
        works = page.locator("#works > li").all_inner_texts()
        assert len(works) == 1 and works[0].startswith(work), works
        said = page.inner_text("#explain")
        assert not any(r in said for r in records), lang
        assert page.locator("#key-records > li").count() == len(records)


def test_the_history_parts_are_words_apart(page: Page, receipts: Receipts) -> None:
    page.goto(INDEX.as_uri())
    path = receipts.write("walk-timeline", receipts.state)
    assert check_in_page(page, path, receipts.log_key)["state"] == "valid"
    for lang in ("en", "ja"):
        page.click(f"#lang-{lang}")
        items = page.evaluate("""Array.from(document.querySelectorAll('#timeline li[data-type]'),
          (li) => [li.textContent, Array.from(li.querySelectorAll('time, .kind, .what, .fate,'
            + ' .proven'), (e) => e.textContent)])""")
        assert len(items) == 4
        fates = 0
        for text, parts in items:
            fates += len(parts) == 5
            assert " ".join(parts) in text, (text, parts)
        assert fates == 2  # the consents' fates (one revoked, one in force)


def test_check_on_a_phone_brings_the_verdict_into_sight(page: Page, receipts: Receipts) -> None:
    """On a phone the verdict is below the inputs: pressed with the keyboard, Check shows it,
    and the focus stays on the button."""
    page.set_viewport_size(PHONE)
    page.goto(INDEX.as_uri())
    page.fill("#trust", receipts.log_key)
    page.set_input_files("#receipt-input", receipts.write("walk-check", receipts.receipt))
    page.evaluate("window.PLPage.check()")
    page.focus("#verify")
    page.evaluate("window.scrollTo(0, 0)")
    sight = ("(() => { const b = document.getElementById('verdict').getBoundingClientRect();"
             " return b.top >= -1 && b.bottom <= window.innerHeight + 1; })()")
    assert not page.evaluate(sight)  # below the inputs
    page.keyboard.press("Enter")
    page.evaluate("window.PLPage.check()")  # queued after the button's check
    assert page.get_attribute("#verdict", "data-state") == "valid"
    assert page.evaluate(sight)
    assert page.evaluate("document.activeElement.id") == "verify"
