"""W1, classic: the 5-4-3 sigmoid network on iris, MSE, SGD at lr 3, full batch, float64.

At 150 samples and 32 weights every NumPy call costs more in Python overhead
than in arithmetic, so this workload measures what the framework adds per
call: layer dispatch, input checks, the loss and optimizer objects.
"""

from __future__ import annotations

import numpy as np

import minitorchless as mtl
from benchmarks import data, mtl_loops, numpy_loops, sklearn_loops, torch_loops
from benchmarks.report import Section, Table, Target
from benchmarks.timing import Contender, Run, alternate

__all__ = ["run"]

SIZES = [5, 4, 3]
LR = 3.0

HAND = "hand-written NumPy"
LOOP = "minitorchless loop (backward)"
LOOP_PARAMETERS = "minitorchless loop (backward_parameters)"
FIT = "minitorchless fit()"
TORCH = "PyTorch CPU"
SKLEARN = "scikit-learn MLPClassifier"


def contenders(epochs: int) -> list[Contender]:
    """Every available contender for ``epochs`` full-batch epochs."""
    X, Y, labels = data.iris()
    weights = data.mlp_weights(SIZES, bias=False, dtype=np.float64, init="normal")

    def hand() -> Run:
        W1, W2 = (w.copy() for w in weights)
        return lambda: numpy_loops.classic_sigmoid_mse(X, Y, W1, W2, lr=LR, epochs=epochs)

    def loop(backward: mtl_loops.Backward) -> Run:
        model = mtl_loops.build_mlp(SIZES, mtl.Sigmoid, weights, bias=False, dtype=np.float64)
        loss_fn = mtl.MSELoss()
        optimizer = mtl.SGD(model.parameters(), lr=LR)
        return lambda: mtl_loops.explicit_epochs(
            model, loss_fn, optimizer, X, Y, epochs=epochs, backward=backward
        )

    def fit() -> Run:
        model = mtl_loops.build_mlp(SIZES, mtl.Sigmoid, weights, bias=False, dtype=np.float64)
        loss_fn = mtl.MSELoss()
        optimizer = mtl.SGD(model.parameters(), lr=LR)
        rng = np.random.default_rng(0)
        return lambda: mtl_loops.fit(
            model, loss_fn, optimizer, X, Y, epochs=epochs, batch_size=None, rng=rng
        )

    result = [
        Contender(HAND, hand),
        Contender(LOOP, lambda: loop("backward")),
        Contender(LOOP_PARAMETERS, lambda: loop("backward_parameters")),
        Contender(FIT, fit),
    ]
    if torch_loops.available():

        def torch_run() -> Run:
            model = torch_loops.build_mlp(SIZES, "sigmoid", weights, bias=False)
            return lambda: torch_loops.full_batch_loop(model, X, Y, lr=LR, epochs=epochs)

        result.append(Contender(TORCH, torch_run))
    if sklearn_loops.available():

        def sklearn_run() -> Run:
            # its biases take the place of the ones column
            return lambda: sklearn_loops.train_mlp_classifier(
                X[:, :4],
                labels,
                hidden=(4,),
                activation="logistic",
                lr=LR,
                epochs=epochs,
                batch_size=len(X),
                shuffle=False,
            )

        result.append(Contender(SKLEARN, sklearn_run))
    return result


def run(*, quick: bool, rounds: int | None = None) -> Section:
    """Measure W1 and return its section of the report."""
    epochs = 20 if quick else 1000
    rounds = rounds or (1 if quick else 15)
    timings = alternate(contenders(epochs), rounds=rounds, warmup=1)

    table = Table(
        f"W1: {epochs} full-batch epochs, median of {rounds} rounds",
        ["contender", "median", "per epoch", "spread", "vs hand-written", "vs loop"],
    )
    for name in timings.seconds:
        median = timings.median(name)
        table.rows.append(
            [
                name,
                f"{median * 1e3:.1f} ms",
                f"{median / epochs * 1e6:.1f} us",
                f"{timings.spread(name):.0%}",
                f"{timings.ratio(name, HAND):.2f}x",
                f"{timings.ratio(name, LOOP):.2f}x",
            ]
        )
    targets = [
        Target("loop (backward) / hand-written", timings.ratio(LOOP, HAND), 1.1, "at most"),
        Target(
            "loop (backward_parameters) / hand-written",
            timings.ratio(LOOP_PARAMETERS, HAND),
            1.0,
            "at most",
        ),
        Target("fit() / hand-written", timings.ratio(FIT, HAND), 1.15, "at most"),
    ]
    if TORCH in timings:
        targets += [
            Target("PyTorch / loop (backward)", timings.ratio(TORCH, LOOP), 4.0, "at least"),
            Target(
                "PyTorch / loop (backward_parameters)",
                timings.ratio(TORCH, LOOP_PARAMETERS),
                4.0,
                "at least",
            ),
            Target("PyTorch / fit()", timings.ratio(TORCH, FIT), 4.0, "at least"),
        ]
    notes = [
        "spread: interquartile range of the rounds, relative to the median",
        "the loops report the cost every epoch: a Python float for minitorchless, "
        "float(np.mean(error**2)) by hand, loss.item() in PyTorch",
    ]
    if SKLEARN in timings:
        notes.append(
            "MLPClassifier cannot run the same math: it adds biases and ends in a softmax "
            "with the log-loss; it does the same number of epochs on the same network size"
        )
    return Section(
        "W1: classic 5-4-3 sigmoid network on iris",
        "Iris (150 x 5 with a ones column), bias-free 5-4-3 sigmoid network, MSE, "
        f"SGD at lr {LR:g}, full batch, float64.",
        tables=[table],
        targets=targets,
        notes=notes,
        data={"epochs": epochs, "seconds": timings.seconds},
    )
