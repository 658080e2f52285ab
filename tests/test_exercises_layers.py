"""The exercises are graded against the library's own layers, not only their references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from minitorchless.teaching import exercises
from minitorchless.teaching.exercises import layers, solutions

NEW_LAYERS = ("conv2d", "batch_norm", "lstm_step", "attention")


def test_the_new_layers_exercises_exist_with_hints() -> None:
    for name in NEW_LAYERS:
        assert name in exercises.EXERCISES and name in layers.TWINS
        assert len(exercises.EXERCISES[name].hints) >= 2


@pytest.mark.parametrize("name", sorted(layers.TWINS))
def test_the_reference_agrees_with_the_library_layer(name: str) -> None:
    assert exercises.compare_with_layer(name, exercises.EXERCISES[name].reference) == ""


@pytest.mark.parametrize("name", sorted(layers.TWINS))
def test_the_twin_computes_something_to_compare(name: str) -> None:
    exercise = exercises.EXERCISES[name]
    inputs = exercise.inputs(np.random.default_rng(0))
    stub = exercise.reference()
    outputs = stub(inputs)
    grad = layers.upstream(name, outputs, np.random.default_rng(1))
    _, grad_input, grads = layers.TWINS[name][1](stub, inputs, grad)
    parts = grad_input if isinstance(grad_input, tuple) else (grad_input,)
    assert all(np.abs(part).max() > 1e-3 for part in parts)
    assert sorted(grads) == sorted(key for key, _ in stub.own_parameters())


def test_a_convolution_that_flips_its_kernel_is_not_the_library_s() -> None:
    class TrueConvolution(solutions.Conv2dSolution):
        def forward(self, inputs: Any) -> Any:
            self.weight.value[...] = self.weight.value[:, :, ::-1, ::-1]
            try:
                return super().forward(inputs)
            finally:
                self.weight.value[...] = self.weight.value[:, :, ::-1, ::-1]

    assert exercises.compare_with_layer("conv2d", TrueConvolution) == (
        "the forward differs from mtl.Conv2d's"
    )


def test_a_batch_norm_with_a_doubled_gamma_gradient_is_caught() -> None:
    class Doubled(solutions.BatchNormSolution):
        def backward(self, grad_output: Any) -> Any:
            grad_input = super().backward(grad_output)
            self.gamma.grad *= 2
            return grad_input

    assert exercises.compare_with_layer("batch_norm", Doubled) == (
        "the gradient of 'gamma' differs from mtl.BatchNorm1d's"
    )
    grade = exercises.grade("batch_norm", Doubled)
    assert not grade.passed and "dL/dgamma = sum(G * X_hat)" in str(grade)


def test_an_lstm_step_that_forgets_the_forget_gate_is_caught() -> None:
    class NoForget(solutions.LSTMCellSolution):
        def backward(self, grad_output: Any) -> Any:
            grad_x, grad_h, grad_c = super().backward(grad_output)
            f = self.saved()[4]
            return grad_x, grad_h, grad_c / f  # dL/dc without the factor f

    assert exercises.compare_with_layer("lstm_step", NoForget) == (
        "the input gradient differs from mtl.LSTM's"
    )
    grade = exercises.grade("lstm_step", NoForget)
    assert not grade.passed and "the forget gate scales the old cell" in str(grade)


def test_attention_without_the_softmax_jacobian_is_caught() -> None:
    class NoJacobian(solutions.AttentionSolution):
        def backward(self, grad_output: Any) -> Any:
            x, q, k, v, a = self.saved()
            self.save_for_backward(x, q, k, v, np.ones_like(a) * a.mean())
            return super().backward(grad_output)

    assert "differs from mtl.MultiheadAttention's" in exercises.compare_with_layer(
        "attention", NoJacobian
    )


def test_an_exercise_without_a_library_layer_compares_nothing() -> None:
    assert "softmax_cross_entropy" not in layers.TWINS
    reference = exercises.EXERCISES["softmax_cross_entropy"].reference
    assert exercises.compare_with_layer("softmax_cross_entropy", reference) == ""


def test_the_teachers_page_names_every_layer_an_exercise_is_held_against() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "exercises.md").read_text()
    for name, (layer, _) in layers.TWINS.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"`mtl.{layer}`" in row, row
