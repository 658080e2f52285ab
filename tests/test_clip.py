"""Gradient clipping against torch.nn.utils.clip_grad_norm_ and clip_grad_value_."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest

import minitorchless as mtl

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def _gradients(scale: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) * scale for shape in SHAPES]


def _pair(torch: ModuleType, grads: list[np.ndarray]) -> tuple[list[mtl.Parameter], list[object]]:
    ours, theirs = [], []
    for grad in grads:
        parameter = mtl.Parameter(np.zeros(grad.shape))
        parameter.grad[...] = grad
        ours.append(parameter)
        tensor = torch.zeros(grad.shape, requires_grad=True)
        tensor.grad = torch.tensor(grad)
        theirs.append(tensor)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, 0.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.0, 0.3, 1e3])
def test_clip_grad_norm_matches_torch(torch: ModuleType, norm_type: float, max_norm: float) -> None:
    ours, theirs = _pair(torch, _gradients(2.0))
    total = mtl.clip_grad_norm(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, float)
    assert total == pytest.approx(float(expected), rel=1e-12)
    for parameter, tensor in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(parameter.grad, tensor.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_scales_to_max_norm() -> None:
    parameters = [mtl.Parameter(np.zeros(2)), mtl.Parameter(np.zeros(1))]
    parameters[0].grad[...] = [3.0, 0.0]
    parameters[1].grad[...] = [4.0]
    assert mtl.clip_grad_norm(parameters, 1.0) == 5.0  # sqrt(3^2 + 4^2)
    np.testing.assert_allclose(parameters[0].grad, [3 / (5 + 1e-6), 0.0], rtol=1e-15)
    assert mtl.clip_grad_norm(parameters, 10.0) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(parameters[1].grad, [4 / (5 + 1e-6)], rtol=1e-15)  # unchanged


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_norm_spreads_as_in_torch(torch: ModuleType, bad: float) -> None:
    grads = _gradients(1.0)
    grads[1][0] = bad
    ours, theirs = _pair(torch, grads)
    total = mtl.clip_grad_norm(ours, 1.0)
    expected = float(torch.nn.utils.clip_grad_norm_(theirs, 1.0))
    assert math.isnan(total) == math.isnan(expected) and (math.isnan(total) or total == expected)
    for parameter, tensor in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(parameter.grad, tensor.grad.numpy())
    fresh, _ = _pair(torch, grads)
    before = [parameter.grad.copy() for parameter in fresh]
    with pytest.raises(ValueError, match=r"clip_grad_norm: the total norm of order 2\.0"):
        mtl.clip_grad_norm(fresh, 1.0, error_if_nonfinite=True)
    for parameter, grad in zip(fresh, before, strict=True):
        np.testing.assert_array_equal(parameter.grad, grad)


@pytest.mark.parametrize("clip_value", [0.0, 0.5, 100.0])
def test_clip_grad_value_matches_torch(torch: ModuleType, clip_value: float) -> None:
    ours, theirs = _pair(torch, _gradients(1.0, seed=1))
    assert mtl.clip_grad_value(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for parameter, tensor in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(parameter.grad, tensor.grad.numpy())


def test_frozen_parameters_are_left_out() -> None:
    live, frozen = mtl.Parameter(np.zeros(1)), mtl.Parameter(np.zeros(1), requires_grad=False)
    live.grad[...] = 3.0
    frozen.grad[...] = 4.0
    assert mtl.clip_grad_norm([live, frozen], 1.0) == 3.0
    mtl.clip_grad_value([live, frozen], 0.5)
    assert live.grad[0] == 0.5 and frozen.grad[0] == 4.0


def test_float32_stays_float32_in_place() -> None:
    parameter = mtl.Parameter(np.zeros(4, dtype=np.float32))
    parameter.grad[...] = 10.0
    grad = parameter.grad
    total = mtl.clip_grad_norm(parameter, 1.0)  # a single parameter is accepted
    assert total == 20.0
    assert parameter.grad is grad and grad.dtype == np.float32
    np.testing.assert_allclose(grad, np.full(4, 0.5), rtol=1e-6)
    mtl.clip_grad_value(parameter, 0.25)
    assert parameter.grad is grad and grad.dtype == np.float32


def test_a_model_and_no_parameters() -> None:
    model = mtl.Sequential(mtl.Dense(3, 2, rng=np.random.default_rng(0)))
    model(np.ones((4, 3)))
    model.zero_grad()
    model.backward(np.ones((4, 2)))
    assert mtl.clip_grad_norm(model.parameters(), 1.0) > 1.0
    assert mtl.clip_grad_norm([], 1.0) == 0.0  # as torch: nothing to clip


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda p: mtl.clip_grad_norm(p, -1.0), ValueError, "clip_grad_norm: max_norm must be"),
        (lambda p: mtl.clip_grad_norm(p, 1.0, 0), ValueError, "norm_type must be > 0 or inf"),
        (lambda p: mtl.clip_grad_norm(p, 1.0, "2"), TypeError, "norm_type must be a number"),
        (lambda p: mtl.clip_grad_norm([np.zeros(2)], 1.0), TypeError, "received ndarray"),
        (lambda p: mtl.clip_grad_value(p, -0.5), ValueError, "clip_grad_value: clip_value must"),
    ],
)
def test_bad_arguments(call: object, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        call([mtl.Parameter(np.zeros(2))])  # type: ignore[operator]
