"""Timing contenders fairly on a shared, noisy machine.

A machine shared with other jobs slows every process down by bursts. Timing
contender A for a minute and then contender B would charge each burst to
whichever ran at that moment, so the contenders take turns instead: round
after round, each runs once, in an order that rotates every round. A warm-up
round (not recorded) pays for first calls: imports, caches, BLAS buffers. The
median of the rounds then compares like with like, and ratios of medians taken
in one process are far steadier than any absolute time.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Contender", "Timings", "alternate"]

Run = Callable[[], object]


@dataclass(frozen=True)
class Contender:
    """One way of doing a workload.

    Attributes:
        name: The row label in the tables.
        prepare: Builds a fresh model, optimizer and data view (not timed) and
            returns the function to time, which runs the workload once.
    """

    name: str
    prepare: Callable[[], Run]


@dataclass
class Timings:
    """The recorded seconds of every contender, round by round."""

    seconds: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        """The median time of ``name``, in seconds."""
        return statistics.median(self.seconds[name])

    def spread(self, name: str) -> float:
        """The interquartile range of ``name`` relative to its median (0.05 is +-2.5%)."""
        runs = sorted(self.seconds[name])
        if len(runs) < 4:
            return (runs[-1] - runs[0]) / self.median(name)
        quartiles = statistics.quantiles(runs, n=4)
        return (quartiles[2] - quartiles[0]) / self.median(name)

    def ratio(self, name: str, reference: str) -> float:
        """``median(name) / median(reference)``: above 1 means slower than the reference."""
        return self.median(name) / self.median(reference)

    def __contains__(self, name: object) -> bool:
        return name in self.seconds


def alternate(contenders: Sequence[Contender], *, rounds: int, warmup: int = 1) -> Timings:
    """Run every contender once per round, in a rotating order; return the times.

    Args:
        contenders: What to compare.
        rounds: Recorded rounds; the median of these is reported.
        warmup: Unrecorded rounds run first.

    Each run gets a fresh ``prepare()`` and a garbage collection beforehand,
    so that no contender pays for another's garbage. The objects alive at the
    start (PyTorch's and scikit-learn's modules, the data) are frozen out of
    the collector first, so that each collection takes microseconds, not the
    tenth of a second a full pass over PyTorch's objects takes.
    """
    timings = Timings({contender.name: [] for contender in contenders})
    gc.collect()
    gc.freeze()
    try:
        _rounds(contenders, timings, rounds=rounds, warmup=warmup)
    finally:
        gc.unfreeze()
    return timings


def _rounds(contenders: Sequence[Contender], timings: Timings, *, rounds: int, warmup: int) -> None:
    for round_index in range(warmup + rounds):
        shift = round_index % len(contenders)
        for contender in [*contenders[shift:], *contenders[:shift]]:
            run = contender.prepare()
            gc.collect()
            start = time.perf_counter()
            run()
            elapsed = time.perf_counter() - start
            if round_index >= warmup:
                timings.seconds[contender.name].append(elapsed)
            del run
