"""Optimizers v2: parameter groups, frozen parameters, Adagrad, state dicts and resuming."""

from __future__ import annotations

import copy
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


# ---------------------------------------------------------------- state dicts
def _fresh(
    cls: type[mtl.Optimizer], torch_name: str, kwargs: dict[str, Any], values: list[np.ndarray]
) -> tuple[mtl.Optimizer, list[mtl.Parameter]]:
    params = [mtl.Parameter(value.copy()) for value in values]
    return cls(_groups(params, torch_name), **kwargs), params


@pytest.mark.parametrize(("cls", "torch_name", "kwargs"), CASES, ids=IDS)
def test_resuming_from_a_state_dict_is_bit_for_bit(
    cls: type[mtl.Optimizer], torch_name: str, kwargs: dict[str, Any]
) -> None:
    initial, grads = _problem(4)
    straight, straight_params = _fresh(cls, torch_name, kwargs, initial)
    _run(straight, straight_params, grads, None)

    first, first_params = _fresh(cls, torch_name, kwargs, initial)
    _run(first, first_params, grads[:9], None)
    saved = copy.deepcopy(first.state_dict())
    weights = [parameter.value.copy() for parameter in first_params]
    _run(first, first_params, grads[9:12], None)  # steps after the save change nothing in it
    # a new process: new parameters, a new optimizer built the same way
    resumed, resumed_params = _fresh(cls, torch_name, kwargs, weights)
    resumed.load_state_dict(saved)
    _run(resumed, resumed_params, grads[9:], None)
    for a, b in zip(straight_params, resumed_params, strict=True):
        np.testing.assert_array_equal(a.value, b.value)
    assert _equal(straight.state_dict(), resumed.state_dict())


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return bool(type(a) is type(b) and a == b)


def test_state_dict_is_a_copy_and_loading_copies() -> None:
    parameter = mtl.Parameter(np.ones(3))
    optimizer = mtl.SGD([parameter], lr=0.1, momentum=0.9)
    parameter.grad[...] = 1.0
    optimizer.step()
    saved = optimizer.state_dict()
    saved["state"][0]["momentum_buffer"][...] = 7.0
    np.testing.assert_array_equal(optimizer.state[parameter]["momentum_buffer"], np.ones(3))
    optimizer.load_state_dict(saved)
    saved["state"][0]["momentum_buffer"][...] = 9.0
    np.testing.assert_array_equal(optimizer.state[parameter]["momentum_buffer"], np.full(3, 7.0))


def test_loading_casts_the_state_to_the_parameter_dtype() -> None:
    parameter = mtl.Parameter(np.ones(3, dtype=np.float32))
    optimizer = mtl.Adam([parameter])
    state = {"step": 2.0, "exp_avg": np.ones(3), "exp_avg_sq": np.ones(3)}
    optimizer.load_state_dict(
        {"state": {0: state}, "param_groups": mtl.Adam([parameter]).state_dict()["param_groups"]}
    )
    assert optimizer.state[parameter]["step"] == 2
    assert optimizer.state[parameter]["exp_avg"].dtype == np.float32


@pytest.mark.parametrize(("cls", "torch_name", "kwargs"), CASES, ids=IDS)
def test_a_torch_state_dict_loads_and_continues_as_torch(
    torch: ModuleType, cls: type[mtl.Optimizer], torch_name: str, kwargs: dict[str, Any]
) -> None:
    initial, grads = _problem(5)
    theirs = [torch.tensor(value, requires_grad=True) for value in initial]
    reference = getattr(torch.optim, torch_name)(_groups(theirs, torch_name), **kwargs)
    _run(reference, theirs, grads[:8], torch)
    converted = _to_numpy(reference.state_dict())
    ours = [mtl.Parameter(tensor.detach().numpy().copy()) for tensor in theirs]
    optimizer = cls(_groups(ours, torch_name), **kwargs)
    optimizer.load_state_dict(converted)
    _run(reference, theirs, grads[8:], torch)
    _run(optimizer, ours, grads[8:], None)
    _assert_close(ours, theirs)


def _to_numpy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _to_numpy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_numpy(item) for item in value]
    return value.numpy() if hasattr(value, "numpy") else value


def _stepped() -> tuple[mtl.Adam, list[mtl.Parameter]]:
    params = [mtl.Parameter(np.ones((2, 3))), mtl.Parameter(np.ones(3))]
    optimizer = mtl.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1)
    for parameter in params:
        parameter.grad[...] = 1.0
    optimizer.step()
    return optimizer, params


def _bad_state_dicts() -> list[tuple[str, Any, str]]:
    good, _ = _stepped()
    saved = good.state_dict()

    def edit(change: Any) -> Any:
        state = copy.deepcopy(saved)
        change(state)
        return state

    return [
        ("not a dict", [1, 2], "expected a dict with 'state' and 'param_groups'"),
        (
            "one group",
            edit(lambda s: s["param_groups"].pop()),
            "the state has 1 parameter groups, this optimizer has 2",
        ),
        (
            "a parameter short",
            edit(lambda s: s["param_groups"][1].update(params=[])),
            "parameter group 1 has 0 parameters in the state, 1 in this optimizer",
        ),
        (
            "a wrong shape",
            edit(lambda s: s["state"][0].update(exp_avg=np.ones((3, 2)))),
            r"parameter 0: 'exp_avg' has shape \(3, 2\), expected the parameter's shape \(2, 3\)",
        ),
        (
            "an unknown name",
            edit(lambda s: s["state"][1].update(momentum_buffer=np.ones(3))),
            "'momentum_buffer' is not a state of Adam",
        ),
        (
            "an unknown parameter",
            edit(lambda s: s["state"].update({5: {}})),
            "parameter 5, which no parameter group lists",
        ),
        (
            "a negative step",
            edit(lambda s: s["state"][1].update(step=-1)),
            "'step' must be a whole number >= 0",
        ),
        (
            "a bad lr",
            edit(lambda s: s["param_groups"][1].update(lr=-0.1)),
            r"lr \(saved parameter group 1\) must be finite and >= 0",
        ),
        (
            "a missing option",
            edit(lambda s: s["param_groups"][0].pop("betas")),
            r"saved parameter group 0 lacks \['betas'\]",
        ),
        (
            "a torch option on",
            edit(lambda s: s["param_groups"][0].update(maximize=True)),
            "maximize .* is True, which Adam does not support",
        ),
        (
            "AdamW's state",
            edit(lambda s: s["param_groups"][0].update(decoupled_weight_decay=True)),
            "load it into AdamW instead",
        ),
    ]


@pytest.mark.parametrize(
    ("what", "state_dict", "pattern"),
    _bad_state_dicts(),
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_a_bad_state_dict_is_refused_and_changes_nothing(
    what: str, state_dict: Any, pattern: str
) -> None:
    optimizer, params = _stepped()
    before = copy.deepcopy(optimizer.state_dict())
    with pytest.raises((TypeError, ValueError), match=pattern):
        optimizer.load_state_dict(state_dict)
    assert _equal(optimizer.state_dict(), before)
    assert optimizer.param_groups[0]["params"] == params[:1]
