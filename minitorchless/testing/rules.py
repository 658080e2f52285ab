"""The rules of the layer contract, one function each, as ``check_layer`` runs them.

Each rule takes a :class:`Case`, the layer under test with its inputs, and
raises :class:`LayerCheckError` naming the rule, what it saw and, where it
can, the likely mistake.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, describe
from minitorchless.parameter import Buffer, Parameter
from minitorchless.testing._common import KitInputs, outputs_tuple

__all__ = ["RULES", "Case", "LayerCheckError"]


class LayerCheckError(AssertionError):
    """A layer breaks the layer contract. The message names the rule and the layer."""


@dataclass
class Case:
    """The layer under test and what the rules need to try it."""

    subject: Layer
    factory: Callable[[np.random.Generator], Layer] | None
    inputs: KitInputs
    rng: np.random.Generator  # the kit's own draws
    seed: int

    def fail(self, rule: str, detail: str) -> LayerCheckError:
        return LayerCheckError(f"check_layer({type(self.subject).__name__}): {rule}: {detail}")

    def copy(self) -> Layer:
        return copy.deepcopy(self.subject)

    @property
    def dtype(self) -> np.dtype[Any]:
        """What outputs and float gradients must be: the parameters' dtype, else the inputs'."""
        floats = [x.dtype for x in self.inputs.arrays if x.dtype.kind == "f"]
        return self.subject.dtype or (floats[0] if floats else np.dtype(np.float64))

    def forward(self, layer: Layer) -> tuple[Any, ...]:
        return outputs_tuple(layer(self.inputs.given()))

    def grad_outputs(self, outputs: tuple[Any, ...]) -> Any:
        grads = tuple(
            self.rng.standard_normal(np.shape(part)).astype(part.dtype) for part in outputs
        )
        return grads if len(grads) > 1 else grads[0]


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def backward_before_forward(case: Case) -> None:
    """``backward`` before any ``forward`` raises ``RuntimeError`` naming the layer."""
    fresh = case.copy()
    fresh.clear_cache()
    name = type(case.subject).__name__
    try:
        fresh.backward(np.zeros_like(case.inputs.arrays[0], dtype=np.float64))
    except RuntimeError as err:
        if name not in str(err):
            raise case.fail(
                "backward before forward", f"the error does not name the layer: {err}"
            ) from None
    except Exception as err:
        raise case.fail(
            "backward before forward",
            f"raised {type(err).__name__} instead of "
            f"RuntimeError: {err} (read the cache with self.saved())",
        ) from None
    else:
        raise case.fail(
            "backward before forward",
            "no error was raised: read what forward "
            "kept with self.saved(), which refuses a backward without a forward",
        )


def _untouched(case: Case, originals: list[NDArray[Any]], what: str) -> None:
    for array, original in zip(case.inputs.arrays, originals, strict=True):
        if not np.array_equal(array, original, equal_nan=True):
            raise case.fail("inputs untouched", f"{what} modified its inputs in place")


def _shape_agrees(inferred: Shape, actual: tuple[int, ...]) -> bool:
    if inferred and inferred[0] is Ellipsis:
        tail = inferred[1:]
        return len(actual) >= len(tail) and all(
            size is None or size == got for size, got in zip(tail[::-1], actual[::-1], strict=False)
        )
    return len(inferred) == len(actual) and all(
        size is None or size == got for size, got in zip(inferred, actual, strict=True)
    )


def forward_outputs(case: Case) -> None:
    """``forward`` returns ndarrays in the layer's dtype, of the shape ``output_shape`` infers."""
    layer = case.copy()
    originals = [x.copy() for x in case.inputs.arrays]
    outputs = case.forward(layer)
    _untouched(case, originals, "forward")
    for part in outputs:
        if not isinstance(part, np.ndarray):
            raise case.fail("forward", f"returned {type(part).__name__}, not an ndarray")
        if part.dtype != case.dtype:
            raise case.fail(
                "dtype kept",
                f"forward returned {part.dtype}, expected "
                f"{case.dtype} (the parameters' dtype, or the inputs')",
            )
    given: ShapeSpec = [(None, *x.shape[1:]) for x in case.inputs.arrays]
    inferred = layer.output_shape(given if case.inputs.several else given[0])
    inferred_parts = inferred if isinstance(inferred, list) else [inferred]
    actual = [part.shape for part in outputs]
    if len(inferred_parts) != len(actual) or not all(
        _shape_agrees(i, a) for i, a in zip(inferred_parts, actual, strict=False)
    ):
        raise case.fail(
            "output_shape",
            f"output_shape infers {describe(inferred)} from "
            f"{describe(given if case.inputs.several else given[0])}, but forward "
            f"returned {', '.join(map(str, actual))}",
        )


def backward_gradients(case: Case) -> None:
    """Gradients have the inputs' shapes and dtypes (``None`` for integer inputs)."""
    layer = case.copy()
    outputs = case.forward(layer)
    grad = case.grad_outputs(outputs)
    kept = [g.copy() for g in _as_tuple(grad)]
    layer.zero_grad()
    returned = layer.backward(grad)
    if not all(np.array_equal(g, k) for g, k in zip(_as_tuple(grad), kept, strict=True)):
        raise case.fail("inputs untouched", "backward modified grad_output in place")
    grads = _as_tuple(returned) if case.inputs.several else (returned,)
    if len(grads) != len(case.inputs.arrays):
        raise case.fail(
            "grad shape",
            f"backward returned {len(grads)} gradient(s) for "
            f"{len(case.inputs.arrays)} inputs: a tuple, one per input",
        )
    for index, (x, g) in enumerate(zip(case.inputs.arrays, grads, strict=True)):
        name = case.inputs.names()[index]
        if case.inputs.is_integer(index):
            if g is not None:
                raise case.fail(
                    "integer inputs",
                    f"{name} holds integers (indices), which "
                    f"have no gradient: backward must return None for it",
                )
            continue
        if not isinstance(g, np.ndarray) or g.shape != x.shape:
            shape = getattr(g, "shape", type(g).__name__)
            raise case.fail(
                "grad shape", f"backward returned {shape} for {name}, expected {x.shape}"
            )
        if g.dtype != case.dtype:
            raise case.fail(
                "dtype kept", f"backward returned {g.dtype} for {name}, expected {case.dtype}"
            )
    for name, p in layer.named_parameters():
        if p.grad.shape != p.value.shape or p.grad.dtype != p.value.dtype:
            raise case.fail(
                "grad shape",
                f"{name!r}.grad is {p.grad.shape} {p.grad.dtype}, "
                f"its value {p.value.shape} {p.value.dtype}",
            )


def gradients_accumulate(case: Case) -> None:
    """A second ``backward`` adds the same amount again (``+=``, not ``=``)."""
    layer = case.copy()
    grad = case.grad_outputs(case.forward(layer))
    layer.zero_grad()
    layer.backward(grad)
    first = {name: p.grad.copy() for name, p in layer.named_parameters()}
    layer.backward(grad)
    for name, p in layer.named_parameters():
        if not np.allclose(p.grad, 2 * first[name], rtol=1e-5, atol=1e-7):
            raise case.fail(
                "gradients accumulate",
                f"a second backward did not add into "
                f"{name!r}.grad: likely mistake: `=` instead of `+=`",
            )


def backward_parameters_agrees(case: Case) -> None:
    """``backward_parameters`` leaves exactly the parameter gradients ``backward`` leaves."""
    full, lean = case.copy(), case.copy()
    grad = case.grad_outputs(case.forward(full))
    case.forward(lean)
    full.zero_grad()
    lean.zero_grad()
    full.backward(grad)
    returned: Any = lean.backward_parameters(grad)  # type: ignore[func-returns-value]
    if returned is not None:
        raise case.fail("backward_parameters", "returned a value; it returns None")
    for (name, p), (_, q) in zip(full.named_parameters(), lean.named_parameters(), strict=True):
        if not np.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-7):
            raise case.fail(
                "backward_parameters",
                f"leaves another {name!r}.grad than "
                f"backward does: both must add the same dL/d(parameters)",
            )


def _held(obj: Any, path: str, seen: set[int]) -> Iterator[tuple[str, Any]]:
    """Every Parameter, Buffer and Layer reachable through attributes and containers."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (Parameter, Buffer)):
        yield path, obj
    elif isinstance(obj, Layer):
        yield path, obj
        for name, value in vars(obj).items():
            if name not in ("_parameters", "_buffers", "_saved", "_forward_hooks"):
                yield from _held(value, f"{path}.{name}", seen)
    elif isinstance(obj, (list, tuple)):
        for index, item in enumerate(obj):
            yield from _held(item, f"{path}[{index}]", seen)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from _held(item, f"{path}[{key!r}]", seen)


def everything_registered(case: Case) -> None:
    """Every parameter and buffer the layer holds is one it lists, so that all of it trains."""
    listed = {id(tensor) for _, tensor in case.subject.named_tensors()}
    for path, obj in _held(case.subject, "layer", set()):
        if isinstance(obj, (Parameter, Buffer)) and id(obj) not in listed:
            kind = "parameter" if isinstance(obj, Parameter) else "buffer"
            raise case.fail(
                "everything registered",
                f"{path} is a {kind} the layer does not list, so "
                f"it is never {'trained' if kind == 'parameter' else 'saved'}: create it "
                f"with self.add_{kind}(name, value) (or list it in own_{kind}s())",
            )


RULES: list[Callable[[Case], None]] = [
    backward_before_forward,
    forward_outputs,
    backward_gradients,
    gradients_accumulate,
    backward_parameters_agrees,
    everything_registered,
]
