"""Regression losses: MSE, L1, Huber and smooth L1, element-wise over any shape.

Predictions and targets have one shape, any rank: ``(N,)``, ``(N, outputs)``,
``(N, T, outputs)``... ``reduction="mean"`` averages over all elements, as
``torch.nn`` does, and ``sample_weight`` scales each sample's summed element
losses (see ``minitorchless.losses.base``).
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._checks import positive_float
from minitorchless._types import FloatArray
from minitorchless.losses.base import Loss, Reduction

__all__ = ["HuberLoss", "L1Loss", "MSELoss", "SmoothL1Loss"]


class _DifferenceLoss(Loss):
    """A loss of the differences ``d = y_hat - y``: ``sum f(d)`` and its slope ``f'(d)``.

    Subclasses give the sum of the element losses and the slope; validation,
    caching, the reduction and the sample weights are the same for all of them.
    """

    def forward(
        self, predictions: ArrayLike, targets: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        if (  # the common call, where every check below passes: skip them
            sample_weight is None
            and type(predictions) is np.ndarray
            and type(targets) is np.ndarray
            and predictions.dtype == targets.dtype
            and predictions.dtype.kind == "f"
            and predictions.shape == targets.shape
            and predictions.size
        ):
            diff, weight = predictions - targets, None
        else:
            predictions, targets = self._same_shape(predictions, targets)
            weight = self._sample_weight(sample_weight, predictions)
            diff = predictions - targets
        self._cache = (diff, weight)
        return self._reduce(self._sum(diff, weight), diff.size)

    def backward(self) -> FloatArray:
        diff, weight = self._cached()
        slope, times = self._slope(diff)
        # the slope may be the cached diff itself, which a second backward must find intact
        return self._scaled(slope, diff.size, weight, times=times, in_place=slope is not diff)

    @abstractmethod
    def _sum(self, diff: FloatArray, weight: FloatArray | None) -> float:
        """The sum of the element losses ``f(d)``, each sample's scaled by its weight."""

    @abstractmethod
    def _slope(self, diff: FloatArray) -> tuple[FloatArray, float]:
        """``f'(d)`` as an array and a constant factor; the array may be ``diff`` itself."""


class MSELoss(_DifferenceLoss):
    """Mean squared error, averaged over *all* elements as PyTorch does by default.

    ``L = mean((y_hat - y)^2)``, so ``dL/dy_hat = 2 (y_hat - y) / N`` where N is
    the number of elements; with ``reduction="sum"``, N is 1. With
    ``sample_weight``, sample ``i``'s squared errors count ``s_i`` times and N
    stays the number of elements.

    Shape:
        predictions and targets: any shape, the same for both.
    """

    def _sum(self, diff: FloatArray, weight: FloatArray | None) -> float:
        flat = diff.reshape(-1)
        if weight is not None:  # sum_i s_i sum_j d_ij^2: weights of 1 give exactly flat . flat
            weighted = (diff * self._by_sample(weight, diff.ndim)).reshape(-1)
            return float(np.dot(flat, weighted))
        return float(flat @ flat)  # sum of squares as one BLAS call

    def _slope(self, diff: FloatArray) -> tuple[FloatArray, float]:
        return diff, 2.0  # d(d^2) = 2 d


class L1Loss(_DifferenceLoss):
    """Mean absolute error, averaged over all elements as PyTorch does by default.

    ``L = mean(|y_hat - y|)``, so ``dL/dy_hat = sign(y_hat - y) / N``, taken as 0
    where the prediction equals the target (as PyTorch does).
    With ``sample_weight``, sample ``i``'s element losses count ``s_i`` times and N
    stays the number of elements (see ``minitorchless.losses.base``).

    Shape:
        predictions and targets: any shape, the same for both.
    """

    def _sum(self, diff: FloatArray, weight: FloatArray | None) -> float:
        return self._total(np.abs(diff), weight)

    def _slope(self, diff: FloatArray) -> tuple[FloatArray, float]:
        return np.sign(diff), 1.0


def _huber(diff: FloatArray, delta: float) -> FloatArray:
    """Huber's function of each difference: ``d^2 / 2`` for ``|d| <= delta``, linear beyond.

    With ``q = min(|d|, delta)`` it is ``q^2 / 2 + delta (|d| - q)``: ``d^2 / 2``
    inside, ``delta (|d| - delta / 2)`` outside, one formula without branches
    whose two pieces meet with equal value and slope at ``|d| = delta``.
    """
    magnitude = np.abs(diff)
    inside: FloatArray = np.minimum(magnitude, diff.dtype.type(delta))
    magnitude -= inside
    magnitude *= diff.dtype.type(delta)  # delta (|d| - q): the linear part, 0 inside
    inside *= inside
    inside *= diff.dtype.type(0.5)
    inside += magnitude
    return inside


class HuberLoss(_DifferenceLoss):
    """Huber loss: squared error for small errors, absolute error for large ones.

    For ``d = y_hat - y``, each element costs ``d^2 / 2`` where
    ``|d| <= delta`` and ``delta (|d| - delta / 2)`` beyond, averaged over all
    elements as ``torch.nn.HuberLoss`` does. The gradient is the difference
    clipped to ``[-delta, delta]``, over N: large errors pull with a bounded
    force, so outliers weigh less than under ``MSELoss``.
    With ``sample_weight``, sample ``i``'s element losses count ``s_i`` times and N
    stays the number of elements (see ``minitorchless.losses.base``).

    Args:
        reduction: ``"mean"`` (over all elements) or ``"sum"``.
        delta: Where the quadratic part turns linear; > 0.

    Shape:
        predictions and targets: any shape, the same for both.

    Raises:
        ValueError: ``delta`` is not a finite number > 0.
    """

    def __init__(self, reduction: Reduction = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = positive_float("HuberLoss", "delta", delta)

    def _sum(self, diff: FloatArray, weight: FloatArray | None) -> float:
        return self._total(_huber(diff, self.delta), weight)

    def _slope(self, diff: FloatArray) -> tuple[FloatArray, float]:
        delta = diff.dtype.type(self.delta)
        return np.clip(diff, -delta, delta), 1.0  # d inside, +-delta outside

    def _options(self) -> dict[str, object]:
        return {"delta": self.delta}


class SmoothL1Loss(_DifferenceLoss):
    """Smooth L1 loss: Huber's loss divided by its threshold ``beta``.

    For ``d = y_hat - y``, each element costs ``d^2 / (2 beta)`` where
    ``|d| < beta`` and ``|d| - beta / 2`` beyond, averaged over all elements as
    ``torch.nn.SmoothL1Loss`` does. Its slope is ``d / beta`` inside and +-1
    outside, so large errors get the gradient of ``L1Loss``, whatever
    ``beta``; ``beta = 0`` is ``L1Loss`` itself.
    With ``sample_weight``, sample ``i``'s element losses count ``s_i`` times and N
    stays the number of elements (see ``minitorchless.losses.base``).

    Args:
        reduction: ``"mean"`` (over all elements) or ``"sum"``.
        beta: Where the quadratic part turns linear; >= 0.

    Shape:
        predictions and targets: any shape, the same for both.

    Raises:
        ValueError: ``beta`` is not a finite number >= 0.
    """

    def __init__(self, reduction: Reduction = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = positive_float("SmoothL1Loss", "beta", beta, allow_zero=True)

    def _sum(self, diff: FloatArray, weight: FloatArray | None) -> float:
        if self.beta == 0:  # the quadratic zone is empty: L1
            return self._total(np.abs(diff), weight)
        return self._total(_huber(diff, self.beta), weight) / self.beta

    def _slope(self, diff: FloatArray) -> tuple[FloatArray, float]:
        if self.beta == 0:
            return np.sign(diff), 1.0
        beta = diff.dtype.type(self.beta)
        return np.clip(diff, -beta, beta), 1 / self.beta  # d / beta inside, +-1 outside

    def _options(self) -> dict[str, object]:
        return {"beta": self.beta}
