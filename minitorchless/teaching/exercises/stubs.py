"""The exercises' layers with their forward written and their backward left to the learner.

Each stub's ``forward`` computes its outputs in plain NumPy and saves, with
``save_for_backward``, everything a backward needs; its docstring gives the
forward's equations. ``backward`` raises ``NotImplementedError`` until the
learner writes it in a subclass. The weights come from the ``rng`` argument,
so that a grader builds the learner's layer and the reference one alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from minitorchless.layers.base import Layer

__all__ = [
    "AttentionStub",
    "BatchNormStub",
    "Conv2dStub",
    "DenseStub",
    "LSTMCellStub",
    "SigmoidStub",
    "SoftmaxCrossEntropyStub",
]


class _Stub(Layer):
    """What every stub shares: a backward to write, and a config for the kit."""

    def backward(self, grad_output: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__}.backward is yours to write: subclass the stub and "
            f"return dL/d(inputs), adding each parameter's gradient into its .grad (+=)"
        )

    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    def _remember(self, **config: Any) -> None:
        self._config = config


class DenseStub(_Stub):
    """``Y = X W + b``: X ``(N, in)``, W ``(in, out)``, b ``(out,)``, Y ``(N, out)``."""

    def __init__(self, n_in: int = 4, n_out: int = 3, seed: int = 0) -> None:
        super().__init__()
        self._remember(n_in=n_in, n_out=n_out, seed=seed)
        rng = np.random.default_rng(seed)
        self.weight = self.add_parameter("weight", rng.standard_normal((n_in, n_out)))
        self.bias = self.add_parameter("bias", rng.standard_normal(n_out))

    def forward(self, inputs: Any) -> Any:
        x = np.asarray(inputs, dtype=np.float64)
        self.save_for_backward(x)
        return x @ self.weight.value + self.bias.value


class SigmoidStub(_Stub):
    """``S = 1 / (1 + exp(-Z))``, element-wise."""

    def forward(self, inputs: Any) -> Any:
        s = 1 / (1 + np.exp(-np.asarray(inputs, dtype=np.float64)))
        self.save_for_backward(s)
        return s

    def get_config(self) -> dict[str, Any]:
        return {}


class SoftmaxCrossEntropyStub(_Stub):
    """One loss per sample: ``l_i = -log(softmax(z_i)[y_i])`` for logits ``(N, C)``.

    The labels ``y`` are fixed when the layer is built (``labels``), so that
    the layer maps logits to the ``(N,)`` losses and its backward takes
    ``dL/dl``, one number per sample.
    """

    def __init__(self, labels: tuple[int, ...] = (0, 2, 1, 2)) -> None:
        super().__init__()
        self._remember(labels=tuple(labels))
        self.labels = np.asarray(labels)

    def forward(self, inputs: Any) -> Any:
        z = np.asarray(inputs, dtype=np.float64)
        shifted = z - z.max(axis=1, keepdims=True)  # stable: every exponent <= 0
        p = np.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        self.save_for_backward(p)
        return -np.log(p[np.arange(len(z)), self.labels])


class Conv2dStub(_Stub):
    """A 2-D convolution (cross-correlation), stride 1, no padding.

    ``Y[n, o, i, j] = b[o] + sum_{c, u, v} X[n, c, i + u, j + v] * W[o, c, u, v]``
    for X ``(N, C, H, W)``, W ``(O, C, K, K)``, Y ``(N, O, H - K + 1, W - K + 1)``.
    """

    def __init__(self, channels: int = 2, filters: int = 3, kernel: int = 3, seed: int = 0) -> None:
        super().__init__()
        self._remember(channels=channels, filters=filters, kernel=kernel, seed=seed)
        rng = np.random.default_rng(seed)
        self.weight = self.add_parameter(
            "weight", rng.standard_normal((filters, channels, kernel, kernel)) / kernel
        )
        self.bias = self.add_parameter("bias", rng.standard_normal(filters))

    def forward(self, inputs: Any) -> Any:
        x = np.asarray(inputs, dtype=np.float64)
        k = self.weight.value.shape[-1]
        windows = sliding_window_view(x, (k, k), axis=(2, 3))  # (N, C, H', W', K, K)
        self.save_for_backward(x, windows)
        out = np.einsum("nchwuv,ocuv->nohw", windows, self.weight.value)
        return out + self.bias.value[None, :, None, None]


class BatchNormStub(_Stub):
    """Batch normalization of ``(N, D)`` in training mode (the batch's own statistics).

    ``mu = mean(X, axis=0)``, ``var = mean((X - mu)**2, axis=0)``,
    ``X_hat = (X - mu) / sqrt(var + eps)``, ``Y = gamma * X_hat + beta``.
    """

    def __init__(self, features: int = 3, eps: float = 1e-5, seed: int = 0) -> None:
        super().__init__()
        self._remember(features=features, eps=eps, seed=seed)
        rng = np.random.default_rng(seed)
        self.eps = eps
        self.gamma = self.add_parameter("gamma", 1 + 0.1 * rng.standard_normal(features))
        self.beta = self.add_parameter("beta", 0.1 * rng.standard_normal(features))

    def forward(self, inputs: Any) -> Any:
        x = np.asarray(inputs, dtype=np.float64)
        mu = x.mean(axis=0)
        inv_std = 1 / np.sqrt(((x - mu) ** 2).mean(axis=0) + self.eps)
        x_hat = (x - mu) * inv_std
        self.save_for_backward(x_hat, inv_std)
        return self.gamma.value * x_hat + self.beta.value


class LSTMCellStub(_Stub):
    """One LSTM step: inputs ``(x, h, c)``, outputs ``(h_next, c_next)``.

    ``a = x W_ih^T + h W_hh^T + b`` split into four ``(N, H)`` blocks, then
    ``i = sigmoid(a_i)``, ``f = sigmoid(a_f)``, ``g = tanh(a_g)``,
    ``o = sigmoid(a_o)``, ``c_next = f * c + i * g``, ``h_next = o * tanh(c_next)``.
    W_ih is ``(4H, I)``, W_hh ``(4H, H)``, b ``(4H,)``, as PyTorch lays them out.
    """

    def __init__(self, n_in: int = 3, hidden: int = 2, seed: int = 0) -> None:
        super().__init__()
        self._remember(n_in=n_in, hidden=hidden, seed=seed)
        rng = np.random.default_rng(seed)
        scale = 1 / np.sqrt(hidden)
        self.weight_ih = self.add_parameter(
            "weight_ih", rng.uniform(-scale, scale, (4 * hidden, n_in))
        )
        self.weight_hh = self.add_parameter(
            "weight_hh", rng.uniform(-scale, scale, (4 * hidden, hidden))
        )
        self.bias = self.add_parameter("bias", rng.uniform(-scale, scale, 4 * hidden))

    def input_arity(self) -> tuple[int, int | None]:
        return (3, 3)

    def forward(self, inputs: Any) -> Any:
        x, h, c = (np.asarray(part, dtype=np.float64) for part in inputs)
        a = x @ self.weight_ih.value.T + h @ self.weight_hh.value.T + self.bias.value
        a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
        i, f, o = (1 / (1 + np.exp(-block)) for block in (a_i, a_f, a_o))
        g = np.tanh(a_g)
        c_next = f * c + i * g
        tanh_c = np.tanh(c_next)
        self.save_for_backward(x, h, c, i, f, g, o, tanh_c)
        return o * tanh_c, c_next

    def output_shape(self, input_shape: Any) -> Any:
        return [input_shape[1], input_shape[2]]


class AttentionStub(_Stub):
    """Single-head self-attention on ``(N, T, E)``.

    ``Q = X Wq``, ``K = X Wk``, ``V = X Wv`` (each W ``(E, E)``),
    ``S = Q K^T / sqrt(E)``, ``A = softmax(S)`` over the last axis, ``Y = A V``.
    """

    def __init__(self, embed: int = 4, seed: int = 0) -> None:
        super().__init__()
        self._remember(embed=embed, seed=seed)
        rng = np.random.default_rng(seed)
        self.wq = self.add_parameter("wq", rng.standard_normal((embed, embed)) / 2)
        self.wk = self.add_parameter("wk", rng.standard_normal((embed, embed)) / 2)
        self.wv = self.add_parameter("wv", rng.standard_normal((embed, embed)) / 2)

    def forward(self, inputs: Any) -> Any:
        x = np.asarray(inputs, dtype=np.float64)
        q, k, v = x @ self.wq.value, x @ self.wk.value, x @ self.wv.value
        s = q @ k.transpose(0, 2, 1) / np.sqrt(x.shape[-1])
        a = np.exp(s - s.max(axis=-1, keepdims=True))
        a /= a.sum(axis=-1, keepdims=True)
        self.save_for_backward(x, q, k, v, a)
        return a @ v
