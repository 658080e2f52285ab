"""What an adversarial pass over the loader found, each kept as a test of its fix.

Each file here once made ``load`` or ``load_weights`` spend seconds on a
file under 1 MB, or raise an error of no documented type:

- integers of thousands of digits (Python converts, multiplies and prints
  them in time quadratic in their digits, and refuses to print more than 4300);
- a zero-length tensor whose other axes no array could have (NumPy's own
  ``ValueError`` at ``reshape``), or more axes than NumPy takes;
- a declared input shape of thousands of axes, which shape inference multiplied;
- a layer norm over thousands of axes, whose size was multiplied out.

The work is counted in lines of Python (see ``work.py``), never timed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from hostile_files import huge_integers, layer, many_axes, model_file, raw_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from work import lines_of

import minitorchless as mtl
from minitorchless.layers.shapes import MAX_RANK, infer_shape
from minitorchless.serialization import _decode
from minitorchless.serialization._files import read_safetensors


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(data)
    return path


def _weights_file(shape: str) -> bytes:
    entry = '"w":{"dtype":"F64","shape":' + shape + ',"data_offsets":[0,0]}'
    return raw_file(
        b'{"__metadata__":{"format":"minitorchless","format_version":"1"},%b}' % entry.encode()
    )


@pytest.mark.parametrize("where", ["header", "architecture"])
def test_an_integer_beyond_64_bits_is_refused_as_it_is_parsed(where: str, tmp_path: Path) -> None:
    big = "9" * 4000
    if where == "header":
        data = huge_integers(200)
    else:
        data = model_file(
            '{"layers":[{"type":"Dense","config":{"in_features":' + big + ',"out_features":2},'
            '"training":true}],"root":0}'
        )
    path = _write(tmp_path, data)
    with pytest.raises(mtl.CorruptFileError, match=r"of 4000 digits is beyond 64 bits"):
        mtl.load(path)
    assert lines_of(lambda: mtl.load(path)) < 5_000


def test_integers_of_20_digits_still_parse(tmp_path: Path) -> None:
    """2**64 - 1 has 20 digits: a size that large is refused by the budget, not the parser."""
    config = {"in_features": 2**64 - 1, "out_features": 2**64 - 1}
    path = _write(tmp_path, model_file({"layers": [layer("Dense", config)], "root": 0}))
    with pytest.raises(mtl.CorruptFileError, match="declares 340,282,366,920,938,463,426,481,1"):
        mtl.load(path)


@pytest.mark.parametrize(
    "shape",
    [
        [0, 2**62, 2**62],  # zero values, but more bytes than an array can count
        [0, 2**63],
        [0, 2**40, 2**40],
        [0] + [1] * MAX_RANK,  # one axis more than NumPy 1 takes
    ],
    ids=["2**124", "2**63", "2**80", "33 axes"],
)
@pytest.mark.parametrize("loader", ["load", "load_weights"])
def test_an_empty_tensor_of_an_impossible_shape_is_corrupt(
    shape: list[int], loader: str, tmp_path: Path
) -> None:
    path = _write(tmp_path, _weights_file(str(shape)))
    read = mtl.load if loader == "load" else lambda p: mtl.load_weights(mtl.Dense(2, 2), p)
    with pytest.raises(mtl.CorruptFileError, match="axes, or more values than any array"):
        read(path)


def test_an_empty_tensor_of_possible_shape_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, _weights_file(str([0] + [1] * (MAX_RANK - 1))))
    with pytest.raises(mtl.KeyMismatchError, match="unexpected keys \\['w'\\]"):
        mtl.load_weights(mtl.Dense(2, 2), path)  # read, then found not to be the Dense's


@pytest.fixture
def products(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many sizes each call of ``math.prod`` multiplies, wherever it is called."""
    counts: list[int] = []
    real = math.prod

    def counted(values: Any, **kwargs: Any) -> Any:
        values = list(values)
        counts.append(len(values))
        return real(values, **kwargs)

    monkeypatch.setattr(math, "prod", counted)
    return counts


@pytest.mark.parametrize(
    "then",
    [
        layer("Flatten"),
        layer("Tanh"),
        layer("Dense", {"in_features": 2, "out_features": 2}),
        layer("LayerNorm", {"normalized_shape": 2}),
        layer("Reshape", {"shape": [-1]}),
    ],
    ids=lambda entry: entry["type"],
)
def test_a_declared_shape_of_thousands_of_axes_is_refused_before_inference(
    then: dict[str, Any], products: list[int], tmp_path: Path
) -> None:
    data = many_axes(40_000, then)
    path = _write(tmp_path, data)
    with pytest.raises(mtl.CorruptFileError, match=r"shape of 40001 axes.*at most 32"):
        mtl.load(path)
    assert max(products, default=0) <= MAX_RANK  # no product of the 40,000 sizes
    assert lines_of(lambda: mtl.load(path)) < len(data)  # linear: under a line per byte


def test_a_layer_norm_over_thousands_of_axes_is_refused_without_multiplying_them(
    products: list[int], tmp_path: Path
) -> None:
    config = {"normalized_shape": [10**19] * 45_000}
    assert mtl.LayerNorm.size_from_config(config) is None  # NumPy refuses the shape at once
    path = _write(tmp_path, model_file({"layers": [layer("LayerNorm", config)], "root": 0}))
    with pytest.raises(mtl.CorruptFileError, match=r"layer 0 \(LayerNorm\) cannot be rebuilt"):
        mtl.load(path)
    assert max(products, default=0) <= MAX_RANK
    assert lines_of(lambda: mtl.load(path)) < path.stat().st_size


def test_shape_inference_takes_shapes_up_to_the_rank_numpy_allows() -> None:
    flatten = mtl.Flatten()
    assert infer_shape(flatten, (None, *[1] * (MAX_RANK - 1))) == (None, 1)
    with pytest.raises(mtl.ShapeError, match=f"Flatten received a shape of {MAX_RANK + 1} axes"):
        infer_shape(flatten, (None, *[1] * MAX_RANK))
    with pytest.raises(mtl.ShapeError, match="at most"):
        infer_shape(mtl.Concatenate(), [(None, 2), (None, *[1] * MAX_RANK)])


class _Boasts(mtl.Layer):
    """A user's layer whose size_from_config answers an absurd number."""

    def forward(self, inputs: Any) -> Any:
        return inputs

    def backward(self, grad_output: Any) -> Any:
        return grad_output

    @classmethod
    def size_from_config(cls, config: Any) -> int | None:
        return 10**5000


def test_an_absurd_declared_size_is_refused_without_printing_it(tmp_path: Path) -> None:
    path = _write(tmp_path, model_file({"layers": [layer("_Boasts")], "root": 0}))
    with pytest.raises(mtl.CorruptFileError, match="declares more than 10\\*\\*40 parameters"):
        mtl.load(path, custom_layers=[_Boasts])
    assert _decode._SLACK < 10**40


def test_no_dtype_in_a_config_makes_a_layer_of_another_kind(tmp_path: Path) -> None:
    """Only float dtypes build; one the file's tensors do not match is refused at load."""
    for dtype in ("object", "complex128", "int64", "bool", "U3", "f8,f8"):
        config = {"in_features": 2, "out_features": 2, "dtype": dtype}
        path = _write(tmp_path, model_file({"layers": [layer("Dense", config)], "root": 0}))
        with pytest.raises(mtl.CorruptFileError, match="cannot be rebuilt"):
            mtl.load(path)
    config = {"in_features": 2, "out_features": 2, "dtype": "float16"}
    data = model_file({"layers": [layer("Dense", config)], "root": 0}, {"weight": np.eye(2)})
    with pytest.raises(mtl.CorruptFileError, match="has dtype float64, but the architecture"):
        mtl.load(_write(tmp_path, data))


# ------------------------------------------------ any size, in any config
_MODELS = {
    "dense stack": lambda: mtl.Sequential(
        mtl.Dense(3, 4, bias=True),
        mtl.LayerNorm(4),
        mtl.Reshape(2, 2),
        mtl.Flatten(),
        mtl.Dense(4, 2),
    ),
    "embedding": lambda: mtl.Sequential(mtl.Embedding(5, 3), mtl.LayerNorm((1, 3))),
}
_SIZES = st.sampled_from([2**20, 2**31, 2**40, 2**63 - 1, 2**64 - 1, 0, -1]) | st.integers(
    -3, 2**64 - 1
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_size_in_any_config_is_loaded_or_refused_in_bounded_work(
    data: st.DataObject, tmp_path: Path
) -> None:
    """A hostile config may ask any built-in layer for any size: no gigabytes, no long work.

    Integers up to 64 bits go into any argument of any layer; the load must end
    in a documented error (or a model), within the work a file of its size may
    cost, and never run out of memory (a ``MemoryError`` would fail the test).
    """
    path = tmp_path / "model.safetensors"
    mtl.save(_MODELS[data.draw(st.sampled_from(sorted(_MODELS)))](), path)
    metadata, arrays = read_safetensors(path)
    architecture = json.loads(metadata["architecture"])
    for _ in range(data.draw(st.integers(1, 3))):
        entry = data.draw(st.sampled_from(architecture["layers"]))
        key = data.draw(st.sampled_from(sorted(entry["config"]) or ["extra"]))
        size = data.draw(_SIZES)
        entry["config"][key] = data.draw(st.sampled_from([size, size, [size], [size, size]]))
    text = json.dumps(architecture)
    safetensors.numpy.save_file(arrays, path, metadata={**metadata, "architecture": text})

    undocumented: list[Exception] = []

    def attempt() -> None:
        try:
            mtl.load(path)
        except mtl.SerializationError:
            pass
        except Exception as err:  # a MemoryError above all
            undocumented.append(err)

    assert lines_of(attempt) <= 40 * path.stat().st_size + 20_000
    assert undocumented == []
