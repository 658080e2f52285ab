"""The time loops of ``RNN``, ``LSTM`` and ``GRU``: one cell's forward and backward through time.

Each cell works time-major on one layer of a stack. The layer computes the
input projection of every time step at once, ``xw = x W_ih^T + b_ih`` of shape
``(T, N, gates * H)``, and hands it over; a cell adds the recurrent term
``h_{t-1} W_hh^T`` step by step (the one Python loop), and keeps what backward
needs. Its backward walks the steps in reverse (backpropagation through time)
and returns, per step, the gradients of the two pre-activations:

- ``d_xw``: dL/d(x W_ih^T + b_ih), from which the layer gets dL/dW_ih, dL/db_ih
  and dL/dx with one matrix product each;
- ``d_hw``: dL/d(h_{t-1} W_hh^T + b_hh), from which it gets dL/dW_hh and dL/db_hh.

For ``RNN`` and ``LSTM`` the two are the same array (the terms are summed);
``GRU`` multiplies its candidate's recurrent term by the reset gate, so they
differ there. The states are tuples: ``(h,)``, or ``(h, c)`` for ``LSTM``.

The arrays are updated in place wherever a temporary would only be copied
again: these loops are where a recurrent network spends its time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from minitorchless._types import FloatArray
from minitorchless.layers._recurrent_states import States

__all__ = ["CELLS", "Cell", "GRUCell", "LSTMCell", "RNNCell"]


def _sigmoid_(a: FloatArray) -> FloatArray:
    """sigmoid(a), in place: 1 / (1 + exp(-a)) = (1 + tanh(a / 2)) / 2, which never overflows."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _activation_rows(kinds: str, hidden: int, dtype: Any) -> tuple[FloatArray, FloatArray]:
    """Per gate column, the ``scale`` and ``shift`` that make one ``tanh`` serve every gate.

    ``kinds`` has one letter per gate, ``s`` (sigmoid) or ``t`` (tanh). With
    sigmoid(a) = tanh(a / 2) / 2 + 1 / 2, a whole row of gates is
    ``scale * tanh(scale * a) + shift``: scale 1/2 and shift 1/2 for a sigmoid,
    1 and 0 for a tanh. Halving is exact in binary floating point, so this is
    the same number as each activation computed on its own block, in three
    calls over the whole row instead of a dozen over its blocks.
    """
    scale = np.repeat([0.5 if kind == "s" else 1.0 for kind in kinds], hidden).astype(dtype)
    shift = np.repeat([0.5 if kind == "s" else 0.0 for kind in kinds], hidden).astype(dtype)
    return scale, shift


def _activation_grads(activations: FloatArray, kinds: str, hidden: int) -> FloatArray:
    """The activations' derivatives from their outputs y, for every step at once.

    sigmoid' = y (1 - y) and tanh' = 1 - y^2 = (1 - y)(1 + y): both are
    ``(1 - y)(y + q)``, with q = 0 for a sigmoid and 1 for a tanh.
    """
    q = np.repeat([0.0 if kind == "s" else 1.0 for kind in kinds], hidden)
    grads: FloatArray = 1 - activations
    grads *= activations + q.astype(activations.dtype)
    return grads


class Cell(ABC):
    """What a recurrent layer needs from its kind of cell.

    Attributes:
        gates: How many blocks of ``hidden_size`` rows ``W_ih`` and ``W_hh`` stack.
        states: The names of the states carried from step to step.
    """

    gates: int = 1
    states: tuple[str, ...] = ("h",)

    def projection(
        self, weight_ih: FloatArray, bias_ih: FloatArray | None, bias_hh: FloatArray | None
    ) -> tuple[FloatArray, FloatArray | None]:
        """The matrix and the bias of the input projection: ``xw = x @ matrix + bias``.

        By default ``W_ih^T`` and ``b_ih + b_hh``: the recurrent bias does not
        depend on the step, so it joins the projection, added in one pass.
        """
        return weight_ih.T, None if bias_ih is None or bias_hh is None else bias_ih + bias_hh

    @abstractmethod
    def forward(
        self, xw: FloatArray, initial: States, weight_hh: FloatArray, bias_hh: FloatArray | None
    ) -> tuple[FloatArray, Any]:
        """Run the steps; return ``hs`` ``(T + 1, N, H)`` (``hs[0]`` is h0) and the cache."""

    def final(self, hs: FloatArray, cache: Any) -> States:
        """The states after the last step."""
        return (hs[-1],)

    @abstractmethod
    def backward(
        self, grad_hs: FloatArray, hs: FloatArray, cache: Any, weight_hh: FloatArray
    ) -> tuple[FloatArray, FloatArray, States]:
        """Backpropagate through time; return ``d_xw``, ``d_hw`` and dL/d(initial states).

        ``grad_hs`` is dL/dh_t for every step ``(T, N, H)``, from the layer above.
        """


class RNNCell(Cell):
    """h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), or relu instead of tanh."""

    def __init__(self, nonlinearity: str = "tanh") -> None:
        self.nonlinearity = nonlinearity

    def forward(
        self, xw: FloatArray, initial: States, weight_hh: FloatArray, bias_hh: FloatArray | None
    ) -> tuple[FloatArray, Any]:
        steps, batch, hidden = xw.shape
        hs = np.empty((steps + 1, batch, hidden), dtype=xw.dtype)
        hs[0] = initial[0]
        recurrent = weight_hh.T
        for t in range(steps):
            h = hs[t + 1]
            np.matmul(hs[t], recurrent, out=h)
            h += xw[t]  # the pre-activation a_t, then h_t in the same memory
            if self.nonlinearity == "tanh":
                np.tanh(h, out=h)
            else:
                np.maximum(h, 0, out=h)
        return hs, None

    def backward(
        self, grad_hs: FloatArray, hs: FloatArray, cache: Any, weight_hh: FloatArray
    ) -> tuple[FloatArray, FloatArray, States]:
        d_pre = np.empty_like(grad_hs)
        if self.nonlinearity == "tanh":  # tanh'(a_t) = 1 - h_t^2, every step at once
            grads = _activation_grads(hs[1:], "t", hs.shape[-1])
        else:  # relu'(a_t) = 1 where h_t > 0
            grads = (hs[1:] > 0).astype(hs.dtype)
        dh = np.zeros_like(hs[0])  # dL/dh_T from later steps: none
        for t in range(len(grad_hs) - 1, -1, -1):
            dh += grad_hs[t]  # h_t feeds the output and the next step
            np.multiply(dh, grads[t], out=d_pre[t])  # dL/da_t = dL/dh_t * g'(a_t)
            dh = d_pre[t] @ weight_hh  # dL/dh_{t-1} = dL/da_t W_hh
        return d_pre, d_pre, (dh,)


class LSTMCell(Cell):
    """The LSTM step, gates in PyTorch's order i, f, g, o.

    i, f, o = sigmoid(.), g = tanh(.) of the four blocks of
    ``x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh``;
    c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t).
    """

    gates = 4
    states = ("h", "c")
    kinds = "ssts"  # i, f, g, o: sigmoid, sigmoid, tanh, sigmoid

    def projection(
        self, weight_ih: FloatArray, bias_ih: FloatArray | None, bias_hh: FloatArray | None
    ) -> tuple[FloatArray, FloatArray | None]:
        # the sigmoid gates' blocks halved, for the one tanh of forward (exact: a power of 2)
        scale = _activation_rows(self.kinds, len(weight_ih) // 4, weight_ih.dtype)[0]
        matrix, bias = super().projection(weight_ih, bias_ih, bias_hh)
        return matrix * scale, None if bias is None else bias * scale

    def forward(
        self, xw: FloatArray, initial: States, weight_hh: FloatArray, bias_hh: FloatArray | None
    ) -> tuple[FloatArray, Any]:
        steps, batch, four_hidden = xw.shape
        hidden = four_hidden // 4
        hs = np.empty((steps + 1, batch, hidden), dtype=xw.dtype)
        cs = np.empty_like(hs)
        tanh_cs = np.empty_like(hs[1:])
        hs[0], cs[0] = initial
        scale, shift = _activation_rows(self.kinds, hidden, xw.dtype)
        recurrent = weight_hh.T * scale  # as the projection, pre-scaled for the one tanh
        gates = xw  # each step's pre-activations become its gates, in place
        product = np.empty((batch, four_hidden), dtype=xw.dtype)
        for t in range(steps):
            a = gates[t]
            np.matmul(hs[t], recurrent, out=product)
            a += product
            np.tanh(a, out=a)
            a *= scale
            a += shift  # i, f, o = sigmoid, g = tanh of the pre-activations
            i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
            c = cs[t + 1]
            np.multiply(f, cs[t], out=c)
            c += i * g  # c_t = f * c_{t-1} + i * g
            np.tanh(c, out=tanh_cs[t])
            np.multiply(o, tanh_cs[t], out=hs[t + 1])  # h_t = o * tanh(c_t)
        return hs, (gates, cs, tanh_cs)

    def final(self, hs: FloatArray, cache: Any) -> States:
        return hs[-1], cache[1][-1]

    def backward(
        self, grad_hs: FloatArray, hs: FloatArray, cache: Any, weight_hh: FloatArray
    ) -> tuple[FloatArray, FloatArray, States]:
        gates, cs, tanh_cs = cache
        hidden = hs.shape[-1]
        d_gates = np.empty_like(gates)
        activation_grads = _activation_grads(gates, self.kinds, hidden)
        tanh_c_grads = _activation_grads(tanh_cs, "t", hidden)  # 1 - tanh(c_t)^2
        dh = np.zeros_like(hs[0])
        dc = np.zeros_like(hs[0])  # dL/dc_t from later steps
        for t in range(len(grad_hs) - 1, -1, -1):
            dh += grad_hs[t]
            a, da = gates[t], d_gates[t]
            i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
            di, df, dg, do = (da[:, k * hidden : (k + 1) * hidden] for k in range(4))
            # h_t = o * tanh(c_t): dL/do = dh * tanh(c_t), dL/dc_t += dh * o * (1 - tanh(c_t)^2)
            np.multiply(dh, tanh_cs[t], out=do)
            dh *= o
            dh *= tanh_c_grads[t]
            dc += dh
            # c_t = f * c_{t-1} + i * g: dL/di = dc g, dL/df = dc c_{t-1}, dL/dg = dc i
            np.multiply(dc, g, out=di)
            np.multiply(dc, cs[t], out=df)
            np.multiply(dc, i, out=dg)
            dc *= f  # dL/dc_{t-1}
            da *= activation_grads[t]  # through the activations, to the pre-activations
            dh = da @ weight_hh  # dL/dh_{t-1}
        return d_gates, d_gates, (dh, dc)


class GRUCell(Cell):
    """The GRU step, gates in PyTorch's order r, z, n.

    r, z = sigmoid(.) of their blocks of ``x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh``;
    n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn));
    h_t = (1 - z) * n + z * h_{t-1}.
    """

    gates = 3
    kinds = "sst"  # r, z, n: sigmoid, sigmoid, tanh

    def projection(
        self, weight_ih: FloatArray, bias_ih: FloatArray | None, bias_hh: FloatArray | None
    ) -> tuple[FloatArray, FloatArray | None]:
        if bias_ih is None or bias_hh is None:
            return weight_ih.T, None
        bias = bias_ih.copy()
        bias[: 2 * (len(bias) // 3)] += bias_hh[: 2 * (len(bias) // 3)]  # b_hn stays in r * (.)
        return weight_ih.T, bias

    def forward(
        self, xw: FloatArray, initial: States, weight_hh: FloatArray, bias_hh: FloatArray | None
    ) -> tuple[FloatArray, Any]:
        steps, batch, three_hidden = xw.shape
        hidden = three_hidden // 3
        hs = np.empty((steps + 1, batch, hidden), dtype=xw.dtype)
        hns = np.empty_like(hs[1:])  # h_{t-1} W_hn^T + b_hn, which dL/dr needs
        hs[0] = initial[0]
        recurrent = weight_hh.T
        gates = xw
        for t in range(steps):
            a, hn = gates[t], hns[t]
            hw = hs[t] @ recurrent
            rz = a[:, : 2 * hidden]
            rz += hw[:, : 2 * hidden]
            _sigmoid_(rz)
            r, z, n = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
            np.add(hw[:, 2 * hidden :], 0 if bias_hh is None else bias_hh[2 * hidden :], out=hn)
            n += r * hn
            np.tanh(n, out=n)
            h = hs[t + 1]
            np.subtract(hs[t], n, out=h)
            h *= z
            h += n  # h_t = n + z * (h_{t-1} - n) = (1 - z) * n + z * h_{t-1}
        return hs, (gates, hns)

    def backward(
        self, grad_hs: FloatArray, hs: FloatArray, cache: Any, weight_hh: FloatArray
    ) -> tuple[FloatArray, FloatArray, States]:
        gates, hns = cache
        hidden = hs.shape[-1]
        d_xw = np.empty_like(gates)
        d_hw = np.empty_like(gates)
        grads = _activation_grads(gates, self.kinds, hidden)  # sigmoid' of r, z; tanh' of n
        dh = np.zeros_like(hs[0])
        for t in range(len(grad_hs) - 1, -1, -1):
            dh += grad_hs[t]
            a, dx, dw = gates[t], d_xw[t], d_hw[t]
            r, z, n = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
            dr, dz, dn = dx[:, :hidden], dx[:, hidden : 2 * hidden], dx[:, 2 * hidden :]
            # h_t = (1 - z) * n + z * h_{t-1}: dL/dz = dh (h_{t-1} - n), dL/dn = dh (1 - z)
            np.subtract(hs[t], n, out=dz)
            dz *= dh
            np.multiply(dh, z, out=dn)
            np.subtract(dh, dn, out=dn)
            dn *= grads[t, :, 2 * hidden :]  # dL/d(pre-activation of n)
            # n's pre-activation holds r * hn: dL/dr = dn * hn, dL/dhn = dn * r
            np.multiply(dn, hns[t], out=dr)
            np.multiply(dn, r, out=dw[:, 2 * hidden :])
            dx[:, : 2 * hidden] *= grads[t, :, : 2 * hidden]  # to r's and z's pre-activations
            dw[:, : 2 * hidden] = dx[:, : 2 * hidden]  # r and z sum both terms
            dh *= z  # the direct path z * h_{t-1}
            dh += dw @ weight_hh  # and the path through W_hh
        return d_xw, d_hw, (dh,)


CELLS: dict[str, type[Cell]] = {"RNN": RNNCell, "LSTM": LSTMCell, "GRU": GRUCell}
