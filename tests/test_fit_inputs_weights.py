"""fit with several inputs, sample and class weights, gradient clipping and the before-step hook."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from numpy.typing import NDArray

import minitorchless as mtl
from minitorchless.callbacks import Callback


def _data(n: int = 60, seed: int = 0) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, 2)), rng.normal(size=(n, 3))
    y = (a[:, 0] + b[:, 1] > 0).astype(np.int64) + (b[:, 2] > 0.5)
    return a, b, y


def _two_input_graph(seed: int = 0) -> mtl.Graph:
    rng = np.random.default_rng(seed)
    return mtl.Graph(
        inputs={"a": 2, "b": 3},
        nodes=[
            ("both", mtl.Concatenate(), ["a", "b"]),
            ("hidden", mtl.Dense(5, 8, bias=True, rng=rng), "both"),
            ("tanh", mtl.Tanh(), "hidden"),
            ("logits", mtl.Dense(8, 3, bias=True, rng=rng), "tanh"),
        ],
        outputs="logits",
    )


def _one_input_twin(graph: mtl.Graph) -> mtl.Sequential:
    """The same network on the concatenated inputs, with the same weights."""
    twin = mtl.Sequential(mtl.Dense(5, 8, bias=True), mtl.Tanh(), mtl.Dense(8, 3, bias=True))
    twin.load_state_dict(dict(zip(twin.state_dict(), graph.state_dict().values(), strict=True)))
    return twin


def _fit(model: mtl.Layer, X: Any, y: Any, **kwargs: Any) -> mtl.History:
    options: dict[str, Any] = {
        "loss": mtl.CrossEntropyLoss(),
        "optimizer": mtl.SGD(model.parameters(), lr=0.3, momentum=0.5),
        "epochs": 4,
        "batch_size": 16,
        "verbose": 0,
        "rng": np.random.default_rng(7),
    }
    options.update(kwargs)
    return mtl.fit(model, X, y, **options)


# ---------------------------------------------------------------- several inputs
@pytest.mark.parametrize("form", ["tuple", "dict"])
def test_several_inputs_are_batched_shuffled_and_split_together(form: str) -> None:
    a, b, y = _data()
    graph = _two_input_graph()
    twin = _one_input_twin(graph)
    X: Any = (a, b) if form == "tuple" else {"b": b, "a": a}
    history = _fit(graph, X, y, validation_split=0.25, metrics=["accuracy"])
    expected = _fit(twin, np.hstack([a, b]), y, validation_split=0.25, metrics=["accuracy"])
    # the same rows met the same weights in the same order: the same numbers
    assert list(history.history) == list(expected.history)
    for name, values in history.history.items():
        np.testing.assert_allclose(values, expected.history[name], rtol=1e-12)
    for mine, theirs in zip(graph.state_dict().values(), twin.state_dict().values(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        mtl.predict(graph, X, batch_size=7), mtl.predict(twin, np.hstack([a, b])), rtol=1e-12
    )
    scores = mtl.evaluate(graph, X, y, loss=mtl.CrossEntropyLoss(), batch_size=9)
    assert scores["loss"] == pytest.approx(
        mtl.evaluate(twin, np.hstack([a, b]), y, loss=mtl.CrossEntropyLoss())["loss"], rel=1e-12
    )


def test_validation_data_with_several_inputs() -> None:
    a, b, y = _data()
    graph = _two_input_graph()
    history = _fit(
        graph, (a[:40], b[:40]), y[:40], validation_data=({"a": a[40:], "b": b[40:]}, y[40:])
    )
    score = mtl.evaluate(graph, (a[40:], b[40:]), y[40:], loss=mtl.CrossEntropyLoss())
    assert history["val_loss"][-1] == pytest.approx(score["loss"], rel=1e-12)


def test_several_inputs_misuses_name_the_inputs() -> None:
    a, b, y = _data()
    graph = _two_input_graph()
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['c'\]"):
        _fit(graph, {"a": a, "c": b}, y)
    with pytest.raises(ValueError, match=r"takes 2 input\(s\), received X with 1 array"):
        _fit(graph, (a,), y)
    with pytest.raises(ValueError, match=r"X\['a'\] has 60, X\['b'\] has 59"):
        _fit(graph, {"a": a, "b": b[:-1]}, y)
    with pytest.raises(mtl.ShapeError, match=r"fit: X does not suit the model: .*'b'"):
        _fit(graph, (a, a), y)
    with pytest.raises(TypeError, match="X is a dict, which needs a Graph with named inputs"):
        _fit(_one_input_twin(graph), {"a": a}, y)


# -------------------------------------------------------------------- weights
def _hand_loop(model: mtl.Layer, X: NDArray[Any], y: NDArray[Any], w: NDArray[Any]) -> None:
    """Full-batch SGD on the weighted loss, written out."""
    loss_fn, optimizer = mtl.CrossEntropyLoss(), mtl.SGD(model.parameters(), lr=0.3)
    for _ in range(4):
        loss_fn(model(X), y, sample_weight=w)
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()


def test_sample_weight_and_class_weight_weigh_each_rows_loss_term() -> None:
    a, b, y = _data()
    X = np.hstack([a, b])
    weights = np.random.default_rng(1).uniform(0, 3, len(y))
    class_weight = {0: 0.5, 2: 4.0}  # class 1 is not named: it weighs 1
    per_row = np.array([0.5, 1.0, 4.0])[y] * weights
    model, reference = _one_input_twin(_two_input_graph()), _one_input_twin(_two_input_graph())
    history = _fit(
        model, X, y, batch_size=None, optimizer=mtl.SGD(model.parameters(), lr=0.3),
        sample_weight=weights, class_weight=class_weight,
    )  # fmt: skip
    _hand_loop(reference, X, y, per_row)
    for mine, theirs in zip(
        model.state_dict().values(), reference.state_dict().values(), strict=True
    ):
        np.testing.assert_array_equal(mine, theirs)
    assert history["loss"][-1] != pytest.approx(
        mtl.evaluate(model, X, y, loss=mtl.CrossEntropyLoss())["loss"]
    )
    # torch's reduction="none" arithmetic: sum_i w_i l_i / N
    torch_terms = torch.nn.functional.cross_entropy(
        torch.from_numpy(mtl.predict(model, X)), torch.from_numpy(y), reduction="none"
    ).numpy()
    weighted = mtl.evaluate(
        model, X, y, loss=mtl.CrossEntropyLoss(), sample_weight=per_row, batch_size=13
    )
    assert weighted["loss"] == pytest.approx((per_row * torch_terms).sum() / len(y), rel=1e-12)


def test_all_ones_sample_weights_change_nothing() -> None:
    a, b, y = _data()
    X = np.hstack([a, b])
    plain, weighted = _one_input_twin(_two_input_graph()), _one_input_twin(_two_input_graph())
    h1 = _fit(plain, X, y)
    h2 = _fit(weighted, X, y, sample_weight=np.ones(len(y)), class_weight={0: 1.0})
    assert h1.history == h2.history
    for mine, theirs in zip(
        plain.state_dict().values(), weighted.state_dict().values(), strict=True
    ):
        np.testing.assert_array_equal(mine, theirs)


def test_weights_are_checked_before_training() -> None:
    a, b, y = _data()
    X = np.hstack([a, b])
    model = _one_input_twin(_two_input_graph())
    before = model.state_dict()
    with pytest.raises(
        ValueError, match=r"sample_weight must hold one weight per sample, shape \(60,\)"
    ):
        _fit(model, X, y, sample_weight=np.ones(59))
    bad = np.ones(60)
    bad[33] = -1
    with pytest.raises(ValueError, match=r"sample_weight must be >= 0, received -1.0 at index 33"):
        _fit(model, X, y, sample_weight=bad)
    with pytest.raises(ValueError, match=r"class_weight must be >= 0, received -2.0 for class 1"):
        _fit(model, X, y, class_weight={1: -2.0})
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


# ---------------------------------------------------------- gradient clipping
def _regression(seed: int = 0) -> tuple[mtl.Sequential, NDArray[Any], NDArray[Any]]:
    rng = np.random.default_rng(seed)
    model = mtl.Sequential(
        mtl.Dense(3, 6, bias=True, rng=rng), mtl.Tanh(), mtl.Dense(6, 2, rng=rng)
    )
    X = rng.normal(size=(32, 3)) * 4
    return model, X, rng.normal(size=(32, 2)) * 10


@pytest.mark.parametrize("max_norm", [0.05, 1.0, 1e6])
def test_fit_clip_grad_norm_follows_torch_step_by_step(max_norm: float) -> None:
    model, X, Y = _regression()
    module = mtl.to_torch(model).double()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.05, momentum=0.9)
    norms = []
    for _ in range(3):  # batches of 8, in order, for 3 epochs
        for start in range(0, 32, 8):
            optimizer.zero_grad()
            out = module(torch.from_numpy(X[start : start + 8]))
            torch.nn.functional.mse_loss(out, torch.from_numpy(Y[start : start + 8])).backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm)))
            optimizer.step()

    class Norms(Callback):
        def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
            seen.append(logs["grad_norm"])

    seen: list[float] = []
    sgd = mtl.SGD(model.parameters(), lr=0.05, momentum=0.9)
    mtl.fit(
        model, X, Y, loss=mtl.MSELoss(), optimizer=sgd, epochs=3, batch_size=8, shuffle=False,
        verbose=0, clip_grad_norm=max_norm, callbacks=[Norms()],
    )  # fmt: skip
    np.testing.assert_allclose(seen, norms, rtol=1e-10)
    theirs = mtl.from_torch(module)
    for mine, expected in zip(
        model.state_dict().values(), theirs.state_dict().values(), strict=True
    ):
        np.testing.assert_allclose(mine, expected, rtol=1e-10, atol=1e-12)
    if max_norm < 1:
        assert max(norms) > max_norm  # clipping did happen


def test_on_before_step_sees_the_gradients_and_can_change_them() -> None:
    model, X, Y = _regression()
    frozen_by_hand = model[0].weight.value.copy()
    norms: list[float] = []

    class ZeroFirstLayer(Callback):
        def on_before_step(self, batch: int, logs: dict[str, float]) -> None:
            grad = self.model[0].weight.grad
            norms.append(float(np.abs(grad).sum()))
            grad[...] = 0  # gradient surgery: no update for this weight

    mtl.fit(
        model, X, Y, loss=mtl.MSELoss(), optimizer=mtl.SGD(model.parameters(), lr=0.01),
        epochs=2, batch_size=8, verbose=0, callbacks=[ZeroFirstLayer()],
    )  # fmt: skip
    assert len(norms) == 8 and min(norms) > 0  # the gradient was there, every step
    np.testing.assert_array_equal(model[0].weight.value, frozen_by_hand)
    assert not np.array_equal(model[2].weight.value, _regression()[0][2].weight.value)


def test_clip_grad_norm_must_be_positive() -> None:
    model, X, Y = _regression()
    with pytest.raises(ValueError, match="clip_grad_norm"):
        mtl.fit(model, X, Y, loss=mtl.MSELoss(), optimizer=mtl.SGD(model.parameters(), lr=0.1),
                epochs=1, verbose=0, clip_grad_norm=0.0)  # fmt: skip
