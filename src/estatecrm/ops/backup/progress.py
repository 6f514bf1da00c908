"""How long-running backup steps report progress; the CLI draws it with Rich."""

from __future__ import annotations

from typing import Protocol


class Task(Protocol):
    """One step with an optional total (bytes, tables...)."""

    def advance(self, amount: float = 1) -> None:
        """Move forward by `amount`."""

    def set(self, completed: float) -> None:
        """Set how much is done."""

    def done(self) -> None:
        """Mark the step finished."""


class Reporter(Protocol):
    """Creates tasks and shows short notes."""

    def task(self, description: str, total: float | None = None, unit: str = "") -> Task:
        """Start a step; `unit` "bytes" shows sizes."""
        ...

    def note(self, message: str) -> None:
        """Tell the operator something worth knowing."""


class _NullTask:
    def advance(self, amount: float = 1) -> None:
        pass

    def set(self, completed: float) -> None:
        pass

    def done(self) -> None:
        pass


class NullReporter:
    """Reports nothing (library use and tests)."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def task(self, description: str, total: float | None = None, unit: str = "") -> Task:
        """A task that ignores progress."""
        return _NullTask()

    def note(self, message: str) -> None:
        """Keep the note, so callers can still read it."""
        self.notes.append(message)
