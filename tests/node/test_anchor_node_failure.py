"""`anchor DIR --node URL` against a node that fails (its disk full: a 5xx for every event)
stops at the first failed batch with one error line, instead of sending each remaining file
on its own and calling every one "refused"; run again once the node works, it finishes the
job (specs/cli.md section 3.2, specs/node.md section 2).

A file size limit (``ulimit -f``) on the `node serve` process stands for the full disk.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path

from .network_helpers import provenance, serving

FILES = 1200  # three batches of anchor DIR --node (500 a batch)


def test_a_failing_node_stops_anchor_dir_and_a_second_run_finishes(tmp_path: Path) -> None:
    home = tmp_path / "node"
    provenance("node", "init", "--home", home, "--origin", "ledger.example.org/a",
               scratch=tmp_path)
    folder = tmp_path / "pages"
    folder.mkdir()
    for i in range(FILES):
        (folder / f"page-{i:04}.png").write_bytes(b"page %d of a long series\n" % i)
    user = tmp_path / "user-home"
    room = sum(p.stat().st_size for p in home.glob("ledger.db*")) + (256 << 10)

    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))

    with serving(home, tmp_path, full_disk) as url:
        failed = provenance("anchor", folder, "--node", url, "--home", user, "--json",
                            scratch=tmp_path, ok=(2,))
    (line,) = failed.err.splitlines()
    assert line.startswith(f"error: node {url} failed to store the event (500): ")
    assert line.endswith("; nothing more was sent: run the same command again once the node "
                         "works (the files anchored so far keep their receipts)")
    assert failed.out == ""

    with serving(home, tmp_path) as url:
        done = provenance("anchor", folder, "--node", url, "--home", user, "--json",
                          scratch=tmp_path)
    results = json.loads(done.out)["files"]
    assert len(results) == FILES
    assert {r["status"] for r in results} <= {"anchored", "exists"}
