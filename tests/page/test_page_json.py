"""The page's JSON reader: it reads what ``provenance verify`` reads and refuses what it
refuses, and a large file given as the receipt is read about as fast as by the browser's own
JSON parser (which cannot be used as it is: it keeps the last of two equal keys and rounds
integers beyond 2^53, where the verifier refuses the one and keeps the other exact)."""

from __future__ import annotations

import json

from playwright.sync_api import Page

from provenance_ledger.core.encoding import load_json
from provenance_ledger.errors import MalformedError

from .conftest import INDEX

TEXTS = [
    "{}", " \t\r\n{ } ", "[]", "[1,-0,0,-1]", '{"a":[true,false,null]}', "01", "-01", "-",
    "1.", "1.5", "-0.0", "1e5", "1E+5", "1e", "1e+", ".5", "+1", "0x10", "NaN", "Infinity",
    "9" * 4300, "9" * 4301, "-" + "9" * 4300, "-" + "9" * 4301, "9007199254740993",
    "-9007199254740993", '"\\u00e9\\u00C9"', '"\\ud83d\\ude00"', '"\\ud800"',
    '"\\u12"', '"\\u12zz"', '"\\x41"', '"a\\/b\\"c\\\\d\\b\\f\\n\\r\\t"',
    '"tab\tin string"', '"unterminated', '"ends in a backslash\\', '{"a":1,"a":2}',
    '{"a":{"b":1},"b":{"b":2}}', '{"__proto__":1}', '{"__proto__":1,"__proto__":2}',
    '{"constructor":1,"toString":2}', '{"a" 1}', '{"a":1,}', "[1,]", "[1 2]", "tru",
    "nul", "true false", '"\u2028é中文"', "[" * 500 + "]" * 500,
]
"""JSON texts at the edges of the grammar, of Python's integer limit and of strictness."""


def test_the_page_reads_json_as_the_verifier_does(page: Page) -> None:
    page.goto(INDEX.as_uri())
    seen = page.evaluate("""(texts) => texts.map((t) => {
      try {
        const v = PLVerify.readReceipt(new TextEncoder().encode(t)).data;
        return [true, PLVerify.internals.canonical(v)];
      } catch (e) { return [false, e.message]; }
    })""", TEXTS)
    for text, (read, value) in zip(TEXTS, seen, strict=True):
        try:
            expected = load_json(text.encode(), "receipt")
        except MalformedError as e:
            assert not read, f"{text[:40]!r}: the page read it, the verifier says {e}"
            continue
        assert read, f"{text[:40]!r}: the verifier reads it, the page says {value}"
        if value is not None:  # no float nor lone surrogate: the same value exactly
            assert value == json.dumps(expected, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False), text[:40]

READ_TIMES = """async ([mib, runs]) => {
  // A receipt's bulk is base64 text (leaves, hashes, signatures): one long string of it.
  const text = '{"format":"provenance-ledger/state-receipt/v2","leaf":"' +
    "QUJD".repeat((mib << 20) / 4) + '"}';
  const bytes = new TextEncoder().encode(text);
  const page = [], browser = [];
  for (let n = 0; n < runs; n++) {
    let t = performance.now();
    const r = await PLVerify.verifyReceipt(bytes, await PLVerify.parseTrust(
      "log a+08942d87+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c\\nquorum none\\n"));
    page.push(performance.now() - t);
    if (r.message !== "receipt does not verify: state receipt has unknown field 'leaf'")
      throw new Error(r.message);
    t = performance.now();
    JSON.parse(text);
    browser.push(performance.now() - t);
  }
  return [Math.min(...page), Math.min(...browser)];
}"""


def test_a_large_receipt_is_read_near_the_speed_of_the_browsers_own_parser(
        page: Page) -> None:
    """48 MiB (the limit is 64): the parser used to copy a string a character at a time, 60
    times slower than JSON.parse, and stopped the page for half a minute."""
    page.goto(INDEX.as_uri())
    ours, native = page.evaluate(READ_TIMES, [48, 3])
    assert ours < 15 * native + 50, f"{ours:.0f} ms against JSON.parse's {native:.0f} ms"
