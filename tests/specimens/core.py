"""Specimens of the core layers: Dense, the activations, dropout, containers and merges."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

import minitorchless as mtl
from specimens.base import Build, Specimen, TorchTwin


def _dense(n_in: int, n_out: int, **kwargs: Any) -> Build:
    return lambda rng, dt: mtl.Dense(n_in, n_out, rng=rng, dtype=dt, **kwargs)


def _classic(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    return mtl.Sequential(
        mtl.Dense(5, 4, rng=rng, dtype=dt),
        mtl.Sigmoid(),
        mtl.Dense(4, 3, rng=rng, dtype=dt),
        mtl.Sigmoid(),
    )


def _every_activation(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    return mtl.Sequential(
        mtl.Dense(4, 8, bias=True, rng=rng, dtype=dt),
        mtl.Tanh(),
        mtl.ReLU(),
        mtl.LeakyReLU(0.2),
        mtl.Identity(),
        mtl.Dropout(0.25, rng=rng),
        mtl.Dense(8, 3, rng=rng, dtype=dt),
        mtl.Sigmoid(),
        mtl.Softmax(),
    )


def _every_activation_twin(torch: ModuleType) -> Any:
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.Tanh(),
        nn.ReLU(),
        nn.LeakyReLU(0.2),
        nn.Identity(),
        nn.Dropout(0.25),
        nn.Linear(8, 3, bias=False),
        nn.Sigmoid(),
        nn.Softmax(dim=-1),
    )


def _shared_in_sequential(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    dense = mtl.Dense(3, 3, bias=True, rng=rng, dtype=dt)
    return mtl.Sequential(dense, mtl.Tanh(), dense)


def _residual(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    return mtl.Residual(
        mtl.Sequential(
            mtl.Dense(4, 4, bias=True, rng=rng, dtype=dt),
            mtl.Tanh(),
            mtl.Dense(4, 4, rng=rng, dtype=dt),
        )
    )


def _parallel_concat(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    return mtl.Parallel(
        mtl.Dense(4, 3, bias=True, rng=rng, dtype=dt),
        mtl.Sequential(mtl.Dense(4, 2, rng=rng, dtype=dt), mtl.Tanh()),
        mtl.Sigmoid(),
    )


def _parallel_sum(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    return mtl.Parallel(
        mtl.Dense(4, 3, rng=rng, dtype=dt),
        mtl.Sequential(mtl.Dense(4, 3, bias=True, rng=rng, dtype=dt), mtl.Tanh()),
        merge="sum",
    )


def _graph(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    """Fan-out, a layer shared by two nodes, and both merges."""
    shared = mtl.Dense(3, 3, bias=True, rng=rng, dtype=dt)
    return mtl.Graph(
        inputs="x",
        nodes=[
            ("h", mtl.Dense(4, 3, rng=rng, dtype=dt), "x"),
            ("a", shared, "h"),
            ("t", mtl.Tanh(), "a"),
            ("b", shared, "t"),
            ("sum", mtl.Add(), ["h", "b"]),
            ("cat", mtl.Concatenate(), ["sum", "a"]),
            ("out", mtl.Dense(6, 2, rng=rng, dtype=dt), "cat"),
        ],
        outputs="out",
    )


def _two_input_graph(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    return mtl.Graph(
        inputs={"left": 3, "right": 2},
        nodes=[
            ("l", mtl.Dense(3, 4, rng=rng, dtype=dt), "left"),
            ("both", mtl.Concatenate(), ["l", "right"]),
            (
                "out",
                mtl.Sequential(mtl.Dense(6, 2, bias=True, rng=rng, dtype=dt), mtl.Sigmoid()),
                "both",
            ),
        ],
        outputs="out",
    )


def _two_in_two_out_graph(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    """Two inputs, two outputs, a shared layer used on both branches, both merges."""
    shared = mtl.Dense(4, 4, bias=True, rng=rng, dtype=dt)
    return mtl.Graph(
        inputs={"a": 3, "b": None},
        nodes=[
            ("ha", mtl.Dense(3, 4, rng=rng, dtype=dt), "a"),
            ("hb", mtl.Sequential(mtl.Dense(2, 4, bias=True, rng=rng, dtype=dt), mtl.Tanh()), "b"),
            ("sa", shared, "ha"),
            ("sb", shared, "hb"),
            ("sum", mtl.Add(), ["sa", "sb", "ha"]),
            ("cat", mtl.Concatenate(), ["sum", "hb"]),
            ("act", mtl.Tanh(), "cat"),
            ("out", mtl.Dense(8, 2, rng=rng, dtype=dt), "act"),
        ],
        outputs=["out", "sum"],
    )


def _graph_in_sequential(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    return mtl.Sequential(
        mtl.Dense(3, 3, rng=rng, dtype=dt),
        mtl.Graph(
            "x", [("h", mtl.Dense(3, 3, rng=rng, dtype=dt), "x"), ("s", mtl.Add(), ["x", "h"])], "s"
        ),
        mtl.Sigmoid(),
    )


def _linear(n_in: int, n_out: int, bias: bool = False) -> TorchTwin:
    return lambda torch: torch.nn.Linear(n_in, n_out, bias=bias)


def _module(name: str, *args: Any, **kwargs: Any) -> TorchTwin:
    return lambda torch: getattr(torch.nn, name)(*args, **kwargs)


ROWS: dict[str, Specimen] = {
    "Dense": Specimen(_dense(5, 3), ((5,),), torch=_linear(5, 3)),
    "Dense(bias)": Specimen(_dense(4, 6, bias=True), ((4,),), torch=_linear(4, 6, bias=True)),
    "Dense(he_normal)": Specimen(_dense(3, 2, init="he_normal"), ((3,),), torch=_linear(3, 2)),
    "Sigmoid": Specimen(lambda rng, dt: mtl.Sigmoid(), ((4,),), torch=_module("Sigmoid")),
    "Tanh": Specimen(lambda rng, dt: mtl.Tanh(), ((4,),), torch=_module("Tanh")),
    "ReLU": Specimen(lambda rng, dt: mtl.ReLU(), ((4,),), True, torch=_module("ReLU")),
    "LeakyReLU": Specimen(
        lambda rng, dt: mtl.LeakyReLU(0.1), ((4,),), True, torch=_module("LeakyReLU", 0.1)
    ),
    "LeakyReLU(2.5)": Specimen(
        lambda rng, dt: mtl.LeakyReLU(2.5), ((4,),), True, torch=_module("LeakyReLU", 2.5)
    ),
    "Identity": Specimen(lambda rng, dt: mtl.Identity(), ((4,),), torch=_module("Identity")),
    "Softmax": Specimen(lambda rng, dt: mtl.Softmax(), ((5,),), torch=_module("Softmax", -1)),
    "Softmax(axis=0)": Specimen(
        lambda rng, dt: mtl.Softmax(axis=0), ((3,),), torch=_module("Softmax", 0)
    ),
    "Dropout": Specimen(
        lambda rng, dt: mtl.Dropout(0.3, rng=rng), ((4,),), torch=_module("Dropout", 0.3)
    ),
    "Sequential(classic)": Specimen(
        _classic,
        ((5,),),
        torch=lambda torch: torch.nn.Sequential(
            torch.nn.Linear(5, 4, bias=False),
            torch.nn.Sigmoid(),
            torch.nn.Linear(4, 3, bias=False),
            torch.nn.Sigmoid(),
        ),
    ),
    "Sequential(every activation)": Specimen(
        _every_activation, ((4,),), True, torch=_every_activation_twin
    ),
    "Sequential(Identity, Dropout)": Specimen(
        lambda rng, dt: mtl.Sequential(mtl.Identity(), mtl.Dropout(0.2, rng=rng)), ((3,),)
    ),
    "Sequential(shared Dense)": Specimen(_shared_in_sequential, ((3,),)),
    "Residual": Specimen(_residual, ((4,),)),
    "Parallel(concat)": Specimen(_parallel_concat, ((4,),)),
    "Parallel(sum)": Specimen(_parallel_sum, ((4,),)),
    "Parallel(one branch)": Specimen(lambda rng, dt: mtl.Parallel(mtl.Tanh()), ((3,),)),
    "Graph": Specimen(_graph, ((4,),)),
    "Graph(2 inputs)": Specimen(_two_input_graph, ((3,), (2,))),
    "Graph(2 inputs, 2 outputs)": Specimen(_two_in_two_out_graph, ((3,), (2,))),
    "Graph in Sequential": Specimen(_graph_in_sequential, ((3,),)),
    "Add": Specimen(lambda rng, dt: mtl.Add(), ((4,), (4,), (4,))),
    "Concatenate": Specimen(lambda rng, dt: mtl.Concatenate(), ((3,), (1,), (2,))),
}
