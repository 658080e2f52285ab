"""Reference solutions of the exercises: each stub with its backward written out.

A teacher's answer key, and the grader's reference. ``exercises.solution``
shows one only when asked with ``reveal=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minitorchless.teaching.exercises.stubs import (
    AttentionStub,
    BatchNormStub,
    Conv2dStub,
    DenseStub,
    LSTMCellStub,
    SigmoidStub,
    SoftmaxCrossEntropyStub,
)

__all__ = [
    "AttentionSolution",
    "BatchNormSolution",
    "Conv2dSolution",
    "DenseSolution",
    "LSTMCellSolution",
    "SigmoidSolution",
    "SoftmaxCrossEntropySolution",
]


class DenseSolution(DenseStub):
    def backward(self, grad_output: Any) -> Any:
        x = self.saved()
        self.weight.grad += x.T @ grad_output  # dL/dW = X^T G
        self.bias.grad += grad_output.sum(axis=0)  # b is added to every row: sum over them
        return grad_output @ self.weight.value.T  # dL/dX = G W^T


class SigmoidSolution(SigmoidStub):
    def backward(self, grad_output: Any) -> Any:
        s = self.saved()
        return grad_output * s * (1 - s)  # sigmoid'(z) = s (1 - s)


class SoftmaxCrossEntropySolution(SoftmaxCrossEntropyStub):
    def backward(self, grad_output: Any) -> Any:
        p = self.saved()
        grad = p.copy()
        grad[np.arange(len(p)), self.labels] -= 1  # dl_i/dz_i = softmax(z_i) - onehot(y_i)
        return grad * grad_output[:, None]


class Conv2dSolution(Conv2dStub):
    def backward(self, grad_output: Any) -> Any:
        x, windows = self.saved()
        weight = self.weight.value
        self.weight.grad += np.einsum("nchwuv,nohw->ocuv", windows, grad_output)
        self.bias.grad += grad_output.sum(axis=(0, 2, 3))
        grad_input = np.zeros_like(x)
        height, width = grad_output.shape[2:]
        for u in range(weight.shape[2]):  # each kernel offset sends G back to its pixels
            for v in range(weight.shape[3]):
                grad_input[:, :, u : u + height, v : v + width] += np.einsum(
                    "nohw,oc->nchw", grad_output, weight[:, :, u, v]
                )
        return grad_input


class BatchNormSolution(BatchNormStub):
    def backward(self, grad_output: Any) -> Any:
        x_hat, inv_std = self.saved()
        self.gamma.grad += (grad_output * x_hat).sum(axis=0)
        self.beta.grad += grad_output.sum(axis=0)
        g = grad_output * self.gamma.value  # dL/dX_hat
        # the mean and the variance depend on every row: two corrections to g
        return inv_std * (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0))


class LSTMCellSolution(LSTMCellStub):
    def backward(self, grad_output: Any) -> Any:
        x, h, c, i, f, g, o, tanh_c = self.saved()
        grad_h, grad_c = grad_output
        grad_c = grad_c + grad_h * o * (1 - tanh_c**2)  # c_next reaches L directly and via h
        grad_a = np.concatenate(
            [
                grad_c * g * i * (1 - i),  # i = sigmoid(a_i)
                grad_c * c * f * (1 - f),  # f = sigmoid(a_f)
                grad_c * i * (1 - g**2),  # g = tanh(a_g)
                grad_h * tanh_c * o * (1 - o),  # o = sigmoid(a_o)
            ],
            axis=1,
        )
        self.weight_ih.grad += grad_a.T @ x
        self.weight_hh.grad += grad_a.T @ h
        self.bias.grad += grad_a.sum(axis=0)
        return grad_a @ self.weight_ih.value, grad_a @ self.weight_hh.value, grad_c * f


class AttentionSolution(AttentionStub):
    def backward(self, grad_output: Any) -> Any:
        x, q, k, v, a = self.saved()
        scale = 1 / np.sqrt(x.shape[-1])
        grad_v = a.transpose(0, 2, 1) @ grad_output
        grad_a = grad_output @ v.transpose(0, 2, 1)
        # softmax's Jacobian, row by row: dS = A * (dA - sum(dA * A))
        grad_s = a * (grad_a - (grad_a * a).sum(axis=-1, keepdims=True))
        grad_q = grad_s @ k * scale
        grad_k = grad_s.transpose(0, 2, 1) @ q * scale
        for weight, grad in ((self.wq, grad_q), (self.wk, grad_k), (self.wv, grad_v)):
            weight.grad += np.einsum("nte,ntf->ef", x, grad)
        return grad_q @ self.wq.value.T + grad_k @ self.wk.value.T + grad_v @ self.wv.value.T
