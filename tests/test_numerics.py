"""Numerical behaviour shared by every activation: extremes, dtypes and NaN policy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minitorchless as mtl

ACTIVATIONS = sorted(
    (
        cls
        for cls in vars(mtl).values()
        if isinstance(cls, type) and issubclass(cls, mtl.Activation) and cls is not mtl.Activation
    ),
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize("cls", ACTIVATIONS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_and_silent_at_plus_minus_1000(cls: type, dtype: type) -> None:
    layer = cls()
    x = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = layer(x)
        grad = layer.backward(np.ones_like(out))
    assert out.dtype == dtype and grad.dtype == dtype
    assert np.isfinite(out).all() and np.isfinite(grad).all()


def test_sigmoid_values_at_the_extremes() -> None:
    out = mtl.Sigmoid()(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0]))
    assert out[0] == 0.0 and out[-1] == 1.0 and out[2] == 0.5
    # relative accuracy far into the tail, where 1 - tanh-style formulas lose everything
    np.testing.assert_allclose(out[1], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-14)


def test_tanh_and_relu_values() -> None:
    x = np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0])
    np.testing.assert_array_equal(mtl.Tanh()(x), np.tanh(x))
    np.testing.assert_array_equal(mtl.ReLU()(x), [0.0, 0.0, 0.0, 2.0, 1000.0])


def test_derivatives_come_from_the_cached_output() -> None:
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    ones = np.ones_like(x)
    s = 1 / (1 + np.exp(-x))
    sigmoid = mtl.Sigmoid()
    sigmoid(x)
    np.testing.assert_allclose(sigmoid.backward(ones), s * (1 - s))
    tanh = mtl.Tanh()
    tanh(x)
    np.testing.assert_allclose(tanh.backward(ones), 1 - np.tanh(x) ** 2)
    relu = mtl.ReLU()
    relu(x)
    np.testing.assert_array_equal(relu.backward(ones), [[0, 0, 0, 1, 1]])


def test_nan_and_inf_inputs_propagate_without_warnings() -> None:
    """The documented policy: layers propagate NaN/inf as IEEE arithmetic does.

    Checking every batch would cost a pass over the data in every layer;
    ``fit`` refuses non-finite data once, up front, instead.
    """
    model = mtl.Sequential(mtl.Dense(3, 2, rng=np.random.default_rng(0)), mtl.Sigmoid())
    x = np.array([[np.nan, 0.0, 1.0], [0.0, 1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = model(x)
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()
    loss = mtl.MSELoss()(out, np.zeros_like(out))
    assert np.isnan(loss)


def test_activation_refuses_strings() -> None:
    with pytest.raises(TypeError, match=r"Tanh\(\): inputs must be a numeric array"):
        mtl.Tanh()(np.array(["1", "2"]))
