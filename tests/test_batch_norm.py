"""BatchNorm and Dropout2d beyond the specimen table: torch over several training steps, errors."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorchless as mtl
from minitorchless.testing import check_layer

TOLERANCE = {"rtol": 1e-9, "atol": 1e-12}


@st.composite
def configurations(draw: st.DrawFn) -> dict[str, Any]:
    """A batch norm's options, a rank it takes, and enough values per channel to train."""
    rank = draw(st.sampled_from([2, 3, 4]))
    channels = draw(st.integers(1, 4))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(rank - 2))
    batch = draw(st.integers(2 if rank == 2 else 1, 4))
    if batch * int(np.prod(spatial)) < 2:
        batch = 2  # training needs two values per channel
    return {
        "rank": rank,
        "shape": (batch, channels, *spatial),
        "eps": draw(st.sampled_from([1e-5, 1e-3, 0.5])),
        "momentum": draw(st.sampled_from([0.1, 0.5, 1.0, 0.0, None])),
        "affine": draw(st.booleans()),
        "scale": draw(st.sampled_from([1e-2, 1.0, 30.0])),  # the layer is scale-free, eps is not
        "rng": np.random.default_rng(draw(st.integers(0, 2**16))),
    }


def _pair(config: dict[str, Any], torch: ModuleType) -> tuple[Any, Any]:
    options = {key: config[key] for key in ("eps", "momentum", "affine")}
    ours, name = (
        (mtl.BatchNorm2d, "BatchNorm2d")
        if config["rank"] == 4
        else (mtl.BatchNorm1d, "BatchNorm1d")
    )
    layer, twin = (
        ours(config["shape"][1], **options),
        getattr(torch.nn, name)(config["shape"][1], **options),
    )
    twin.double()
    if layer.weight is not None and layer.bias is not None:
        layer.weight.value[...] = config["rng"].uniform(0.5, 2, layer.weight.shape)
        layer.bias.value[...] = config["rng"].standard_normal(layer.bias.shape)
        with torch.no_grad():
            twin.weight.copy_(torch.from_numpy(layer.weight.value))
            twin.bias.copy_(torch.from_numpy(layer.bias.value))
    return layer, twin


def _step(layer: Any, twin: Any, x: np.ndarray, grad_output: np.ndarray, torch: ModuleType) -> None:
    """One forward and backward of both; outputs, input and parameter gradients must agree."""
    tensor = torch.tensor(x, requires_grad=True)
    expected = twin(tensor)
    expected.backward(torch.from_numpy(grad_output))
    np.testing.assert_allclose(layer(x), expected.detach().numpy(), **TOLERANCE)
    np.testing.assert_allclose(layer.backward(grad_output), tensor.grad.numpy(), **TOLERANCE)
    for name, parameter in layer.named_parameters():
        np.testing.assert_allclose(parameter.grad, getattr(twin, name).grad.numpy(), **TOLERANCE)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=configurations())
def test_training_steps_running_statistics_and_eval_match_torch(
    torch: ModuleType, config: dict[str, Any]
) -> None:
    layer, twin = _pair(config, torch)
    rng = config["rng"]
    for _ in range(4):  # each batch shifted and scaled differently: the statistics move
        x = rng.standard_normal(config["shape"]) * config["scale"] + rng.normal(0, 3)
        _step(layer, twin, x, rng.standard_normal(config["shape"]), torch)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(
            getattr(layer, name).value, getattr(twin, name).numpy(), **TOLERANCE
        )
    assert int(layer.num_batches_tracked.value) == int(twin.num_batches_tracked) == 4
    layer.eval()
    twin.eval()
    x = rng.standard_normal(config["shape"]) * config["scale"]
    _step(layer, twin, x, rng.standard_normal(config["shape"]), torch)
    assert int(layer.num_batches_tracked.value) == 4  # eval tracks nothing


@settings(max_examples=25, deadline=None)
@given(config=configurations(), training=st.booleans())
def test_finite_differences_in_both_modes(config: dict[str, Any], training: bool) -> None:
    options = {key: config[key] for key in ("eps", "momentum", "affine")}
    cls = mtl.BatchNorm2d if config["rank"] == 4 else mtl.BatchNorm1d
    x = config["rng"].standard_normal(config["shape"]) + 1
    report = check_layer(lambda rng: cls(config["shape"][1], **options).train(training), x)
    assert report.checked["inputs"] > 0


def test_the_running_statistics_follow_torchs_rule() -> None:
    rng = np.random.default_rng(0)
    layer = mtl.BatchNorm1d(3, momentum=0.25)
    x = rng.standard_normal((5, 3, 4)) * 2 + 1
    layer(x)
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2), ddof=1)  # unbiased: m - 1 = 19
    np.testing.assert_allclose(layer.running_mean.value, 0.75 * 0 + 0.25 * mean, rtol=1e-14)
    np.testing.assert_allclose(layer.running_var.value, 0.75 * 1 + 0.25 * var, rtol=1e-14)
    cumulative = mtl.BatchNorm1d(3, momentum=None)
    batches = [rng.standard_normal((4, 3)) for _ in range(3)]
    for batch in batches:
        cumulative(batch)
    expected = np.mean([batch.mean(axis=0) for batch in batches], axis=0)
    np.testing.assert_allclose(cumulative.running_mean.value, expected, rtol=1e-13)


def test_the_training_output_is_standardized_per_channel() -> None:
    x = np.random.default_rng(1).standard_normal((6, 2, 3, 3)) * 4 - 2
    outputs = mtl.BatchNorm2d(2, eps=0.0001)(x)
    np.testing.assert_allclose(outputs.mean(axis=(0, 2, 3)), 0, atol=1e-14)
    np.testing.assert_allclose(outputs.var(axis=(0, 2, 3)), 1, rtol=1e-4)


@pytest.mark.parametrize(
    ("cls", "shape"),
    [(mtl.BatchNorm1d, (1, 3)), (mtl.BatchNorm1d, (1, 3, 1)), (mtl.BatchNorm2d, (1, 3, 1, 1))],
)
def test_one_value_per_channel_in_training_is_refused(cls: Any, shape: tuple[int, ...]) -> None:
    layer = cls(3)
    pattern = "more than 1 value per channel.*received inputs of shape " + re.escape(str(shape))
    with pytest.raises(ValueError, match=pattern):
        layer(np.ones(shape))
    assert layer(np.ones((2, *shape[1:]))).shape == (2, *shape[1:])
    layer.eval()  # the running statistics need no batch: one sample is fine
    assert layer(np.ones(shape)).shape == shape


def test_wrong_rank_and_channels_name_the_layer_the_layout_and_the_shape() -> None:
    with pytest.raises(
        mtl.ShapeError,
        match=r"BatchNorm2d\(4.*\(batch, channels, height, width\) with 4 channels.*\(2, 3, 5, 5\)",
    ):
        mtl.BatchNorm2d(4)(np.zeros((2, 3, 5, 5)))
    with pytest.raises(
        mtl.ShapeError, match=r"BatchNorm1d.*\(batch, channels\) or .*\(2, 3, 4, 4\)"
    ):
        mtl.BatchNorm1d(3)(np.zeros((2, 3, 4, 4)))
    with pytest.raises(mtl.ShapeError, match=r"received \(batch, 5\)"):
        mtl.BatchNorm1d(3).output_shape((None, 5))
    assert mtl.BatchNorm1d(3).output_shape((None, 3, 7)) == (None, 3, 7)
    assert mtl.BatchNorm2d(3).output_shape((...,)) == (None, 3, None, None)
    assert mtl.BatchNorm2d(3).output_shape((..., 5, 5)) == (None, 3, 5, 5)
    with pytest.raises(mtl.ShapeError, match=r"received \(\*, 4, 5, 5\)"):
        mtl.BatchNorm2d(3).output_shape((..., 4, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d: momentum must be in \[0, 1\], received 2"):
        mtl.BatchNorm1d(3, momentum=2)
    with pytest.raises(TypeError, match=r"BatchNorm2d: num_features must be an integer"):
        mtl.BatchNorm2d(2.0)  # type: ignore[arg-type]


def test_buffers_are_torchs_and_load_strictly_into_torch(torch: ModuleType) -> None:
    model = mtl.Sequential(
        mtl.BatchNorm2d(3), mtl.MaxPool2d(2), mtl.GlobalAvgPool2d(), mtl.BatchNorm1d(3)
    )
    x = np.random.default_rng(2).standard_normal((4, 3, 4, 4))
    model(x)  # a training step moves the running statistics
    state = mtl.to_torch_state_dict(model)
    twin = torch.nn.Sequential(
        torch.nn.BatchNorm2d(3),
        torch.nn.MaxPool2d(2),
        mtl.to_torch(mtl.GlobalAvgPool2d()),
        torch.nn.BatchNorm1d(3),
    ).double()
    assert list(state) == list(twin.state_dict())
    twin.load_state_dict(
        {key: torch.from_numpy(value) for key, value in state.items()}, strict=True
    )
    assert state["0.num_batches_tracked"].dtype == np.int64 and state["0.num_batches_tracked"] == 1
    model.eval()
    twin.eval()
    np.testing.assert_allclose(model(x), twin(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
    back = mtl.from_torch(twin)
    np.testing.assert_array_equal(back.state_dict()["3.running_var"], state["3.running_var"])


def test_save_and_load_carry_the_running_statistics(tmp_path: Path) -> None:
    layer = mtl.BatchNorm1d(2, momentum=None, dtype=np.float32)
    for seed in range(3):
        layer(np.random.default_rng(seed).standard_normal((5, 2)).astype(np.float32))
    mtl.save(layer.eval(), tmp_path / "bn.mtl")
    loaded = mtl.load(tmp_path / "bn.mtl")
    for key, value in layer.state_dict().items():
        assert loaded.state_dict()[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded.state_dict()[key], value, err_msg=key)
    assert loaded.running_mean.dtype == np.float32 and int(loaded.num_batches_tracked.value) == 3


def test_float32_stays_float32_and_the_counter_stays_an_integer() -> None:
    layer = mtl.BatchNorm2d(2, affine=False).to(np.float32)
    x = np.random.default_rng(3).standard_normal((3, 2, 2, 2)).astype(np.float32)
    outputs = layer(x)
    assert outputs.dtype == layer.backward(np.ones_like(outputs)).dtype == np.float32
    assert {buffer.dtype for buffer in layer.buffers()} == {
        np.dtype(np.float32),
        np.dtype(np.int64),
    }
    assert mtl.BatchNorm2d(2).size_from_config(mtl.BatchNorm2d(2).get_config()) == 9


def test_dropout2d_drops_whole_channels() -> None:
    layer = mtl.Dropout2d(0.5, rng=np.random.default_rng(4))
    x = np.random.default_rng(5).standard_normal((40, 6, 3, 3)) + 5  # no zero of its own
    outputs = layer(x)
    kept = outputs != 0
    assert np.all(kept == kept[:, :, :1, :1])  # a channel is kept or dropped whole
    assert 0.3 < kept[:, :, 0, 0].mean() < 0.7
    np.testing.assert_allclose(outputs[kept], 2 * x[kept])  # kept channels scaled by 1 / (1 - p)
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad, np.where(kept, 2.0, 0.0))
    assert layer.eval()(x) is x
    with pytest.raises(
        mtl.ShapeError, match=r"Dropout2d\(p=0.5\).*\(batch, channels, height, width\).*\(2, 3\)"
    ):
        layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Dropout2d: p must be in"):
        mtl.Dropout2d(1.0)


def test_explain_shows_each_layer_with_its_formula_and_checks_it() -> None:
    rng = np.random.default_rng(6)
    model = mtl.Sequential(
        mtl.BatchNorm2d(2),
        mtl.MaxPool2d(2),
        mtl.AvgPool2d(2, stride=1, padding=1),
        mtl.Dropout2d(0.2, rng=rng),
        mtl.GlobalAvgPool2d(),
        mtl.Dense(2, 2, rng=rng),
    )
    X, y = rng.standard_normal((3, 2, 4, 4)), rng.standard_normal((3, 2))
    explanation = mtl.explain(model, X, y, mtl.MSELoss(), print_fn=None)
    assert explanation.verified, explanation.text
    for line in (
        "H1 = max of each 2 x 2 window of H0, stride 2, -inf padding 0",
        "dL/dH1 = dL/dH2 / 4 to every position of its window, summed where windows overlap",
        "H4 = mean(H3, axis=(2, 3))",
        "dL/dweight = sum(dL/dH0 * u) over every axis but the channels",
        "one mask entry per channel,  p = 0.2",
    ):
        assert line in explanation.text


@pytest.mark.parametrize("cls", [mtl.BatchNorm1d, mtl.BatchNorm2d])
def test_onnx_keeps_a_float64_eps_where_the_variance_is_tiny(cls: Any, tmp_path: Path) -> None:
    """ONNX's epsilon is a float32; its rounding, moved into the variance, changes nothing."""
    onnx_reference = pytest.importorskip("onnx.reference")
    ort = pytest.importorskip("onnxruntime")
    layer = cls(3, eps=1e-5, affine=False).eval()
    layer.running_var.value[...] = [1e-7, 1e-4, 1.0]  # eps dominates the first channel
    layer.running_mean.value[...] = [0.5, -1.0, 2.0]
    shape = (4, 3) if cls is mtl.BatchNorm1d else (4, 3, 2, 2)
    x = np.random.default_rng(7).standard_normal(shape)
    mtl.export_onnx(layer, tmp_path / "bn.onnx", x[:1])
    session = ort.InferenceSession(str(tmp_path / "bn.onnx"), providers=["CPUExecutionProvider"])
    reference = onnx_reference.ReferenceEvaluator(str(tmp_path / "bn.onnx"))
    for received in (session.run(None, {"input": x})[0], reference.run(None, {"input": x})[0]):
        np.testing.assert_allclose(received, layer(x), rtol=1e-10, atol=1e-12)
