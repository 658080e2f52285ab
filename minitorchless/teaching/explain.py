"""``explain``: one batch through a model, step by step, each delta checked on the spot.

``explain(model, X, y, loss)`` runs one forward and one backward pass on a copy
of the model and writes down every step: the formula each layer applies, the
shapes that go in and come out, and the first rows of the result. The numbers
are the ones the layers really compute, so a learner can redo any step by hand
(or in NumPy) and compare. Every gradient it prints is also checked there and
then against finite differences of that step alone, and the check says so.

It follows the data through any model: the layers of a ``Sequential``, the
nodes of a ``Graph``, the block and the sum of a ``Residual``, the branches and
the merge of a ``Parallel``, and each use of a shared layer. Every layer of the
library has its formulas (``formulas``, and ``deep_formulas`` for convolution,
the recurrent layers, written for one step ``t`` of their loop over time, and
attention); a formula longer than a line goes on, indented, below it.

The notation is the tutorial's, with samples as rows. The input is ``X``. The
k-th ``Dense`` computes ``Zk = A(k-1) @ Wk`` (with ``A0 = X``), the activation
after it ``Ak = g(Zk)``, and backward names ``deltak = dL/dZk``; other steps'
outputs are ``H1``, ``H2``...
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from minitorchless.layers.base import Layer
from minitorchless.losses import Loss
from minitorchless.teaching.explanation import Explanation, Phase, Step
from minitorchless.teaching.recorder import Recorder
from minitorchless.teaching.steps import StepWriter
from minitorchless.teaching.text import render
from minitorchless.teaching.verify import check_loss

__all__ = ["Explanation", "Phase", "Step", "explain"]


def _check_arguments(model: Any, loss: Any, rows: int) -> None:
    if not isinstance(model, Layer):
        raise TypeError(f"explain: model must be a Layer, received {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(
            f"explain: loss must be a Loss such as MSELoss(), received {type(loss).__name__}"
        )
    if rows < 1:
        raise ValueError(f"explain: rows must be >= 1, received {rows}")


def _as_inputs(X: Any) -> Any:
    """The batch in float64 (integer indices stay integers), one array or a tuple."""
    if isinstance(X, (list, tuple)):
        return tuple(_as_inputs(x) for x in X)
    array = np.asarray(X)
    return array.astype(np.float64) if array.dtype.kind == "f" else array


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
    of the result, and each gradient says how it fared against finite
    differences of its step, e.g.::

        [0] Dense    Z1 = X @ W1                               (6, 5) @ (5, 4) -> (6, 4)
        [1] Sigmoid  delta1 = dL/dZ1 = dL/dA1 * A1 * (1 - A1)  (6, 4) -> (6, 4)
                     delta1 = [[...]]
                     checked: agrees with finite differences (largest difference 2.1e-11, ...)

    The passes run in float64 on a deep copy: the model's weights, gradients
    and caches are left exactly as they were.

    Args:
        model: A small network: a ``Sequential``, a ``Graph``, any layer.
        X: One batch of inputs (a tuple of batches for several inputs). Keep it
            small (a few rows): every step prints its values.
        y: The targets for the batch, as ``loss`` expects them.
        loss: The loss function, e.g. ``MSELoss()``.
        rows: How many rows of each batch-sized result to show.
        precision: Digits shown after the decimal point.
        print_fn: Where the text goes, line by line; ``None`` prints nothing.

    Returns:
        An ``Explanation``: the steps, the loss, every result by symbol
        (``explanation["delta1"]``), the printed text, and whether every
        check passed.

    Raises:
        TypeError: ``model`` is not a Layer or ``loss`` is not a Loss.
        ValueError: the model has several outputs (a loss takes one).
    """
    _check_arguments(model, loss, rows)
    work = copy.deepcopy(model).to(np.float64)  # the user's model keeps everything it had
    work.zero_grad()
    recorder = Recorder(work)
    inputs = _as_inputs(X)
    outputs = work(inputs)
    if isinstance(outputs, tuple):
        raise ValueError(
            f"explain: the model returns {len(outputs)} outputs; explain follows "
            f"one loss on one output"
        )
    loss = copy.deepcopy(loss)
    value = loss(outputs, y)
    grad = loss.backward()
    work.backward(grad)

    result = Explanation(loss=value, rows=rows, precision=precision)
    writer = StepWriter(result, inputs)
    writer.forward(recorder.calls)
    writer.loss(loss, outputs, grad, check_loss(loss, outputs, y, grad))
    writer.backward(recorder.calls)
    result.verified = all(step.passed for step in result.steps)
    result.text = render(result, rows, precision)
    if print_fn is not None:
        for line in result.text.splitlines():
            print_fn(line)
    return result
