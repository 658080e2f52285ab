"""W1, classic: the 5-4-3 sigmoid network on iris, MSE, SGD at lr 3, full batch, float64.

At 150 samples and 32 weights every NumPy call costs more in Python overhead
than in arithmetic, so this workload measures what the framework adds per
call: layer dispatch, input checks, the loss and optimizer objects.
"""

from __future__ import annotations

import numpy as np

import minitorchless as mtl
from benchmarks import calls, data, mtl_loops, numpy_loops, sklearn_loops, torch_loops
from benchmarks.report import Section, Table, Target
from benchmarks.timing import Contender, Run, Timings, alternate

__all__ = ["run"]

SIZES = [5, 4, 3]
LR = 3.0

HAND = "hand-written NumPy"
LOOP = "minitorchless loop (backward)"
LOOP_PARAMETERS = "minitorchless loop (backward_parameters)"
FIT = "minitorchless fit()"
FLOOR = "its NumPy calls alone (backward_parameters)"
FLOOR_BACKWARD = "its NumPy calls alone (backward)"
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

    def floor(input_grad: bool) -> Run:
        W1, W2 = (w.copy() for w in weights)
        return lambda: numpy_loops.classic_framework_floor(
            X, Y, W1, W2, lr=LR, epochs=epochs, input_grad=input_grad
        )

    result = [
        Contender(HAND, hand),
        Contender(LOOP, lambda: loop("backward")),
        Contender(LOOP_PARAMETERS, lambda: loop("backward_parameters")),
        Contender(FIT, fit),
        Contender(FLOOR_BACKWARD, lambda: floor(True)),
        Contender(FLOOR, lambda: floor(False)),
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
    rounds = rounds or (1 if quick else 51)
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
    bounds = {LOOP: 1.1, LOOP_PARAMETERS: 1.0, FIT: 1.15}
    targets = [
        Target(
            "loop (backward) / hand-written", timings.ratio(LOOP, HAND), bounds[LOOP], "at most"
        ),
        Target(
            "loop (backward_parameters) / hand-written",
            timings.ratio(LOOP_PARAMETERS, HAND),
            bounds[LOOP_PARAMETERS],
            "at most",
        ),
        Target("fit() / hand-written", timings.ratio(FIT, HAND), bounds[FIT], "at most"),
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
        tables=[table, _overhead_table(timings, epochs, bounds)],
        targets=targets,
        notes=notes,
        data={"epochs": epochs, "seconds": timings.seconds},
    )


FLOORS = {LOOP: FLOOR_BACKWARD, LOOP_PARAMETERS: FLOOR, FIT: FLOOR}
"""Each minitorchless contender and the inline loop of its own array operations."""


def _calls(name: str) -> float:
    def prepare(epochs: int) -> Run:
        (contender,) = (c for c in contenders(epochs) if c.name == name)
        return contender.prepare()

    return calls.python_calls_per_epoch(prepare)


def _overhead_table(timings: Timings, epochs: int, bounds: dict[str, float]) -> Table:
    """What each contender costs over its own NumPy calls, and what its target leaves for it.

    The overhead is the contender's time per epoch minus its floor's (the same
    array operations run inline, measured in the same rounds); dividing it by
    the Python calls per epoch gives their average cost. The budget is what
    the target allows over the floor: ``bound * hand-written - floor``.
    """
    table = Table(
        "W1: where the time goes, per epoch",
        [
            "contender",
            "time",
            "its NumPy calls alone",
            "overhead",
            "Python calls",
            "per call",
            "target's budget",
            "calls it pays for",
        ],
    )
    hand = timings.median(HAND) / epochs
    for name, floor_name in FLOORS.items():
        time, floor = timings.median(name) / epochs, timings.median(floor_name) / epochs
        overhead, count = time - floor, _calls(name)
        per_call = overhead / count
        budget = bounds[name] * hand - floor
        table.rows.append(
            [
                name,
                f"{time * 1e6:.1f} us",
                f"{floor * 1e6:.1f} us ({floor / hand:.2f}x hand-written)",
                f"{overhead * 1e6:.1f} us",
                f"{count:.0f}",
                f"{per_call * 1e9:.0f} ns",
                f"{budget * 1e6:.1f} us",
                f"{max(budget, 0.0) / per_call:.0f}" if per_call > 0 else "-",
            ]
        )
    return table
