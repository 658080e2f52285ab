"""ONNX export of integer inputs: indices stay integers, data a float layer reads become floats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl

onnx = pytest.importorskip("onnx")
from onnx import TensorProto  # noqa: E402  (after the skip)
from onnx.reference import ReferenceEvaluator  # noqa: E402


def _input_types(path: Path) -> list[int]:
    return [value.type.tensor_type.elem_type for value in onnx.load(str(path)).graph.input]


def _run(path: Path, feeds: dict[str, Any]) -> list[np.ndarray]:
    outputs: list[np.ndarray] = ReferenceEvaluator(str(path)).run(None, feeds)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for theirs, ours in zip(session.run(None, feeds), outputs, strict=True):
        np.testing.assert_allclose(theirs, ours, rtol=1e-10)
    return outputs


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_indices_keep_their_integer_type(dtype: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    model = mtl.Sequential(mtl.Embedding(10, 3, rng=rng), mtl.Flatten(), mtl.Dense(12, 2, rng=rng))
    indices = rng.integers(0, 10, size=(5, 4)).astype(dtype)
    mtl.export_onnx(model, tmp_path / "m.onnx", indices[:1])
    expected = TensorProto.INT64 if dtype == np.int64 else TensorProto.INT32
    assert _input_types(tmp_path / "m.onnx") == [expected]
    (outputs,) = _run(tmp_path / "m.onnx", {"input": indices})
    np.testing.assert_allclose(outputs, model(indices), rtol=1e-12)


def test_integer_data_for_a_float_model_is_still_a_float_input(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    model = mtl.Sequential(mtl.Dense(4, 2, rng=rng, dtype=np.float32), mtl.Tanh())
    pixels = rng.integers(0, 255, size=(3, 4)).astype(np.uint8)
    mtl.export_onnx(model, tmp_path / "m.onnx", pixels[:1])  # as before indices existed
    assert _input_types(tmp_path / "m.onnx") == [TensorProto.FLOAT]
    (outputs,) = _run(tmp_path / "m.onnx", {"input": pixels.astype(np.float32)})
    np.testing.assert_allclose(outputs, model(pixels), rtol=1e-6)
    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    assert "Cast" not in [node.op_type for node in graph.node]


def test_an_input_read_both_ways_is_cast_for_the_float_reader(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    model = mtl.Graph(
        inputs={"tokens": (3,)},
        nodes=[
            ("vectors", mtl.Embedding(6, 2, rng=rng), "tokens"),
            ("flat", mtl.Flatten(), "vectors"),
            ("positions", mtl.Dense(3, 6, rng=rng), "tokens"),  # reads the indices as numbers
            ("sum", mtl.Add(), ["flat", "positions"]),
        ],
        outputs="sum",
    )
    tokens = rng.integers(0, 6, size=(4, 3))
    mtl.export_onnx(model, tmp_path / "m.onnx", tokens[:1])
    assert _input_types(tmp_path / "m.onnx") == [TensorProto.INT64]
    ops = [node.op_type for node in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    assert ops.count("Cast") == 1
    (outputs,) = _run(tmp_path / "m.onnx", {"input": tokens})
    np.testing.assert_allclose(outputs, model(tokens), rtol=1e-12)


def test_indices_of_another_integer_type_are_refused_with_the_fix(tmp_path: Path) -> None:
    model = mtl.Embedding(10, 3, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"'input' is read as indices.*int32 or int64.*uint8"):
        mtl.export_onnx(model, tmp_path / "m.onnx", np.zeros((1, 4), dtype=np.uint8))
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(TypeError, match=r"integer indices, received dtype float64"):
        mtl.export_onnx(model, tmp_path / "m.onnx", np.zeros((1, 4)))  # floats are no indices
