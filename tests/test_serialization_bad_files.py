"""Bad model files are refused with documented errors, never anything else.

Every failure ``load`` reports about a file's contents is a
``SerializationError``: ``TruncatedFileError``, ``CorruptFileError``,
``UnsupportedFormatVersionError``, ``UnknownLayerError``, ``KeyMismatchError``
or ``ShapeMismatchError``. The hypothesis tests mutate valid files at random and
hold the loader to exactly that.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorchless as mtl
from minitorchless.serialization._files import read_safetensors


def _model() -> mtl.Layer:
    rng = np.random.default_rng(0)
    return mtl.Sequential(
        mtl.Dense(3, 4, bias=True, rng=rng),
        mtl.Tanh(),
        mtl.Dropout(0.3, rng=rng),
        mtl.Residual(mtl.Dense(4, 4, rng=rng)),
        mtl.Dense(4, 2, rng=rng),
        mtl.Softmax(),
    )


def _valid_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "valid.safetensors"
        mtl.save(_model(), path)
        return path.read_bytes()


VALID = _valid_bytes()


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def _join(header: dict[str, Any] | bytes, body: bytes) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + body


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    return path


def _with_architecture(tmp_path: Path, edit: Callable[[dict[str, Any]], Any]) -> Path:
    """A valid file whose architecture JSON went through ``edit``."""
    metadata, arrays = read_safetensors(_write(tmp_path, VALID))
    architecture = json.loads(metadata["architecture"])
    edited = edit(architecture)
    metadata["architecture"] = json.dumps(architecture if edited is None else edited)
    path = tmp_path / "edited.safetensors"
    safetensors.numpy.save_file(arrays, path, metadata=metadata)
    return path


def test_the_valid_file_loads(tmp_path: Path) -> None:
    assert isinstance(mtl.load(_write(tmp_path, VALID)), mtl.Sequential)


def test_every_truncation_is_reported_as_truncated(tmp_path: Path) -> None:
    for length in range(len(VALID)):
        with pytest.raises(mtl.TruncatedFileError):
            mtl.load(_write(tmp_path, VALID[:length]))


@pytest.mark.parametrize(
    ("name", "make", "match"),
    [
        ("garbage", lambda h, b: _join(b"not json at all", b), "not valid JSON"),
        ("not utf-8", lambda h, b: _join(b'{"\xff": 1}', b), "not valid JSON"),
        ("a list", lambda h, b: _join(b"[1, 2]", b), "JSON object"),
        ("deep nesting", lambda h, b: _join(b"[" * 100_000 + b"]" * 100_000, b), "JSON"),
        ("duplicate key", lambda h, b: _join(b'{"a": 1, "a": 2}', b), "duplicate key"),
        ("trailing bytes", lambda h, b: _join(h, b + b"\0" * 8), "stray bytes"),
    ],
)
def test_corrupted_headers(name: str, make: Any, match: str, tmp_path: Path) -> None:
    header, body = _split(VALID)
    with pytest.raises(mtl.CorruptFileError, match=match):
        mtl.load(_write(tmp_path, make(header, body)))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("dtype", "I64", "has dtype int64, but the architecture builds"),
        ("dtype", "BF16", "floating and integer tensors only"),
        ("dtype", "BOOL", "floating and integer tensors only"),
        ("shape", [-1, 4], "list of sizes"),
        ("shape", [3, 5], "span"),
        ("data_offsets", [0, 8], "span"),
        ("data_offsets", "0-96", "begin, end"),
    ],
)
def test_corrupted_tensor_entries(field: str, value: Any, match: str, tmp_path: Path) -> None:
    header, body = _split(VALID)
    header["0.weight"][field] = value
    with pytest.raises(mtl.CorruptFileError, match=match):
        mtl.load(_write(tmp_path, _join(header, body)))


def test_overlapping_tensors(tmp_path: Path) -> None:
    header, body = _split(VALID)
    header["0.bias"]["data_offsets"] = header["0.weight"]["data_offsets"][:]
    header["0.bias"]["shape"] = header["0.weight"]["shape"]
    with pytest.raises(mtl.CorruptFileError, match="without gaps or overlaps"):
        mtl.load(_write(tmp_path, _join(header, body)))


@pytest.mark.parametrize("version", ["2", "0", "1.0", "", "latest"])
def test_unknown_format_versions(version: str, tmp_path: Path) -> None:
    header, body = _split(VALID)
    header["__metadata__"]["format_version"] = version
    with pytest.raises(mtl.UnsupportedFormatVersionError, match="this release reads version 1"):
        mtl.load(_write(tmp_path, _join(header, body)))
    if version == "2":
        with pytest.raises(mtl.UnsupportedFormatVersionError, match="newer minitorchless"):
            mtl.load(_write(tmp_path, _join(header, body)))


def test_files_from_other_tools_are_not_models(tmp_path: Path) -> None:
    safetensors.numpy.save_file({"weight": np.zeros((2, 2))}, tmp_path / "other.safetensors")
    with pytest.raises(mtl.CorruptFileError, match="not a minitorchless model file"):
        mtl.load(tmp_path / "other.safetensors")


@pytest.mark.parametrize("name", ["Frobnicator", "os.system", "builtins.eval", "__import__"])
def test_unknown_layer_types_are_named_never_imported(name: str, tmp_path: Path) -> None:
    def rename(architecture: dict[str, Any]) -> None:
        architecture["layers"][1]["type"] = name  # the Tanh

    with pytest.raises(mtl.UnknownLayerError) as info:
        mtl.load(_with_architecture(tmp_path, rename))
    assert repr(name) in str(info.value)
    assert "@mtl.register_layer" in str(info.value)


def test_a_shape_mismatch_names_the_key_and_both_shapes(tmp_path: Path) -> None:
    def widen(architecture: dict[str, Any]) -> None:
        assert architecture["layers"][5]["type"] == "Dense"  # the last one: (4, 2) -> (4, 5)
        architecture["layers"][5]["config"]["out_features"] = 5

    with pytest.raises(mtl.ShapeMismatchError) as info:
        mtl.load(_with_architecture(tmp_path, widen))
    assert "'4.weight'" in str(info.value) and "(4, 2)" in str(info.value)
    assert "(4, 5)" in str(info.value)


def test_missing_and_extra_keys(tmp_path: Path) -> None:
    metadata, arrays = read_safetensors(_write(tmp_path, VALID))
    fewer = {key: value for key, value in arrays.items() if key != "0.bias"}
    safetensors.numpy.save_file(fewer, tmp_path / "fewer.safetensors", metadata=metadata)
    with pytest.raises(mtl.KeyMismatchError, match="missing keys") as info:
        mtl.load(tmp_path / "fewer.safetensors")
    assert info.value.missing == ["0.bias"] and info.value.unexpected == []

    more = {**arrays, "9.weight": np.zeros(3)}
    safetensors.numpy.save_file(more, tmp_path / "more.safetensors", metadata=metadata)
    with pytest.raises(mtl.KeyMismatchError, match="unexpected keys") as info:
        mtl.load(tmp_path / "more.safetensors")
    assert info.value.unexpected == ["9.weight"]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda a: a.update(root=99), "'root'"),
        (lambda a: a.update(root=True), "'root'"),
        (lambda a: a.pop("root"), "exactly 'layers' and 'root'"),
        (lambda a: a.update(layers=[]), "non-empty"),
        (lambda a: a["layers"][0].update(training="yes"), "boolean"),
        (lambda a: a["layers"][0]["config"].update(in_features=-3), "cannot be rebuilt"),
        (lambda a: a["layers"][0]["config"].update(colour="red"), "cannot be rebuilt"),
        (lambda a: a["layers"][0]["config"].update(dtype="float32"), "dtype"),
        (lambda a: a["layers"][2]["config"].update(p=1.5), "cannot be rebuilt"),
        (lambda a: a["layers"][4]["config"].update(block={"$layer": 5}), "listed before it"),
        (lambda a: a["layers"][4]["config"].update(block={"$layer": False}), "refers to"),
        (lambda a: a["layers"][4]["config"].update(block={"$code": "print(1)"}), "unknown tagged"),
        (lambda a: a["layers"][4]["config"].update(block={"$layer": 0, "x": 1}), "one key"),
        (lambda a: a["layers"][-1]["config"].update(layers={"$tuple": 5}), "unknown tagged"),
        (lambda a: "just a string", "exactly 'layers' and 'root'"),
    ],
)
def test_malformed_architectures(edit: Any, match: str, tmp_path: Path) -> None:
    with pytest.raises(mtl.CorruptFileError, match=match):
        mtl.load(_with_architecture(tmp_path, edit))


def test_the_loader_has_no_way_to_run_code() -> None:
    package = Path(mtl.__file__).parent / "serialization"
    source = "\n".join(path.read_text() for path in package.glob("*.py"))
    for forbidden in ("import pickle", "pickle.load", "eval(", "exec(", "importlib", "__import__"):
        assert forbidden not in source, forbidden


# ---------------------------------------------------------------------- fuzzing
# a mutation: (kind, position as a fraction of the length, byte)
MUTATION = st.tuples(
    st.sampled_from(["replace", "insert", "delete"]),
    st.floats(0, 1, exclude_max=True),
    st.integers(0, 255),
)


def _mutate(data: bytes, mutations: list[tuple[str, float, int]]) -> bytes:
    buffer = bytearray(data)
    for kind, where, byte in mutations:
        if not buffer:
            break
        position = int(where * len(buffer))
        if kind == "replace":
            buffer[position] = byte
        elif kind == "insert":
            buffer.insert(position, byte)
        else:
            del buffer[position]
    return bytes(buffer)


def _load_only_documented_errors(path: Path) -> None:
    try:
        model = mtl.load(path)
    except mtl.SerializationError:
        return
    assert isinstance(model, mtl.Layer)  # a mutation the format cannot detect, e.g. in a weight


FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(mutations=st.lists(MUTATION, min_size=1, max_size=4))
def test_fuzzed_files_raise_only_documented_errors(
    mutations: list[tuple[str, float, int]], tmp_path: Path
) -> None:
    _load_only_documented_errors(_write(tmp_path, _mutate(VALID, mutations)))


@FUZZ
@given(mutations=st.lists(MUTATION, min_size=1, max_size=3))
def test_fuzzed_architectures_raise_only_documented_errors(
    mutations: list[tuple[str, float, int]], tmp_path: Path
) -> None:
    # the architecture text is mutated inside a well-formed safetensors file, so the
    # mutations reach the JSON decoder and the layers' from_config
    metadata, arrays = read_safetensors(_write(tmp_path, VALID))
    text = _mutate(metadata["architecture"].encode(), mutations).decode("utf-8", "replace")
    path = tmp_path / "fuzzed.safetensors"
    safetensors.numpy.save_file(arrays, path, metadata={**metadata, "architecture": text})
    _load_only_documented_errors(path)


# JSON values to put in a layer's config: integers stay small, because a config
# is allowed to ask for a layer of any size, and a huge one is a memory problem,
# not a format problem
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.floats() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_arbitrary_config_values_raise_only_documented_errors(
    data: st.DataObject, tmp_path: Path
) -> None:
    def scramble(architecture: dict[str, Any]) -> None:
        entry = data.draw(st.sampled_from(architecture["layers"]))
        keys = [*entry["config"], "extra"]
        entry["config"][data.draw(st.sampled_from(keys))] = data.draw(JSON_VALUES)

    _load_only_documented_errors(_with_architecture(tmp_path, scramble))


def test_a_tiny_file_cannot_declare_a_huge_layer(tmp_path: Path) -> None:
    """An architecture asking for far more parameters than the file stores is refused
    before anything is allocated (a 10^10-element Dense would need 80 GB)."""
    import json

    from safetensors.numpy import save_file

    architecture = {
        "layers": [
            {
                "type": "Dense",
                "config": {
                    "in_features": 100_000,
                    "out_features": 100_000,
                    "bias": False,
                    "dtype": "float64",
                },
                "training": True,
            }
        ],
        "root": 0,
    }
    good = tmp_path / "good.safetensors"
    mtl.save(mtl.Dense(2, 2, rng=np.random.default_rng(0)), good)
    metadata = dict(safe_open_metadata(good))
    metadata["architecture"] = json.dumps(architecture)
    hostile = tmp_path / "hostile.safetensors"
    save_file({"weight": np.zeros((2, 2))}, str(hostile), metadata=metadata)
    with pytest.raises(mtl.CorruptFileError, match="declares 10,000,000,000 parameters, far more"):
        mtl.load(hostile)


def safe_open_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return dict(handle.metadata())
