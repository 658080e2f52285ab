"""Learning-rate schedules: values against torch.optim.lr_scheduler, wiring, validation."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl

EPOCHS = 30

# name -> (our schedule(optimizer), torch scheduler class name, its keyword arguments)
SCHEDULES: dict[str, tuple[Callable[[mtl.Optimizer], mtl.LRScheduler], str, dict[str, Any]]] = {
    "StepLR": (
        lambda opt: mtl.StepLR(opt, step_size=7, gamma=0.5),
        "StepLR",
        {"step_size": 7, "gamma": 0.5},
    ),
    "StepLR(default gamma)": (lambda opt: mtl.StepLR(opt, 4), "StepLR", {"step_size": 4}),
    "ExponentialLR": (
        lambda opt: mtl.ExponentialLR(opt, gamma=0.9),
        "ExponentialLR",
        {"gamma": 0.9},
    ),
    "CosineAnnealingLR": (
        lambda opt: mtl.CosineAnnealingLR(opt, T_max=10, eta_min=1e-3),
        "CosineAnnealingLR",
        {"T_max": 10, "eta_min": 1e-3},
    ),
    "CosineAnnealingLR(eta_min=0)": (
        lambda opt: mtl.CosineAnnealingLR(opt, T_max=EPOCHS),
        "CosineAnnealingLR",
        {"T_max": EPOCHS},
    ),
}


def _optimizer(lr: float = 0.1) -> mtl.SGD:
    return mtl.SGD([mtl.Parameter(np.zeros(3))], lr=lr)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_matches_torch_for_30_epochs(torch: ModuleType, name: str) -> None:
    make, torch_name, kwargs = SCHEDULES[name]
    optimizer = _optimizer()
    schedule = make(optimizer)
    weight = torch.zeros(3, requires_grad=True)
    torch_optimizer = torch.optim.SGD([weight], lr=0.1)
    reference = getattr(torch.optim.lr_scheduler, torch_name)(torch_optimizer, **kwargs)
    assert schedule.get_last_lr() == reference.get_last_lr() == [optimizer.lr] == [0.1]
    for epoch in range(1, EPOCHS + 1):
        weight.grad = torch.zeros(3)
        torch_optimizer.step()  # torch expects an optimizer step before each schedule step
        reference.step()
        schedule.step()
        expected = torch_optimizer.param_groups[0]["lr"]
        assert optimizer.lr == pytest.approx(expected, rel=1e-10, abs=1e-15), f"epoch {epoch}"
        assert schedule.get_last_lr() == [optimizer.lr]
        assert schedule.last_epoch == epoch


def test_closed_forms() -> None:
    optimizer = _optimizer(1.0)
    step = mtl.StepLR(optimizer, step_size=3, gamma=0.1)
    lrs = []
    for _ in range(7):
        step.step()
        lrs.append(optimizer.lr)
    np.testing.assert_allclose(lrs, [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01])

    exponential = mtl.ExponentialLR(_optimizer(2.0), gamma=0.5)
    for _ in range(3):
        exponential.step()
    assert exponential.get_last_lr() == pytest.approx([0.25])

    optimizer = _optimizer(1.0)
    cosine = mtl.CosineAnnealingLR(optimizer, T_max=4, eta_min=0.2)
    values = []
    for _ in range(8):
        cosine.step()
        values.append(optimizer.lr)
    half = (1 + math.cos(math.pi / 4)) / 2
    expected = [
        0.2 + 0.8 * half,
        0.6,
        0.2 + 0.8 * (1 - half),
        0.2,  # down to eta_min at T_max
        0.2 + 0.8 * (1 - half),
        0.6,
        0.2 + 0.8 * half,
        1.0,
    ]  # and back up, as in torch
    np.testing.assert_allclose(values, expected, atol=1e-15)


def test_the_optimizer_steps_with_the_scheduled_rate() -> None:
    parameter = mtl.Parameter(np.zeros(1))
    optimizer = mtl.SGD([parameter], lr=1.0)
    schedule = mtl.StepLR(optimizer, step_size=1, gamma=0.5)
    moves = []
    for _ in range(3):
        before = parameter.value.copy()
        parameter.grad[...] = 1.0
        optimizer.step()
        moves.append(float(before[0] - parameter.value[0]))
        schedule.step()
    assert moves == [1.0, 0.5, 0.25]


def test_a_rate_of_zero_at_the_end_of_annealing_is_allowed() -> None:
    parameter = mtl.Parameter(np.ones(2))
    optimizer = mtl.Adam([parameter], lr=0.1)
    schedule = mtl.CosineAnnealingLR(optimizer, T_max=2)
    schedule.step()
    schedule.step()
    assert optimizer.lr == 0.0
    parameter.grad[...] = 1.0
    optimizer.step()
    np.testing.assert_array_equal(parameter.value, np.ones(2))


def test_a_manual_change_lasts_until_the_next_step() -> None:
    optimizer = _optimizer(1.0)
    schedule = mtl.ExponentialLR(optimizer, gamma=0.5)
    optimizer.lr = 123.0
    schedule.step()
    assert optimizer.lr == 0.5  # from the base rate, recorded when the schedule was made


@pytest.mark.parametrize(
    ("build", "error", "pattern"),
    [
        (lambda opt: mtl.StepLR(opt, step_size=0), ValueError, "StepLR: step_size must be >= 1"),
        (
            lambda opt: mtl.StepLR(opt, step_size=2.5),
            TypeError,
            "StepLR: step_size must be an integer",
        ),
        (
            lambda opt: mtl.StepLR(opt, 2, gamma=0),
            ValueError,
            "StepLR: gamma must be finite and > 0",
        ),
        (
            lambda opt: mtl.ExponentialLR(opt, gamma=-0.5),
            ValueError,
            "ExponentialLR: gamma must be finite and > 0",
        ),
        (
            lambda opt: mtl.CosineAnnealingLR(opt, T_max=0),
            ValueError,
            "CosineAnnealingLR: T_max must be >= 1",
        ),
        (
            lambda opt: mtl.CosineAnnealingLR(opt, T_max=5, eta_min=-1e-3),
            ValueError,
            "CosineAnnealingLR: eta_min must be finite and >= 0",
        ),
    ],
)
def test_bad_arguments(
    build: Callable[[mtl.Optimizer], Any], error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        build(_optimizer())


def test_needs_an_optimizer() -> None:
    with pytest.raises(TypeError, match="ExponentialLR: expected an Optimizer, received list"):
        mtl.ExponentialLR([mtl.Parameter(np.zeros(2))], gamma=0.9)  # type: ignore[arg-type]
