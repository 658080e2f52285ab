"""The data ``fit``, ``evaluate`` and ``predict`` take: one array, a tuple, or a dict by input name.

A model with several inputs (a ``Graph`` built with several) is given ``X``
as a tuple of arrays in the order of its ``input_names``, or as a dict keyed
by those names. Internally ``X`` is always a tuple of checked arrays, batched,
shuffled and split together with ``y`` and the sample weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless._checks import check_weights, open_fraction
from minitorchless.data import num_samples
from minitorchless.layers.base import Layer
from minitorchless.train.arguments import as_data

__all__ = [
    "Arrays",
    "Data",
    "as_dataset",
    "as_inputs",
    "as_sample_weight",
    "class_sample_weight",
    "model_inputs",
    "rows",
    "split_validation",
]

Arrays = tuple[NDArray[Any], ...]
"""The inputs of a model, one array per input, in the order the model takes them."""


def _several(model: Layer) -> bool:
    return model.input_arity() != (1, 1)


def _labelled(owner: str, name: str, X: Any, model: Layer) -> list[tuple[str, Any]]:
    """``X`` as ``(label, array)`` pairs in the model's input order."""
    if isinstance(X, Mapping):
        names: list[str] | None = getattr(model, "input_names", None)
        if names is None:
            raise TypeError(
                f"{owner}: {name} is a dict, which needs a Graph with named inputs; "
                f"{type(model).__name__} takes one array"
            )
        missing = [key for key in names if key not in X]
        unexpected = [key for key in X if key not in names]
        if missing or unexpected:
            raise ValueError(
                f"{owner}: {name} must have one entry per input of the Graph, {names}; "
                f"missing {missing}, unexpected {unexpected}"
            )
        return [(f"{name}[{key!r}]", X[key]) for key in names]
    if _several(model) and isinstance(X, (tuple, list)):
        return [(f"{name}[{index}]", array) for index, array in enumerate(X)]
    return [(name, X)]


def as_inputs(owner: str, name: str, X: Any, model: Layer, *, train: bool = True) -> Arrays:
    """Check ``X`` against the model's number of inputs; each array aligned.

    For training (``train``) each array must also be numeric and finite, and
    floats get the model's dtype; inference takes arrays as they are.
    """
    labelled = _labelled(owner, name, X, model)
    low, high = model.input_arity()
    if not low <= len(labelled) <= (high if high is not None else len(labelled)):
        expected = f"{low}" if low == high else f"at least {low}"
        raise ValueError(
            f"{owner}: {type(model).__name__} takes {expected} input(s), received {name} "
            f"with {len(labelled)} array(s); pass a tuple of arrays or a dict by input name"
        )
    labels = tuple(label for label, _ in labelled)
    num_samples(owner, *(array for _, array in labelled), names=labels)
    if not train:
        return tuple(np.asarray(array) for _, array in labelled)
    return tuple(as_data(owner, label, array, model) for label, array in labelled)


def model_inputs(arrays: Sequence[NDArray[Any]]) -> Any:
    """What the model is called on: the array itself, or a list of them."""
    return arrays[0] if len(arrays) == 1 else list(arrays)


def as_sample_weight(owner: str, weight: ArrayLike | None, samples: int) -> NDArray[Any] | None:
    """One finite, non-negative weight per sample, as a float64 vector (or ``None``)."""
    if weight is None:
        return None
    array = np.asarray(weight, dtype=np.float64)
    if array.shape != (samples,):
        raise ValueError(
            f"{owner}: sample_weight must hold one weight per sample, shape ({samples},), "
            f"received shape {array.shape}"
        )
    check_weights(owner, "sample_weight", array)
    return array


def class_sample_weight(
    owner: str, class_weight: Mapping[int, float], y: NDArray[Any]
) -> NDArray[Any]:
    """Keras's ``class_weight``: each row weighs what its class does (1 for classes not named).

    Labels are integers, or one-hot (or probability) rows whose class is the
    largest entry, as Keras reads them.
    """
    if not isinstance(class_weight, Mapping):
        raise TypeError(
            f"{owner}: class_weight must be a dict {{class: weight}}, received {class_weight!r}"
        )
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    if labels.dtype.kind == "f" and not (labels == np.round(labels)).all():
        raise ValueError(f"{owner}: class_weight needs whole-number labels in y")
    labels = labels.astype(np.int64)
    table = np.ones(max(int(labels.max()), *map(int, class_weight), 0) + 1)
    for label, weight in class_weight.items():
        if int(label) < 0:
            raise ValueError(f"{owner}: class_weight has the negative class {label!r}")
        table[int(label)] = float(weight)
    check_weights(owner, "class_weight", table, entry="for class")
    if labels.min() < 0:
        raise ValueError(f"{owner}: class_weight needs labels >= 0, received {labels.min()}")
    weights: NDArray[Any] = table[labels]
    return weights


Data = tuple[Arrays, NDArray[Any], NDArray[Any] | None]
"""Inputs, targets and sample weights (or ``None``), row-aligned."""


def as_dataset(
    owner: str,
    names: tuple[str, str],
    model: Layer,
    data: tuple[Any, Any, Any],
    *,
    train: bool = True,
) -> Data:
    """Check inputs, targets and sample weights together: ``(arrays, y, weight)``."""
    X, y, weight = data
    inputs = as_inputs(owner, names[0], X, model, train=train)
    num_samples(owner, inputs[0], y, names=names)
    targets = as_data(owner, names[1], y, model) if train else np.asarray(y)
    return inputs, targets, as_sample_weight(owner, weight, len(targets))


def rows(data: Data, part: slice) -> Data:
    """The same rows of every array of ``data``."""
    inputs, targets, weight = data
    return (
        tuple(array[part] for array in inputs),
        targets[part],
        None if weight is None else weight[part],
    )


def split_validation(
    model: Layer,
    data: Data,
    validation_data: Any,
    validation_split: float | None,
) -> tuple[Data, Data | None]:
    """The training rows and the validation data, from either argument (or neither).

    ``validation_split`` holds out the *last* rows, before any shuffling, as
    Keras does. ``validation_data`` is ``(X_val, y_val)`` or
    ``(X_val, y_val, sample_weight_val)``.
    """
    if validation_data is not None and validation_split is not None:
        raise ValueError("fit: pass validation_data or validation_split, not both")
    if validation_split is not None:
        n = len(data[1])
        fraction = open_fraction("fit", "validation_split", validation_split)
        split = int(n * (1 - fraction))
        if split in (0, n):
            raise ValueError(
                f"fit: validation_split={fraction} of {n} samples leaves {split} for "
                f"training and {n - split} for validation; both need at least 1"
            )
        return rows(data, slice(None, split)), rows(data, slice(split, None))
    if validation_data is None:
        return data, None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise TypeError(
            "fit: validation_data must be a pair (X_val, y_val) or a triple "
            "(X_val, y_val, sample_weight_val)"
        )
    X_val, y_val, *weight = validation_data
    names = ("validation_data X_val", "validation_data y_val")
    return data, as_dataset("fit", names, model, (X_val, y_val, weight[0] if weight else None))
