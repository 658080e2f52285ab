"""W5, the LSTM part: ``LSTM(64, 128)`` forward and backward on float32 ``(32, 64, 64)``.

Batch 32, 64 steps, 64 features in, 128 hidden. Each contender runs the
forward pass and the backward pass (every parameter's gradient and the
input's) from the same weights, inputs and output gradient: minitorchless's
``LSTM``, PyTorch CPU's ``nn.LSTM``, and the hand-written NumPy loop of
``benchmarks.numpy_lstm``. Run with one thread (``--threads 1``), as the
issue asks: the products are small, and the time goes to the loop over steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minitorchless as mtl
from benchmarks import numpy_lstm, torch_loops
from benchmarks.report import Section, Table, Target
from benchmarks.timing import Contender, Run, Timings, alternate

__all__ = ["contenders", "run"]

SHAPE = (32, 64, 64)  # batch, time, features
HIDDEN = 128
DTYPE = np.float32
REPEATS = 5  # forward + backward passes per timed run

HAND = "hand-written NumPy"
LAYER = "minitorchless LSTM"
TORCH = "PyTorch CPU"


def _problem(shape: tuple[int, int, int], hidden: int) -> tuple[mtl.LSTM, Any, Any]:
    rng = np.random.default_rng(0)
    layer = mtl.LSTM(shape[2], hidden, rng=rng, dtype=DTYPE)
    x = rng.standard_normal(shape).astype(DTYPE)
    grad_output = rng.standard_normal((*shape[:2], hidden)).astype(DTYPE)
    return layer, x, grad_output


def contenders(shape: tuple[int, int, int], hidden: int) -> list[Contender]:
    """The three ways of running one forward and backward pass, ``REPEATS`` times."""
    layer, x, grad_output = _problem(shape, hidden)
    state = layer.state_dict()

    def ours() -> Run:
        def passes() -> None:
            for _ in range(REPEATS):
                layer(x)
                layer.backward(grad_output)

        return passes

    def hand() -> Run:
        w_x, w_h = state["weight_ih_l0"].T.copy(), state["weight_hh_l0"].T.copy()
        b = state["bias_ih_l0"] + state["bias_hh_l0"]

        def passes() -> None:
            for _ in range(REPEATS):
                _, caches = numpy_lstm.lstm_forward(x, w_x, w_h, b)
                numpy_lstm.lstm_backward(grad_output, caches, w_x, w_h)

        return passes

    result = [Contender(HAND, hand), Contender(LAYER, ours)]
    if torch_loops.available():

        def theirs() -> Run:
            import torch

            module = torch.nn.LSTM(shape[2], hidden, batch_first=True, dtype=torch.float32)
            module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
            inputs = torch.from_numpy(x).requires_grad_()
            grad = torch.from_numpy(grad_output)

            def passes() -> None:
                for _ in range(REPEATS):
                    outputs, _ = module(inputs)
                    outputs.backward(grad)

            return passes

        result.append(Contender(TORCH, theirs))
    return result


def run(*, quick: bool, rounds: int | None = None) -> Section:
    """Measure W5 (LSTM) and return its section of the report."""
    shape, hidden = ((4, 8, 16), 32) if quick else (SHAPE, HIDDEN)
    rounds = rounds or (1 if quick else 15)
    timings = alternate(contenders(shape, hidden), rounds=rounds)
    batch, steps, features = shape
    table = Table(
        f"W5: LSTM({features}, {hidden}) forward + backward, median of {rounds} rounds",
        ["contender", "median per pass", "spread", "time / PyTorch", "time / hand-written"],
    )
    for name in timings.seconds:
        median = timings.median(name) / REPEATS
        table.rows.append(
            [
                name,
                f"{median * 1e3:.2f} ms",
                f"{timings.spread(name):.0%}",
                f"{timings.ratio(name, TORCH):.2f}x" if TORCH in timings else "-",
                f"{timings.ratio(name, HAND):.2f}x",
            ]
        )
    return Section(
        "W5: LSTM, forward and backward",
        f"LSTM({features}, {hidden}) on float32 ({batch}, {steps}, {features}) (batch, time, "
        f"features): the output sequence, then the gradients of every parameter and of the "
        f"inputs from a fixed output gradient; {REPEATS} passes per timed run.",
        tables=[table],
        targets=_targets(timings),
        notes=[
            "the hand-written loop is the textbook one: each step's input product inside "
            "the loop, the weight gradients accumulated step by step (benchmarks/numpy_lstm.py)"
        ],
        data={"seconds": timings.seconds, "shape": shape, "hidden": hidden},
    )


def _targets(timings: Timings) -> list[Target]:
    targets = [Target("time / hand-written", timings.ratio(LAYER, HAND), 1.0, "at most")]
    if TORCH in timings:
        targets.append(Target("time / PyTorch CPU", timings.ratio(LAYER, TORCH), 2.0, "at most"))
    return targets
