"""Pooling beyond the specimen table: torch over random configurations, ties, NaN, bad input."""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorchless as mtl
from minitorchless.testing import check_layer, compare_with_torch

POOLS = {
    (1, "max"): (mtl.MaxPool1d, "MaxPool1d"),
    (2, "max"): (mtl.MaxPool2d, "MaxPool2d"),
    (1, "avg"): (mtl.AvgPool1d, "AvgPool1d"),
    (2, "avg"): (mtl.AvgPool2d, "AvgPool2d"),
}


@st.composite
def configurations(draw: st.DrawFn, dims: int | None = None) -> dict[str, Any]:
    """A pooling layer's arguments that torch accepts, and an input they fit."""
    dims = dims or draw(st.sampled_from([1, 2]))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    stride = draw(st.one_of(st.none(), st.tuples(*(st.integers(1, 3) for _ in range(dims)))))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    # any size from the smallest the padded kernel fits in, to a few windows more
    sizes = tuple(
        draw(st.integers(max(1, k - 2 * p), k - 2 * p + 6))
        for k, p in zip(kernel, padding, strict=True)
    )
    batch, channels = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return {
        "kind": draw(st.sampled_from(["max", "avg"])),
        "dims": dims,
        "args": (kernel, stride, padding),
        "x": rng.standard_normal((batch, channels, *sizes)),
    }


def _pair(config: dict[str, Any], torch: ModuleType) -> tuple[mtl.Layer, Any]:
    cls, torch_name = POOLS[config["dims"], config["kind"]]
    kernel, stride, padding = config["args"]
    return cls(kernel, stride, padding), getattr(torch.nn, torch_name)(kernel, stride, padding)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=configurations())
def test_matches_torch_over_random_configurations(
    torch: ModuleType, config: dict[str, Any]
) -> None:
    layer, twin = _pair(config, torch)
    report = compare_with_torch(layer, twin, config["x"], rtol=1e-9, atol=1e-12)
    assert set(report.max_abs_error) == {"outputs", "inputs"}
    outputs = layer(config["x"])  # and the inferred shape is the computed one
    assert layer.output_shape((None, *config["x"].shape[1:])) == (None, *outputs.shape[1:])


@settings(max_examples=40, deadline=None)
@given(config=configurations())
def test_finite_differences_over_random_configurations(config: dict[str, Any]) -> None:
    cls, _ = POOLS[config["dims"], config["kind"]]
    report = check_layer(lambda rng: cls(*config["args"]), config["x"])
    assert report.checked["inputs"] > 0


@pytest.mark.parametrize("dims", [1, 2])
def test_ties_send_the_gradient_where_torch_sends_it(torch: ModuleType, dims: int) -> None:
    """Overlapping, padded windows over a few repeated values: many ties, torch's first max."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(2, 2, *([7] * dims))).astype(np.float64)
    cls, name = POOLS[dims, "max"]
    layer, twin = cls(3, 1, 1), getattr(torch.nn, name)(3, 1, 1)
    grad_output = rng.integers(1, 5, size=layer(x).shape).astype(np.float64)  # exact sums
    tensor = torch.tensor(x, requires_grad=True)
    twin(tensor).backward(torch.tensor(grad_output))
    np.testing.assert_array_equal(layer.backward(grad_output), tensor.grad.numpy())


def test_a_tie_goes_to_the_first_element_in_window_order() -> None:
    layer = mtl.MaxPool2d(2)
    x = np.array([[[[1.0, 5.0], [5.0, 5.0]]]])
    assert layer(x).item() == 5
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1))), [[[[0, 1], [0, 0]]]])


def test_nan_wins_as_in_torch(torch: ModuleType) -> None:
    x = np.array([[[1.0, np.nan, 2.0, np.nan, 0.5, 3.0]]])
    layer = mtl.MaxPool1d(3)
    outputs = layer(x)
    tensor = torch.tensor(x, requires_grad=True)
    expected = torch.nn.MaxPool1d(3)(tensor)
    expected.backward(torch.ones_like(expected))
    np.testing.assert_array_equal(outputs, expected.detach().numpy())
    np.testing.assert_array_equal(layer.backward(np.ones_like(outputs)), tensor.grad.numpy())


def test_max_padding_never_wins_and_avg_padding_counts_in_the_mean() -> None:
    x = -np.ones((1, 1, 2, 2))  # every input below the zeros that an avg pool pads with
    np.testing.assert_array_equal(mtl.MaxPool2d(2, 1, 1)(x), -np.ones((1, 1, 3, 3)))
    corner = mtl.AvgPool2d(2, 1, 1)(x)[0, 0, 0, 0]
    assert corner == -0.25  # one input in the window, divided by the whole window's 4


def test_each_gradient_goes_back_to_its_maximum_and_sums_are_kept() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2, 6, 6))
    layer = mtl.MaxPool2d(2)
    outputs = layer(x)
    grad_output = rng.standard_normal(outputs.shape)
    grad = layer.backward(grad_output)
    windows = x.reshape(3, 2, 3, 2, 3, 2)
    is_max = windows == windows.max(axis=(3, 5), keepdims=True)
    np.testing.assert_array_equal(grad != 0, is_max.reshape(x.shape))
    np.testing.assert_allclose(grad.sum(axis=(2, 3)), grad_output.sum(axis=(2, 3)), rtol=1e-13)
    average = mtl.AvgPool2d(3, stride=2)
    average(x)
    total = average.backward(np.ones((3, 2, 2, 2))).sum()
    assert total == pytest.approx(3 * 2 * 2 * 2)  # each output hands back exactly 1


def test_global_average_pooling_matches_torch(torch: ModuleType) -> None:
    x = np.random.default_rng(5).standard_normal((3, 4, 5, 2))
    twin = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    report = compare_with_torch(mtl.GlobalAvgPool2d(), twin, x, rtol=1e-9, atol=1e-12)
    assert set(report.max_abs_error) == {"outputs", "inputs"}
    assert mtl.GlobalAvgPool2d().output_shape((None, 4, None, None)) == (None, 4)


@pytest.mark.parametrize("cls", [mtl.MaxPool2d, mtl.AvgPool2d, mtl.MaxPool1d, mtl.AvgPool1d])
def test_float32_stays_float32(cls: Any) -> None:
    dims = 2 if cls in (mtl.MaxPool2d, mtl.AvgPool2d) else 1
    x = np.random.default_rng(6).standard_normal((2, 3, *([5] * dims))).astype(np.float32)
    layer = cls(3, 2, 1)
    outputs = layer(x)
    assert outputs.dtype == np.float32
    assert layer.backward(np.ones_like(outputs)).dtype == np.float32


def test_wrong_rank_names_the_layer_the_layout_and_the_shape() -> None:
    with pytest.raises(mtl.ShapeError, match=r"MaxPool2d\(kernel_size=2.*\(batch, channels, "):
        mtl.MaxPool2d(2)(np.zeros((2, 5, 5)))
    with pytest.raises(mtl.ShapeError, match=r"\(batch, channels, length\).*\(2, 3, 5, 5\)"):
        mtl.AvgPool1d(2)(np.zeros((2, 3, 5, 5)))
    with pytest.raises(mtl.ShapeError, match=r"GlobalAvgPool2d.*received shape \(2, 3\)"):
        mtl.GlobalAvgPool2d()(np.zeros((2, 3)))
    with pytest.raises(mtl.ShapeError, match=r"MaxPool1d.*received \(batch, 3\)"):
        mtl.MaxPool1d(2).output_shape((None, 3))


def test_a_kernel_larger_than_the_padded_input_is_refused() -> None:
    with pytest.raises(mtl.ShapeError, match=r"kernel \(3\).*axis 0 \(2 \+ 2 x padding 0 = 2\)"):
        mtl.MaxPool2d(3)(np.zeros((1, 1, 2, 5)))
    with pytest.raises(mtl.ShapeError, match=r"kernel \(4\).*1 \+ 2 x padding 1 = 3"):
        mtl.AvgPool1d(4, padding=1).output_shape((None, 2, 1))
    assert mtl.AvgPool1d(4, padding=1).output_shape((None, 2, 2)) == (None, 2, 1)


def test_bad_arguments_are_refused_as_torch_refuses_them() -> None:
    with pytest.raises(ValueError, match=r"MaxPool2d: padding must be at most half.*padding=2"):
        mtl.MaxPool2d(3, padding=2)
    with pytest.raises(ValueError, match=r"AvgPool2d: padding.*padding=\(0, 1\).*size=\(2, 1\)"):
        mtl.AvgPool2d((2, 1), padding=(0, 1))
    with pytest.raises(ValueError, match=r"kernel_size must be >= 1, received 0"):
        mtl.MaxPool1d(0)
    with pytest.raises(TypeError, match=r"stride must be an int or a tuple of 2 ints"):
        mtl.MaxPool2d(2, stride=(1, 2, 3))
    with pytest.raises(TypeError, match=r"MaxPool1d: kernel_size must be an int, received 2.5"):
        mtl.MaxPool1d(2.5)  # type: ignore[arg-type]


def test_config_and_repr_follow_torch() -> None:
    layer = mtl.MaxPool2d((2, 3), padding=(1, 0))
    assert repr(layer) == "MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=(1, 0))"
    assert layer.get_config() == {"kernel_size": [2, 3], "stride": [2, 3], "padding": [1, 0]}
    assert repr(mtl.AvgPool1d(3, 1)) == "AvgPool1d(kernel_size=3, stride=1, padding=0)"


def test_torch_options_without_an_equivalent_are_refused(torch: ModuleType) -> None:
    nn = torch.nn
    with pytest.raises(ValueError, match=r"MaxPool2d with dilation=2 .*only dilation=1"):
        mtl.from_torch(nn.MaxPool2d(2, dilation=2))
    with pytest.raises(ValueError, match=r"AvgPool1d with count_include_pad=False"):
        mtl.from_torch(nn.AvgPool1d(3, padding=1, count_include_pad=False))
    with pytest.raises(ValueError, match=r"BatchNorm2d with track_running_stats=False"):
        mtl.from_torch(nn.BatchNorm2d(3, track_running_stats=False))
    layer = mtl.from_torch(nn.MaxPool2d((2, 3), stride=1, padding=(1, 0)))
    assert repr(layer) == "MaxPool2d(kernel_size=(2, 3), stride=1, padding=(1, 0))"


@settings(max_examples=30, deadline=None)
@given(config=configurations(), float32=st.booleans())
def test_onnx_export_matches_over_random_configurations(
    config: dict[str, Any], float32: bool
) -> None:
    """Both ONNX runtimes compute what the layer computes, at every stride and padding."""
    onnx_reference = pytest.importorskip("onnx.reference")
    ort = pytest.importorskip("onnxruntime")
    cls, _ = POOLS[config["dims"], config["kind"]]
    dtype = np.float32 if float32 else np.float64
    x = config["x"].astype(dtype)
    layer = cls(*config["args"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pool.onnx"
        mtl.export_onnx(layer, path, x[:1])
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        results = [
            onnx_reference.ReferenceEvaluator(str(path)).run(None, {"input": x})[0],
            session.run(None, {"input": x})[0],
        ]
    tolerance = 1e-6 if float32 else 1e-12
    for received in results:
        assert received.dtype == dtype
        np.testing.assert_allclose(received, layer(x), rtol=tolerance, atol=tolerance)


def test_an_infinite_gradient_reaches_only_the_maxima() -> None:
    layer = mtl.MaxPool1d(2)
    layer(np.array([[[1.0, 2.0, 4.0, 3.0]]]))
    grad = layer.backward(np.array([[[np.inf, -np.inf]]]))
    np.testing.assert_array_equal(grad, [[[0, np.inf, -np.inf, 0]]])  # no inf * 0 = NaN


@pytest.mark.parametrize("dims", [1, 2])
def test_a_window_of_only_minus_infinity_sends_its_gradient_to_an_input(
    torch: ModuleType, dims: int
) -> None:
    """Padding ties with -inf; torch then picks the window's first input, and so does the layer."""
    rng = np.random.default_rng(8)
    x = np.where(rng.random((2, 2, *([5] * dims))) < 0.7, -np.inf, rng.standard_normal())
    cls, name = POOLS[dims, "max"]
    layer, twin = cls(2, 1, 1), getattr(torch.nn, name)(2, 1, 1)
    tensor = torch.tensor(x, requires_grad=True)
    expected = twin(tensor)
    grad_output = rng.integers(1, 5, size=tuple(expected.shape)).astype(np.float64)
    expected.backward(torch.from_numpy(grad_output))
    np.testing.assert_array_equal(layer(x), expected.detach().numpy())
    np.testing.assert_array_equal(layer.backward(grad_output), tensor.grad.numpy())
