"""save / load / save_weights / load_weights: round trips, atomic writes, and bad files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from specimens import SPECIMENS, build

import minitorchless as mtl
from minitorchless.serialization import _architecture
from minitorchless.serialization._files import read_safetensors


def _outputs(model: mtl.Layer, inputs: Any) -> list[np.ndarray]:
    outputs = model(inputs)
    return list(outputs) if isinstance(outputs, tuple) else [outputs]


def _saved(tmp_path: Path, name: str = "Sequential(classic)") -> tuple[mtl.Layer, Path]:
    model = build(name)
    path = tmp_path / "model.safetensors"
    mtl.save(model, path)
    return model, path


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_save_load_round_trip(name: str, dtype: Any, tmp_path: Path) -> None:
    model = build(name, dtype)
    path = tmp_path / "model.safetensors"
    mtl.save(model, path)
    loaded = mtl.load(path)

    assert type(loaded) is type(model)
    assert repr(loaded) == repr(model)
    assert loaded.dtype == model.dtype
    original, restored = model.state_dict(), loaded.state_dict()
    assert list(restored) == list(original)
    for key in original:
        assert restored[key].dtype == original[key].dtype
        np.testing.assert_array_equal(restored[key], original[key])
    model.eval()
    loaded.eval()
    inputs = SPECIMENS[name].make_inputs(dtype, batch=5, seed=99)
    for expected, received in zip(_outputs(model, inputs), _outputs(loaded, inputs), strict=True):
        np.testing.assert_array_equal(received, expected)


def test_shared_layers_come_back_shared(tmp_path: Path) -> None:
    dense = mtl.Dense(3, 3, rng=np.random.default_rng(0))
    model = mtl.Sequential(dense, mtl.Tanh(), dense)
    mtl.save(model, tmp_path / "m.safetensors")
    loaded = mtl.load(tmp_path / "m.safetensors")
    assert isinstance(loaded, mtl.Sequential)
    assert loaded[0] is loaded[2]
    assert list(loaded.state_dict()) == ["0.weight"]

    graph = build("Graph(2 inputs, 2 outputs)")
    mtl.save(graph, tmp_path / "g.safetensors")
    loaded_graph = mtl.load(tmp_path / "g.safetensors")
    assert isinstance(loaded_graph, mtl.Graph)
    layers = {node.name: node.layer for node in loaded_graph.nodes}
    assert layers["sa"] is layers["sb"]


def test_training_flags_are_kept(tmp_path: Path) -> None:
    model = build("Sequential(every activation)")
    model.eval()
    model[5].train()  # only the Dropout in training mode
    mtl.save(model, tmp_path / "m.safetensors")
    loaded = mtl.load(tmp_path / "m.safetensors")
    assert isinstance(loaded, mtl.Sequential)
    assert [layer.training for layer in loaded] == [layer.training for layer in model]
    assert loaded.training is False


def test_file_layout_is_documented_json(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    metadata, arrays = read_safetensors(path)
    assert metadata["format"] == "minitorchless"
    assert metadata["format_version"] == "1"
    architecture = json.loads(metadata["architecture"])
    assert architecture["root"] == 4
    assert [entry["type"] for entry in architecture["layers"]] == [
        "Dense",
        "Sigmoid",
        "Dense",
        "Sigmoid",
        "Sequential",
    ]
    assert architecture["layers"][4]["config"] == {
        "layers": [{"$layer": 0}, {"$layer": 1}, {"$layer": 2}, {"$layer": 3}]
    }
    assert sorted(arrays) == ["0.weight", "2.weight"]


def test_non_contiguous_weights_are_saved_correctly(tmp_path: Path) -> None:
    # safetensors copies raw memory: a transposed view would be written scrambled
    dense = mtl.Dense(3, 4, rng=np.random.default_rng(0))
    transposed = np.arange(12.0).reshape(4, 3).T  # shape (3, 4), Fortran-ordered view
    assert not transposed.flags.c_contiguous
    dense.weight.value = transposed
    mtl.save(dense, tmp_path / "t.safetensors")
    np.testing.assert_array_equal(
        safetensors.numpy.load_file(tmp_path / "t.safetensors")["weight"], transposed
    )
    loaded = mtl.load(tmp_path / "t.safetensors")
    assert isinstance(loaded, mtl.Dense)
    np.testing.assert_array_equal(loaded.weight.value, transposed)

    strided = np.arange(48.0).reshape(6, 8)[::2, ::2]  # a strided slice
    dense.weight.value = strided
    mtl.save_weights(dense, tmp_path / "s.safetensors")
    mtl.load_weights(loaded, tmp_path / "s.safetensors")
    np.testing.assert_array_equal(loaded.weight.value, strided)


# -------------------------------------------------------------- custom layers
class Scale(mtl.Layer):
    """A test layer with a parameter and a config holding every storable kind of value."""

    def __init__(self, features: int, options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.features = features
        self.options = options if options is not None else {}
        self.scale = self.add_parameter("scale", np.ones(features))

    def forward(self, inputs: Any) -> Any:
        inputs = np.asarray(inputs)
        self.save_for_backward(inputs)
        return inputs * self.scale.value

    def backward(self, grad_output: Any) -> Any:
        inputs = self.saved()
        self.scale.grad += (grad_output * inputs).sum(axis=0)
        return grad_output * self.scale.value

    def get_config(self) -> dict[str, Any]:
        return {"features": self.features, "options": self.options}


OPTIONS = {
    "tuple": (1, "two", None),
    "list": [1.5, [True, False]],
    "$odd": {"$layer": "not a ref"},
    "numpy": np.float32(0.5),
    "nan": float("nan"),
}


@pytest.fixture
def empty_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_architecture, "_REGISTRY", {})


@pytest.mark.usefixtures("empty_registry")
def test_custom_layers_need_registering(tmp_path: Path) -> None:
    model = mtl.Sequential(mtl.Dense(2, 3), Scale(3, OPTIONS))
    mtl.save(model, tmp_path / "c.safetensors")
    with pytest.raises(mtl.UnknownLayerError) as info:
        mtl.load(tmp_path / "c.safetensors")
    message = str(info.value)
    assert "'Scale'" in message and "register_layer" in message and "custom_layers" in message

    for custom in ([Scale], {"Scale": Scale}):
        loaded = mtl.load(tmp_path / "c.safetensors", custom_layers=custom)
        assert isinstance(loaded, mtl.Sequential) and isinstance(loaded[1], Scale)
        options = loaded[1].options
        assert options["tuple"] == (1, "two", None)
        assert options["list"] == [1.5, [True, False]]
        assert options["$odd"] == {"$layer": "not a ref"}
        assert options["numpy"] == 0.5 and np.isnan(options["nan"])

    mtl.register_layer(Scale)
    loaded = mtl.load(tmp_path / "c.safetensors")
    assert isinstance(loaded, mtl.Sequential)
    np.testing.assert_array_equal(loaded[1].scale.value, model[1].scale.value)


@pytest.mark.usefixtures("empty_registry")
def test_register_layer_under_a_name(tmp_path: Path) -> None:
    @mtl.register_layer(name="tests.Scale")
    class Renamed(Scale):
        pass

    mtl.save(Renamed(2), tmp_path / "r.safetensors")
    metadata, _ = read_safetensors(tmp_path / "r.safetensors")
    assert json.loads(metadata["architecture"])["layers"][0]["type"] == "tests.Scale"
    assert isinstance(mtl.load(tmp_path / "r.safetensors"), Renamed)


@pytest.mark.usefixtures("empty_registry")
def test_register_layer_refuses_clashes_and_non_layers(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'Dense' is taken by minitorchless"):
        mtl.register_layer(name="Dense")(Scale)
    with pytest.raises(TypeError, match="Layer subclass"):
        mtl.register_layer(int)  # type: ignore[type-var]

    class Dense(Scale):  # same name as a built-in, not registered
        pass

    with pytest.raises(ValueError, match="same name as minitorchless"):
        mtl.save(Dense(2), tmp_path / "x.safetensors")


def test_unstorable_config_is_refused_at_save(tmp_path: Path) -> None:
    layer = Scale(2, {"callback": print})
    with pytest.raises(TypeError, match=r"Scale.get_config\(\)\['options'\]\['callback'\]"):
        mtl.save(layer, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


# ---------------------------------------------------------------- weights only
def test_weights_round_trip_and_cast(tmp_path: Path) -> None:
    model = build("Sequential(classic)")
    mtl.save_weights(model, tmp_path / "w.safetensors")
    other = build("Sequential(classic)", seed=1).to(np.float32)
    mtl.load_weights(other, tmp_path / "w.safetensors")
    for key, value in model.state_dict().items():
        assert other.state_dict()[key].dtype == np.float32
        np.testing.assert_allclose(other.state_dict()[key], value, rtol=1e-6)
    with pytest.raises(mtl.CorruptFileError, match="load_weights"):
        mtl.load(tmp_path / "w.safetensors")


def test_load_weights_reads_files_from_save(tmp_path: Path) -> None:
    model, path = _saved(tmp_path)
    other = build("Sequential(classic)", seed=5)
    mtl.load_weights(other, path)
    np.testing.assert_array_equal(other[0].weight.value, model[0].weight.value)


def test_load_weights_asks_the_layout_of_foreign_files(tmp_path: Path) -> None:
    model = build("Sequential(classic)")
    safetensors.numpy.save_file(model.state_dict(), tmp_path / "plain.safetensors")
    other = build("Sequential(classic)", seed=1)
    with pytest.raises(mtl.SerializationError, match="layout='torch'"):
        mtl.load_weights(other, tmp_path / "plain.safetensors")
    mtl.load_weights(other, tmp_path / "plain.safetensors", layout="minitorchless")
    np.testing.assert_array_equal(other[2].weight.value, model[2].weight.value)

    mtl.save_weights(model, tmp_path / "own.safetensors")
    with pytest.raises(mtl.SerializationError, match="'minitorchless' layout"):
        mtl.load_weights(other, tmp_path / "own.safetensors", layout="torch")
    with pytest.raises(ValueError, match="layout must be one of"):
        mtl.save_weights(model, tmp_path / "x.safetensors", layout="keras")  # type: ignore[arg-type]


def test_mismatched_weights_name_keys_and_shapes_and_leave_the_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    saved = mtl.Sequential(
        mtl.Dense(4, 3, rng=rng), mtl.Tanh(), mtl.Dense(3, 2, bias=True, rng=rng)
    )
    mtl.save_weights(saved, tmp_path / "w.safetensors")
    other = mtl.Sequential(mtl.Dense(4, 3, rng=rng), mtl.Dense(3, 2, rng=rng))
    before = other.state_dict()
    with pytest.raises(mtl.KeyMismatchError) as keys:
        mtl.load_weights(other, tmp_path / "w.safetensors")
    assert keys.value.missing == ["1.weight"]
    assert sorted(keys.value.unexpected) == ["2.bias", "2.weight"]
    assert isinstance(keys.value, mtl.StateDictError)

    wider = mtl.Sequential(
        mtl.Dense(4, 5, rng=rng), mtl.Tanh(), mtl.Dense(5, 2, bias=True, rng=rng)
    )
    with pytest.raises(mtl.ShapeMismatchError) as shapes:
        mtl.load_weights(wider, tmp_path / "w.safetensors")
    assert (shapes.value.key, shapes.value.expected, shapes.value.received) == (
        "0.weight",
        (4, 5),
        (4, 3),
    )
    assert "(4, 5)" in str(shapes.value) and "(4, 3)" in str(shapes.value)
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


# --------------------------------------------------------------- atomic writes
def _no_temporaries(directory: Path) -> bool:
    return not [path for path in directory.iterdir() if path.name.endswith(".tmp")]


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_an_interrupted_save_leaves_the_old_file(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, path = _saved(tmp_path)
    old = path.read_bytes()
    bigger = mtl.Sequential(mtl.Dense(5, 40), mtl.Tanh(), mtl.Dense(40, 3))

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk on fire")

    if where == "write":  # half the bytes reach the temporary file, then the process is hit
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self.handle = real_fdopen(*args, **kwargs)

            def __enter__(self) -> HalfWriter:
                return self

            def __exit__(self, *exc: object) -> None:
                self.handle.close()

            def write(self, data: bytes) -> int:
                self.handle.write(data[: len(data) // 2])
                self.handle.flush()
                raise KeyboardInterrupt

        monkeypatch.setattr(os, "fdopen", HalfWriter)
        expected: type[BaseException] = KeyboardInterrupt
    else:
        monkeypatch.setattr(os, where, fail)
        expected = OSError
    with pytest.raises(expected):
        mtl.save(bigger, path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert _no_temporaries(tmp_path)
    assert isinstance(mtl.load(path), mtl.Sequential)


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_saved_files_get_ordinary_permissions(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
