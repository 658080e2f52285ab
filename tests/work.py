"""Measuring work without a clock: count the Python lines that run, and calls of chosen methods.

Timing on a shared machine is noise; the number of lines of Python executed
for a given input is the same on every run and every machine. A loader whose
line count grows faster than its input has a loop inside a loop somewhere.
(Work done inside one C call, such as ``json.loads`` or ``bytes.count``, counts
as one line: those are linear in their input, which is what the cost
properties check for the Python around them.)
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

import pytest


class TooMuchWork(BaseException):
    """Raised inside the measured code once it passes its allowance: fail, do not hang.

    A ``BaseException``, so that the code measured cannot swallow it.
    """


class LineCounter:
    """``with LineCounter() as work: ...`` then ``work.lines``: the lines of Python run inside.

    With ``limit``, the code is stopped with ``TooMuchWork`` past that many
    lines: an exponential walk then fails the test at once instead of hanging it.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.lines = 0
        self.limit = limit
        self._previous: Any = None

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.lines += 1
            if self.limit is not None and self.lines > self.limit:
                raise TooMuchWork(f"more than {self.limit:,} lines of Python")
        return self._local

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        return self._local

    def __enter__(self) -> LineCounter:
        self._previous = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self._previous)


DEFAULT_LIMIT = 20_000_000  # about ten seconds of traced Python: far beyond any test here


def lines_of(function: Callable[[], Any], limit: int = DEFAULT_LIMIT) -> int:
    """How many lines of Python ``function()`` runs (an exception it raises ends the run).

    Fails the test, rather than hanging it, past ``limit`` lines.
    """
    try:
        with LineCounter(limit) as work, suppress(Exception):
            function()
    except TooMuchWork as stop:
        pytest.fail(f"the work did not end: {stop}")
    return work.lines


@contextmanager
def counting_calls(
    monkeypatch: pytest.MonkeyPatch, classes: list[type], method: str, limit: int = 100_000
) -> Iterator[Counter[str]]:
    """Count calls of ``method`` on instances of ``classes``, by class name.

    Past ``limit`` calls in all, the next one raises ``TooMuchWork``.
    """
    calls: Counter[str] = Counter()
    for cls in classes:
        original = getattr(cls, method)

        def counted(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            calls[type(self).__name__] += 1
            if calls.total() > limit:
                raise TooMuchWork(f"more than {limit:,} calls of {method}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, counted)
    yield calls
