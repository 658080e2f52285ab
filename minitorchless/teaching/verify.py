"""Checking one step of backpropagation on the spot, by finite differences.

For a step that took inputs ``x`` and, in backward, received ``g = dL/dy``
for its outputs ``y``, the gradients it returned must be those of the local
scalar ``l = sum(g * y(x))``: ``dl/dx`` for the inputs and ``dl/dw`` for each
parameter. Nudging a few elements by ``+-eps`` and re-running the layer (a
copy, as it was before the step) measures them without any derivation, so a
printed delta that passes has been checked against the definition of the
derivative, not against the code that computed it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless.layers.base import Layer
from minitorchless.teaching.recorder import Call

__all__ = ["Check", "check_loss", "check_step"]

EPS = 1e-6
SAMPLES = 12  # elements nudged per tensor: enough to catch a wrong formula, cheap


@dataclass(frozen=True)
class Check:
    """The outcome of one finite-difference check.

    Attributes:
        checked: How many elements were compared.
        max_abs_error: The largest ``|analytic - numerical|``.
        passed: Whether every element agreed within ``1e-7 + 1e-5 |numerical|``.
        kinks: Elements left out because the step is not differentiable there
            (a ReLU at exactly 0: the slopes left and right of it differ).
    """

    checked: int
    max_abs_error: float
    passed: bool
    kinks: int = 0

    def __str__(self) -> str:
        skipped = f"; {self.kinks} at a kink left out" if self.kinks else ""
        if self.checked == 0:
            return f"nothing to check{skipped}"
        if not self.passed:
            return (
                f"MISMATCH against finite differences (largest difference "
                f"{self.max_abs_error:.2g}, {self.checked} elements{skipped})"
            )
        # an order of magnitude: the exact last digits depend on the machine's arithmetic
        bound = 10.0 ** math.ceil(math.log10(max(self.max_abs_error, 1e-300)))
        return (
            f"checked: agrees with finite differences (largest difference below "
            f"{max(bound, 1e-15):.0e}, {self.checked} elements{skipped})"
        )


def _indices(shape: tuple[int, ...], rng: np.random.Generator) -> list[tuple[int, ...]]:
    total = int(np.prod(shape))
    picked = np.sort(rng.choice(total, size=min(total, SAMPLES), replace=False))
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in picked]


def _compare(
    analytic: NDArray[Any], numerical: list[float | None], indices: list[tuple[int, ...]]
) -> Check:
    smooth = [k for k, value in enumerate(numerical) if value is not None]
    picked = np.array([analytic[indices[k]] for k in smooth], dtype=np.float64)
    found = np.array([numerical[k] for k in smooth], dtype=np.float64)
    error = np.abs(picked - found)
    passed = bool(np.all(error <= 1e-7 + 1e-5 * np.abs(found)))
    return Check(len(smooth), float(error.max(initial=0.0)), passed, len(indices) - len(smooth))


def _local_loss(layer: Layer, inputs: Any, grad_output: Any) -> float:
    outputs = copy.deepcopy(layer)(inputs)
    parts = outputs if isinstance(outputs, tuple) else (outputs,)
    grads = grad_output if isinstance(grad_output, tuple) else (grad_output,)
    return sum(float(np.sum(np.asarray(y) * g)) for y, g in zip(parts, grads, strict=True))


def _nudge(tensor: NDArray[Any], indices: list[tuple[int, ...]], loss: Any) -> list[float | None]:
    """Central differences of ``loss()`` at ``indices`` of ``tensor``, perturbed in place.

    ``None`` marks a kink: where the one-sided slopes disagree, the function has
    no derivative to compare with (a ReLU fed exactly 0 by the layer before it).
    """
    centre = loss()
    values: list[float | None] = []
    for index in indices:
        original = tensor[index]
        tensor[index] = original + EPS
        upper = loss()
        tensor[index] = original - EPS
        lower = loss()
        tensor[index] = original
        right, left = (upper - centre) / EPS, (centre - lower) / EPS
        kink = abs(right - left) > 1e-3 * max(1.0, abs(right), abs(left))
        values.append(None if kink else (upper - lower) / (2 * EPS))
    return values


def check_step(call: Call, seed: int = 0) -> dict[str, Check]:
    """Finite-difference checks of a step's input gradients and parameter gradients.

    Returns:
        ``{"inputs": ..., "inputs[1]": ..., "weight": ...}``: one check per
        floating input and per parameter of the layer itself.
    """
    rng = np.random.default_rng(seed)
    several = isinstance(call.inputs, (list, tuple))
    xs = [
        np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x)
        for x in (call.inputs if several else [call.inputs])
    ]
    grads = call.grad_input if several else [call.grad_input]
    layer = call.before

    def loss() -> float:
        return _local_loss(layer, list(xs) if several else xs[0], call.grad_output)

    checks: dict[str, Check] = {}
    for index, (x, grad) in enumerate(zip(xs, grads, strict=True)):
        if grad is None or x.dtype.kind != "f":
            continue  # integer inputs have no gradient
        name = f"inputs[{index}]" if several else "inputs"
        chosen = _indices(x.shape, rng)
        checks[name] = _compare(np.asarray(grad), _nudge(x, chosen, loss), chosen)
    for name, parameter in layer.own_parameters():
        if name in call.param_grads:
            chosen = _indices(parameter.value.shape, rng)
            numerical = _nudge(parameter.value, chosen, loss)
            checks[name] = _compare(call.param_grads[name], numerical, chosen)
    return checks


def check_loss(
    loss: Any, predictions: NDArray[Any], targets: Any, grad: NDArray[Any], seed: int = 0
) -> Check:
    """The loss's gradient against finite differences of the loss itself."""
    rng = np.random.default_rng(seed)
    work = np.array(predictions, dtype=np.float64)
    trial = copy.deepcopy(loss)
    chosen = _indices(work.shape, rng)
    return _compare(grad, _nudge(work, chosen, lambda: float(trial(work, targets))), chosen)
