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
