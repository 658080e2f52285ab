"""The smooth activations of modern networks: ``GELU``, ``SiLU``, ``ELU`` and ``Softplus``.

Each is defined exactly as its ``torch.nn`` namesake, and its gradient is
checked against PyTorch's in float64. ``ELU``'s derivative follows from its
output (``a + alpha`` where the input is negative), so it is an ``Activation``
and keeps only its output. The derivatives of ``GELU``, ``SiLU`` and
``Softplus`` need the input itself: they derive from :class:`InputActivation`,
which keeps the input and whatever else the forward computed that the
derivative reuses (GELU's ``Phi(x)``, SiLU's ``sigmoid(x)``).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._checks import as_float_array, check_grad_shape, positive_float
from minitorchless._special import erfc
from minitorchless._types import FloatArray
from minitorchless.layers.activations import Activation, Sigmoid
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, single

__all__ = ["ELU", "GELU", "InputActivation", "SiLU", "Softplus"]

_SIGMOID = Sigmoid()  # its overflow-free sigmoid, a pure function of its argument
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_KAPPA = 0.044715  # the cubic coefficient of GELU's tanh approximation
_TANH_FLAT = 1e3  # tanh(sqrt(2/pi) (x + 0.044715 x^3)) is exactly +-1 well before |x| = 1000


class InputActivation(Layer):
    """Base for element-wise activations whose derivative needs the input, not just the output.

    Subclasses implement ``evaluate(inputs) -> (outputs, extras)``, where
    ``extras`` is a tuple of arrays the derivative reuses, and
    ``slope(inputs, extras)``, the derivative at ``inputs`` as a new array.
    The base keeps ``(inputs, extras)`` for backward and applies the chain
    rule. Any input shape is accepted; the output has the same shape and dtype.
    """

    @abstractmethod
    def evaluate(self, inputs: FloatArray) -> tuple[FloatArray, tuple[FloatArray, ...]]:
        """The activation at ``inputs`` (a new array), and what ``slope`` will reuse."""

    @abstractmethod
    def slope(self, inputs: FloatArray, extras: tuple[FloatArray, ...]) -> FloatArray:
        """The derivative at ``inputs``, as a new array."""

    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = as_float_array(self, inputs)
        outputs, extras = self.evaluate(inputs)
        self.save_for_backward(inputs, extras)
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        inputs, extras = self.saved()
        grad_output = check_grad_shape(self, grad_output, inputs.shape)
        grad_input = self.slope(inputs, extras)
        grad_input *= grad_output  # chain rule: dL/dx = dL/da * g'(x)
        return grad_input

    def backward_parameters(self, grad_output: FloatArray) -> None:
        # no parameters, and the input gradient is not wanted: only check the call
        inputs, _ = self.saved()
        check_grad_shape(self, grad_output, inputs.shape)

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        return single(self, input_shape)  # element-wise: the shape is kept


class GELU(InputActivation):
    """The Gaussian error linear unit, ``x * Phi(x)``, as ``torch.nn.GELU``.

    ``Phi`` is the standard normal CDF, ``Phi(x) = (1 + erf(x / sqrt(2))) / 2``.
    It is computed here as ``erfc(-x / sqrt(2)) / 2``, which keeps its relative
    accuracy for very negative ``x``, where ``1 + erf`` would cancel.
    ``approximate="tanh"`` uses PyTorch's tanh approximation instead:
    ``x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))``.

    Args:
        approximate: ``"none"`` (exact, the default) or ``"tanh"``.

    Shape:
        - inputs: any shape
        - outputs: same shape as inputs
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(
                f"GELU: approximate must be 'none' or 'tanh', received {approximate!r}"
            )
        self.approximate = approximate

    def evaluate(self, inputs: FloatArray) -> tuple[FloatArray, tuple[FloatArray, ...]]:
        dtype = inputs.dtype.type
        if self.approximate == "none":
            cdf = erfc(inputs * dtype(-_SQRT_HALF))
            cdf *= dtype(0.5)  # Phi(x) = erfc(-x / sqrt 2) / 2
            return inputs * cdf, (cdf,)
        bounded = np.clip(inputs, -_TANH_FLAT, _TANH_FLAT)  # no overflow in x^3
        inner = bounded * bounded
        inner *= dtype(_KAPPA)
        inner += 1
        inner *= bounded
        inner *= dtype(_SQRT_2_OVER_PI)  # sqrt(2/pi) (x + 0.044715 x^3)
        t = np.tanh(inner, out=inner)
        outputs = t + 1
        outputs *= dtype(0.5)
        outputs *= inputs  # last: (1 + t) x could overflow where (1 + t) / 2 x does not
        return outputs, (bounded, t)

    def slope(self, inputs: FloatArray, extras: tuple[FloatArray, ...]) -> FloatArray:
        dtype = inputs.dtype.type
        if self.approximate == "none":
            (cdf,) = extras
            # d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
            with np.errstate(over="ignore"):  # x^2 of a huge x: its exp is then 0
                pdf = inputs * inputs
            pdf *= dtype(-0.5)
            np.exp(pdf, out=pdf)
            pdf *= inputs
            pdf *= dtype(_INV_SQRT_2PI)
            pdf += cdf
            return pdf
        bounded, t = extras
        # d/dx of x (1 + t) / 2: (1 + t) / 2 + x / 2 (1 - t^2) sqrt(2/pi) (1 + 3 kappa x^2);
        # beyond the bound t^2 is exactly 1, and the second term exactly 0
        slope = bounded * bounded
        slope *= dtype(3 * _KAPPA)
        slope += 1
        slope *= dtype(0.5 * _SQRT_2_OVER_PI)
        slope *= bounded
        slope *= 1 - t * t
        slope += dtype(0.5) * (1 + t)
        return slope

    def get_config(self) -> dict[str, Any]:
        return {"approximate": self.approximate}

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(InputActivation):
    """The sigmoid linear unit (swish), ``x * sigmoid(x)``, as ``torch.nn.SiLU``.

    Shape:
        - inputs: any shape
        - outputs: same shape as inputs
    """

    def evaluate(self, inputs: FloatArray) -> tuple[FloatArray, tuple[FloatArray, ...]]:
        s = _SIGMOID.function(inputs)
        return inputs * s, (s,)

    def slope(self, inputs: FloatArray, extras: tuple[FloatArray, ...]) -> FloatArray:
        (s,) = extras
        # d/dx x s(x) = s + x s (1 - s) = s (1 + x (1 - s))
        slope: FloatArray = 1 - s
        slope *= inputs
        slope += 1
        slope *= s
        return slope


class Softplus(InputActivation):
    """``log(1 + exp(beta x)) / beta``, a smooth ReLU, as ``torch.nn.Softplus``.

    Where ``beta x > threshold`` the output is ``x`` itself and the slope 1,
    as in PyTorch: there ``log(1 + exp(beta x)) / beta`` differs from ``x`` by
    less than ``exp(-threshold) / beta``. Elsewhere the log is computed without
    overflow, and the slope is ``sigmoid(beta x)``.

    Args:
        beta: The sharpness, > 0: larger values bend closer to ReLU.
        threshold: Above ``beta x = threshold`` the function is linear.

    Shape:
        - inputs: any shape
        - outputs: same shape as inputs
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = positive_float("Softplus", "beta", beta)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
            raise TypeError(f"Softplus: threshold must be a number, received {threshold!r}")
        self.threshold: float = float(threshold)
        if not math.isfinite(self.threshold):
            raise ValueError(f"Softplus: threshold must be finite, received {threshold!r}")

    def evaluate(self, inputs: FloatArray) -> tuple[FloatArray, tuple[FloatArray, ...]]:
        dtype = inputs.dtype.type
        with np.errstate(over="ignore"):  # an infinite beta x is in the linear region
            scaled = inputs * dtype(self.beta)
        outputs = np.logaddexp(0, scaled)  # log(1 + e^z) without overflow for any z
        outputs /= dtype(self.beta)
        linear = scaled > self.threshold
        outputs[linear] = inputs[linear]
        return outputs, ()

    def slope(self, inputs: FloatArray, extras: tuple[FloatArray, ...]) -> FloatArray:
        with np.errstate(over="ignore"):
            scaled = inputs * inputs.dtype.type(self.beta)
        slope = _SIGMOID.function(scaled)  # d/dx log(1 + e^(beta x)) / beta = sigmoid(beta x)
        slope[scaled > self.threshold] = 1
        return slope

    def get_config(self) -> dict[str, Any]:
        return {"beta": self.beta, "threshold": self.threshold}

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class ELU(Activation):
    """The exponential linear unit, ``x`` where ``x > 0`` else ``alpha (e^x - 1)``, as ``nn.ELU``.

    The derivative is 1 for ``x > 0`` and ``alpha e^x = a + alpha`` elsewhere,
    written with the output ``a``, so the layer keeps only its output. At
    exactly 0 it is ``alpha``, as PyTorch takes it.

    Args:
        alpha: The value the output tends to for very negative inputs is
            ``-alpha``; >= 0. (A negative alpha would make the output positive
            for negative inputs, and backward reads the derivative from the
            output's sign.)

    Shape:
        - inputs: any shape
        - outputs: same shape as inputs
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = positive_float("ELU", "alpha", alpha, allow_zero=True)

    def function(self, inputs: FloatArray) -> FloatArray:
        outputs = np.minimum(inputs, 0)  # expm1 of the positive inputs is never needed
        np.expm1(outputs, out=outputs)
        outputs *= inputs.dtype.type(self.alpha)
        np.copyto(outputs, inputs, where=inputs > 0)
        return outputs

    def derivative(self, outputs: FloatArray) -> FloatArray:
        derivative: FloatArray = outputs + outputs.dtype.type(self.alpha)  # alpha e^x = a + alpha
        derivative[outputs > 0] = 1
        return derivative

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"
