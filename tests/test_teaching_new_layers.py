"""explain and Inspector on models made of the new layers: each step with its formula, checked."""

from __future__ import annotations

import numpy as np

import minitorchless as mtl


def _every_new_layer(rng: np.random.Generator) -> mtl.Sequential:
    return mtl.Sequential(
        mtl.Reshape(2, 3),
        mtl.LayerNorm(3),
        mtl.GELU(),
        mtl.Flatten(),
        mtl.Dense(6, 4, bias=True, rng=rng),
        mtl.SiLU(),
        mtl.ELU(),
        mtl.Softplus(),
        mtl.GELU("tanh"),
        mtl.Dense(4, 2, rng=rng),
    )


def test_explain_walks_through_every_new_layer() -> None:
    rng = np.random.default_rng(0)
    model = _every_new_layer(rng)
    X, y = rng.standard_normal((3, 6)), rng.standard_normal((3, 2))
    explanation = mtl.explain(model, X, y, mtl.MSELoss(), print_fn=None)
    assert "[1] LayerNorm  H1 = ((H0 - mean) / sqrt(var + eps)) * weight + bias" in (
        explanation.text
    )
    assert "[3] Flatten" in explanation.text and "(3, 2, 3) -> (3, 6)" in explanation.text
    np.testing.assert_allclose(explanation["dL/dX"], model.backward(2 / y.size * (model(X) - y)))


def test_explain_shows_the_embedding_weight_gradient_and_no_index_gradient() -> None:
    rng = np.random.default_rng(1)
    model = mtl.Sequential(mtl.Embedding(5, 2, rng=rng), mtl.Flatten(), mtl.Dense(6, 2, rng=rng))
    X, y = rng.integers(0, 5, size=(4, 3)), rng.standard_normal((4, 2))
    explanation = mtl.explain(model, X, y, mtl.MSELoss(), print_fn=None)
    assert "dL/dweight = row i: the sum of dL/dH0 over the positions where X == i" in (
        explanation.text
    )
    assert "dL/dX" not in explanation.values
    model.zero_grad()
    model.backward(2 / y.size * (model(X) - y))  # MSE's gradient, by hand
    np.testing.assert_allclose(explanation["dL/d0.weight"], model[0].weight.grad)


def test_the_inspector_watches_the_smooth_activations() -> None:
    rng = np.random.default_rng(2)
    model = _every_new_layer(rng)
    X, y = rng.standard_normal((16, 6)), rng.standard_normal((16, 2))
    inspector = mtl.Inspector()
    mtl.fit(
        model,
        X,
        y,
        loss=mtl.MSELoss(),
        optimizer=mtl.SGD(model.parameters(), lr=0.1),
        epochs=2,
        batch_size=8,
        verbose=0,
        callbacks=[inspector],
        rng=rng,
    )
    assert inspector.labels == {
        "2": "GELU",
        "5": "SiLU",
        "6": "ELU",
        "7": "Softplus",
        "8": "GELU",
    }
    assert len(inspector.layer_stats["2/mean"]) == 2
    assert len(inspector.layer_stats["1.weight/grad_norm"]) == 2  # LayerNorm's weight
