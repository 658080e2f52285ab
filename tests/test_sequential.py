"""Sequential: chaining, construction-time width checks, indexing and summary."""

from __future__ import annotations

import numpy as np
import pytest

import minitorchless as mtl


def test_forward_chains_and_backward_reverses(rng: np.random.Generator) -> None:
    a, b = mtl.Dense(3, 4, rng=rng), mtl.Dense(4, 2, rng=rng)
    model = mtl.Sequential(a, mtl.Tanh(), b)
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(model(x), np.tanh(x @ a.weight.value) @ b.weight.value)
    grad = rng.standard_normal((5, 2))
    grad_input = model.backward(grad)
    hidden = np.tanh(x @ a.weight.value)
    delta = (grad @ b.weight.value.T) * (1 - hidden**2)
    np.testing.assert_allclose(b.weight.grad, hidden.T @ grad)
    np.testing.assert_allclose(a.weight.grad, x.T @ delta)
    np.testing.assert_allclose(grad_input, delta @ a.weight.value.T)


def test_widths_that_cannot_chain_fail_at_construction() -> None:
    with pytest.raises(mtl.ShapeError) as info:
        mtl.Sequential(mtl.Dense(5, 4), mtl.Dense(3, 2))
    message = str(info.value)
    assert "layer 1 (Dense) cannot follow layer 0" in message
    assert "Dense(in_features=5, out_features=4" in message
    assert "Dense(in_features=3, out_features=2" in message
    assert "expects 3 features on the last axis, received (*, 4)" in message


def test_width_check_sees_through_activations() -> None:
    with pytest.raises(mtl.ShapeError, match=r"layer 2 .* cannot follow layer 0"):
        mtl.Sequential(mtl.Dense(5, 4), mtl.Sigmoid(), mtl.Dense(3, 2))


def test_non_layer_argument() -> None:
    with pytest.raises(TypeError, match="argument 1 must be a Layer, received ufunc"):
        mtl.Sequential(mtl.Dense(2, 2), np.tanh)
    with pytest.raises(TypeError, match=r"did you mean Sigmoid\(\)"):
        mtl.Sequential(mtl.Dense(2, 2), mtl.Sigmoid)


def test_len_iter_getitem(rng: np.random.Generator) -> None:
    layers = [mtl.Dense(2, 3, rng=rng), mtl.ReLU(), mtl.Dense(3, 1, rng=rng)]
    model = mtl.Sequential(*layers)
    assert len(model) == 3
    assert list(model) == layers
    assert model[1] is layers[1] and model[-1] is layers[2]
    head = model[:2]
    assert isinstance(head, mtl.Sequential) and list(head) == layers[:2]


def test_summary_lists_layers_shapes_and_totals(rng: np.random.Generator) -> None:
    model = mtl.Sequential(
        mtl.Dense(5, 4, rng=rng), mtl.Sigmoid(), mtl.Dense(4, 3, bias=True, rng=rng), mtl.Sigmoid()
    )
    lines: list[str] = []
    model.summary(5, print_fn=lines.append)
    text = "\n".join(lines)
    assert "0: Dense    (batch, 4)        20" in text
    assert "1: Sigmoid  (batch, 4)         0" in text
    assert "2: Dense    (batch, 3)        15" in text
    assert "Total params: 35" in text
    assert "dtype: float64" in text
    lines.clear()
    model.summary(print_fn=lines.append)  # no input shape: any leading axes, marked *
    assert "0: Dense    (*, 4)" in "\n".join(lines)


def test_summary_prints_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    mtl.Sequential(mtl.Sigmoid()).summary((3, 7))
    out = capsys.readouterr().out
    assert "0: Sigmoid  (batch, 3, 7)" in out
    assert "Total params: 0" in out


def test_nested_summary(rng: np.random.Generator) -> None:
    model = mtl.Sequential(mtl.Dense(2, 3, rng=rng), mtl.Sequential(mtl.Dense(3, 1), mtl.Tanh()))
    lines: list[str] = []
    model.summary(2, print_fn=lines.append)
    assert any(line.startswith("1: Sequential") for line in lines)
    assert any(line.startswith("  0: Dense") and "(batch, 1)" in line for line in lines)


def test_a_layer_used_twice_in_a_chain_gets_both_gradients(rng: np.random.Generator) -> None:
    shared = mtl.Dense(3, 3, bias=True, rng=rng)
    model = mtl.Sequential(shared, mtl.Tanh(), shared, mtl.Sigmoid())
    first, second = mtl.Dense(3, 3, bias=True), mtl.Dense(3, 3, bias=True)
    for copy in (first, second):
        copy.load_state_dict(shared.state_dict())
    untied = mtl.Sequential(first, mtl.Tanh(), second, mtl.Sigmoid())
    x, grad = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(model(x), untied(x))
    np.testing.assert_allclose(model.backward(grad), untied.backward(grad))
    np.testing.assert_allclose(shared.weight.grad, first.weight.grad + second.weight.grad)
    np.testing.assert_allclose(shared.bias.grad, first.bias.grad + second.bias.grad)
    mtl.testing.gradcheck(model, x)
    model.zero_grad()
    model(x)
    model.backward_parameters(grad)
    np.testing.assert_allclose(shared.weight.grad, first.weight.grad + second.weight.grad)


def test_a_shared_layer_nested_in_a_residual_of_the_chain(rng: np.random.Generator) -> None:
    block = mtl.Dense(2, 2, rng=rng)
    model = mtl.Sequential(mtl.Residual(block), mtl.Tanh(), block)
    mtl.testing.gradcheck(model, rng.standard_normal((3, 2)))


def test_a_forward_that_fails_half_way_leaves_nothing_for_backward(
    rng: np.random.Generator,
) -> None:
    # a custom first layer lets a wrong width pass the construction-time check
    model = mtl.Sequential(mtl.Tanh(), mtl.Dense(3, 2, rng=rng), mtl.Dense(2, 2, rng=rng))
    model(rng.standard_normal((4, 3)))
    with pytest.raises(mtl.ShapeError):
        model(rng.standard_normal((4, 5)))  # Tanh runs, then the first Dense refuses
    model.zero_grad()
    with pytest.raises(RuntimeError, match=r"Sequential\.backward"):
        model.backward(np.ones((4, 2)))
    assert all(not p.grad.any() for p in model.parameters())  # no stale gradient added
