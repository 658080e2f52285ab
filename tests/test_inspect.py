"""The backprop inspector: ``Inspector`` statistics and ``explain``, on cases known by hand."""

from __future__ import annotations

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.teaching.inspector import Inspector, dead_fraction, saturated_fraction


def _fit_once(
    model: mtl.Layer,
    X: np.ndarray,
    y: np.ndarray,
    inspector: Inspector,
    lr: float = 0.1,
    **kwargs: object,
) -> None:
    optimizer = mtl.SGD(model.parameters(), lr=lr)
    mtl.fit(
        model,
        X,
        y,
        loss=mtl.MSELoss(),
        optimizer=optimizer,
        verbose=0,
        callbacks=[inspector],
        **{"epochs": 1, **kwargs},
    )  # type: ignore[arg-type]


# ------------------------------------------------------------- saturation
def test_half_of_the_sigmoid_units_saturate() -> None:
    # inputs of ones: unit j sees z = sum of column j of W. Columns 0 and 1 give
    # z = +-10 (sigmoid 0.99995 and 0.00005), columns 2 and 3 give z = 0.1 and -0.1
    model = mtl.Sequential(mtl.Dense(2, 4), mtl.Sigmoid())
    model[0].weight.value[...] = [[5.0, -5.0, 0.05, -0.05], [5.0, -5.0, 0.05, -0.05]]
    X, y = np.ones((6, 2)), np.zeros((6, 4))
    inspector = Inspector()
    _fit_once(model, X, y, inspector)
    assert inspector.layer_stats["1/saturated"] == [0.5]
    assert inspector.labels == {"1": "Sigmoid"}
    # two units at ~1 and ~0, two at ~0.5: the mean is 0.5 by symmetry
    assert inspector.layer_stats["1/mean"][0] == pytest.approx(0.5)


def test_saturation_thresholds_for_sigmoid_and_tanh() -> None:
    sigmoid_outputs = np.array([[0.005, 0.995, 0.02, 0.5]])
    assert saturated_fraction(mtl.Sigmoid(), sigmoid_outputs) == 0.5
    tanh_outputs = np.array([[-0.99, 0.985, 0.97, 0.0, -0.5]])
    assert saturated_fraction(mtl.Tanh(), tanh_outputs) == pytest.approx(2 / 5)
    # a wider margin counts more of the tails
    assert saturated_fraction(mtl.Tanh(), tanh_outputs, margin=0.1) == pytest.approx(3 / 5)


def test_saturated_tanh_units_through_fit() -> None:
    model = mtl.Sequential(mtl.Dense(1, 3), mtl.Tanh())
    model[0].weight.value[...] = [[10.0, 0.2, -10.0]]  # tanh(+-10) = +-1 - 4e-9
    inspector = Inspector()
    _fit_once(model, np.ones((5, 1)), np.zeros((5, 3)), inspector)
    assert inspector.layer_stats["1/saturated"] == [pytest.approx(2 / 3)]


def test_saturated_fraction_rejects_other_layers_and_bad_margins() -> None:
    with pytest.raises(TypeError, match="expected a Sigmoid or Tanh layer, received ReLU"):
        saturated_fraction(mtl.ReLU(), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"margin must be in \(0, 0.5\), received 0.5"):
        saturated_fraction(mtl.Sigmoid(), np.zeros((2, 2)), margin=0.5)
    with pytest.raises(ValueError, match="saturation_margin"):
        Inspector(saturation_margin=0.7)


# ---------------------------------------------------------------- dead ReLU
@pytest.mark.parametrize("dead", [0, 1, 3, 5])
def test_exactly_k_relu_units_are_dead(dead: int) -> None:
    # zero weights: every unit outputs max(bias, 0) for every sample
    model = mtl.Sequential(mtl.Dense(3, 5, bias=True, init="zeros"), mtl.ReLU())
    bias = model[0].bias
    assert bias is not None
    bias.value[...] = [-1.0] * dead + [0.5] * (5 - dead)
    X = np.random.default_rng(0).standard_normal((8, 3))
    inspector = Inspector()
    _fit_once(model, X, np.zeros((8, 5)), inspector)
    assert inspector.layer_stats["1/dead"] == [pytest.approx(dead / 5)]
    assert "1/saturated" not in inspector.layer_stats


def test_a_unit_alive_for_one_sample_is_not_dead() -> None:
    outputs = np.array([[0.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    assert dead_fraction(outputs) == pytest.approx(2 / 3)
    assert dead_fraction(np.zeros((4, 2, 3))) == 1.0  # units are the last axis


# ------------------------------------------------------- gradients, updates
def test_gradient_norm_and_update_ratio_match_hand_computation() -> None:
    rng = np.random.default_rng(3)
    model = mtl.Sequential(mtl.Dense(3, 2, rng=rng))
    X, Y = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    W = model[0].weight.value.copy()
    grad = X.T @ (2 / Y.size * (X @ W - Y))  # dL/dW of the mean squared error
    lr = 0.5
    inspector = Inspector()
    _fit_once(model, X, Y, inspector, lr=lr)
    assert inspector.layer_stats["0.weight/grad_norm"][0] == pytest.approx(np.linalg.norm(grad))
    assert inspector.layer_stats["0.weight/update_ratio"][0] == pytest.approx(
        lr * np.linalg.norm(grad) / np.linalg.norm(W)
    )


def test_epoch_values_average_the_measured_batches() -> None:
    rng = np.random.default_rng(4)
    model = mtl.Sequential(mtl.Dense(2, 1, rng=rng))
    X, Y = rng.standard_normal((8, 2)), rng.standard_normal((8, 1))
    W = model[0].weight.value.copy()
    # no shuffling, batches of 2, lr tiny enough to leave W unchanged to 1e-12:
    # every=2 measures batches 0 and 2, rows 0-1 and 4-5
    norms = [
        np.linalg.norm(X[i : i + 2].T @ (2 / 2 * (X[i : i + 2] @ W - Y[i : i + 2]))) for i in (0, 4)
    ]
    inspector = Inspector(every=2, track_updates=False)
    _fit_once(model, X, Y, inspector, lr=1e-12, batch_size=2, shuffle=False)
    assert inspector.layer_stats["0.weight/grad_norm"] == [pytest.approx(np.mean(norms))]
    assert "0.weight/update_ratio" not in inspector.layer_stats


def test_one_value_per_epoch_and_a_fresh_record_per_run() -> None:
    rng = np.random.default_rng(5)
    model = mtl.Sequential(mtl.Dense(2, 3, rng=rng), mtl.Tanh(), mtl.Dense(3, 1, rng=rng))
    X, Y = rng.standard_normal((10, 2)), rng.standard_normal((10, 1))
    inspector = Inspector()
    _fit_once(model, X, Y, inspector, epochs=4, batch_size=3)
    assert inspector.epochs == [0, 1, 2, 3]
    assert set(inspector.layer_stats) == {
        "1/mean",
        "1/std",
        "1/saturated",
        "0.weight/grad_norm",
        "0.weight/update_ratio",
        "2.weight/grad_norm",
        "2.weight/update_ratio",
    }
    assert all(len(values) == 4 for values in inspector.layer_stats.values())
    _fit_once(model, X, Y, inspector, epochs=2)
    assert inspector.epochs == [0, 1]


def test_nested_containers_are_found_by_dotted_name() -> None:
    rng = np.random.default_rng(6)
    inner = mtl.Sequential(mtl.Dense(2, 2, rng=rng), mtl.ReLU())
    model = mtl.Sequential(inner, mtl.Dense(2, 1, rng=rng), mtl.Sigmoid())
    inspector = Inspector()
    _fit_once(model, rng.standard_normal((4, 2)), np.ones((4, 1)), inspector)
    assert inspector.labels == {"0.1": "ReLU", "2": "Sigmoid"}
    assert "0.1/dead" in inspector.layer_stats and "2/saturated" in inspector.layer_stats


def test_plot_returns_a_figure_and_needs_a_run() -> None:
    pytest.importorskip("matplotlib")
    inspector = Inspector()
    with pytest.raises(RuntimeError, match="nothing recorded yet"):
        inspector.plot()
    rng = np.random.default_rng(7)
    model = mtl.Sequential(
        mtl.Dense(2, 3, rng=rng), mtl.ReLU(), mtl.Dense(3, 1, rng=rng), mtl.Sigmoid()
    )
    _fit_once(model, rng.standard_normal((6, 2)), np.ones((6, 1)), inspector, epochs=3)
    figure = inspector.plot()
    assert len(figure.axes) == 4
    assert all(ax.lines for ax in figure.axes)


def test_the_callback_needs_fit() -> None:
    with pytest.raises(RuntimeError, match="not attached to a training run"):
        Inspector().on_train_begin({})


# ------------------------------------------------------------------ explain
def _classic(rng: np.random.Generator) -> mtl.Sequential:
    return mtl.Sequential(
        mtl.Dense(5, 4, rng=rng, init="normal"),
        mtl.Sigmoid(),
        mtl.Dense(4, 3, rng=rng, init="normal"),
        mtl.Sigmoid(),
    )


def test_explain_matches_the_deltas_computed_by_hand() -> None:
    rng = np.random.default_rng(0)
    model = _classic(rng)
    X = np.hstack([rng.standard_normal((6, 4)), np.ones((6, 1))])
    Y = np.eye(3)[[0, 1, 2, 1, 0, 2]]
    W1, W2 = model[0].weight.value, model[2].weight.value
    A1 = 1 / (1 + np.exp(-(X @ W1)))
    A2 = 1 / (1 + np.exp(-(A1 @ W2)))
    delta2 = 2 / Y.size * (A2 - Y) * A2 * (1 - A2)
    delta1 = (delta2 @ W2.T) * A1 * (1 - A1)

    explanation = mtl.explain(model, X, Y, mtl.MSELoss(), print_fn=None)

    assert explanation.loss == pytest.approx(np.mean((A2 - Y) ** 2))
    expected = {
        "Z1": X @ W1,
        "A1": A1,
        "A2": A2,
        "dL/dA2": 2 / Y.size * (A2 - Y),
        "delta2": delta2,
        "dL/dW2": A1.T @ delta2,
        "dL/dA1": delta2 @ W2.T,
        "delta1": delta1,
        "dL/dW1": X.T @ delta1,
        "dL/dX": delta1 @ W1.T,
    }
    for name, value in expected.items():
        np.testing.assert_allclose(explanation[name], value, rtol=1e-12, err_msg=name)
    assert [step.name for step in explanation.steps] == [
        "Z1",
        "A1",
        "Z2",
        "A2",
        "L",
        "dL/dA2",
        "delta2",
        "dL/dW2",
        "dL/dA1",
        "delta1",
        "dL/dW1",
        "dL/dX",
    ]


def test_explain_text_shows_formulas_shapes_and_values() -> None:
    rng = np.random.default_rng(1)
    model = _classic(rng)
    X, Y = rng.standard_normal((4, 5)), np.eye(3)[[0, 1, 2, 0]]
    lines: list[str] = []
    explanation = mtl.explain(model, X, Y, mtl.MSELoss(), print_fn=lines.append)
    text = explanation.text
    assert "\n".join(lines) == text == str(explanation)
    assert "Z1 = X @ W1" in text and "(4, 5) @ (5, 4) -> (4, 4)" in text
    assert "A1 = 1 / (1 + exp(-Z1))" in text
    assert "L = sum((A2 - Y)**2) / N,  N = 4 * 3 = 12" in text
    assert "delta2 = dL/dZ2 = dL/dA2 * A2 * (1 - A2)" in text
    assert "dL/dW1 = X.T @ delta1" in text and "(5, 4) @ (4, 4) -> (5, 4)" in text
    assert "dL/dA1 = delta2 @ W2.T" in text
    # a few values: the first rows of delta1, as printed with 4 decimals
    first = np.array2string(explanation["delta1"][:1], precision=4, suppress_small=True)
    assert first.strip("[]").split()[0] in text
    assert "(first 2 of 4 rows)" in text


def test_explain_leaves_the_model_untouched() -> None:
    rng = np.random.default_rng(2)
    model = _classic(rng)
    before = model.state_dict()
    mtl.explain(model, rng.standard_normal((3, 5)), np.eye(3), mtl.MSELoss(), print_fn=None)
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in before.items())
    assert all(not p.grad.any() for p in model.parameters())
    assert all(saved is None for _, saved in model.cache_state())  # no cache left behind


def test_explain_other_activations_biases_and_opaque_layers() -> None:
    rng = np.random.default_rng(3)
    model = mtl.Sequential(
        mtl.Dense(3, 4, bias=True, rng=rng),
        mtl.ReLU(),
        mtl.Sequential(mtl.Dense(4, 2, rng=rng), mtl.Tanh()),
        mtl.Dropout(0.0, rng=rng),
    )
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    explanation = mtl.explain(model, X, Y, mtl.MSELoss(reduction="sum"), print_fn=None)
    text = explanation.text
    assert "[0] Dense" in text and "Z1 = X @ W1 + b1" in text
    assert "A1 = max(Z1, 0)" in text and "delta1 = dL/dZ1 = dL/dA1 * (A1 > 0)" in text
    assert "[2.0] Dense" in text and "[2.1] Tanh" in text
    assert "delta2 = dL/dZ2 = dL/dA2 * (1 - A2**2)" in text
    assert "H4 = A2 * mask / (1 - p),  p = 0.0" in text and "L = sum((H4 - Y)**2)" in text
    delta1 = explanation["delta1"]
    np.testing.assert_allclose(explanation["dL/db1"], delta1.sum(axis=0))
    np.testing.assert_allclose(explanation["dL/dW1"], X.T @ delta1)


def test_explain_rejects_wrong_arguments() -> None:
    with pytest.raises(TypeError, match="model must be a Layer, received str"):
        mtl.explain("model", np.ones((1, 1)), np.ones((1, 1)), mtl.MSELoss())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="loss must be a Loss"):
        mtl.explain(mtl.Dense(1, 1), np.ones((1, 1)), np.ones((1, 1)), "mse")  # type: ignore[arg-type]
    explanation = mtl.explain(
        mtl.Dense(1, 1), np.ones((1, 1)), np.ones((1, 1)), mtl.MSELoss(), print_fn=None
    )
    with pytest.raises(KeyError, match="no value named 'delta9'"):
        explanation["delta9"]


def test_explain_cross_entropy_on_logits() -> None:
    rng = np.random.default_rng(4)
    model = mtl.Sequential(mtl.Dense(3, 4, rng=rng), mtl.ReLU(), mtl.Dense(4, 2, rng=rng))
    X, labels = rng.standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])
    explanation = mtl.explain(model, X, labels, mtl.CrossEntropyLoss(), print_fn=None)
    assert "L = -sum(Y * log(softmax(Z2))) / n,  n = 5" in explanation.text
    logits = explanation["Z2"]
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(explanation["dL/dZ2"], (softmax - np.eye(2)[labels]) / 5)
    assert explanation.loss == pytest.approx(-np.log(softmax[np.arange(5), labels]).mean())


def test_the_record_goes_into_the_history() -> None:
    rng = np.random.default_rng(6)
    model = mtl.Sequential(mtl.Dense(2, 3, rng=rng), mtl.Sigmoid(), mtl.Dense(3, 1, rng=rng))
    X, Y = rng.standard_normal((8, 2)), rng.standard_normal((8, 1))
    inspector = Inspector()
    history = mtl.fit(
        model,
        X,
        Y,
        loss=mtl.MSELoss(),
        optimizer=mtl.SGD(model.parameters(), lr=0.1),
        epochs=3,
        callbacks=[inspector],
        verbose=0,
    )
    assert history.layer_stats is inspector.layer_stats
    assert len(history.layer_stats["1/saturated"]) == 3
    assert "1/saturated" not in history.history  # history.plot() stays about the loss
    again = mtl.fit(
        model,
        X,
        Y,
        loss=mtl.MSELoss(),
        optimizer=mtl.SGD(model.parameters(), lr=0.1),
        epochs=2,
        verbose=0,
    )
    assert again.layer_stats == {}
