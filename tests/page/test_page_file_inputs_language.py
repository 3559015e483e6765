"""The Japanese page in a browser whose language is English: what the page shows is in the
page's language, not the browser's. Each file control (receipt, work's file, trust policy, file
to look up) reads "ファイルを選択" and the chosen file's name or "ファイルが選択されていません",
before and after a file is chosen (with the keyboard, by a click, by a drop, or taken away by a
search); the button in the page's words takes the focus, the keyboard and the accessible name,
while the browser's own control, out of sight, is hidden from assistive technology (which
would read its "No file chosen" in the browser's language); and a trust policy that cannot be
read is refused in Japanese words, every refusal the page knows (and a file the browser cannot
read is said so in Japanese, not in the browser's words), while the English page says it byte
for byte as ``provenance verify`` does."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from playwright.sync_api import FileChooser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.cli.conftest import run

from .conftest import INDEX, PAGE_TIMEOUT_MS, Receipts, witness
from .test_page_search_stop import node_answers, work_answer
from .test_page_served_errors import answer_json, stand_in, wait_for_state

CHOOSE = {"en": "Choose file", "ja": "ファイルを選択"}
NO_FILE = {"en": "No file chosen", "ja": "ファイルが選択されていません"}
FIELDS = ("receipt", "work", "policy", "search")
"""The file controls: ``#{field}-input``, its button and ``#{field}-name``."""
TECHNICAL = {"base64", "ID", "Ed25519", "WebCrypto", "ed25519", "cosignature", "v1", "log",
             "quorum", "none", "all", "any"}
"""Words a Japanese refusal keeps as they are: formats, and the policy's own keywords."""


def controls(page: Page) -> dict[str, tuple[str, str]]:
    """Each file control's button text and the text beside it (the file it holds)."""
    return {f: (page.text_content(f"#{f}-input + .file-button") or "",
                page.text_content(f"#{f}-name") or "") for f in FIELDS}


def english_left(text: str, quoted: Sequence[str], names: Sequence[str] = ()) -> list[str]:
    """The words of Latin letters in ``text`` once what the user wrote (``quoted`` as the
    message quotes it, and the ``names`` it gave) and the technical words kept are taken out:
    none in a Japanese message."""
    for value in quoted:
        text = text.replace(value, "")
    text = re.sub(r"0x[0-9a-f]{2}", "", text)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", text)
            if w not in TECHNICAL and w not in names]


def choose_with_key(page: Page, field: str, key: str) -> FileChooser:
    """Open the chooser of the focused file control with ``key`` (Space or Enter); a key press
    lost by a browser on a loaded host is pressed again, once (as test_page.choose_by_keyboard
    does)."""
    for attempt in (1, 2):
        try:
            with page.expect_file_chooser(timeout=20_000) as chooser:
                page.keyboard.press(key)
            return chooser.value
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.focus(f"#{field}-choose")
    raise AssertionError("unreachable")


def browser_words(page: Page) -> list[str]:
    """On the Japanese page, what the accessibility tree gives a screen reader in English:
    the names, values and descriptions that say "Choose File" or "No file chosen" (Chromium's
    own file control says them in the browser's language, whatever the page's)."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    said = [str(node.get(part, {}).get("value", "")) for node in nodes
            for part in ("name", "value", "description")]
    return [x for x in said if re.search("choose file|no file chosen", x, re.IGNORECASE)]


def focus_ring(page: Page, field: str) -> str:
    return str(page.evaluate("(f) => getComputedStyle(document.querySelector("
                             "`#${f}-input + .file-button`)).outlineStyle", field))


def test_the_file_controls_read_in_the_pages_language_and_work_by_keyboard(
        page: Page, receipts: Receipts, tmp_path: Path) -> None:
    page.goto(INDEX.as_uri())
    assert page.evaluate("navigator.language") == "en-US"
    page.click("#lang-ja")
    assert controls(page) == {f: (CHOOSE["ja"], NO_FILE["ja"]) for f in FIELDS}
    # The page's button is what a screen reader is given: named by the field's label, the
    # file it holds said in the page's words; the browser's control is not in the tree at
    # all, so nothing reads its "No file chosen".
    receipt_input = page.get_by_role("button", name="受領証（JSON）", exact=True)
    expect(receipt_input).to_have_id("receipt-choose", timeout=PAGE_TIMEOUT_MS)
    expect(receipt_input).to_have_accessible_description(NO_FILE["ja"], timeout=PAGE_TIMEOUT_MS)
    assert browser_words(page) == []
    # The keyboard: Tab reaches each control (its button shows the focus), Space or Enter
    # opens the chooser, and the file chosen is named beside it.
    receipt = receipts.write("language-receipt", receipts.receipt)
    policy = tmp_path / "trust.policy"
    policy.write_text(receipts.policy("quorum none"))
    page.focus("#lang-ja")
    for field, key, path in (("receipt", "Space", receipt), ("work", "Enter", receipts.work),
                             ("policy", "Space", policy)):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == f"{field}-choose"
        assert focus_ring(page, field) == "solid"
        choose_with_key(page, field, key).set_files(path)
        expect(page.locator(f"#{field}-name")).to_have_text(path.name, timeout=PAGE_TIMEOUT_MS)
        assert page.evaluate("document.activeElement.id") == f"{field}-choose"
    assert focus_ring(page, "receipt") == "none"
    assert browser_words(page) == []
    expect(receipt_input).to_have_accessible_description(receipt.name, timeout=PAGE_TIMEOUT_MS)
    page.evaluate("window.PLPage.check()")
    assert page.get_attribute("#verdict", "data-state") == "valid"
    assert controls(page) == {"receipt": (CHOOSE["ja"], receipt.name),
                              "work": (CHOOSE["ja"], receipts.work.name),
                              "policy": (CHOOSE["ja"], policy.name),
                              "search": (CHOOSE["ja"], NO_FILE["ja"])}
    # The language changes: the buttons and "no file chosen" with it, the names stay.
    page.click("#lang-en")
    assert controls(page)["work"] == (CHOOSE["en"], receipts.work.name)
    assert controls(page)["search"] == (CHOOSE["en"], NO_FILE["en"])
    page.click("#lang-ja")
    # A click on the button opens the chooser; choosing nothing takes the file away.
    with page.expect_file_chooser(timeout=20_000) as chooser:
        page.click("#work-input + .file-button")
    chooser.value.set_files([])
    expect(page.locator("#work-name")).to_have_text(NO_FILE["ja"], timeout=PAGE_TIMEOUT_MS)
    # Files dropped on the drop zone are named at their controls.
    files = page.evaluate_handle(
        """([receipt]) => {
             const dt = new DataTransfer();
             dt.items.add(new File([receipt], 'dropped.json', {type: 'application/json'}));
             return dt;
           }""", [json.dumps(receipts.receipt)])
    page.dispatch_event("#drop", "drop", {"dataTransfer": files})
    expect(page.locator("#receipt-name")).to_have_text("dropped.json", timeout=PAGE_TIMEOUT_MS)
    assert controls(page)["receipt"] == (CHOOSE["ja"], "dropped.json")


def test_a_search_takes_the_receipts_name_away_and_takes_a_dropped_file(
        page: Page, receipts: Receipts, tmp_path: Path) -> None:
    work = "sha256:" + hashlib.sha256(receipts.work.read_bytes()).hexdigest()
    answers = node_answers(receipts, answer_json(200, work_answer(work)),
                           answer_json(200, receipts.state))
    with stand_in(answers) as node:
        page.goto(f"{node.url}/page/")
        page.click("#lang-ja")
        receipt = receipts.write("language-search", receipts.receipt)
        page.set_input_files("#receipt-input", receipt)
        expect(page.locator("#receipt-name")).to_have_text(receipt.name, timeout=PAGE_TIMEOUT_MS)
        page.fill("#trust", receipts.log_key)
        page.set_input_files("#search-input", receipts.work)
        wait_for_state(page, "#search-result", "found")
        # The receipt checked is the node's now: its control names no file, in Japanese.
        assert controls(page)["receipt"] == (CHOOSE["ja"], NO_FILE["ja"])
        assert controls(page)["search"] == (CHOOSE["ja"], receipts.work.name)
        # A file dropped on the search's button is looked up, as on the browser's control.
        page.evaluate("document.getElementById('search-result').dataset.state = ''")
        files = page.evaluate_handle(
            "() => { const dt = new DataTransfer();"
            " dt.items.add(new File(['another'], 'dropped.png')); return dt; }")
        page.dispatch_event("#search-input + .file-button", "drop", {"dataTransfer": files})
        expect(page.locator("#search-name")).to_have_text("dropped.png", timeout=PAGE_TIMEOUT_MS)
        wait_for_state(page, "#search-result", "found")
        assert page.url.startswith(node.url)  # the drop was taken, not opened by the browser


def test_a_policy_file_that_cannot_be_read_is_refused_in_japanese(
        page: Page, receipts: Receipts, tmp_path: Path) -> None:
    receipt = receipts.write("language-policy", receipts.receipt)
    policy = tmp_path / "trust.policy"
    policy.write_text(f"log {receipts.log_key}\nwitnesses everyone\nquorum none\n")
    said = run("verify", receipt, "--policy", policy, home=receipts.home, ok_codes=(2,))
    detail = said[2].strip().removeprefix("error: ")
    assert detail == "policy line 2: cannot read 'witnesses everyone'", detail
    page.goto(INDEX.as_uri())
    page.click("#lang-ja")
    page.set_input_files("#receipt-input", receipt)
    page.set_input_files("#policy-input", policy)
    page.evaluate("window.PLPage.check()")
    assert page.get_attribute("#verdict", "data-state") == "bad-trust"
    shown = page.text_content("#verdict") or ""
    assert shown == ("信頼ポリシーまたはログの鍵を読み取れません。"
                     "2 行目：'witnesses everyone' を読み取れません。")
    assert english_left(shown, ["'witnesses everyone'"]) == []
    page.click("#lang-en")
    assert page.text_content("#verdict") == f"The trust policy or log key cannot be read: {detail}"


UNREADABLE = """
  const slice = Blob.prototype.slice;
  Blob.prototype.slice = function (...args) {
    const part = slice.apply(this, args);
    if (this instanceof File && this.name === "locked.policy")
      part.arrayBuffer = () => Promise.reject(new DOMException("The requested file could not be"
        + " read, typically due to permission problems that have occurred after a reference to"
        + " a file was acquired.", "NotReadableError"));
    return part;
  };
"""
"""What a browser does with a file whose permissions changed after it was chosen (Chromium's
NotReadableError, its message in the browser's language)."""


def test_a_policy_file_the_browser_cannot_read_is_said_in_japanese(
        page: Page, receipts: Receipts, tmp_path: Path) -> None:
    page.add_init_script(UNREADABLE)
    page.goto(INDEX.as_uri())
    page.click("#lang-ja")
    page.set_input_files("#receipt-input", receipts.write("language-locked", receipts.receipt))
    locked = tmp_path / "locked.policy"
    locked.write_text(receipts.policy("quorum none"))
    page.set_input_files("#policy-input", locked)
    wait_for_state(page, "#verdict", "cannot-read")
    shown = page.text_content("#verdict") or ""
    assert shown == ("このファイルを読み取れません（locked.policy）。ファイルを読み込めません。"
                     "選んだ後にアクセス権が変わったか、ファイルが変更された可能性があります。"
                     "もう一度選んでください。")
    page.click("#lang-en")
    assert page.text_content("#verdict") == (
        "This file cannot be read: locked.policy: The requested file could not be read, "
        "typically due to permission problems that have occurred after a reference to a file "
        "was acquired.")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def refused_trust(r: Receipts) -> list[str]:
    """Trust inputs the page refuses, one for each refusal verify.js words."""
    w1, w2 = (witness(n).verifier.to_vkey() for n in ("w1", "w2"))
    log_pub = base64.b64decode(r.log_key.split("+", 2)[2])[1:]
    kid = hashlib.sha256(b"loglike\n" + b"\x04" + log_pub).digest()[:4].hex()
    log_as_witness = f"loglike+{kid}+{b64(bytes([4]) + log_pub)}"
    zero = "ed25519:" + "0" * 64
    not_a_type, not_its_id = b64(bytes([2]) + bytes(32)), b64(bytes([1]) + bytes(32))
    return [
        "log nonsense", "log a+zzzzzzzz+AAAA", "log a+01234567+!!!!", "log a+01234567+AB==",
        "a+01234567+AAAA", f"log +01234567+{b64(bytes(33))}",
        f"log a+01234567+{not_a_type}", f"log a+01234567+{not_its_id}",
        f"log {w1}", f"witness w {r.log_key}", "#" + "x" * 70_000, "#\n" * 1025,
        f"witness w {w1}\nwitness w {w2}", "group g any x", f"witness w {w1}\ngroup g any w w",
        f"witness w {w1}\ngroup g 5 w", "quorum none\nquorum none", "quorum x", "attester foo",
        f"attester {zero}\nattester {zero}", "hello world", "quorum none", f"log {r.log_key}",
        f"log {r.log_key}\nwitness l {log_as_witness}\nquorum none",
        f"log {r.log_key}\nwitness a {w1}\nwitness b {w1}\nquorum none",
        "log " + "y" * 200, "hello " + "z" * 100,
    ]


SLOT = {"{Q}": r"'.*'(?: \([0-9,]+ characters\))?", "{N}": "[0-9]+", "{K}": r"\S+",
        "{K2}": r"\S+"}


def template_re(english: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[A-Z0-9]+\})", english)
    return re.compile("".join(SLOT[p] if i % 2 else re.escape(p) for i, p in enumerate(parts)))


def test_every_refusal_of_a_trust_input_has_its_japanese_words(
        page: Page, receipts: Receipts) -> None:
    page.goto(INDEX.as_uri())
    said = page.evaluate("""async (texts) => {
      const out = [];
      for (const text of texts) {
        try { await PLVerify.parseTrust(text); out.push(null); continue; } catch (e) {
          if (!(e instanceof PLVerify.InputError)) throw e;
          out.push([e.message, PLWords.trustProblemJa(e.message)]);
        }
      }
      const browser = 'this browser has no Ed25519 in WebCrypto';
      return out.concat([[browser, PLWords.trustProblemJa(browser)]]);
    }""", refused_trust(receipts))
    templates = [en for en, _ in page.evaluate("PLWords.trustProblems")]
    used = set()
    for pair in said:
        assert pair is not None  # every text above is refused
        english, japanese = pair
        assert japanese is not None, english
        inner = english.split(": ", 1)[1] if english.startswith("policy line ") else english
        used |= {t for t in templates if template_re(t).fullmatch(inner)}
        quoted = re.findall(r"'.*'", english)
        names = [n for m in re.findall(r"(?:policy witness|attester|, as) (\S+)|and (\S+):",
                                       english) for n in m if n]
        assert english_left(japanese, quoted, names) == [], (english, japanese)
    assert used == set(templates), set(templates) - used
