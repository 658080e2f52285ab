"""Optimizer state dicts: PyTorch's layout, checks that change nothing, bit-for-bit resuming."""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from test_optim import _problem
from test_optim_v2 import CASES, IDS, _assert_close, _groups, _run

import minitorchless as mtl


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
