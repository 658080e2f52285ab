"""Specimens of GELU, SiLU, ELU and Softplus, alone and between Dense layers."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

import minitorchless as mtl
from specimens.base import Specimen


def _module(name: str, *args: Any, **kwargs: Any) -> Any:
    return lambda torch: getattr(torch.nn, name)(*args, **kwargs)


def _mlp(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    return mtl.Sequential(
        mtl.Dense(4, 6, bias=True, rng=rng, dtype=dt),
        mtl.GELU(),
        mtl.Dense(6, 6, rng=rng, dtype=dt),
        mtl.SiLU(),
        mtl.Dense(6, 5, bias=True, rng=rng, dtype=dt),
        mtl.ELU(0.5),
        mtl.Dense(5, 5, rng=rng, dtype=dt),
        mtl.Softplus(2.0, threshold=1.0),
        mtl.Dense(5, 2, rng=rng, dtype=dt),
        mtl.GELU("tanh"),
    )


def _mlp_twin(torch: ModuleType) -> Any:
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(4, 6),
        nn.GELU(),
        nn.Linear(6, 6, bias=False),
        nn.SiLU(),
        nn.Linear(6, 5),
        nn.ELU(0.5),
        nn.Linear(5, 5, bias=False),
        nn.Softplus(2.0, threshold=1.0),
        nn.Linear(5, 2, bias=False),
        nn.GELU("tanh"),
    )


ROWS: dict[str, Specimen] = {
    "GELU": Specimen(lambda rng, dt: mtl.GELU(), ((4,),), torch=_module("GELU")),
    "GELU(tanh)": Specimen(
        lambda rng, dt: mtl.GELU("tanh"), ((4,),), torch=_module("GELU", "tanh")
    ),
    "SiLU": Specimen(lambda rng, dt: mtl.SiLU(), ((2, 3),), torch=_module("SiLU")),
    # ELU's derivative jumps at 0 for alpha != 1: keep the inputs off it
    "ELU": Specimen(lambda rng, dt: mtl.ELU(), ((4,),), torch=_module("ELU")),
    "ELU(0.3)": Specimen(lambda rng, dt: mtl.ELU(0.3), ((4,),), True, torch=_module("ELU", 0.3)),
    "Softplus": Specimen(lambda rng, dt: mtl.Softplus(), ((4,),), torch=_module("Softplus")),
    # threshold 1 with beta 2 puts inputs above 0.5 in the linear region
    "Softplus(beta, threshold)": Specimen(
        lambda rng, dt: mtl.Softplus(2.0, threshold=1.0),
        ((3, 2),),
        True,
        torch=_module("Softplus", 2.0, threshold=1.0),
    ),
    "Sequential(smooth activations)": Specimen(_mlp, ((4,),), True, torch=_mlp_twin),
}
