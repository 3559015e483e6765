"""``provenance anchor`` on what is not an ordinary file (specs/cli.md section 2.1): a FIFO or a
device is refused at once, a named symbolic link is followed and its target printed, links and
special files inside a folder are skipped and counted, an empty file is nobody's work; and two
shells anchoring the same folder with the same key both succeed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from tests.cli.conftest import (
    PROVENANCE,
    assert_one_error_line,
    run,
    run_json,
    stored_sizes,
    user_home,
)


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    result = run("anchor", fifo, home=tmp_path / "home", ok_codes=(2,))
    assert assert_one_error_line(result) == (
        f"error: {fifo} is a FIFO (named pipe), not a regular file")


def test_a_device_is_refused(tmp_path: Path) -> None:
    result = run("anchor", "/dev/null", home=tmp_path / "home", ok_codes=(2,))
    assert assert_one_error_line(result) == (
        "error: /dev/null is a character device, not a regular file")


def test_an_empty_file_is_nobodys_work(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run("log", "key", home=home)  # the ledger exists, empty
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = run("anchor", empty, home=home, ok_codes=(2,))
    assert assert_one_error_line(result) == (
        f"error: {empty} is empty: an empty file is nobody's work")
    assert stored_sizes(home) == (0, 0)


def test_a_named_symbolic_link_is_followed_and_its_target_printed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    target = tmp_path / "art" / "page.png"
    target.parent.mkdir()
    target.write_bytes(b"the page itself")
    link = tmp_path / "latest.png"
    link.symlink_to(target)
    out = run("anchor", link, home=home).out
    assert out.splitlines()[:2] == [f"following symbolic link {link} -> {target}",
                                    f"anchored {link}"]
    doc = run_json("anchor", link, "--json", home=home)
    assert (doc["status"], doc["target"], doc["file"]) == ("exists", str(target), str(link))
    assert doc["work"] == "sha256:" + hashlib.sha256(b"the page itself").hexdigest()
    assert isinstance(doc["index"], int) and Path(doc["receipt"]).is_file()


def test_links_and_special_files_inside_a_folder_are_skipped_and_counted(
    tmp_path: Path
) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "page.png").write_bytes(b"a page")
    (folder / "empty.png").write_bytes(b"")
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_bytes(b"root:x:0:0")
    (folder / "passwd").symlink_to(secret)
    (folder / "elsewhere").symlink_to(secret.parent)
    os.mkfifo(folder / "pipe")
    result = run("anchor", folder, home=home)
    assert "  anchored now               1\n" in result.out
    assert "  skipped                    4\n" in result.out
    assert "  total                      5\n" in result.out
    assert result.out.splitlines()[-4:] == [
        f"  skipped: {folder / 'elsewhere'}: a symbolic link (not followed)",
        f"  skipped: {folder / 'empty.png'}: empty (an empty file is nobody's work)",
        f"  skipped: {folder / 'passwd'}: a symbolic link (not followed)",
        f"  skipped: {folder / 'pipe'}: a FIFO (named pipe), not a regular file"]
    # What the link points to was not registered.
    assert "no work" in run("status", secret, home=home, ok_codes=(2,)).err
    doc = run_json("anchor", folder, "--json", home=home)
    assert doc["summary"] == {"exists": 1, "skipped": 4}
    assert {row["file"]: row.get("reason") for row in doc["files"]
            if row["status"] == "skipped"} == {
        str(folder / "elsewhere"): "a symbolic link (not followed)",
        str(folder / "empty.png"): "empty (an empty file is nobody's work)",
        str(folder / "passwd"): "a symbolic link (not followed)",
        str(folder / "pipe"): "a FIFO (named pipe), not a regular file"}


def test_a_named_link_to_a_folder_is_followed(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "page.png").write_bytes(b"a page")
    link = tmp_path / "current"
    link.symlink_to(folder)
    out = run("anchor", link, home=tmp_path / "home").out
    assert out.splitlines()[:2] == [f"following symbolic link {link} -> {folder}",
                                    f"anchored folder {link}"]


def test_two_shells_anchoring_the_same_folder_with_the_same_key_both_succeed(
    tmp_path: Path
) -> None:
    """Whichever run commits first, the other reports those files as its own ("exists"),
    never as refused: both exit 0, every file is registered once and has a receipt."""
    files = 1500
    home = tmp_path / "home"
    folder = tmp_path / "pages"
    folder.mkdir()
    for n in range(files):
        (folder / f"page-{n:04}.png").write_bytes(f"page {n}".encode())
    run("key", "new", "default", home=home)
    run("log", "key", home=home)  # the ledger exists before the two runs start
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(user_home(home))})
    shells = [subprocess.Popen([str(PROVENANCE), "anchor", str(folder), "--json"], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [shell.communicate(timeout=120) for shell in shells]
    for shell, (out, err) in zip(shells, outputs, strict=True):
        assert shell.returncode == 0, err
        doc = json.loads(out)
        assert set(doc["summary"]) <= {"anchored", "exists"}
        assert sum(doc["summary"].values()) == files
        for row in doc["files"]:
            assert Path(row["receipt"]).is_file()
    anchored = sum(json.loads(out)["summary"].get("anchored", 0) for out, _ in outputs)
    assert anchored == files
    assert stored_sizes(home) == (files, files)
    run("log", "audit", home=home)


def test_commands_started_together_on_a_fresh_home_all_succeed(tmp_path: Path) -> None:
    """The first use of a home makes its database, log key and default key: several commands
    starting at once on a new home must each either make them or use the one another made."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(user_home(home))})
    files = []
    for n in range(6):
        files.append(tmp_path / f"page-{n}.png")
        files[-1].write_bytes(f"page {n}".encode())
    shells = [subprocess.Popen([str(PROVENANCE), "anchor", str(f), "--json"], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for f in files]
    outputs = [shell.communicate(timeout=120) for shell in shells]
    for shell, (_, err) in zip(shells, outputs, strict=True):
        assert shell.returncode == 0, err
    assert {json.loads(out)["status"] for out, _ in outputs} == {"anchored"}
    assert sorted(p.name for p in (home / "keys").iterdir()) == ["default.key", "default.pub"]
    assert stored_sizes(home) == (len(files), len(files))


def test_json_names_a_file_whose_name_is_not_utf8_in_valid_utf8(tmp_path: Path) -> None:
    """``anchor DIR --json`` and ``anchor FILE --json`` stay valid UTF-8 JSON when a file's
    name is not UTF-8: the name's byte is a \\u escape that Python reads back to the same
    bytes (specs/cli.md section 3)."""
    folder = tmp_path / "works"
    folder.mkdir()
    odd = os.fsencode(folder) + b"/bad\xffname.txt"
    with open(odd, "wb") as f:
        f.write(b"odd name")
    (folder / "caf\u00e9.txt").write_bytes(b"accented name")
    home = tmp_path / "home"
    user = user_home(home)
    user.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(user), "NO_COLOR": "1"})
    out = subprocess.run([str(PROVENANCE), "anchor", str(folder), "--json"], env=env,
                         capture_output=True, check=True).stdout
    doc = json.loads(out.decode("utf-8"))
    names = {os.fsencode(row["file"]) for row in doc["files"]}
    assert odd in names and os.fsencode(folder / "caf\u00e9.txt") in names
    single = subprocess.run([str(PROVENANCE), "anchor", os.fsdecode(odd), "--json"],
                            env=env, capture_output=True, check=True).stdout
    assert os.fsencode(json.loads(single.decode("utf-8"))["file"]) == odd
