"""W2, MNIST-sized: one epoch of 60,000 x 784 float32, 784-512-256-10 ReLU, cross-entropy, SGD.

Here the matrix products dominate, so this workload measures how close each
contender gets to the BLAS: the GEMM-bound limit (``benchmarks.gemm``) is one
of the contenders, timed in the same rounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minitorchless as mtl
from benchmarks import data, gemm, mtl_loops, numpy_loops, sklearn_loops, torch_loops
from benchmarks.report import Section, Table, Target
from benchmarks.timing import Contender, Run, Timings, alternate
from minitorchless.train.divergence import Snapshot

__all__ = ["mlp_contenders", "run"]

SIZES = [784, 512, 256, 10]
BATCH = 128
LR = 0.05
DTYPE = np.float32

HAND = "hand-written NumPy"
LOOP = "minitorchless loop (backward_parameters)"
LOOP_BACKWARD = "minitorchless loop (backward)"
FIT = "minitorchless fit()"
FIT_UNGUARDED = "minitorchless fit(terminate_on_nan=False)"
TORCH = "PyTorch CPU"
SKLEARN = "scikit-learn MLPClassifier"
LIMIT = "GEMM-bound limit"
GUARD = "the divergence guard's copies alone"
SPEEDUP_TARGET = 1.05  # the loop's throughput over the hand-written loop's, at least
FIT_TARGET = 1.03  # fit()'s time over the loop's, at most


def mlp_contenders(
    X: Any, labels: Any, sizes: list[int], batch: int, *, variants: bool, others: bool
) -> list[Contender]:
    """The contenders of one epoch of mini-batch training on ``(X, labels)``.

    The hand-written loop, the minitorchless loop and the GEMM limit always;
    with ``variants``, also the loop with ``backward`` and ``fit``; with
    ``others``, PyTorch and scikit-learn when they are installed.
    """
    weights = data.mlp_weights(sizes, bias=True, dtype=DTYPE)

    def hand() -> Run:
        params = [w.copy() for w in weights]
        rng = np.random.default_rng(2)
        return lambda: numpy_loops.relu_cross_entropy_epoch(
            X, labels, params, lr=LR, batch_size=batch, rng=rng
        )

    def loop(backward: mtl_loops.Backward) -> Run:
        model = mtl_loops.build_mlp(sizes, mtl.ReLU, weights, bias=True, dtype=DTYPE)
        loss_fn = mtl.CrossEntropyLoss()
        optimizer = mtl.SGD(model.parameters(), lr=LR)
        batches = mtl.data.Batches(
            X, labels, batch_size=batch, shuffle=True, rng=np.random.default_rng(2)
        )
        return lambda: mtl_loops.explicit_minibatch_epoch(
            model, loss_fn, optimizer, batches, backward=backward
        )

    def fit(guarded: bool) -> Run:
        model = mtl_loops.build_mlp(sizes, mtl.ReLU, weights, bias=True, dtype=DTYPE)
        loss_fn = mtl.CrossEntropyLoss()
        optimizer = mtl.SGD(model.parameters(), lr=LR)
        rng = np.random.default_rng(2)
        return lambda: mtl_loops.fit(
            model,
            loss_fn,
            optimizer,
            X,
            labels,
            epochs=1,
            batch_size=batch,
            rng=rng,
            terminate_on_nan=guarded,
        )

    def guard_copies() -> Run:
        # the library's own snapshot of fit's guard, saved once per step of the epoch
        snapshot = Snapshot([mtl.Parameter(w.copy()) for w in weights])
        steps = -(-len(X) // batch)

        def run() -> None:
            for _ in range(steps):
                snapshot.save()

        return run

    plan = gemm.epoch_products(sizes, len(X), batch)
    result = [
        Contender(HAND, hand),
        Contender(LOOP, lambda: loop("backward_parameters")),
        Contender(LIMIT, lambda: gemm.prepare_products(plan, DTYPE)),
    ]
    if variants:
        result += [
            Contender(LOOP_BACKWARD, lambda: loop("backward")),
            Contender(FIT, lambda: fit(True)),
            # the divergence guard copies the parameters once per step: this shows its cost
            Contender(FIT_UNGUARDED, lambda: fit(False)),
            Contender(GUARD, guard_copies),
        ]
    if not others:
        return result
    if torch_loops.available():

        def torch_run() -> Run:
            model = torch_loops.build_mlp(sizes, "relu", weights, bias=True)
            return lambda: torch_loops.minibatch_epoch(
                model, X, labels, lr=LR, batch_size=batch, seed=2
            )

        result.append(Contender(TORCH, torch_run))
    if sklearn_loops.available():

        def sklearn_run() -> Run:
            return lambda: sklearn_loops.train_mlp_classifier(
                X,
                labels,
                hidden=tuple(sizes[1:-1]),
                activation="relu",
                lr=LR,
                epochs=1,
                batch_size=batch,
                shuffle=True,
            )

        result.append(Contender(SKLEARN, sklearn_run))
    return result


def run(*, quick: bool, rounds: int | None = None) -> Section:
    """Measure W2 and return its section of the report."""
    samples = 1024 if quick else 60000
    rounds = rounds or (1 if quick else 11)
    X, labels = data.synthetic_images(samples, SIZES[0], SIZES[-1])
    contenders = mlp_contenders(X, labels, SIZES, BATCH, variants=True, others=True)
    timings = alternate(contenders, rounds=rounds)
    plan = gemm.epoch_products(SIZES, samples, BATCH)
    epoch_flops = gemm.flops(plan)
    throughput = epoch_flops / timings.median(LIMIT)
    peak = gemm.peak_throughput(DTYPE, size=256 if quick else 1024)
    section = Section(
        "W2: MNIST-sized MLP, one epoch",
        f"{samples:,} x {SIZES[0]} synthetic float32 inputs, "
        f"{'-'.join(map(str, SIZES))} ReLU network with biases, CrossEntropyLoss, "
        f"SGD at lr {LR:g}, batch {BATCH}, shuffled, one epoch.",
        tables=[_table(timings, samples, rounds)],
        targets=_targets(timings),
        notes=[
            f"GEMM-bound limit: the epoch's {epoch_flops / 1e9:.1f} GFLOP of matrix products "
            f"(forward, weight gradients, input gradients of all but the first layer) alone, "
            f"in the same shapes, at {throughput / 1e9:.0f} GFLOP/s; "
            f"a square float32 product reaches {peak / 1e9:.0f} GFLOP/s on this machine",
            "fraction of limit = limit time / contender time",
            _budget_note(timings),
            f"the divergence guard of fit() copies the weights before every step: those "
            f"copies alone take {timings.ratio(GUARD, LOOP):.1%} of the loop's time, of the "
            f"{FIT_TARGET - 1:.0%} that the fit() target allows",
        ],
        data={
            "samples": samples,
            "seconds": timings.seconds,
            "epoch_flops": epoch_flops,
            "gemm_throughput": throughput,
            "peak_throughput": peak,
        },
    )
    if SKLEARN in timings:
        section.notes.append(
            "MLPClassifier uses its own initialization and ends in softmax with the log-loss, "
            "as the others do; it cannot start from the same weights"
        )
    return section


def _budget_note(timings: Timings) -> str:
    """What the speed-up target leaves for the work besides the products, against the hand."""
    hand, limit = timings.median(HAND), timings.median(LIMIT)
    allowed = hand / SPEEDUP_TARGET - limit
    return (
        f"besides the matrix products, the hand-written epoch spends {(hand - limit) * 1e3:.0f} ms "
        f"({1 - limit / hand:.0%} of it: the batch gathers, biases, ReLUs, cross-entropy, "
        f"the SGD updates); {SPEEDUP_TARGET:.2f}x its throughput needs "
        f"{limit / (hand / SPEEDUP_TARGET):.0%} of the "
        f"limit, which leaves {allowed * 1e3:.0f} ms for the same work"
    )


def _table(timings: Timings, samples: int, rounds: int) -> Table:
    table = Table(
        f"W2: one epoch, median of {rounds} rounds",
        [
            "contender",
            "median",
            "samples/s",
            "spread",
            "speed vs hand-written",
            "fraction of limit",
        ],
    )
    for name in timings.seconds:
        median = timings.median(name)
        table.rows.append(
            [
                name,
                f"{median:.2f} s",
                f"{samples / median:,.0f}",
                f"{timings.spread(name):.0%}",
                f"{timings.ratio(HAND, name):.2f}x",
                f"{timings.ratio(LIMIT, name):.0%}",
            ]
        )
    return table


def _targets(timings: Timings) -> list[Target]:
    targets = [
        Target(
            "loop throughput / hand-written", timings.ratio(HAND, LOOP), SPEEDUP_TARGET, "at least"
        ),
        Target("loop, fraction of GEMM limit", timings.ratio(LIMIT, LOOP), 0.85, "at least", "%"),
        Target("fit() time / loop time", timings.ratio(FIT, LOOP), FIT_TARGET, "at most"),
        Target(
            "fit(terminate_on_nan=False) time / loop time",
            timings.ratio(FIT_UNGUARDED, LOOP),
            FIT_TARGET,
            "at most",
        ),
    ]
    if TORCH in timings:
        targets.append(
            Target("loop throughput / PyTorch", timings.ratio(TORCH, LOOP), 1.1, "at least")
        )
    return targets
