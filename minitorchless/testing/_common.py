"""What the gradient check, the kit and the PyTorch comparison share."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["KIT_ENTROPY", "KitInputs", "kit_rng", "outputs_tuple", "several", "split_inputs"]

KIT_ENTROPY = 0x6D746C6B6974  # mixed into every draw of the kit: see kit_rng
"""A constant of the kit's own, so its random numbers never repeat a user's stream."""


def kit_rng(seed: int) -> np.random.Generator:
    """The kit's generator for ``seed``: independent of ``np.random.default_rng(seed)``.

    A user who draws test inputs from ``default_rng(0)`` and checks with
    ``seed=0`` must not get an output gradient equal to the inputs: in a square
    layer a missing transpose would then look right.
    """
    return np.random.default_rng([KIT_ENTROPY, seed])


def several(inputs: Any) -> bool:
    """Whether ``inputs`` holds several inputs: a non-empty tuple of ndarrays."""
    return (
        isinstance(inputs, tuple)
        and bool(inputs)
        and all(isinstance(item, np.ndarray) for item in inputs)
    )


class KitInputs:
    """A layer's test inputs as a list of arrays, and how to hand them to ``forward``."""

    def __init__(self, inputs: Any) -> None:
        self.several = several(inputs)
        items = inputs if self.several else (inputs,)
        self.arrays: list[NDArray[Any]] = [np.asarray(item) for item in items]

    def given(self, arrays: list[NDArray[Any]] | None = None) -> Any:
        """``arrays`` (these inputs by default) as ``forward`` takes them."""
        chosen = self.arrays if arrays is None else arrays
        return tuple(chosen) if self.several else chosen[0]

    def names(self) -> list[str]:
        """``inputs`` for one input, ``inputs[0]``, ``inputs[1]``... for several."""
        if not self.several:
            return ["inputs"]
        return [f"inputs[{index}]" for index in range(len(self.arrays))]

    def is_integer(self, index: int) -> bool:
        """Integer inputs (indices) have no gradient."""
        return self.arrays[index].dtype.kind in "biu"


def split_inputs(inputs: Any) -> KitInputs:
    """``KitInputs(inputs)``."""
    return KitInputs(inputs)


def outputs_tuple(outputs: Any) -> tuple[Any, ...]:
    """A layer's outputs as a tuple (one output is a tuple of one)."""
    return outputs if isinstance(outputs, tuple) else (outputs,)
