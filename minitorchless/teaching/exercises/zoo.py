"""The bug zoo: layers with one planted bug each, to diagnose with the conformance kit.

Each exhibit is a layer whose backward (or bookkeeping) is wrong in a way
learners often get wrong. Run ``check_layer`` on it, read what the kit says,
find the line, and compare with the answer (``exhibit.answer(reveal=True)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from minitorchless.layers.base import Layer
from minitorchless.teaching.exercises.stubs import BatchNormStub, DenseStub, SigmoidStub

__all__ = ["BUG_ZOO", "Exhibit"]


@dataclass(frozen=True)
class Exhibit:
    """One broken layer, the inputs to check it on, and the bug, behind a flag.

    Attributes:
        name: Its name in the zoo.
        build: Makes the broken layer.
        inputs: A batch to run ``check_layer`` on.
        question: What to find out.
    """

    name: str
    build: Callable[[], Layer]
    inputs: Any
    question: str
    _answer: str

    def answer(self, reveal: bool = False) -> str:
        """The bug, in words, once you have looked for it: ``reveal=True``."""
        if not reveal:
            raise PermissionError(
                f"the answer to {self.name!r} is hidden: run check_layer on the exhibit, find "
                f"the bug, then call answer(reveal=True)"
            )
        return self._answer


class _AveragedTwice(DenseStub):
    def backward(self, grad_output: Any) -> Any:
        x = self.saved()
        self.weight.grad += x.T @ grad_output / len(x)
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.value.T


class _BiasOfOneSample(DenseStub):
    def backward(self, grad_output: Any) -> Any:
        x = self.saved()
        self.weight.grad += x.T @ grad_output
        self.bias.grad += grad_output[0]
        return grad_output @ self.weight.value.T


class _Assigned(DenseStub):
    def backward(self, grad_output: Any) -> Any:
        x = self.saved()
        self.weight.grad[...] = x.T @ grad_output
        self.bias.grad[...] = grad_output.sum(axis=0)
        return grad_output @ self.weight.value.T


class _NotTransposed(DenseStub):
    def backward(self, grad_output: Any) -> Any:
        x = self.saved()
        self.weight.grad += grad_output.T @ x  # (out, in): a square layer hides it
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.value.T


class _SignFlipped(SigmoidStub):
    def backward(self, grad_output: Any) -> Any:
        s = self.saved()
        return grad_output * s * (s - 1)


class _NoMeanTerms(BatchNormStub):
    def backward(self, grad_output: Any) -> Any:
        x_hat, inv_std = self.saved()
        self.gamma.grad += (grad_output * x_hat).sum(axis=0)
        self.beta.grad += grad_output.sum(axis=0)
        return inv_std * grad_output * self.gamma.value  # as if mean and variance were fixed


_X = np.random.default_rng(11).standard_normal((5, 3))

BUG_ZOO: dict[str, Exhibit] = {
    exhibit.name: exhibit
    for exhibit in [
        Exhibit(
            "averaged twice",
            lambda: _AveragedTwice(3, 2),
            _X,
            "The loss already averages over the batch. What went wrong with dL/dW?",
            "dL/dW is divided by the batch size: the loss's mean already did that",
        ),
        Exhibit(
            "one sample's bias",
            lambda: _BiasOfOneSample(3, 2),
            _X,
            "The weight is right. Why is the bias gradient not?",
            "dL/db takes grad_output[0], one sample; it must sum over the batch (axis 0)",
        ),
        Exhibit(
            "assigned",
            lambda: _Assigned(3, 2),
            _X,
            "The gradients are right once. What breaks when a layer is used twice?",
            "the gradients are assigned (=) instead of added (+=), so a second backward "
            "replaces the first use's share",
        ),
        Exhibit(
            "not transposed",
            lambda: _NotTransposed(3, 3),
            _X,
            "A square layer: the shapes fit. Is dL/dW right?",
            "dL/dW is computed as (G^T X), which has the shape (out, in); it must be X^T G",
        ),
        Exhibit(
            "sign flipped",
            lambda: _SignFlipped(),
            _X,
            "Training with this sigmoid climbs the loss. Why?",
            "the derivative is written s (s - 1), the negative of s (1 - s)",
        ),
        Exhibit(
            "no mean terms",
            lambda: _NoMeanTerms(3),
            _X,
            "The parameters' gradients pass. What does dL/dX forget?",
            "the batch mean and variance depend on every input: dL/dX lacks the two terms "
            "-mean(g) and -x_hat * mean(g * x_hat)",
        ),
    ]
}
