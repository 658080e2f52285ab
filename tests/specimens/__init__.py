"""One table of specimens: every layer and container, buildable in float64 and float32.

Every per-layer test reads this table: the layer contract (``check_layer``),
float32 purity, ``backward_parameters``, save/load, PyTorch state dicts and
ONNX export. Adding a layer to minitorchless means one file, one export line
and one row in the ``ROWS`` of this package's module for its family of layers
(``core.py``...); ``test_specimens.py`` fails for an exported layer that has
no row.

A row is a :class:`Specimen`: how to build the layer from ``(rng, dtype)``,
the sample shape of each of its inputs (without the batch axis), and, where
one exists, how to build its PyTorch twin (whose weights then come from
``mtl.to_torch_state_dict``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minitorchless as mtl
from specimens import attention, conv, core, pooling, recurrent, shaping, smooth_activations
from specimens.base import Specimen

__all__ = ["SPECIMENS", "Specimen", "build", "layer_types"]

SPECIMENS: dict[str, Specimen] = {
    **core.ROWS,
    **shaping.ROWS,
    **smooth_activations.ROWS,
    **conv.ROWS,
    **pooling.ROWS,
    **recurrent.ROWS,
    **attention.ROWS,
}
"""Every row, by name: one module per family of layers adds its ``ROWS``."""


def build(name: str, dtype: Any = np.float64, seed: int = 0) -> mtl.Layer:
    """The specimen ``name``, built from a generator seeded with ``seed``."""
    return SPECIMENS[name].build(np.random.default_rng(seed), dtype)


def layer_types(model: mtl.Layer) -> set[type]:
    """The classes of ``model`` and of every layer nested in it."""
    found = {type(model)}
    for _, child in model.children():
        found |= layer_types(child)
    return found
