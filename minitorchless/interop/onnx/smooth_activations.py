"""ONNX converters of GELU, SiLU, ELU and Softplus.

Opset 17 has no ``Gelu`` (it came in opset 20), and ONNX's ``Softplus`` has
neither ``beta`` nor ``threshold``, so those are composed from primitives.
onnxruntime implements ``Erf``, ``Elu`` and ``Softplus`` in float32 only: a
float64 graph composes them from operators it has in float64, so that a
float64 model exports at float64 precision. The float64 ``erfc`` is the one
``minitorchless._special`` computes, with the same coefficients, node by node.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from minitorchless._special import ERF_NEAR, ERFC_FAR, ERFC_MIDDLE, NEAR_ZERO, TAIL
from minitorchless.interop.onnx.builder import Inputs, OnnxBuilder, one, register_onnx_converter
from minitorchless.layers.smooth_activations import ELU, GELU, SiLU, Softplus

__all__: list[str] = []


class _Ops:
    """Short names for the nodes of one layer's graph: ``ops.mul(a, b)``, ``ops.const(0.5)``."""

    def __init__(self, builder: OnnxBuilder, path: str) -> None:
        self.builder, self.path = builder, path

    def const(self, value: float) -> str:
        return self.builder.constant(np.asarray(value, dtype=self.builder.dtype), self.path)

    def op(self, op_type: str, *operands: str) -> str:
        return self.builder.node(op_type, list(operands), self.path)

    def mul(self, a: str, b: str) -> str:
        return self.op("Mul", a, b)

    def add(self, a: str, b: str) -> str:
        return self.op("Add", a, b)

    def clip(self, x: str, low: float, high: float) -> str:
        # each branch of a Where runs on every element: clipping keeps them finite
        return self.op("Max", self.op("Min", x, self.const(high)), self.const(low))

    def rational(self, pair: tuple[Sequence[float], Sequence[float]], t: str) -> str:
        return self.op("Div", self.horner(pair[0], t), self.horner(pair[1], t))

    def horner(self, coefficients: Sequence[float], t: str) -> str:
        result = self.const(coefficients[0])
        for coefficient in coefficients[1:]:
            result = self.add(self.mul(result, t), self.const(coefficient))
        return result

    def exp_minus_square(self, y: str) -> str:
        """``exp(-y^2)`` with ``y^2`` split as ``minitorchless._special`` splits it."""
        sixteen = self.const(16.0)
        head = self.op("Div", self.op("Floor", self.mul(y, sixteen)), sixteen)
        rest = self.mul(self.op("Sub", y, head), self.add(y, head))
        head_term = self.op("Exp", self.op("Neg", self.mul(head, head)))
        return self.mul(head_term, self.op("Exp", self.op("Neg", rest)))


def _erfc(ops: _Ops, u: str) -> str:
    """``erfc(u)``, by Cody's three rational approximations, as ``_special.erfc``."""
    size = ops.op("Abs", u)
    near_u = ops.clip(u, -NEAR_ZERO, NEAR_ZERO)
    near = ops.op(
        "Sub", ops.const(1.0), ops.mul(near_u, ops.rational(ERF_NEAR, ops.mul(near_u, near_u)))
    )
    middle_y = ops.clip(size, NEAR_ZERO, TAIL)
    middle = ops.mul(ops.rational(ERFC_MIDDLE, middle_y), ops.exp_minus_square(middle_y))
    far_y = ops.clip(size, TAIL, 40.0)
    z = ops.op("Reciprocal", ops.mul(far_y, far_y))
    series = ops.op("Sub", ops.const(1 / math.sqrt(math.pi)), ops.mul(z, ops.rational(ERFC_FAR, z)))
    far = ops.mul(ops.op("Div", series, far_y), ops.exp_minus_square(far_y))
    away = ops.op("Where", ops.op("Greater", size, ops.const(TAIL)), far, middle)
    signed = ops.op(
        "Where", ops.op("Less", u, ops.const(0.0)), ops.op("Sub", ops.const(2.0), away), away
    )
    return ops.op("Where", ops.op("LessOrEqual", size, ops.const(NEAR_ZERO)), near, signed)


@register_onnx_converter(GELU)
def _gelu(builder: OnnxBuilder, layer: GELU, inputs: Inputs, path: str) -> str:
    x, ops = one(inputs, layer), _Ops(builder, path)
    half_x = ops.mul(x, ops.const(0.5))
    if layer.approximate == "tanh":
        # x / 2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cubic = ops.mul(ops.mul(ops.mul(x, x), x), ops.const(0.044715))
        inner = ops.mul(ops.add(x, cubic), ops.const(math.sqrt(2 / math.pi)))
        return ops.mul(half_x, ops.add(ops.const(1.0), ops.op("Tanh", inner)))
    if builder.dtype == np.float32:  # x / 2 (1 + erf(x / sqrt 2))
        erf = ops.op("Erf", ops.mul(x, ops.const(math.sqrt(0.5))))
        return ops.mul(half_x, ops.add(ops.const(1.0), erf))
    # x / 2 erfc(-x / sqrt 2), which keeps its precision for very negative x
    return ops.mul(half_x, _erfc(ops, ops.mul(x, ops.const(-math.sqrt(0.5)))))


@register_onnx_converter(SiLU)
def _silu(builder: OnnxBuilder, layer: SiLU, inputs: Inputs, path: str) -> str:
    x = one(inputs, layer)
    return builder.node("Mul", [x, builder.node("Sigmoid", [x], path)], path)  # x sigmoid(x)


@register_onnx_converter(ELU)
def _elu(builder: OnnxBuilder, layer: ELU, inputs: Inputs, path: str) -> str:
    x, ops = one(inputs, layer), _Ops(builder, path)
    if builder.dtype == np.float32:
        return builder.node("Elu", [x], path, alpha=layer.alpha)
    # Elu's alpha is a float32 attribute: a float64 alpha would be rounded
    negative = ops.op("Sub", ops.op("Exp", ops.op("Min", x, ops.const(0.0))), ops.const(1.0))
    scaled = ops.mul(negative, ops.const(layer.alpha))
    return ops.op("Where", ops.op("Greater", x, ops.const(0.0)), x, scaled)


@register_onnx_converter(Softplus)
def _softplus(builder: OnnxBuilder, layer: Softplus, inputs: Inputs, path: str) -> str:
    x, ops = one(inputs, layer), _Ops(builder, path)
    scaled = ops.mul(x, ops.const(layer.beta))
    # the linear region's values never reach the log, so nothing overflows
    bounded = ops.op("Min", scaled, ops.const(layer.threshold))
    if builder.dtype == np.float32:
        smooth = ops.op("Softplus", bounded)
    else:  # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|), in float64 operators
        tail = ops.op("Exp", ops.op("Neg", ops.op("Abs", bounded)))
        smooth = ops.add(ops.op("Relu", bounded), ops.op("Log", ops.add(ops.const(1.0), tail)))
    curve = ops.op("Div", smooth, ops.const(layer.beta))
    return ops.op("Where", ops.op("Greater", scaled, ops.const(layer.threshold)), x, curve)
