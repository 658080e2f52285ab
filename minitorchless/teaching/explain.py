"""``explain``: one batch through a small network, step by step, in the tutorial's notation.

``explain(model, X, y, loss)`` runs one forward and one backward pass on a copy
of the model and writes down every step: the formula each layer applies, the
shapes that go in and come out, and the first rows of the result. The numbers
are the ones the layers really compute, so a learner can redo any step by hand
(or in NumPy) and compare.

The notation is the tutorial's, with samples as rows. The input is ``X``. The
k-th ``Dense`` computes ``Zk = A(k-1) @ Wk`` (with ``A0 = X``), the activation
after it ``Ak = g(Zk)``, and backward names ``deltak = dL/dZk``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._types import FloatArray
from minitorchless.layers.base import Layer
from minitorchless.layers.dense import Dense
from minitorchless.layers.sequential import Sequential
from minitorchless.losses import Loss
from minitorchless.teaching.formulas import ACTIVATIONS, loss_formulas
from minitorchless.teaching.text import render, shape_of

__all__ = ["Explanation", "Step", "explain"]

Phase = Literal["forward", "loss", "backward"]


@dataclass(frozen=True)
class Step:
    """One computation of the pass.

    Attributes:
        phase: ``"forward"``, ``"loss"`` or ``"backward"``.
        layer: Where it happens: the layer's dotted name and class, e.g.
            ``"[0] Dense"``, or the loss's class.
        name: The symbol of the result, e.g. ``"Z1"``, ``"delta2"``, ``"dL/dW1"``.
        formula: What is computed, e.g. ``"Z1 = X @ W1"``.
        shapes: The shapes involved, e.g. ``"(4, 5) @ (5, 4) -> (4, 4)"``.
        value: The result, as the layer computed it.
        per_sample: Whether ``value`` has a row per sample (only the first
            rows are printed) rather than being a parameter's gradient.
    """

    phase: Phase
    layer: str
    name: str
    formula: str
    shapes: str
    value: FloatArray
    per_sample: bool = True


@dataclass
class Explanation:
    """Everything ``explain`` computed: the steps, in order, and their results by symbol.

    ``str(explanation)`` is the printed walk-through; ``explanation["delta1"]``
    is the array behind a symbol.

    Attributes:
        steps: The forward steps, the loss, then the backward steps.
        loss: The loss of the batch.
        values: Every result by symbol: ``"X"``, ``"Z1"``, ``"A1"``, ...,
            ``"dL/dA2"``, ``"delta2"``, ``"dL/dW2"``, ...
        text: The walk-through as printed.
    """

    steps: list[Step] = field(default_factory=list)
    loss: float = float("nan")
    values: dict[str, FloatArray] = field(default_factory=dict)
    text: str = ""

    def __getitem__(self, name: str) -> FloatArray:
        if name not in self.values:
            raise KeyError(f"explain: no value named {name!r}; available: {list(self.values)}")
        return self.values[name]

    def __str__(self) -> str:
        return self.text


def _refuse_shared(leaves: list[tuple[str, Layer]]) -> None:
    """explain shows one cache and one gradient per layer: a layer used twice has two."""
    first_name: dict[int, str] = {}
    for name, layer in leaves:
        if id(layer) in first_name:
            raise ValueError(
                f"explain: {type(layer).__name__} at {first_name[id(layer)]!r} is used again "
                f"at {name!r}; explain shows one forward and backward step per layer, so it "
                f"takes models without shared layers (gradcheck checks shared ones)"
            )
        first_name[id(layer)] = name


def _leaves(layer: Layer, prefix: str = "") -> Iterator[tuple[str, Layer]]:
    """The layers of nested ``Sequential``s in order, by dotted name; other layers whole."""
    if isinstance(layer, Sequential):
        for name, child in layer.children():
            yield from _leaves(child, f"{prefix}{name}.")
    else:
        yield prefix.rstrip(".") or "model", layer


class _Namer:
    """Hands out the tutorial's symbols (Z1, A1, ...), never the same one twice."""

    def __init__(self) -> None:
        self.dense = 0
        self.used: set[str] = {"X", "Y"}

    def fresh(self, symbol: str) -> str:
        while symbol in self.used:  # e.g. two activations in a row: A1, then A1'
            symbol += "'"
        self.used.add(symbol)
        return symbol


def explain(
    model: Layer,
    X: ArrayLike,
    y: ArrayLike,
    loss: Loss,
    *,
    rows: int = 2,
    precision: int = 4,
    print_fn: Callable[[str], None] | None = print,
) -> Explanation:
    """Walk one batch through the model, forward and backward, printing every step.

    Each step shows the formula applied, the shapes and the first ``rows`` rows
    of the result, e.g.::

        [0] Dense    Z1 = X @ W1                               (6, 5) @ (5, 4) -> (6, 4)
        [1] Sigmoid  delta1 = dL/dZ1 = dL/dA1 * A1 * (1 - A1)  (6, 4) -> (6, 4)

    The passes run on a deep copy: the model's weights, gradients and caches
    are left exactly as they were. Nested ``Sequential``s are walked layer by
    layer; any other layer (a graph, a custom layer) appears as one step.

    Args:
        model: A small network, usually a ``Sequential``.
        X: One batch of inputs, ``(batch, in_features)``. Keep it small (a few
            rows): every step prints its values.
        y: The targets for the batch, as ``loss`` expects them.
        loss: The loss function, e.g. ``MSELoss()``.
        rows: How many rows of each batch-sized result to show.
        precision: Digits shown after the decimal point.
        print_fn: Where the text goes, line by line; ``None`` prints nothing.

    Returns:
        An ``Explanation``: the steps, the loss, every result by symbol
        (``explanation["delta1"]``) and the printed text.

    Raises:
        TypeError: ``model`` is not a Layer or ``loss`` is not a Loss.
    """
    if not isinstance(model, Layer):
        raise TypeError(f"explain: model must be a Layer, received {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(
            f"explain: loss must be a Loss such as MSELoss(), received {type(loss).__name__}"
        )
    if rows < 1:
        raise ValueError(f"explain: rows must be >= 1, received {rows}")
    work = copy.deepcopy(model)  # the user's model keeps its gradients and caches
    work.zero_grad()
    walk = _Walk()
    trail = walk.forward(work, np.asarray(X))
    grad = walk.loss(copy.deepcopy(loss), y)
    walk.backward(trail, grad)
    result = walk.result
    result.text = render(result, rows, precision)
    if print_fn is not None:
        for line in result.text.splitlines():
            print_fn(line)
    return result


# per layer, in order: (where, layer, input symbol, output symbol, weight symbol)
Trail = list[tuple[str, Layer, str, str, str]]


class _Walk:
    """One forward, one loss and one backward pass, recorded step by step."""

    def __init__(self) -> None:
        self.result = Explanation()
        self.namer = _Namer()
        self.symbol = "X"  # the symbol of the latest result
        self.current: FloatArray = np.empty(0)

    def record(
        self,
        phase: Phase,
        where: str,
        name: str,
        formula: str,
        shapes: str,
        value: FloatArray,
        per_sample: bool = True,
    ) -> None:
        self.result.steps.append(Step(phase, where, name, formula, shapes, value, per_sample))
        self.result.values[name] = value

    def forward(self, work: Layer, X: FloatArray) -> Trail:
        self.result.values["X"] = self.current = X
        trail: Trail = []
        leaves = list(_leaves(work))
        _refuse_shared(leaves)
        for name, layer in leaves:
            where = f"[{name}] {type(layer).__name__}"
            outputs = layer(self.current)
            out, weight, formula, shapes = self._forward_step(layer, outputs, len(trail))
            self.record("forward", where, out, formula, shapes, outputs)
            trail.append((where, layer, self.symbol, out, weight))
            self.current, self.symbol = outputs, out
        return trail

    def _forward_step(
        self, layer: Layer, outputs: FloatArray, index: int
    ) -> tuple[str, str, str, str]:
        """The output and weight symbols, the formula and the shapes of one layer's forward."""
        namer, symbol = self.namer, self.symbol
        shapes = f"{shape_of(np.asarray(self.current))} -> {shape_of(outputs)}"
        if isinstance(layer, Dense):
            namer.dense += 1
            k = namer.dense
            out, weight = namer.fresh(f"Z{k}"), namer.fresh(f"W{k}")
            self.result.values[weight] = layer.weight.value
            bias = ""
            if layer.bias is not None:
                bias = f" + {namer.fresh(f'b{k}')}"
                self.result.values[bias[3:]] = layer.bias.value
            shapes = (
                f"{shape_of(np.asarray(self.current))} @ {shape_of(layer.weight.value)} -> "
                f"{shape_of(outputs)}"
            )
            return out, weight, f"{out} = {symbol} @ {weight}{bias}", shapes
        if type(layer) in ACTIVATIONS:
            out = namer.fresh(f"A{namer.dense}")
            slope = getattr(layer, "negative_slope", "")
            formula = ACTIVATIONS[type(layer)][0].format(out=out, inp=symbol, slope=slope)
            return out, "", formula, shapes
        out = namer.fresh(f"H{index}")
        return out, "", f"{out} = {type(layer).__name__}({symbol})", shapes

    def loss(self, loss: Loss, y: ArrayLike) -> FloatArray:
        current, symbol = self.current, self.symbol
        self.result.loss = loss(current, y)
        grad = loss.backward()
        forward_formula, backward_formula = loss_formulas(loss, symbol, grad)
        loss_name = type(loss).__name__
        self.record(
            "loss",
            loss_name,
            "L",
            forward_formula,
            f"{shape_of(current)} -> ()",
            np.asarray(self.result.loss),
        )
        self.record(
            "backward",
            loss_name,
            f"dL/d{symbol}",
            backward_formula,
            f"{shape_of(current)} -> {shape_of(grad)}",
            grad,
        )
        return grad

    def backward(self, trail: Trail, grad: FloatArray) -> None:
        for where, layer, inp, out, weight in reversed(trail):
            grad_output = grad
            grad = layer.backward(grad_output)
            if grad is None:  # integer inputs (Embedding's indices): only parameters learn
                self._index_backward(where, layer, inp, out, grad_output)
                break
            if isinstance(layer, Dense):
                self._dense_backward(where, layer, inp, out, weight, grad_output, grad)
                continue
            # the gradient of a Dense output Zk is the tutorial's deltak
            name = f"delta{inp[1:]}" if inp.startswith("Z") else f"dL/d{inp}"
            if type(layer) in ACTIVATIONS:
                slope = getattr(layer, "negative_slope", "")
                rule = ACTIVATIONS[type(layer)][1].format(out=out, slope=slope)
            else:
                rule = f"{type(layer).__name__}.backward(dL/d{out})"
            formula = (
                f"{name} = {rule}" if name.startswith("dL/d") else (f"{name} = dL/d{inp} = {rule}")
            )
            self.record(
                "backward",
                where,
                name,
                formula,
                f"{shape_of(grad_output)} -> {shape_of(grad)}",
                grad,
            )

    def _index_backward(
        self, where: str, layer: Layer, inp: str, out: str, grad_output: FloatArray
    ) -> None:
        """The parameter gradients of a layer whose inputs are indices, which have none."""
        prefix = where[1 : where.index("]")]
        for local, parameter in layer.named_parameters():
            key = f"dL/d{prefix}.{local}"
            rule = f"{type(layer).__name__}.backward(dL/d{out})"
            formula = f"{key} = {rule}, and no dL/d{inp} (indices)"
            shapes = f"{shape_of(grad_output)} -> {shape_of(parameter.grad)}"
            self.record("backward", where, key, formula, shapes, parameter.grad.copy(), False)

    def _dense_backward(
        self,
        where: str,
        layer: Dense,
        inp: str,
        out: str,
        weight: str,
        grad_output: FloatArray,
        grad: FloatArray,
    ) -> None:
        inputs = np.asarray(self.result.values[inp])
        delta = f"delta{weight[1:]}"  # set by the activation after this Dense, if any
        incoming = delta if delta in self.result.values else f"dL/d{out}"
        self.record(
            "backward",
            where,
            f"dL/d{weight}",
            f"dL/d{weight} = {inp}.T @ {incoming}",
            f"{shape_of(inputs.T)} @ {shape_of(grad_output)} -> {shape_of(layer.weight.grad)}",
            layer.weight.grad.copy(),
            per_sample=False,
        )
        if layer.bias is not None:
            bias = f"b{weight[1:]}"
            self.record(
                "backward",
                where,
                f"dL/d{bias}",
                f"dL/d{bias} = sum({incoming}, axis=0)",
                f"{shape_of(grad_output)} -> {shape_of(layer.bias.grad)}",
                layer.bias.grad.copy(),
                per_sample=False,
            )
        self.record(
            "backward",
            where,
            f"dL/d{inp}",
            f"dL/d{inp} = {incoming} @ {weight}.T",
            f"{shape_of(grad_output)} @ {shape_of(layer.weight.value.T)} -> {shape_of(grad)}",
            grad,
        )
