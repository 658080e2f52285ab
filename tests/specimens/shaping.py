"""Specimens of Flatten, Reshape, LayerNorm and Embedding, alone and in small models."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

import minitorchless as mtl
from specimens.base import Specimen


def _reshape_twin(*shape: int) -> Any:
    """A torch module reshaping each sample (torch.nn has no Reshape module)."""

    def build(torch: ModuleType) -> Any:
        class Reshape(torch.nn.Module):  # type: ignore[name-defined,misc]
            def forward(self, x: Any) -> Any:
                return x.reshape(x.shape[0], *shape)

        return Reshape()

    return build


def _layer_norm(*args: Any, **kwargs: Any) -> Any:
    """A LayerNorm whose weight and bias are not 1 and 0, so that a mix-up shows."""

    def build(rng: np.random.Generator, dt: Any) -> mtl.Layer:
        layer = mtl.LayerNorm(*args, dtype=dt, **kwargs)
        for parameter in layer.parameters():
            parameter.value[...] = rng.uniform(0.5, 1.5, parameter.shape).astype(dt)
        return layer

    return build


def _token_model(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    """Tokens to one score each: embed, normalize, flatten the sequence, project."""
    return mtl.Sequential(
        mtl.Embedding(12, 4, padding_idx=11, rng=rng, dtype=dt),
        _layer_norm(4)(rng, dt),
        mtl.Flatten(),
        mtl.Dense(20, 3, bias=True, rng=rng, dtype=dt),
        mtl.Reshape(3, 1),
    )


def _token_twin(torch: ModuleType) -> Any:
    nn = torch.nn
    return nn.Sequential(
        nn.Embedding(12, 4, padding_idx=11),
        nn.LayerNorm(4),
        nn.Flatten(),
        nn.Linear(20, 3),
        nn.Unflatten(1, (3, 1)),
    )


def _module(name: str, *args: Any, **kwargs: Any) -> Any:
    return lambda torch: getattr(torch.nn, name)(*args, **kwargs)


ROWS: dict[str, Specimen] = {
    "Flatten": Specimen(lambda rng, dt: mtl.Flatten(), ((2, 3, 2),), torch=_module("Flatten")),
    "Reshape": Specimen(lambda rng, dt: mtl.Reshape(3, 4), ((12,),), torch=_reshape_twin(3, 4)),
    "Reshape(-1)": Specimen(
        lambda rng, dt: mtl.Reshape(2, -1), ((3, 2, 2),), torch=_reshape_twin(2, -1)
    ),
    "LayerNorm": Specimen(_layer_norm(5), ((5,),), torch=_module("LayerNorm", 5)),
    "LayerNorm(on (N, T, 5))": Specimen(_layer_norm(5), ((3, 5),), torch=_module("LayerNorm", 5)),
    "LayerNorm((3, 4), eps)": Specimen(
        _layer_norm((3, 4), eps=1e-3), ((3, 4),), torch=_module("LayerNorm", (3, 4), eps=1e-3)
    ),
    "LayerNorm(no affine)": Specimen(
        _layer_norm(4, elementwise_affine=False),
        ((3, 4),),
        torch=_module("LayerNorm", 4, elementwise_affine=False),
    ),
    "LayerNorm(no bias)": Specimen(
        _layer_norm(4, bias=False), ((4,),), torch=_module("LayerNorm", 4, bias=False)
    ),
    "Embedding": Specimen(
        lambda rng, dt: mtl.Embedding(7, 3, rng=rng, dtype=dt),
        ((5,),),
        integers=7,
        torch=_module("Embedding", 7, 3),
    ),
    # the padding row (the last) is never among the inputs: its gradient is zero by
    # definition, which finite differences of the forward cannot see
    "Embedding(padding_idx)": Specimen(
        lambda rng, dt: mtl.Embedding(6, 2, padding_idx=-1, rng=rng, dtype=dt),
        ((2, 3),),
        integers=5,
        torch=_module("Embedding", 6, 2, padding_idx=-1),
    ),
    "Sequential(tokens)": Specimen(_token_model, ((5,),), integers=11, torch=_token_twin),
}
