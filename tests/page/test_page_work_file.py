"""The work's file given to the page is hashed whatever its size: a browser cannot hold a file
of over 2 GB in one buffer (Chromium's read of one fails), and a video is such a file. The
verdict is always about the file given last, never one given before it, and while a file is
hashed the page says that it is checking."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from playwright.sync_api import Page

from .conftest import INDEX, Receipts, check_in_page

LARGE = (2 << 30) + (5 << 20) + 77
"""Over 2 GiB, and not a whole number of the parts the page reads (nor of 64-byte blocks)."""


def sparse_file(path: Path, size: int, marks: dict[int, bytes]) -> Path:
    """A file of ``size`` bytes that takes no room on disk but for ``marks``."""
    with path.open("wb") as f:
        f.truncate(size)
        for at, data in marks.items():
            f.seek(at)
            f.write(data)
    return path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(16 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def test_a_work_file_over_2_gb_is_hashed_and_replaces_the_one_before(
        page: Page, receipts: Receipts, tmp_path: Path) -> None:
    page.goto(INDEX.as_uri())
    receipt = receipts.write("work-file", receipts.receipt)
    assert check_in_page(page, receipt, receipts.log_key, receipts.work)["state"] == "valid"
    assert "exactly the registered content" in page.inner_text("#explain")
    video = sparse_file(tmp_path / "video.mp4", LARGE,
                        {0: b"\x00\x00\x00\x20ftypisom", (1 << 31) + 3: b"past 2 GiB"})
    busy = "[document.getElementById('result').getAttribute('aria-busy'),"\
           " document.getElementById('progress').hidden]"
    assert page.evaluate(busy) == ["false", True]
    page.set_input_files("#work-input", video)
    # While it is hashed (seconds), the page says it is checking: the verdict still shown is
    # that of the file before, and a screen reader is told the result is busy.
    assert page.evaluate(busy) == ["true", False]
    assert page.inner_text("#progress").startswith("Checking…")
    assert page.get_attribute("#verdict", "data-state") == "valid"
    seen = check_in_page(page, receipt, receipts.log_key, video)
    assert seen == {"state": "invalid", "check": "file"}
    assert page.evaluate(busy) == ["false", True]
    assert f"its hash is {sha256_of(video)}, the receipt is for" in page.inner_text("#technical")
    os.unlink(video)


def test_the_page_hashes_in_parts_as_sha_256_does(page: Page) -> None:
    """Lengths around the padding's edges (55, 56, 64 bytes), parts that split blocks, and a
    Blob over the size read at once: the same digest as WebCrypto's and Python's."""
    page.goto(INDEX.as_uri())
    lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 1000, 70_001]
    seen = page.evaluate("""async (lengths) => {
      const out = [];
      for (const n of lengths) {
        const data = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255);
        const h = new PLVerify.Sha256();
        for (let at = 0; at < n; at += 37) h.update(data.subarray(at, at + 37));
        const ours = Array.from(h.digest(), (x) => x.toString(16).padStart(2, "0")).join("");
        const theirs = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
          (x) => x.toString(16).padStart(2, "0")).join("");
        out.push([ours, theirs]);
      }
      return out;
    }""", lengths)
    for n, (ours, theirs) in zip(lengths, seen, strict=True):
        expected = hashlib.sha256(bytes((i * 7 + 3) & 255 for i in range(n))).hexdigest()
        assert ours == theirs == expected, n
