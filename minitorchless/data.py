"""Mini-batches over aligned arrays.

``Batches(X, y, batch_size=32, shuffle=True, rng=rng)`` is re-iterable: each
``for`` loop over it is one epoch and yields tuples ``(X_batch, y_batch)``
whose rows belong together. Any number of arrays may be batched at once, as
long as they have the same length along their first axis.

Copies are kept to the minimum an epoch needs. Without shuffling every batch
is a slice, a view into the caller's arrays. With shuffling an epoch draws one
index permutation and gathers each batch with it, so only one batch of rows
(plus the permutation) is ever copied at a time, never the whole data set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless._checks import generator, positive_int

__all__ = ["Batches", "num_samples"]


def num_samples(owner: str, *arrays: ArrayLike, names: tuple[str, ...] = ()) -> int:
    """Check that ``arrays`` are aligned and non-empty; return their common length.

    Args:
        owner: The function or class to name in errors.
        *arrays: Arrays whose first axis indexes samples.
        names: What to call each array in errors (``"X"``, ``"y"``); positions
            (``"array 0"``) by default.

    Raises:
        ValueError: no arrays, a scalar, arrays of different lengths, or no samples.
    """
    if not arrays:
        raise ValueError(f"{owner}: expected at least one array, received none")
    labels = names or tuple(f"array {index}" for index in range(len(arrays)))
    lengths = []
    for label, array in zip(labels, arrays, strict=True):
        shape = np.shape(array)
        if not shape:
            raise ValueError(
                f"{owner}: {label} must have a first axis of samples, received a scalar"
            )
        lengths.append(shape[0])
    if len(set(lengths)) > 1:
        described = ", ".join(f"{label} has {n}" for label, n in zip(labels, lengths, strict=True))
        raise ValueError(
            f"{owner}: all arrays must have the same number of samples (first axis), "
            f"received {described}"
        )
    if lengths[0] == 0:
        raise ValueError(f"{owner}: received empty data (0 samples); expected at least 1")
    return int(lengths[0])


class Batches:
    """Mini-batches of aligned arrays, one epoch per iteration.

    Args:
        *arrays: One or more arrays with the same length ``n`` along axis 0.
            NumPy arrays are used as they are (not copied); anything else is
            converted once with ``np.asarray``.
        batch_size: Samples per batch, >= 1; ``None`` gives the whole data as
            one batch. A ``batch_size`` above ``n`` also gives one batch.
        shuffle: Draw a new order of the samples at the start of every epoch.
        drop_last: Leave out the last batch when it is smaller than
            ``batch_size`` (so every batch has the same size).
        rng: The generator that shuffles; a fresh unseeded one if omitted.
            Pass ``np.random.default_rng(seed)`` for repeatable epochs.

    Raises:
        ValueError: arrays of different lengths, empty data, ``batch_size <= 0``.
        TypeError: ``batch_size`` is not an integer, ``rng`` not a Generator.

    Example::

        for X_batch, y_batch in Batches(X, y, batch_size=32, shuffle=True, rng=rng):
            ...
    """

    def __init__(
        self,
        *arrays: ArrayLike,
        batch_size: int | None = None,
        shuffle: bool = False,
        drop_last: bool = False,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.num_samples = num_samples("Batches", *arrays)
        self.arrays: tuple[NDArray[Any], ...] = tuple(np.asarray(array) for array in arrays)
        if batch_size is None:
            self.batch_size = self.num_samples
        else:
            self.batch_size = positive_int("Batches", "batch_size", batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = generator("Batches", rng)

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        full, rest = divmod(self.num_samples, self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self) -> Iterator[tuple[NDArray[Any], ...]]:
        size = self.batch_size
        if not self.shuffle and len(self) == 1 and size >= self.num_samples:
            yield self.arrays  # one full batch in order: the arrays themselves
            return
        stop_at = len(self) * size  # drop_last: the starts of complete batches only
        if not self.shuffle:
            for start in range(0, min(stop_at, self.num_samples), size):
                # basic slices are views: nothing is copied
                yield tuple(array[start : start + size] for array in self.arrays)
            return
        order = self.rng.permutation(self.num_samples)  # the epoch's one extra array
        for start in range(0, min(stop_at, self.num_samples), size):
            index = order[start : start + size]
            yield tuple(array[index] for array in self.arrays)

    def __repr__(self) -> str:
        return (
            f"Batches(num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, arrays={len(self.arrays)})"
        )
