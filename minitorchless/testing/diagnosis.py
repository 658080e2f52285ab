"""Naming the likely mistake behind a wrong gradient.

When an analytic gradient disagrees with the numerical one, the way it
disagrees usually points at one slip. Each test below compares the two whole
gradients (or, for the batch sum, the gradient of one sample); the first that
matches is reported with ``gradcheck``'s failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["likely_mistake"]

Array = NDArray[np.floating[Any]]


def _close(a: Array, b: Array) -> bool:
    scale = max(float(np.abs(b).max(initial=0.0)), 1e-12)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-4, atol=1e-6 * scale))


def likely_mistake(
    analytic: Array,
    numerical: Array,
    batch: int,
    one_sample: Callable[[int], Array] | None = None,
) -> str | None:
    """The slip that turns ``numerical`` into ``analytic``, in words, or ``None``.

    Args:
        analytic: The gradient ``backward`` left, the whole tensor.
        numerical: The finite-difference gradient, the whole tensor.
        batch: The number of samples in the batch checked.
        one_sample: For a parameter, ``index -> the numerical gradient of that
            sample's share of the loss alone``; ``None`` for an input gradient.
    """
    if not np.abs(numerical).max(initial=0.0) > 0:
        return "the true gradient is zero here, but backward gives a non-zero one"
    if _close(analytic, -numerical):
        return "the opposite sign: a minus where there should be a plus (or the reverse)"
    if batch > 1 and _close(analytic * batch, numerical):
        return (
            f"off by the batch size: {batch} times too small, as if averaged over the "
            f"batch (the loss already averages: divide once)"
        )
    if batch > 1 and _close(analytic, numerical * batch):
        return (
            f"off by the batch size: {batch} times too large, as if summed where the "
            f"loss averages, or an average left out"
        )
    if (
        analytic.ndim == 2
        and analytic.shape[0] == analytic.shape[1]
        and _close(analytic.T, numerical)
    ):
        return (
            "matches after a transpose: the product is in the wrong order, e.g. "
            "delta.T @ x where x.T @ delta is meant (or W where W.T is meant)"
        )
    if one_sample is not None and batch > 1:
        for index in (0, batch - 1):
            if _close(analytic, one_sample(index)):
                return (
                    f"equals the gradient of sample {index} alone: sum the contributions "
                    f"of every sample, e.g. grad_output.sum(axis=0) for a bias"
                )
    if _close(analytic * 2, numerical) or _close(analytic, numerical * 2):
        return "off by a factor of 2: check the derivative of a square (d/dx x^2 = 2x)"
    return None
