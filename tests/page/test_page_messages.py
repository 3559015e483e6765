"""What the page says when it gives no verdict: a receipt or a trust input is missing, the
trust input cannot be read, or this browser cannot check signatures. Such a message replaces
the verdict and the history of the inputs checked before, in the language chosen."""

from __future__ import annotations

from playwright.sync_api import Page

from .conftest import INDEX, Receipts, check_in_page

NO_ED25519 = """
  const importKey = SubtleCrypto.prototype.importKey;
  SubtleCrypto.prototype.importKey = function (format, key, algorithm, ...rest) {
    const name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
    if (name === "Ed25519")
      return Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));
    return importKey.call(this, format, key, algorithm, ...rest);
  };
"""
"""What a browser whose WebCrypto has no Ed25519 does (Firefox before 129, Safari before 17)."""


def verdict(page: Page) -> dict[str, str]:
    return page.evaluate("({state: document.getElementById('verdict').dataset.state,"
                         " text: document.getElementById('verdict').textContent,"
                         " explain: document.getElementById('explain').textContent,"
                         " history: document.querySelectorAll('#timeline li[data-type]').length})")


def test_a_message_replaces_the_verdict_of_earlier_inputs_in_both_languages(
        page: Page, receipts: Receipts) -> None:
    page.goto(INDEX.as_uri())
    state = receipts.write("messages-state", receipts.state)
    for clear, kind, en, ja in (
            (lambda: page.fill("#trust", ""), "needs-trust", "Give the log's key",
             "ログの鍵か信頼ポリシーを入れてください"),
            (lambda: page.fill("#trust", "log nonsense\n"), "bad-trust",
             "The trust policy or log key cannot be read: policy line 1: ",
             "信頼ポリシーまたはログの鍵を読み取れません。1 行目：検証鍵 'nonsense' が"),
            (lambda: page.set_input_files("#receipt-input", []), "none",
             "Choose a receipt to check.", "確認する受領証を選んでください。")):
        page.click("#lang-en")
        assert check_in_page(page, state, receipts.log_key)["state"] == "valid"
        assert verdict(page)["history"] == 4
        clear()
        page.evaluate("window.PLPage.check()")
        seen = verdict(page)
        assert (seen["state"], seen["explain"], seen["history"]) == (kind, "", 0)
        assert seen["text"].startswith(en)
        # The history shown was that of the receipt checked before: it is gone too.
        assert page.locator("#timeline li.empty").count() == 1
        page.click("#lang-ja")
        seen = verdict(page)
        assert (seen["state"], seen["explain"], seen["history"]) == (kind, "", 0), seen
        assert seen["text"].startswith(ja)


def test_a_browser_without_ed25519_is_told_so_in_words(page: Page, receipts: Receipts) -> None:
    page.add_init_script(NO_ED25519)
    page.goto(INDEX.as_uri())
    seen = check_in_page(page, receipts.write("no-ed25519", receipts.receipt), receipts.log_key)
    assert seen == {"state": "cannot-check", "check": None}
    assert page.inner_text("#verdict") == (
        "This browser cannot check the receipt: this browser has no Ed25519 in WebCrypto")
    page.click("#lang-ja")
    assert page.inner_text("#verdict").startswith("このブラウザーでは受領証を確認できません")
