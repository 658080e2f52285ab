"""Gradient checking and the layer conformance kit, for users as much as for us.

``gradcheck`` compares the gradients a layer's ``backward`` computes with
central finite differences of its ``forward``, in float64. ``check_layer`` runs
the whole layer contract: shapes, gradients, errors, dtypes, repeatability and
that inputs are left untouched. Run it on every layer you write.

Both accept a multi-input layer (a merge, a ``Graph`` with several inputs):
pass its inputs as a tuple of arrays. A tuple of ndarrays always means several
inputs; any other array-like is one input, as before.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._types import FloatArray
from minitorchless.layers.base import Layer

__all__ = ["GradcheckError", "GradcheckReport", "LayerCheckError", "check_layer", "gradcheck"]



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


def _several(inputs: ArrayLike) -> bool:
    """Whether ``inputs`` holds several inputs: a tuple of ndarrays (see the module doc)."""
    return isinstance(inputs, tuple) and bool(inputs) and all(
        isinstance(item, np.ndarray) for item in inputs)


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
        inputs: A batch to check at, or a tuple of batches for a multi-input
            layer. Avoid kinks (ReLU at 0).
        eps: Finite-difference step.
        rtol: Allowed error relative to the numerical value.
        atol: Allowed absolute error.
        max_elements: Check at most this many randomly chosen elements per
            tensor (``None`` checks all).
        check_inputs: Also check dL/d(inputs).
        seed: Seeds ``R`` and the choice of elements.

    A layer with several outputs (a tuple) is checked on
    ``L = sum_i sum(R_i * outputs_i)``; a layer with several inputs reports
    them together under ``"inputs"`` and names each one (``inputs[1]``) in
    failures.

    Returns:
        A report of the largest relative error per tensor.

    Raises:
        GradcheckError: naming the parameter, the index, the analytic and
            numerical values and the relative error of every failure found.
    """
    rng = np.random.default_rng(seed)
    pristine = copy.deepcopy(layer).to(np.float64)
    pristine.clear_cache()
    several = _several(inputs)
    items = cast("tuple[ArrayLike, ...]", inputs) if several else (inputs,)
    xs = [np.array(item, dtype=np.float64) for item in items]  # private copies we can perturb

    def evaluate() -> tuple[Layer, list[FloatArray]]:
        trial = copy.deepcopy(pristine)
        outputs = trial.forward(tuple(xs) if several else xs[0])
        parts = outputs if isinstance(outputs, tuple) else (outputs,)
        return trial, [np.asarray(part, dtype=np.float64) for part in parts]

    trial, outputs = evaluate()
    weights = [rng.standard_normal(part.shape) for part in outputs]
    trial.zero_grad()
    grad_outputs: Any = tuple(w.copy() for w in weights) if len(weights) > 1 else weights[0].copy()
    returned = trial.backward(grad_outputs)
    grad_inputs = [np.asarray(g) for g in (returned if several else (returned,))]
    analytic = {name: p.grad.copy() for name, p in trial.named_parameters()}

    def loss_at() -> float:
        total = 0.0
        for part, weight in zip(evaluate()[1], weights, strict=True):
            total += float(np.sum(part * weight))
        return total

    # (name in messages, name in the report, tensor to perturb, its analytic gradient)
    targets: list[tuple[str, str, FloatArray, FloatArray]] = []
    if check_inputs:
        if several and len(grad_inputs) != len(xs):
            raise GradcheckError(f"gradcheck: backward returned {len(grad_inputs)} gradients "
                                 f"for {len(xs)} inputs")
        targets.extend((f"inputs[{i}]" if several else "inputs", "inputs", x, g)
                       for i, (x, g) in enumerate(zip(xs, grad_inputs, strict=False)))
    params = dict(pristine.named_parameters())
    targets.extend((name, name, params[name].value, analytic[name]) for name in analytic)

    report = GradcheckReport()
    failures: list[str] = []
    for name, key, tensor, analytic_grad in targets:
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
            upper = loss_at()
            tensor[index] = original - eps
            lower = loss_at()
            tensor[index] = original
            numerical[k] = (upper - lower) / (2 * eps)
        picked = np.array([analytic_grad[index] for index in indices])
        errors = _relative_error(picked, numerical)
        # several inputs share the key "inputs": keep the worst error and the total count
        worst = float(errors.max(initial=0.0))
        report.max_relative_error[key] = max(report.max_relative_error.get(key, 0.0), worst)
        report.checked[key] = report.checked.get(key, 0) + len(indices)
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
        inputs: A batch the layer accepts, in the dtype to check; a tuple of
            batches for a multi-input layer.
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
    several = _several(inputs)
    xs = [np.asarray(item) for item in (cast("tuple[ArrayLike, ...]", inputs) if several
                                        else (inputs,))]
    x: Any = tuple(xs) if several else xs[0]  # what forward is given
    originals = [item.copy() for item in xs]

    def untouched() -> bool:
        return all(np.array_equal(item, original, equal_nan=True)
                   for item, original in zip(xs, originals, strict=True))

    # 1. backward before forward
    fresh = copy.deepcopy(subject)
    fresh.clear_cache()
    try:
        fresh.backward(np.zeros_like(xs[0]))
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
    expected_dtype = work.dtype if work.dtype is not None else xs[0].dtype
    outputs = work.forward(x)
    several_out = isinstance(outputs, tuple)  # a layer with several outputs returns a tuple
    parts = list(outputs) if several_out else [outputs]
    for part in parts:
        if not isinstance(part, np.ndarray):
            raise _fail(subject, "forward", f"returned {type(part).__name__}, not an ndarray")
        if part.dtype != expected_dtype:
            raise _fail(subject, "dtype kept", f"forward returned {part.dtype}, "
                        f"expected {expected_dtype}")
    if not untouched():
        raise _fail(subject, "inputs untouched", "forward modified its inputs in place")
    draw = np.random.default_rng(seed)
    grad_parts = [draw.standard_normal(part.shape).astype(part.dtype) for part in parts]
    original_grads = [grad.copy() for grad in grad_parts]
    grad_output: Any = tuple(grad_parts) if several_out else grad_parts[0]
    work.zero_grad()
    grad_input = work.backward(grad_output)
    if not all(np.array_equal(grad, original)
               for grad, original in zip(grad_parts, original_grads, strict=True)):
        raise _fail(subject, "inputs untouched", "backward modified grad_output in place")
    if several and (not isinstance(grad_input, tuple) or len(grad_input) != len(xs)):
        raise _fail(subject, "grad shape", f"backward returned {type(grad_input).__name__}, "
                    f"expected a tuple of {len(xs)} gradients, one per input")
    for item, grad in zip(xs, grad_input if several else (grad_input,), strict=True):
        if not isinstance(grad, np.ndarray) or grad.shape != item.shape:
            shape = getattr(grad, "shape", type(grad).__name__)
            raise _fail(subject, "grad shape", f"backward returned {shape}, "
                        f"expected {item.shape}")
        if grad.dtype != expected_dtype:
            raise _fail(subject, "dtype kept", f"backward returned {grad.dtype}, "
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
    twice = copy.deepcopy(subject).forward(x)
    if not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(
            again if several_out else (again,), twice if several_out else (twice,), strict=True)):
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
