"""Callbacks: the hook order, stopping, early stopping and learning-rate schedules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.callbacks import Callback, EarlyStopping, LearningRateScheduler, Logs


def _problem(n: int = 40) -> tuple[mtl.Sequential, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    model = mtl.Sequential(mtl.Dense(3, 1, bias=True, rng=rng))
    return model, X, y


def _fit(
    model: mtl.Sequential,
    X: np.ndarray,
    y: np.ndarray,
    *,
    optimizer: mtl.Optimizer | None = None,
    **kwargs: Any,
) -> mtl.History:
    options: dict[str, Any] = {"epochs": 3, "verbose": 0}
    options.update(kwargs)
    return mtl.fit(
        model,
        X,
        y,
        loss=mtl.MSELoss(),
        optimizer=optimizer or mtl.SGD(model.parameters(), lr=0.05),
        **options,
    )


class Recorder(Callback):
    """Writes down every hook call with a copy of its logs."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int | None, Logs]] = []

    def on_train_begin(self, logs: Logs) -> None:
        self.calls.append(("train_begin", None, dict(logs)))

    def on_train_end(self, logs: Logs) -> None:
        self.calls.append(("train_end", None, dict(logs)))

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        self.calls.append(("epoch_begin", epoch, dict(logs)))

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        self.calls.append(("epoch_end", epoch, dict(logs)))

    def on_batch_begin(self, batch: int, logs: Logs) -> None:
        self.calls.append(("batch_begin", batch, dict(logs)))

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        self.calls.append(("batch_end", batch, dict(logs)))


def test_hooks_run_in_order_with_their_logs() -> None:
    model, X, y = _problem()
    recorder = Recorder()
    _fit(
        model,
        X,
        y,
        epochs=2,
        batch_size=25,
        validation_split=0.25,
        metrics=["mae"],
        callbacks=[recorder],
    )
    names = [(name, index) for name, index, _ in recorder.calls]
    epoch = [
        ("epoch_begin", None),
        ("batch_begin", 0),
        ("batch_end", 0),
        ("batch_begin", 1),
        ("batch_end", 1),
        ("epoch_end", None),
    ]
    expected = [("train_begin", None)]
    for number in range(2):
        expected += [(name, number if index is None else index) for name, index in epoch]
    expected.append(("train_end", None))
    assert names == expected
    logs = {name: logs for name, _, logs in recorder.calls}  # the last of each
    assert logs["batch_begin"] == {"batch_size": 5.0}  # 30 training rows: batches of 25 and 5
    assert set(logs["batch_end"]) == {"batch_size", "loss", "mae"}
    assert set(logs["epoch_end"]) == {"loss", "mae", "val_loss", "val_mae"}
    assert logs["train_end"] == logs["epoch_end"]


def test_callbacks_reach_the_model_and_optimizer_only_during_fit() -> None:
    model, X, y = _problem()
    optimizer = mtl.SGD(model.parameters(), lr=0.05)
    seen: list[object] = []

    class Peek(Callback):
        def on_train_begin(self, logs: Logs) -> None:
            seen.extend([self.model, self.optimizer, self.state.epochs, self.state.steps_per_epoch])

    _fit(model, X, y, optimizer=optimizer, batch_size=10, callbacks=[Peek()])
    assert seen == [model, optimizer, 3, 4]
    with pytest.raises(RuntimeError, match="Callback: the callback is not attached"):
        _ = Callback().model


def test_request_stop_mid_epoch_records_the_partial_epoch() -> None:
    model, X, y = _problem()
    losses: list[float] = []

    class StopAfterTwoBatches(Callback):
        def on_batch_end(self, batch: int, logs: Logs) -> None:
            losses.append(logs["loss"])
            if batch == 1:
                self.request_stop("enough")

    history = _fit(model, X, y, batch_size=10, shuffle=False, callbacks=[StopAfterTwoBatches()])
    assert len(history) == 1 and history.stop_reason == "enough"
    assert history["loss"][0] == pytest.approx(np.mean(losses))  # the mean of what ran


# ------------------------------------------------------------ early stopping
class Scores(Callback):
    """Logs a prescribed "score" each epoch, for EarlyStopping to watch."""

    def __init__(self, name: str, values: list[float]) -> None:
        super().__init__()
        self.name, self.values = name, values

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        logs[self.name] = self.values[epoch]


@pytest.mark.parametrize(
    ("values", "patience", "min_delta", "epochs_run"),
    [
        ([5, 4, 3, 2, 1, 0, 0, 0], 0, 0.0, 7),  # stops at the first epoch without improvement
        ([5, 4, 4, 4, 3, 3, 2, 2], 2, 0.0, 8),  # 2 flat epochs are tolerated, then it improves
        ([5, 4, 4, 4, 4, 3, 3, 3], 2, 0.0, 5),  # the third flat epoch ends it
        ([5, 4.9, 4.8, 4.7, 1, 1, 1, 1], 1, 0.5, 3),  # improvements below min_delta do not count
    ],
)
def test_early_stopping_counts_epochs_without_improvement(
    values: list[float],
    patience: int,
    min_delta: float,
    epochs_run: int,
) -> None:
    model, X, y = _problem()
    stopper = EarlyStopping("score", patience=patience, min_delta=min_delta)
    history = _fit(model, X, y, epochs=8, callbacks=[Scores("score", values), stopper])
    assert len(history) == epochs_run
    if epochs_run < 8:
        assert stopper.stopped_epoch == epochs_run - 1
        assert history.stop_reason is not None
        assert history.stop_reason.startswith("EarlyStopping: score did not improve")
    else:
        assert stopper.stopped_epoch is None and history.stop_reason is None


def test_early_stopping_mode_auto_maximises_accuracy() -> None:
    model, X, y = _problem()
    stopper = EarlyStopping("val_accuracy", patience=1)
    assert stopper.mode == "max" and EarlyStopping("val_loss").mode == "min"
    rising_then_flat = [0.5, 0.6, 0.7, 0.7, 0.7, 0.7]
    history = _fit(
        model, X, y, epochs=6, callbacks=[Scores("val_accuracy", rising_then_flat), stopper]
    )
    assert len(history) == 5 and stopper.best == 0.7 and stopper.best_epoch == 2


def test_restore_best_weights() -> None:
    model, X, y = _problem()
    weights: list[dict[str, np.ndarray]] = []

    class Keep(Callback):
        def on_epoch_end(self, epoch: int, logs: Logs) -> None:
            weights.append(self.model.state_dict())

    scores = [3.0, 1.0, 2.0, 2.0, 2.0, 2.0]
    stopper = EarlyStopping("score", patience=2, restore_best_weights=True)
    _fit(model, X, y, epochs=6, callbacks=[Keep(), Scores("score", scores), stopper])
    assert stopper.best_epoch == 1 and len(weights) == 5  # 3 flat epochs after the best
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, weights[1][name])
    assert not np.array_equal(model.state_dict()["0.weight"], weights[-1]["0.weight"])


def test_restore_best_weights_also_when_training_runs_to_the_end() -> None:
    model, X, y = _problem()
    weights: list[dict[str, np.ndarray]] = []

    class Keep(Callback):
        def on_epoch_end(self, epoch: int, logs: Logs) -> None:
            weights.append(self.model.state_dict())

    stopper = EarlyStopping("score", patience=10, restore_best_weights=True)
    _fit(model, X, y, epochs=4, callbacks=[Keep(), Scores("score", [2.0, 0.5, 1.0, 1.0]), stopper])
    np.testing.assert_array_equal(model.state_dict()["0.weight"], weights[1]["0.weight"])


def test_early_stopping_on_real_validation_loss() -> None:
    model, X, y = _problem(200)
    history = _fit(
        model,
        X,
        y,
        epochs=500,
        batch_size=20,
        validation_split=0.2,
        rng=np.random.default_rng(0),
        callbacks=[EarlyStopping(patience=3, min_delta=1e-6)],
    )
    assert len(history) < 500 and history["val_loss"][-1] < 1e-3


def test_early_stopping_names_a_missing_monitor() -> None:
    model, X, y = _problem()
    with pytest.raises(
        ValueError,
        match=r"monitor 'val_loss' is not among the logged values "
        r"\['loss'\] \(pass validation_data or validation_split",
    ):
        _fit(model, X, y, callbacks=[EarlyStopping()])


def test_early_stopping_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="EarlyStopping: patience must be >= 0"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="EarlyStopping: min_delta must be finite and >= 0"):
        EarlyStopping(min_delta=-0.1)
    with pytest.raises(ValueError, match="EarlyStopping: mode must be"):
        EarlyStopping(mode="up")  # type: ignore[arg-type]
    assert "patience=3" in repr(EarlyStopping(patience=3))


def test_an_early_stopping_object_can_be_reused() -> None:
    model, X, y = _problem()
    stopper = EarlyStopping("score", patience=0)
    for _ in range(2):
        history = _fit(model, X, y, epochs=3, callbacks=[Scores("score", [1.0, 2.0, 3.0]), stopper])
        assert len(history) == 2


# ---------------------------------------------------------- learning rates
def test_schedule_object_steps_once_per_epoch_and_lr_is_logged() -> None:
    model, X, y = _problem()
    optimizer = mtl.SGD(model.parameters(), lr=0.1)
    schedule = mtl.StepLR(optimizer, step_size=2, gamma=0.5)
    history = _fit(
        model,
        X,
        y,
        optimizer=optimizer,
        epochs=5,
        batch_size=10,
        callbacks=[LearningRateScheduler(schedule)],
    )
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    assert schedule.last_epoch == 5


def test_schedule_objects_are_accepted_directly_in_callbacks() -> None:
    model, X, y = _problem()
    optimizer = mtl.SGD(model.parameters(), lr=0.1)
    history = _fit(
        model,
        X,
        y,
        optimizer=optimizer,
        epochs=3,
        callbacks=[mtl.ExponentialLR(optimizer, gamma=0.1)],
    )
    assert history["lr"] == pytest.approx([0.1, 0.01, 0.001])


def test_learning_rate_function_is_called_at_each_epoch_start() -> None:
    model, X, y = _problem()
    calls: list[tuple[int, float]] = []

    def halve_after_first(epoch: int, lr: float) -> float:
        calls.append((epoch, lr))
        return lr if epoch == 0 else lr / 2

    history = _fit(model, X, y, epochs=3, callbacks=[LearningRateScheduler(halve_after_first)])
    assert calls == [(0, 0.05), (1, 0.05), (2, 0.025)]
    assert history["lr"] == pytest.approx([0.05, 0.025, 0.0125])


def test_learning_rate_function_must_return_a_positive_number() -> None:
    model, X, y = _problem()
    with pytest.raises(ValueError, match=r"LearningRateScheduler: .*epoch 0 must be finite"):
        _fit(model, X, y, callbacks=[LearningRateScheduler(lambda epoch, lr: -1.0)])
    with pytest.raises(TypeError, match="LearningRateScheduler: schedule must be"):
        LearningRateScheduler(0.1)  # type: ignore[arg-type]


def test_schedule_on_another_optimizer_is_refused() -> None:
    model, X, y = _problem()
    other = mtl.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="built on another optimizer"):
        _fit(model, X, y, callbacks=[mtl.StepLR(other, step_size=1)])
