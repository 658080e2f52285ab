"""W5, the transformer part: one block, forward and backward, against PyTorch on the CPU.

The block is ``mtl.transformer_block(128, 4)``: LayerNorm -> causal
MultiheadAttention -> Residual, then LayerNorm -> Dense(128, 512) -> GELU ->
Dense(512, 128) -> Residual, on float32 ``(32, 64, 128)`` (batch, time,
features). PyTorch runs the same block, weights and gradient of the outputs,
built by ``mtl.to_torch``. One timed run is ``STEPS`` forward and backward
passes (the input gradient included, as inside a deeper model). The issue's
target: at most 2x PyTorch's time, with one thread (``--threads 1``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minitorchless as mtl
from benchmarks import torch_loops
from benchmarks.report import Section, Table, Target
from benchmarks.timing import Contender, Run, alternate

__all__ = ["MTL", "TORCH", "block_and_data", "run"]

MTL = "minitorchless"
TORCH = "PyTorch CPU"
EMBED, HEADS, TIME, BATCH = 128, 4, 64, 32
STEPS = 10


def block_and_data(
    embed: int, heads: int, time: int, batch: int, seed: int = 0
) -> tuple[mtl.Layer, np.ndarray, np.ndarray]:
    """The float32 block, its inputs and a fixed gradient of its outputs."""
    rng = np.random.default_rng(seed)
    block = mtl.transformer_block(embed, heads, rng=rng, dtype=np.float32)
    for name, parameter in block.named_parameters():
        if name.endswith("bias"):  # not zero, so that every addition is real work
            parameter.value[...] = rng.uniform(-0.1, 0.1, parameter.shape)
    x = rng.standard_normal((batch, time, embed)).astype(np.float32)
    grad = rng.standard_normal((batch, time, embed)).astype(np.float32)
    return block, x, grad


def _mtl(block: mtl.Layer, x: np.ndarray, grad: np.ndarray, steps: int) -> Run:
    def run() -> None:
        for _ in range(steps):
            block(x)
            block.backward(grad)

    return run


def _torch(block: mtl.Layer, x: np.ndarray, grad: np.ndarray, steps: int) -> Run:
    import torch

    module = mtl.to_torch(block)
    inputs = torch.from_numpy(x).requires_grad_(True)
    grad_outputs = torch.from_numpy(grad)

    def run() -> None:
        for _ in range(steps):
            module(inputs).backward(grad_outputs)

    return run


def run(*, quick: bool, rounds: int | None = None) -> Section:
    """Measure W5's transformer block and return its section of the report."""
    embed, heads, time, batch = (32, 2, 16, 4) if quick else (EMBED, HEADS, TIME, BATCH)
    steps = 2 if quick else STEPS
    rounds = rounds or (1 if quick else 5)
    block, x, grad = block_and_data(embed, heads, time, batch)
    contenders = [Contender(MTL, lambda: _mtl(block, x, grad, steps))]
    if torch_loops.available():
        contenders.append(Contender(TORCH, lambda: _torch(block, x, grad, steps)))
    timings = alternate(contenders, rounds=rounds)
    table = Table(
        f"W5: one transformer block, embed {embed}, {heads} heads, T {time}, batch {batch}, "
        f"float32, {steps} forward + backward passes",
        ["contender", "median (ms per pass)", "spread"],
    )
    for contender in contenders:
        table.rows.append(
            [
                contender.name,
                f"{timings.median(contender.name) / steps * 1e3:.2f}",
                f"{timings.spread(contender.name):.0%}",
            ]
        )
    targets: list[Target] = []
    data: dict[str, Any] = {"ms_per_pass": {}}
    for contender in contenders:
        data["ms_per_pass"][contender.name] = timings.median(contender.name) / steps * 1e3
    if TORCH in timings:
        ratio = timings.ratio(MTL, TORCH)
        targets.append(Target("minitorchless / PyTorch CPU", ratio, 2.0, "at most"))
        data["ratio"] = ratio
    return Section(
        "W5 transformer: one block, forward + backward",
        __doc__.splitlines()[0] if __doc__ else "",
        tables=[table],
        targets=targets,
        data=data,
    )
