"""Gradient checking and the layer conformance kit, for users as much as for us.

``gradcheck`` compares the gradients a layer's ``backward`` computes with
central finite differences of its ``forward``, in float64. ``check_layer`` runs
the whole layer contract: shapes, gradients, errors, dtypes, repeatability and
that inputs are left untouched. Run it on every layer you write.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless.layers.base import Layer

__all__ = ["GradcheckError", "GradcheckReport", "LayerCheckError", "check_layer", "gradcheck"]

FloatArray = NDArray[np.floating[Any]]


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree. The message says where and by how much."""


class LayerCheckError(AssertionError):
    """A layer breaks the layer contract. The message names the rule and the layer."""


@dataclass
class GradcheckReport:
    """The outcome of a passed ``gradcheck``.

    Attributes:
        max_relative_error: Per checked tensor (``"inputs"`` and each parameter's
            dotted name), the largest relative error found.
        checked: Per tensor, how many elements were checked.
    """

    max_relative_error: dict[str, float] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)


def _relative_error(analytic: FloatArray, numerical: FloatArray) -> FloatArray:
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numerical)), 1e-12)
    return np.asarray(np.abs(analytic - numerical) / scale)


def _sample_indices(
    shape: tuple[int, ...], limit: int | None, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    total = int(np.prod(shape))
    flat = np.arange(total) if limit is None or total <= limit else rng.choice(
        total, size=limit, replace=False
    )
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in np.sort(flat)]


def gradcheck(
    layer: Layer,
    inputs: ArrayLike,
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
    draw the same mask in every evaluation.

    Args:
        layer: Any Layer, including containers and whole models.
        inputs: A batch to check at. Avoid kinks (ReLU at 0).
        eps: Finite-difference step.
        rtol: Allowed error relative to the numerical value.
        atol: Allowed absolute error.
        max_elements: Check at most this many randomly chosen elements per
            tensor (``None`` checks all).
        check_inputs: Also check dL/d(inputs).
        seed: Seeds ``R`` and the choice of elements.

    Returns:
        A report of the largest relative error per tensor.

    Raises:
        GradcheckError: naming the parameter, the index, the analytic and
            numerical values and the relative error of every failure found.
    """
    rng = np.random.default_rng(seed)
    pristine = copy.deepcopy(layer).to(np.float64)
    pristine.clear_cache()
    x = np.array(inputs, dtype=np.float64)  # a private copy we can perturb

    def evaluate(point: FloatArray) -> tuple[Layer, FloatArray]:
        trial = copy.deepcopy(pristine)
        return trial, np.asarray(trial.forward(point), dtype=np.float64)

    trial, outputs = evaluate(x)
    weights = rng.standard_normal(outputs.shape)
    trial.zero_grad()
    grad_inputs = np.asarray(trial.backward(weights.copy()))
    analytic = {name: p.grad.copy() for name, p in trial.named_parameters()}

    def loss_at(point: FloatArray) -> float:
        return float(np.sum(evaluate(point)[1] * weights))

    targets: list[tuple[str, FloatArray, FloatArray]] = []
    if check_inputs:
        targets.append(("inputs", x, grad_inputs))
    params = dict(pristine.named_parameters())
    targets.extend((name, params[name].value, analytic[name]) for name in analytic)

    report = GradcheckReport()
    failures: list[str] = []
    for name, tensor, analytic_grad in targets:
        if analytic_grad.shape != tensor.shape:
            raise GradcheckError(
                f"gradcheck: the gradient of {name!r} has shape {analytic_grad.shape}, "
                f"expected {tensor.shape}"
            )
        indices = _sample_indices(tensor.shape, max_elements, rng)
        numerical = np.empty(len(indices))
        for k, index in enumerate(indices):
            original = tensor[index]
            tensor[index] = original + eps
            upper = loss_at(x)
            tensor[index] = original - eps
            lower = loss_at(x)
            tensor[index] = original
            numerical[k] = (upper - lower) / (2 * eps)
        picked = np.array([analytic_grad[index] for index in indices])
        errors = _relative_error(picked, numerical)
        report.max_relative_error[name] = float(errors.max(initial=0.0))
        report.checked[name] = len(indices)
        bad = np.abs(picked - numerical) > atol + rtol * np.abs(numerical)
        for k in np.flatnonzero(bad)[:5]:
            failures.append(
                f"  {name}{list(indices[k])}: analytic {picked[k]:.10g}, "
                f"numerical {numerical[k]:.10g}, relative error {errors[k]:.3g}"
            )
        if bad.sum() > 5:
            failures.append(f"  ... and {int(bad.sum()) - 5} more in {name!r}")
    if failures:
        raise GradcheckError(
            f"gradcheck failed for {type(layer).__name__} (rtol={rtol}, atol={atol}, eps={eps}):\n"
            + "\n".join(failures)
        )
    return report


def _fail(layer: object, rule: str, detail: str) -> LayerCheckError:
    return LayerCheckError(f"check_layer({type(layer).__name__}): {rule}: {detail}")


def check_layer(
    layer: Layer | Callable[[np.random.Generator], Layer],
    inputs: ArrayLike,
    *,
    seed: int = 0,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> GradcheckReport:
    """Run the layer contract on a layer and report the first rule it breaks.

    The rules:

    1. ``backward`` before any ``forward`` raises ``RuntimeError`` naming the layer.
    2. ``forward`` returns an ndarray in the layer's dtype (the parameters' dtype,
       or the inputs' for a layer without parameters); ``backward`` returns a
       gradient of the inputs' shape and dtype, and every ``.grad`` keeps its
       parameter's shape and dtype.
    3. Neither ``forward`` nor ``backward`` modifies its argument.
    4. ``backward`` accumulates: a second call adds the same amount again.
    5. Repeatable: two copies in the same state give identical outputs; given a
       factory, two builds from the same seed give identical parameters too.
    6. ``state_dict`` round-trips through ``load_state_dict``.
    7. Gradients pass ``gradcheck`` in float64.

    Args:
        layer: The layer, or a factory ``rng -> layer`` (which also lets the
            kit check that construction is repeatable).
        inputs: A batch the layer accepts, in the dtype to check.
        seed: Seed for the factory and the random output gradient.
        rtol: Relative tolerance of the gradient check.
        atol: Absolute tolerance of the gradient check.

    Returns:
        The gradient-check report.

    Raises:
        LayerCheckError: a contract rule is broken; the message says which.
        GradcheckError: the gradients are wrong.
    """
    if isinstance(layer, Layer):
        subject = layer
    else:
        subject = layer(np.random.default_rng(seed))
        twin = layer(np.random.default_rng(seed))
        for (name, p), (_, q) in zip(
            subject.named_parameters(), twin.named_parameters(), strict=True
        ):
            if not np.array_equal(p.value, q.value):
                raise _fail(subject, "construction is not repeatable", f"{name!r} differs "
                            "between two builds from the same seed; draw from the rng argument")
    x = np.asarray(inputs)
    original_x = x.copy()

    # 1. backward before forward
    fresh = copy.deepcopy(subject)
    fresh.clear_cache()
    try:
        fresh.backward(np.zeros_like(x))
    except RuntimeError as err:
        if type(subject).__name__ not in str(err):
            raise _fail(subject, "backward before forward", f"the error does not name the "
                        f"layer: {err}") from None
    except Exception as err:
        raise _fail(subject, "backward before forward", f"raised {type(err).__name__} "
                    f"instead of RuntimeError: {err}") from None
    else:
        raise _fail(subject, "backward before forward", "no error was raised")

    # 2-4. outputs, gradients, dtypes, no mutation, accumulation
    work = copy.deepcopy(subject)
    expected_dtype = work.dtype if work.dtype is not None else x.dtype
    outputs = work.forward(x)
    if not isinstance(outputs, np.ndarray):
        raise _fail(subject, "forward", f"returned {type(outputs).__name__}, not an ndarray")
    if outputs.dtype != expected_dtype:
        raise _fail(subject, "dtype kept", f"forward returned {outputs.dtype}, "
                    f"expected {expected_dtype}")
    if not np.array_equal(x, original_x, equal_nan=True):
        raise _fail(subject, "inputs untouched", "forward modified its inputs in place")
    grad_output = np.random.default_rng(seed).standard_normal(outputs.shape).astype(outputs.dtype)
    original_grad_output = grad_output.copy()
    work.zero_grad()
    grad_input = work.backward(grad_output)
    if not np.array_equal(grad_output, original_grad_output):
        raise _fail(subject, "inputs untouched", "backward modified grad_output in place")
    if not isinstance(grad_input, np.ndarray) or grad_input.shape != x.shape:
        shape = getattr(grad_input, "shape", type(grad_input).__name__)
        raise _fail(subject, "grad shape", f"backward returned {shape}, expected {x.shape}")
    if grad_input.dtype != expected_dtype:
        raise _fail(subject, "dtype kept", f"backward returned {grad_input.dtype}, "
                    f"expected {expected_dtype}")
    first = {name: p.grad.copy() for name, p in work.named_parameters()}
    for name, p in work.named_parameters():
        if p.grad.shape != p.value.shape or p.grad.dtype != p.value.dtype:
            raise _fail(subject, "grad shape", f"{name!r}.grad is {p.grad.shape} {p.grad.dtype}, "
                        f"its value {p.value.shape} {p.value.dtype}")
    work.backward(grad_output)
    for name, p in work.named_parameters():
        if not np.allclose(p.grad, 2 * first[name], rtol=1e-6, atol=1e-12):
            raise _fail(subject, "gradients accumulate", f"a second backward did not add "
                        f"into {name!r}.grad (use +=, not =)")

    # 5. repeatable
    again = copy.deepcopy(subject).forward(x)
    if not np.array_equal(again, copy.deepcopy(subject).forward(x), equal_nan=True):
        raise _fail(subject, "repeatable", "two copies in the same state gave different outputs")

    # 6. state dict round trip
    state = work.state_dict()
    clone = copy.deepcopy(subject)
    clone.load_state_dict(state)
    for name, value in clone.state_dict().items():
        if not np.array_equal(value, state[name]):
            raise _fail(subject, "state_dict round trip", f"{name!r} changed")

    # 7. gradients
    return gradcheck(subject, x, rtol=rtol, atol=atol, seed=seed)
