"""Dense: the math, initialisation, dtypes and every bad input."""

from __future__ import annotations

import numpy as np
import pytest

import minitorchless as mtl


def test_forward_is_x_times_w_plus_b(rng: np.random.Generator) -> None:
    layer = mtl.Dense(3, 2, bias=True, rng=rng)
    layer.bias.value[:] = [0.5, -1.0]
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(layer(x), x @ layer.weight.value + [0.5, -1.0])


def test_backward_by_hand(rng: np.random.Generator) -> None:
    layer = mtl.Dense(3, 2, bias=True, rng=rng)
    x = rng.standard_normal((4, 3))
    delta = rng.standard_normal((4, 2))
    layer(x)
    grad_input = layer.backward(delta)
    np.testing.assert_allclose(layer.weight.grad, x.T @ delta)
    np.testing.assert_allclose(layer.bias.grad, delta.sum(axis=0))
    np.testing.assert_allclose(grad_input, delta @ layer.weight.value.T)


def test_bias_free_by_default() -> None:
    layer = mtl.Dense(5, 4)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.shape == (5, 4)


def test_same_rng_same_weights() -> None:
    a = mtl.Dense(5, 4, rng=np.random.default_rng(3))
    b = mtl.Dense(5, 4, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.weight.value, b.weight.value)


def test_global_random_state_is_untouched() -> None:
    np.random.seed(11)
    expected = np.random.random()
    np.random.seed(11)
    mtl.Dense(5, 4, rng=np.random.default_rng(0))
    mtl.Dense(5, 4)
    assert np.random.random() == expected


@pytest.mark.parametrize("init", sorted(mtl.init.INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_initializer_builds_in_dtype(init: str, dtype: type) -> None:
    layer = mtl.Dense(64, 32, rng=np.random.default_rng(0), dtype=dtype, init=init)
    assert layer.weight.dtype == dtype
    assert np.isfinite(layer.weight.value).all()


def test_initializer_scales() -> None:
    rng = np.random.default_rng(0)
    shape = (400, 300)
    assert abs(mtl.init.normal(shape, rng).std() - 1.0) < 0.01
    assert abs(mtl.init.he_normal(shape, rng).std() - np.sqrt(2 / 400)) < 0.001
    assert abs(mtl.init.glorot_normal(shape, rng).std() - np.sqrt(2 / 700)) < 0.001
    limit = np.sqrt(6 / 700)
    w = mtl.init.glorot_uniform(shape, rng)
    assert w.max() <= limit and w.min() >= -limit and w.max() > 0.95 * limit
    assert np.abs(mtl.init.uniform(shape, rng)).max() <= 1 / np.sqrt(400)
    assert np.abs(mtl.init.he_uniform(shape, rng)).max() <= np.sqrt(6 / 400)


def test_custom_initializer_callable() -> None:
    layer = mtl.Dense(2, 3, init=lambda shape, rng, dtype: np.full(shape, 0.5, dtype=dtype))
    np.testing.assert_array_equal(layer.weight.value, np.full((2, 3), 0.5))
    with pytest.raises(mtl.ShapeError, match=r"init returned shape \(3, 2\)"):
        mtl.Dense(2, 3, init=lambda shape, rng, dtype: np.zeros((3, 2)))
    with pytest.raises(ValueError, match="unknown initializer 'nope'"):
        mtl.Dense(2, 3, init="nope")


def test_float32_model_stays_float32_for_float64_and_int_inputs() -> None:
    layer = mtl.Dense(3, 2, bias=True, dtype=np.float32, rng=np.random.default_rng(0))
    for x in (np.ones((2, 3)), np.ones((2, 3), dtype=np.int64), [[1, 2, 3]]):
        out = layer(x)
        assert out.dtype == np.float32
        grad = layer.backward(np.ones(out.shape, dtype=np.float32))
        assert grad.dtype == np.float32
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32


@pytest.mark.parametrize(
    ("inputs", "error", "fragment"),
    [
        (
            np.ones((4, 3)),
            mtl.ShapeError,
            r"expected inputs of shape \(batch, \.\.\., 5\), received shape \(4, 3\)",
        ),
        (np.ones(5), mtl.ShapeError, r"received shape \(5,\) \(a single sample must be a row"),
        (np.ones((2, 3, 4)), mtl.ShapeError, r"received shape \(2, 3, 4\)"),
        (np.array([["a"] * 5]), TypeError, "must be a numeric array, received dtype <U1"),
        (np.array([[object()] * 5]), TypeError, "received dtype object"),
        ([[1, 2], [3]], TypeError, "could not convert list"),
    ],
)
def test_bad_inputs_name_the_layer_and_shapes(inputs: object, error: type, fragment: str) -> None:
    layer = mtl.Dense(5, 4)
    with pytest.raises(error, match=fragment) as info:
        layer(inputs)
    assert "Dense(in_features=5, out_features=4" in str(info.value)


def test_wrong_grad_output_shape() -> None:
    layer = mtl.Dense(5, 4)
    layer(np.ones((3, 5)))
    with pytest.raises(mtl.ShapeError, match=r"expected grad_output of shape \(3, 4\).*\(3, 5\)"):
        layer.backward(np.ones((3, 5)))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "fragment"),
    [
        ((0, 4), {}, ValueError, "in_features must be >= 1, received 0"),
        ((5, -1), {}, ValueError, "out_features must be >= 1, received -1"),
        ((5.0, 4), {}, TypeError, "in_features must be an integer, received 5.0"),
        ((True, 4), {}, TypeError, "in_features must be an integer"),
        ((5, 4), {"dtype": np.int32}, TypeError, "floating dtype"),
        ((5, 4), {"rng": 0}, TypeError, "rng must be a numpy.random.Generator"),
    ],
)
def test_bad_construction(args: tuple, kwargs: dict, error: type, fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        mtl.Dense(*args, **kwargs)
