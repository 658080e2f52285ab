"""Input validation shared by layers, losses and optimizers.

Every check is a few attribute reads on the fast path, so that validation costs
nothing measurable next to the math it protects.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError


def as_float_array(owner: object, array: Any, *, what: str = "inputs") -> FloatArray:
    """Return ``array`` as a floating ndarray, or raise a ``TypeError`` naming ``owner``.

    Floating arrays pass through untouched (no copy). Integer and boolean arrays
    become float64. Object, string and other arrays are refused. ``owner`` is a
    name (a string, shown as it is) or an object (shown by its repr, built only
    for the message).
    """
    if type(array) is np.ndarray and array.dtype.kind == "f":  # the fast path: one test
        checked: FloatArray = array  # (an annotation, not a call: this path runs per layer)
        return checked
    if not isinstance(array, np.ndarray):
        try:
            array = np.asarray(array)
        except (TypeError, ValueError) as err:  # ragged nested lists, for one
            raise TypeError(
                f"{_name(owner)}: {what} must be a numeric array; could not convert "
                f"{type(array).__name__}: {err}"
            ) from None
    kind = array.dtype.kind
    if kind == "f":
        return cast(FloatArray, array)
    if kind in "biu":
        return cast(FloatArray, array.astype(np.float64))
    raise TypeError(
        f"{_name(owner)}: {what} must be a numeric array, received dtype {array.dtype} "
        f"(shape {array.shape})"
    )


def _name(owner: object) -> str:
    """A name as it is, or an object's repr."""
    return owner if isinstance(owner, str) else repr(owner)


def non_empty(owner: str, array: FloatArray, *, what: str = "predictions") -> FloatArray:
    """Return ``array`` if it holds at least one element, else raise a ``ShapeError``."""
    if array.size == 0:
        raise ShapeError(
            f"{owner}: received empty {what} of shape {array.shape}; at least one element is needed"
        )
    return array


def same_shape(owner: str, predictions: Any, targets: Any) -> tuple[FloatArray, FloatArray]:
    """Return ``predictions`` and ``targets`` as floating arrays of one, non-empty shape.

    Shared by the metrics and the losses, whose errors name ``owner``. Shapes
    must match exactly: broadcasting is refused because ``(n,)`` against
    ``(n, 1)`` would silently compare every prediction with every target.
    Dtypes are left as they are (see ``as_float_array``).

    Raises:
        TypeError: an array is not numeric.
        ShapeError: the shapes differ, or there is no element at all.
    """
    predictions = as_float_array(owner, predictions, what="predictions")
    targets = as_float_array(owner, targets, what="targets")
    if predictions.shape != targets.shape:
        hint = ""
        if predictions.shape == (*targets.shape, 1) or targets.shape == (*predictions.shape, 1):
            hint = " (only a trailing axis of length 1 differs: targets.reshape(predictions.shape))"
        raise ShapeError(
            f"{owner}: predictions and targets must have the same shape, received "
            f"predictions {predictions.shape} and targets {targets.shape}{hint}"
        )
    return non_empty(owner, predictions, what="predictions and targets"), targets


def as_features(owner: object, array: Any, features: int, dtype: DTypeLike) -> FloatArray:
    """Validate a ``(batch, ..., features)`` array and return it in ``dtype``.

    Inputs of another float dtype are cast to ``dtype`` so that a float32 model
    stays float32 whatever it is fed.
    """
    if (
        type(array) is np.ndarray
        and array.dtype == dtype
        and array.ndim >= 2
        and array.shape[-1] == features
    ):
        checked: FloatArray = array  # the fast path: every check passes, nothing to convert
        return checked
    array = as_float_array(owner, array)
    if array.ndim < 2 or array.shape[-1] != features:
        hint = ""
        if array.ndim == 1:
            hint = " (a single sample must be a row: use inputs.reshape(1, -1))"
        raise ShapeError(
            f"{owner!r}: expected inputs of shape (batch, ..., {features}), "
            f"received shape {array.shape}{hint}"
        )
    if array.dtype != dtype:
        array = array.astype(dtype)
    converted: FloatArray = array
    return converted


def check_grad_shape(owner: object, grad_output: Any, shape: tuple[int, ...]) -> FloatArray:
    """Check that ``grad_output`` has the shape of the forward output it belongs to."""
    if not (type(grad_output) is np.ndarray and grad_output.dtype.kind == "f"):
        grad_output = as_float_array(owner, grad_output, what="grad_output")
    if grad_output.shape != shape:
        raise ShapeError(
            f"{owner!r}: backward expected grad_output of shape {shape} "
            f"(the shape of the last forward output), received {grad_output.shape}"
        )
    checked: FloatArray = grad_output
    return checked


def positive_int(owner: str, name: str, value: Any) -> int:
    """Return ``value`` if it is an integer >= 1, else raise naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, received {value!r}")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be >= 1, received {value}")
    return int(value)


def positive_float(owner: str, name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is finite and > 0 (or >= 0), else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, received {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{owner}: {name} must be finite and {bound}, received {value!r}")
    return number


def float_dtype(owner: str, dtype: DTypeLike) -> np.dtype[Any]:
    """Return ``dtype`` as a NumPy dtype if it is a floating type, else raise."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{owner}: dtype must be a floating dtype, received {dtype!r}") from err
    if resolved.kind != "f":
        raise TypeError(
            f"{owner}: dtype must be a floating dtype such as np.float32 or np.float64, "
            f"received {resolved}"
        )
    return resolved


def non_negative_int(owner: str, name: str, value: Any) -> int:
    """Return ``value`` if it is an integer >= 0, else raise naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, received {value!r}")
    if value < 0:
        raise ValueError(f"{owner}: {name} must be >= 0, received {value}")
    return int(value)


def unit_interval(owner: str, name: str, value: Any) -> float:
    """Return ``value`` as a float if it lies in [0, 1], ends included, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number in [0, 1], received {value!r}")
    number = float(value)
    if not 0 <= number <= 1:  # also refuses NaN, for which every comparison is False
        raise ValueError(f"{owner}: {name} must be in [0, 1], received {value!r}")
    return number


def open_fraction(owner: str, name: str, value: Any) -> float:
    """Return ``value`` as a float if it lies strictly between 0 and 1, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number in (0, 1), received {value!r}")
    number = float(value)
    if not 0 < number < 1:  # also refuses NaN, for which every comparison is False
        raise ValueError(f"{owner}: {name} must be strictly between 0 and 1, received {value!r}")
    return number


def generator(owner: str, rng: Any) -> np.random.Generator:
    """Return ``rng``, or a fresh unseeded Generator for ``None``; refuse anything else.

    Legacy ``RandomState`` objects and integer seeds are refused on purpose:
    randomness enters the library only as an explicit ``np.random.Generator``.
    """
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{owner}: rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"received {rng!r}"
        )
    return rng


_FINITE_BLOCK = 2**20  # values per block scanned by check_finite: 1 MB of booleans


def check_finite(owner: str, name: str, array: NDArray[Any]) -> None:
    """Raise ``ValueError`` if a floating ``array`` holds NaN or infinity.

    The message gives the count and the first offending row so that the bad
    sample can be found. Integer and boolean arrays are always finite.
    """
    if array.dtype.kind not in "fc":
        return
    # scan a block at a time: no boolean temporary as large as the data (47 MB
    # for 60,000 x 784 inputs), and each block's booleans stay in cache
    flat = array.reshape(-1)
    step = _FINITE_BLOCK
    if all(np.isfinite(flat[start : start + step]).all() for start in range(0, flat.size, step)):
        return
    bad = ~np.isfinite(array)
    first = np.argwhere(bad)[0]
    raise ValueError(
        f"{owner}: {name} contains {int(bad.sum())} non-finite value(s) (NaN or inf), "
        f"the first at index {tuple(int(i) for i in first)}; clean or impute the data first"
    )


def check_weights(owner: str, name: str, weights: NDArray[Any], *, entry: str = "at index") -> None:
    """Raise ``ValueError`` unless every weight of a 1-D array is finite and >= 0.

    The message names the first negative weight and where it is: ``entry``
    reads "at index" for sample weights, "for class" for class weights.
    """
    check_finite(owner, name, weights)
    if weights.min() < 0:
        index = int(np.argmin(weights))
        raise ValueError(
            f"{owner}: {name} must be >= 0, received {weights[index].item()!r} {entry} {index}"
        )
