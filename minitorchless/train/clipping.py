"""Gradient-norm clipping for ``fit(..., clip_grad_norm=...)``, as ``torch.nn.utils`` clips.

The total norm is the 2-norm of all gradients together (the norm of the
per-parameter norms). When it exceeds ``max_norm`` every gradient is scaled
by ``max_norm / (total_norm + 1e-6)``, PyTorch's coefficient, in place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from minitorchless.parameter import Parameter

__all__ = ["clip_gradients_by_norm"]


def clip_gradients_by_norm(parameters: Sequence[Parameter], max_norm: float) -> float:
    """Scale the gradients so that their total 2-norm is at most ``max_norm``; return it before."""
    grads = [parameter.grad for parameter in parameters]
    total = math.sqrt(sum(float(np.vdot(grad, grad)) for grad in grads))
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1:  # torch multiplies by min(coefficient, 1): 1 changes nothing
        for grad in grads:
            grad *= grad.dtype.type(coefficient)
    return total
