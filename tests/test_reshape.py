"""Flatten and Reshape beyond the specimen table: torch at every rank, shapes, and bad input."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorchless as mtl
from minitorchless.testing import check_layer, compare_with_torch

ORACLE = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _torch_reshape(torch: ModuleType, shape: tuple[int, ...]) -> Any:
    class Reshape(torch.nn.Module):  # type: ignore[name-defined,misc]
        def forward(self, x: Any) -> Any:
            return x.reshape(x.shape[0], *shape)

    return Reshape()


@st.composite
def batches(draw: st.DrawFn, min_rank: int = 2) -> np.ndarray:
    """A float64 batch of rank ``min_rank`` to 5, each axis of 1 to 4."""
    shape = draw(st.lists(st.integers(1, 4), min_size=min_rank, max_size=5))
    return np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal(shape)


@st.composite
def reshapes(draw: st.DrawFn) -> tuple[np.ndarray, tuple[int, ...]]:
    """A batch and a target sample shape of the same size, possibly with a -1."""
    x = draw(batches(min_rank=1))
    size = math.prod(x.shape[1:])
    factors: list[int] = []
    rest = size
    while rest > 1 and len(factors) < 3:  # split the size into a few factors
        factor = draw(st.sampled_from([d for d in range(1, rest + 1) if rest % d == 0]))
        factors.append(factor)
        rest //= factor
    factors.append(rest)
    if draw(st.booleans()):
        factors[draw(st.integers(0, len(factors) - 1))] = -1
    return x, tuple(factors)


# ------------------------------------------------------------------- oracle
@ORACLE
@given(x=batches())
def test_flatten_matches_torch_at_any_rank(torch: ModuleType, x: np.ndarray) -> None:
    layer = mtl.Flatten()
    compare_with_torch(layer, torch.nn.Flatten(), x, rtol=1e-10, atol=0)
    assert layer(x).shape == (x.shape[0], math.prod(x.shape[1:]))


@ORACLE
@given(case=reshapes())
def test_reshape_matches_torch_at_any_rank(
    torch: ModuleType, case: tuple[np.ndarray, tuple[int, ...]]
) -> None:
    x, shape = case
    layer = mtl.Reshape(*shape)
    compare_with_torch(layer, _torch_reshape(torch, shape), x, rtol=1e-10, atol=0)
    np.testing.assert_array_equal(layer(x), x.reshape(x.shape[0], *shape))


def test_both_pass_the_kit_on_images() -> None:
    images = np.random.default_rng(0).standard_normal((3, 2, 4, 4))
    check_layer(mtl.Flatten(), images)
    check_layer(mtl.Reshape(4, -1), images)
    check_layer(mtl.Reshape(), images[:, :1, :1, :1])  # a sample of one value: shape (N,)


# ------------------------------------------------------------------- shapes
def test_flatten_output_shape_and_views() -> None:
    layer = mtl.Flatten()
    assert layer.output_shape((None, 3, 4, 5)) == (None, 60)
    assert layer.output_shape((None, 3, None)) == (None, None)
    assert layer.output_shape((..., 4)) == (None, None)
    x = np.zeros((2, 3, 4), dtype=np.float32)
    outputs = layer(x)
    assert outputs.dtype == np.float32 and np.shares_memory(outputs, x)  # no copy
    assert layer(np.zeros((0, 3, 4))).shape == (0, 12)  # an empty batch


def test_reshape_output_shape() -> None:
    assert mtl.Reshape(4, -1).output_shape((None, 2, 6)) == (None, 4, 3)
    assert mtl.Reshape(4, -1).output_shape((None, None, 6)) == (None, 4, None)
    assert mtl.Reshape(3, 4).output_shape((None, None)) == (None, 3, 4)
    assert mtl.Reshape(3, 4).output_shape((..., 12)) == (None, 3, 4)
    assert mtl.Reshape((2, 2)).shape == (2, 2)  # a tuple as torch's reshape takes it
    assert mtl.Reshape(-1, 3)(np.zeros((0, 6))).shape == (0, 2, 3)  # -1 is not NumPy's here


def test_a_model_chains_through_them() -> None:
    rng = np.random.default_rng(0)
    model = mtl.Sequential(
        mtl.Reshape(2, 4, 4), mtl.Flatten(), mtl.Dense(32, 3, rng=rng), mtl.Reshape(3, 1)
    )
    assert model.output_shape((None, 32)) == (None, 3, 1)
    lines: list[str] = []
    model.summary((32,), print_fn=lines.append)
    assert any("(batch, 2, 4, 4)" in line for line in lines)
    assert any("(batch, 3, 1)" in line for line in lines)


def test_config_round_trip() -> None:
    for layer in (mtl.Reshape(2, -1, 3), mtl.Reshape(), mtl.Flatten()):
        rebuilt = type(layer).from_config(layer.get_config())
        assert repr(rebuilt) == repr(layer)


# ---------------------------------------------------------------- bad input
def test_flatten_refuses_the_wrong_rank() -> None:
    layer = mtl.Flatten()
    with pytest.raises(mtl.ShapeError, match=r"Flatten\(\).*at least 2 axes.*\(5,\)"):
        layer(np.zeros(5))
    with pytest.raises(mtl.ShapeError, match=r"Flatten\(\).*at least 2 axes.*\(batch\)"):
        layer.output_shape((None,))


def test_reshape_refuses_an_impossible_size_at_forward() -> None:
    with pytest.raises(
        mtl.ShapeError, match=r"Reshape\(4, 4\).*\(2, 3, 5\).*\(batch, 4, 4\).*15 values.*16"
    ):
        mtl.Reshape(4, 4)(np.zeros((2, 3, 5)))
    with pytest.raises(mtl.ShapeError, match=r"Reshape\(-1, 4\).*15 values.*not a multiple of 4"):
        mtl.Reshape(-1, 4)(np.zeros((2, 15)))
    with pytest.raises(mtl.ShapeError, match=r"Reshape\(2\).*scalar"):
        mtl.Reshape(2)(np.float64(1.0))


def test_reshape_refuses_an_impossible_size_when_the_model_is_built() -> None:
    rng = np.random.default_rng(0)
    # a Graph knows its input's sample shape when it is built
    with pytest.raises(mtl.ShapeError, match=r"Reshape\(5, 2\).*\(batch, 12\).*12 values.*10"):
        mtl.Graph(
            {"x": (3,)}, [("h", mtl.Dense(3, 12, rng=rng), "x"), ("r", mtl.Reshape(5, 2), "h")], "r"
        )
    # a Sequential does not (a Dense takes any rank), but its output_shape and summary do
    model = mtl.Sequential(mtl.Dense(3, 12, rng=rng), mtl.Reshape(5, 2))
    with pytest.raises(mtl.ShapeError, match=r"Reshape\(5, 2\).*12 values.*10"):
        model.summary((3,), print_fn=lambda line: None)
    with pytest.raises(mtl.ShapeError, match=r"Reshape\(-1, 5\).*not a multiple of 5"):
        mtl.Sequential(mtl.Reshape(3, 4), mtl.Flatten(), mtl.Reshape(-1, 5)).output_shape(
            (None, 12)
        )


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((0, 3), TypeError, r"integers >= 1.*\(0, 3\)"),
        ((2.0,), TypeError, r"integers >= 1"),
        ((True, 2), TypeError, r"integers >= 1"),
        ((-2,), TypeError, r"integers >= 1"),
        ((-1, 2, -1), ValueError, r"at most one size can be -1"),
    ],
)
def test_reshape_refuses_bad_shapes(arguments: tuple[Any, ...], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        mtl.Reshape(*arguments)


def test_backward_checks_the_gradient_shape() -> None:
    layer = mtl.Flatten()
    layer(np.zeros((2, 3, 4)))
    with pytest.raises(mtl.ShapeError, match=r"grad_output of shape \(2, 12\).*\(2, 3, 4\)"):
        layer.backward(np.zeros((2, 3, 4)))
    with pytest.raises(RuntimeError, match=r"Reshape.backward.*before forward"):
        mtl.Reshape(2).backward(np.zeros((1, 2)))
