"""Softmax, LeakyReLU, Identity and Dropout beyond the specimen table."""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.errors import ShapeError

DTYPES = [np.float32, np.float64]


def _vjp_torch(
    torch: ModuleType, function: Any, inputs: np.ndarray, grad_output: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """torch's outputs and input gradient for a given output gradient."""
    x = torch.tensor(inputs, requires_grad=True)
    outputs = function(x)
    outputs.backward(torch.tensor(grad_output))
    return outputs.detach().numpy(), x.grad.numpy()


# -------------------------------------------------------------------- Softmax
@pytest.mark.parametrize(("shape", "axis"), [((4, 5), -1), ((4, 5), 0), ((2, 3, 4), 1)])
def test_softmax_matches_torch(torch: ModuleType, shape: tuple[int, ...], axis: int) -> None:
    rng = np.random.default_rng(0)
    inputs, grad_output = 3 * rng.standard_normal(shape), rng.standard_normal(shape)
    layer = mtl.Softmax(axis=axis)
    outputs = layer(inputs)
    grad_input = layer.backward(grad_output)
    expected, expected_grad = _vjp_torch(
        torch, lambda x: torch.softmax(x, dim=axis), inputs, grad_output
    )
    np.testing.assert_allclose(outputs, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad_input, expected_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_is_stable_at_1000(dtype: Any) -> None:
    inputs = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]], dtype=dtype)
    layer = mtl.Softmax()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow, invalid value, anything
        outputs = layer(inputs)
        grad_input = layer.backward(np.ones_like(outputs))
    assert outputs.dtype == grad_input.dtype == dtype
    np.testing.assert_array_equal(outputs, np.array([[1, 0, 0], [0.5, 0.5, 0]], dtype=dtype))
    # the softmax of every row sums to 1, so a uniform output gradient has no effect
    np.testing.assert_array_equal(grad_input, np.zeros_like(inputs))


def test_softmax_rows_are_distributions() -> None:
    outputs = mtl.Softmax()(np.random.default_rng(1).standard_normal((6, 4)) * 10)
    assert np.all(outputs > 0)
    np.testing.assert_allclose(outputs.sum(axis=1), 1.0, rtol=1e-15)


def test_softmax_axis_errors() -> None:
    with pytest.raises(ShapeError, match=r"Softmax\(axis=2\): axis 2 is out of range .*\(4, 5\)"):
        mtl.Softmax(axis=2)(np.zeros((4, 5)))
    with pytest.raises(TypeError, match="Softmax: axis must be an integer"):
        mtl.Softmax(axis=1.0)  # type: ignore[arg-type]


def test_softmax_grad_shape_mismatch() -> None:
    layer = mtl.Softmax()
    layer(np.zeros((4, 5)))
    with pytest.raises(ShapeError, match=r"Softmax.*\(4, 5\).*\(5, 4\)"):
        layer.backward(np.zeros((5, 4)))


# ------------------------------------------------------------------ LeakyReLU
@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5])
def test_leaky_relu_matches_torch(torch: ModuleType, slope: float) -> None:
    rng = np.random.default_rng(2)
    inputs = rng.standard_normal((5, 4))
    inputs[0, :2] = 0.0  # the derivative at 0 is the slope, as in torch
    grad_output = rng.standard_normal((5, 4))
    layer = mtl.LeakyReLU(slope)
    outputs = layer(inputs)
    grad_input = layer.backward(grad_output)
    expected, expected_grad = _vjp_torch(
        torch, lambda x: torch.nn.functional.leaky_relu(x, slope), inputs, grad_output
    )
    np.testing.assert_allclose(outputs, expected, rtol=1e-15)
    np.testing.assert_allclose(grad_input, expected_grad, rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_relu_values_at_1000(dtype: Any) -> None:
    layer = mtl.LeakyReLU()
    outputs = layer(np.array([1000.0, -1000.0, 0.0], dtype=dtype))
    assert outputs.dtype == dtype
    np.testing.assert_allclose(outputs, [1000.0, -10.0, 0.0])
    np.testing.assert_allclose(layer.backward(np.ones(3, dtype=dtype)), [1.0, 0.01, 0.01])


def test_leaky_relu_slope_zero_is_relu() -> None:
    inputs = np.random.default_rng(3).standard_normal((4, 4))
    leaky, relu = mtl.LeakyReLU(0.0), mtl.ReLU()
    np.testing.assert_array_equal(leaky(inputs), relu(inputs))
    np.testing.assert_array_equal(leaky.backward(np.ones((4, 4))), relu.backward(np.ones((4, 4))))


@pytest.mark.parametrize(
    ("slope", "error"), [(-0.1, ValueError), (float("nan"), ValueError), ("0.1", TypeError)]
)
def test_leaky_relu_bad_slope(slope: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="LeakyReLU: negative_slope must"):
        mtl.LeakyReLU(slope)


# ------------------------------------------------------------------- Identity
def test_identity_passes_everything_through() -> None:
    inputs = np.arange(6, dtype=np.float32).reshape(2, 3)
    layer = mtl.Identity()
    outputs = layer(inputs)
    np.testing.assert_array_equal(outputs, inputs)
    assert outputs.dtype == np.float32
    grad_output = np.full((2, 3), 0.5)  # float64 arriving at a float32 layer
    grad_input = layer.backward(grad_output)
    assert grad_input.dtype == np.float32
    np.testing.assert_array_equal(grad_input, grad_output)
    with pytest.raises(ShapeError, match="Identity"):
        layer.backward(np.zeros((3, 2)))


# -------------------------------------------------------------------- Dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_scales_the_kept_units(p: float) -> None:
    layer = mtl.Dropout(p, rng=np.random.default_rng(4))
    inputs = np.ones((200, 500))
    outputs = layer(inputs)
    kept = outputs != 0
    np.testing.assert_allclose(outputs[kept], 1 / (1 - p), rtol=1e-15)
    # 100,000 draws: the dropped fraction is within 0.01 of p (six standard deviations or more)
    assert abs((~kept).mean() - p) < 0.01
    assert abs(outputs.mean() - 1) < 0.05  # inverted dropout keeps the expectation


def test_dropout_gradient_flows_through_the_kept_units_only() -> None:
    layer = mtl.Dropout(0.4, rng=np.random.default_rng(5))
    inputs = np.random.default_rng(6).uniform(1, 2, (30, 20))  # no zero inputs
    outputs = layer(inputs)
    grad_output = np.random.default_rng(7).standard_normal((30, 20))
    grad_input = layer.backward(grad_output)
    kept = outputs != 0
    np.testing.assert_array_equal(grad_input[~kept], 0.0)
    np.testing.assert_allclose(grad_input[kept], grad_output[kept] / 0.6, rtol=1e-15)
    # a second backward uses the same mask
    np.testing.assert_array_equal(layer.backward(grad_output), grad_input)


def test_dropout_is_the_identity_in_eval_mode() -> None:
    layer = mtl.Dropout(0.5, rng=np.random.default_rng(8))
    inputs = np.random.default_rng(9).standard_normal((10, 10))
    layer.eval()
    assert layer.training is False
    np.testing.assert_array_equal(layer(inputs), inputs)
    np.testing.assert_array_equal(layer.backward(np.ones((10, 10))), np.ones((10, 10)))
    layer.train()
    assert np.any(layer(inputs) == 0)


def test_dropout_follows_its_container() -> None:
    model = mtl.Sequential(
        mtl.Dense(5, 5, rng=np.random.default_rng(0)),
        mtl.Dropout(0.5, rng=np.random.default_rng(1)),
    )
    inputs = np.random.default_rng(2).standard_normal((8, 5))
    model.eval()
    first, second = model(inputs), model(inputs)
    np.testing.assert_array_equal(first, second)  # deterministic: no dropout
    model.train()
    assert not np.array_equal(model(inputs), model(inputs))  # a fresh mask every call


def test_dropout_p_zero_is_the_identity() -> None:
    inputs = np.random.default_rng(10).standard_normal((4, 4))
    np.testing.assert_array_equal(mtl.Dropout(0.0)(inputs), inputs)


def test_dropout_masks_repeat_with_the_same_seed() -> None:
    inputs = np.ones((20, 30))
    first, second = (mtl.Dropout(0.3, rng=np.random.default_rng(11)) for _ in range(2))
    a, b = first(inputs), second(inputs)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first(inputs), a)  # the next call draws a new mask


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_draws_its_mask_in_the_model_dtype(dtype: Any) -> None:
    layer = mtl.Dropout(0.25, rng=np.random.default_rng(12))
    inputs = np.ones((50, 40), dtype=dtype)
    outputs = layer(inputs)
    assert outputs.dtype == dtype
    assert layer.backward(np.ones((50, 40), dtype=dtype)).dtype == dtype
    # the same stream drawn directly in this dtype gives the same mask: no float64 detour
    twin = np.random.default_rng(12).random((50, 40), dtype=dtype)
    np.testing.assert_array_equal(outputs != 0, twin >= 0.25)


@pytest.mark.parametrize("p", [1, 1.0, 1.5, -0.1, float("nan")])
def test_dropout_p_must_be_in_0_1(p: float) -> None:
    with pytest.raises(ValueError, match="Dropout: p must be"):
        mtl.Dropout(p)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"p": "0.5"}, "Dropout: p must be a number"),
        ({"p": 0.5, "rng": 0}, "Dropout: rng must be a numpy.random.Generator"),
        (
            {"p": 0.5, "rng": np.random.RandomState(0)},
            "Dropout: rng must be a numpy.random.Generator",
        ),
    ],
)
def test_dropout_bad_arguments(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(TypeError, match=pattern):
        mtl.Dropout(**kwargs)


# ---------------------------------------------------------- configs and dtypes
@pytest.mark.parametrize(
    "layer", [mtl.Softmax(axis=0), mtl.LeakyReLU(0.3), mtl.Identity(), mtl.Dropout(0.2)]
)
def test_config_round_trip(layer: mtl.Layer) -> None:
    rebuilt = type(layer).from_config(layer.get_config())
    assert repr(rebuilt) == repr(layer)
    assert rebuilt.get_config() == layer.get_config()


def test_a_float32_model_stays_float32_end_to_end() -> None:
    rng = np.random.default_rng(13)
    model = mtl.Sequential(
        mtl.Dense(6, 8, bias=True, rng=rng, dtype=np.float32),
        mtl.LeakyReLU(),
        mtl.Dropout(0.2, rng=rng),
        mtl.Identity(),
        mtl.Dense(8, 3, rng=rng, dtype=np.float32),
        mtl.Softmax(),
    )
    inputs = rng.standard_normal((5, 6))  # float64 data: cast by the first layer
    outputs = model(inputs)
    assert outputs.dtype == np.float32
    for loss_fn, targets in [
        (mtl.MSELoss(), np.eye(3)[[0, 1, 2, 0, 1]]),
        (mtl.BCELoss(), np.eye(3)[[0, 1, 2, 0, 1]]),
        (mtl.L1Loss(), np.zeros((5, 3))),
    ]:
        loss_fn(outputs, targets)
        model.zero_grad()
        grad_input = model.backward(loss_fn.backward())
        assert grad_input.dtype == np.float32, type(loss_fn).__name__
        for name, parameter in model.named_parameters():
            assert parameter.grad.dtype == np.float32, name
