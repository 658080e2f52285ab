"""The hot path's shortcuts give what the fully checked path gives, and never skip a check.

Layers and losses test the usual call (a floating ndarray of the expected shape
and dtype) first, and run the general checks and conversions only when it does
not hold. Each case here feeds the same numbers both ways and compares.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless._checks import as_features


def test_as_features_passes_the_usual_array_through_and_converts_the_rest() -> None:
    x = np.arange(6.0).reshape(2, 3)
    assert as_features("Dense", x, 3, np.float64) is x  # the shortcut: the very array
    converted = as_features("Dense", x.tolist(), 3, np.float32)  # the checked path
    assert converted.dtype == np.float32
    np.testing.assert_array_equal(converted, x)
    with pytest.raises(mtl.ShapeError, match=r"\(batch, \.\.\., 4\).*\(2, 3\)"):
        as_features("Dense", x, 4, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mse_gives_the_same_bits_on_both_paths(dtype: Any) -> None:
    rng = np.random.default_rng(0)
    predictions = rng.normal(size=(5, 3)).astype(dtype)
    targets = rng.normal(size=(5, 3)).astype(dtype)
    fast, checked = mtl.MSELoss(), mtl.MSELoss()
    loss_fast = fast(predictions, targets)
    loss_checked = checked(predictions.tolist(), targets.tolist())  # lists: the checked path
    expected = float(np.mean((predictions.astype(np.float64) - targets) ** 2))
    assert loss_fast == pytest.approx(expected, rel=1e-6 if dtype == np.float32 else 1e-14)
    if dtype == np.float64:
        assert loss_fast == loss_checked
        np.testing.assert_array_equal(fast.backward(), checked.backward())
    assert fast.backward().dtype == dtype


def test_mse_still_refuses_what_the_shortcut_does_not_take() -> None:
    loss_fn = mtl.MSELoss()
    with pytest.raises(mtl.ShapeError, match="MSELoss"):
        loss_fn(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(mtl.ShapeError, match="MSELoss"):
        loss_fn(np.zeros((0, 2)), np.zeros((0, 2)))
    # targets of another dtype take the predictions' dtype on the checked path
    value = loss_fn(np.ones((2, 2), dtype=np.float32), np.zeros((2, 2)))
    assert value == 1.0 and loss_fn.backward().dtype == np.float32


def test_dense_backward_checks_and_casts_an_unusual_gradient() -> None:
    dense = mtl.Dense(3, 2, bias=True, rng=np.random.default_rng(0), dtype=np.float32)
    x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    grad = np.random.default_rng(2).normal(size=(4, 2))
    results = []
    for given in (grad.astype(np.float32), grad, grad.tolist()):  # usual, float64, a list
        dense(x)
        dense.weight.zero_grad()
        dense.bias.zero_grad()
        results.append((dense.backward(given), dense.weight.grad.copy(), dense.bias.grad.copy()))
    for got in results[1:]:
        for a, b in zip(results[0], got, strict=True):
            assert b.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-6)
    dense(x)
    with pytest.raises(mtl.ShapeError, match=r"Dense.*\(4, 2\).*\(4, 3\)"):
        dense.backward(np.zeros((4, 3), dtype=np.float32))


@pytest.mark.parametrize("layer", [mtl.Sigmoid(), mtl.Tanh(), mtl.ReLU()], ids=repr)
def test_activation_backward_takes_any_numeric_gradient_and_checks_its_shape(
    layer: mtl.Layer,
) -> None:
    x = np.array([[-1.5, 0.5, 2.0]])
    layer(x)
    usual = layer.backward(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(layer.backward(np.array([[1, 2, 3]])), usual)  # integers
    np.testing.assert_array_equal(layer.backward([[1.0, 2.0, 3.0]]), usual)  # a list
    with pytest.raises(mtl.ShapeError, match=r"\(1, 3\).*\(1, 2\)"):
        layer.backward(np.ones((1, 2)))
    with pytest.raises(TypeError, match="numeric"):
        layer.backward(np.array([["a", "b", "c"]]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_is_its_derivative_times_the_gradient(dtype: Any) -> None:
    rng = np.random.default_rng(0)
    relu = mtl.ReLU()
    outputs = relu(rng.normal(size=(6, 5)).astype(dtype))
    grad = rng.normal(size=(6, 5)).astype(dtype)
    fused = relu.backward(grad)
    assert fused.dtype == dtype
    np.testing.assert_array_equal(fused, relu.derivative(outputs) * grad)
