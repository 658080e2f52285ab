"""A float32 model holds no float64 array, anywhere, at any point of a training step.

The walk goes through every specimen (``tests/specimens.py``), every loss and every
optimizer: forward, loss, backward (and ``backward_parameters``), two
optimizer steps (state is created on the first), then it collects every
floating array reachable from the objects involved (the ``_saved`` caches and other
attributes, recursively through tuples, lists, dicts and child layers; each
parameter's value and gradient; the optimizer's state and work arrays) and
checks that each one is float32. A float64 temporary that survives a step is
memory and time lost, and a sign that somewhere the model was upcast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from specimens import SPECIMENS

import minitorchless as mtl

F32 = np.dtype(np.float32)

# every exported optimizer, with settings that take each code path
OPTIMIZERS: dict[str, Callable[[list[mtl.Parameter]], mtl.Optimizer]] = {
    "SGD": lambda p: mtl.SGD(p, lr=0.01),
    "SGD(momentum)": lambda p: mtl.SGD(p, lr=0.01, momentum=0.9),
    "SGD(nesterov, weight_decay)": lambda p: mtl.SGD(
        p, lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-2
    ),
    "Adam": lambda p: mtl.Adam(p, lr=1e-3),
    "Adam(amsgrad, weight_decay)": lambda p: mtl.Adam(p, lr=1e-3, amsgrad=True, weight_decay=1e-2),
    "AdamW": lambda p: mtl.AdamW(p, lr=1e-3),
    "RMSprop": lambda p: mtl.RMSprop(p, lr=1e-3),
    "Adagrad(lr_decay, weight_decay)": lambda p: mtl.Adagrad(
        p, lr=1e-2, lr_decay=1e-3, weight_decay=1e-2, initial_accumulator_value=0.1
    ),
    "RMSprop(centered, momentum, weight_decay)": lambda p: mtl.RMSprop(
        p, lr=1e-3, centered=True, momentum=0.9, weight_decay=1e-2
    ),
}


def _targets(kind: str, shape: tuple[int, int]) -> Any:
    """Targets of the kind a loss takes, deliberately *not* float32 where they are floats."""
    rng = np.random.default_rng(3)
    if kind == "labels":
        return rng.integers(0, shape[1], size=shape[0])
    if kind == "one-hot":
        return np.eye(shape[1])[rng.integers(0, shape[1], size=shape[0])]  # float64
    if kind == "binary":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    return rng.standard_normal(shape)  # float64


def _probabilities(logits: Any) -> Any:
    return 1 / (1 + np.exp(-logits))


# every exported loss: (factory, targets kind, transform of the float32 logits)
LOSSES: dict[str, tuple[Callable[[], mtl.Loss], str, Callable[[Any], Any] | None]] = {
    "MSELoss": (mtl.MSELoss, "values", None),
    "MSELoss(sum)": (lambda: mtl.MSELoss(reduction="sum"), "values", None),
    "L1Loss": (mtl.L1Loss, "values", None),
    "BCELoss": (mtl.BCELoss, "binary", _probabilities),
    "BCEWithLogitsLoss": (mtl.BCEWithLogitsLoss, "binary", None),
    "HuberLoss": (lambda: mtl.HuberLoss(delta=0.5), "values", None),
    "SmoothL1Loss": (mtl.SmoothL1Loss, "values", None),
    "SmoothL1Loss(beta=0)": (lambda: mtl.SmoothL1Loss(beta=0.0), "values", None),
    "CrossEntropyLoss(labels)": (mtl.CrossEntropyLoss, "labels", None),
    "CrossEntropyLoss(one-hot)": (mtl.CrossEntropyLoss, "one-hot", None),
    # class weights keep the dtype they are given: a float32 model gives float32 ones
    "CrossEntropyLoss(weight, ignore_index, label_smoothing)": (
        lambda: mtl.CrossEntropyLoss(
            np.array([1.0, 2.0, 0.5], dtype=np.float32), ignore_index=1, label_smoothing=0.1
        ),
        "labels",
        None,
    ),
    "CrossEntropyLoss(smoothed one-hot)": (
        lambda: mtl.CrossEntropyLoss(label_smoothing=0.2),
        "one-hot",
        None,
    ),
}


def float_arrays(root: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Yield ``(path, array)`` for every floating array or scalar reachable from ``root``."""
    seen: set[int] = set()
    stack = [(path, root)]
    while stack:
        where, obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray | np.generic):
            if obj.dtype.kind in "fc":
                yield where, obj
        elif isinstance(obj, mtl.Parameter):
            stack += [(f"{where}.value", obj.value), (f"{where}.grad", obj.grad)]
        elif isinstance(obj, dict):
            for key, value in obj.items():
                stack += [(f"{where}[{key!r}]", key), (f"{where}[{key!r}]", value)]
        elif isinstance(obj, list | tuple):
            stack += [(f"{where}[{index}]", item) for index, item in enumerate(obj)]
        elif isinstance(obj, mtl.Layer | mtl.Loss | mtl.Optimizer):
            # every attribute: _saved, parameters, buffers, optimizer state and
            # work arrays, child layers (and through them their caches)
            stack += [(f"{where}.{name}", value) for name, value in vars(obj).items()]


def assert_float32(**roots: Any) -> None:
    wrong = [
        f"{where}: {array.dtype}, shape {np.shape(array)}"
        for name, root in roots.items()
        for where, array in float_arrays(root, name)
        if array.dtype != F32
    ]
    assert not wrong, "float64 (or other) arrays in a float32 model:\n" + "\n".join(wrong)


def _ones_like(outputs: Any) -> Any:
    if isinstance(outputs, tuple):
        return tuple(np.ones_like(output) for output in outputs)
    return np.ones_like(outputs)


def test_the_tables_cover_every_exported_loss_and_optimizer() -> None:
    def concrete(base: type) -> set[type]:
        return {
            obj
            for obj in vars(mtl).values()
            if isinstance(obj, type)
            and issubclass(obj, base)
            and not getattr(obj, "__abstractmethods__", None)
        }

    losses = {type(factory()) for factory, _, _ in LOSSES.values()}
    weights = [mtl.Parameter(np.zeros(1))]
    optimizers = {type(factory(weights)) for factory in OPTIMIZERS.values()}
    assert concrete(mtl.Loss) <= losses, concrete(mtl.Loss) - losses
    assert concrete(mtl.Optimizer) <= optimizers, concrete(mtl.Optimizer) - optimizers


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_a_training_step_of_every_layer_stays_float32(name: str) -> None:
    specimen = SPECIMENS[name]
    layer = specimen.build(np.random.default_rng(0), np.float32)
    inputs = specimen.make_inputs(np.float32, seed=5)

    outputs = layer(inputs)
    grad_input = layer.backward(_ones_like(outputs))
    assert_float32(layer=layer, outputs=outputs, grad_input=grad_input)

    layer.zero_grad()
    layer(inputs)
    layer.backward_parameters(_ones_like(outputs))
    assert_float32(layer=layer)

    parameters = layer.parameters()
    if not parameters:
        return
    for optimizer_name, make in OPTIMIZERS.items():
        optimizer = make(parameters)
        for _ in range(2):  # state is created by the first step, updated by the second
            optimizer.zero_grad()
            layer.backward(_ones_like(layer(inputs)))
            optimizer.step()
        assert_float32(layer=layer, **{optimizer_name: optimizer})


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_keeps_float32(name: str) -> None:
    factory, kind, transform = LOSSES[name]
    logits = np.random.default_rng(4).standard_normal((8, 3)).astype(np.float32)
    predictions = transform(logits) if transform else logits
    loss_fn = factory()

    value = loss_fn(predictions, _targets(kind, logits.shape))
    grad = loss_fn.backward()

    assert isinstance(value, float)
    assert_float32(loss_fn=loss_fn, grad=grad)


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
def test_a_whole_training_step_stays_float32(loss_name: str, optimizer_name: str) -> None:
    """A model of every activation, fed float64 data: the first Dense casts it once."""
    rng = np.random.default_rng(0)
    model = mtl.Sequential(
        mtl.Dense(5, 8, bias=True, rng=rng, dtype=np.float32),
        mtl.ReLU(),
        mtl.Dropout(0.2, rng=rng),
        mtl.Dense(8, 8, rng=rng, dtype=np.float32),
        mtl.Tanh(),
        mtl.Dense(8, 8, bias=True, rng=rng, dtype=np.float32),
        mtl.LeakyReLU(0.1),
        mtl.Dense(8, 8, rng=rng, dtype=np.float32),
        mtl.Identity(),
        mtl.Dense(8, 3, rng=rng, dtype=np.float32),
    )
    factory, kind, transform = LOSSES[loss_name]
    if transform is not None:  # BCELoss takes probabilities
        model = mtl.Sequential(*model, mtl.Sigmoid())
    loss_fn = factory()
    optimizer = OPTIMIZERS[optimizer_name](model.parameters())
    X = rng.standard_normal((16, 5))  # float64 on purpose
    y = _targets(kind, (16, 3))

    for _ in range(2):
        predictions = model(X)
        loss_fn(predictions, y)
        optimizer.zero_grad()
        model.backward_parameters(loss_fn.backward())
        optimizer.step()
    assert_float32(model=model, loss_fn=loss_fn, optimizer=optimizer, predictions=predictions)

    mtl.fit(
        model, X, y, loss=loss_fn, optimizer=optimizer, epochs=2, batch_size=8, verbose=0, rng=rng
    )
    assert_float32(model=model, loss_fn=loss_fn, optimizer=optimizer)


def test_softmax_output_layer_stays_float32() -> None:
    rng = np.random.default_rng(0)
    model = mtl.Sequential(mtl.Dense(4, 3, rng=rng, dtype=np.float32), mtl.Softmax())
    loss_fn = mtl.MSELoss()
    optimizer = mtl.Adam(model.parameters())
    loss_fn(model(rng.standard_normal((5, 4))), np.eye(3)[rng.integers(0, 3, 5)])
    model.backward(loss_fn.backward())
    optimizer.step()
    assert_float32(model=model, loss_fn=loss_fn, optimizer=optimizer)


def test_the_walk_finds_a_float64_cache() -> None:
    """The checker itself: a float64 array hidden in a nested cache is reported."""
    layer = mtl.Sequential(mtl.Dense(2, 2, dtype=np.float32), mtl.Sigmoid())
    layer(np.ones((1, 2), dtype=np.float32))
    layer.layers[1].save_for_backward(np.zeros(1, dtype=np.float32), [{"deep": np.zeros(1)}])
    with pytest.raises(AssertionError, match=r"_layers.*\[1\]._saved\[1\]\[0\]\['deep'\]"):
        assert_float32(model=layer)
