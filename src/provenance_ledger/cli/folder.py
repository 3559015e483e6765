"""``provenance anchor DIR``: anchor every file below a folder in batched blocks."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import typer

from ..core.events import Event, sign_event, work_id_of
from ..core.merkle import leaf_hash
from ..errors import LedgerError, NotFoundError
from ..ledger import MAX_BLOCK_EVENTS
from .session import Session, emit_json, hash_file


def folder_files(root: Path) -> list[Path]:
    """Regular files below ``root``, sorted; hidden files and folders (".*") are skipped."""
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and not p.is_symlink()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def anchor_folder(session: Session, root: Path, key_name: str | None, as_json: bool) -> None:
    files = folder_files(root)
    if not files:
        raise NotFoundError(f"no files to anchor in {root}")
    if session.node_url is not None:
        _anchor_remote(session, root, files, key_name, as_json)
        return
    key = session.signing_key(key_name)
    ledger = session.ledger
    results: list[dict[str, Any]] = []
    hashed: list[tuple[dict[str, Any], int, str]] = []
    with typer.progressbar(files, label="hashing", file=sys.stderr) as bar:
        for path in bar:
            digest, size, media_type = hash_file(path)
            row: dict[str, Any] = {"file": str(path), "work": work_id_of(digest)}
            results.append(row)
            hashed.append((row, size, media_type))
    # One indexed query per 900 works tells which are registered already.
    present = ledger.store.works_present({row["work"] for row, _, _ in hashed})
    pending: list[tuple[dict[str, Any], bytes]] = []
    to_sign: list[tuple[dict[str, Any], Event]] = []
    first_seen: dict[str, str] = {}
    now = session.now()
    for row, size, media_type in hashed:
        work = row["work"]
        if work in first_seen:
            row.update(status="duplicate", duplicate_of=first_seen[work])
            continue
        first_seen[work] = row["file"]
        existing = ledger.state(work) if work in present else None
        if existing is not None:
            mine = key.public.text in (existing.registrant, existing.controller)
            row.update(status="exists" if mine else "conflict", id=existing.registration,
                       registrant=existing.registrant)
            continue
        to_sign.append((row, Event("work.register", work, None, key.public.text, now,
                                   {"size": size, "media_type": media_type})))

    def sign_all(part: list[tuple[dict[str, Any], Event]]) -> list[bytes]:
        return [sign_event(event, key).leaf for _, event in part]

    # Signing releases the GIL: two threads each sign half.
    half = -(-len(to_sign) // 2) or 1
    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(sign_all, [to_sign[:half], to_sign[half:]]))
    for (row, _), leaf in zip(to_sign, parts[0] + parts[1], strict=True):
        row.update(status="anchored", id=leaf_hash(leaf).hex())
        pending.append((row, leaf))
    for start in range(0, len(pending), MAX_BLOCK_EVENTS):
        chunk = pending[start : start + MAX_BLOCK_EVENTS]
        for (row, _), res in zip(chunk, ledger.append_block([leaf for _, leaf in chunk], now),
                                 strict=True):
            if isinstance(res, LedgerError):
                row.update(status="refused", error=str(res))
            else:
                row["index"] = res.index
                row["_appended"] = res
    done = [(row, row.pop("_appended")) for row in results if "_appended" in row]
    receipts = ledger.receipts([(a.index, a.event.leaf) for _, a in done])
    with typer.progressbar(list(zip(done, receipts, strict=True)), label="writing receipts",
                           file=sys.stderr) as wbar:
        for (row, appended), receipt in wbar:
            row["receipt"] = str(session.write_receipt(receipt, appended.event))
    _report(session, root, results, as_json)


def _anchor_remote(session: Session, root: Path, files: list[Path], key_name: str | None,
                   as_json: bool) -> None:
    """Through a node: one verified submission per file (the node batches them)."""
    from .anchor import anchor_file

    results: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    with typer.progressbar(files, label="anchoring on the node", file=sys.stderr) as bar:
        for path in bar:
            try:
                row = anchor_file(session, path, None, key_name)
            except LedgerError as e:
                row = {"file": str(path), "status": "refused", "error": str(e)}
            if row.get("work") in seen:
                row.update(status="duplicate", duplicate_of=seen[row["work"]])
            elif "work" in row:
                seen[row["work"]] = str(path)
            results.append(row)
    _report(session, root, results, as_json)


def _report(session: Session, root: Path, results: list[dict[str, Any]], as_json: bool) -> None:
    counts: dict[str, int] = {}
    for row in results:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    if as_json:
        emit_json({"folder": str(root), "summary": counts, "files": results})
    else:
        typer.echo(f"anchored folder {root}")
        typer.echo(f"  {'status':<20} {'files':>7}")
        for status in ("anchored", "exists", "duplicate", "conflict", "refused"):
            typer.echo(f"  {_LABELS[status]:<20} {counts.get(status, 0):>7}")
        typer.echo(f"  {'total':<20} {len(results):>7}")
        typer.echo(f"  receipts in {session.home.receipts}")
        for row in results:
            if row["status"] in ("conflict", "refused"):
                why = row.get("error") or f"registered by another key ({row['registrant']})"
                typer.echo(f"  {row['status']}: {row['file']}: {why}", err=True)
    if counts.get("conflict") or counts.get("refused"):
        raise typer.Exit(1)


_LABELS = {
    "anchored": "anchored now",
    "exists": "already yours",
    "duplicate": "same content twice",
    "conflict": "owned by another key",
    "refused": "refused",
}
