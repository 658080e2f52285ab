"""W4, a whole network: one epoch of a LeNet-sized CNN on 60,000 synthetic 28 x 28 images.

``Conv2d(1, 6, 5) -> ReLU -> MaxPool2d(2) -> Conv2d(6, 16, 5) -> ReLU ->
MaxPool2d(2) -> Flatten -> Dense(256, 120) -> ReLU -> Dense(120, 84) -> ReLU
-> Dense(84, 10)``, cross-entropy, SGD, shuffled batches of 64, float32. The
minitorchless contender is the README's loop with ``backward_parameters``;
PyTorch's is ``mtl.to_torch`` of the same model (so the same weights) in the
usual PyTorch loop, on the CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minitorchless as mtl
from benchmarks import data, torch_loops
from benchmarks.report import Section, Table, Target
from benchmarks.timing import Contender, Run, alternate

__all__ = ["build_lenet", "lenet_contenders", "run"]

BATCH = 64
LR = 0.05
MTL = "minitorchless loop (backward_parameters)"
TORCH = "PyTorch CPU"


def build_lenet(seed: int = 0) -> mtl.Sequential:
    """The LeNet-sized network, in float32."""
    rng, f32 = np.random.default_rng(seed), np.float32
    return mtl.Sequential(
        mtl.Conv2d(1, 6, 5, rng=rng, dtype=f32),
        mtl.ReLU(),
        mtl.MaxPool2d(2),
        mtl.Conv2d(6, 16, 5, rng=rng, dtype=f32),
        mtl.ReLU(),
        mtl.MaxPool2d(2),
        mtl.Flatten(),
        mtl.Dense(256, 120, bias=True, rng=rng, dtype=f32),
        mtl.ReLU(),
        mtl.Dense(120, 84, bias=True, rng=rng, dtype=f32),
        mtl.ReLU(),
        mtl.Dense(84, 10, bias=True, rng=rng, dtype=f32),
    )


def mtl_epoch(model: mtl.Layer, X: Any, labels: Any, rng: np.random.Generator) -> float:
    """One shuffled epoch of the README's loop; returns the last batch's loss."""
    loss_fn = mtl.CrossEntropyLoss()
    optimizer = mtl.SGD(model.parameters(), lr=LR)
    loss = 0.0
    for inputs, targets in mtl.data.Batches(X, labels, batch_size=BATCH, shuffle=True, rng=rng):
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        model.backward_parameters(loss_fn.backward())
        optimizer.step()
    return loss


def torch_epoch(module: Any, X: Any, labels: Any, rng: np.random.Generator) -> float:
    """The same epoch in PyTorch, over the same shuffled batches."""
    import torch

    optimizer = torch.optim.SGD(module.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    inputs_all, labels_all = torch.from_numpy(X), torch.from_numpy(labels)
    order = torch.from_numpy(rng.permutation(len(X)))
    loss = 0.0
    for start in range(0, len(X), BATCH):
        index = order[start : start + BATCH]
        optimizer.zero_grad()
        value = loss_fn(module(inputs_all[index]), labels_all[index])
        value.backward()
        optimizer.step()
        loss = value.item()
    return loss


def lenet_contenders(X: Any, labels: Any) -> list[Contender]:
    """minitorchless, and PyTorch on the same weights when it is installed."""

    def ours() -> Run:
        model, rng = build_lenet(), np.random.default_rng(1)
        return lambda: mtl_epoch(model, X, labels, rng)

    result = [Contender(MTL, ours)]
    if torch_loops.available():

        def theirs() -> Run:
            module, rng = mtl.to_torch(build_lenet()), np.random.default_rng(1)
            module.train()
            return lambda: torch_epoch(module, X, labels, rng)

        result.append(Contender(TORCH, theirs))
    return result


def run(*, quick: bool, rounds: int | None = None) -> Section:
    """Measure the LeNet epoch and return its section of the report."""
    samples = 256 if quick else 60_000
    rounds = rounds or (1 if quick else 3)
    X, labels = data.synthetic_images(samples)
    timings = alternate(lenet_contenders(X.reshape(-1, 1, 28, 28), labels), rounds=rounds)
    table = Table(
        f"W4: one LeNet epoch, median of {rounds} rounds",
        ["contender", "median", "images/s", "spread", "time / PyTorch"],
    )
    for name in timings.seconds:
        median = timings.median(name)
        ratio = f"{timings.ratio(name, TORCH):.2f}x" if TORCH in timings else "-"
        table.rows.append(
            [
                name,
                f"{median:.2f} s",
                f"{samples / median:,.0f}",
                f"{timings.spread(name):.0%}",
                ratio,
            ]
        )
    targets = []
    if TORCH in timings:
        targets.append(
            Target("minitorchless time / PyTorch", timings.ratio(MTL, TORCH), 2.5, "at most")
        )
    return Section(
        "W4: a LeNet-sized network, one epoch",
        f"One shuffled epoch of {samples:,} synthetic 28 x 28 float32 images, batches of "
        f"{BATCH}, SGD at lr {LR}: Conv2d(1, 6, 5), pooling, Conv2d(6, 16, 5), pooling and "
        "three Dense layers, the same weights in both contenders.",
        tables=[table],
        targets=targets,
        data={"samples": samples, "seconds": timings.seconds},
    )
