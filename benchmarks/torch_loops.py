"""PyTorch CPU contenders: the same networks, weights and loops, on torch tensors.

The loops are the idiomatic ones (``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()``) and read the loss back as a Python float every step, as
the minitorchless loop does. The data is wrapped with ``torch.from_numpy``
(no copy), and shuffled mini-batches are gathered with ``index_select`` from one
``randperm`` per epoch, which is what ``DataLoader`` does without its
per-sample Python overhead: this is PyTorch at its fastest for in-memory data.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["available", "build_mlp", "full_batch_loop", "minibatch_epoch"]

Array = NDArray[Any]


def available() -> bool:
    """Whether PyTorch is installed (found without importing it)."""
    return importlib.util.find_spec("torch") is not None


def build_mlp(sizes: list[int], activation: str, weights: list[Array], *, bias: bool) -> Any:
    """``Linear, activation, ..., Linear`` (+ a final sigmoid for sigmoid nets) with ``weights``.

    ``weights`` are in minitorchless's ``(in, out)`` layout; ``nn.Linear`` holds
    the transpose. The dtype is the weights' dtype.
    """
    import torch

    make: dict[str, Callable[[], Any]] = {
        "sigmoid": torch.nn.Sigmoid,
        "relu": torch.nn.ReLU,
    }
    layers: list[Any] = []
    values = iter(weights)
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        weight = next(values)
        linear = torch.nn.Linear(fan_in, fan_out, bias=bias, dtype=torch.from_numpy(weight).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight.T)))
            if bias:
                linear.bias.copy_(torch.from_numpy(next(values)))
        layers.append(linear)
        if index < len(sizes) - 2 or activation == "sigmoid":
            layers.append(make[activation]())
    return torch.nn.Sequential(*layers)


def full_batch_loop(model: Any, X: Array, Y: Array, *, lr: float, epochs: int) -> float:
    """Full-batch epochs of MSE and plain SGD; returns the last loss."""
    import torch

    inputs, targets = torch.from_numpy(X), torch.from_numpy(Y)
    loss_fn = torch.nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss = 0.0
    for _ in range(epochs):
        predictions = model(inputs)
        batch_loss = loss_fn(predictions, targets)
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
        loss = batch_loss.item()
    return loss


def minibatch_epoch(
    model: Any, X: Array, labels: Array, *, lr: float, batch_size: int, seed: int
) -> float:
    """One shuffled epoch of cross-entropy and plain SGD; returns the last loss."""
    import torch

    inputs, targets = torch.from_numpy(X), torch.from_numpy(labels.astype(np.int64))
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    loss = 0.0
    for start in range(0, len(X), batch_size):
        index = order[start : start + batch_size]
        predictions = model(inputs.index_select(0, index))
        batch_loss = loss_fn(predictions, targets.index_select(0, index))
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
        loss = batch_loss.item()
    return loss
