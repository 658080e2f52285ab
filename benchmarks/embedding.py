"""``python -m benchmarks.embedding``: ways to scatter-add Embedding's weight gradient.

The weight gradient of an ``Embedding`` adds each position's output gradient
into the row its index read; repeated indices must add up. Three ways to do
that without a Python loop, on a typical batch (32 sequences of 64 tokens, a
vocabulary of 100, vectors of 64), each timed in turns with the others:

- ``np.add.at`` on rows: the readable definition (``scatter_add_rows``);
- ``np.add.at`` on the flattened table, one index per (row, column) cell
  (``scatter_add_cells``, what ``Embedding`` uses);
- sort the indices and sum each run of equal ones with ``np.add.reduceat``;
- ``np.bincount`` on the flat cells, which computes in float64 whatever the
  dtype and allocates the whole vocabulary's gradient.

The report gives each median and its ratio to ``np.add.at`` on rows, at the
typical vocabulary of 100 and, with ``--vocab``, at any other.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.timing import Contender, Run, alternate
from minitorchless.layers.embedding import scatter_add_cells, scatter_add_rows

__all__ = ["SCATTERS", "bincount_rows", "problem", "run", "sorted_rows"]

Scatter = Callable[[Any, Any, Any], None]


def bincount_rows(target: Any, indices: Any, rows: Any) -> None:
    """``target[indices[i]] += rows[i]`` with one ``np.bincount`` over (row, column) cells."""
    num_rows, dim = target.shape
    cells = (indices[:, None] * dim + np.arange(dim)).reshape(-1)
    sums = np.bincount(cells, weights=rows.reshape(-1), minlength=num_rows * dim)
    target += sums.reshape(num_rows, dim).astype(target.dtype, copy=False)


def sorted_rows(target: Any, indices: Any, rows: Any) -> None:
    """``target[indices[i]] += rows[i]`` by sorting the indices and summing each run."""
    if indices.size == 0:
        return
    order = np.argsort(indices, kind="stable")
    ordered = indices[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    target[ordered[starts]] += np.add.reduceat(rows[order], starts, axis=0)


SCATTERS: dict[str, Scatter] = {
    "np.add.at on rows": scatter_add_rows,
    "np.add.at on cells (used)": scatter_add_cells,
    "sort + reduceat": sorted_rows,
    "bincount": bincount_rows,
}


def problem(
    dtype: Any, batch: tuple[int, int] = (32, 64), vocab: int = 100, dim: int = 64, seed: int = 0
) -> tuple[Any, Any, Any]:
    """A zeroed gradient, one batch of indices (flattened) and its output gradient rows."""
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, vocab, size=batch).reshape(-1)
    rows = rng.standard_normal((indices.size, dim)).astype(dtype)
    return np.zeros((vocab, dim), dtype=dtype), indices, rows


def _contender(name: str, scatter: Scatter, dtype: Any, vocab: int, repeats: int) -> Contender:
    def prepare() -> Run:
        target, indices, rows = problem(dtype, vocab=vocab)  # fresh for every run, not timed

        def timed() -> None:
            for _ in range(repeats):
                scatter(target, indices, rows)

        return timed

    return Contender(name, prepare)


def run(rounds: int = 15, repeats: int = 20, vocab: int = 100) -> list[str]:
    """Time every scatter in float64 and float32; one line per contender."""
    lines = [f"batch (32, 64), vocabulary {vocab}, dim 64; median of {rounds} rounds per call"]
    reference = next(iter(SCATTERS))
    for dtype in (np.float64, np.float32):
        contenders = [_contender(name, f, dtype, vocab, repeats) for name, f in SCATTERS.items()]
        timings = alternate(contenders, rounds=rounds)
        for name in SCATTERS:
            lines.append(
                f"{np.dtype(dtype).name:8} {name:26} {timings.median(name) / repeats * 1e6:7.0f} us"
                f"  x{timings.ratio(name, reference):.2f} of np.add.at on rows"
                f"  (spread {timings.spread(name):.0%})"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.embedding", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="recorded rounds (default 15)")
    parser.add_argument("--vocab", type=int, default=100, help="vocabulary size (default 100)")
    parser.add_argument("--quick", action="store_true", help="one round: a smoke run")
    arguments = parser.parse_args()
    rounds, repeats = (1, 2) if arguments.quick else (arguments.rounds, 20)
    for line in run(rounds=rounds, repeats=repeats, vocab=arguments.vocab):
        print(line)


if __name__ == "__main__":
    main()
