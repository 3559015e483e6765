"""Progress bars on stderr for the long commands (specs/cli.md section 1.4): hashing a large
file, anchoring a folder (locally or through a node), writing its receipts, upgrading
receipts.

A bar is drawn only when stderr is a terminal and the command prints no JSON, so piped or
redirected output and ``--json`` are exactly what they are without bars. ``rich`` (which typer
uses for its help) draws them; it is imported only when a bar is drawn. Each stage of a run
(``hashing``, ``writing receipts``, ...) gets a bar of its own, left on the terminal when
done, so that the user sees what took the time.

Leaves out what is counted: the library reports it through its ``Progress`` callbacks
(ledger/folder.py), and the commands call :class:`Bars` the same way.
"""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

import typer

LARGE_FILE_BYTES = 8 << 20
"""A file from this size on (bytes) is hashed with a bar of its own (``anchor FILE``)."""


class Bars(AbstractContextManager["Bars"]):
    """Bars on stderr, one per stage, when ``enabled``; otherwise every call does nothing.

    Called as ``bars(stage, done, total)`` (the ``Progress`` protocol of ledger/folder.py):
    counts of items. :meth:`in_bytes` is the same for a stage counted in bytes."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None  # rich.progress.Progress once a bar is drawn
        self._tasks: dict[str, Any] = {}  # stage -> rich task id

    @classmethod
    def for_output(cls, as_json: bool) -> Bars:
        """Bars for a command's run: drawn when stderr is a terminal and not ``--json``."""
        return cls(not as_json and _is_terminal(sys.stderr))

    def __call__(self, stage: str, done: int, total: int) -> None:
        self._update(stage, done, total, in_bytes=False)

    def in_bytes(self, stage: str, done: int, total: int) -> None:
        """Progress of a stage counted in bytes (hashing a file)."""
        self._update(stage, done, total, in_bytes=True)

    def echo(self, line: str, err: bool = False) -> None:
        """One line of a command's report while bars may be drawn. When the bars and the line
        go to one terminal, the line is written above the bars (written past them, it would
        be drawn over); elsewhere (stdout piped) it goes to stdout or stderr as usual."""
        if self._progress is not None and (err or _same_terminal()):
            self._progress.console.print(line, markup=False, highlight=False, emoji=False,
                                         soft_wrap=True)
            return
        typer.echo(line, err=err)

    def _update(self, stage: str, done: int, total: int, in_bytes: bool) -> None:
        if not self.enabled:
            return
        progress = self._start()
        task = self._tasks.get(stage)
        if task is None:
            task = progress.add_task(stage, total=max(total, 1), in_bytes=in_bytes)
            self._tasks[stage] = task
        progress.update(task, completed=done, total=max(total, 1))

    def _start(self) -> Any:
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                _amount_column(), TimeRemainingColumn(),
                console=Console(file=sys.stderr), transient=False,
                redirect_stdout=False, redirect_stderr=False)
            self._progress.start()
        return self._progress

    def close(self) -> None:
        """Stop drawing; the finished bars stay on the terminal."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class MapBuildReport(AbstractContextManager["MapBuildReport"]):
    """What a command says while it builds the verifiable map of a home made before the map
    existed (specs/map.md section 10, upgrade): one line on stderr when it starts and one when
    it is done, whatever stderr is, and a bar between them on a terminal. Nothing at all when
    the map is up to date (the usual case)."""

    def __init__(self) -> None:
        self._bars = Bars(_is_terminal(sys.stderr))
        self._started = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self._started:
            self._started = True
            typer.echo(f"upgrading this ledger: {stage} of its {total:,} entries (once)",
                       err=True)
        self._bars(stage, done, total)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._bars.close()
        if self._started and exc_type is None:
            typer.echo("upgrade done: the ledger keeps its verifiable map from now on", err=True)


def _amount_column() -> Any:
    """A column showing ``done/total``: a count, or decimal bytes for a stage in bytes."""
    from rich import filesize
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class Amount(ProgressColumn):
        def render(self, task: Task) -> Text:
            done, total = int(task.completed), int(task.total or 0)
            if task.fields.get("in_bytes"):
                return Text(f"{filesize.decimal(done)}/{filesize.decimal(total)}")
            return Text(f"{done}/{total}")

    return Amount()


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed
        return False


def _same_terminal() -> bool:
    """Whether stdout is the terminal that stderr is (the bars' terminal)."""
    try:
        return _is_terminal(sys.stdout) and os.path.samestat(
            os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno()))
    except (AttributeError, OSError, ValueError):
        return False
