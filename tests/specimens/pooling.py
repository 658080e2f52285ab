"""Specimens of pooling, batch normalization and Dropout2d, alone and in a small network."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

import minitorchless as mtl
from specimens.base import Specimen


def _batch_norm(cls: Any, features: int, **kwargs: Any) -> Any:
    """A batch norm whose weights and running statistics are far from their initial values.

    ``weight`` and ``bias`` off 1 and 0 show a mix-up of the two; running
    statistics off 0 and 1 show in eval mode (and in the state dicts) whether
    they are the ones used.
    """

    def build(rng: np.random.Generator, dt: Any) -> mtl.Layer:
        layer = cls(features, dtype=dt, **kwargs)
        for parameter in layer.parameters():
            parameter.value[...] = rng.uniform(0.5, 1.5, parameter.shape).astype(dt)
        layer.running_mean.value[...] = rng.normal(0, 0.5, features).astype(dt)
        layer.running_var.value[...] = rng.uniform(0.5, 2.0, features).astype(dt)
        layer.num_batches_tracked.value[...] = 3
        return layer

    return build


def _in_eval(build: Any) -> Any:
    return lambda rng, dt: build(rng, dt).eval()


def _small_cnn(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    """Normalize, squash, pool twice, average each map, classify."""
    return mtl.Sequential(
        _batch_norm(mtl.BatchNorm2d, 2)(rng, dt),
        mtl.Tanh(),
        mtl.MaxPool2d(2),
        mtl.AvgPool2d(2, stride=1, padding=1),
        mtl.GlobalAvgPool2d(),
        mtl.Dense(2, 3, bias=True, rng=rng, dtype=dt),
    )


def _small_cnn_twin(torch: ModuleType) -> Any:
    from minitorchless.interop._torch_nn import GlobalAvgPool2d

    nn = torch.nn
    return nn.Sequential(
        nn.BatchNorm2d(2),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.AvgPool2d(2, stride=1, padding=1),
        GlobalAvgPool2d(),
        nn.Linear(2, 3),
    )


def _global_twin(torch: ModuleType) -> Any:
    from minitorchless.interop._torch_nn import GlobalAvgPool2d

    return GlobalAvgPool2d()


def _module(name: str, *args: Any, **kwargs: Any) -> Any:
    return lambda torch: getattr(torch.nn, name)(*args, **kwargs)


def _pool(cls: Any, *args: Any, **kwargs: Any) -> Any:
    return lambda rng, dt: cls(*args, **kwargs)


ROWS: dict[str, Specimen] = {
    "MaxPool2d": Specimen(_pool(mtl.MaxPool2d, 2), ((3, 6, 6),), torch=_module("MaxPool2d", 2)),
    "MaxPool2d(3, stride 2, padding 1)": Specimen(
        _pool(mtl.MaxPool2d, 3, stride=2, padding=1),
        ((2, 7, 6),),
        torch=_module("MaxPool2d", 3, stride=2, padding=1),
    ),
    "MaxPool1d(3, stride 1, padding 1)": Specimen(
        _pool(mtl.MaxPool1d, 3, stride=1, padding=1),
        ((2, 7),),
        torch=_module("MaxPool1d", 3, stride=1, padding=1),
    ),
    "AvgPool2d((2, 3), stride 1, padding (1, 0))": Specimen(
        _pool(mtl.AvgPool2d, (2, 3), stride=1, padding=(1, 0)),
        ((2, 5, 6),),
        torch=_module("AvgPool2d", (2, 3), stride=1, padding=(1, 0)),
    ),
    "AvgPool1d": Specimen(_pool(mtl.AvgPool1d, 2), ((3, 8),), torch=_module("AvgPool1d", 2)),
    "GlobalAvgPool2d": Specimen(
        lambda rng, dt: mtl.GlobalAvgPool2d(), ((3, 4, 5),), torch=_global_twin
    ),
    "BatchNorm1d": Specimen(
        _batch_norm(mtl.BatchNorm1d, 4), ((4,),), torch=_module("BatchNorm1d", 4), min_batch=2
    ),
    "BatchNorm1d(on (N, C, L), momentum None)": Specimen(
        _batch_norm(mtl.BatchNorm1d, 3, momentum=None),
        ((3, 5),),
        torch=_module("BatchNorm1d", 3, momentum=None),
    ),
    "BatchNorm1d(eval)": Specimen(
        _in_eval(_batch_norm(mtl.BatchNorm1d, 4)), ((4,),), torch=_module("BatchNorm1d", 4)
    ),
    "BatchNorm2d": Specimen(
        _batch_norm(mtl.BatchNorm2d, 3, momentum=0.3),
        ((3, 4, 4),),
        torch=_module("BatchNorm2d", 3, momentum=0.3),
    ),
    "BatchNorm2d(no affine, eps)": Specimen(
        _batch_norm(mtl.BatchNorm2d, 2, affine=False, eps=1e-3),
        ((2, 3, 3),),
        torch=_module("BatchNorm2d", 2, affine=False, eps=1e-3),
    ),
    "BatchNorm2d(eval)": Specimen(
        _in_eval(_batch_norm(mtl.BatchNorm2d, 3)), ((3, 2, 2),), torch=_module("BatchNorm2d", 3)
    ),
    "Dropout2d": Specimen(
        lambda rng, dt: mtl.Dropout2d(0.3, rng=rng), ((4, 3, 3),), torch=_module("Dropout2d", 0.3)
    ),
    "Sequential(cnn)": Specimen(_small_cnn, ((2, 6, 6),), torch=_small_cnn_twin),
}
