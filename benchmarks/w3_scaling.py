"""W3, scaling: the fraction of the GEMM-bound limit across hidden widths and batch sizes.

The network is W2's with both hidden layers of width ``h``: 784-h-h-10 ReLU,
cross-entropy, SGD, float32. Small widths and batches make the matrix
products cheap next to the fixed cost of a step (Python, element-wise passes,
the loss), so the fraction of the limit falls there, for the hand-written loop
as for minitorchless; large ones leave the products to dominate.
"""

from __future__ import annotations

from benchmarks import data, gemm
from benchmarks.report import Section, Table, Target
from benchmarks.timing import alternate
from benchmarks.w2_mnist import HAND, LIMIT, LOOP, mlp_contenders

__all__ = ["run"]

WIDTHS = [64, 128, 256, 512, 1024, 2048]
BATCHES = [16, 32, 64, 128, 256, 512, 1024]
TARGET_WIDTH = 256  # the target holds from this width on
TARGET_BATCH = 32  # and from this batch size on
FLOPS_PER_RUN = 20e9  # about 0.1-0.2 s of products per timed run on a 2-core machine


def _samples(sizes: list[int], batch: int, budget: float, most: int) -> int:
    """Enough samples for ``budget`` FLOPs of products, in whole batches (4 at least)."""
    per_batch = gemm.flops(gemm.epoch_products(sizes, batch, batch))
    batches = max(4, round(budget / per_batch))
    return min(batches * batch, most // batch * batch)


def run(*, quick: bool, rounds: int | None = None) -> Section:
    """Measure W3 and return its section of the report."""
    widths = [64] if quick else WIDTHS
    batches = [16, 128] if quick else BATCHES
    rounds = rounds or (1 if quick else 3)
    budget = 5e7 if quick else FLOPS_PER_RUN
    most = 1024 if quick else 32768
    X_all, labels_all = data.synthetic_images(most)

    fractions: dict[str, dict[tuple[int, int], float]] = {LOOP: {}, HAND: {}}
    for width in widths:
        for batch in batches:
            sizes = [784, width, width, 10]
            samples = _samples(sizes, batch, budget, most)
            X, labels = X_all[:samples], labels_all[:samples]
            timings = alternate(
                mlp_contenders(X, labels, sizes, batch, variants=False, others=False), rounds=rounds
            )
            for name in fractions:
                fractions[name][width, batch] = timings.ratio(LIMIT, name)

    tables = []
    for name in (LOOP, HAND):
        table = Table(
            f"W3: {name}, fraction of the GEMM limit (rows: hidden width, columns: batch)",
            ["width", *map(str, batches)],
        )
        table.rows = [
            [str(width), *(f"{fractions[name][width, batch]:.0%}" for batch in batches)]
            for width in widths
        ]
        tables.append(table)

    targets = []
    held = [batch for batch in batches if batch >= TARGET_BATCH]
    for width in widths:
        if width < TARGET_WIDTH or not held:
            continue
        worst_batch = min(held, key=lambda batch: fractions[LOOP][width, batch])
        targets.append(
            Target(
                f"loop at width {width}, worst batch >= {TARGET_BATCH} ({worst_batch}; "
                f"hand-written there: {fractions[HAND][width, worst_batch]:.0%})",
                fractions[LOOP][width, worst_batch],
                0.85,
                "at least",
                "%",
            )
        )
    return Section(
        "W3: scaling with width and batch",
        "784-h-h-10 ReLU network with biases, CrossEntropyLoss, SGD, float32, shuffled "
        f"mini-batches; each cell trains on about {budget / 1e9:g} GFLOP of products "
        f"(at most {most:,} samples) and reports limit time / contender time, "
        f"median of {rounds} rounds.",
        tables=tables,
        targets=targets,
        data={
            "widths": widths,
            "batches": batches,
            "fractions": {
                name: {f"{w}x{b}": value for (w, b), value in cells.items()}
                for name, cells in fractions.items()
            },
        },
    )
