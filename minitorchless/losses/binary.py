"""Binary cross-entropy, on probabilities or on logits, element-wise over any shape.

Each element is an independent yes/no question, so one prediction and one
target of the same shape serve one label per sample ``(N, 1)``, several labels
``(N, labels)``, or a label per position ``(N, T)``. ``reduction="mean"``
averages over all elements, as ``torch.nn`` does, and ``sample_weight`` scales
each sample's summed element losses (see ``minitorchless.losses.base``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._types import FloatArray
from minitorchless.losses.base import Loss

__all__ = ["BCELoss", "BCEWithLogitsLoss"]


class BCELoss(Loss):
    """Binary cross-entropy on probabilities, averaged over all elements.

    ``L = -mean(y log(p) + (1 - y) log(1 - p))`` for predictions ``p`` in [0, 1],
    such as a ``Sigmoid`` layer's outputs. As in PyTorch, each log is clamped at
    -100, so a confident wrong answer costs 100 rather than infinity, and the
    gradient ``(p - y) / (p (1 - p))`` has its denominator clamped at 1e-12.
    Prefer ``BCEWithLogitsLoss`` on the logits: it is stabler.
    With ``sample_weight``, sample ``i``'s element losses count ``s_i`` times and N
    stays the number of elements (see ``minitorchless.losses.base``).

    Shape:
        predictions and targets: any shape, the same for both.

    Raises:
        ValueError: a prediction lies outside [0, 1] (or is NaN).
    """

    def forward(
        self, predictions: ArrayLike, targets: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        predictions, targets = self._same_shape(predictions, targets)
        low, high = predictions.min(), predictions.max()
        if not (low >= 0 and high <= 1):  # written so that NaN, never in range, fails too
            raise ValueError(
                f"BCELoss: predictions must be probabilities in [0, 1] (use BCEWithLogitsLoss "
                f"for logits), received values from {low} to {high}"
            )
        weight = self._sample_weight(sample_weight, predictions)
        with np.errstate(divide="ignore"):  # log(0) = -inf is expected: it is clamped next
            log_p = np.log(predictions)
            log_not_p = np.log1p(-predictions)  # log(1 - p), accurate for small p
        floor = predictions.dtype.type(-100)
        np.maximum(log_p, floor, out=log_p)
        np.maximum(log_not_p, floor, out=log_not_p)
        self._cache = (predictions, targets, weight)
        # -(y log p + (1 - y) log(1 - p)) = y (log(1 - p) - log p) - log(1 - p), in place
        losses = np.subtract(log_not_p, log_p, out=log_p)
        losses *= targets
        losses -= log_not_p
        return self._reduce(self._total(losses, weight), predictions.size)

    def backward(self) -> FloatArray:
        predictions, targets, weight = self._cached()
        # dL/dp = -y/p + (1 - y)/(1 - p) = (p - y) / (p (1 - p))
        denominator = 1 - predictions
        denominator *= predictions
        np.maximum(denominator, denominator.dtype.type(1e-12), out=denominator)
        grad: FloatArray = predictions - targets
        grad /= denominator
        return self._scaled(grad, predictions.size, weight)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits, with the sigmoid fused in; averaged over all elements.

    ``L = mean(-y log(sigmoid(x)) - (1 - y) log(1 - sigmoid(x)))``, computed in
    the stable form ``max(x, 0) - x y + log(1 + exp(-|x|))``, whose exponent is
    never positive: finite for any finite logit. ``dL/dx = (sigmoid(x) - y) / N``.
    With ``sample_weight``, sample ``i``'s element losses count ``s_i`` times and N
    stays the number of elements (see ``minitorchless.losses.base``).

    Shape:
        predictions (logits) and targets: any shape, the same for both.
    """

    def forward(
        self, predictions: ArrayLike, targets: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        logits, targets = self._same_shape(predictions, targets)
        weight = self._sample_weight(sample_weight, logits)
        exp_neg_abs = np.abs(logits)
        np.negative(exp_neg_abs, out=exp_neg_abs)
        np.exp(exp_neg_abs, out=exp_neg_abs)  # exp(-|x|) in (0, 1]: cannot overflow
        self._cache = (logits, targets, exp_neg_abs, weight)
        losses = np.maximum(logits, 0)
        losses -= logits * targets
        losses += np.log1p(exp_neg_abs)
        return self._reduce(self._total(losses, weight), logits.size)

    def backward(self) -> FloatArray:
        logits, targets, exp_neg_abs, weight = self._cached()
        # with e = exp(-|x|): sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0,
        # both free of overflow and of cancellation
        grad: FloatArray = np.where(logits >= 0, 1, exp_neg_abs)
        grad /= 1 + exp_neg_abs
        grad -= targets
        return self._scaled(grad, logits.size, weight)
