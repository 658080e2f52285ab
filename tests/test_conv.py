"""Conv1d and Conv2d beyond the specimen table: torch over random geometries, chunks, bad input."""

from __future__ import annotations

import math
import re
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorchless as mtl
from minitorchless.errors import ShapeError
from minitorchless.layers import _windows
from minitorchless.testing import check_layer, compare_with_torch, gradcheck


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    """A convolution torch accepts, with a batch that fits it: every option drawn."""
    rank = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    choices: list[Any] = ["valid", draw(st.integers(0, 3))]
    choices.append(tuple(draw(st.integers(0, 3)) for _ in range(rank)))
    if all(s == 1 for s in stride):
        choices.append("same")
    padding = draw(st.sampled_from(choices))
    totals = [0] * rank if padding in ("valid", "same") else None
    if isinstance(padding, int):
        totals = [2 * padding] * rank
    elif isinstance(padding, tuple):
        totals = [2 * p for p in padding]
    sizes = []
    for axis in range(rank):
        span = dilation[axis] * (kernel[axis] - 1) + 1
        smallest = 1 if padding == "same" else max(1, span - totals[axis])  # type: ignore[index]
        sizes.append(draw(st.integers(smallest, smallest + 6)))
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return {
        "cls": "Conv1d" if rank == 1 else "Conv2d",
        "args": (groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3)), kernel),
        "options": {**options, "bias": draw(st.booleans())},
        "shape": (draw(st.integers(1, 3)), None, *sizes),
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(problem=problems())
def test_matches_torch_for_every_geometry(torch: ModuleType, problem: dict[str, Any]) -> None:
    rng = np.random.default_rng(problem["seed"])
    args, options = problem["args"], problem["options"]
    layer = getattr(mtl, problem["cls"])(*args, rng=rng, **options)
    twin = getattr(torch.nn, problem["cls"])(*args, **options)
    batch, _, *sizes = problem["shape"]
    x = rng.standard_normal((batch, args[0], *sizes))
    report = compare_with_torch(layer, twin, x, rtol=1e-9, atol=1e-12)
    assert set(report.max_abs_error) == {"outputs", "inputs", *dict(layer.named_parameters())}
    # shape inference agrees with what forward computes
    assert layer.output_shape((None, args[0], *sizes)) == (None, *layer(x).shape[1:])


@pytest.mark.parametrize(
    "build",
    [
        lambda r: mtl.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), rng=r),
        lambda r: mtl.Conv2d(4, 2, 2, groups=2, padding="same", rng=r),
        lambda r: mtl.Conv1d(3, 3, 3, stride=2, padding=1, dilation=2, groups=3, rng=r),
    ],
    ids=["conv2d strided dilated", "conv2d groups same", "conv1d depthwise"],
)
def test_finite_differences_and_the_kit(build: Any) -> None:
    rng = np.random.default_rng(3)
    layer = build(rng)
    x = rng.standard_normal(
        (2, layer.in_channels, *([5, 6] if isinstance(layer, mtl.Conv2d) else [9]))
    )
    report = gradcheck(layer, x, max_elements=None)
    assert report.checked["inputs"] == x.size
    check_layer(build, x)


def test_conv1d_is_a_conv2d_of_height_one() -> None:
    rng = np.random.default_rng(4)
    one = mtl.Conv1d(2, 3, 3, stride=2, padding=1, rng=rng)
    two = mtl.Conv2d(2, 3, (1, 3), stride=(1, 2), padding=(0, 1), rng=rng)
    two.weight.value[...] = one.weight.value[:, :, np.newaxis, :]
    two.bias.value[...] = one.bias.value  # type: ignore[union-attr]
    x = rng.standard_normal((4, 2, 11))
    np.testing.assert_array_equal(one(x), two(x[:, :, np.newaxis, :])[:, :, 0, :])


def test_the_batch_is_chunked_above_the_budget_with_the_same_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(5)
    layer = mtl.Conv2d(3, 4, 3, padding=1, stride=2, rng=rng)
    x, grad = rng.standard_normal((5, 3, 6, 7)), rng.standard_normal((5, 4, 3, 4))
    whole = layer(x)
    grad_whole = layer.backward(grad)
    weight_whole = layer.weight.grad.copy()
    padded, cols, *_ = layer.saved()
    assert padded is None and cols.shape == (5, 3 * 9, 12)  # the windows are kept
    # one sample's window matrix is 3 * 9 * 12 values: a budget of two samples' worth
    monkeypatch.setattr(_windows, "WINDOW_BUDGET_BYTES", 2 * 3 * 9 * 12 * 8)
    assert [(s.start, s.stop) for s in _windows.batch_chunks(5, 3 * 9 * 12 * 8)] == [
        (0, 2),
        (2, 4),
        (4, 5),
    ]
    layer.zero_grad()
    np.testing.assert_allclose(layer(x), whole, rtol=1e-14, atol=1e-15)
    padded, cols, *_ = layer.saved()
    assert cols is None and padded.shape == (5, 3, 8, 9)  # the padded input instead
    np.testing.assert_allclose(layer.backward(grad), grad_whole, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(layer.weight.grad, weight_whole, rtol=1e-13, atol=1e-14)


def test_float32_stays_float32_and_is_close_to_float64() -> None:
    rng = np.random.default_rng(6)
    layer = mtl.Conv2d(3, 5, 3, padding="same", rng=rng, dtype=np.float32)
    x = rng.standard_normal((2, 3, 6, 6))
    outputs = layer(x)
    grad_input = layer.backward(np.ones_like(outputs))
    assert outputs.dtype == grad_input.dtype == layer.weight.grad.dtype == np.float32
    reference = mtl.Conv2d(3, 5, 3, padding="same", rng=rng).to(np.float64)
    reference.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(outputs, reference(x), rtol=1e-5, atol=1e-5)


def test_weights_are_drawn_as_torch_draws_them() -> None:
    layer = mtl.Conv2d(6, 64, (3, 5), groups=2, rng=np.random.default_rng(7))
    bound = 1 / math.sqrt(3 * 3 * 5)  # fan_in = in_channels / groups * kh * kw
    for values in (layer.weight.value, layer.bias.value):  # type: ignore[union-attr]
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound
    assert layer.weight.shape == (64, 3, 3, 5)
    # U(-b, b) has standard deviation b / sqrt(3)
    assert abs(layer.weight.value.std() - bound / math.sqrt(3)) < 0.05 * bound


def test_same_padding_keeps_the_size_and_puts_the_odd_zero_at_the_end() -> None:
    layer = mtl.Conv1d(1, 1, 4, padding="same", bias=False, rng=np.random.default_rng(8))
    layer.weight.value[...] = [[[1.0, 0.0, 0.0, 0.0]]]  # reads the window's first tap
    x = np.arange(1.0, 6.0).reshape(1, 1, 5)
    # d (k - 1) = 3 zeros in all: one before, two after, so tap 0 reads x[t - 1]
    np.testing.assert_array_equal(layer(x), [[[0.0, 1.0, 2.0, 3.0, 4.0]]])


def _raises(error: type[Exception], *fragments: str) -> Any:
    return pytest.raises(error, match=".*".join(re.escape(f) for f in fragments))


def test_bad_input_is_refused_naming_layer_expected_and_received() -> None:
    layer = mtl.Conv2d(3, 4, 3)
    with _raises(ShapeError, "Conv2d(3, 4", "(batch, channels, H, W)", "(3, 8, 8)"):
        layer(np.zeros((3, 8, 8)))
    with _raises(ShapeError, "Conv2d(3, 4", "expects 3 channels", "(2, 5, 8, 8)"):
        layer(np.zeros((2, 5, 8, 8)))
    with _raises(ShapeError, "Conv2d(3, 4", "spans 3", "at most", "size 2", "(1, 3, 2, 8)"):
        layer(np.zeros((1, 3, 2, 8)))
    with _raises(ShapeError, "Conv1d(2, 2", "spans 5", "size 4", "(batch, 2, 2)"):
        mtl.Conv1d(2, 2, 3, dilation=2, padding=1).output_shape((None, 2, 2))
    with _raises(ShapeError, "Conv1d(2, 2", "(batch, channels, L)", "(batch, 2, 4, 4)"):
        mtl.Conv1d(2, 2, 3).output_shape((None, 2, 4, 4))
    with _raises(ShapeError, "expects 3 channels", "(batch, 4, 8, 8)"):
        layer.output_shape((None, 4, 8, 8))


def test_bad_arguments_are_refused() -> None:
    with _raises(ValueError, "Conv2d", "groups must divide in_channels", "divisor of 4", "3"):
        mtl.Conv2d(4, 6, 3, groups=3)
    with _raises(ValueError, "Conv1d", "divide out_channels", "divisor of 5", "groups=2"):
        mtl.Conv1d(4, 5, 3, groups=2)
    with _raises(ValueError, "Conv2d", "padding='same' needs stride 1", "stride=(2, 1)"):
        mtl.Conv2d(1, 1, 3, stride=(2, 1), padding="same")
    with _raises(ValueError, "Conv2d", "'same' or 'valid'", "'full'"):
        mtl.Conv2d(1, 1, 3, padding="full")
    with _raises(ValueError, "Conv2d", "kernel_size", "tuple of 2", "(3, 3, 3)"):
        mtl.Conv2d(1, 1, (3, 3, 3))
    with _raises(ValueError, "Conv1d", "padding must be an int >= 0", "-1"):
        mtl.Conv1d(1, 1, 3, padding=-1)
    with _raises(ValueError, "Conv2d", "stride must be an int >= 1", "0"):
        mtl.Conv2d(1, 1, 3, stride=0)


def test_shapes_inferred_for_summary_and_partly_unknown_inputs() -> None:
    model = mtl.Sequential(
        mtl.Conv2d(1, 8, 3, padding=1), mtl.ReLU(), mtl.Conv2d(8, 4, 3, stride=2), mtl.Flatten()
    )
    assert model.output_shape((None, 1, 8, 8)) == (None, 36)
    conv = mtl.Conv2d(2, 3, 3)
    assert conv.output_shape((..., 2, None, 6)) == (None, 3, None, 4)
    assert conv.output_shape((...,)) == (None, 3, None, None)
    lines: list[str] = []
    model.summary((1, 8, 8), print_fn=lines.append)
    assert any("(batch, 4, 3, 3)" in line for line in lines)


def test_from_torch_refuses_padding_other_than_zeros(torch: ModuleType) -> None:
    module = torch.nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")
    with _raises(TypeError, "Conv2d", "expected padding_mode='zeros'", "'reflect'"):
        mtl.from_torch(module)
    back = mtl.from_torch(torch.nn.Conv1d(2, 4, 3, padding="same", groups=2, bias=False))
    assert isinstance(back, mtl.Conv1d)
    assert (back.padding, back.groups, back.bias, back.weight.shape) == ("same", 2, None, (4, 1, 3))
