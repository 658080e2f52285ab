"""The testing kit itself must catch broken layers, and explain what it found."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import ArrayLike

import minitorchless as mtl
from minitorchless.testing import GradcheckError, LayerCheckError, check_layer, gradcheck


class Square(mtl.Layer):
    """A correct parameter-free layer: y = x^2."""

    def forward(self, inputs: ArrayLike) -> Any:
        x = np.asarray(inputs)
        self._cache = x
        return x * x

    def backward(self, grad_output: Any) -> Any:
        return 2 * self._cached() * grad_output


class WrongSquare(Square):
    def backward(self, grad_output: Any) -> Any:
        return 3 * self._cached() * grad_output  # wrong on purpose


class Scale(mtl.Layer):
    """y = x * w, with a parameter; ``bug`` selects a contract violation."""

    def __init__(self, features: int, bug: str = "") -> None:
        super().__init__()
        self.scale = mtl.Parameter(np.linspace(0.5, 1.5, features))
        self.bug = bug

    def own_parameters(self) -> list[tuple[str, mtl.Parameter]]:
        return [("scale", self.scale)]

    def forward(self, inputs: ArrayLike) -> Any:
        x = np.asarray(inputs)
        if self.bug == "mutate":
            x *= 1.0
            x += 0.0
            x[...] = x + 1e-3
        self._cache = x
        out = x * self.scale.value
        return out.astype(np.float64) if self.bug == "upcast" else out

    def backward(self, grad_output: Any) -> Any:
        x = self._cached()
        contribution = (grad_output * x).sum(axis=0)
        if self.bug == "assign":
            self.scale.grad = contribution
        else:
            self.scale.grad += contribution
        return grad_output * self.scale.value


def test_gradcheck_passes_a_correct_layer_and_reports() -> None:
    report = gradcheck(Square(), np.random.default_rng(0).standard_normal((3, 4)))
    assert report.checked == {"inputs": 12}
    assert report.max_relative_error["inputs"] < 1e-7


def test_gradcheck_failure_names_tensor_index_values_and_error() -> None:
    x = np.array([[1.0, 2.0]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongSquare(), x)
    message = str(info.value)
    assert "gradcheck failed for WrongSquare" in message
    assert "inputs[0, 0]" in message and "inputs[0, 1]" in message
    assert "analytic" in message and "numerical" in message and "relative error" in message


def test_gradcheck_names_the_broken_parameter() -> None:
    model = mtl.Sequential(mtl.Dense(2, 2, rng=np.random.default_rng(0)), Scale(2))
    original = Scale.backward

    def half_grad(self: Scale, grad_output: Any) -> Any:
        result = original(self, grad_output)
        self.scale.grad *= 0.5
        return result

    Scale.backward = half_grad  # type: ignore[method-assign]
    try:
        with pytest.raises(GradcheckError, match=r"1\.scale\[0\]"):
            gradcheck(model, np.ones((2, 2)))
    finally:
        Scale.backward = original  # type: ignore[method-assign]


def test_gradcheck_leaves_the_layer_untouched() -> None:
    layer = mtl.Dense(3, 2, dtype=np.float32, rng=np.random.default_rng(0))
    before = layer.weight.value.copy()
    gradcheck(layer, np.ones((2, 3)), rtol=1e-4)
    assert layer.weight.value.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.value, before)
    assert not layer.weight.grad.any()


@pytest.mark.parametrize(
    ("bug", "rule"),
    [("mutate", "inputs untouched"), ("upcast", "dtype kept"), ("assign", "gradients accumulate")],
)
def test_check_layer_catches_contract_breaks(bug: str, rule: str) -> None:
    x = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)
    with pytest.raises(LayerCheckError, match=rule):
        check_layer(Scale(2, bug=bug).to(np.float32), x)


def test_check_layer_catches_wrong_gradients() -> None:
    with pytest.raises(GradcheckError):
        check_layer(WrongSquare(), np.ones((2, 2)))


def test_check_layer_catches_a_missing_backward_guard() -> None:
    class NoGuard(Square):
        def backward(self, grad_output: Any) -> Any:
            return grad_output

    with pytest.raises(LayerCheckError, match="backward before forward: no error"):
        check_layer(NoGuard(), np.ones((2, 2)))


def test_check_layer_catches_unrepeatable_construction() -> None:
    def factory(rng: np.random.Generator) -> mtl.Dense:
        return mtl.Dense(2, 2)  # ignores rng: a fresh random draw each time

    with pytest.raises(LayerCheckError, match="construction is not repeatable"):
        check_layer(factory, np.ones((2, 2)))


def test_check_layer_passes_user_layers() -> None:
    report = check_layer(Scale(3), np.random.default_rng(1).standard_normal((4, 3)))
    assert set(report.checked) == {"inputs", "scale"}
