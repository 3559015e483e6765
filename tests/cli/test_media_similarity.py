"""Similarity look-ups for audio and video (specs/cli.md sections 2.1 and 3.14, specs/node.md
sections 6.1 and 6.2): ``anchor`` warns of a re-encoded copy of another key's sound (the real
CLI in a subprocess), ``status`` lists it, ``dataset check --similar`` matches re-encodes to
the works they copy, a node's views list and match them (a real node on 127.0.0.1); without
``ffmpeg``, audio and video are anchored as before with one note each. The rest runs the same
click command in this process. Media made with tests/ledger/test_media_code.py's makers."""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import iscc_core
import pytest

from provenance_ledger.cli.main import command
from provenance_ledger.core.events import work_id_of
from provenance_ledger.core.similarity import DEFAULT_DISTANCE, ContentCode, Unit
from provenance_ledger.ledger.content_code import content_code
from provenance_ledger.node import init_node

from ..conftest import Signer, _key
from ..ledger.test_media_code import ffmpeg, lavfi_video, melody
from ..node.conftest import HOST, ORIGIN, free_port, running
from .conftest import run


def cli(home: Path, *args: str | Path, code: int = 0) -> tuple[str, str]:
    """``provenance --home HOME ARGS`` in this process, as ``main`` runs it: (stdout, stderr)."""
    argv = ["--home", str(home), *map(str, args)]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = command(argv)(args=argv, standalone_mode=False)
    assert (rc or 0) == code, (rc, out.getvalue(), err.getvalue())
    return out.getvalue(), err.getvalue()


def cli_json(home: Path, *args: str | Path, code: int = 0) -> Any:
    return json.loads(cli(home, *args, "--json", code=code)[0])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``owner`` registered a tune and a clip, and let ``dev`` train on the tune; ``copies``
    holds re-encodes of both and an unrelated tune, none registered."""
    root = tmp_path_factory.mktemp("media-similar")
    home = root / "home"
    keys = {name: cli_json(home, "key", "new", name)["public_key"]
            for name in ("owner", "rival", "dev")}
    originals, copies = root / "originals", root / "copies"
    originals.mkdir()
    copies.mkdir()
    melody(originals / "tune.wav", 1)
    lavfi_video(originals / "clip.mp4", "testsrc2")
    doc = cli_json(home, "anchor", originals, "--key", "owner")
    works = {Path(f["file"]).stem: f["work"] for f in doc["files"]}
    codes = {Path(f["file"]).stem: f["similarity"] for f in doc["files"]}
    cli(home, "consent", "grant", works["tune"], "--purpose", "ai_training", "--to",
        keys["dev"], "--key", "owner")
    tune, clip = originals / "tune.wav", originals / "clip.mp4"
    ffmpeg("-i", tune, "-ar", "44100", "-ac", "2", "-b:a", "64k", root / "tune.mp3")
    ffmpeg("-i", clip, "-vf", "scale=160:120", "-c:v", "mpeg4", "-b:v", "150k", root / "clip.avi")
    ffmpeg("-i", tune, "-ar", "16000", "-c:a", "libvorbis", "-q:a", "1", copies / "tune.ogg")
    ffmpeg("-i", clip, "-vf", "scale=240:180", "-c:v", "mpeg4", "-b:v", "300k",
           copies / "clip.avi")
    melody(copies / "other.wav", 2)
    return {"root": root, "home": home, "keys": keys, "works": works, "codes": codes}


def test_the_originals_carry_audio_and_video_codes(world: dict[str, Any]) -> None:
    codes = world["codes"]
    assert iscc_core.iscc_decode(codes["tune"])[:2] == (iscc_core.MT.CONTENT,
                                                        iscc_core.ST_CC.AUDIO)
    assert iscc_core.iscc_decode(codes["clip"])[:2] == (iscc_core.MT.CONTENT,
                                                        iscc_core.ST_CC.VIDEO)
    status = cli_json(world["home"], "status", world["works"]["tune"])
    assert status["content"]["similarity"] == codes["tune"]


def test_anchor_warns_of_a_reencoded_sound_of_another_key(world: dict[str, Any]) -> None:
    home, owner, copy = world["home"], world["keys"]["owner"], world["root"] / "tune.mp3"
    result = run("anchor", copy, "--key", "rival", "--json", home=home)  # the real CLI
    doc = json.loads(result.out)
    distance = iscc_core.iscc_distance(doc["similarity"], world["codes"]["tune"])
    assert doc["status"] == "anchored" and distance <= DEFAULT_DISTANCE
    [similar] = doc["similar"]
    assert (similar["work"], similar["distance"], similar["controller"]) == (
        world["works"]["tune"], distance, owner)
    assert result.err.strip().startswith(
        f"warning: {copy} is similar to work {world['works']['tune']} of another key "
        f"(controller {owner}): distance {distance} of 64 bits")
    # status of the copy lists the original as a possible dispute
    status = cli_json(home, "status", copy)
    assert [(s["work"], s["distance"]) for s in status["similar"]] == [
        (world["works"]["tune"], distance)]
    text = cli(home, "status", copy)[0]
    assert text.startswith("POSSIBLE DISPUTE: similar content is registered as other works")


def test_anchor_warns_of_a_reencoded_video_of_another_key(world: dict[str, Any]) -> None:
    home, copy = world["home"], world["root"] / "clip.avi"
    out, err = cli(home, "anchor", copy, "--key", "rival", "--json")
    doc = json.loads(out)
    distance = iscc_core.iscc_distance(doc["similarity"], world["codes"]["clip"])
    assert distance <= DEFAULT_DISTANCE
    assert [(s["work"], s["distance"]) for s in doc["similar"]] == [
        (world["works"]["clip"], distance)]
    assert err.startswith(f"warning: {copy} is similar to work {world['works']['clip']} ")
    status = cli_json(home, "status", copy)
    assert [s["work"] for s in status["similar"]] == [world["works"]["clip"]]


def test_dataset_check_matches_reencodes_to_the_works_they_copy(world: dict[str, Any]) -> None:
    doc = cli_json(world["home"], "dataset", "check", world["root"] / "copies", "--purpose",
                   "ai_training", "--as", "dev", "--similar", str(DEFAULT_DISTANCE), code=1)
    items = {i["item"]: i for i in doc["items"]}
    tune, clip, other = items["tune.ogg"], items["clip.avi"], items["other.wav"]
    assert (tune["outcome"], tune["match"], tune["work"]) == (
        "allowed", "similar", world["works"]["tune"])
    assert (clip["outcome"], clip["match"], clip["work"]) == (
        "not allowed", "similar", world["works"]["clip"])
    assert tune["distance"] <= DEFAULT_DISTANCE and clip["distance"] <= DEFAULT_DISTANCE
    assert (other["outcome"], other["match"]) == ("unregistered", None)


def test_a_node_lists_and_matches_audio_and_video_by_type(
        world: dict[str, Any], tmp_path: Path, sign: Signer) -> None:
    """On a node, a copy's view lists the original of its own type only (an image whose
    code has the same bits is not it), and POST /similar answers each code with the work of
    its type."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    owner, rival = _key("media owner"), _key("media rival")
    tune = ContentCode.from_text(world["codes"]["tune"])
    clip = ContentCode.from_text(world["codes"]["clip"])
    assert tune is not None and clip is not None
    copy = content_code(world["root"] / "copies" / "tune.ogg", "audio/ogg")
    video_copy = content_code(world["root"] / "copies" / "clip.avi", "video/x-msvideo")
    assert copy is not None and video_copy is not None
    registrations = {  # work name -> (key, code, media type)
        "tune": (owner, tune, "audio/wav"), "clip": (owner, clip, "video/mp4"),
        "picture": (owner, ContentCode(Unit.IMAGE, tune.bits), "image/png"),
        "copy": (rival, copy, "audio/ogg")}
    works = {n: work_id_of(n.encode().hex().ljust(64, "0")) for n in registrations}
    with running(home) as node, node.client() as http:
        for name, (key, code, media) in registrations.items():
            event = sign(key, "work.register", works[name],
                         {"size": 1000, "media_type": media, "similarity": code.to_text()})
            assert http.post("/events", content=event.leaf).status_code == 200
        seen = http.get(f"/works/{works['copy']}").json()["similar"]
        assert [(s["work"], s["distance"]) for s in seen] == [
            (works["tune"], copy.distance(tune))]
        deadline = time.monotonic() + 30
        while True:  # only registrations below the latest checkpoint count: wait for all four
            r = http.post("/similar", json={"codes": [copy.to_text(), video_copy.to_text()],
                                            "distance": DEFAULT_DISTANCE})
            assert r.status_code == 200, r.text
            if r.json()["size"] >= len(registrations):
                break
            assert time.monotonic() < deadline, "the node did not checkpoint its entries"
            time.sleep(0.02)
        matches = r.json()["matches"]
        # nearest, then earliest: the original when the copy's code is the same, else the
        # copy itself; never the picture whose image code has the original's very bits
        nearest = "tune" if copy.distance(tune) == 0 else "copy"
        assert [m["work"] if m else None for m in matches] == [works[nearest], works["clip"]]
        assert matches[1]["distance"] == video_copy.distance(clip)
        bad = http.post("/similar", json={"codes": ["ISCC:EIAQ"], "distance": 8})
        assert bad.status_code == 400


def test_without_ffmpeg_audio_and_video_are_anchored_as_before_with_one_note_each(
        tmp_path: Path) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    melody(folder / "a.wav", 3, seconds=3)
    melody(folder / "b.wav", 4, seconds=3)
    (folder / "c.mp4").write_bytes(b"a video, as its name says " * 100)
    home = tmp_path / "home"
    cli(home, "key", "new", "default")
    bare = tmp_path / "bin"  # a PATH without ffmpeg, and the extra's binary out of reach
    bare.mkdir()
    result = run("anchor", folder, "--json", home=home,
                 env={"PATH": str(bare), "IMAGEIO_FFMPEG_EXE": str(bare / "ffmpeg")})
    doc = json.loads(result.out)
    assert doc["summary"] == {"anchored": 3}
    assert all("similarity" not in f for f in doc["files"])
    notes = result.err.strip().splitlines()
    assert [n.split(" files get")[0] for n in notes] == ["note: audio", "note: video"]
    assert all("(no ffmpeg was found), only their exact SHA-256; for codes: pip install "
               "'provenance-ledger[media]'" in n for n in notes)
