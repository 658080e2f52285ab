"""Turning the recorded calls of a pass into the steps ``explain`` prints, with symbols.

Symbols follow the tutorial: ``X`` is the input, the k-th ``Dense`` output is
``Zk`` with weight ``Wk`` (and bias ``bk``), the activation after it ``Ak``,
any other step's output ``Hi``; in backward, ``deltak = dL/dZk``. Where a value
feeds several steps, each step's share of its gradient is named after the step
it comes through, since the value's gradient is their sum.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from minitorchless._types import FloatArray
from minitorchless.layers.combinators import Residual
from minitorchless.layers.dense import Dense
from minitorchless.teaching.explanation import Explanation, Phase, Step
from minitorchless.teaching.formulas import (
    ACTIVATIONS,
    backward_formula,
    forward_formula,
    loss_formulas,
    parameter_formula,
)
from minitorchless.teaching.recorder import Call
from minitorchless.teaching.text import shape_of
from minitorchless.teaching.verify import Check, check_step

if TYPE_CHECKING:
    from minitorchless.losses import Loss

__all__ = ["StepWriter"]


def _batch_axes(ndim: int) -> str:
    """The axes a bias's gradient sums over: every axis but the features."""
    return "0" if ndim <= 2 else str(tuple(range(ndim - 1)))


def _several(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


class StepWriter:
    """Writes an ``Explanation``'s steps from a ``Recorder``'s calls."""

    def __init__(self, result: Explanation, inputs: Any) -> None:
        self.result = result
        self.symbols: dict[int, str] = {}  # id(array) -> its symbol
        self.used = {"X", "Y"}
        self.dense = 0
        self.weights: dict[int, tuple[str, str]] = {}  # id(Dense) -> (W symbol, b symbol)
        self.names: dict[int, tuple[list[str], str, str]] = {}  # id(call) -> (inps, out, W)
        arrays = _several(inputs)
        for index, array in enumerate(arrays):
            name = "X" if len(arrays) == 1 else f"X{index}"
            self.symbols[id(array)] = name
            result.values[name] = array
        self.consumers: Counter[str] = Counter()

    def fresh(self, symbol: str) -> str:
        while symbol in self.used:  # e.g. two activations in a row: A1, then A1'
            symbol += "'"
        self.used.add(symbol)
        return symbol

    def record(
        self,
        phase: Phase,
        where: str,
        name: str,
        formula: str,
        shapes: str,
        value: FloatArray,
        per_sample: bool = True,
        check: Check | None = None,
    ) -> None:
        text = "" if check is None else str(check)
        passed = True if check is None else check.passed
        self.result.steps.append(
            Step(phase, where, name, formula, shapes, value, per_sample, text, passed)
        )
        self.result.values[name] = value

    @staticmethod
    def where(call: Call) -> str:
        use = f" (use {call.use})" if call.use > 1 else ""
        return f"[{call.path}] {type(call.layer).__name__}{use}"

    # ------------------------------------------------------------------ forward
    def _dense_symbols(self, layer: Dense) -> tuple[str, str]:
        if id(layer) not in self.weights:  # a shared Dense keeps one W for all its uses
            k = self.dense
            weight = self.fresh(f"W{k}")
            bias = self.fresh(f"b{k}") if layer.bias is not None else ""
            self.weights[id(layer)] = (weight, bias)
            self.result.values[weight] = layer.weight.value
            self.result.parameters.append(weight)
            if layer.bias is not None:
                self.result.values[bias] = layer.bias.value
                self.result.parameters.append(bias)
        return self.weights[id(layer)]

    def forward(self, calls: list[Call]) -> None:
        last = "X"
        for index, call in enumerate(calls):
            layer, inputs = call.layer, _several(call.inputs)
            inps = [self.symbols.get(id(x), "?") for x in inputs]
            self.consumers.update(inps)
            shapes = (
                f"{', '.join(shape_of(np.asarray(x)) for x in inputs)} -> "
                f"{shape_of(np.asarray(call.outputs))}"
            )
            weight = ""
            if isinstance(layer, Dense):
                self.dense += 1
                out = self.fresh(f"Z{self.dense}")
                weight, bias = self._dense_symbols(layer)
                formula = f"{out} = {inps[0]} @ {weight}" + (f" + {bias}" if bias else "")
                shapes = (
                    f"{shape_of(np.asarray(inputs[0]))} @ {shape_of(layer.weight.value)}"
                    f" -> {shape_of(call.outputs)}"
                )
            else:
                prefix = "A" if type(layer) in ACTIVATIONS else "H"
                out = self.fresh(f"A{self.dense}" if prefix == "A" else f"H{index}")
                block = last if isinstance(layer, Residual) else ""
                formula = forward_formula(layer, out, inps, block)
            self.record("forward", self.where(call), out, formula, shapes, np.asarray(call.outputs))
            self.symbols[id(call.outputs)] = out
            self.names[id(call)] = (inps, out, weight)
            last = out

    # --------------------------------------------------------------------- loss
    def loss(self, loss: Loss, outputs: FloatArray, grad: FloatArray, check: Check) -> None:
        symbol = self.symbols.get(id(outputs), "Y_hat")
        forward_text, backward_text = loss_formulas(loss, symbol, grad)
        name = type(loss).__name__
        self.record(
            "loss",
            name,
            "L",
            forward_text,
            f"{shape_of(outputs)} -> ()",
            np.asarray(self.result.loss),
        )
        self.record(
            "backward",
            name,
            f"dL/d{symbol}",
            backward_text,
            f"{shape_of(outputs)} -> {shape_of(grad)}",
            grad,
            check=check,
        )

    # ----------------------------------------------------------------- backward
    def backward(self, calls: list[Call]) -> None:
        for call in reversed(calls):
            if call.grad_output is None:
                continue  # its output reached no loss
            checks = check_step(call)
            inps, out, weight = self.names[id(call)]
            if isinstance(call.layer, Dense):
                self._dense(call, checks, inps[0], out, weight)
                continue
            for name, value in call.param_grads.items():
                self.record(
                    "backward",
                    self.where(call),
                    f"dL/d{call.path}.{name}",
                    parameter_formula(call.layer, name, out, inps[0], inps),
                    shape_of(value),
                    value,
                    per_sample=False,
                    check=checks.get(name),
                )
            grads = _several(call.grad_input)
            for index, grad in enumerate(grads[: len(inps)]):
                if grad is None:
                    continue  # integer indices: no gradient
                key = f"inputs[{index}]" if len(grads) > 1 else "inputs"
                self._input_grad(call, inps, index, grad, checks.get(key))

    def _grad_name(self, inp: str, call: Call) -> str:
        name = f"delta{inp[1:]}" if inp.startswith("Z") else f"dL/d{inp}"
        # one share of a value that fans out; a Residual returns the whole sum itself
        if self.consumers[inp] > 1 and not isinstance(call.layer, Residual):
            name += f" (via [{call.path}])"
        return self.fresh(name) if name in self.result.values else name

    def _input_grad(
        self, call: Call, inps: list[str], index: int, grad: Any, check: Check | None
    ) -> None:
        inp, out = inps[index], self.names[id(call)][1]
        name = self._grad_name(inp, call)
        rule = backward_formula(call.layer, out, inp, inps)
        formula = (
            f"{name} = {rule}" if name.startswith("dL/d") else (f"{name} = dL/d{inp} = {rule}")
        )
        self.record(
            "backward",
            self.where(call),
            name,
            formula,
            f"{shape_of(call.grad_output)} -> {shape_of(grad)}",
            grad,
            check=check,
        )

    def _dense(self, call: Call, checks: dict[str, Check], inp: str, out: str, weight: str) -> None:
        layer = cast(Dense, call.layer)  # only Dense calls come here
        where, grad_output = self.where(call), call.grad_output
        delta = f"delta{out[1:]}"  # set by the activation after this Dense, if any
        incoming = delta if delta in self.result.values else f"dL/d{out}"
        use = f" (use {call.use})" if call.use > 1 else ""
        inputs = np.asarray(call.inputs)
        rows, columns = inp, incoming
        if inputs.ndim > 2:  # a Dense on every position of a sequence: positions are rows too
            rows = f"reshape({inp}, (-1, {inputs.shape[-1]}))"
            columns = f"reshape({incoming}, (-1, {grad_output.shape[-1]}))"
        flat = inputs.reshape(-1, inputs.shape[-1])
        self.record(
            "backward",
            where,
            f"dL/d{weight}{use}",
            f"dL/d{weight} = {rows}.T @ {columns}",
            f"{shape_of(flat.T)} @ {shape_of(grad_output.reshape(-1, grad_output.shape[-1]))}"
            f" -> {shape_of(layer.weight.value)}",
            call.param_grads["weight"],
            per_sample=False,
            check=checks.get("weight"),
        )
        if layer.bias is not None:
            bias = self.weights[id(layer)][1]
            self.record(
                "backward",
                where,
                f"dL/d{bias}{use}",
                f"dL/d{bias} = sum({incoming}, axis={_batch_axes(inputs.ndim)})",
                f"{shape_of(grad_output)} -> {shape_of(layer.bias.value)}",
                call.param_grads["bias"],
                per_sample=False,
                check=checks.get("bias"),
            )
        if call.grad_input is not None:
            name = self._grad_name(inp, call)
            self.record(
                "backward",
                where,
                name,
                f"{name} = {incoming} @ {weight}.T",
                f"{shape_of(grad_output)} @ {shape_of(layer.weight.value.T)} -> "
                f"{shape_of(call.grad_input)}",
                call.grad_input,
                check=checks.get("inputs"),
            )
