"""Schedules v2: LinearLR, OneCycleLR, ReduceLROnPlateau, SequentialLR and every schedule's
state dict, against torch.optim.lr_scheduler step by step, with parameter groups."""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl

STEPS = 40
Build = Callable[[Any, Any], Any]  # (library, optimizer) -> schedule; library is mtl or torch


def _lib(library: Any) -> Any:
    """The namespace holding the schedules: mtl itself, or torch.optim.lr_scheduler."""
    return library if library is mtl else library.optim.lr_scheduler


def _sequential(library: Any, optimizer: Any) -> Any:
    lib = _lib(library)
    warmup = lib.LinearLR(optimizer, start_factor=0.1, total_iters=4)
    decay = lib.ExponentialLR(optimizer, gamma=0.9)
    steps = lib.StepLR(optimizer, step_size=3, gamma=0.5)
    return lib.SequentialLR(optimizer, [warmup, decay, steps], milestones=[6, 15])


def _warmup_cosine(library: Any, optimizer: Any) -> Any:
    lib = _lib(library)
    warmup = lib.LinearLR(optimizer, start_factor=0.25, end_factor=1.0, total_iters=5)
    cosine = lib.CosineAnnealingLR(optimizer, T_max=STEPS - 5, eta_min=1e-4)
    return lib.SequentialLR(optimizer, [warmup, cosine], milestones=[5])


SCHEDULES: dict[str, Build] = {
    "LinearLR": lambda lib, opt: _lib(lib).LinearLR(opt),
    "LinearLR(decay)": lambda lib, opt: _lib(lib).LinearLR(
        opt, start_factor=1.0, end_factor=0.05, total_iters=30
    ),
    "StepLR": lambda lib, opt: _lib(lib).StepLR(opt, step_size=7, gamma=0.5),
    "ExponentialLR": lambda lib, opt: _lib(lib).ExponentialLR(opt, gamma=0.9),
    "CosineAnnealingLR": lambda lib, opt: _lib(lib).CosineAnnealingLR(opt, T_max=10, eta_min=1e-3),
    "OneCycleLR": lambda lib, opt: _lib(lib).OneCycleLR(opt, max_lr=1.0, total_steps=STEPS),
    "OneCycleLR(linear, per group)": lambda lib, opt: _lib(lib).OneCycleLR(
        opt,
        max_lr=[0.5, 2.0],
        total_steps=STEPS + 5,
        pct_start=0.25,
        anneal_strategy="linear",
        div_factor=10.0,
        final_div_factor=100.0,
        base_momentum=0.8,
        max_momentum=0.9,
    ),
    "OneCycleLR(no momentum)": lambda lib, opt: _lib(lib).OneCycleLR(
        opt, max_lr=0.3, total_steps=STEPS, cycle_momentum=False
    ),
    "SequentialLR": _sequential,
    "SequentialLR(warm-up, cosine)": _warmup_cosine,
}
OPTIMIZERS = {
    "SGD": {"lr": 0.1, "momentum": 0.9},
    "Adam": {"lr": 0.1},
}


def _optimizers(torch: ModuleType, name: str) -> tuple[mtl.Optimizer, Any]:
    """Ours and torch's, each on two groups with different rates."""
    kwargs = OPTIMIZERS[name]
    ours = [mtl.Parameter(np.zeros(3)), mtl.Parameter(np.zeros(2))]
    theirs = [torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)]
    optimizer = getattr(mtl, name)(
        [{"params": ours[:1]}, {"params": ours[1:], "lr": 0.02}], **kwargs
    )
    reference = getattr(torch.optim, name)(
        [{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.02}], **kwargs
    )
    for tensor in theirs:
        tensor.grad = torch.zeros(tensor.shape)
    return optimizer, reference


def _assert_groups(optimizer: mtl.Optimizer, reference: Any, step: int) -> None:
    for ours, theirs in zip(optimizer.param_groups, reference.param_groups, strict=True):
        for key in ("lr", "momentum", "betas"):
            if key in ours:
                np.testing.assert_allclose(
                    ours[key], theirs[key], rtol=1e-12, atol=1e-15, err_msg=f"{key} at step {step}"
                )


@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_matches_torch_step_by_step(torch: ModuleType, name: str, optimizer_name: str) -> None:
    optimizer, reference = _optimizers(torch, optimizer_name)
    schedule, torch_schedule = SCHEDULES[name](mtl, optimizer), SCHEDULES[name](torch, reference)
    _assert_groups(optimizer, reference, 0)
    for step in range(1, STEPS + 1):
        reference.step()  # torch wants an optimizer step before each schedule step
        torch_schedule.step()
        schedule.step()
        _assert_groups(optimizer, reference, step)
        np.testing.assert_allclose(schedule.get_last_lr(), torch_schedule.get_last_lr(), rtol=1e-12)
        assert schedule.last_epoch == torch_schedule.last_epoch == step


def _closed_form_keys(torch_state: dict[str, Any]) -> set[str]:
    return set(torch_state) - {"_step_count", "_is_initial", "_get_lr_called_within_step"}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_state_dict_has_torchs_names(torch: ModuleType, name: str) -> None:
    optimizer, reference = _optimizers(torch, "SGD")
    ours = SCHEDULES[name](mtl, optimizer).state_dict()
    theirs = SCHEDULES[name](torch, reference).state_dict()
    # torch keeps pct_start inside its phases, and use_beta1 only with cycle_momentum
    extra = {"pct_start", "use_beta1"} if name.startswith("OneCycleLR") else set()
    assert set(ours) - extra <= _closed_form_keys(theirs)
    for key in set(ours) - extra - {"_schedulers"}:
        if isinstance(ours[key], str | bool):
            assert ours[key] == theirs[key], key
        else:
            np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-12, err_msg=key)
    for inner, torch_inner in zip(
        ours.get("_schedulers", []), theirs.get("_schedulers", []), strict=True
    ):
        assert set(inner) <= _closed_form_keys(torch_inner)


def _run(name: str, stop: int | None, optimizer_first: bool = False) -> list[list[float]]:
    """Rates per step over STEPS steps; with ``stop``, saved there and resumed in new objects.

    ``optimizer_first`` loads the optimizer's state before the schedule is built.
    """

    def optimizer_only() -> mtl.Optimizer:
        params = [mtl.Parameter(np.zeros(3)), mtl.Parameter(np.zeros(2))]
        return mtl.SGD(
            [{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], lr=0.1, momentum=0.9
        )

    optimizer = optimizer_only()
    schedule = SCHEDULES[name](mtl, optimizer)
    rates = []
    for step in range(1, STEPS + 1):
        schedule.step()
        rates.append([group["lr"] for group in optimizer.param_groups] + [optimizer.momentum])
        if step == stop:
            saved = copy.deepcopy((optimizer.state_dict(), schedule.state_dict()))
            schedule.step()  # a step after the save is lost with the process
            optimizer = optimizer_only()
            if optimizer_first:
                optimizer.load_state_dict(saved[0])
            schedule = SCHEDULES[name](mtl, optimizer)
            if not optimizer_first:
                optimizer.load_state_dict(saved[0])
            schedule.load_state_dict(saved[1])
            # the next batch trains with the rates of the save, whatever the order of loading
            assert [group["lr"] for group in optimizer.param_groups] + [
                optimizer.momentum
            ] == rates[-1]
    return rates


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("stop", [1, 5, 17])
@pytest.mark.parametrize(
    "optimizer_first", [False, True], ids=["schedule first", "optimizer first"]
)
def test_resuming_from_state_dicts_is_bit_for_bit(
    name: str, stop: int, optimizer_first: bool
) -> None:
    assert _run(name, stop, optimizer_first) == _run(name, None)


# ---------------------------------------------------------- ReduceLROnPlateau
def _metrics(seed: int = 0) -> list[float]:
    """A loss that falls, stalls with noise, falls a little more, then climbs."""
    rng = np.random.default_rng(seed)
    falling = list(np.linspace(1.0, 0.5, 10))
    flat = list(0.5 + 0.01 * rng.standard_normal(25))
    return falling + flat + list(np.linspace(0.49, 0.45, 10)) + list(np.linspace(0.5, 2.0, 15))


PLATEAUS: list[dict[str, Any]] = [
    {},
    {"patience": 2},
    {"patience": 3, "factor": 0.5, "cooldown": 4},
    {"patience": 1, "threshold": 0.05, "threshold_mode": "abs"},
    {"mode": "max", "patience": 2, "threshold": 1e-3},
    {"mode": "max", "patience": 0, "threshold_mode": "abs", "threshold": 0.0},
    {"patience": 0, "factor": 0.2, "min_lr": [0.01, 0.001]},
    {"patience": 0, "factor": 0.5, "min_lr": 0.0999, "eps": 1e-5},
]


@pytest.mark.parametrize("kwargs", PLATEAUS, ids=[str(k) for k in PLATEAUS])
def test_plateau_matches_torch(torch: ModuleType, kwargs: dict[str, Any]) -> None:
    optimizer, reference = _optimizers(torch, "Adam")
    schedule = mtl.ReduceLROnPlateau(optimizer, **kwargs)
    torch_schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(reference, **kwargs)
    reductions = 0
    for step, value in enumerate(_metrics(), start=1):
        before = optimizer.lr
        reference.step()
        torch_schedule.step(value)
        schedule.step(value)
        reductions += optimizer.lr != before
        assert schedule.get_last_lr() == torch_schedule.get_last_lr(), f"step {step}"
        assert [g["lr"] for g in optimizer.param_groups] == [
            g["lr"] for g in reference.param_groups
        ]
        assert (schedule.best, schedule.num_bad_epochs, schedule.cooldown_counter) == (
            torch_schedule.best,
            torch_schedule.num_bad_epochs,
            torch_schedule.cooldown_counter,
        )
    assert reductions > 0  # the sequence exercises the reductions


def test_plateau_resumes_bit_for_bit() -> None:
    def build() -> tuple[mtl.Optimizer, mtl.ReduceLROnPlateau]:
        optimizer = mtl.SGD([mtl.Parameter(np.zeros(2))], lr=1.0)
        return optimizer, mtl.ReduceLROnPlateau(optimizer, patience=2, cooldown=1)

    optimizer, schedule = build()
    straight = []
    for value in _metrics():
        schedule.step(value)
        straight.append(optimizer.lr)
    optimizer, schedule = build()
    resumed = []
    for step, value in enumerate(_metrics()):
        schedule.step(value)
        resumed.append(optimizer.lr)
        if step == 20:
            saved = copy.deepcopy((optimizer.state_dict(), schedule.state_dict()))
            optimizer, schedule = build()
            optimizer.load_state_dict(saved[0])
            schedule.load_state_dict(saved[1])
    assert resumed == straight


def test_plateau_needs_the_metric() -> None:
    schedule = mtl.ReduceLROnPlateau(mtl.SGD([mtl.Parameter(np.zeros(2))], lr=1.0))
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau: step\(metrics\) needs the monitored"):
        schedule.step()
    with pytest.raises(TypeError, match="received 'loss'"):
        schedule.step("loss")  # type: ignore[arg-type]


# ------------------------------------------------------------------- refusals
def _sgd(groups: int = 1) -> mtl.SGD:
    return mtl.SGD([{"params": [mtl.Parameter(np.zeros(2))]} for _ in range(groups)], lr=0.1)


@pytest.mark.parametrize(
    ("build", "error", "pattern"),
    [
        (
            lambda o: mtl.LinearLR(o, start_factor=0),
            ValueError,
            r"LinearLR: start_factor .*\(0, 1\]",
        ),
        (
            lambda o: mtl.LinearLR(o, end_factor=1.5),
            ValueError,
            r"LinearLR: end_factor must be in \[0, 1\]",
        ),
        (
            lambda o: mtl.LinearLR(o, total_iters=0),
            ValueError,
            "LinearLR: total_iters must be >= 1",
        ),
        (
            lambda o: mtl.OneCycleLR(o, max_lr=0.0, total_steps=5),
            ValueError,
            "OneCycleLR: max_lr must be",
        ),
        (
            lambda o: mtl.OneCycleLR(o, max_lr=[1, 2], total_steps=5),
            ValueError,
            r"one value per parameter group \(1\), received 2",
        ),
        (
            lambda o: mtl.OneCycleLR(o, 1.0, total_steps=5, pct_start=1.0),
            ValueError,
            "pct_start must be strictly between 0 and 1",
        ),
        (
            lambda o: mtl.OneCycleLR(o, 1.0, total_steps=5, anneal_strategy="exp"),
            ValueError,
            "'cos' or 'linear', received 'exp'",
        ),
        (
            lambda o: mtl.OneCycleLR(mtl.Adagrad(o.params), 1.0, total_steps=5),
            ValueError,
            "needs an optimizer with momentum or betas, received Adagrad",
        ),
        (lambda o: mtl.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor must be < 1"),
        (
            lambda o: mtl.ReduceLROnPlateau(o, mode="lowest"),
            ValueError,
            r"mode must be one of \('min', 'max'\)",
        ),
        (
            lambda o: mtl.ReduceLROnPlateau(o, threshold_mode="pct"),
            ValueError,
            "threshold_mode must be one of",
        ),
        (
            lambda o: mtl.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]),
            ValueError,
            "min_lr needs one value per parameter group",
        ),
        (
            lambda o: mtl.SequentialLR(o, [mtl.StepLR(o, 2)], milestones=[3]),
            ValueError,
            "expected 0 milestones for 1 schedules, received 1",
        ),
        (
            lambda o: mtl.SequentialLR(
                o, [mtl.StepLR(o, 2), mtl.StepLR(o, 3), mtl.StepLR(o, 4)], [5, 5]
            ),
            ValueError,
            r"milestones must increase, received \[5, 5\]",
        ),
        (
            lambda o: mtl.SequentialLR(o, [mtl.StepLR(o, 2), mtl.ReduceLROnPlateau(o)], [3]),
            TypeError,
            r"schedulers\[1\] must be a schedule with a closed form",
        ),
        (
            lambda o: mtl.SequentialLR(o, [mtl.StepLR(_sgd(), 2)], []),
            ValueError,
            r"schedulers\[0\] drives another optimizer",
        ),
        (lambda o: mtl.SequentialLR(o, [], []), ValueError, "at least one schedule"),
    ],
)
def test_bad_arguments(
    build: Callable[[mtl.Optimizer], Any], error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        build(_sgd())


def test_one_cycle_refuses_steps_past_the_cycle() -> None:
    optimizer = mtl.SGD([mtl.Parameter(np.zeros(2))], lr=0.1, momentum=0.9)
    schedule = mtl.OneCycleLR(optimizer, max_lr=1.0, total_steps=4)
    for _ in range(4):  # torch allows total_steps steps after the start
        schedule.step()
    lr = optimizer.lr
    with pytest.raises(ValueError, match="OneCycleLR: stepped 5 times, but total_steps is 4"):
        schedule.step()
    assert (schedule.last_epoch, optimizer.lr) == (4, lr)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_a_state_for_another_optimizer_is_refused_and_changes_nothing(name: str) -> None:
    schedule = SCHEDULES[name](mtl, _sgd(2))
    schedule.step()
    before = copy.deepcopy(schedule.state_dict())
    other = SCHEDULES[name](mtl, _sgd(2)).state_dict()
    other["_last_lr"] = [0.5]  # one group instead of two
    for bad in ([1, 2], {**before, "surprise": 1}, other):
        with pytest.raises((TypeError, ValueError), match="load_state_dict"):
            schedule.load_state_dict(bad)
        assert schedule.state_dict() == before


def test_a_bad_inner_state_leaves_a_sequence_unchanged() -> None:
    optimizer = _sgd()
    schedule = _sequential(mtl, optimizer)
    for _ in range(8):
        schedule.step()
    before = copy.deepcopy(schedule.state_dict())
    bad = copy.deepcopy(before)
    bad["last_epoch"] = 2
    bad["_schedulers"][2]["gamma"] = "half"
    with pytest.raises(ValueError, match=r"StepLR.load_state_dict: 'gamma' must be like 0.5"):
        schedule.load_state_dict(bad)
    assert schedule.state_dict() == before
    with pytest.raises(ValueError, match="the state has 2 schedules, this one 3"):
        schedule.load_state_dict({**before, "_schedulers": before["_schedulers"][:2]})
