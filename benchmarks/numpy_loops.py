"""Hand-written NumPy training loops: the limit for a NumPy framework.

These are the loops a careful NumPy programmer writes by hand for one fixed
network: the forward and backward passes unrolled, no objects, no checks, no
gradient for the data. They compute the same math as the minitorchless
contenders, from the same initial weights, and report the cost every step as
a training loop does. They are written plainly, the way the classic tutorial
writes them, not tuned with ``out=`` arguments: the question the benchmark
asks is what a framework costs over code a person would write.

``classic_framework_floor`` is the exception: not a contender a person would
write, but the framework's own array operations without the framework, which
tells the framework's Python apart from its arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

import minitorchless as mtl

__all__ = ["classic_framework_floor", "classic_sigmoid_mse", "relu_cross_entropy_epoch"]

Array = NDArray[Any]


def classic_sigmoid_mse(
    X: Array, Y: Array, W1: Array, W2: Array, *, lr: float, epochs: int
) -> float:
    """The classic bias-free sigmoid network with MSE, full batch; updates W1, W2 in place.

    Returns the cost of the last epoch, computed every epoch as the tutorial does.
    """
    cost = 0.0
    for _ in range(epochs):
        A1 = 1 / (1 + np.exp(-(X @ W1)))
        Y_hat = 1 / (1 + np.exp(-(A1 @ W2)))
        error = Y_hat - Y
        cost = float(np.mean(error**2))
        delta2 = 2 / Y.size * error * Y_hat * (1 - Y_hat)
        delta1 = (delta2 @ W2.T) * A1 * (1 - A1)
        W2 -= lr * (A1.T @ delta2)
        W1 -= lr * (X.T @ delta1)
    return cost


def classic_framework_floor(
    X: Array, Y: Array, W1: Array, W2: Array, *, lr: float, epochs: int, input_grad: bool
) -> float:
    """The array operations a minitorchless epoch of the classic network runs, and nothing else.

    Every NumPy call of ``Dense``, ``Sigmoid``, ``MSELoss`` and ``SGD`` on this
    network, in their order, with their ``out=`` arguments, written inline:
    no layer objects, no checks, no caches (the sigmoid's own array functions,
    ``Sigmoid.function`` and ``Sigmoid.derivative``, are called as they are).
    It is the floor of the framework's loop: what it would cost if the Python
    around the array operations were free. ``input_grad`` adds the first
    layer's dL/dx, which ``backward`` computes and ``backward_parameters``
    skips. ``tests/test_benchmarks.py`` holds its weights bit for bit equal to
    the framework's.
    """
    sigmoid = mtl.Sigmoid()
    activate, derivative = sigmoid.function, sigmoid.derivative
    grad1, grad2 = np.empty_like(W1), np.empty_like(W2)
    cost = 0.0
    for _ in range(epochs):
        A1 = activate(X @ W1)
        Y_hat = activate(A1 @ W2)
        error = Y_hat - Y
        flat = error.reshape(-1)
        cost = float(flat @ flat) / error.size
        delta2 = derivative(Y_hat)  # Sigmoid.backward: g'(z), times the gradient
        delta2 *= error * error.dtype.type(2.0 * (1 / error.size))  # MSELoss.backward
        np.matmul(A1.T, delta2, out=grad2)  # written into the zeroed gradient
        delta1 = derivative(A1)
        delta1 *= delta2 @ W2.T
        np.matmul(X.T, delta1, out=grad1)
        if input_grad:
            _ = delta1 @ W1.T  # computed and dropped, as the result of backward is
        W1 -= lr * grad1
        W2 -= lr * grad2
    return cost


def relu_cross_entropy_epoch(
    X: Array,
    labels: Array,
    params: list[Array],
    *,
    lr: float,
    batch_size: int,
    rng: np.random.Generator,
) -> float:
    """One shuffled epoch of SGD on a 2-hidden-layer ReLU net with softmax cross-entropy.

    ``params`` is ``[W1, b1, W2, b2, W3, b3]``, updated in place. Returns the
    mean loss of the last batch.
    """
    W1, b1, W2, b2, W3, b3 = params
    loss = 0.0
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        index = order[start : start + batch_size]
        x, y = X[index], labels[index]
        n = len(index)
        rows = np.arange(n)
        # forward
        A1 = np.maximum(x @ W1 + b1, 0)
        A2 = np.maximum(A1 @ W2 + b2, 0)
        Z3 = A2 @ W3 + b3
        # softmax cross-entropy, shifted by the row maximum so nothing overflows
        Z3 -= Z3.max(axis=1, keepdims=True)
        E = np.exp(Z3)
        sums = E.sum(axis=1)
        loss = float(np.mean(np.log(sums) - Z3[rows, y]))
        # backward: delta3 = (softmax - one_hot) / n
        delta3 = E / sums[:, None]
        delta3[rows, y] -= 1
        delta3 /= n
        delta2 = (delta3 @ W3.T) * (A2 > 0)
        delta1 = (delta2 @ W2.T) * (A1 > 0)
        # update
        W3 -= lr * (A2.T @ delta3)
        b3 -= lr * delta3.sum(axis=0)
        W2 -= lr * (A1.T @ delta2)
        b2 -= lr * delta2.sum(axis=0)
        W1 -= lr * (x.T @ delta1)
        b1 -= lr * delta1.sum(axis=0)
    return loss
