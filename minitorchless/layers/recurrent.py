"""Recurrent layers: ``RNN``, ``LSTM`` and ``GRU``, with backpropagation through time inside.

The three share one layer class, :class:`Recurrent`, and differ in their cell
(``_recurrent_cells``): the step's math and its backward. PyTorch's names,
layouts, gate orders and initialisation throughout, so that
``to_torch_state_dict`` maps them one to one onto ``torch.nn.RNN``/``LSTM``/``GRU``.

**States.** Every layer of the stack starts from an initial state, zero unless
``initial_state`` is set, and ``final_state`` holds the states after the last
step of the last forward. After ``backward``, ``initial_state_grad`` holds
dL/d(initial state). A state is an array ``(num_layers, batch, hidden_size)``
(``h``); an ``LSTM``'s is a pair ``(h, c)`` of such arrays, as in PyTorch.
Truncated backpropagation through time runs a long sequence chunk by chunk,
each starting where the previous one ended::

    lstm.initial_state = lstm.final_state   # carry the state, not its gradient

To train on the last step only, put a ``LastStep()`` after the layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from minitorchless._checks import (
    as_float_array,
    check_grad_shape,
    float_dtype,
    generator,
    positive_int,
)
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers._recurrent_cells import Cell, GRUCell, LSTMCell, RNNCell
from minitorchless.layers._recurrent_states import States, checked_states, public, starting_states
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, describe, known_rank, last_axis, single

__all__ = ["GRU", "LSTM", "RNN", "Recurrent"]


class Recurrent(Layer):
    """The recurrent layer, whatever its cell: a stack of ``num_layers`` layers run over time.

    Subclasses (``RNN``, ``LSTM``, ``GRU``) choose the cell. See the module's
    docstring for the states and ``docs/sequences.md`` for the math.
    """

    cell_type: ClassVar[type[Cell]]
    """The kind of cell: its step, forward and backward, and how many gates it stacks."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.cell = cell = self._new_cell()
        self.input_size = positive_int(name, "input_size", input_size)
        self.hidden_size = positive_int(name, "hidden_size", hidden_size)
        self.num_layers = positive_int(name, "num_layers", num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        resolved = float_dtype(name, dtype)
        rng = generator(name, rng)
        rows, bound = cell.gates * self.hidden_size, 1.0 / np.sqrt(self.hidden_size)
        for k in range(self.num_layers):
            # as PyTorch: every weight and bias from U(-1/sqrt(H), 1/sqrt(H)), in float64,
            # then rounded, so that float32 and float64 builds agree
            columns = self.input_size if k == 0 else self.hidden_size
            shapes: dict[str, tuple[int, ...]] = {
                f"weight_ih_l{k}": (rows, columns),
                f"weight_hh_l{k}": (rows, hidden_size),
            }
            if self.bias:
                shapes |= {f"bias_ih_l{k}": (rows,), f"bias_hh_l{k}": (rows,)}
            for key, shape in shapes.items():
                self.add_parameter(key, rng.uniform(-bound, bound, shape).astype(resolved))
        self._initial: States | None = None
        self.final_state: Any = None
        """The states after the last step of the last forward (see ``initial_state``)."""
        self.initial_state_grad: Any = None
        """dL/d(initial state) after the last backward, in ``initial_state``'s form."""

    def _new_cell(self) -> Cell:
        return self.cell_type()

    # ----------------------------------------------------------------- states
    @property
    def initial_state(self) -> Any:
        """The states the first step starts from; ``None`` (the default) for zeros.

        ``(num_layers, batch, hidden_size)`` for ``RNN`` and ``GRU``, a pair
        ``(h0, c0)`` of those for ``LSTM``. It stays set for later forwards
        until set to ``None``; its batch must be the inputs' batch.
        """
        return public(self._initial)

    @initial_state.setter
    def initial_state(self, value: Any) -> None:
        sizes = (self.num_layers, self.hidden_size)
        self._initial = (
            None
            if value is None
            else checked_states(self, value, self.cell.states, sizes, self._dtype())
        )

    # ---------------------------------------------------------------- compute
    def _dtype(self) -> np.dtype[Any]:
        return self._parameters["weight_ih_l0"].dtype

    def _weights(
        self, k: int
    ) -> tuple[FloatArray, FloatArray, FloatArray | None, FloatArray | None]:
        p = self._parameters
        if not self.bias:
            return p[f"weight_ih_l{k}"].value, p[f"weight_hh_l{k}"].value, None, None
        return (
            p[f"weight_ih_l{k}"].value,
            p[f"weight_hh_l{k}"].value,
            p[f"bias_ih_l{k}"].value,
            p[f"bias_hh_l{k}"].value,
        )

    def _check_inputs(self, inputs: ArrayLike) -> FloatArray:
        array = as_float_array(self, inputs)
        if array.ndim != 3 or array.shape[-1] != self.input_size:
            raise ShapeError(
                f"{self!r} expects inputs of shape {self._layout(self.input_size)}, "
                f"received shape {array.shape}"
            )
        return array.astype(self._dtype(), copy=False)  # a float32 model stays float32

    def _layout(self, features: int) -> str:
        order = "(batch, time, {})" if self.batch_first else "(time, batch, {})"
        return order.format(features) + f" (batch_first={self.batch_first})"

    def _time_major(self, array: FloatArray) -> FloatArray:
        """(N, T, F) -> (T, N, F) when batch_first, as a C-contiguous array either way."""
        return np.ascontiguousarray(array.transpose(1, 0, 2) if self.batch_first else array)

    def forward(self, inputs: ArrayLike) -> FloatArray:
        x = self._time_major(self._check_inputs(inputs))
        steps, batch, _ = x.shape
        shape = (self.num_layers, batch, self.hidden_size)
        starting = starting_states(self, self._initial, len(self.cell.states), shape, x.dtype)
        caches, finals = [], []
        layer_input = x
        for k in range(self.num_layers):
            weight_ih, weight_hh, bias_ih, bias_hh = self._weights(k)
            # the input projection of every step at once: one matrix product
            matrix, bias = self.cell.projection(weight_ih, bias_ih, bias_hh)
            xw = (layer_input.reshape(steps * batch, -1) @ matrix).reshape(steps, batch, -1)
            if bias is not None:
                xw += bias
            hs, cache = self.cell.forward(xw, tuple(s[k] for s in starting), weight_hh, bias_hh)
            caches.append((layer_input, hs, cache))
            finals.append(self.cell.final(hs, cache))
            layer_input = hs[1:]
        self.save_for_backward(caches)
        self.final_state = public(tuple(np.stack(parts) for parts in zip(*finals, strict=True)))
        outputs = layer_input.transpose(1, 0, 2) if self.batch_first else layer_input
        return np.array(outputs, order="C")  # a copy: the cache stays the layer's

    def backward(self, grad_output: FloatArray) -> FloatArray:
        return cast(FloatArray, self._backward(grad_output, need_input_grad=True))

    def backward_parameters(self, grad_output: FloatArray) -> None:
        # the first layer of a model: dL/dx is not read, skip its matrix product
        self._backward(grad_output, need_input_grad=False)

    def _backward(self, grad_output: FloatArray, *, need_input_grad: bool) -> FloatArray | None:
        caches = self.saved()
        steps, batch = caches[0][0].shape[:2]
        shape = (
            (batch, steps, self.hidden_size)
            if self.batch_first
            else (steps, batch, self.hidden_size)
        )
        grad_output = check_grad_shape(self, grad_output, shape)
        grad = self._time_major(grad_output.astype(self._dtype(), copy=False))
        grad_states: list[States] = []
        for k in range(self.num_layers - 1, -1, -1):
            layer_input, hs, cache = caches[k]
            weight_ih, weight_hh, _, _ = self._weights(k)
            d_xw, d_hw, d_initial = self.cell.backward(grad, hs, cache, weight_hh)
            grad_states.append(d_initial)
            self._parameter_grads(k, layer_input, hs, d_xw, d_hw)
            if k > 0 or need_input_grad:  # dL/dx = d_xw W_ih, for every step at once
                grad = (d_xw.reshape(steps * batch, -1) @ weight_ih).reshape(steps, batch, -1)
        self.initial_state_grad = public(
            tuple(np.stack(parts) for parts in zip(*reversed(grad_states), strict=True))
        )
        if not need_input_grad:
            return None
        return np.array(grad.transpose(1, 0, 2) if self.batch_first else grad, order="C")

    def _parameter_grads(
        self, k: int, layer_input: FloatArray, hs: FloatArray, d_xw: FloatArray, d_hw: FloatArray
    ) -> None:
        """Add dL/dW_ih, dL/dW_hh and the biases' gradients of layer ``k``: a sum over steps."""
        rows = d_xw.shape[-1]
        same = d_hw is d_xw  # RNN and LSTM: one array for both terms
        d_xw, d_hw = d_xw.reshape(-1, rows), d_hw.reshape(-1, rows)
        p = self._parameters
        weight_ih, weight_hh = p[f"weight_ih_l{k}"], p[f"weight_hh_l{k}"]
        if weight_ih.requires_grad:  # dL/dW_ih = sum_t d_xw_t^T x_t
            weight_ih.add_product(d_xw.T, layer_input.reshape(len(d_xw), -1))
        if weight_hh.requires_grad:  # dL/dW_hh = sum_t d_hw_t^T h_{t-1}
            weight_hh.add_product(d_hw.T, hs[:-1].reshape(len(d_hw), -1))
        if self.bias:
            sum_xw = d_xw.sum(axis=0)
            sum_hw = sum_xw if same else d_hw.sum(axis=0)
            for key, total in ((f"bias_ih_l{k}", sum_xw), (f"bias_hh_l{k}", sum_hw)):
                if p[key].requires_grad:
                    p[key].grad += total

    # ----------------------------------------------------------------- shapes
    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = last_axis(self, single(self, input_shape), self.input_size)
        rank = known_rank(shape)
        if rank is not None and rank != 3:
            raise ShapeError(
                f"{self!r} expects inputs of shape {self._layout(self.input_size)}, "
                f"received {describe(shape)}"
            )
        return (*shape[:-1], self.hidden_size)

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        return {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bias": self.bias,
            "batch_first": self.batch_first,
            "dtype": str(self._dtype()),
        }

    @classmethod
    def size_from_config(cls, config: Mapping[str, Any]) -> int | None:
        sizes = [config.get(key) for key in ("input_size", "hidden_size")]
        sizes.append(config.get("num_layers", 1))
        if not all(isinstance(size, int) and not isinstance(size, bool) for size in sizes):
            return None  # the constructor refuses them
        input_size, hidden, layers = (cast(int, size) for size in sizes)
        rows = cls.cell_type.gates * hidden
        per_layer_bias = 2 * rows if config.get("bias", True) else 0
        first = rows * (input_size + hidden) + per_layer_bias
        return first + (layers - 1) * (rows * 2 * hidden + per_layer_bias)

    def extra_repr(self) -> str:
        extra = "" if self.num_layers == 1 else f", num_layers={self.num_layers}"
        extra += "" if self.bias else ", bias=False"
        extra += "" if self.batch_first else ", batch_first=False"
        return f"{self.input_size}, {self.hidden_size}{extra}"


class RNN(Recurrent):
    """The Elman recurrent layer: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    As ``torch.nn.RNN``, with ``batch_first=True`` by default. ``nonlinearity="relu"``
    uses relu instead of tanh.

    Args:
        input_size: Features of each step's input.
        hidden_size: Features of the hidden state, and of each step's output.
        num_layers: Layers stacked, each reading the output sequence of the one below.
        bias: Learn ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: Inputs and outputs are ``(batch, time, features)``; if
            ``False``, ``(time, batch, features)``.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        rng: Source of randomness for the initial weights. A fresh
            ``np.random.default_rng()`` if omitted.
        dtype: The floating dtype of the parameters, the outputs and the states.

    Shape:
        - inputs: ``(batch, time, input_size)``
        - outputs: ``(batch, time, hidden_size)``: h_t of the top layer at every step
        - initial_state, final_state: ``(num_layers, batch, hidden_size)``
        - weight_ih_l0: ``(hidden_size, input_size)``; weight_ih_l{k > 0}, weight_hh_l{k}:
          ``(hidden_size, hidden_size)``; bias_ih_l{k}, bias_hh_l{k}: ``(hidden_size,)``
    """

    cell_type = RNNCell

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        nonlinearity: str = "tanh",
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNN: nonlinearity must be 'tanh' or 'relu', received {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, rng=rng, dtype=dtype
        )

    def _new_cell(self) -> Cell:
        return RNNCell(self.nonlinearity)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}

    def extra_repr(self) -> str:
        relu = ", nonlinearity='relu'" if self.nonlinearity == "relu" else ""
        return super().extra_repr() + relu


class LSTM(Recurrent):
    """Long short-term memory, as ``torch.nn.LSTM`` (``batch_first=True`` by default).

    Per step, gates in PyTorch's order (i, f, g, o) from the blocks of
    ``x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh``: i, f, o = sigmoid, g = tanh;
    c_t = f * c_{t-1} + i * g and h_t = o * tanh(c_t). The outputs are h_t of
    the top layer; the states are pairs ``(h, c)``.

    The arguments are ``RNN``'s, without ``nonlinearity``.

    Shape:
        - inputs: ``(batch, time, input_size)``
        - outputs: ``(batch, time, hidden_size)``
        - initial_state, final_state: a pair ``(h, c)``, each ``(num_layers, batch, hidden_size)``
        - weight_ih_l0: ``(4 * hidden_size, input_size)``; weight_hh_l{k}:
          ``(4 * hidden_size, hidden_size)``; bias_ih_l{k}, bias_hh_l{k}: ``(4 * hidden_size,)``
    """

    cell_type = LSTMCell


class GRU(Recurrent):
    """The gated recurrent unit, as ``torch.nn.GRU`` (``batch_first=True`` by default).

    Per step, gates in PyTorch's order (r, z, n): r, z = sigmoid of their blocks of
    ``x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh``;
    n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn)) (the reset gate
    applied after the product, as PyTorch applies it); h_t = (1 - z) * n + z * h_{t-1}.

    The arguments are ``RNN``'s, without ``nonlinearity``.

    Shape:
        - inputs: ``(batch, time, input_size)``
        - outputs: ``(batch, time, hidden_size)``
        - initial_state, final_state: ``(num_layers, batch, hidden_size)``
        - weight_ih_l0: ``(3 * hidden_size, input_size)``; weight_hh_l{k}:
          ``(3 * hidden_size, hidden_size)``; bias_ih_l{k}, bias_hh_l{k}: ``(3 * hidden_size,)``
    """

    cell_type = GRUCell
