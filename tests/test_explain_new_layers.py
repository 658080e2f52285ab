"""explain on convolution, recurrent layers and attention: formulas, checks, HTML."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from specimens import SPECIMENS, build

import minitorchless as mtl
from minitorchless.teaching.formulas import FORMULAS, PARAMETER_FORMULAS, parameter_key
from minitorchless.teaching.text import FORMULA_WIDTH

# Layers explain shows in its own way (Dense as Z = A @ W) or that are never a step themselves
NOT_A_STEP = {mtl.Layer, mtl.Activation, mtl.Merge, mtl.Sequential, mtl.Graph, mtl.Dense}


def _public_layer_classes() -> list[type]:
    return [
        value
        for name in mtl.__all__
        if isinstance(value := getattr(mtl, name), type) and issubclass(value, mtl.Layer)
    ]


def test_every_public_layer_class_has_formulas() -> None:
    missing = [
        kind.__name__
        for kind in _public_layer_classes()
        if kind not in NOT_A_STEP and kind not in FORMULAS
    ]
    assert not missing, f"add FORMULAS entries for {missing}"


def _steps(layer: mtl.Layer) -> list[mtl.Layer]:
    children = [child for _, child in layer.children()]
    return [layer] + [step for child in children for step in _steps(child)]


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_every_parameter_of_every_specimen_has_a_rule(name: str) -> None:
    for layer in _steps(build(name)):
        if isinstance(layer, mtl.Dense):
            continue
        for parameter, _ in layer.own_parameters():
            assert parameter_key(layer, parameter) in PARAMETER_FORMULAS, (type(layer), parameter)


def _explain(model: mtl.Layer, X: Any, y: Any, **kwargs: Any) -> mtl.Explanation:
    explanation = mtl.explain(model, X, y, mtl.MSELoss(), print_fn=None, **kwargs)
    backward = [step for step in explanation.steps if step.phase == "backward"]
    assert backward
    for step in backward:  # every printed gradient is checked, and passes
        assert step.check.startswith("checked: agrees with finite differences"), step
    assert explanation.verified
    # nothing falls back to the opaque form
    assert ".backward(" not in explanation.text and "= Conv2d(" not in explanation.text
    return explanation


def _formulas(explanation: mtl.Explanation) -> str:
    """Every step's formula whole, one a line (the printed text wraps the long ones)."""
    return "\n".join(step.formula for step in explanation.steps)


def test_a_small_cnn_is_explained_step_by_step() -> None:
    rng = np.random.default_rng(0)
    model = mtl.Sequential(
        mtl.Conv2d(2, 3, 3, padding=1, rng=rng),
        mtl.BatchNorm2d(3),
        mtl.ReLU(),
        mtl.MaxPool2d(2),
        mtl.Conv2d(3, 2, 2, bias=False, stride=2, rng=rng),
        mtl.Flatten(),
        mtl.Dense(2, 2, rng=rng),
    )
    X, y = rng.standard_normal((3, 2, 4, 4)), rng.standard_normal((3, 2))
    explanation = _explain(model, X, y)
    text = _formulas(explanation)
    assert "H0[n, o] = bias[o] + sum over c of corr(X[n, c], weight[o, c]),  corr: each" in text
    assert "3 x 3 window of X, stride 1, zero padding 1" in text
    assert "H4[n, o] = sum over c of corr(H3[n, c], weight[o, c])" in text  # no bias
    assert "2 x 2 window of H3, stride 2, zero padding 0" in text
    assert "dL/dbias = sum(dL/dH0, axis=(0, 2, 3))" in text
    assert "dL/dweight[o, c] = sum over n and the windows of each window of X[n, c]" in text
    assert "dL/dX = the transposed convolution" in text
    assert "corr(X[n, c], weight[o, c])" in explanation._repr_html_()


def test_conv1d_names_its_axes_and_its_groups() -> None:
    rng = np.random.default_rng(1)
    model = mtl.Sequential(
        mtl.Conv1d(4, 2, 3, groups=2, dilation=2, padding="same", rng=rng), mtl.Flatten()
    )
    X, y = rng.standard_normal((2, 4, 6)), rng.standard_normal((2, 12))
    text = _formulas(_explain(model, X, y))
    assert "zero padding 'same', dilation (2,), c over o's group of 2 channels" in text
    assert "dL/dbias = sum(dL/dH0, axis=(0, 2))" in text


@pytest.mark.parametrize("kind", [mtl.LSTM, mtl.GRU, mtl.RNN])
def test_a_recurrent_model_is_explained_through_time(kind: type) -> None:
    rng = np.random.default_rng(2)
    model = mtl.Sequential(
        kind(3, 4, num_layers=2, rng=rng), mtl.LastStep(), mtl.Dense(4, 2, rng=rng)
    )
    X, y = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 2))
    explanation = _explain(model, X, y)
    text = _formulas(explanation)
    assert "x_t = X[:, t], h_0 = the initial state (0 by default); H0 = [h_1 .. h_T]" in text
    assert "each of the 2 layers reads the h_t of the one below" in text
    assert "H1 = H0[:, -1]" in text and "zeros shaped like H0, with dL/dH1 at [:, -1]" in text
    assert "dL/dweight_hh_l1 = the sum over t and the samples of" in text
    assert "dL/dX = da_t @ W_ih at every step t; backpropagation through time" in text
    after = "(what step t+1 sends back)" if kind is mtl.GRU else "da_(t+1) @ W_hh, "
    assert f"t = T..1: dh_t = dL/dH0[:, t] + {after}" in text
    # the explained gradients are those the model accumulates
    model.zero_grad()
    model.backward(2 / y.size * (model(X) - y))
    weight = dict(model[0].own_parameters())["weight_ih_l1"]
    np.testing.assert_allclose(explanation["dL/d0.weight_ih_l1"], weight.grad)


def test_a_relu_rnn_in_time_major_layout_says_so() -> None:
    rng = np.random.default_rng(3)
    model = mtl.RNN(2, 3, nonlinearity="relu", bias=False, batch_first=False, rng=rng)
    X, y = rng.standard_normal((4, 2, 2)), rng.standard_normal((4, 2, 3))
    text = _formulas(_explain(model, X, y))
    assert "h_t = relu(x_t @ W_ih.T + h_(t-1) @ W_hh.T) for t = 1..T,  x_t = X[t]" in text
    assert "da_t = dh_t * (h_t > 0)" in text


def _tokens_to_block(rng: np.random.Generator) -> mtl.Sequential:
    return mtl.Sequential(
        mtl.Embedding(7, 4, rng=rng),
        mtl.PositionalEmbedding(5, 4, rng=rng),
        mtl.transformer_block(4, 2, 6, rng=rng),
    )


def test_a_transformer_block_is_explained_from_its_token_indices() -> None:
    rng = np.random.default_rng(4)
    X, y = rng.integers(0, 7, size=(2, 3)), rng.standard_normal((2, 3, 4))
    explanation = _explain(_tokens_to_block(rng), X, y)
    text = _formulas(explanation)
    assert "H1[:, t] = H0[:, t] + weight[t], t = 0..T-1" in text
    assert "q, k, v = split(H2 @ in_proj_weight.T + in_proj_bias, 3), in 2 heads of 2" in text
    assert "softmax(q @ k.T / sqrt(2) + causal mask (-inf above the diagonal), axis=-1)" in text
    assert "dL/dout_proj.bias = sum(dL/dH3, axis=(0, 1))" in text
    assert "[2.0] Residual" in explanation.text and "[2.1.block.2] GELU" in explanation.text
    # the MLP's Dense runs on every position: its gradients sum over the positions too
    assert "dL/dW2 = reshape(H7, (-1, 6)).T @ reshape(dL/dZ2, (-1, 4))" in text
    assert "(6, 6) @ (6, 4) -> (6, 4)" in explanation.text
    assert "dL/db2 = sum(dL/dZ2, axis=(0, 1))" in text
    assert "dL/dX" not in explanation.values  # token indices have no gradient
    page = explanation._repr_html_()  # in a notebook: one row per step, every check passed
    assert page.count("<tr>") == len(explanation.steps) + 1 and "all checks passed" in page
    assert "concat_heads(A @ v) @ out_proj.weight.T + out_proj.bias" in page


def test_cross_attention_checks_both_of_its_inputs() -> None:
    rng = np.random.default_rng(5)
    graph = mtl.Graph(
        inputs=["decoder", "encoder"],
        nodes=[("mix", mtl.MultiheadAttention(4, 2, rng=rng), ["decoder", "encoder"])],
        outputs="mix",
    )
    X = (rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)))
    explanation = _explain(graph, X, rng.standard_normal((2, 3, 4)))
    text = _formulas(explanation)
    assert "q, k, v = split([X0, X1, X1] @ in_proj_weight.T + in_proj_bias, 3)" in text
    assert "dq's part for the queries, dk's and dv's for the keys and values" in text
    assert explanation["dL/dX0"].shape == (2, 3, 4) and explanation["dL/dX1"].shape == (2, 5, 4)


def test_a_wrong_recurrent_backward_is_flagged() -> None:
    class LeakyMemory(mtl.LSTM):
        def backward(self, grad_output: Any) -> Any:
            grad = super().backward(grad_output)
            grad[:, :-1] *= 0.5  # loses half of what flows back through time
            return grad

    rng = np.random.default_rng(6)
    model = mtl.Sequential(LeakyMemory(2, 3, rng=rng), mtl.LastStep())
    explanation = mtl.explain(
        model, rng.standard_normal((2, 4, 2)), np.zeros((2, 3)), mtl.MSELoss(), print_fn=None
    )
    assert not explanation.verified
    assert [step.name for step in explanation.steps if not step.passed] == ["dL/dX"]


def test_long_formulas_wrap_and_the_notebook_gets_them_whole() -> None:
    rng = np.random.default_rng(7)
    model = mtl.Sequential(mtl.LSTM(2, 3, rng=rng), mtl.LastStep())
    explanation = _explain(model, rng.standard_normal((2, 4, 2)), np.zeros((2, 3)))
    formula_lines = [
        line for line in explanation.text.splitlines() if re.match(r"  \[0\] LSTM {2}", line)
    ]
    for line in formula_lines:  # the formula column stops at FORMULA_WIDTH, then the shapes
        assert len(line.split("  (")[0]) <= len("  [0] LSTM      ") + FORMULA_WIDTH
    page = explanation._repr_html_()
    assert page.count("<tr>") == len(explanation.steps) + 1 and "all checks passed" in page
    assert "h_t = sigmoid(o) * tanh(c_t) for t = 1..T" in page
