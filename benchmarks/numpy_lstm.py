"""A hand-written NumPy LSTM, forward and backward through time, as a learner writes one.

The textbook loop (CS231n's assignment 3, "Deep Learning from Scratch 2"): per
step, the gate pre-activations ``x_t W_x + h W_h + b`` with the four gates side
by side, the step's values kept in a list, and in backward the step's
gradients accumulated into ``dW_x``, ``dW_h`` and ``db`` as the loop goes.
The gates are in PyTorch's order (i, f, g, o); ``W_x`` is ``(F, 4H)``,
``W_h`` ``(H, 4H)`` (the transposes of PyTorch's), and the one bias ``b`` is
``b_ih + b_hh``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["lstm_backward", "lstm_forward"]

Array = NDArray[Any]


def _sigmoid(a: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-a))


def lstm_forward(x: Array, w_x: Array, w_h: Array, b: Array) -> tuple[Array, list[Any]]:
    """``x`` ``(N, T, F)`` -> the hidden states ``(N, T, H)`` and the steps' caches."""
    batch, steps, _ = x.shape
    hidden = w_h.shape[0]
    h = np.zeros((batch, hidden), dtype=x.dtype)
    c = np.zeros_like(h)
    outputs = np.empty((batch, steps, hidden), dtype=x.dtype)
    caches = []
    for t in range(steps):
        a = x[:, t] @ w_x + h @ w_h + b
        i, f = _sigmoid(a[:, :hidden]), _sigmoid(a[:, hidden : 2 * hidden])
        g, o = np.tanh(a[:, 2 * hidden : 3 * hidden]), _sigmoid(a[:, 3 * hidden :])
        c_next = f * c + i * g
        tanh_c = np.tanh(c_next)
        h_next = o * tanh_c
        caches.append((x[:, t], h, c, i, f, g, o, tanh_c))
        h, c = h_next, c_next
        outputs[:, t] = h
    return outputs, caches


def lstm_backward(
    grad_outputs: Array, caches: list[Any], w_x: Array, w_h: Array
) -> tuple[Array, Array, Array, Array]:
    """dL/dx, dL/dW_x, dL/dW_h and dL/db from dL/d(outputs) ``(N, T, H)``."""
    batch, steps, hidden = grad_outputs.shape
    dx = np.empty((batch, steps, w_x.shape[0]), dtype=grad_outputs.dtype)
    dw_x, dw_h = np.zeros_like(w_x), np.zeros_like(w_h)
    db = np.zeros(4 * hidden, dtype=grad_outputs.dtype)
    dh_next = np.zeros((batch, hidden), dtype=grad_outputs.dtype)
    dc_next = np.zeros_like(dh_next)
    for t in reversed(range(steps)):
        x_t, h_prev, c_prev, i, f, g, o, tanh_c = caches[t]
        dh = grad_outputs[:, t] + dh_next
        dc = dc_next + dh * o * (1 - tanh_c**2)
        da = np.concatenate(
            [
                dc * g * i * (1 - i),
                dc * c_prev * f * (1 - f),
                dc * i * (1 - g**2),
                dh * tanh_c * o * (1 - o),
            ],
            axis=1,
        )
        dx[:, t] = da @ w_x.T
        dw_x += x_t.T @ da
        dw_h += h_prev.T @ da
        db += da.sum(axis=0)
        dh_next = da @ w_h.T
        dc_next = dc * f
    return dx, dw_x, dw_h, db
