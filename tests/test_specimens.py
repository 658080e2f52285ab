"""The specimen table covers every layer the package exports, and its rows build."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from specimens import SPECIMENS, build, layer_types

import minitorchless as mtl
import minitorchless.layers as layer_zoo


def _exported_layers() -> set[type]:
    return {
        obj
        for namespace in (mtl, layer_zoo)
        for obj in vars(namespace).values()
        if isinstance(obj, type) and issubclass(obj, mtl.Layer) and not inspect.isabstract(obj)
    }


def test_every_exported_layer_has_a_specimen() -> None:
    covered: set[type] = set()
    for name in SPECIMENS:
        covered |= layer_types(build(name))
    missing = sorted(cls.__name__ for cls in _exported_layers() - covered)
    assert not missing, f"layers without a row in tests/specimens.py: {missing}"


@pytest.mark.parametrize("name", sorted(SPECIMENS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_specimen_builds_in_its_dtype_and_runs(name: str, dtype: type) -> None:
    layer = build(name, dtype)
    assert layer.dtype in (None, np.dtype(dtype))
    outputs = layer(SPECIMENS[name].make_inputs(dtype))
    for output in outputs if isinstance(outputs, tuple) else (outputs,):
        assert output.dtype == dtype


def test_several_inputs_differ_in_scale() -> None:
    a, b, c = SPECIMENS["Add"].make_inputs(batch=4000)
    assert 1.9 < np.std(b) / np.std(a) < 2.1 and 2.9 < np.std(c) / np.std(a) < 3.1
