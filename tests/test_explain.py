"""``explain`` beyond the chain: graphs, skip connections, branches, shared layers, checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from specimens import SPECIMENS, build

import minitorchless as mtl


def _residual(rng: np.random.Generator) -> mtl.Sequential:
    return mtl.Sequential(
        mtl.Dense(3, 4, bias=True, rng=rng),
        mtl.Tanh(),
        mtl.Residual(mtl.Sequential(mtl.Dense(4, 4, rng=rng), mtl.Tanh())),
        mtl.Dense(4, 2, rng=rng),
    )


def test_every_printed_gradient_is_checked_by_finite_differences() -> None:
    rng = np.random.default_rng(0)
    explanation = mtl.explain(
        _residual(rng),
        rng.standard_normal((4, 3)),
        rng.standard_normal((4, 2)),
        mtl.MSELoss(),
        print_fn=None,
    )
    backward = [step for step in explanation.steps if step.phase == "backward"]
    assert backward and all(
        step.check.startswith("checked: agrees with finite differences") for step in backward
    )
    assert explanation.verified
    assert "Checks: every gradient above agrees with finite differences" in explanation.text


def test_a_residual_shows_its_sum_and_the_gradient_through_both_paths() -> None:
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    explanation = mtl.explain(_residual(rng), X, Y, mtl.MSELoss(), print_fn=None)
    text = explanation.text
    assert "[2] Residual" in text and "H4 = A1 + A2" in text  # x + block(x)
    assert "[2.block.0] Dense" in text
    # A1 feeds the block and the sum: the block's share is named, and the Residual
    # returns the whole gradient, dL/dH4 (the identity path) plus that share
    assert [name for name in explanation.values if name.startswith("dL/dA1")] == [
        "dL/dA1",
        "dL/dA1 (via [2.block.0])",
    ]
    np.testing.assert_allclose(
        explanation["dL/dA1"], explanation["dL/dH4"] + explanation["dL/dA1 (via [2.block.0])"]
    )


def test_a_graph_with_a_shared_layer_shows_each_use() -> None:
    rng = np.random.default_rng(2)
    shared = mtl.Dense(3, 3, bias=True, rng=rng)
    graph = mtl.Graph(
        inputs="x",
        nodes=[
            ("a", shared, "x"),
            ("t", mtl.Tanh(), "a"),
            ("b", shared, "t"),
            ("sum", mtl.Add(), ["a", "b"]),
        ],
        outputs="sum",
    )
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    explanation = mtl.explain(graph, X, Y, mtl.MSELoss(), print_fn=None)
    text = explanation.text
    assert "[a] Dense" in text and "[b] Dense (use 2)" in text
    assert "Z2 = A1 @ W1 + b1" in text  # the second use, with the same weights
    # the two uses' shares of dL/dW1 add up to the gradient the model accumulates
    model = mtl.Graph(
        inputs="x",
        nodes=[
            ("a", shared, "x"),
            ("t", mtl.Tanh(), "a"),
            ("b", shared, "t"),
            ("sum", mtl.Add(), ["a", "b"]),
        ],
        outputs="sum",
    )
    loss = mtl.MSELoss()
    loss(model(X), Y)
    model.zero_grad()
    model.backward(loss.backward())
    total = explanation["dL/dW1"] + explanation["dL/dW1 (use 2)"]
    np.testing.assert_allclose(total, shared.weight.grad, rtol=1e-12)
    assert explanation.verified


def test_a_wrong_backward_is_flagged_not_hidden() -> None:
    class WrongTanh(mtl.Tanh):
        def backward(self, grad_output: Any) -> Any:
            return grad_output  # forgets the derivative

    rng = np.random.default_rng(3)
    model = mtl.Sequential(mtl.Dense(3, 4, rng=rng), WrongTanh(), mtl.Dense(4, 1, rng=rng))
    explanation = mtl.explain(
        model,
        rng.standard_normal((4, 3)),
        rng.standard_normal((4, 1)),
        mtl.MSELoss(),
        print_fn=None,
    )
    assert not explanation.verified
    bad = [step for step in explanation.steps if not step.passed]
    assert [step.layer for step in bad] == ["[1] WrongTanh"]
    assert "MISMATCH against finite differences" in explanation.text
    assert "SOME GRADIENTS DISAGREE" in explanation.text


def test_in_a_notebook_it_is_a_table() -> None:
    rng = np.random.default_rng(4)
    explanation = mtl.explain(
        _residual(rng),
        rng.standard_normal((2, 3)),
        rng.standard_normal((2, 2)),
        mtl.MSELoss(),
        print_fn=None,
    )
    page = explanation._repr_html_()
    assert page.startswith("<table>") and page.count("<tr>") == len(explanation.steps) + 1
    assert "all checks passed" in page and "Z1 = X @ W1 + b1" in page


def test_a_model_with_several_outputs_is_refused() -> None:
    graph = mtl.Graph(inputs="x", nodes=[("t", mtl.Tanh(), "x")], outputs=["t", "x"])
    with pytest.raises(ValueError, match="returns 2 outputs"):
        mtl.explain(graph, np.ones((2, 2)), np.ones((2, 2)), mtl.MSELoss())


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_every_specimen_is_explained_and_checked(name: str) -> None:
    specimen = SPECIMENS[name]
    inputs = specimen.make_inputs(batch=3)
    outputs = build(name)(inputs)
    if isinstance(outputs, tuple):
        pytest.skip("a loss takes one output")
    targets = np.random.default_rng(5).standard_normal(outputs.shape)
    # explain runs on a copy: a fresh build draws the same dropout masks as that copy
    explanation = mtl.explain(build(name), inputs, targets, mtl.MSELoss(), print_fn=None)
    assert explanation.verified, explanation.text
    assert explanation.loss == pytest.approx(float(np.mean((outputs - targets) ** 2)))
