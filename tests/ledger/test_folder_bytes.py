"""``anchor DIR``'s short ways give the bytes of the long ones (ledger/folder.py,
ledger/content_code.py): registrations signed without re-encoding (specs/events.md sections 3
and 6), receipts put together from their parts (specs/receipts.md), media types from a cache
of suffixes, and files that Pillow refuses by their first bytes. Each is checked against
what the core (or the standard library, or Pillow) makes of the same input."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

import pytest
from PIL import Image

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, parse_leaf, sign_event
from provenance_ledger.core.receipt import Receipt
from provenance_ledger.ledger.content_code import content_code, might_be_image, needs_decoding
from provenance_ledger.ledger.folder import (
    REGISTER,
    ReceiptEncoder,
    Signing,
    media_type_of,
    read_content,
    register_body,
    sign_registrations,
)

from ..conftest import NOW

CHECKPOINT = ("provenance-ledger.local/21d01a9846d2\n7000\nCD5/RJoq5ccned4fVfkXM/RSbs/lFNSU9Y6D"
              "dPc3dMw=\n\n\u2014 provenance-ledger.local/21d01a9846d2 YwtF8RJ31Cu2tP5sM+cU"
              "u67uww1AOoLak1gXZcGD4oB+6GVPQXfEf1g33E/Ov0zvVT3/CkTcNcojanowlWYV+UaiHgs=\n")
LOG_KEY = "provenance-ledger.local/21d01a9846d2+630b45f1+AQim+2DfFI4XH2X/JRzm3m/kiu4mslNJC"


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    """A real PNG and JPEG, bytes named .png, text, an unknown suffix, a non-ASCII name."""
    out = []
    for name, data in (("junk.png", b"\x00\x01 not a png at all"), ("short.png", b"\x89P"),
                       ("notes.txt", "caf\u00e9 cr\u00e8me\n".encode()),
                       ("data.bin", b"\xff" * 100), ("\u00e9t\u00e9.jpg", b"\xff\xd8 torn")):
        (tmp_path / name).write_bytes(data)
        out.append(tmp_path / name)
    Image.radial_gradient("L").save(tmp_path / "real.png")
    Image.radial_gradient("L").convert("RGB").save(tmp_path / "photo.jpg")
    return [*out, tmp_path / "real.png", tmp_path / "photo.jpg"]


@pytest.mark.parametrize("payees", [None, "self"])
def test_registrations_signed_the_short_way_are_those_of_sign_event(
    files: list[Path], payees: str | None
) -> None:
    key = PrivateKey.from_seed(b"a" * 32)
    split = [{"key": key.public.text, "share_bps": 10_000}] if payees else None
    signing = Signing(key, NOW, split)
    contents = [read_content(p) for p in files] * 2  # the second time, the short way
    signed, _ = sign_registrations(signing, contents)
    assert signing.checked >= {"image/png", "image/jpeg", "text/plain"}
    for content, (code, registration) in zip(contents, signed, strict=True):
        body = register_body(content, None, split)
        ev = sign_event(Event(REGISTER, content.work, None, key.public.text, NOW, body), key)
        assert (registration.work, registration.id, registration.leaf) == (
            content.work, ev.id, ev.leaf)
        assert code == body.get("similarity")
        envelope, sig = signing.signed[ev.id]
        assert json.dumps({"id": ev.id, **envelope, "sig": sig}, ensure_ascii=False) == (
            json.dumps(ev.to_json(), ensure_ascii=False))


@pytest.mark.parametrize("proof_length", [0, 1, 14])
def test_a_receipt_put_together_is_the_receipts_json(proof_length: int) -> None:
    key = PrivateKey.from_seed(b"b" * 32)
    body = {"size": 3040, "media_type": "image/png", "title": "\u00e9t\u00e9 \"1\" \\ 2"}
    ev = sign_event(Event(REGISTER, "sha256:" + "ab" * 32, None, key.public.text, NOW, body),
                    key)
    proof = tuple(bytes([n]) * 32 for n in range(proof_length))
    receipt = Receipt(LOG_KEY, CHECKPOINT, 6247, ev.leaf, proof)
    expected = (json.dumps(receipt.to_json(ev), ensure_ascii=False) + "\n").encode("utf-8")
    encoder = ReceiptEncoder()
    shown = (ev.event.envelope(), json.loads(ev.leaf)["sig"])
    assert encoder.encode(LOG_KEY, CHECKPOINT, 6247, ev.leaf, proof, ev.id, shown) == expected
    # An event this run did not sign is parsed from its leaf (its body's keys sorted).
    parsed = parse_leaf(ev.leaf, verify=False)
    assert encoder.encode(LOG_KEY, CHECKPOINT, 6247, ev.leaf, proof) == (
        json.dumps(receipt.to_json(parsed), ensure_ascii=False) + "\n").encode("utf-8")


@pytest.mark.parametrize("name", [
    "page.png", "PAGE.PNG", "a.tar.gz", "a.tgz", "x.svgz", "noext", ".hidden", "a.b.jpg",
    "data:text,x.png", "weird:name.txt", "trailing.", "a..png", "\u00e9t\u00e9.jpeg", "a.JPG",
    "song.mp3", "doc.unknownsuffix", "a.gz", "a.Z",
])
def test_media_types_come_from_mimetypes(name: str) -> None:
    guess = (mimetypes.guess_type(name)[0] or "application/octet-stream").lower()
    assert media_type_of(name) == guess
    assert media_type_of(name) == guess  # from the cache, the second time


def test_files_pillow_refuses_by_their_first_bytes_get_no_code_unopened(
    files: list[Path]
) -> None:
    for path in files:
        content = read_content(path)
        expected = content_code(path, content.media_type)  # Pillow opens the file
        assert content.head == path.read_bytes()[:16]
        assert content_code(path, content.media_type, content.head) == expected
        if content.media_type.startswith("image/") and expected is not None:
            assert might_be_image(content.media_type, content.head or b"")
    junk = read_content(files[0])
    assert not might_be_image("image/png", junk.head or b"")
    assert not needs_decoding("image/png", junk.head)
    assert needs_decoding("image/png", None)  # not read: Pillow must look
    assert needs_decoding("image/x-unknown-to-pillow", b"")  # no format named: all are tried
    assert needs_decoding("text/plain", b"")
    assert not needs_decoding("application/octet-stream", b"")
