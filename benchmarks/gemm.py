"""The GEMM-bound limit: the time the matrix products of a training run take alone.

Training a fully connected net is mostly matrix products. For each layer, a
step computes the forward product ``x W``, the weight gradient ``x^T delta``
and, for every layer but the first, the input gradient ``delta W^T`` (nobody
needs the gradient for the data). No NumPy implementation can train faster
than these products run on their own, so they are timed here with exactly the
shapes, transpositions and dtype of the real run, into preallocated outputs,
alternating with the other contenders. The fraction of this limit a contender
reaches is ``limit time / contender time``; the rest is everything else
(activations, loss, updates, batching, Python).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Product", "epoch_products", "flops", "peak_throughput", "prepare_products"]


@dataclass(frozen=True)
class Product:
    """One matrix product ``(m, k) @ (k, n)``, with the operands' memory layout.

    ``left_transposed`` means the left operand is the transpose of a C-ordered
    ``(k, m)`` array (as ``x.T`` is), and likewise ``right_transposed`` for a
    ``(n, k)`` array (as ``W.T`` is): BLAS reads them without a copy, but the
    speed can differ from plain C-ordered operands, so the limit keeps them.
    """

    m: int
    k: int
    n: int
    left_transposed: bool = False
    right_transposed: bool = False

    @property
    def flops(self) -> int:
        """Floating-point operations: a multiply and an add per term, ``2 m k n``."""
        return 2 * self.m * self.k * self.n


def step_products(sizes: list[int], batch: int) -> list[Product]:
    """The products of one training step of a fully connected net of widths ``sizes``."""
    layers = list(itertools.pairwise(sizes))
    products = [Product(batch, fan_in, fan_out) for fan_in, fan_out in layers]  # x W
    for index in reversed(range(len(layers))):
        fan_in, fan_out = layers[index]
        products.append(Product(fan_in, batch, fan_out, left_transposed=True))  # x^T delta
        if index > 0:
            products.append(Product(batch, fan_out, fan_in, right_transposed=True))  # delta W^T
    return products


def epoch_products(sizes: list[int], samples: int, batch: int) -> list[tuple[list[Product], int]]:
    """The products of one epoch, as ``(products of a step, number of such steps)`` pairs."""
    full, rest = divmod(samples, batch)
    plan = [(step_products(sizes, batch), full)] if full else []
    if rest:
        plan.append((step_products(sizes, rest), 1))
    return plan


def flops(plan: list[tuple[list[Product], int]]) -> int:
    """The floating-point operations of a plan from ``epoch_products``."""
    return sum(sum(product.flops for product in products) * count for products, count in plan)


def _operands(
    product: Product, dtype: Any, rng: np.random.Generator
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    left_shape = (product.k, product.m) if product.left_transposed else (product.m, product.k)
    right_shape = (product.n, product.k) if product.right_transposed else (product.k, product.n)
    left = rng.standard_normal(left_shape).astype(dtype)
    right = rng.standard_normal(right_shape).astype(dtype)
    return (
        left.T if product.left_transposed else left,
        right.T if product.right_transposed else right,
        np.empty((product.m, product.n), dtype=dtype),
    )


def prepare_products(plan: list[tuple[list[Product], int]], dtype: Any) -> Callable[[], None]:
    """Allocate the operands of ``plan`` and return a function that runs all its products."""
    rng = np.random.default_rng(0)
    steps = [([_operands(p, dtype, rng) for p in products], count) for products, count in plan]
    matmul = np.matmul

    def run() -> None:
        for operands, count in steps:
            for _ in range(count):
                for left, right, out in operands:
                    matmul(left, right, out=out)

    return run


def peak_throughput(dtype: Any, size: int = 1024, repeats: int = 5) -> float:
    """The best FLOP/s of a square ``size`` product on this machine: the BLAS at its best."""
    import time

    run = prepare_products([([Product(size, size, size)], 1)], dtype)
    run()  # warm-up: thread pool, caches
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best
