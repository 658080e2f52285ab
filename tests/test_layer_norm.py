"""LayerNorm beyond the specimen table: torch at every rank and option, its math, and bad input."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorchless as mtl
from minitorchless.testing import check_layer, compare_with_torch


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    """A batch of rank 2 to 5, the trailing 1 to 3 axes normalized, options, random weights."""
    normalized = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    leading = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=5 - len(normalized))))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))  # the layer is scale-free, its eps is not
    return {
        "x": rng.standard_normal((*leading, *normalized)) * scale + rng.standard_normal(),
        "normalized_shape": normalized[0] if len(normalized) == 1 else normalized,
        "eps": draw(st.sampled_from([1e-5, 1e-2])),
        "elementwise_affine": draw(st.booleans()),
        "bias": draw(st.booleans()),
        "rng": rng,
    }


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(problem=problems())
def test_matches_torch_at_any_rank_and_option(torch: ModuleType, problem: dict[str, Any]) -> None:
    options = {key: problem[key] for key in ("eps", "elementwise_affine", "bias")}
    layer = mtl.LayerNorm(problem["normalized_shape"], **options)
    for parameter in layer.parameters():  # not 1 and 0, so that a swap would show
        parameter.value[...] = problem["rng"].uniform(-2, 2, parameter.shape)
    twin = torch.nn.LayerNorm(problem["normalized_shape"], **options)
    # torch's x - mean rounds at the scale of |x|: over one value, where the exact
    # difference is 0, that rounding is all the weight gradient has
    atol = 1e-12 * max(1.0, float(np.abs(problem["x"]).max()))
    report = compare_with_torch(layer, twin, problem["x"], rtol=1e-10, atol=atol)
    assert set(report.max_abs_error) == {"outputs", "inputs", *dict(layer.named_parameters())}


def test_the_statistics_are_the_ones_torch_defines() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 2, 5)) * 3 + 1
    layer = mtl.LayerNorm((2, 5), eps=0.1)
    outputs = layer(x)
    mean = x.mean(axis=(-2, -1), keepdims=True)
    biased_var = x.var(axis=(-2, -1), keepdims=True)  # ddof=0: torch's biased variance
    np.testing.assert_allclose(outputs, (x - mean) / np.sqrt(biased_var + 0.1), rtol=1e-13)
    np.testing.assert_allclose(outputs.mean(axis=(-2, -1)), 0, atol=1e-15)


def test_the_kit_passes_at_rank_four_and_a_constant_row_is_harmless() -> None:
    rng = np.random.default_rng(1)
    check_layer(lambda r: mtl.LayerNorm((3, 4)), rng.standard_normal((2, 2, 3, 4)))
    layer = mtl.LayerNorm(4)
    layer.bias.value[:] = [1, 2, 3, 4]  # type: ignore[union-attr]
    outputs = layer(np.full((2, 4), 7.0))  # zero variance: eps keeps it finite
    np.testing.assert_array_equal(outputs, [[1, 2, 3, 4]] * 2)
    np.testing.assert_array_equal(layer.backward(np.ones((2, 4))), np.zeros((2, 4)))


def test_backward_reuses_the_forward_statistics() -> None:
    """Backward reads x_hat and 1/std from the cache: the inputs are not kept at all."""
    x = np.random.default_rng(2).standard_normal((3, 5))
    layer = mtl.LayerNorm(5)
    layer(x)
    normalized, inverse_std = layer.saved()
    assert inverse_std.shape == (3, 1)
    assert not any(np.shares_memory(value, x) for value in (normalized, inverse_std))
    np.testing.assert_allclose(normalized, (x - x.mean(1, keepdims=True)) * inverse_std)


def test_float32_stays_float32_and_is_close_to_float64() -> None:
    x = np.random.default_rng(3).standard_normal((6, 8))
    ours = mtl.LayerNorm(8, dtype=np.float32)
    reference = mtl.LayerNorm(8)
    outputs = ours(x)  # float64 data into a float32 layer: cast once
    grad = ours.backward(np.ones((6, 8), dtype=np.float32))
    assert outputs.dtype == grad.dtype == ours.weight.grad.dtype == np.float32  # type: ignore[union-attr]
    np.testing.assert_allclose(outputs, reference(x), rtol=1e-5, atol=1e-6)
    unaffine = mtl.LayerNorm(8, elementwise_affine=False)  # no parameters: the inputs' dtype
    assert unaffine(x.astype(np.float32)).dtype == np.float32


def test_output_shape_and_config() -> None:
    layer = mtl.LayerNorm((3, 4))
    assert layer.output_shape((None, 2, 3, 4)) == (None, 2, 3, 4)
    assert layer.output_shape((None, None, None)) == (None, 3, 4)
    assert layer.output_shape((..., None)) == (..., 3, 4)
    assert layer.output_shape((..., 2, 3, 4)) == (..., 2, 3, 4)
    assert mtl.LayerNorm(5).output_shape((..., 5)) == (..., 5)
    for built in (layer, mtl.LayerNorm(4, 1e-3, False), mtl.LayerNorm(2, bias=False)):
        rebuilt = mtl.LayerNorm.from_config(built.get_config())
        assert repr(rebuilt) == repr(built)
        assert list(rebuilt.state_dict()) == list(built.state_dict())
    assert list(mtl.LayerNorm(2, bias=False).state_dict()) == ["weight"]
    assert mtl.LayerNorm(3, elementwise_affine=False).parameters() == []


# ---------------------------------------------------------------- bad input
def test_refuses_trailing_axes_that_differ_from_normalized_shape() -> None:
    layer = mtl.LayerNorm((4, 5))
    with pytest.raises(
        mtl.ShapeError, match=r"LayerNorm\(\(4, 5\).*normalized_shape \(4, 5\).*\(2, 3, 5\)"
    ):
        layer(np.zeros((2, 3, 5)))
    with pytest.raises(mtl.ShapeError, match=r"normalized_shape \(4, 5\).*\(batch, 5, 4\)"):
        layer.output_shape((None, 5, 4))


def test_refuses_the_wrong_rank() -> None:
    layer = mtl.LayerNorm((4, 5))
    with pytest.raises(mtl.ShapeError, match=r"a batch axis, then trailing axes.*\(4, 5\)"):
        layer(np.zeros((4, 5)))  # one sample without its batch axis
    with pytest.raises(mtl.ShapeError, match=r"after a batch axis.*\(batch, 5\)"):
        layer.output_shape((None, 5))


def test_refuses_a_mismatch_when_the_model_is_built() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(
        mtl.ShapeError, match=r"LayerNorm\(\(5,\).*normalized_shape \(5,\).*\(\*, 4\)"
    ):
        mtl.Sequential(mtl.Dense(3, 4, rng=rng), mtl.LayerNorm(5))


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((0,), TypeError, r"normalized_shape must be an int >= 1.*0"),
        (((),), TypeError, r"non-empty tuple"),
        (((3, 2.0),), TypeError, r"normalized_shape.*\(3, 2.0\)"),
        ((True,), TypeError, r"normalized_shape"),
        ((3, 0.0), ValueError, r"eps must be finite and > 0"),
    ],
)
def test_refuses_bad_arguments(arguments: tuple[Any, ...], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        mtl.LayerNorm(*arguments)
