"""Optimizers: step-by-step agreement with torch.optim, validation, in-place updates, dtypes."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl

SHAPES = [(3, 4), (5,)]
STEPS = 20

# (our class, torch.optim class name, keyword arguments shared by both)
CASES: list[tuple[type[mtl.Optimizer], str, dict[str, Any]]] = [
    (mtl.SGD, "SGD", {"lr": 0.1}),
    (mtl.SGD, "SGD", {"lr": 0.1, "momentum": 0.9}),
    (mtl.SGD, "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (mtl.SGD, "SGD", {"lr": 0.1, "weight_decay": 0.01}),
    (mtl.SGD, "SGD", {"lr": 0.1, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1}),
    (mtl.Adam, "Adam", {"lr": 1e-2}),
    (mtl.Adam, "Adam", {"lr": 3e-2, "betas": (0.8, 0.99), "eps": 1e-6}),
    (mtl.Adam, "Adam", {"lr": 1e-2, "weight_decay": 0.1}),
    (mtl.Adam, "Adam", {"lr": 1e-2, "amsgrad": True}),
    (mtl.Adam, "Adam", {"lr": 1e-2, "betas": (0.0, 0.5), "amsgrad": True, "weight_decay": 0.05}),
    (mtl.AdamW, "AdamW", {"lr": 1e-2}),
    (mtl.AdamW, "AdamW", {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True}),
    (mtl.AdamW, "AdamW", {"lr": 1e-3, "weight_decay": 0.0, "eps": 1e-4}),
    (mtl.RMSprop, "RMSprop", {"lr": 1e-2}),
    (mtl.RMSprop, "RMSprop", {"lr": 1e-2, "alpha": 0.9, "momentum": 0.9}),
    (mtl.RMSprop, "RMSprop", {"lr": 1e-2, "centered": True}),
    (mtl.RMSprop, "RMSprop", {"lr": 1e-2, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    (mtl.RMSprop, "RMSprop", {"lr": 1e-3, "alpha": 0.5, "eps": 1e-3, "weight_decay": 0.01}),
]
IDS = [f"{torch_name}-{kwargs}" for _, torch_name, kwargs in CASES]
OPTIMIZERS: list[type[mtl.Optimizer]] = [mtl.SGD, mtl.Adam, mtl.AdamW, mtl.RMSprop, mtl.Adagrad]


def _problem(seed: int = 0) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Initial weights and a sequence of gradients whose scales span four decades."""
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(shape) for shape in SHAPES]
    grads = [
        [rng.standard_normal(shape) * 10 ** rng.uniform(-3, 1) for shape in SHAPES]
        for _ in range(STEPS)
    ]
    return initial, grads


def _parameters(initial: list[np.ndarray], dtype: Any = np.float64) -> list[mtl.Parameter]:
    return [mtl.Parameter(value.astype(dtype)) for value in initial]


@pytest.mark.parametrize(("cls", "torch_name", "kwargs"), CASES, ids=IDS)
def test_matches_torch_step_by_step(
    torch: ModuleType, cls: type[mtl.Optimizer], torch_name: str, kwargs: dict[str, Any]
) -> None:
    initial, grads = _problem()
    ours = _parameters(initial)
    optimizer = cls(ours, **kwargs)
    theirs = [torch.tensor(value, requires_grad=True) for value in initial]
    reference = getattr(torch.optim, torch_name)(theirs, **kwargs)
    for step, step_grads in enumerate(grads):
        for parameter, tensor, grad in zip(ours, theirs, step_grads, strict=True):
            parameter.grad[...] = grad
            tensor.grad = torch.tensor(grad)
        optimizer.step()
        reference.step()
        for index, (parameter, tensor) in enumerate(zip(ours, theirs, strict=True)):
            np.testing.assert_allclose(
                parameter.value,
                tensor.detach().numpy(),
                rtol=1e-10,
                atol=1e-13,
                err_msg=f"parameter {index} after step {step + 1}",
            )


@pytest.mark.parametrize(("cls", "torch_name", "kwargs"), CASES, ids=IDS)
def test_float32_stays_float32(
    cls: type[mtl.Optimizer], torch_name: str, kwargs: dict[str, Any]
) -> None:
    initial, grads = _problem(1)
    single, double = _parameters(initial, np.float32), _parameters(initial)
    optimizers = cls(single, **kwargs), cls(double, **kwargs)
    arrays = [parameter.value for parameter in single]
    for step_grads in grads[:5]:
        for params, optimizer in zip((single, double), optimizers, strict=True):
            for parameter, grad in zip(params, step_grads, strict=True):
                parameter.grad[...] = grad
            optimizer.step()
    for parameter, array, twin in zip(single, arrays, double, strict=True):
        assert parameter.value is array, "the update must be in place"
        assert parameter.value.dtype == np.float32
        assert parameter.grad.dtype == np.float32
        np.testing.assert_allclose(parameter.value, twin.value, rtol=1e-4, atol=1e-5)
    state = optimizers[0].state
    for parameter in single:
        for key, value in state.get(parameter, {}).items():
            if key == "step":  # a count, not an array
                assert isinstance(value, int)
                continue
            assert value.dtype == np.float32, f"state {key!r} is {value.dtype}"
    if torch_name != "SGD" or kwargs.get("momentum"):
        assert state, "this optimizer should keep state"


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_step_updates_in_place_and_leaves_grad_alone(cls: type[mtl.Optimizer]) -> None:
    parameter = mtl.Parameter(np.ones((2, 3)))
    view = parameter.value[0]  # a user's view sees the new weights
    optimizer = cls([parameter], lr=0.1, weight_decay=0.1)
    parameter.grad[...] = 0.5
    optimizer.step()
    assert np.all(view != 1)
    np.testing.assert_array_equal(parameter.grad, np.full((2, 3), 0.5))


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_zero_grad_and_duplicates(cls: type[mtl.Optimizer]) -> None:
    shared = mtl.Parameter(np.zeros(3))
    optimizer = cls([shared, shared], lr=0.1)
    assert optimizer.params == [shared]  # a parameter passed twice is updated once
    shared.grad[...] = 1.0
    optimizer.zero_grad()
    np.testing.assert_array_equal(shared.grad, np.zeros(3))


def test_sgd_plain_rule_on_a_model() -> None:
    model = mtl.Sequential(mtl.Dense(3, 2, rng=np.random.default_rng(0)))
    before = model.state_dict()
    optimizer = mtl.SGD(model.parameters(), lr=0.5)
    model(np.ones((4, 3)))
    model.zero_grad()
    model.backward(np.ones((4, 2)))
    optimizer.step()
    # dL/dW = x^T 1 = 4 everywhere, so every weight moves by -0.5 * 4
    np.testing.assert_allclose(model.state_dict()["0.weight"], before["0.weight"] - 2.0)


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize("cls", OPTIMIZERS)
@pytest.mark.parametrize("lr", [0, 0.0, -0.1, float("nan"), float("inf")])
def test_lr_must_be_positive_and_finite(cls: type[mtl.Optimizer], lr: float) -> None:
    with pytest.raises(ValueError, match=f"{cls.__name__}: lr must be finite and > 0"):
        cls([mtl.Parameter(np.zeros(2))], lr=lr)


@pytest.mark.parametrize("cls", OPTIMIZERS)
@pytest.mark.parametrize("lr", ["0.1", None, True, [0.1]])
def test_lr_must_be_a_number(cls: type[mtl.Optimizer], lr: Any) -> None:
    with pytest.raises(TypeError, match=f"{cls.__name__}: lr must be a number"):
        cls([mtl.Parameter(np.zeros(2))], lr=lr)


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_empty_parameter_list(cls: type[mtl.Optimizer]) -> None:
    with pytest.raises(ValueError, match=f"{cls.__name__}: received an empty parameter list"):
        cls([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        cls(mtl.Sequential(mtl.ReLU()).parameters(), lr=0.1)


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_non_parameter_items(cls: type[mtl.Optimizer]) -> None:
    with pytest.raises(TypeError, match=f"{cls.__name__}: expected Parameter objects.*ndarray"):
        cls([mtl.Parameter(np.zeros(2)), np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="received Dense"):
        cls([mtl.Dense(2, 2)], lr=0.1)  # the layer, not its parameters


def test_a_single_parameter_is_accepted() -> None:
    parameter = mtl.Parameter(np.zeros(2))
    assert mtl.SGD(parameter, lr=0.1).params == [parameter]


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"momentum": -0.5}, "SGD: momentum must be finite and >= 0"),
        ({"weight_decay": -1e-3}, "SGD: weight_decay must be finite and >= 0"),
        ({"nesterov": True}, "SGD: nesterov=True needs momentum > 0"),
    ],
)
def test_sgd_hyper_parameters(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        mtl.SGD([mtl.Parameter(np.zeros(2))], lr=0.1, **kwargs)


@pytest.mark.parametrize("cls", [mtl.Adam, mtl.AdamW])
@pytest.mark.parametrize(
    ("betas", "which", "value"),
    [
        ((1.0, 0.999), 0, "1.0"),
        ((0.9, 1.0), 1, "1.0"),
        ((-0.1, 0.999), 0, "-0.1"),
        ((0.9, 1.5), 1, "1.5"),
        ((0.9, float("nan")), 1, "nan"),
    ],
)
def test_adam_betas_outside_0_1(
    cls: type[mtl.Adam], betas: tuple[float, float], which: int, value: str
) -> None:
    with pytest.raises(ValueError, match=rf"{cls.__name__}: betas\[{which}\] .*\[0, 1\).*{value}"):
        cls([mtl.Parameter(np.zeros(2))], betas=betas)


@pytest.mark.parametrize("betas", [0.9, (0.9,), (0.9, 0.99, 0.999), None])
def test_adam_betas_must_be_a_pair(betas: Any) -> None:
    with pytest.raises(TypeError, match=r"Adam: betas must be a pair"):
        mtl.Adam([mtl.Parameter(np.zeros(2))], betas=betas)


def test_adam_betas_may_be_any_pair_of_numbers() -> None:
    optimizer = mtl.Adam([mtl.Parameter(np.zeros(2))], betas=np.array([0.5, 0.0]))
    assert optimizer.betas == (0.5, 0.0)


@pytest.mark.parametrize("cls", [mtl.Adam, mtl.AdamW, mtl.RMSprop])
@pytest.mark.parametrize("name", ["eps", "weight_decay"])
def test_negative_eps_and_weight_decay(cls: type[mtl.Optimizer], name: str) -> None:
    with pytest.raises(ValueError, match=f"{cls.__name__}: {name} must be finite and >= 0"):
        cls([mtl.Parameter(np.zeros(2))], **{name: -1e-8})


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"alpha": 1.0}, r"RMSprop: alpha must be in \[0, 1\), received 1.0"),
        ({"alpha": -0.1}, r"RMSprop: alpha must be in \[0, 1\), received -0.1"),
        ({"momentum": -0.9}, "RMSprop: momentum must be finite and >= 0"),
    ],
)
def test_rmsprop_hyper_parameters(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        mtl.RMSprop([mtl.Parameter(np.zeros(2))], **kwargs)


def test_rmsprop_alpha_must_be_a_number() -> None:
    with pytest.raises(TypeError, match=r"RMSprop: alpha must be a number in \[0, 1\)"):
        mtl.RMSprop([mtl.Parameter(np.zeros(2))], alpha="0.9")


def test_defaults_follow_torch() -> None:
    parameter = [mtl.Parameter(np.zeros(2))]
    adam, adamw, rmsprop = mtl.Adam(parameter), mtl.AdamW(parameter), mtl.RMSprop(parameter)
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    assert adamw.weight_decay == 1e-2
    assert (rmsprop.lr, rmsprop.alpha, rmsprop.eps) == (1e-2, 0.99, 1e-8)


def test_adam_on_a_float32_model_keeps_everything_float32() -> None:
    rng = np.random.default_rng(0)
    model = mtl.Sequential(
        mtl.Dense(4, 8, bias=True, rng=rng, dtype=np.float32),
        mtl.ReLU(),
        mtl.Dense(8, 3, rng=rng, dtype=np.float32),
    )
    loss_fn = mtl.CrossEntropyLoss()
    optimizer = mtl.Adam(model.parameters(), lr=1e-2)
    inputs, labels = rng.standard_normal((16, 4)), rng.integers(0, 3, 16)
    first = None
    for _ in range(30):
        loss = loss_fn(model(inputs), labels)
        first = loss if first is None else first
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
    assert loss < first  # it learns
    for name, parameter in model.named_parameters():
        assert parameter.value.dtype == np.float32, name
        assert parameter.grad.dtype == np.float32, name
        for key, value in optimizer.state[parameter].items():
            assert key == "step" or value.dtype == np.float32, f"{name} {key}"
