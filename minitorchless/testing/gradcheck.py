"""``gradcheck``: a layer's backward against central finite differences of its forward."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless.layers.base import Layer
from minitorchless.testing._common import KitInputs, kit_rng, outputs_tuple
from minitorchless.testing.diagnosis import likely_mistake

__all__ = ["GradcheckError", "GradcheckReport", "TensorCheck", "gradcheck"]

Array = NDArray[np.floating[Any]]
_DIAGNOSE_UP_TO = 4096  # elements: above, a failing tensor is not differentiated whole


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree. The message says where, by how much and why."""


@dataclass(frozen=True)
class TensorCheck:
    """How one tensor's gradient fared.

    Attributes:
        checked: How many elements were compared.
        max_abs_error: The largest ``|analytic - numerical|``.
        max_relative_error: The largest ``|analytic - numerical| / max(|a|, |n|)``.
        allowance_used: The largest ``|analytic - numerical| / (atol + rtol |n|)``:
            the share of the allowed error used, at most 1 to pass. This is
            the number that decided the check.
        decided_by: ``"rtol"`` or ``"atol"``: which term of the allowance was
            the larger at the element that came closest to failing.
    """

    checked: int
    max_abs_error: float
    max_relative_error: float
    allowance_used: float
    decided_by: str


@dataclass
class GradcheckReport:
    """The outcome of a passed ``gradcheck``, per tensor (``"inputs"`` and each parameter)."""

    tensors: dict[str, TensorCheck] = field(default_factory=dict)
    rtol: float = 1e-5
    atol: float = 1e-8

    @property
    def max_relative_error(self) -> dict[str, float]:
        """Per tensor, the largest relative error found."""
        return {name: check.max_relative_error for name, check in self.tensors.items()}

    @property
    def checked(self) -> dict[str, int]:
        """Per tensor, how many elements were checked."""
        return {name: check.checked for name, check in self.tensors.items()}

    def __str__(self) -> str:
        lines = [f"gradcheck passed (rtol={self.rtol}, atol={self.atol}):"]
        for name, check in self.tensors.items():
            lines.append(
                f"  {name}: {check.checked} elements, max |error| {check.max_abs_error:.2e}, "
                f"max relative error {check.max_relative_error:.2e}; used "
                f"{check.allowance_used:.0%} of the allowed error ({check.decided_by} decided)"
            )
        return "\n".join(lines)


class _Problem:
    """``L = sum_i sum(R_i * outputs_i)`` of a float64 copy of the layer, at chosen inputs."""

    def __init__(self, pristine: Layer, inputs: KitInputs, xs: list[NDArray[Any]]) -> None:
        self.pristine = pristine
        self.inputs = inputs
        self.xs = xs  # private copies the numerical derivatives perturb
        self.weights: list[Array] = []

    def run(self) -> tuple[Layer, list[Array]]:
        trial = copy.deepcopy(self.pristine)  # every evaluation from the same state
        outputs = outputs_tuple(trial(self.inputs.given(self.xs)))
        return trial, [np.asarray(part, dtype=np.float64) for part in outputs]

    def loss(self, weights: list[Array]) -> float:
        return sum(
            float(np.sum(part * weight))
            for part, weight in zip(self.run()[1], weights, strict=True)
        )

    def numerical(
        self,
        tensor: Array,
        indices: list[tuple[int, ...]],
        eps: float,
        weights: list[Array] | None = None,
    ) -> Array:
        """Central differences of the loss at ``indices`` of ``tensor`` (perturbed in place)."""
        chosen = self.weights if weights is None else weights
        result = np.empty(len(indices))
        for k, index in enumerate(indices):
            original = tensor[index]
            tensor[index] = original + eps
            upper = self.loss(chosen)
            tensor[index] = original - eps
            lower = self.loss(chosen)
            tensor[index] = original
            result[k] = (upper - lower) / (2 * eps)
        return result


def _sample_indices(
    shape: tuple[int, ...], limit: int | None, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    total = int(np.prod(shape))
    flat = (
        np.arange(total)
        if limit is None or total <= limit
        else rng.choice(total, size=limit, replace=False)
    )
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in np.sort(flat)]


def _all_indices(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    return [tuple(int(i) for i in index) for index in np.ndindex(*shape)]


def _diagnose(
    problem: _Problem, tensor: Array, analytic: Array, eps: float, is_parameter: bool
) -> str | None:
    """The likely mistake, from the whole numerical gradient of a small enough tensor."""
    if tensor.size > _DIAGNOSE_UP_TO:
        return None
    indices = _all_indices(tensor.shape)
    numerical = problem.numerical(tensor, indices, eps).reshape(tensor.shape)
    batch = int(problem.xs[0].shape[0]) if problem.xs[0].ndim else 1

    def one_sample(sample: int) -> Array:
        masked = []
        for weight in problem.weights:
            only = np.zeros_like(weight)
            only[sample] = weight[sample]
            masked.append(only)
        return problem.numerical(tensor, indices, eps, masked).reshape(tensor.shape)

    return likely_mistake(analytic, numerical, batch, one_sample if is_parameter else None)


def gradcheck(
    layer: Layer,
    inputs: ArrayLike | tuple[NDArray[Any], ...],
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    max_elements: int | None = 400,
    check_inputs: bool = True,
    seed: int = 0,
) -> GradcheckReport:
    """Check a layer's (or model's) backward against finite differences in float64.

    The scalar checked is ``L = sum(R * layer(x))`` for a fixed random ``R``,
    so ``dL/d(outputs) = R`` exercises every output. Each numerical derivative
    is ``(L(t + eps) - L(t - eps)) / (2 eps)``. The layer is deep-copied and
    cast to float64 first, and every evaluation starts from a copy of the same
    state, so the caller's layer is untouched and random layers (dropout)
    draw the same mask in every evaluation. ``R`` comes from the kit's own
    generator (see ``seed``), never from a stream the caller may have used.

    Args:
        layer: Any Layer, including containers and whole models.
        inputs: A batch to check at, or a tuple of batches for a multi-input
            layer. Integer inputs (indices) are not differentiated. Avoid
            kinks (ReLU at 0).
        eps: Finite-difference step.
        rtol: Allowed error relative to the numerical value.
        atol: Allowed absolute error.
        max_elements: Check at most this many randomly chosen elements per
            tensor (``None`` checks all).
        check_inputs: Also check dL/d(inputs).
        seed: Seeds ``R`` and the choice of elements, mixed with a constant of
            the kit's own so that ``seed=0`` does not repeat ``default_rng(0)``.

    Returns:
        Per tensor, the errors found and the share of the allowed error used.

    Raises:
        GradcheckError: naming each failing tensor, the index, the analytic and
            numerical values, the error, and the likely mistake where one is found.
    """
    rng = kit_rng(seed)
    pristine = copy.deepcopy(layer).to(np.float64)
    pristine.clear_cache()
    given = KitInputs(inputs)
    xs = [
        np.array(x, dtype=np.float64) if x.dtype.kind == "f" else np.array(x) for x in given.arrays
    ]
    problem = _Problem(pristine, given, xs)
    trial, outputs = problem.run()
    problem.weights = [rng.standard_normal(part.shape) for part in outputs]
    trial.zero_grad()
    grad = (
        tuple(w.copy() for w in problem.weights)
        if len(outputs) > 1
        else (problem.weights[0].copy())
    )
    returned = trial.backward(grad)
    grad_inputs = list(returned) if given.several else [returned]
    if check_inputs and len(grad_inputs) != len(xs):
        raise GradcheckError(
            f"gradcheck: backward returned {len(grad_inputs)} gradients for {len(xs)} inputs"
        )

    # (name, tensor to perturb, its analytic gradient, whether it is a parameter)
    targets: list[tuple[str, Array, Array, bool]] = []
    if check_inputs:
        targets += [
            (name, x, np.asarray(g), False)
            for name, x, g, index in zip(
                given.names(), xs, grad_inputs, range(len(xs)), strict=True
            )
            if not given.is_integer(index)
        ]
    params = dict(pristine.named_parameters())
    targets += [
        (name, params[name].value, p.grad.copy(), True)
        for name, p in trial.named_parameters()
        if p.requires_grad
    ]
    return _compare(problem, targets, rtol, atol, eps, max_elements, rng, type(layer).__name__)


def _compare(
    problem: _Problem,
    targets: list[tuple[str, Array, Array, bool]],
    rtol: float,
    atol: float,
    eps: float,
    max_elements: int | None,
    rng: np.random.Generator,
    layer_name: str,
) -> GradcheckReport:
    report = GradcheckReport(rtol=rtol, atol=atol)
    failures: list[str] = []
    for name, tensor, analytic, is_parameter in targets:
        if analytic.shape != tensor.shape:
            raise GradcheckError(
                f"gradcheck: the gradient of {name!r} has shape "
                f"{analytic.shape}, expected {tensor.shape}"
            )
        indices = _sample_indices(tensor.shape, max_elements, rng)
        numerical = problem.numerical(tensor, indices, eps)
        picked = np.array([analytic[index] for index in indices])
        error = np.abs(picked - numerical)
        allowance = atol + rtol * np.abs(numerical)
        used = error / allowance
        relative = error / np.maximum(np.maximum(np.abs(picked), np.abs(numerical)), 1e-12)
        worst = int(np.argmax(used)) if len(used) else 0
        report.tensors[name] = TensorCheck(
            len(indices),
            float(error.max(initial=0.0)),
            float(relative.max(initial=0.0)),
            float(used.max(initial=0.0)),
            "atol" if len(used) and atol >= rtol * abs(numerical[worst]) else "rtol",
        )
        bad = np.flatnonzero(used > 1)
        failures += [
            f"  {name}{list(indices[k])}: analytic {picked[k]:.10g}, numerical "
            f"{numerical[k]:.10g}, relative error {relative[k]:.3g}"
            for k in bad[:5]
        ]
        if len(bad) > 5:
            failures.append(f"  ... and {len(bad) - 5} more in {name!r}")
        if len(bad):
            mistake = _diagnose(problem, tensor, analytic, eps, is_parameter)
            if mistake is not None:
                failures.append(f"  likely mistake in {name!r}: {mistake}")
    if failures:
        raise GradcheckError(
            f"gradcheck failed for {layer_name} (rtol={rtol}, atol={atol}, eps={eps}):\n"
            + "\n".join(failures)
        )
    return report
