"""Specimens of Conv1d and Conv2d: alone with every option, and in a small image model."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

import minitorchless as mtl
from specimens.base import Specimen


def _conv(cls: str, *args: Any, **kwargs: Any) -> Any:
    def build(rng: np.random.Generator, dt: Any) -> mtl.Layer:
        layer: mtl.Layer = getattr(mtl, cls)(*args, rng=rng, dtype=dt, **kwargs)
        return layer

    return build


def _module(name: str, *args: Any, **kwargs: Any) -> Any:
    return lambda torch: getattr(torch.nn, name)(*args, **kwargs)


def _image_model(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    """Images to three scores: two convolutions (one strided), then a dense layer."""
    return mtl.Sequential(
        mtl.Conv2d(2, 4, 3, padding=1, rng=rng, dtype=dt),
        mtl.Tanh(),
        mtl.Conv2d(4, 3, 3, stride=2, rng=rng, dtype=dt),
        mtl.Flatten(),
        mtl.Dense(12, 3, bias=True, rng=rng, dtype=dt),
    )


def _image_twin(torch: ModuleType) -> Any:
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.Tanh(),
        nn.Conv2d(4, 3, 3, stride=2),
        nn.Flatten(),
        nn.Linear(12, 3),
    )


_ROWS2D: list[tuple[str, tuple[Any, ...], dict[str, Any], tuple[int, ...]]] = [
    ("Conv2d", (2, 3, 3), {}, (2, 5, 4)),
    (
        "Conv2d(stride, padding, dilation)",
        (2, 3, (3, 2)),
        {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2)},
        (2, 6, 5),
    ),
    ("Conv2d(groups, no bias)", (4, 6, 2), {"groups": 2, "bias": False}, (4, 4, 3)),
    ("Conv2d(same)", (1, 2, 2), {"padding": "same", "dilation": 2}, (1, 4, 5)),
]
_ROWS1D: list[tuple[str, tuple[Any, ...], dict[str, Any], tuple[int, ...]]] = [
    ("Conv1d", (3, 2, 3), {}, (3, 6)),
    (
        "Conv1d(stride, padding, dilation, groups)",
        (4, 2, 3),
        {"stride": 2, "padding": 2, "dilation": 2, "groups": 2},
        (4, 7),
    ),
    ("Conv1d(same, no bias)", (2, 3, 4), {"padding": "same", "bias": False}, (2, 5)),
]

ROWS: dict[str, Specimen] = {
    name: Specimen(
        _conv(name.split("(")[0], *args, **kwargs),
        (sample,),
        torch=_module(name.split("(")[0], *args, **kwargs),
    )
    for name, args, kwargs, sample in [*_ROWS2D, *_ROWS1D]
}
ROWS["Sequential(images)"] = Specimen(_image_model, ((2, 5, 5),), torch=_image_twin)
