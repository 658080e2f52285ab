"""Poisoned weights: NaN and infinity refused by every loader, overflowing casts refused always.

Four ways put arrays into a model: ``load`` (a whole model file),
``load_weights`` (a weights file), ``Layer.load_state_dict`` and
``from_torch_state_dict``. Each must refuse NaN or infinity naming the tensor
(unless ``allow_nonfinite=True``), refuse outright a finite value the model's
dtype cannot hold (no NumPy ``RuntimeWarning``, no silent ``inf``), and leave
the model exactly as it was when it refuses.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy

import minitorchless as mtl

Loader = Callable[[mtl.Layer, dict[str, np.ndarray], Path, bool], mtl.Layer]


def _model(dtype: str = "float64") -> mtl.Sequential:
    rng = np.random.default_rng(0)
    return mtl.Sequential(
        mtl.Dense(3, 2, bias=True, rng=rng, dtype=dtype), mtl.Tanh(), mtl.Dense(2, 2, dtype=dtype)
    )


def _via_load(model: mtl.Layer, arrays: dict[str, np.ndarray], tmp: Path, allow: bool) -> mtl.Layer:
    source = _model(str(next(iter(arrays.values())).dtype))
    for name, tensor in source.named_tensors():
        tensor.value[...] = arrays[name]  # the file holds exactly these values
    mtl.save(source, tmp / "model.safetensors")
    return mtl.load(tmp / "model.safetensors", allow_nonfinite=allow)


def _via_load_weights(
    model: mtl.Layer, arrays: dict[str, np.ndarray], tmp: Path, allow: bool
) -> mtl.Layer:
    safetensors.numpy.save_file(arrays, tmp / "weights.safetensors")
    mtl.load_weights(
        model, tmp / "weights.safetensors", layout="minitorchless", allow_nonfinite=allow
    )
    return model


def _via_state_dict(
    model: mtl.Layer, arrays: dict[str, np.ndarray], tmp: Path, allow: bool
) -> mtl.Layer:
    model.load_state_dict(arrays, allow_nonfinite=allow)
    return model


def _via_torch(
    model: mtl.Layer, arrays: dict[str, np.ndarray], tmp: Path, allow: bool
) -> mtl.Layer:
    torch_layout = {
        key: value.T if key.endswith("weight") else value for key, value in arrays.items()
    }  # nn.Linear keeps (out, in)
    mtl.from_torch_state_dict(model, torch_layout, allow_nonfinite=allow)
    return model


LOADERS: dict[str, Loader] = {
    "load": _via_load,
    "load_weights": _via_load_weights,
    "load_state_dict": _via_state_dict,
    "from_torch_state_dict": _via_torch,
}


def _poisoned(bad: float, dtype: str = "float64") -> dict[str, np.ndarray]:
    arrays = {name: value.astype(dtype) for name, value in _model().state_dict().items()}
    arrays["2.weight"][1, 0] = bad
    return arrays


@pytest.mark.parametrize("loader", sorted(LOADERS))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused_naming_the_tensor(
    loader: str, bad: float, tmp_path: Path
) -> None:
    model = _model()
    before = model.state_dict()
    with pytest.raises(mtl.NonFiniteTensorError) as info:
        LOADERS[loader](model, _poisoned(bad), tmp_path, False)
    message = str(info.value)
    assert "'2.weight'" in message and "1 NaN or infinite value(s)" in message
    assert "allow_nonfinite=True" in message  # the way to accept them is in the message
    assert info.value.key == "2.weight" and info.value.count == 1
    assert isinstance(info.value, mtl.StateDictError) and isinstance(info.value, ValueError)
    for name, value in model.state_dict().items():  # nothing was written
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_non_finite_weights_load_as_they_are_when_allowed(loader: str, tmp_path: Path) -> None:
    arrays = _poisoned(np.nan)
    arrays["0.bias"][0] = -np.inf
    model = LOADERS[loader](_model(), arrays, tmp_path, True)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, arrays[name])  # NaN == NaN for this assertion


@pytest.mark.parametrize("loader", ["load_weights", "load_state_dict", "from_torch_state_dict"])
@pytest.mark.parametrize("allow", [False, True])
def test_finite_float64_beyond_float32_is_refused_outright(
    loader: str, allow: bool, tmp_path: Path
) -> None:
    """1e300 would become inf in float32: refused even with allow_nonfinite, without a warning."""
    model = _model("float32")
    before = model.state_dict()
    arrays = _poisoned(1e300)
    arrays["0.bias"][1] = -3.5e38  # just past float32's largest, -3.4028235e38
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning would fail here
        with pytest.raises(mtl.UnsafeCastError) as info:
            LOADERS[loader](model, arrays, tmp_path, allow)
    message = str(info.value)
    assert "overflow float32" in message and "the cast from float64" in message
    assert info.value.key in ("0.bias", "2.weight") and info.value.key in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
        assert value.dtype == np.float32


@pytest.mark.parametrize("loader", ["load_weights", "load_state_dict", "from_torch_state_dict"])
def test_float64_within_float32_range_is_rounded_without_a_word(
    loader: str, tmp_path: Path
) -> None:
    """The edge: float32's largest value casts exactly; rounding is the only change allowed."""
    arrays = _poisoned(float(np.finfo(np.float32).max))
    arrays["0.bias"][0] = 1e-50  # underflows to 0: rounding, not overflow
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LOADERS[loader](_model("float32"), arrays, tmp_path, False)
    weights = model.state_dict()
    assert weights["2.weight"].dtype == np.float32
    assert weights["2.weight"][1, 0] == np.finfo(np.float32).max and weights["0.bias"][0] == 0


def test_load_refuses_a_tensor_of_another_dtype_than_its_architecture(tmp_path: Path) -> None:
    """A model file must hold what its architecture builds: a float64 tensor for a float32 Dense."""
    path = tmp_path / "model.safetensors"
    mtl.save(mtl.Dense(2, 2, dtype="float32"), path)
    data = path.read_bytes()
    metadata = safetensors.safe_open(path, "np").metadata()
    safetensors.numpy.save_file({"weight": np.full((2, 2), 1e300)}, path, metadata=metadata)
    assert data != path.read_bytes()
    with pytest.raises(
        mtl.CorruptFileError, match="'weight' has dtype float64, but the architecture"
    ):
        mtl.load(path)


class _Counter(mtl.Layer):
    """A user's layer with an integer buffer, as a step counter would be."""

    def __init__(self) -> None:
        super().__init__()
        self.count = self.add_buffer("count", np.zeros((), dtype=np.int64))

    def forward(self, inputs: Any) -> Any:
        return inputs

    def backward(self, grad_output: Any) -> Any:
        return grad_output


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (np.nan, "NaN or infinite value"),  # allow_nonfinite cannot put NaN in an int64
        (2.5, "not whole numbers"),
        (2.0**63, "not whole numbers within the range of int64"),
        (np.uint64(2**63), "within the range of int64"),
    ],
)
def test_an_integer_buffer_refuses_what_it_cannot_hold(value: Any, match: str) -> None:
    layer = _Counter()
    with pytest.raises(mtl.UnsafeCastError, match=match):
        layer.load_state_dict({"count": np.asarray(value)}, allow_nonfinite=True)
    assert layer.count.value == 0
    layer.load_state_dict({"count": np.asarray(7.0)})
    assert layer.count.value == 7 and layer.count.value.dtype == np.int64


def test_the_first_bad_value_is_found_in_any_block_of_a_large_tensor() -> None:
    """Values are scanned a block at a time: the count and first index span the blocks."""
    dense = mtl.Dense(1500, 1500)  # 2.25 million values: three blocks
    before = dense.weight.value.copy()
    weights = np.zeros((1500, 1500))
    weights[1400, 1499] = np.inf
    weights[1499, 0] = np.nan
    with pytest.raises(mtl.NonFiniteTensorError, match=r"2 NaN .* first at index \(1400, 1499\)"):
        dense.load_state_dict({"weight": weights})
    np.testing.assert_array_equal(dense.weight.value, before)
