"""The data sets and initial weights the workloads share.

Every contender of a workload starts from the *same* initial weights, drawn
here once, so that they do the same arithmetic on the same numbers (and the
tests can check that the hand-written loop and minitorchless agree).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["iris", "mlp_weights", "synthetic_images"]


def iris() -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """All 150 iris samples, standardized, with a column of ones: ``(X, Y_one_hot, labels)``.

    ``X`` is ``(150, 5)``: the fifth column, multiplied by the first weight
    matrix, acts as the hidden layer's bias in the classic bias-free network.
    Without scikit-learn (which ships the data), random numbers of the same
    shape stand in: the timing does not depend on the values.
    """
    try:
        from sklearn.datasets import load_iris
    except ImportError:
        rng = np.random.default_rng(0)
        features = rng.standard_normal((150, 4))
        labels = np.repeat(np.arange(3), 50)
    else:
        dataset = load_iris()
        features, labels = dataset.data, dataset.target
    features = (features - features.mean(axis=0)) / features.std(axis=0)
    X = np.hstack([features, np.ones((len(features), 1))])
    return X, np.eye(3)[labels], labels.astype(np.intp)


def synthetic_images(
    samples: int, features: int = 784, classes: int = 10, *, seed: int = 0
) -> tuple[NDArray[np.float32], NDArray[np.intp]]:
    """MNIST-sized random inputs in float32 and labels a random linear teacher gives them.

    The labels depend on the inputs, so training lowers the loss and the
    contenders can be checked to learn alike; the draw is float32 from the
    start, so no float64 copy of the data is ever made.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, features), dtype=np.float32)
    teacher = rng.standard_normal((features, classes), dtype=np.float32)
    labels = np.argmax(X @ teacher, axis=1).astype(np.intp)
    return X, labels


def mlp_weights(
    sizes: list[int], *, bias: bool, dtype: Any, seed: int = 1, init: str = "glorot_uniform"
) -> list[NDArray[Any]]:
    """Initial weights of a fully connected net, as ``[W1, (b1,) W2, (b2,) ...]``.

    Weights have minitorchless's layout ``(in_features, out_features)``; biases
    start at zero. The order is that of ``model.parameters()``.
    """
    from minitorchless import init as initializers

    rng = np.random.default_rng(seed)
    arrays: list[NDArray[Any]] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        arrays.append(np.asarray(initializers.get(init)((fan_in, fan_out), rng, dtype), dtype))
        if bias:
            arrays.append(np.zeros(fan_out, dtype=dtype))
    return arrays
