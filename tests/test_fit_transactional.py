"""A transactional fit: misuses fail before any step, on_train_end always runs, inference is
thread-safe and leaves the model's mode alone; and a loss that explodes is divergence."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.datasets import load_iris

import minitorchless as mtl
from minitorchless.callbacks import Callback, EarlyStopping


def _blobs(n: int = 90, seed: int = 0, spread: float = 0.5) -> tuple[NDArray[Any], NDArray[Any]]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return centres[y] + rng.normal(0, spread, (n, 2)), y


def _classifier(seed: int = 0, inputs: int = 2) -> mtl.Sequential:
    rng = np.random.default_rng(seed)
    return mtl.Sequential(
        mtl.Dense(inputs, 8, bias=True, rng=rng), mtl.Tanh(), mtl.Dense(8, 3, bias=True, rng=rng)
    )


class _Steps(Callback):
    """Counts the optimizer steps that were about to happen."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0

    def on_before_step(self, batch: int, logs: dict[str, float]) -> None:
        self.steps += 1


def _fails_untouched(model: mtl.Layer, error: type[Exception], match: str, **kwargs: Any) -> None:
    """``fit`` raises before its first step: no step counted, every weight as it was."""
    before = model.state_dict()
    steps = _Steps()
    options: dict[str, Any] = {
        "loss": mtl.CrossEntropyLoss(),
        "optimizer": mtl.SGD(model.parameters(), lr=0.5),
        "epochs": 3,
        "batch_size": 16,
        "verbose": 0,
        "rng": np.random.default_rng(0),
    }
    options.update(kwargs)
    X, y = options.pop("X"), options.pop("y")
    with pytest.raises(error, match=match):
        mtl.fit(model, X, y, callbacks=[steps], **options)
    assert steps.steps == 0
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


# ------------------------------------------------------------ checked up front
def test_a_bad_label_is_reported_with_its_row_of_y_before_any_step() -> None:
    X, y = _blobs()
    y = y.copy()
    y[50] = 3  # three classes: 3 is out of range; batches of 16 put row 50 in batch 4
    message = r"fit: y \(in its original row order\) .*CrossEntropyLoss.*label 3 at index 50 "
    _fails_untouched(_classifier(), ValueError, message, X=X, y=y)


def test_validation_data_of_the_wrong_width_is_named_before_any_step() -> None:
    X, y = _blobs()
    bad = (np.zeros((10, 3)), np.zeros(10, dtype=int))
    match = r"fit: validation_data X_val does not suit the model: .*2.*3"
    _fails_untouched(_classifier(), mtl.ShapeError, match, X=X, y=y, validation_data=bad)


def test_validation_labels_out_of_range_are_named_before_any_step() -> None:
    X, y = _blobs()
    bad = (np.zeros((10, 2)), np.full(10, 7))
    match = r"fit: validation_data y_val .*label 7 at index 0"
    _fails_untouched(_classifier(), ValueError, match, X=X, y=y, validation_data=bad)


def test_training_data_of_the_wrong_width_fails_before_any_step() -> None:
    X, y = _blobs()
    match = r"fit: X does not suit the model"
    _fails_untouched(_classifier(), mtl.ShapeError, match, X=np.hstack([X, X]), y=y)


def test_an_optimizer_on_another_models_parameters_is_refused() -> None:
    X, y = _blobs()
    other = _classifier(seed=1)
    match = r"4 of the optimizer's 4 parameters are not trainable parameters of the model"
    optimizer = mtl.SGD(other.parameters(), lr=0.5)
    _fails_untouched(_classifier(), ValueError, match, X=X, y=y, optimizer=optimizer)


def test_an_optimizer_over_frozen_parameters_is_refused_and_a_subset_is_accepted() -> None:
    X, y = _blobs()
    model = _classifier()
    optimizer = mtl.SGD(model.parameters(), lr=0.5)
    model[0].weight.requires_grad = False
    match = r"1 of the optimizer's 4 .*\(1 of them frozen parameters of the model\)"
    _fails_untouched(model, ValueError, match, X=X, y=y, optimizer=optimizer)
    head = model[2].parameters()  # training only the last layer is a legitimate use
    before = model[0].bias.value.copy()
    mtl.fit(model, X, y, loss=mtl.CrossEntropyLoss(), optimizer=mtl.SGD(head, lr=0.5),
            epochs=2, verbose=0)  # fmt: skip
    np.testing.assert_array_equal(model[0].bias.value, before)


def test_a_model_with_several_outputs_is_refused_with_a_pointer() -> None:
    X, y = _blobs()
    rng = np.random.default_rng(0)
    graph = mtl.Graph(
        inputs={"x": 2},
        nodes=[("a", mtl.Dense(2, 3, rng=rng), "x"), ("b", mtl.Dense(2, 3, rng=rng), "x")],
        outputs=["a", "b"],
    )
    _fails_untouched(
        graph, TypeError, r"Graph has 2 outputs; fit trains a model with one", X=X, y=y
    )


# ------------------------------------------------------ on_train_end always runs
class _Interrupt(Callback):
    """Raises at the end of the first epoch whose val_loss is worse than an earlier one."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error, self.best, self.at = error, np.inf, -1

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if logs["val_loss"] > self.best:
            self.at = epoch
            raise self.error
        self.best = logs["val_loss"]


class _Weights(Callback):
    """The weights at the end of every epoch, and its validation loss."""

    def __init__(self) -> None:
        super().__init__()
        self.weights: list[dict[str, NDArray[Any]]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.weights.append(self.model.state_dict())


@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("disk full")])
def test_early_stopping_restores_the_best_weights_however_training_ends(
    error: BaseException,
) -> None:
    X, y = _blobs(spread=2.5)  # overlapping classes: the validation loss goes up and down
    model = _classifier()
    seen, stopper = _Weights(), EarlyStopping("val_loss", patience=50, restore_best_weights=True)
    interrupt = _Interrupt(error)
    with pytest.raises(type(error)):
        mtl.fit(
            model,
            X,
            y,
            loss=mtl.CrossEntropyLoss(),
            optimizer=mtl.SGD(model.parameters(), lr=1.0),
            epochs=30,
            batch_size=8,
            validation_split=0.3,
            verbose=0,
            rng=np.random.default_rng(0),
            callbacks=[seen, stopper, interrupt],
        )
    assert interrupt.at > 0 and stopper.best_epoch == interrupt.at - 1
    best = seen.weights[stopper.best_epoch]
    last = seen.weights[interrupt.at]  # the weights training was interrupted with
    assert any(not np.array_equal(best[k], v) for k, v in last.items())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, best[name])


# --------------------------------------------------------- thread-safe inference
def _dropout_model() -> mtl.Sequential:
    rng = np.random.default_rng(0)
    return mtl.Sequential(
        mtl.Dense(2, 64, bias=True, rng=rng), mtl.Dropout(0.5, rng=rng), mtl.Dense(64, 3, rng=rng)
    )


def test_concurrent_predictions_are_in_eval_mode_and_leave_the_mode_alone() -> None:
    X, _ = _blobs(200)
    model = _dropout_model()
    expected = mtl.predict(model, X)
    np.testing.assert_array_equal(expected, model.eval()(X))  # dropout off: the eval forward
    model.train()
    results: list[NDArray[Any]] = []
    modes: list[bool] = []

    def work() -> None:
        for _ in range(20):
            results.append(mtl.predict(model, X, batch_size=50))
            modes.append(all(layer.training for layer in (model, *model.layers)))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 120 and all(modes)
    for result in results:
        np.testing.assert_array_equal(result, expected)
    assert model.training and model[1].training_active


def test_eval_mode_belongs_to_the_thread_that_entered_it() -> None:
    model = _dropout_model()
    inside, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def infer() -> None:
        with mtl.eval_mode():
            seen.append(model[1].training_active)
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=infer)
    thread.start()
    assert inside.wait(10)
    seen.append(model[1].training_active)  # this thread: still training
    X, _ = _blobs()
    assert np.count_nonzero(model[:2](X) == 0) > 0  # dropout still drops here
    release.set()
    thread.join()
    assert seen == [False, True]


def test_evaluate_leaves_training_mode_and_matches_eval_mode() -> None:
    X, y = _blobs()
    model = _dropout_model()
    scores = mtl.evaluate(model, X, y, loss=mtl.CrossEntropyLoss(), batch_size=32)
    assert model.training
    model.eval()
    assert scores["loss"] == pytest.approx(mtl.CrossEntropyLoss()(model(X), y), rel=1e-12)


# ------------------------------------------------------------------- divergence
def _iris_x1000() -> tuple[NDArray[Any], NDArray[Any], mtl.Sequential]:
    iris = load_iris()
    rng = np.random.default_rng(0)
    model = mtl.Sequential(
        mtl.Dense(4, 16, bias=True, rng=rng), mtl.Tanh(), mtl.Dense(16, 3, bias=True, rng=rng)
    )
    return iris.data * 1000, iris.target, model


def test_a_finite_explosion_at_lr_1e6_is_reported_as_divergence() -> None:
    X, y, model = _iris_x1000()
    initial = model.state_dict()
    first = mtl.CrossEntropyLoss()(model(X), y)
    with pytest.warns(mtl.DivergenceWarning, match=r"grew to .*divergence_factor=10000 times"):
        history = mtl.fit(
            model, X, y, loss=mtl.CrossEntropyLoss(), optimizer=mtl.SGD(model.parameters(), lr=1e6),
            epochs=50, verbose=0,
        )  # fmt: skip
    assert history.diverged and "diverged" in (history.stop_reason or "")
    assert history["loss"] == [first]  # the History keeps the epoch before the explosion
    # epoch 2 measured the weights of step 1, so training goes back to those before it
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, initial[name])


def test_the_divergence_factor_is_the_threshold() -> None:
    X, y, model = _iris_x1000()
    first = mtl.CrossEntropyLoss()(model(X), y)
    history = mtl.fit(
        model, X, y, loss=mtl.CrossEntropyLoss(), optimizer=mtl.SGD(model.parameters(), lr=1e6),
        epochs=20, verbose=0, divergence_factor=1e12,
    )  # fmt: skip
    assert not history.diverged and len(history) == 20
    assert max(history["loss"]) > 1e5 * first  # it did explode, below this factor


@pytest.mark.parametrize("factor", [1.0, 0.5, -3.0])
def test_a_divergence_factor_of_at_most_one_is_refused(factor: float) -> None:
    X, y = _blobs()
    model = _classifier()
    with pytest.raises(ValueError, match="divergence_factor"):
        mtl.fit(model, X, y, loss=mtl.CrossEntropyLoss(),
                optimizer=mtl.SGD(model.parameters(), lr=0.1), epochs=1, verbose=0,
                divergence_factor=factor)  # fmt: skip


class _Opaque(mtl.Layer):
    """A user's layer without output_shape: its outputs' shape is unknown in advance."""

    def forward(self, inputs: Any) -> Any:
        self.save_for_backward(None)
        return np.asarray(inputs)

    def backward(self, grad_output: Any) -> Any:
        return grad_output


def test_a_model_whose_output_shape_is_unknown_still_trains_and_checks_each_batch() -> None:
    X, y = _blobs()
    model = mtl.Sequential(_classifier(), _Opaque())
    sgd = mtl.SGD(model.parameters(), lr=0.5)
    history = mtl.fit(model, X, y, loss=mtl.CrossEntropyLoss(), optimizer=sgd, epochs=2, verbose=0)
    assert len(history) == 2
    y = y.copy()
    y[50] = 3
    with pytest.raises(ValueError, match="label 3 at index 50"):  # the full batch: row 50
        mtl.fit(model, X, y, loss=mtl.CrossEntropyLoss(),
                optimizer=mtl.SGD(model.parameters(), lr=0.5), epochs=2, verbose=0)  # fmt: skip
