"""Optimizers v2: parameter groups, frozen parameters, Adagrad, state dicts and resuming."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from test_optim import STEPS, _problem  # weights, and gradients over four decades

import minitorchless as mtl

# (our class, torch.optim class name, keyword arguments shared by both)
CASES: list[tuple[type[mtl.Optimizer], str, dict[str, Any]]] = [
    (mtl.SGD, "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-2}),
    (mtl.SGD, "SGD", {"lr": 0.05, "momentum": 0.5, "nesterov": True}),
    (mtl.Adam, "Adam", {"lr": 1e-2, "weight_decay": 0.1}),
    (mtl.Adam, "Adam", {"lr": 1e-2, "amsgrad": True, "betas": (0.8, 0.9)}),
    (mtl.AdamW, "AdamW", {"lr": 1e-2, "weight_decay": 0.1}),
    (mtl.RMSprop, "RMSprop", {"lr": 1e-2, "centered": True, "momentum": 0.5}),
    (mtl.Adagrad, "Adagrad", {"lr": 0.1}),
    (mtl.Adagrad, "Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1}),
    (mtl.Adagrad, "Adagrad", {"lr": 0.5, "initial_accumulator_value": 0.3, "eps": 1e-3}),
]
IDS = [f"{torch_name}-{kwargs}" for _, torch_name, kwargs in CASES]

# what the second group changes, per optimizer: the ones people change per group
OVERRIDES: dict[str, dict[str, Any]] = {
    "SGD": {"lr": 0.01, "weight_decay": 0.0, "momentum": 0.8},
    "Adam": {"lr": 3e-2, "weight_decay": 0.0, "betas": (0.5, 0.99)},
    "AdamW": {"lr": 3e-2, "weight_decay": 0.0, "eps": 1e-4},
    "RMSprop": {"lr": 3e-2, "alpha": 0.9, "centered": False},
    "Adagrad": {"lr": 0.05, "weight_decay": 0.0, "lr_decay": 0.1},
}


def _groups(params: list[Any], torch_name: str) -> list[dict[str, Any]]:
    """Two groups: the first parameter on the defaults, the others with overrides."""
    return [{"params": params[:1]}, {"params": params[1:], **OVERRIDES[torch_name]}]


def _run(optimizer: Any, params: list[Any], grads: list[list[np.ndarray]], torch: Any) -> None:
    """Steps ``optimizer`` through ``grads``; ``torch`` is set for torch tensors."""
    for step_grads in grads:
        for parameter, grad in zip(params, step_grads, strict=True):
            if torch is None:
                parameter.grad[...] = grad
            else:
                parameter.grad = torch.tensor(grad)
        optimizer.step()


def _assert_close(ours: list[mtl.Parameter], theirs: list[Any]) -> None:
    for index, (parameter, tensor) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(
            parameter.value, tensor.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=f"{index}"
        )


@pytest.mark.parametrize(("cls", "torch_name", "kwargs"), CASES, ids=IDS)
@pytest.mark.parametrize("grouped", [False, True], ids=["one group", "two groups"])
def test_matches_torch_step_by_step(
    torch: ModuleType,
    cls: type[mtl.Optimizer],
    torch_name: str,
    kwargs: dict[str, Any],
    grouped: bool,
) -> None:
    initial, grads = _problem()
    ours = [mtl.Parameter(value.copy()) for value in initial]
    theirs = [torch.tensor(value, requires_grad=True) for value in initial]
    optimizer = cls(_groups(ours, torch_name) if grouped else ours, **kwargs)
    reference = getattr(torch.optim, torch_name)(
        _groups(theirs, torch_name) if grouped else theirs, **kwargs
    )
    _run(optimizer, ours, grads, None)
    _run(reference, theirs, grads, torch)
    _assert_close(ours, theirs)
    for group, torch_group in zip(optimizer.param_groups, reference.param_groups, strict=True):
        for key, value in group.items():
            if key != "params":
                assert value == torch_group[key], key
    # the state dict has torch's layout and names, and torch's numbers in it
    state, torch_state = optimizer.state_dict(), reference.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [
        g["params"] for g in torch_state["param_groups"]
    ]
    assert state["state"].keys() == torch_state["state"].keys()
    for index, slots in state["state"].items():
        assert slots.keys() == torch_state["state"][index].keys()
        for key, value in slots.items():
            expected = torch_state["state"][index][key].numpy()
            np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-14, err_msg=key)


def test_adagrad_defaults_follow_torch() -> None:
    optimizer = mtl.Adagrad([mtl.Parameter(np.zeros(2))])
    assert optimizer.defaults == {
        "lr": 1e-2,
        "lr_decay": 0.0,
        "weight_decay": 0.0,
        "initial_accumulator_value": 0.0,
        "eps": 1e-10,
    }


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"lr_decay": -1.0}, "Adagrad: lr_decay must be finite and >= 0"),
        ({"initial_accumulator_value": -0.1}, "Adagrad: initial_accumulator_value must be"),
        ({"eps": float("nan")}, "Adagrad: eps must be finite and >= 0"),
        ({"lr": 0.0}, "Adagrad: lr must be finite and > 0"),
    ],
)
def test_adagrad_hyper_parameters(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        mtl.Adagrad([mtl.Parameter(np.zeros(2))], **kwargs)


# ------------------------------------------------------------ parameter groups
def test_groups_take_defaults_and_overrides() -> None:
    weight, bias = mtl.Parameter(np.ones((2, 2))), mtl.Parameter(np.ones(2))
    optimizer = mtl.SGD(
        [{"params": [weight]}, {"params": bias, "weight_decay": 0.0}], lr=0.1, weight_decay=0.5
    )
    assert [group["weight_decay"] for group in optimizer.param_groups] == [0.5, 0.0]
    assert optimizer.param_groups[1]["params"] == [bias]
    assert optimizer.params == [weight, bias]
    weight.grad[...] = 0.0
    bias.grad[...] = 0.0
    optimizer.step()  # only the decay moves the weights: w - lr * wd * w
    np.testing.assert_array_equal(weight.value, np.full((2, 2), 0.95))
    np.testing.assert_array_equal(bias.value, np.ones(2))


def test_setting_lr_sets_every_group() -> None:
    a, b = mtl.Parameter(np.zeros(1)), mtl.Parameter(np.zeros(1))
    optimizer = mtl.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert optimizer.lr == 0.1  # the first group's
    optimizer.lr = 0.01
    assert [group["lr"] for group in optimizer.param_groups] == [0.01, 0.01]
    optimizer.betas = (0.5, 0.5)
    assert all(group["betas"] == (0.5, 0.5) for group in optimizer.param_groups)


def test_add_param_group() -> None:
    a, b = mtl.Parameter(np.zeros(1)), mtl.Parameter(np.zeros(1))
    optimizer = mtl.RMSprop([a], lr=0.1)
    optimizer.add_param_group({"params": [b], "alpha": 0.5})
    assert optimizer.param_groups[1] == {**optimizer.defaults, "alpha": 0.5, "params": [b]}
    with pytest.raises(ValueError, match="in parameter groups 0 and 2"):
        optimizer.add_param_group({"params": [a]})


@pytest.mark.parametrize(
    ("groups", "error", "pattern"),
    [
        (lambda a, b: [{"params": [a]}, {"params": [a, b]}], ValueError, "groups 0 and 1"),
        (
            lambda a, b: [{"params": [a], "weight_decy": 0.1}],
            ValueError,
            r"unknown keys \['weight_decy'\]",
        ),
        (lambda a, b: [{"lr": 0.1}], ValueError, "parameter group 0 has no 'params'"),
        (lambda a, b: [{"params": [a]}, b], TypeError, "a mix of both"),
        (
            lambda a, b: [{"params": [a, np.zeros(2)]}],
            TypeError,
            "in parameter group 0, received ndarray",
        ),
        (
            lambda a, b: [{"params": [a]}, {"params": [b], "lr": -1}],
            ValueError,
            r"SGD: lr \(parameter group 1\) must be finite and > 0",
        ),
        (
            lambda a, b: [{"params": [b], "nesterov": True}],
            ValueError,
            r"nesterov \(parameter group 0\)=True needs momentum > 0",
        ),
        (lambda a, b: [{"params": []}], ValueError, "empty parameter list"),
        (lambda a, b: 3, TypeError, "received int"),
    ],
)
def test_bad_groups(groups: Any, error: type[Exception], pattern: str) -> None:
    a, b = mtl.Parameter(np.zeros(2)), mtl.Parameter(np.zeros(3))
    with pytest.raises(error, match=pattern):
        mtl.SGD(groups(a, b), lr=0.1)


def test_adam_betas_in_a_group_are_checked() -> None:
    with pytest.raises(
        ValueError, match=r"Adam: betas\[1\] \(parameter group 0\) must be in \[0, 1\)"
    ):
        mtl.Adam([{"params": [mtl.Parameter(np.zeros(2))], "betas": (0.9, 1.0)}])


# ------------------------------------------------------------------- freezing
@pytest.mark.parametrize(("cls", "torch_name", "kwargs"), CASES, ids=IDS)
def test_frozen_parameters_get_no_update_and_no_state(
    cls: type[mtl.Optimizer], torch_name: str, kwargs: dict[str, Any]
) -> None:
    initial, grads = _problem(2)
    params = [mtl.Parameter(value.copy()) for value in initial]
    params[1].requires_grad = False
    optimizer = cls(params, **kwargs)
    _run(optimizer, params, grads[:5], None)
    np.testing.assert_array_equal(params[1].value, initial[1])
    assert params[1] not in optimizer.state
    assert not np.array_equal(params[0].value, initial[0])
    assert 1 not in optimizer.state_dict()["state"]


@pytest.mark.parametrize("torch_name", ["Adam", "Adagrad", "RMSprop"])
def test_a_parameter_frozen_for_a_while_counts_its_own_steps(
    torch: ModuleType, torch_name: str
) -> None:
    # torch skips a parameter whose grad is None: the same as a frozen one here
    initial, grads = _problem(3)
    ours = [mtl.Parameter(value.copy()) for value in initial]
    theirs = [torch.tensor(value, requires_grad=True) for value in initial]
    optimizer = getattr(mtl, torch_name)(ours, lr=1e-2)
    reference = getattr(torch.optim, torch_name)(theirs, lr=1e-2)
    for step, step_grads in enumerate(grads):
        frozen = 5 <= step < 12
        ours[0].requires_grad = not frozen
        for index, (parameter, tensor, grad) in enumerate(
            zip(ours, theirs, step_grads, strict=True)
        ):
            parameter.grad[...] = grad
            tensor.grad = None if frozen and index == 0 else torch.tensor(grad)
        optimizer.step()
        reference.step()
    _assert_close(ours, theirs)
    assert optimizer.state[ours[0]]["step"] == STEPS - 7
    assert optimizer.state[ours[1]]["step"] == STEPS
