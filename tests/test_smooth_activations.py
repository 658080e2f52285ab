"""GELU, SiLU, ELU and Softplus beyond the specimen table: torch, their edges, and bad input."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorchless as mtl
from minitorchless.testing import compare_with_torch

# (our layer, torch's module) for every option worth telling apart
CASES: dict[str, Callable[[Any], tuple[mtl.Layer, Any]]] = {
    "GELU": lambda nn: (mtl.GELU(), nn.GELU()),
    "GELU(tanh)": lambda nn: (mtl.GELU("tanh"), nn.GELU("tanh")),
    "SiLU": lambda nn: (mtl.SiLU(), nn.SiLU()),
    "ELU": lambda nn: (mtl.ELU(), nn.ELU()),
    "ELU(0.4)": lambda nn: (mtl.ELU(0.4), nn.ELU(0.4)),
    "ELU(0)": lambda nn: (mtl.ELU(0.0), nn.ELU(0.0)),
    "Softplus": lambda nn: (mtl.Softplus(), nn.Softplus()),
    "Softplus(3, 2)": lambda nn: (mtl.Softplus(3.0, 2.0), nn.Softplus(3.0, 2.0)),
    "Softplus(0.5, -1)": lambda nn: (mtl.Softplus(0.5, -1.0), nn.Softplus(0.5, -1.0)),
}


@st.composite
def batches(draw: st.DrawFn) -> np.ndarray:
    """Rank 1 to 4, values from the middle, from the tails, and exact zeros."""
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    scale = draw(st.sampled_from([1.0, 5.0, 40.0]))
    x = rng.standard_normal(shape) * scale
    x[rng.random(shape) < 0.1] = 0.0
    return x


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_at_any_rank(torch: ModuleType, name: str) -> None:
    @settings(
        max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(x=batches())
    def check(x: np.ndarray) -> None:
        layer, module = CASES[name](torch.nn)
        compare_with_torch(layer, module, x, rtol=1e-10, atol=1e-14)

    check()


def test_gelu_is_x_times_the_normal_cdf_even_far_in_the_tail() -> None:
    x = np.concatenate([np.linspace(-37.5, 8, 4551), [-1e-300, 1e-300]])  # normal results
    exact = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    outputs = mtl.GELU()(x)
    # relative accuracy where 1 + erf(x / sqrt 2) would have cancelled to nothing; what is
    # left is the rounding of x / sqrt 2, which erfc magnifies by about x^2
    assert outputs[x == 0] == 0
    x, outputs, exact = x[x != 0], outputs[x != 0], exact[x != 0]
    relative = np.abs(outputs - exact) / np.abs(exact)
    assert (relative <= 4e-16 * (4 + x * x)).all()
    assert mtl.GELU()(np.array([-30.0]))[0] < 0  # torch's own formula rounds it to -0


def test_elu_derivative_at_zero_is_alpha_as_in_torch(torch: ModuleType) -> None:
    for alpha in (1.0, 0.3):
        layer = mtl.ELU(alpha)
        layer(np.zeros(3))
        np.testing.assert_array_equal(layer.backward(np.ones(3)), alpha)
        x = torch.zeros(3, requires_grad=True)
        torch.nn.functional.elu(x, alpha).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), alpha)


def test_softplus_linear_region_is_exact_and_starts_after_the_threshold() -> None:
    layer = mtl.Softplus(beta=2.0, threshold=4.0)
    x = np.array([1.5, 2.0, 2.0000001, 50.0, 1e300])  # beta x = 3, 4 (curve), then linear
    outputs = layer(x)
    np.testing.assert_array_equal(outputs[2:], x[2:])
    assert outputs[1] == pytest.approx(math.log1p(math.exp(4.0)) / 2, rel=1e-15)
    np.testing.assert_array_equal(layer.backward(np.ones(5))[2:], 1.0)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_raise_no_warning(name: str, dtype: Any) -> None:
    class Modules:  # the layers alone, without torch
        def __getattr__(self, attribute: str) -> Callable[..., None]:
            return lambda *args, **kwargs: None

    layer, _ = CASES[name](Modules())
    info = np.finfo(dtype)
    x = np.array([-info.max, -1e30, -100, -1, 0, 1, 100, 1e30, info.max], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow, invalid value, anything
        outputs = layer(x)
        grad = layer.backward(np.ones_like(x))
    assert outputs.dtype == grad.dtype == dtype
    assert np.isfinite(outputs).all() and np.isfinite(grad).all()


def test_configs_round_trip() -> None:
    for layer in (mtl.GELU("tanh"), mtl.SiLU(), mtl.ELU(0.5), mtl.Softplus(2.0, 10.0)):
        rebuilt = type(layer).from_config(layer.get_config())
        assert repr(rebuilt) == repr(layer)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: mtl.GELU("exact"), ValueError, r"GELU: approximate must be 'none' or 'tanh'"),
        (lambda: mtl.ELU(-1.0), ValueError, r"ELU: alpha must be finite and >= 0, received -1.0"),
        (lambda: mtl.Softplus(0.0), ValueError, r"Softplus: beta must be finite and > 0"),
        (lambda: mtl.Softplus(1.0, "20"), TypeError, r"Softplus: threshold must be a number"),
        (lambda: mtl.Softplus(1.0, math.inf), ValueError, r"threshold must be finite.*inf"),
    ],
)
def test_refuses_bad_arguments(build: Callable[[], Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        build()


def test_refuses_text_and_a_gradient_of_the_wrong_shape() -> None:
    layer = mtl.GELU()
    with pytest.raises(TypeError, match=r"GELU\(approximate='none'\): inputs must be a numeric"):
        layer(np.array(["a"]))
    layer(np.zeros((2, 3)))
    with pytest.raises(mtl.ShapeError, match=r"grad_output of shape \(2, 3\).*\(3, 2\)"):
        layer.backward(np.zeros((3, 2)))
