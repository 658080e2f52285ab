"""``GraphBuilder``: the same ``Graph`` as the triples, wired with Python variables."""

from __future__ import annotations

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.testing import check_layer


def _block(rng: np.random.Generator) -> mtl.Layer:
    return mtl.Residual(mtl.Sequential(mtl.Dense(4, 4, bias=True, rng=rng), mtl.Tanh()))


def test_the_builder_gives_the_graph_of_the_triples() -> None:
    rng = np.random.default_rng(0)
    g = mtl.GraphBuilder()
    x = g.input("x", (3,))
    h = g.add(mtl.Dense(3, 4, rng=rng), x)
    h = g.add(_block(rng), h)
    h = g.add(_block(rng), h)
    built = g.build(outputs=g.add(mtl.Dense(4, 2, rng=rng), h))

    rng = np.random.default_rng(0)
    by_hand = mtl.Graph(
        inputs={"x": (3,)},
        nodes=[
            ("dense", mtl.Dense(3, 4, rng=rng), "x"),
            ("residual", _block(rng), "dense"),
            ("residual_1", _block(rng), "residual"),
            ("dense_1", mtl.Dense(4, 2, rng=rng), "residual_1"),
        ],
        outputs="dense_1",
    )
    assert repr(built) == repr(by_hand)
    assert (
        list(built.state_dict())
        == list(by_hand.state_dict())
        == [
            "dense.weight",
            "residual.block.0.weight",
            "residual.block.0.bias",
            "residual_1.block.0.weight",
            "residual_1.block.0.bias",
            "dense_1.weight",
        ]
    )
    x_data = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_array_equal(built(x_data), by_hand(x_data))


def test_a_loop_of_thirty_blocks_needs_no_names() -> None:
    rng = np.random.default_rng(0)
    g = mtl.GraphBuilder()
    h = g.input("x", 4)
    for _ in range(30):
        h = g.add(_block(rng), h)
    model = g.build(h)
    assert [node.name for node in model.nodes][-1] == "residual_29"
    assert model.output_shape((None, 4)) == (None, 4)


def test_several_inputs_shared_layers_merges_and_names() -> None:
    rng = np.random.default_rng(0)
    g = mtl.GraphBuilder()
    left, right = g.input("left", 3), g.input("right", 3)
    shared = mtl.Dense(3, 3, bias=True, rng=rng)
    a, b = g.add(shared, left), g.add(shared, right, name="encode_right")
    both = g.add(mtl.Concatenate(), a, b)
    model = g.build([g.add(mtl.Dense(6, 1, rng=rng), both), a])
    assert model.input_names == ["left", "right"] and model.output_names == ["dense_1", "dense"]
    assert [node.name for node in model.nodes] == [
        "dense",
        "encode_right",
        "concatenate",
        "dense_1",
    ]
    inputs = tuple(np.random.default_rng(2).standard_normal((4, 3)) for _ in range(2))
    check_layer(model, inputs)


def test_mistakes_are_named() -> None:
    g, other = mtl.GraphBuilder(), mtl.GraphBuilder()
    x = g.input("x")
    with pytest.raises(TypeError, match="Symbols of this builder"):
        g.add(mtl.Tanh(), other.input("y"))
    with pytest.raises(TypeError, match="needs at least one input"):
        g.add(mtl.Tanh())
    with pytest.raises(ValueError, match="'x' is taken"):
        g.add(mtl.Tanh(), x, name="x")
    used = g.add(mtl.Tanh(), x)
    g.add(mtl.Sigmoid(), x)  # never reaches an output
    with pytest.raises(ValueError, match=r"dangling node\(s\) \['sigmoid'\]"):
        g.build(used)
    with pytest.raises(TypeError, match="outputs must be Symbols"):
        g.build("tanh")  # type: ignore[arg-type]
