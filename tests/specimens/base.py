"""The specimen row type, and how a row builds its layer and its inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

import minitorchless as mtl

Build = Callable[[np.random.Generator, Any], mtl.Layer]
TorchTwin = Callable[[ModuleType], Any]


@dataclass(frozen=True)
class Specimen:
    """One row of the table.

    Attributes:
        build: ``(rng, dtype) -> layer``, drawing every random number from ``rng``.
        inputs: The sample shape of each input (one tuple per input).
        away_from_zero: Keep inputs off 0, where a kink (ReLU) makes finite
            differences meaningless.
        torch: ``torch -> torch.nn.Module`` of the same architecture, or ``None``.
        onnx: Whether ``export_onnx`` covers it.
        integers: If set, the inputs are integer indices in ``[0, integers)``
            (``Embedding``'s), which have no gradient.
        min_batch: The smallest batch the layer takes in training mode
            (``BatchNorm1d`` on ``(N, C)`` needs two samples for a variance).
        zero_gradients: Suffixes of parameter names whose gradient is 0 in part by
            the math (attention's key bias shifts every score of a row alike,
            which the softmax ignores): finite differences of them are rounding
            noise, so their relative error means nothing; the absolute
            tolerance still holds them.
    """

    build: Build
    inputs: tuple[tuple[int, ...], ...]
    away_from_zero: bool = False
    torch: TorchTwin | None = None
    onnx: bool = True
    integers: int | None = None
    min_batch: int = 1
    zero_gradients: tuple[str, ...] = ()

    def make_inputs(self, dtype: Any = np.float64, batch: int = 6, seed: int = 7) -> Any:
        """A batch for the specimen: an array, or a tuple of arrays for several inputs.

        Several inputs are scaled differently (by 1, 2, 3...) so that a
        gradient sent to the wrong input cannot pass unnoticed.
        """
        rng = np.random.default_rng(seed)
        arrays = []
        for index, shape in enumerate(self.inputs):
            if self.integers is not None:
                arrays.append(rng.integers(0, self.integers, size=(batch, *shape)))
                continue
            x = rng.standard_normal((batch, *shape)) * (index + 1)
            if self.away_from_zero:
                x += np.sign(x) * 0.1
            arrays.append(x.astype(dtype))
        return arrays[0] if len(arrays) == 1 else tuple(arrays)
