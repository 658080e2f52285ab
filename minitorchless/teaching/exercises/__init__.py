"""Exercises for learners and teachers: write the backward, the conformance kit grades it.

Each exercise is a layer whose forward is written and whose backward is not:
subclass its stub, write ``backward``, and ``grade`` runs the whole layer
contract on it (``check_layer``: finite differences, accumulation, shapes...),
then compares it with a reference solution. When something is wrong, the
feedback names the likely mistake::

    from minitorchless.teaching import exercises

    class MyDense(exercises.DenseStub):
        def backward(self, grad_output):
            ...

    print(exercises.grade("dense", MyDense))

``exercises.EXERCISES`` lists them: dense, sigmoid, softmax cross-entropy,
conv2d, batch norm, an LSTM step and attention. Where the library has the
layer (``Conv2d``, ``BatchNorm1d``, ``LSTM``, ``MultiheadAttention``...), the
grade also holds the answer against it: ``compare_with_layer``.
``exercises.BUG_ZOO`` holds broken layers to diagnose, with the answers behind
``answer(reveal=True)``, and ``solution(name, reveal=True)`` prints a
reference backward.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minitorchless.layers.base import Layer
from minitorchless.teaching.exercises import layers, solutions, stubs
from minitorchless.teaching.exercises.stubs import (
    AttentionStub,
    BatchNormStub,
    Conv2dStub,
    DenseStub,
    LSTMCellStub,
    SigmoidStub,
    SoftmaxCrossEntropyStub,
)
from minitorchless.teaching.exercises.zoo import BUG_ZOO, Exhibit
from minitorchless.testing import GradcheckError, LayerCheckError, check_layer

__all__ = [
    "BUG_ZOO",
    "EXERCISES",
    "AttentionStub",
    "BatchNormStub",
    "Conv2dStub",
    "DenseStub",
    "Exercise",
    "Exhibit",
    "Grade",
    "LSTMCellStub",
    "SigmoidStub",
    "SoftmaxCrossEntropyStub",
    "compare_with_layer",
    "grade",
    "solution",
]


@dataclass(frozen=True)
class Exercise:
    """One exercise: the stub to subclass, its reference, a batch, and hints.

    Attributes:
        name: Its key in ``EXERCISES``.
        stub: The class to subclass; its docstring states the forward.
        reference: The reference solution (a subclass of the stub).
        inputs: Makes a batch to grade on (a tuple of arrays for several inputs).
        hints: What to remember, shown with a failed grade.
    """

    name: str
    stub: type[Layer]
    reference: type[Layer]
    inputs: Callable[[np.random.Generator], Any]
    hints: tuple[str, ...] = ()


def _normal(*shape: int) -> Callable[[np.random.Generator], Any]:
    return lambda rng: rng.standard_normal(shape)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex
    for ex in [
        Exercise(
            "dense",
            DenseStub,
            solutions.DenseSolution,
            _normal(5, 4),
            ("dL/dW has W's shape (in, out): X^T G", "b is added to every row: sum G over rows"),
        ),
        Exercise(
            "sigmoid",
            SigmoidStub,
            solutions.SigmoidSolution,
            _normal(5, 4),
            ("sigmoid'(z) is s (1 - s), from the output alone",),
        ),
        Exercise(
            "softmax_cross_entropy",
            SoftmaxCrossEntropyStub,
            solutions.SoftmaxCrossEntropySolution,
            _normal(4, 3),
            ("dl_i/dz_i = softmax(z_i) - onehot(y_i)", "scale row i by dL/dl_i"),
        ),
        Exercise(
            "conv2d",
            Conv2dStub,
            solutions.Conv2dSolution,
            _normal(2, 2, 5, 5),
            (
                "dL/dW correlates the input windows with G",
                "dL/db sums G over batch and pixels",
                "dL/dX sends G back through every kernel offset",
                "dL/dX has X's shape, larger than G: add G * W into each window, don't crop",
            ),
        ),
        Exercise(
            "batch_norm",
            BatchNormStub,
            solutions.BatchNormSolution,
            _normal(6, 3),
            (
                "mu and var depend on every row of X: dL/dX has three terms",
                "dL/dgamma = sum(G * X_hat), dL/dbeta = sum(G), both over the rows",
                "var divides by N, not N - 1, as the forward does",
            ),
        ),
        Exercise(
            "lstm_step",
            LSTMCellStub,
            solutions.LSTMCellSolution,
            lambda rng: (
                rng.standard_normal((4, 3)),
                rng.standard_normal((4, 2)),
                rng.standard_normal((4, 2)),
            ),
            (
                "c_next reaches L directly and through h_next: add both",
                "return (dL/dx, dL/dh, dL/dc) in the order of the inputs",
                "dL/dc = (the total dL/dc_next) * f: the forget gate scales the old cell",
                "the gates' slopes come from their outputs: i (1 - i), 1 - g**2",
            ),
        ),
        Exercise(
            "attention",
            AttentionStub,
            solutions.AttentionSolution,
            _normal(2, 3, 4),
            (
                "softmax's Jacobian: dS = A * (dA - sum(dA * A, axis=-1))",
                "X reaches Y through Q, K and V: add the three",
                "dL/dV = A^T dY and dL/dA = dY V^T, per sample; dS carries the 1 / sqrt(E)",
            ),
        ),
    ]
}


@dataclass
class Grade:
    """A grade: ``passed``, and what the kit said, with hints when it failed."""

    exercise: str
    passed: bool
    feedback: str
    hints: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"{self.exercise}: {'passed' if self.passed else 'not yet'}"
        lines = [head, *("  " + line for line in self.feedback.splitlines())]
        lines += [f"  hint: {hint}" for hint in self.hints]
        return "\n".join(lines)


def _agrees_with_reference(exercise: Exercise, learner: type[Layer], inputs: Any) -> str:
    """What differs from the reference solution on the same batch, or ``""``."""
    mine, theirs = learner(), exercise.reference()
    grad = np.random.default_rng(1).standard_normal
    outputs = mine(inputs)
    theirs(inputs)
    parts = outputs if isinstance(outputs, tuple) else (outputs,)
    grads = tuple(grad(np.shape(part)) for part in parts)
    given = grads if len(grads) > 1 else grads[0]
    mine_in, theirs_in = mine.backward(given), theirs.backward(given)
    for name, p in mine.named_parameters():
        if not np.allclose(p.grad, dict(theirs.named_parameters())[name].grad, atol=1e-9):
            return f"the gradient of {name!r} differs from the reference solution's"
    mine_parts = mine_in if isinstance(mine_in, tuple) else (mine_in,)
    theirs_parts = theirs_in if isinstance(theirs_in, tuple) else (theirs_in,)
    if not all(np.allclose(a, b, atol=1e-9) for a, b in zip(mine_parts, theirs_parts, strict=True)):
        return "the input gradient differs from the reference solution's"
    return ""


def _parts(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _close(a: Any, b: Any) -> bool:
    return all(
        np.shape(x) == np.shape(y) and np.allclose(x, y, atol=1e-9)
        for x, y in zip(_parts(a), _parts(b), strict=True)
    )


def compare_with_layer(name: str, layer_class: type[Layer]) -> str:
    """What differs between a layer class and the library's layer for exercise ``name``.

    The library's layer (``Conv2d``, ``BatchNorm1d``, one ``LSTM`` step,
    ``MultiheadAttention``...) gets the stub's parameters and the same batch
    and upstream gradient. Returns ``""`` when the outputs, the input
    gradients and every parameter's gradient agree, else what differs; also
    ``""`` for an exercise the library has no layer for.
    """
    if name not in layers.TWINS:
        return ""
    layer, twin = layers.TWINS[name]
    inputs = EXERCISES[name].inputs(np.random.default_rng(0))
    mine = layer_class()
    outputs = mine(inputs)
    grad = layers.upstream(name, outputs, np.random.default_rng(1))
    grad_input = mine.backward(grad)
    real_outputs, real_grad_input, real_grads = twin(mine, inputs, grad)
    if not _close(outputs, real_outputs):
        return f"the forward differs from mtl.{layer}'s"
    for parameter, value in real_grads.items():
        if not _close(dict(mine.own_parameters())[parameter].grad, value):
            return f"the gradient of {parameter!r} differs from mtl.{layer}'s"
    if not _close(grad_input, real_grad_input):
        return f"the input gradient differs from mtl.{layer}'s"
    return ""


def grade(name: str, layer_class: type[Layer]) -> Grade:
    """Grade a learner's layer class for exercise ``name``.

    The layer is built with the stub's default arguments, checked by
    ``check_layer`` (every rule of the contract, gradients by finite
    differences) and compared with the reference solution.
    """
    if name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}; choose from {sorted(EXERCISES)}")
    exercise = EXERCISES[name]
    if not (isinstance(layer_class, type) and issubclass(layer_class, exercise.stub)):
        raise TypeError(f"grade: pass your class, a subclass of {exercise.stub.__name__}")
    inputs = exercise.inputs(np.random.default_rng(0))
    try:
        report = check_layer(layer_class(), inputs)
        different = _agrees_with_reference(exercise, layer_class, inputs)
        different = different or compare_with_layer(name, layer_class)
    except NotImplementedError as err:
        return Grade(name, False, f"backward is not written yet: {err}", list(exercise.hints))
    except (LayerCheckError, GradcheckError) as err:
        return Grade(name, False, str(err), list(exercise.hints))
    if different:
        return Grade(name, False, different, list(exercise.hints))
    return Grade(name, True, str(report))


def solution(name: str, reveal: bool = False) -> str:
    """The reference backward of exercise ``name``, as source, when ``reveal=True``."""
    if name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}; choose from {sorted(EXERCISES)}")
    if not reveal:
        raise PermissionError(
            f"the solution to {name!r} is hidden: try grade() first, then "
            f"solution({name!r}, reveal=True)"
        )
    return inspect.getsource(EXERCISES[name].reference)


_ = stubs  # the module, for ``exercises.stubs.DenseStub`` and friends
