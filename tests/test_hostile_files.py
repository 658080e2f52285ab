"""An adversary's suite against the loader: special files, foreign files, limits, hostile JSON.

Every file here is built to hurt: to block, to read without end, to make the
parser or the layers allocate far more than the file holds, or to be mistaken
for something else. Each must be refused with the documented error, before
the work it asks for. The resource bombs are run again in a child process with
a memory cap (``test_no_file_under_1_mb_needs_100_mb``).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from hostile_files import (
    Allocates,
    Declares,
    battery,
    big_declared_dense,
    deep_chain,
    deep_config,
    layer,
    many_layers,
    model_file,
    raw_file,
    tiny_objects_header,
    valid_model_bytes,
)
from work import lines_of

import minitorchless as mtl
from minitorchless.serialization import _files, _json, limits

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, data: bytes, name: str = "hostile.safetensors") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ------------------------------------------------------------- special files
def test_a_directory_is_refused_as_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(mtl.NotARegularFileError, match="is a directory, not a regular file"):
        mtl.load(tmp_path)


def test_a_symbolic_link_to_a_model_is_followed(tmp_path: Path) -> None:
    target = _write(tmp_path, valid_model_bytes(mtl.Sequential(mtl.Dense(2, 2), mtl.Tanh())))
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    assert isinstance(mtl.load(link), mtl.Sequential)


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        mtl.load(tmp_path / "nothing.safetensors")


# ------------------------------------------------------------ foreign files
def _npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.pkl", b"x")
    return buffer.getvalue()


def _onnx() -> bytes:
    # the start of what export_onnx writes: ir_version 8, then producer_name
    return b"\x08\x08\x12\rminitorchless" + bytes(40)


@pytest.mark.parametrize(
    ("name", "data", "looks_like"),
    [
        ("model.npy", _npy(), "a NumPy array file"),
        ("model.npz", _zip(), "a ZIP archive"),
        ("model.pkl", pickle.dumps({"weight": [1.0]}), "a Python pickle"),
        ("model.onnx", _onnx(), "an ONNX model"),
        ("notes.txt", b"These are my notes about the model.\n" * 40, "a text file, starting"),
        ("config.json", b'{"layers": [1, 2, 3], "root": 0}\n', "a JSON text file"),
        ("model.gz", gzip.compress(b"x" * 100), "a gzip-compressed file"),
        ("model.h5", b"\x89HDF\r\n\x1a\n" + bytes(100), "an HDF5 file"),
        ("noise.bin", bytes(range(255, 0, -1)), "unrecognised binary data"),
    ],
)
def test_a_file_of_another_format_is_named_for_what_it_looks_like(
    name: str, data: bytes, looks_like: str, tmp_path: Path
) -> None:
    path = _write(tmp_path, data, name)
    for load in (mtl.load, lambda p: mtl.load_weights(mtl.Dense(2, 2), p, layout="torch")):
        with pytest.raises(mtl.NotAModelFileError) as info:
            load(path)
        message = str(info.value)
        assert "not a minitorchless model file, nor a safetensors file" in message
        assert looks_like in message
        assert "claims" not in message  # never a header length read from someone else's bytes


def test_another_tools_safetensors_file_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    safetensors.numpy.save_file({"embeddings": np.zeros((2, 2))}, path)
    with pytest.raises(mtl.NotAModelFileError, match=r"1 tensor\(s\) \['embeddings'\]"):
        mtl.load(path)
    assert isinstance(mtl.NotAModelFileError("x"), mtl.CorruptFileError)  # old handlers hold


@pytest.mark.parametrize("size", [0, 1, 5, 8])
def test_a_short_start_of_a_model_file_is_truncated_not_foreign(size: int, tmp_path: Path) -> None:
    data = valid_model_bytes(mtl.Dense(2, 2))
    with pytest.raises(mtl.TruncatedFileError):
        mtl.load(_write(tmp_path, data[:size]))


# ------------------------------------------------------------------ limits
def test_a_claimed_50_mb_header_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The length field alone refuses it: the 50 MB (sparse here) are never read."""
    path = tmp_path / "sparse.safetensors"
    with path.open("wb") as handle:
        handle.write((50 * 2**20).to_bytes(8, "little") + b"{")
        handle.seek(8 + 50 * 2**20 - 1)
        handle.write(b"}")
    reads: list[int] = []
    real_read = _files.SafetensorsFile._read
    monkeypatch.setattr(
        _files.SafetensorsFile,
        "_read",
        lambda self, offset, count: reads.append(count) or real_read(self, offset, count),
    )
    with pytest.raises(mtl.FileLimitError, match="MAX_HEADER_BYTES") as info:
        mtl.load(path)
    assert info.value.limit == "MAX_HEADER_BYTES" and info.value.value == 50 * 2**20
    assert sum(reads) <= 64


def test_a_header_of_tiny_objects_is_refused_before_the_parser_builds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 MB of ``{},`` would take about 25 times that once parsed; counting refuses it."""

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("json.loads ran on a header over the limit")

    path = _write(tmp_path, tiny_objects_header(3_000_000))
    monkeypatch.setattr(_json.json, "loads", never)
    with pytest.raises(mtl.FileLimitError, match="MAX_JSON_VALUES") as info:
        mtl.load(path)
    assert info.value.value > limits.MAX_JSON_VALUES


def test_the_value_bound_never_undercounts() -> None:
    for text in ['{"a": [1, {"b": []}, "x,y"], "c": null}', "[[], {}, [[[1]]]]", '"plain"', "7"]:
        assert _json.value_bound(text) >= _count_values(json.loads(text))
        assert _json.value_bound(text.encode()) == _json.value_bound(text)


def _count_values(value: Any) -> int:
    if isinstance(value, list):
        return 1 + sum(map(_count_values, value))
    if isinstance(value, dict):
        return 1 + len(value) + sum(map(_count_values, value.values()))  # keys count
    return 1


class _Holds(mtl.Layer):
    """A user's layer whose config holds any JSON value."""

    def __init__(self, value: Any = None) -> None:
        super().__init__()
        self.value = value

    def forward(self, inputs: Any) -> Any:
        return inputs

    def backward(self, grad_output: Any) -> Any:
        return grad_output

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


# (the file at a limit, the file one past it, the limit): ``many_layers(n)`` lists
# n + 1 layers, ``deep_chain(n)`` nests n + 1 deep with the Tanh, and
# ``deep_config(n)`` n + 1 deep with the config
_AT_AND_PAST = {
    "layers": (
        lambda: many_layers(limits.MAX_LAYERS - 1),
        lambda: many_layers(limits.MAX_LAYERS),
        "MAX_LAYERS",
    ),
    "containers": (
        lambda: deep_chain(limits.MAX_NESTING_DEPTH - 1),
        lambda: deep_chain(limits.MAX_NESTING_DEPTH),
        "MAX_NESTING_DEPTH",
    ),
    "config values": (
        lambda: deep_config(limits.MAX_NESTING_DEPTH - 1, "_Holds"),
        lambda: deep_config(limits.MAX_NESTING_DEPTH, "_Holds"),
        "MAX_NESTING_DEPTH",
    ),
}


@pytest.mark.parametrize("case", sorted(_AT_AND_PAST))
def test_each_limit_is_exact_and_refused_with_an_error_naming_it(case: str, tmp_path: Path) -> None:
    """At a limit a file loads; one past it, it is refused with ``FileLimitError``."""
    at, past, limit = _AT_AND_PAST[case]
    assert isinstance(mtl.load(_write(tmp_path, at()), custom_layers=[_Holds]), mtl.Layer)
    with pytest.raises(mtl.FileLimitError, match=limit) as info:
        mtl.load(_write(tmp_path, past()), custom_layers=[_Holds])
    assert info.value.limit == limit and info.value.maximum == getattr(limits, limit)
    assert info.value.value == getattr(limits, limit) + 1
    assert isinstance(info.value, mtl.SerializationError)


def test_the_header_length_limit_is_exact(tmp_path: Path) -> None:
    """A claimed header of MAX_HEADER_BYTES is read (and found short); one more is refused."""
    claim = limits.MAX_HEADER_BYTES
    with pytest.raises(mtl.TruncatedFileError):
        mtl.load(_write(tmp_path, claim.to_bytes(8, "little") + b"{}"))
    with pytest.raises(mtl.FileLimitError, match="MAX_HEADER_BYTES") as info:
        mtl.load(_write(tmp_path, (claim + 1).to_bytes(8, "little") + b"{}"))
    assert info.value.value == claim + 1 and info.value.maximum == claim


def test_a_limit_can_be_raised_for_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, many_layers(limits.MAX_LAYERS + 1))
    monkeypatch.setattr(limits, "MAX_LAYERS", limits.MAX_LAYERS + 2)  # the Tanhs and a Sequential
    assert len(mtl.load(path)) == limits.MAX_LAYERS - 1  # type: ignore[arg-type]


def test_total_declared_parameters_are_limited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, valid_model_bytes(mtl.Dense(4, 4)))
    monkeypatch.setattr(limits, "MAX_PARAMETERS", 15)
    with pytest.raises(mtl.FileLimitError, match="16 values in all, more than MAX_PARAMETERS = 15"):
        mtl.load(path)


# ------------------------------------------------------------ hostile JSON
@pytest.mark.parametrize(
    ("architecture", "match"),
    [
        ('{"layers": [], "layers": [], "root": 0}', "duplicate key 'layers'"),
        (
            '{"layers": [{"type": "Dropout", "config": {"p": NaN}, "training": true}], "root": 0}',
            r"layer 0 \(Dropout\) cannot be rebuilt",  # save writes NaN configs: the layer judges
        ),
        (
            '{"layers": [{"type": "Dropout", "config": {"p": 1e999}, "training": 1}], "root": 0}',
            "overflows a float",
        ),
        (
            '{"layers": [{"type": "Dense", "config": {"in_features": ' + "9" * 5000 + "}}]}",
            "not valid JSON",
        ),
        ("[" * 50_000 + "]" * 50_000, "JSON"),
        (
            '{"layers": [{"type": "\\ud800", "config": {}, "training": true}], "root": 0}',
            r"\\ud800",
        ),
    ],
    ids=["duplicate key", "NaN", "infinity", "5000 digits", "deep nesting", "lone surrogate"],
)
def test_hostile_json_in_the_architecture(architecture: str, match: str, tmp_path: Path) -> None:
    with pytest.raises(mtl.SerializationError, match=match):
        mtl.load(_write(tmp_path, model_file(architecture)))


def test_hostile_json_in_the_header(tmp_path: Path) -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):  # not JSON, and the Rust reader refuses it
        with pytest.raises(mtl.CorruptFileError, match=f"{constant} is not JSON"):
            mtl.load(
                _write(tmp_path, raw_file(b'{"__metadata__": {}, "x": %b}' % constant.encode()))
            )
    with pytest.raises(mtl.CorruptFileError, match="duplicate key"):
        mtl.load(_write(tmp_path, raw_file(b'{"__metadata__": {}, "__metadata__": {}}')))
    with pytest.raises(mtl.CorruptFileError, match="'__metadata__' must map strings to strings"):
        mtl.load(_write(tmp_path, raw_file(b'{"__metadata__": {"format": ["minitorchless"]}}')))


# -------------------------------------------------- the memory budget of layers
def test_a_tiny_file_cannot_declare_a_huge_built_in_layer(tmp_path: Path) -> None:
    with pytest.raises(mtl.CorruptFileError, match="declares 10,000,000,000 parameters, far more"):
        mtl.load(_write(tmp_path, big_declared_dense(100_000)))


def test_a_users_layer_that_declares_its_size_is_refused_before_it_is_built(tmp_path: Path) -> None:
    data = model_file({"layers": [layer("Declares", {"size": 10**12})], "root": 0})
    Declares.built = 0
    with pytest.raises(mtl.CorruptFileError, match="declares 1,000,000,000,000 parameters"):
        mtl.load(_write(tmp_path, data), custom_layers=[Declares])
    assert Declares.built == 0  # the constructor never ran: nothing was allocated


def test_every_layer_counts_its_parameters_and_buffers_against_the_header(tmp_path: Path) -> None:
    """Beyond the header's declared values (plus a small slack), a built layer is refused."""
    size = (1 << 20) + 10  # one slack's worth past a file holding nothing
    data = model_file({"layers": [layer("Allocates", {"size": size})], "root": 0})
    with pytest.raises(mtl.CorruptFileError, match="more parameters than the file's tensors hold"):
        mtl.load(_write(tmp_path, data), custom_layers=[Allocates])
    fits = model_file(
        {"layers": [layer("Allocates", {"size": 3})], "root": 0}, {"table": np.ones(3)}
    )
    assert (
        mtl.load(_write(tmp_path, fits), custom_layers=[Allocates]).table.value.tolist() == [1] * 3
    )


def test_no_tensor_data_is_read_for_a_refused_architecture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budget comes from the header's shapes: the data is read after the layers exist."""
    monkeypatch.setattr(
        _files.SafetensorsFile, "tensors", lambda self: pytest.fail("the data was read")
    )
    with pytest.raises(mtl.CorruptFileError, match="declares"):
        mtl.load(_write(tmp_path, big_declared_dense(100_000)))


# -------------------------------------------- the battery, under a memory cap
_CHILD = r"""
import json, os, resource, sys
import minitorchless as mtl
from minitorchless.testing import check_layer  # import everything loading may touch first
directory = sys.argv[1]
with open("/proc/self/statm") as statm:
    used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (used + 100 * 2**20, resource.RLIM_INFINITY))
for name in sorted(os.listdir(directory)):
    print(json.dumps({"file": name, "start": True}), flush=True)
    try:
        model = mtl.load(os.path.join(directory, name))
        result = "loaded " + type(model).__name__
    except mtl.SerializationError as err:
        result = type(err).__name__
    print(json.dumps({"file": name, "result": result}), flush=True)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_no_file_under_1_mb_needs_100_mb(tmp_path: Path) -> None:
    """Every bomb (and /dev/zero and FIFOs) in a child allowed 100 MB beyond its imports.

    A MemoryError, a crash or a hang fails the test loudly, naming the file
    being loaded; time is only the child's generous timeout, never measured.
    """
    files = battery()
    for index, (name, data) in enumerate(files.items()):
        assert len(data) < 2**20, name
        (tmp_path / f"{index:02d} {name}").write_bytes(data)
    os.mkfifo(tmp_path / "90 fifo")
    (tmp_path / "91 link to fifo").symlink_to(tmp_path / "90 fifo")
    (tmp_path / "92 dev zero").symlink_to("/dev/zero")
    (tmp_path / "93 directory").mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    try:
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        last = (err.stdout or b"").decode().strip().splitlines()[-1:]
        pytest.fail(f"the loads did not end within 180 s; last line: {last}")
    lines = [json.loads(line) for line in child.stdout.splitlines()]
    results = {line["file"]: line["result"] for line in lines if "result" in line}
    started = [line["file"] for line in lines if "start" in line]
    assert child.returncode == 0, (started[-1:], child.stderr[-2000:])
    assert len(results) == len(files) + 4, results
    expected = {
        "90 fifo": "NotARegularFileError",
        "91 link to fifo": "NotARegularFileError",
        "92 dev zero": "NotARegularFileError",
        "93 directory": "NotARegularFileError",
        "nested shared containers": "loaded Sequential",
        "graph listed in reverse": "loaded Graph",
        "many layers": "loaded Sequential",
        "too many layers": "FileLimitError",
        "deep chain": "FileLimitError",
        "tiny objects header": "CorruptFileError",  # under the limits: parsed, then refused
        "huge header length": "FileLimitError",
        "huge declared dense": "CorruptFileError",
        "huge declared embedding": "CorruptFileError",
        "huge declared layer norm": "CorruptFileError",
        "huge integers": "CorruptFileError",
        "many axes": "CorruptFileError",
        "many axes of a layer norm": "CorruptFileError",
        "empty": "TruncatedFileError",
        "text": "NotAModelFileError",
    }
    for file, result in results.items():
        name = file[3:]
        assert result == expected.get(name, result), (name, result)
        assert result.startswith("loaded") or result.endswith("Error"), (name, result)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(battery()))
def test_each_bomb_costs_a_bounded_count_of_lines(name: str, tmp_path: Path) -> None:
    """At most 3 million lines of Python per file under 1 MB: a fraction of a second untraced."""
    path = _write(tmp_path, battery()[name])
    assert lines_of(lambda: mtl.load(path), limit=3_000_000) <= 3_000_000


def test_the_memory_cap_of_the_battery_would_catch_a_bomb(tmp_path: Path) -> None:
    """The child's cap is real: asking it for 200 MB fails there."""
    script = _CHILD.split("for name in")[0] + "import numpy\nnumpy.ones(25 * 2**20)\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    child = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert child.returncode != 0 and "MemoryError" in child.stderr


def test_special_files_are_refused_in_this_process_too(tmp_path: Path) -> None:
    """The FIFO check runs here as well; O_NONBLOCK makes the open return at once."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(mtl.NotARegularFileError, match=r"a FIFO \(named pipe\)"):
        mtl.load(fifo)
    with pytest.raises(mtl.NotARegularFileError, match="a character device"):
        mtl.load_weights(mtl.Dense(2, 2), "/dev/null", layout="torch")
