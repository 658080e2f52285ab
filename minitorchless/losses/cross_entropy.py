"""Softmax cross-entropy on logits, classes on the last axis, with PyTorch's options.

Every row ``z`` of logits (every position of every sample) has a target:
either a class label ``y`` or a row of class probabilities ``y_c``. With class
weights ``w`` (all 1 by default), label smoothing ``eps`` and ``C`` classes,
the row's loss is ``l = -sum_c a_c log softmax(z)_c``, where

- for a label, ``a_c = (1 - eps) w_y [c = y] + (eps / C) w_c``, and ``a = 0``
  when ``y == ignore_index``;
- for a probability row, ``a_c = w_c ((1 - eps) y_c + eps / C)``.

Both are exactly PyTorch's losses with ``reduction="none"``. Written with
``A = sum_c a_c``, the row's loss is ``A logsumexp(z) - sum_c a_c z_c`` and its
gradient ``A softmax(z) - a``: one formula for both kinds of target.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless._checks import as_float_array, check_weights, unit_interval
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.losses.base import Loss, Reduction

__all__ = ["CrossEntropyLoss"]

_NAME = "CrossEntropyLoss"


# A value per row (sample and position), or one number standing for every row:
# the common case (no class weight, nothing ignored, no sample weight) then
# costs scalar arithmetic instead of a vector per quantity.
Rows = FloatArray | np.floating[Any] | float


class _Cache(NamedTuple):
    """What backward needs, with ``g`` each row's factor (reduction times sample weight)."""

    softmax: FloatArray  # (rows, classes)
    scale: Rows  # g A, the coefficient of the softmax in the gradient
    keep: Rows  # g (1 - eps), 0 for ignored rows: the target's share
    spread: Rows | None  # g eps / C, the smoothing's share of each class; None without it
    targets: NDArray[Any]  # (rows,) labels, or (rows, classes) probability rows
    weight: FloatArray | None  # (classes,): the class weights in the logits' dtype
    shape: tuple[int, ...]  # the logits' shape


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy on logits, as ``torch.nn.CrossEntropyLoss`` computes it.

    The logits have the classes on the **last** axis, after any leading axes:
    ``(N, C)``, or ``(N, T, C)`` for a class per position. (PyTorch puts the
    classes on axis 1; ``np.moveaxis(logits, 1, -1)`` converts.) The targets are
    either

    - integer class labels of shape ``logits.shape[:-1]`` with values in
      ``[0, C)`` or equal to ``ignore_index`` (float arrays holding whole
      numbers are accepted), or
    - probability rows of the logits' shape, such as one-hot rows. Rows need
      not sum to 1: each is used as given, as PyTorch does.

    The softmax is fused in through a stable log-sum-exp, so the loss stays
    finite for logits of +-1000. The per-row formulas are in the module's
    documentation.

    Reductions follow PyTorch: ``"mean"`` divides the sum of the row losses by
    the sum of the class weights of the labels that count (their number,
    without ``weight``), or by the number of rows for probability targets.

    **When no label counts.** If every label of a batch is ``ignore_index``
    (or every one that counts has class weight 0), the mean divides by 0:
    PyTorch returns NaN. Here the loss is 0.0 and the gradient is zero, since
    such a batch has nothing to learn from, and a NaN would read as divergence
    to ``fit``, which would stop the run.

    **Sample weights.** ``loss_fn(logits, targets, sample_weight=s)`` with ``s``
    of shape ``(N,)`` scales each sample's summed row losses by ``s_i`` and
    keeps the denominator above (see ``minitorchless.losses.base``); with
    ``(N, T, C)`` logits every position of sample ``i`` weighs ``s_i``.

    Args:
        weight: One non-negative weight per class, shape ``(C,)``, or ``None``.
            It keeps its floating dtype and is cast to the logits' dtype.
        ignore_index: A label value whose rows add nothing to the loss, the
            denominator or the gradient. Labels only: probability targets with
            another value than the default -100 are refused, as in PyTorch.
        label_smoothing: ``eps`` in [0, 1]: the target mixes ``(1 - eps)`` of
            the label (or row) with ``eps`` spread evenly over the classes.
        reduction: ``"mean"`` or ``"sum"``.

    Shape:
        predictions: ``(N, *, C)``, logits.
        targets: ``(N, *)`` labels, or ``(N, *, C)`` probability rows.

    Raises:
        ShapeError: logits of rank < 2, targets of neither form, or a
            ``weight`` of another length than ``C``.
        ValueError: a label is not whole or lies outside ``[0, C)``; a bad
            ``weight``, ``ignore_index`` or ``label_smoothing``.
    """

    def __init__(
        self,
        weight: ArrayLike | None = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.weight: FloatArray | None = _class_weight(weight)
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
            raise TypeError(f"{_NAME}: ignore_index must be an integer, received {ignore_index!r}")
        self.ignore_index: int = int(ignore_index)
        self.label_smoothing: float = unit_interval(_NAME, "label_smoothing", label_smoothing)

    def forward(
        self, predictions: ArrayLike, targets: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        logits = self._logits(predictions)
        classes, dtype = logits.shape[-1], logits.dtype.type
        weight = self._weight_for(logits)
        sample = self._sample_weight(sample_weight, logits)
        shifted, log_sums, softmax = _log_softmax_parts(logits.reshape(-1, classes))
        target_rows, valid, own, own_logit = self._target_parts(targets, logits, shifted, weight)
        rows = len(shifted)
        # "mean" divides by the class weight that the counted labels carry, or by the rows
        denominator = _row_sum(valid * own, rows) if target_rows.ndim == 1 else float(rows)

        eps = self.label_smoothing
        keep = valid * dtype(1 - eps)  # the target's share of each row
        losses = own * log_sums  # own logsumexp(z) - (w y) . z = -sum_c w_c y_c log softmax(z)_c
        losses -= own_logit
        losses *= keep
        spread = valid * dtype(eps / classes)  # the smoothing's share of each class
        total_weight = 0.0
        if eps:  # (eps / C) (W logsumexp(z) - w . z), with W = sum_c w_c
            total_weight, smooth = _smoothing_terms(shifted, log_sums, weight)
            smooth *= spread
            losses += smooth

        total, g = self._row_factors(losses, sample, denominator)
        keep = keep * g
        scale = keep * own  # g A = g ((1 - eps) own + (eps / C) W)
        smoothing = None
        if eps:
            smoothing = spread * g
            scale = scale + smoothing * dtype(total_weight)
        self._cache = _Cache(softmax, scale, keep, smoothing, target_rows, weight, logits.shape)
        return self._reduce(total, denominator)

    def backward(self) -> FloatArray:
        cache: _Cache = self._cached()
        # g (A softmax(z) - a), row by row, with a = (1 - eps) w y + (eps / C) w
        grad = cache.softmax * _column(cache.scale)
        weight = cache.weight
        if cache.targets.ndim == 1:  # labels: the target's share sits at one class per row
            labels = cache.targets
            own = cache.keep if weight is None else cache.keep * weight[labels]
            grad[np.arange(len(labels)), labels] -= own
        else:
            share = cache.targets * _column(cache.keep)
            if weight is not None:
                share *= weight
            grad -= share
        if cache.spread is not None:
            spread = _column(cache.spread)
            grad -= spread if weight is None else spread * weight
        result: FloatArray = grad.reshape(cache.shape)
        return result

    def _row_factors(
        self, losses: FloatArray, sample: FloatArray | None, denominator: float
    ) -> tuple[float, Rows]:
        """The sample-weighted sum of the row losses, and ``g``: each row's gradient factor.

        ``losses`` is scaled in place; as one sum of the scaled rows, weights
        of 1 give the unweighted loss bit for bit.
        """
        factor = losses.dtype.type(self._scale(denominator))
        if sample is None:
            return float(losses.sum()), factor
        # every position of sample i weighs s_i
        row_weight = np.repeat(sample, len(losses) // len(sample))
        losses *= row_weight
        return float(losses.sum()), row_weight * factor

    # ------------------------------------------------------------ inputs
    def _logits(self, predictions: ArrayLike) -> FloatArray:
        logits = self._predictions(predictions)
        if logits.ndim < 2:
            hint = " (a single sample must be a row: use reshape(1, -1))" if logits.ndim else ""
            raise ShapeError(
                f"{_NAME}: expected logits of shape (batch, classes) or (batch, ..., classes), "
                f"the classes on the last axis, received shape {logits.shape}{hint}"
            )
        return logits

    def _weight_for(self, logits: FloatArray) -> FloatArray | None:
        """The class weights in the logits' dtype, checked against the number of classes."""
        if self.weight is None:
            return None
        if len(self.weight) != logits.shape[-1]:
            raise ShapeError(
                f"{_NAME}: weight has {len(self.weight)} entries but the logits have "
                f"{logits.shape[-1]} classes (the last axis of shape {logits.shape})"
            )
        return self.weight.astype(logits.dtype, copy=False)

    def _target_parts(
        self, targets: ArrayLike, logits: FloatArray, shifted: FloatArray, weight: FloatArray | None
    ) -> tuple[NDArray[Any], Rows, Rows, FloatArray]:
        """Check the targets; return them flat and, per row, ``valid``, ``w . y``, ``(w y) . z``.

        ``valid`` is 1 for rows that count and 0 for ignored labels; the logits
        ``z`` enter shifted by their row maximum.
        """
        target_array = np.asarray(targets)
        if target_array.shape == logits.shape[:-1]:
            labels, counted = self._labels(target_array, logits.shape[-1])
            valid: Rows = 1.0 if counted is None else counted.astype(logits.dtype)
            picked = shifted[np.arange(len(shifted)), labels]  # z_y - m
            if weight is None:
                return labels, valid, 1.0, picked
            own = weight[labels]
            return labels, valid, own, own * picked
        if target_array.shape == logits.shape:
            if self.ignore_index != -100:
                raise ValueError(
                    f"{_NAME}: ignore_index={self.ignore_index} applies to labels only, "
                    f"received probability targets of shape {target_array.shape} (as PyTorch, "
                    f"refused rather than silently unused)"
                )
            probabilities = as_float_array(_NAME, target_array, what="targets")
            probabilities = probabilities.astype(logits.dtype, copy=False).reshape(shifted.shape)
            weighted = probabilities if weight is None else probabilities * weight
            own_logit = np.einsum("ij,ij->i", weighted, shifted)
            return probabilities, 1.0, weighted.sum(axis=1), own_logit
        raise _target_shape_error(logits.shape, target_array.shape)

    def _labels(
        self, targets: NDArray[Any], classes: int
    ) -> tuple[NDArray[np.intp], NDArray[np.bool_] | None]:
        """Check class labels; return them flat as indices and the rows that count.

        The rows are ``None`` when all count. Ignored rows point at class 0, so
        that indexing stays valid; their terms are zeroed.
        """
        kind = targets.dtype.kind
        if kind not in "iuf":
            raise TypeError(f"{_NAME}: labels must be integers, received dtype {targets.dtype}")
        flat = targets.reshape(-1)
        if kind == "f":
            whole = flat == np.trunc(flat)  # False for 1.5 and NaN; inf is caught below
            if not whole.all():
                first = int(np.argmin(whole))
                raise ValueError(
                    f"{_NAME}: labels must be whole numbers (class indices in [0, {classes}) "
                    f"for {classes} classes), received label {flat[first].item()!r} "
                    f"at index {_where(first, targets.shape)}"
                )
        low, high = flat.min(), flat.max()
        # no label can equal ignore_index outside [low, high]: then every row counts
        counted = flat != self.ignore_index if low <= self.ignore_index <= high else None
        if low < 0 or high >= classes:
            outside = (flat < 0) | (flat >= classes)
            if counted is not None:
                outside &= counted
            if outside.any():
                first = int(np.argmax(outside))
                raise ValueError(
                    f"{_NAME}: label {flat[first].item()!r} at index "
                    f"{_where(first, targets.shape)} is out of range for {classes} classes "
                    f"(labels must be in [0, {classes}), or ignore_index={self.ignore_index} "
                    f"to skip a row)"
                )
        if counted is None:
            return flat.astype(np.intp, copy=False), None
        return np.where(counted, flat, 0).astype(np.intp, copy=False), counted

    def _options(self) -> dict[str, object]:
        weight = None if self.weight is None else self.weight.tolist()
        return {
            "weight": weight,
            "ignore_index": self.ignore_index,
            "label_smoothing": self.label_smoothing,
        }


def _class_weight(weight: ArrayLike | None) -> FloatArray | None:
    """Check the class weights: a non-empty 1-D array of finite, non-negative numbers."""
    if weight is None:
        return None
    array = as_float_array(_NAME, weight, what="weight")
    if array.ndim != 1 or array.size == 0:
        raise ShapeError(
            f"{_NAME}: weight must be a 1-D array of one weight per class, "
            f"received shape {array.shape}"
        )
    check_weights(_NAME, "weight", array, entry="for class")
    copied: FloatArray = array.copy()  # the caller's later edits must not change the loss
    return copied


def _log_softmax_parts(logits: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return ``z - m``, ``log(sum(exp(z - m)))`` per row and the softmax, with m the row max.

    Subtracting the maximum makes every exponent <= 0 (nothing overflows) and
    every row sum >= 1 (its log is finite): log-sum-exp for any finite logits.
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    softmax = np.exp(shifted)
    sums = softmax.sum(axis=1, keepdims=True)
    log_sums = np.log(sums).ravel()
    softmax /= sums
    return shifted, log_sums, softmax


def _smoothing_terms(
    shifted: FloatArray, log_sums: FloatArray, weight: FloatArray | None
) -> tuple[float, FloatArray]:
    """``W = sum_c w_c`` and, per row, ``W logsumexp(z) - w . z = -sum_c w_c log softmax(z)_c``."""
    if weight is None:
        total_weight, weighted_logits = float(shifted.shape[1]), shifted.sum(axis=1)
    else:
        total_weight, weighted_logits = float(weight.sum()), shifted @ weight
    terms = log_sums * log_sums.dtype.type(total_weight)
    terms -= weighted_logits
    return total_weight, terms


def _column(values: Rows) -> Rows:
    """Per-row values as a column, to broadcast over the classes; a number stays a number."""
    return values[:, None] if isinstance(values, np.ndarray) else values


def _row_sum(values: Rows, rows: int) -> float:
    """The sum over the rows of per-row values."""
    return float(values.sum()) if isinstance(values, np.ndarray) else float(values) * rows


def _where(flat_index: int, shape: tuple[int, ...]) -> int | tuple[int, ...]:
    """A flat index as the user's index: an int for 1-D labels, a tuple beyond."""
    if len(shape) == 1:
        return flat_index
    return tuple(int(i) for i in np.unravel_index(flat_index, shape))


def _target_shape_error(logits: tuple[int, ...], targets: tuple[int, ...]) -> ShapeError:
    """The error for targets of neither form, with a hint for the usual mistakes."""
    hint = ""
    if targets == (*logits[:-1], 1):
        fix = "targets.ravel()" if len(logits) == 2 else "targets.squeeze(-1)"
        hint = f" (labels have no trailing axis of length 1: use {fix})"
    elif len(logits) > 2 and targets == (logits[0], *logits[2:]):
        hint = (
            " (the classes must be on the last axis, not on axis 1 as in PyTorch: "
            "use np.moveaxis(logits, 1, -1))"
        )
    return ShapeError(
        f"{_NAME}: targets must be labels of shape {logits[:-1]} or probability rows of "
        f"the logits' shape {logits}, received logits {logits} and targets {targets}{hint}"
    )
