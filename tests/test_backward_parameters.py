"""``backward_parameters``: the gradients of ``backward``, without the gradient for the inputs.

A training step (``fit``, or a loop that calls ``model.backward_parameters``)
relies on this method leaving exactly the ``.grad`` that ``backward`` leaves.
It is checked here over every specimen, containers included.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from specimens import SPECIMENS

import minitorchless as mtl


def _ones_like(outputs: Any) -> Any:
    if isinstance(outputs, tuple):
        return tuple(np.ones_like(output) for output in outputs)
    return np.ones_like(outputs)


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_backward_parameters_leaves_the_gradients_of_backward(name: str) -> None:
    specimen = SPECIMENS[name]
    # two identical layers (same seed: same weights, same dropout masks)
    full = specimen.build(np.random.default_rng(0), np.float64)
    lean = specimen.build(np.random.default_rng(0), np.float64)
    inputs = specimen.make_inputs(batch=5, seed=9)
    grad_output = _ones_like(full(inputs))
    lean(inputs)

    full.backward(grad_output)
    assert lean.backward_parameters(grad_output) is None

    for (name_full, p_full), (name_lean, p_lean) in zip(
        full.named_parameters(), lean.named_parameters(), strict=True
    ):
        assert name_full == name_lean
        np.testing.assert_array_equal(p_lean.grad, p_full.grad, err_msg=name_full)


def test_backward_parameters_accumulates_like_backward() -> None:
    model = mtl.Sequential(mtl.Dense(3, 2, bias=True, rng=np.random.default_rng(0)), mtl.Tanh())
    x = np.random.default_rng(1).standard_normal((4, 3))
    model(x)
    model.backward_parameters(np.ones((4, 2)))
    once = [p.grad.copy() for p in model.parameters()]
    model.backward_parameters(np.ones((4, 2)))
    for parameter, first in zip(model.parameters(), once, strict=True):
        np.testing.assert_allclose(parameter.grad, 2 * first)


@pytest.mark.parametrize(
    "layer",
    [mtl.Dense(2, 2), mtl.Sigmoid(), mtl.Sequential(mtl.Dense(2, 2), mtl.ReLU())],
    ids=["Dense", "Sigmoid", "Sequential"],
)
def test_backward_parameters_before_forward_raises(layer: mtl.Layer) -> None:
    with pytest.raises(RuntimeError, match=type(layer).__name__):
        layer.backward_parameters(np.ones((1, 2)))


def test_backward_parameters_checks_the_gradient_shape() -> None:
    model = mtl.Sequential(mtl.Dense(3, 2, rng=np.random.default_rng(0)))
    model(np.ones((4, 3)))
    with pytest.raises(mtl.ShapeError, match=r"\(4, 2\)"):
        model.backward_parameters(np.ones((4, 3)))


def test_the_first_dense_skips_the_product_for_the_inputs() -> None:
    """The point of the method: ``grad_output @ W^T`` is never formed for the first layer."""

    class Spy(np.ndarray):
        transposed = 0

        @property
        def T(self) -> Any:  # noqa: N802 (the NumPy name)
            Spy.transposed += 1
            return super().T

    dense = mtl.Dense(3, 2, rng=np.random.default_rng(0))
    dense.weight.value = dense.weight.value.view(Spy)
    dense(np.ones((4, 3)))
    dense.backward_parameters(np.ones((4, 2)))
    assert Spy.transposed == 0
    dense.backward(np.ones((4, 2)))
    assert Spy.transposed == 1
