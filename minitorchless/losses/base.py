"""The ``Loss`` base class: the call protocol, reductions, input checks and sample weights.

A loss is called as ``loss = loss_fn(predictions, targets)`` and returns a
Python float; ``loss_fn.backward()`` then returns dL/d(predictions), the
gradient that starts backpropagation through the model. Targets and sample
weights are cast to the predictions' dtype, so a float32 model's loss gradient
is float32 and no float64 array is left in the loss.

**Reductions.** Each loss adds up terms and, for ``reduction="mean"``, divides
the sum by a denominator ``D`` chosen as ``torch.nn`` chooses it:

- the number of elements, for the element-wise losses (``MSELoss``,
  ``L1Loss``, ``HuberLoss``, ``SmoothL1Loss``, ``BCELoss``,
  ``BCEWithLogitsLoss``);
- for ``CrossEntropyLoss`` with labels, the sum of the class weights of the
  labels that are not ignored (their count, without class weights); with
  probability targets, the number of rows.

``reduction="sum"`` is the same sum with ``D = 1``.

**Sample weights.** Every loss also takes
``loss_fn(predictions, targets, sample_weight=s)``: one finite, non-negative
weight per sample, a 1-D array along the first axis of the predictions. Let
``l_i`` be the loss of sample ``i`` as PyTorch's ``reduction="none"`` gives it,
summed over the sample's trailing axes (its elements for the element-wise
losses, its positions for cross-entropy on ``(N, T, C)`` logits). The weighted
loss is

    L = sum_i s_i * l_i / D

with exactly the ``D`` of the unweighted loss, so all-ones weights give the
unweighted loss (bit for bit, gradient included), a weight of 2 counts a
sample twice, and a weight of 0 drops it. The weights are *not* renormalised
by their sum: this is Keras's ``sample_weight`` with its default reduction,
and what ``fit`` builds on for ``class_weight``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal

from numpy.typing import ArrayLike

from minitorchless._checks import as_float_array, check_weights, non_empty, same_shape
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError

__all__ = ["Loss", "Reduction"]

Reduction = Literal["mean", "sum"]


class Loss(ABC):
    """Base class of the losses.

    A subclass implements ``forward``, which validates its inputs through the
    helpers below, caches what ``backward`` needs and returns the loss, and
    ``backward``, which returns dL/d(predictions) from that cache.

    Args:
        reduction: ``"mean"`` divides the sum of the terms by the loss's
            denominator (see the module); ``"sum"`` returns the sum.

    Raises:
        ValueError: ``reduction`` is neither ``"mean"`` nor ``"sum"``.
    """

    def __init__(self, reduction: Reduction = "mean") -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean' or 'sum', received {reduction!r}"
            )
        self.reduction: Reduction = reduction
        self._cache: Any = None

    def __call__(
        self, predictions: ArrayLike, targets: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        if sample_weight is None:
            # a user's loss written as forward(predictions, targets) keeps working
            return self.forward(predictions, targets)
        return self.forward(predictions, targets, sample_weight)

    @abstractmethod
    def forward(
        self, predictions: ArrayLike, targets: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        """Return the loss as a float and cache what ``backward`` needs.

        Args:
            predictions: The model's outputs.
            targets: What they should have been, in the form the loss documents.
            sample_weight: One non-negative weight per sample, shape
                ``(batch,)``, or ``None`` for weights of 1 (see the module).
        """

    @abstractmethod
    def backward(self) -> FloatArray:
        """Return dL/d(predictions) for the last ``forward``, in the predictions' dtype."""

    # ------------------------------------------------------------- checks
    def _cached(self) -> Any:
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() was called before the loss was computed: "
                f"call loss_fn(predictions, targets) first"
            )
        return self._cache

    def _predictions(self, predictions: ArrayLike) -> FloatArray:
        """Validate the predictions: a non-empty floating array."""
        self._cache = None  # a forward that fails must not leave the last batch's gradient
        name = type(self).__name__
        return non_empty(name, as_float_array(name, predictions, what="predictions"))

    def _same_shape(
        self, predictions: ArrayLike, targets: ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """Validate predictions and targets of equal shape; targets take the predictions' dtype."""
        self._cache = None  # a forward that fails must not leave the last batch's gradient
        predictions, targets = same_shape(type(self).__name__, predictions, targets)
        if targets.dtype != predictions.dtype:
            targets = targets.astype(predictions.dtype)
        return predictions, targets

    def _sample_weight(
        self, sample_weight: ArrayLike | None, predictions: FloatArray
    ) -> FloatArray | None:
        """Check one finite, non-negative weight per sample; return them in the model's dtype."""
        if sample_weight is None:
            return None
        name = type(self).__name__
        weight = as_float_array(name, sample_weight, what="sample_weight")
        if predictions.ndim == 0:
            raise ShapeError(
                f"{name}: sample_weight needs predictions with a batch axis, received "
                f"predictions of shape () (a single number)"
            )
        if weight.shape != predictions.shape[:1]:
            hint = " (use sample_weight.ravel())" if weight.shape == (len(predictions), 1) else ""
            raise ShapeError(
                f"{name}: sample_weight must hold one weight per sample, shape "
                f"({len(predictions)},) for predictions of shape {predictions.shape}, "
                f"received shape {weight.shape}{hint}"
            )
        check_weights(name, "sample_weight", weight)
        return weight.astype(predictions.dtype, copy=False)

    # --------------------------------------------------------- reductions
    @staticmethod
    def _by_sample(weight: FloatArray, ndim: int) -> FloatArray:
        """The sample weights shaped to broadcast over each sample's trailing axes."""
        return weight.reshape(-1, *(1,) * (ndim - 1))

    @staticmethod
    def _total(per_element: FloatArray, weight: FloatArray | None) -> float:
        """The sum of the element losses, each sample's scaled by its weight.

        ``sum_i s_i l_i``, with ``l_i`` the sum of sample ``i``'s elements, is
        taken as one sum of every element times its sample's weight: weights of
        1 then give the unweighted sum bit for bit. ``per_element`` is scaled
        in place.
        """
        if weight is not None:
            per_element *= Loss._by_sample(weight, per_element.ndim)
        return float(per_element.sum())

    def _reduce(self, total: float, denominator: float) -> float:
        """Turn a sum of terms into this loss's reduction: ``total / D`` for "mean"."""
        if self.reduction == "sum":
            return total
        # D is 0 only for cross-entropy labels that all are ignored (or weigh 0): see there
        return total / denominator if denominator else 0.0

    def _scale(self, denominator: float) -> float:
        """The factor that the gradient of the sum takes under this loss's reduction."""
        if self.reduction == "sum":
            return 1.0
        return 1 / denominator if denominator else 0.0

    def _scaled(
        self,
        grad: FloatArray,
        denominator: float,
        weight: FloatArray | None,
        *,
        times: float = 1.0,
        in_place: bool = True,
    ) -> FloatArray:
        """The gradient of the sum, times ``times``, scaled by the reduction and the weights.

        One pass over ``grad``: in place by default, into a new array with
        ``in_place=False`` (for a ``grad`` that is the cache, which a second
        ``backward`` must find intact).
        """
        factor: Any = grad.dtype.type(times * self._scale(denominator))  # of the model's dtype
        if weight is not None:  # one factor per sample, broadcast over its trailing axes
            factor = self._by_sample(weight * factor, grad.ndim)
        if not in_place:
            scaled: FloatArray = grad * factor
            return scaled
        grad *= factor
        return grad

    # -------------------------------------------------------------- repr
    def _options(self) -> dict[str, object]:
        """The constructor arguments besides ``reduction`` that ``repr`` shows."""
        return {}

    def __repr__(self) -> str:
        options = {**self._options(), "reduction": self.reduction}
        arguments = ", ".join(f"{key}={value!r}" for key, value in options.items())
        return f"{type(self).__name__}({arguments})"
