"""Rich progress rows for long CLI commands (drawn on stderr, so stdout stays parseable)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from estatecrm.cli.common import err_console


class _AmountColumn(ProgressColumn):
    """`12.3 MB/40.0 MB` for byte tasks, `3/12` for counted ones, nothing for spinners."""

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "bytes":
            done = decimal(int(task.completed))
            return Text(f"{done}/{decimal(int(task.total))}" if task.total else done)
        if task.total is None:
            return Text("")
        return Text(f"{task.completed:.0f}/{task.total:.0f}")


class _RichTask:
    def __init__(self, progress: Progress, task_id: TaskID) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._id, amount)

    def set(self, completed: float) -> None:
        self._progress.update(self._id, completed=completed)

    def done(self) -> None:
        task = next(t for t in self._progress.tasks if t.id == self._id)
        total = task.total if task.total is not None else max(task.completed, 1)
        self._progress.update(self._id, total=total, completed=total)


class RichReporter:
    """Backup and rotation steps as Rich progress rows."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def task(self, description: str, total: float | None = None, unit: str = "") -> _RichTask:
        """A new progress row (a spinner until it has a total)."""
        task_id = self._progress.add_task(description, total=total, unit=unit)
        return _RichTask(self._progress, task_id)

    def note(self, message: str) -> None:
        """A line above the progress rows."""
        self._progress.console.print(f"[cyan]{message}[/cyan]")


@contextmanager
def rich_progress() -> Iterator[RichReporter]:
    """Progress rows on stderr for the duration of the block."""
    columns = [
        SpinnerColumn(finished_text="[green]✓[/green]"),
        TextColumn("{task.description}"),
        BarColumn(),
        _AmountColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=err_console, transient=False) as progress:
        yield RichReporter(progress)
