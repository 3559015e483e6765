"""A peer mirrored from its C2SP tiles (served by a real nginx) rotates to a new log: the
mirror's `node sync` says how to mirror the new origin too, `--tiles` included, and the line
it gives, run as it is, mirrors the new log from the same tiles URL (specs/node.md section
10.5, specs/tiles.md section 4 item 7)."""

from __future__ import annotations

import shlex
from pathlib import Path

from .network_helpers import Processes, make_network
from .nginx import serving


def test_the_line_to_mirror_the_new_origin_keeps_the_tiles(tmp_path: Path,
                                                          processes: Processes) -> None:
    a, b = make_network(tmp_path / "net", ("a", "b"), processes)
    tiles = tmp_path / "tiles-a"
    a.cli("node", "config", "--home", a.home, "--tiles", tiles)
    a.start()  # writes the empty tree's checkpoint to the tiles
    with serving(tiles, tmp_path / "nginx") as tiles_url:
        b.cli("node", "peer", "remove", a.origin, "--home", b.home)
        b.cli("node", "peer", "add", "--home", b.home, "--origin", a.origin, "--url", a.url,
              "--vkey", a.log_vkey, "--tiles", tiles_url)
        _, results = b.sync()
        assert results[a.origin]["status"] == "up-to-date", results

        a.stop()
        new = a.origin + "/2027"
        a.cli("node", "shard", "rotate", "--home", a.home, "--origin", new)
        a.start()
        _, results = b.sync()
        detail = results[a.origin]["detail"]
        assert results[a.origin]["status"] == "frozen", results
        command = detail.split("to mirror that too, ", 1)[1]
        assert command.endswith(f" --tiles {tiles_url}"), detail

        words = shlex.split(command)
        assert words[:3] == ["node", "peer", "add"], command
        b.cli(*words, "--home", b.home)  # as the line says
        _, results = b.sync()
        assert results[new]["status"] == "up-to-date", results  # from the same tiles URL
        assert results[a.origin]["detail"].endswith(f"now logs as {new}, a peer here too")
