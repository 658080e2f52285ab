"""W4, one convolution: ``Conv2d(16, 32, 3, padding=1)`` forward and backward on float32.

The batch is ``(64, 16, 28, 28)``. Each contender runs one forward and one
backward with the input gradient, from the same weights and data: the
minitorchless layer, PyTorch's ``nn.Conv2d`` on the CPU, the textbook im2col
of the tutorials (``benchmarks.textbook_conv``) and the GEMM-only limit, the
three matrix products of im2col at the same shapes into preallocated outputs
(``x W^T``, ``cols^T g`` and ``g W``). Peak memory is the most NumPy had
allocated during one run, traced by ``tracemalloc`` (PyTorch's allocator is
not traced).
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np

import minitorchless as mtl
from benchmarks import gemm, torch_loops
from benchmarks.report import Section, Table, Target
from benchmarks.textbook_conv import TextbookConv2d
from benchmarks.timing import Contender, Run, Timings, alternate

__all__ = ["conv_contenders", "run"]

CHANNELS, FILTERS, KERNEL, PAD = 16, 32, 3, 1
DTYPE = np.float32

MTL = "minitorchless Conv2d"
TORCH = "PyTorch CPU"
TEXTBOOK = "textbook im2col (NumPy)"
LIMIT = "GEMM-only limit"


def problem(batch: int, size: int, seed: int = 0, dtype: Any = DTYPE) -> dict[str, Any]:
    """The weights, bias, inputs and output gradient every contender starts from."""
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(CHANNELS * KERNEL * KERNEL)
    return {
        "weight": rng.uniform(-bound, bound, (FILTERS, CHANNELS, KERNEL, KERNEL)).astype(dtype),
        "bias": rng.uniform(-bound, bound, FILTERS).astype(dtype),
        "x": rng.standard_normal((batch, CHANNELS, size, size)).astype(dtype),
        "grad": rng.standard_normal((batch, FILTERS, size, size)).astype(dtype),
    }


def products(batch: int, size: int) -> list[gemm.Product]:
    """The im2col products of one forward and backward: rows are the N * H * W output pixels."""
    pixels, taps = batch * size * size, CHANNELS * KERNEL * KERNEL
    return [
        gemm.Product(pixels, taps, FILTERS, right_transposed=True),  # cols W^T
        gemm.Product(FILTERS, pixels, taps, left_transposed=True),  # g^T cols
        gemm.Product(pixels, FILTERS, taps),  # g W
    ]


def mtl_layer(data: dict[str, Any]) -> mtl.Conv2d:
    layer = mtl.Conv2d(CHANNELS, FILTERS, KERNEL, padding=PAD, dtype=data["x"].dtype)
    layer.load_state_dict({"weight": data["weight"], "bias": data["bias"]})
    return layer


def torch_layer(data: dict[str, Any]) -> Any:
    import torch

    layer = torch.nn.Conv2d(CHANNELS, FILTERS, KERNEL, padding=PAD).to(
        torch.from_numpy(data["x"]).dtype
    )
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(data["weight"]))
        layer.bias.copy_(torch.from_numpy(data["bias"]))
    return layer


def conv_contenders(batch: int, size: int) -> list[Contender]:
    """Every contender on the same problem; PyTorch when it is installed."""
    data = problem(batch, size)

    def ours() -> Run:
        layer = mtl_layer(data)
        return lambda: (layer(data["x"]), layer.backward(data["grad"]))

    def textbook() -> Run:
        layer = TextbookConv2d(data["weight"], data["bias"], PAD)
        return lambda: (layer.forward(data["x"]), layer.backward(data["grad"]))

    result = [
        Contender(MTL, ours),
        Contender(TEXTBOOK, textbook),
        Contender(LIMIT, lambda: gemm.prepare_products([(products(batch, size), 1)], DTYPE)),
    ]
    if torch_loops.available():
        import torch

        def theirs() -> Run:
            layer = torch_layer(data)
            x = torch.from_numpy(data["x"]).requires_grad_()
            grad = torch.from_numpy(data["grad"])
            return lambda: layer(x).backward(grad)

        result.append(Contender(TORCH, theirs))
    return result


def _traced_peak(contender: Contender) -> int:
    run = contender.prepare()
    run()  # the first run pays for lazy set-up; the second is measured
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(*, quick: bool, rounds: int | None = None) -> Section:
    """Measure W4 and return its section of the report."""
    batch, size = (4, 8) if quick else (64, 28)
    rounds = rounds or (1 if quick else 25)
    contenders = conv_contenders(batch, size)
    timings = alternate(contenders, rounds=rounds)
    peaks = {c.name: _traced_peak(c) for c in contenders if c.name != TORCH}
    work = sum(p.flops for p in products(batch, size))
    return Section(
        "W4: one convolution, forward and backward",
        f"Conv2d({CHANNELS}, {FILTERS}, {KERNEL}, padding={PAD}) on float32 "
        f"({batch}, {CHANNELS}, {size}, {size}): one forward and one backward with the "
        "input gradient, from the same weights.",
        tables=[_table(timings, peaks, rounds)],
        targets=_targets(timings),
        notes=[
            f"GEMM-only limit: the {work / 1e9:.2f} GFLOP of the three im2col products alone, "
            f"at {work / timings.median(LIMIT) / 1e9:.0f} GFLOP/s",
            "peak memory: the most NumPy allocated during one run (tracemalloc); "
            "the inputs, weights and output gradient are allocated before it",
        ],
        data={"batch": batch, "size": size, "seconds": timings.seconds, "peaks": peaks},
    )


def _table(timings: Timings, peaks: dict[str, int], rounds: int) -> Table:
    table = Table(
        f"W4: forward + backward, median of {rounds} rounds",
        ["contender", "median", "spread", "time / PyTorch", "fraction of limit", "peak memory"],
    )
    for name in timings.seconds:
        median = timings.median(name)
        table.rows.append(
            [
                name,
                f"{median * 1e3:.1f} ms",
                f"{timings.spread(name):.0%}",
                f"{timings.ratio(name, TORCH):.2f}x" if TORCH in timings else "-",
                f"{timings.ratio(LIMIT, name):.0%}",
                f"{peaks[name] / 2**20:.1f} MiB" if name in peaks else "not traced",
            ]
        )
    return table


def _targets(timings: Timings) -> list[Target]:
    targets = [
        Target("textbook time / minitorchless", timings.ratio(TEXTBOOK, MTL), 2.0, "at least"),
        Target("fraction of GEMM-only limit", timings.ratio(LIMIT, MTL), 0.6, "at least", "%"),
    ]
    if TORCH in timings:
        targets.insert(
            0, Target("minitorchless time / PyTorch", timings.ratio(MTL, TORCH), 2.5, "at most")
        )
    return targets
