"""Every built-in layer that holds tensors tells its size from its config, before it is built.

``load`` compares ``size_from_config`` with the values the file's header
declares *before* the constructor runs: a 200-byte file naming
``Embedding(10**7, 10)`` would otherwise make ``load`` draw 800 MB of random
numbers before counting them. A layer that cannot answer is counted only once
built, so this test holds every built-in layer to answering.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hostile_files import big_declared, layer, model_file
from specimens import SPECIMENS, build

import minitorchless as mtl


def _layers(model: mtl.Layer) -> list[mtl.Layer]:
    return [model, *(sub for _, child in model.children() for sub in _layers(child))]


def _built_in_layers_with_tensors() -> dict[str, mtl.Layer]:
    found: dict[str, mtl.Layer] = {}
    for name in sorted(SPECIMENS):
        for sub in _layers(build(name)):
            if type(sub).__module__.startswith("minitorchless.") and (
                list(sub.own_parameters()) or list(sub.own_buffers())
            ):
                found.setdefault(type(sub).__name__, sub)
    return found


LAYERS = _built_in_layers_with_tensors()


def test_the_table_holds_layers_with_tensors() -> None:
    assert {"Dense", "Embedding", "LayerNorm"} <= set(LAYERS)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_built_in_layer_with_tensors_declares_its_size(name: str) -> None:
    sub = LAYERS[name]
    held = sum(p.size for _, p in sub.own_parameters()) + sum(b.size for _, b in sub.own_buffers())
    declared = type(sub).size_from_config(sub.get_config())
    assert declared == held, (
        f"{name}.size_from_config(get_config()) is {declared}, its tensors hold {held}: give "
        f"{name} a size_from_config, so that load refuses a hostile config before allocating"
    )


@pytest.mark.parametrize(
    ("kind", "config", "declared"),
    [
        ("Dense", {"in_features": 10**5, "out_features": 10**5}, 10**10),
        ("Embedding", {"num_embeddings": 10**7, "embedding_dim": 10}, 10**8),
        ("LayerNorm", {"normalized_shape": {"$tuple": [10**4, 10**4]}}, 2 * 10**8),
        ("LayerNorm", {"normalized_shape": 10**8, "bias": False}, 10**8),
    ],
)
def test_a_tiny_file_declaring_a_huge_layer_is_refused_before_it_is_built(
    kind: str,
    config: dict[str, Any],
    declared: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cls = getattr(mtl, kind)

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"{kind}.from_config ran")

    monkeypatch.setattr(cls, "from_config", classmethod(never))
    path = tmp_path / "tiny.safetensors"
    path.write_bytes(big_declared(kind, config))
    assert path.stat().st_size < 400
    with pytest.raises(mtl.CorruptFileError, match=f"declares {declared:,} parameters, far more"):
        mtl.load(path)


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("Embedding", {"num_embeddings": -3, "embedding_dim": 2}),
        ("Embedding", {"num_embeddings": "many", "embedding_dim": 2}),
        ("LayerNorm", {"normalized_shape": [2, 0]}),
        ("LayerNorm", {"normalized_shape": True}),
    ],
)
def test_a_config_the_size_cannot_be_told_from_reaches_the_constructors_own_error(
    kind: str, config: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(model_file({"layers": [layer(kind, config)], "root": 0}))
    with pytest.raises(mtl.CorruptFileError, match=rf"layer 0 \({kind}\) cannot be rebuilt"):
        mtl.load(path)


# ------------------------------------------- tensors charged as they are created
class _ManyTables(mtl.Layer):
    """A user's layer making ``count`` tensors of 10 values, with no size_from_config."""

    made = 0

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        for index in range(count):
            self.add_buffer(f"t{index}", np.zeros(10))
            type(self).made += 1

    def forward(self, inputs: Any) -> Any:
        return inputs

    def backward(self, grad_output: Any) -> Any:
        return grad_output

    def get_config(self) -> dict[str, Any]:
        return {"count": self.count}


def test_a_users_layer_is_stopped_at_the_first_tensor_past_the_budget(tmp_path: Path) -> None:
    """10**9 tensors asked for: the constructor is stopped after 2**20 / 10 of them."""
    path = tmp_path / "many.safetensors"
    path.write_bytes(model_file({"layers": [layer("_ManyTables", {"count": 10**9})], "root": 0}))
    _ManyTables.made = 0
    with pytest.raises(
        mtl.CorruptFileError,
        match=r"layer 0 \(_ManyTables\) creates a tensor 't104857' of shape \(10,\) .*more "
        r"parameters than the file's tensors hold",
    ):
        mtl.load(path, custom_layers=[_ManyTables])
    assert _ManyTables.made == 2**20 // 10


class _Tied(mtl.Layer):
    """A user's container whose output layer reuses its embedding's weight (weight tying)."""

    def __init__(self, embedding: mtl.Embedding) -> None:
        super().__init__()
        self.embedding = embedding
        self.output = self.add_parameter("output", embedding.weight)

    def children(self) -> list[tuple[str, mtl.Layer]]:
        return [("embedding", self.embedding)]

    def forward(self, inputs: Any) -> Any:
        return self.embedding(inputs) @ self.output.value.T

    def backward(self, grad_output: Any) -> Any:
        return None

    def get_config(self) -> dict[str, Any]:
        return {"embedding": self.embedding}


def test_a_tied_parameter_is_charged_once(tmp_path: Path) -> None:
    """1.2 million values stored once: charging them twice would pass the budget's slack."""
    model = _Tied(mtl.Embedding(1200, 1000, rng=np.random.default_rng(0)))
    assert [name for name, _ in model.named_tensors()] == ["output"]
    path = tmp_path / "tied.safetensors"
    mtl.save(model, path)
    loaded = mtl.load(path, custom_layers=[_Tied])
    assert loaded.output is loaded.embedding.weight  # type: ignore[attr-defined]
    np.testing.assert_array_equal(loaded.output.value, model.output.value)  # type: ignore[attr-defined]


def test_outside_a_load_nothing_is_charged() -> None:
    assert len(list(_ManyTables(3).named_tensors())) == 3
    assert mtl.Dense(1500, 1500).weight.value.size > 2**20
