"""The layer contract, run by ``check_layer`` over a table of every layer.

Adding a layer means adding one row here: a name, a factory ``rng -> layer``
(building in the requested dtype) and the input width it takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.testing import check_layer

Factory = Callable[[np.random.Generator, Any], mtl.Layer]


def _graph(rng: np.random.Generator, dt: Any) -> mtl.Graph:
    """Fan-out, a layer shared by two nodes, and both merges."""
    shared = mtl.Dense(3, 3, bias=True, rng=rng, dtype=dt)
    return mtl.Graph(inputs="x", nodes=[
        ("h", mtl.Dense(4, 3, rng=rng, dtype=dt), "x"),
        ("a", shared, "h"),
        ("t", mtl.Tanh(), "a"),
        ("b", shared, "t"),
        ("sum", mtl.Add(), ["h", "b"]),
        ("cat", mtl.Concatenate(), ["sum", "a"]),
        ("out", mtl.Dense(6, 2, rng=rng, dtype=dt), "cat"),
    ], outputs="out")


def _two_input_graph(rng: np.random.Generator, dt: Any) -> mtl.Graph:
    return mtl.Graph(inputs={"left": 3, "right": 2}, nodes=[
        ("l", mtl.Dense(3, 4, rng=rng, dtype=dt), "left"),
        ("both", mtl.Concatenate(), ["l", "right"]),
        ("out", mtl.Sequential(mtl.Dense(6, 2, bias=True, rng=rng, dtype=dt), mtl.Sigmoid()),
         "both"),
    ], outputs="out")


# name -> (factory(rng, dtype), input features (a tuple: several inputs),
#          keep inputs away from 0 for kinks)
LAYERS: dict[str, tuple[Factory, int | tuple[int, ...], bool]] = {
    "Dense": (lambda rng, dt: mtl.Dense(5, 3, rng=rng, dtype=dt), 5, False),
    "Dense(bias)": (lambda rng, dt: mtl.Dense(4, 6, bias=True, rng=rng, dtype=dt), 4, False),
    "Dense(he_normal)": (
        lambda rng, dt: mtl.Dense(3, 2, rng=rng, dtype=dt, init="he_normal"), 3, False),
    "Sigmoid": (lambda rng, dt: mtl.Sigmoid(), 4, False),
    "Tanh": (lambda rng, dt: mtl.Tanh(), 4, False),
    "ReLU": (lambda rng, dt: mtl.ReLU(), 4, True),
    "LeakyReLU": (lambda rng, dt: mtl.LeakyReLU(0.1), 4, True),
    "Identity": (lambda rng, dt: mtl.Identity(), 4, False),
    "Softmax": (lambda rng, dt: mtl.Softmax(), 5, False),
    "Softmax(axis=0)": (lambda rng, dt: mtl.Softmax(axis=0), 3, False),
    "Dropout": (lambda rng, dt: mtl.Dropout(0.3, rng=rng), 4, False),
    "Sequential": (
        lambda rng, dt: mtl.Sequential(
            mtl.Dense(4, 5, bias=True, rng=rng, dtype=dt), mtl.Tanh(),
            mtl.Dense(5, 3, rng=rng, dtype=dt), mtl.Sigmoid(),
        ),
        4,
        False,
    ),
    "Residual": (
        lambda rng, dt: mtl.Residual(mtl.Sequential(
            mtl.Dense(4, 4, bias=True, rng=rng, dtype=dt), mtl.Tanh(),
            mtl.Dense(4, 4, rng=rng, dtype=dt))),
        4,
        False,
    ),
    "Parallel(concat)": (
        lambda rng, dt: mtl.Parallel(
            mtl.Dense(4, 3, bias=True, rng=rng, dtype=dt),
            mtl.Sequential(mtl.Dense(4, 2, rng=rng, dtype=dt), mtl.Tanh()), mtl.Sigmoid()),
        4,
        False,
    ),
    "Parallel(sum)": (
        lambda rng, dt: mtl.Parallel(
            mtl.Dense(4, 3, rng=rng, dtype=dt),
            mtl.Sequential(mtl.Dense(4, 3, bias=True, rng=rng, dtype=dt), mtl.Tanh()),
            merge="sum"),
        4,
        False,
    ),
    "Graph": (_graph, 4, False),
    "Graph(2 inputs)": (_two_input_graph, (3, 2), False),
    "Add": (lambda rng, dt: mtl.Add(), (4, 4, 4), False),
    "Concatenate": (lambda rng, dt: mtl.Concatenate(), (3, 1, 2), False),
}


def _inputs(
    features: int | tuple[int, ...], away_from_zero: bool, dtype: Any, batch: int = 6
) -> Any:
    if isinstance(features, tuple):  # a multi-input layer takes a tuple of arrays
        return tuple(_inputs(width, away_from_zero, dtype, batch) * (i + 1)
                     for i, width in enumerate(features))
    x = np.random.default_rng(7).standard_normal((batch, features))
    if away_from_zero:
        x += np.sign(x) * 0.1  # finite differences are meaningless at a kink
    return x.astype(dtype)


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_contract(name: str, dtype: Any) -> None:
    factory, features, away = LAYERS[name]
    report = check_layer(lambda rng: factory(rng, dtype), _inputs(features, away, dtype))
    assert report.checked["inputs"] > 0
    assert all(error < 1e-5 for error in report.max_relative_error.values())


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_batch_of_one(name: str) -> None:
    factory, features, away = LAYERS[name]
    check_layer(lambda rng: factory(rng, np.float64), _inputs(features, away, np.float64, 1))


def test_every_exported_layer_is_in_the_table() -> None:
    exported = {
        obj for obj in vars(mtl).values()
        if isinstance(obj, type) and issubclass(obj, mtl.Layer) and not getattr(
            obj, "__abstractmethods__", None)
    }
    covered = {type(factory(np.random.default_rng(0), np.float64))
               for factory, _, _ in LAYERS.values()}
    missing = sorted(cls.__name__ for cls in exported - covered)
    assert not missing, f"layers missing from the contract table: {missing}"
