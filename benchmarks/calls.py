"""Counting the Python function calls a contender makes per epoch.

On a network as small as W1's, a framework's cost over its own array
operations is Python: each call of a layer, a check, a loss helper or an
optimizer costs a fixed amount whatever the array sizes. The count is exact
and the same on every machine, unlike the time, so the report gives both: the
calls per epoch and what the overhead costs per call.

Calls are counted with ``sys.setprofile`` (its ``"call"`` events: functions
written in Python, NumPy's Python-level wrappers included; C functions and
ufuncs are not counted). The run is done twice, for two numbers of epochs, and
the difference taken, so that building the run and its first epoch are left
out.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from benchmarks.timing import Run

__all__ = ["python_calls_per_epoch"]


def _count(run: Run) -> int:
    calls = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(previous)
    return calls


def python_calls_per_epoch(
    prepare: Callable[[int], Run], *, epochs: tuple[int, int] = (5, 25)
) -> float:
    """Python calls per epoch of ``prepare(epochs)()``, from the difference of two run lengths."""
    short, long = epochs
    return (_count(prepare(long)) - _count(prepare(short))) / (long - short)
