"""``anchor DIR`` titles each work by its file's path below the folder (specs/cli.md section
2.1): the title made of any path is text an event may hold (specs/events.md section 6), and
the registrations signed the short way with titles are the bytes of ``sign_event``'s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.encoding import is_text
from provenance_ledger.core.events import MAX_TITLE_CHARS, Event, sign_event
from provenance_ledger.ledger.folder import (
    REGISTER,
    Signing,
    folder_title,
    list_folder,
    read_content,
    register_body,
    sign_registrations,
)

from ..conftest import NOW


@pytest.mark.parametrize(("path", "root", "title"), [
    ("/data/comic/ch1/page-012.png", "/data/comic", "ch1/page-012.png"),
    ("/data/comic/ch1/page-012.png", "/data/comic/", "ch1/page-012.png"),
    ("ch1/page-012.png", ".", "ch1/page-012.png"),  # anchor . lists its files without ./
    ("comic/a.png", "comic", "a.png"),
    ("/a.png", "/", "a.png"),
    ("/data/tab\there.txt", "/data", "tab\ufffdhere.txt"),
    ("/data/not-utf8-\udcff.txt", "/data", "not-utf8-\ufffd.txt"),  # a byte of a non-UTF-8 name
    ("/data/bidi-\u202e.txt", "/data", "bidi-\ufffd.txt"),
])
def test_a_title_is_the_path_below_the_folder_as_text(path: str, root: str, title: str) -> None:
    assert folder_title(path, root) == title
    assert is_text(title)


def test_a_long_path_keeps_its_end() -> None:
    rel = "/".join(c * 100 for c in "abc") + ".png"
    title = folder_title(f"/data/{rel}", "/data")
    assert len(title) == MAX_TITLE_CHARS
    assert title == "\u2026" + rel[-(MAX_TITLE_CHARS - 1):]
    whole = "d/" * (MAX_TITLE_CHARS // 2 - 1) + "dd"  # 256 characters: kept whole
    assert len(whole) == MAX_TITLE_CHARS
    assert folder_title(f"/data/{whole}", "/data") == whole


def test_titled_registrations_signed_the_short_way_are_those_of_sign_event(
        tmp_path: Path) -> None:
    root = tmp_path / "folder"
    names = ["a.txt", "b.txt", "sub/c.txt", "sub/d\tx.txt", "\u00e9t\u00e9/e.txt",
             "/".join(["f" * 80] * 3) + ".txt"]
    for n, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {n}", encoding="utf-8")
    listing = list_folder(root)
    key = PrivateKey.from_seed(b"t" * 32)
    signing = Signing(key, NOW, None, root=str(root))
    contents = [read_content(p) for p in listing.files] * 2  # the second time, the short way
    signed, _ = sign_registrations(signing, contents)
    assert "text/plain" in signing.checked
    titles = set()
    for content, (_, registration) in zip(contents, signed, strict=True):
        title = folder_title(str(content.path), str(root))
        titles.add(title)
        body = register_body(content, title)
        ev = sign_event(Event(REGISTER, content.work, None, key.public.text, NOW, body), key)
        assert (registration.id, registration.leaf) == (ev.id, ev.leaf)
        envelope, sig = signing.signed[ev.id]
        assert json.dumps({"id": ev.id, **envelope, "sig": sig}, ensure_ascii=False) == (
            json.dumps(ev.to_json(), ensure_ascii=False))
    assert {"a.txt", "sub/c.txt", "sub/d\ufffdx.txt", "\u00e9t\u00e9/e.txt"} <= titles
