"""Each limit of ``serialization.limits`` is exact: a file at a limit loads, one past it is refused.

(``MAX_LAYERS`` and ``MAX_NESTING_DEPTH`` are checked this way in
``test_hostile_files.py``, ``MAX_HEADER_BYTES`` there too.) Limits are
lowered for a test with ``monkeypatch``, the way a program raises them.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import hostile_files
import numpy as np
import pytest
from hostile_files import (
    Allocates,
    Declares,
    layer,
    model_file,
    shape_explosion,
    valid_model_bytes,
)

import minitorchless as mtl
from minitorchless.serialization import _decode, _json, limits


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    return path


def _header(data: bytes) -> bytes:
    return data[8 : 8 + int.from_bytes(data[:8], "little")]


def test_the_json_value_limit_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = valid_model_bytes(mtl.Sequential(mtl.Dense(2, 2), mtl.Tanh()))
    bound = _json.value_bound(_header(data))
    path = _write(tmp_path, data)
    monkeypatch.setattr(limits, "MAX_JSON_VALUES", bound)
    assert isinstance(mtl.load(path), mtl.Sequential)
    monkeypatch.setattr(limits, "MAX_JSON_VALUES", bound - 1)
    with pytest.raises(mtl.FileLimitError, match="safetensors header may hold up to") as info:
        mtl.load(path)
    assert (info.value.limit, info.value.value, info.value.maximum) == (
        "MAX_JSON_VALUES",
        bound,
        bound - 1,
    )


def test_the_json_value_limit_applies_to_the_architecture_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = '{"layers": [1, 2, 3]}'  # 1 + { : [ , , = 6
    monkeypatch.setattr(limits, "MAX_JSON_VALUES", 6)
    assert _json.parse_json(text, "architecture", "f") == {"layers": [1, 2, 3]}
    monkeypatch.setattr(limits, "MAX_JSON_VALUES", 5)
    with pytest.raises(mtl.FileLimitError, match="the architecture may hold up to 6 JSON values"):
        _json.parse_json(text, "architecture", "f")


def test_the_parameter_limit_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, valid_model_bytes(mtl.Dense(4, 4, bias=True)))  # 16 + 4 values
    monkeypatch.setattr(limits, "MAX_PARAMETERS", 20)
    assert isinstance(mtl.load(path), mtl.Dense)
    monkeypatch.setattr(limits, "MAX_PARAMETERS", 19)
    with pytest.raises(mtl.FileLimitError, match="20 values in all, more than MAX_PARAMETERS = 19"):
        mtl.load(path)


def _loads(path: Path) -> bool:
    try:
        mtl.load(path)
    except mtl.FileLimitError as err:
        if err.limit != "MAX_SHAPE_CHECKS":
            raise
        return False
    return True


def test_the_shape_check_limit_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fewest lookups a file needs: at that limit it loads, one fewer and it is refused."""
    path = _write(tmp_path, shape_explosion(3, 3))
    needed = 1
    while needed < 5000:  # found long before
        monkeypatch.setattr(limits, "MAX_SHAPE_CHECKS", needed)
        if _loads(path):
            break
        needed += 1
    assert needed > 10  # the nested graphs do look shapes up
    monkeypatch.setattr(limits, "MAX_SHAPE_CHECKS", needed - 1)
    with pytest.raises(mtl.FileLimitError) as info:
        mtl.load(path)
    assert (info.value.value, info.value.maximum) == (needed, needed - 1)


def test_the_shape_checks_a_file_may_make_grow_with_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two lookups per JSON value of the architecture, plus 1000: a small file gets few."""
    seen: list[int] = []
    real = _decode._Decoder.__init__

    def spy(self: Any, *args: Any) -> None:
        real(self, *args)
        seen.append(self.shape_checks)

    monkeypatch.setattr(_decode._Decoder, "__init__", spy)
    mtl.load(_write(tmp_path, valid_model_bytes(mtl.Sequential(mtl.Tanh()))))
    text = '{"layers":[{"type":"Tanh","config":{},"training":true},' + (
        '{"type":"Sequential","config":{"layers":[{"$layer":0}]},"training":true}],"root":1}'
    )
    assert seen == [2 * _json.value_bound(text) + 1000]
    monkeypatch.setattr(limits, "MAX_SHAPE_CHECKS", 5)
    mtl.load(_write(tmp_path, valid_model_bytes(mtl.Sequential(mtl.Tanh()))))
    assert seen[-1] == 5


@pytest.mark.parametrize("cls", [Allocates, Declares])
def test_the_layer_budget_is_the_declared_values_plus_the_slack_exactly(
    cls: type[Allocates], tmp_path: Path
) -> None:
    """A file of 3 values may build layers of 3 + 2**20 values: they then miss their tensors."""
    tensors = {"other": np.zeros(3)}
    at = model_file(
        {"layers": [layer(cls.__name__, {"size": 3 + _decode._SLACK})], "root": 0}, tensors
    )
    with pytest.raises(mtl.KeyMismatchError, match="missing keys \\['table'\\]"):
        mtl.load(_write(tmp_path, at), custom_layers=[cls])
    past = model_file(
        {"layers": [layer(cls.__name__, {"size": 4 + _decode._SLACK})], "root": 0}, tensors
    )
    with pytest.raises(mtl.CorruptFileError, match="than the file's tensors hold"):
        mtl.load(_write(tmp_path, past), custom_layers=[cls])


def test_the_memory_capped_battery_holds_every_kind_of_bomb() -> None:
    """Every builder of a hostile file is in the battery that runs under the 100 MB cap."""
    helpers = {"model_file", "raw_file", "layer", "ref", "dense", "valid_model_bytes", "battery"}
    builders = {
        name
        for name, function in inspect.getmembers(hostile_files, inspect.isfunction)
        if function.__module__ == "hostile_files" and name not in helpers
    }
    source = inspect.getsource(hostile_files.battery)
    assert builders and all(f"{name}(" in source for name in builders), builders
    assert all(len(data) < 2**20 for data in hostile_files.battery().values())
