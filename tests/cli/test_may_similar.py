"""``may`` names content alike to the work that other keys registered (specs/cli.md section
3.5): a re-encoded copy of someone's picture, registered by another key with a consent to
anyone, is "allowed" by its own registration, and the answer says that a similar work by
another key exists, so that a developer checks whose work it is. Real pictures (Pillow), real
content codes, the real CLI in a subprocess."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

from tests.cli.conftest import public_key, run, run_json
from tests.inproc import given


def pictures(folder: Path) -> tuple[Path, Path, Path]:
    """A picture, its JPEG re-encoding, and an unrelated picture."""
    original, copy, other = folder / "photo.png", folder / "copy.jpg", folder / "other.png"

    def circles(seed: int) -> Image.Image:
        rnd = random.Random(seed)
        picture = Image.new("RGB", (480, 360), (30, 40, 90))
        draw = ImageDraw.Draw(picture)
        for _ in range(40):
            x, y, r = rnd.randrange(480), rnd.randrange(360), rnd.randrange(10, 80)
            draw.ellipse((x - r, y - r, x + r, y + r),
                         fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
        return picture

    circles(7).save(original)
    circles(7).save(copy, quality=90)
    circles(8).transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(other)
    return original, copy, other


def test_may_names_a_similar_work_of_another_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    original, copy, other = pictures(tmp_path)
    for name in ("mika", "squatter", "dev"):
        given("key", "new", name, home=home)
    mika, squatter = public_key("mika", home), public_key("squatter", home)
    given("anchor", original, "--key", "mika", home=home)
    given("anchor", copy, "--key", "squatter", home=home)
    given("anchor", other, "--key", "squatter", home=home)
    for work in (copy, other):
        given("consent", "grant", work, "--purpose", "ai_training", "--anyone", "--key",
              "squatter", home=home)
    said = run("may", "dev", "ai_training", copy, home=home)  # allowed: exit 0, as before
    lines = said.out.splitlines()
    assert lines[0] == "allowed: consent granted to anyone for ai_training"
    work_of = run_json("status", original, "--json", home=home)["work"]
    (warning,) = [x for x in lines if "POSSIBLE DISPUTE" in x]
    assert warning.startswith(f"  POSSIBLE DISPUTE: similar content is registered as {work_of} "
                              f"on ")
    assert f" by {mika} (distance " in warning and f"controller {mika})" in warning
    assert warning.endswith("check whose work this is before relying on this answer")
    answer = run_json("may", "dev", "ai_training", copy, "--json", home=home)
    assert answer["allowed"] is True
    assert [(r["work"], r["registrant"]) for r in answer["similar"]] == [(work_of, mika)]
    # Nothing alike to the unrelated picture; and the copy's own key's works are not listed.
    assert run_json("may", "dev", "ai_training", other, "--json", home=home)["similar"] == []
    assert "POSSIBLE DISPUTE" not in run("may", "dev", "ai_training", other, home=home).out
    # Asked about the original, the copy another key registered is named too (not allowed).
    refused = run("may", "dev", "ai_training", original, home=home, ok_codes=(1,))
    assert any(f" by {squatter} (distance " in x for x in refused.out.splitlines())


def test_may_says_the_terms_of_the_licence_it_cites(tmp_path: Path) -> None:
    """An allowed answer by a licence limited to Japan, with a fee, says so (the rules answer
    for the purpose; the terms say where and on what payment)."""
    home = tmp_path / "home"
    (tmp_path / "b.png").write_bytes(b"a page licensed for Japan\n")
    given("anchor", tmp_path / "b.png", home=home)
    given("key", "new", "dev", home=home)
    offer = json.loads(given("licence", "offer", tmp_path / "b.png", "--to", "dev",
                             "--purpose", "ai_training", "--fee", "100", "EUR",
                             "--territory", "JP", "--json", home=home))["id"]
    given("licence", "accept", offer, "--key", "dev", home=home)
    said = run("may", "dev", "ai_training", tmp_path / "b.png", home=home).out.splitlines()
    assert said[0] == "allowed: licence in force for ai_training"
    assert "  licence terms: fee 100.00 EUR, territories JP" in said
    answer = run_json("may", "dev", "ai_training", tmp_path / "b.png", "--json", home=home)
    assert answer["terms"] == {"fee": {"amount": 10000, "currency": "EUR"},
                               "territories": ["JP"]}
    # A consent cites no licence: no terms.
    given("consent", "grant", tmp_path / "b.png", "--purpose", "data_mining", "--anyone",
          home=home)
    assert run_json("may", "dev", "data_mining", tmp_path / "b.png", "--json",
                    home=home)["terms"] is None
