"""ONNX export: the graph computes what the model computes, in eval mode.

Checked against onnx's reference evaluator, and against onnxruntime where it
is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from specimens import SPECIMENS, build, layer_types

import minitorchless as mtl
from minitorchless.interop.onnx import OPSET, register_onnx_converter

onnx = pytest.importorskip("onnx")
from onnx.reference import ReferenceEvaluator  # noqa: E402  (after the skip)

DTYPES = {np.float32: 1e-5, np.float64: 1e-12}  # dtype -> rtol against the model
EXPORTED = sorted(name for name, specimen in SPECIMENS.items() if specimen.onnx)
ORT_FLOAT32_ONLY = {mtl.Conv1d, mtl.Conv2d}
"""Layers whose ONNX op onnxruntime's CPU provider implements in float32 only (``Conv``).

Their float64 graphs are valid ONNX, and the reference evaluator checks them.
"""


def _inputs(name: str, dtype: Any, batch: int) -> list[np.ndarray]:
    inputs = SPECIMENS[name].make_inputs(dtype, batch=batch, seed=5)
    return list(inputs) if isinstance(inputs, tuple) else [inputs]


def _export(name: str, dtype: Any, tmp_path: Path) -> tuple[mtl.Layer, Path, list[np.ndarray]]:
    model = build(name, dtype)
    path = tmp_path / "model.onnx"
    sample = _inputs(name, dtype, 1)
    mtl.export_onnx(model, path, sample if len(sample) > 1 else sample[0])
    return model, path, _inputs(name, dtype, 7)  # another batch size than the sample's


def _expected(model: mtl.Layer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    model.eval()
    outputs = model(inputs if len(inputs) > 1 else inputs[0])
    return list(outputs) if isinstance(outputs, tuple) else [outputs]


def _feeds(inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    if len(inputs) == 1:
        return {"input": inputs[0]}
    return {f"input_{index}": array for index, array in enumerate(inputs)}


@pytest.mark.parametrize("dtype", list(DTYPES), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", EXPORTED)
def test_reference_evaluator_matches_the_model(name: str, dtype: Any, tmp_path: Path) -> None:
    model, path, inputs = _export(name, dtype, tmp_path)
    outputs = ReferenceEvaluator(str(path)).run(None, _feeds(inputs))
    for received, expected in zip(outputs, _expected(model, inputs), strict=True):
        assert received.dtype == dtype
        np.testing.assert_allclose(received, expected, rtol=DTYPES[dtype], atol=DTYPES[dtype])


@pytest.mark.parametrize("dtype", list(DTYPES), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", EXPORTED)
def test_onnxruntime_matches_the_model(name: str, dtype: Any, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    if dtype == np.float64 and layer_types(build(name)) & ORT_FLOAT32_ONLY:
        pytest.skip("onnxruntime has no float64 Conv kernel on the CPU")
    model, path, inputs = _export(name, dtype, tmp_path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = session.run(None, _feeds(inputs))
    # onnxruntime's own kernels round differently from NumPy's in the last bits
    tolerance = 1e-5 if dtype == np.float32 else 1e-10
    for received, expected in zip(outputs, _expected(model, inputs), strict=True):
        assert received.dtype == dtype
        np.testing.assert_allclose(received, expected, rtol=tolerance, atol=tolerance)


def test_opset_ir_version_names_and_symbolic_batch(tmp_path: Path) -> None:
    _, path, _ = _export("Sequential(every activation)", np.float64, tmp_path)
    proto = onnx.load(str(path))
    assert [(opset.domain, opset.version) for opset in proto.opset_import] == [("", OPSET)]
    assert OPSET == 17 and proto.ir_version <= 10
    assert proto.producer_name == "minitorchless"
    assert [value.name for value in proto.graph.input] == ["input"]
    assert [value.name for value in proto.graph.output] == ["output"]
    batch, features = proto.graph.input[0].type.tensor_type.shape.dim
    assert batch.dim_param == "batch" and features.dim_value == 4
    assert {tensor.name for tensor in proto.graph.initializer} >= {"0.weight", "0.bias"}


def test_a_shared_layer_is_one_initializer(tmp_path: Path) -> None:
    _, path, _ = _export("Graph(2 inputs, 2 outputs)", np.float64, tmp_path)
    names = [tensor.name for tensor in onnx.load(str(path)).graph.initializer]
    assert names.count("sa.weight") == 1 and "sb.weight" not in names


def test_export_keeps_every_training_flag(tmp_path: Path) -> None:
    model = build("Sequential(every activation)")
    assert isinstance(model, mtl.Sequential)
    model.train()
    model[0].eval()
    flags = [layer.training for layer in model]
    mtl.export_onnx(model, tmp_path / "m.onnx", np.zeros((1, 4)))
    assert [layer.training for layer in model] == flags and model.training


class Scale(mtl.Layer):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, inputs: Any) -> Any:
        return np.asarray(inputs) * self.factor

    def backward(self, grad_output: Any) -> Any:
        return grad_output * self.factor


def test_unknown_layers_are_named_and_can_be_taught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = mtl.Sequential(mtl.Dense(2, 2, rng=np.random.default_rng(0)), Scale(3.0))
    with pytest.raises(TypeError, match=r"no ONNX converter for Scale at '1'.*register_onnx"):
        mtl.export_onnx(model, tmp_path / "m.onnx", np.zeros((1, 2)))
    assert not (tmp_path / "m.onnx").exists()

    from minitorchless.interop.onnx import builder as onnx_export

    monkeypatch.setattr(onnx_export, "_CONVERTERS", dict(onnx_export._CONVERTERS))

    @register_onnx_converter(Scale)
    def _scale(builder: Any, layer: Scale, inputs: Any, path: str) -> str:
        factor = builder.constant(np.asarray(layer.factor, dtype=builder.dtype), path)
        return str(builder.node("Mul", [inputs, factor], path))

    mtl.export_onnx(model, tmp_path / "m.onnx", np.zeros((1, 2)))
    inputs = np.random.default_rng(1).standard_normal((3, 2))
    (outputs,) = ReferenceEvaluator(str(tmp_path / "m.onnx")).run(None, {"input": inputs})
    np.testing.assert_allclose(outputs, model(inputs), rtol=1e-12)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="must be a Layer"):
        mtl.export_onnx("model", tmp_path / "m.onnx", np.zeros((1, 2)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch axis"):
        mtl.export_onnx(mtl.Tanh(), tmp_path / "m.onnx", np.float64(1.0))
    with pytest.raises(TypeError, match="float32 or float64"):
        mtl.export_onnx(mtl.Tanh(), tmp_path / "m.onnx", np.zeros((1, 2), dtype=np.float16))
    with pytest.raises(mtl.ShapeError):
        mtl.export_onnx(mtl.Dense(3, 2), tmp_path / "m.onnx", np.zeros((1, 4)))


def test_missing_onnx_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` fail
    with pytest.raises(ImportError, match=r"pip install 'minitorchless\[onnx\]'"):
        mtl.export_onnx(mtl.Tanh(), tmp_path / "m.onnx", np.zeros((1, 2)))


def test_every_built_in_layer_has_a_converter_and_a_row() -> None:
    from minitorchless.interop.onnx import builder as onnx_export
    from minitorchless.serialization._architecture import _builtin_layers

    used: set[type] = set()
    for name in EXPORTED:
        used |= layer_types(build(name))
    builtins = _builtin_layers()
    assert sorted(n for n, cls in builtins.items() if cls not in onnx_export._CONVERTERS) == []
    assert sorted(n for n, cls in builtins.items() if cls not in used) == []
