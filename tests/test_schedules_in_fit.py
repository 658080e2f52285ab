"""fit steps each schedule per batch (OneCycleLR), on a value (ReduceLROnPlateau)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.train.callbacks import _overrides
from minitorchless.train.scheduling import LearningRateScheduler


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _net(seed: int) -> mtl.Sequential:
    rng = np.random.default_rng(seed)
    return mtl.Sequential(
        mtl.Dense(3, 8, bias=True, rng=rng), mtl.Tanh(), mtl.Dense(8, 2, bias=True, rng=rng)
    )


class _BatchRates(mtl.callbacks.Callback):
    """The rate and momentum each batch's step uses."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[float, float]] = []

    def on_before_step(self, batch: int, logs: Any) -> None:
        self.seen.append((self.optimizer.lr, self.optimizer.param_groups[0]["momentum"]))


def test_fit_steps_one_cycle_after_every_batch() -> None:
    X, y = _data()
    net = _net(0)
    optimizer = mtl.SGD(net.parameters(), lr=0.1, momentum=0.9)
    schedule = mtl.OneCycleLR(optimizer, max_lr=0.5, total_steps=3 * 4)  # 3 epochs of 4 batches
    rates = _BatchRates()
    mtl.fit(
        net,
        X,
        y,
        loss=mtl.CrossEntropyLoss(),
        optimizer=optimizer,
        epochs=3,
        batch_size=30,
        verbose=0,
        rng=np.random.default_rng(0),
        callbacks=[rates, schedule],
    )
    twin = mtl.SGD(_net(0).parameters(), lr=0.1, momentum=0.9)
    alone = mtl.OneCycleLR(twin, max_lr=0.5, total_steps=12)
    expected = []
    for _ in range(12):
        expected.append((twin.lr, twin.param_groups[0]["momentum"]))
        alone.step()
    assert rates.seen == expected  # the same rates, batch by batch, to the last bit


def test_fit_gives_reduce_on_plateau_the_validation_loss() -> None:
    X, y = _data()

    class ByHand(mtl.callbacks.Callback):
        def __init__(self, plateau: mtl.ReduceLROnPlateau) -> None:
            super().__init__()
            self.plateau = plateau

        def on_epoch_end(self, epoch: int, logs: Any) -> None:
            logs["lr"] = self.optimizer.lr
            self.plateau.step(logs["val_loss"])

    histories = []
    for wrap in (lambda p: p, ByHand):
        net = _net(1)
        optimizer = mtl.Adam(net.parameters(), lr=0.05)
        plateau = mtl.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
        history = mtl.fit(
            net,
            X,
            y,
            loss=mtl.CrossEntropyLoss(),
            optimizer=optimizer,
            epochs=20,
            batch_size=16,
            validation_split=0.25,
            verbose=0,
            rng=np.random.default_rng(0),
            callbacks=[wrap(plateau)],
        )
        histories.append(history.history["lr"])
    assert histories[0] == histories[1]
    assert min(histories[0]) < 0.05  # the plateau was reached and the rate lowered


def test_a_monitored_value_that_is_not_logged_is_named() -> None:
    X, y = _data()
    net = _net(2)
    optimizer = mtl.SGD(net.parameters(), lr=0.1)
    plateau = LearningRateScheduler(mtl.ReduceLROnPlateau(optimizer), monitor="val_accuracy")
    with pytest.raises(ValueError, match=r"'val_accuracy'.*logged: \['loss'"):
        mtl.fit(
            net, X, y, loss=mtl.CrossEntropyLoss(), optimizer=optimizer, epochs=2, verbose=0,
            callbacks=[plateau],
        )  # fmt: skip


def test_interval_is_checked_and_per_epoch_schedules_skip_the_batch_hook() -> None:
    optimizer = mtl.SGD(_net(3).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="interval must be 'epoch' or 'batch', received 'step'"):
        LearningRateScheduler(mtl.StepLR(optimizer, 2), interval="step")
    with pytest.raises(ValueError, match="interval='batch' needs a schedule object"):
        LearningRateScheduler(lambda epoch, lr: lr, interval="batch")
    per_epoch = LearningRateScheduler(mtl.StepLR(optimizer, 2))
    per_batch = LearningRateScheduler(mtl.StepLR(optimizer, 2), interval="batch")
    assert not _overrides(per_epoch, "on_batch_end")  # fit never calls it per batch
    assert _overrides(per_batch, "on_batch_end")
    assert LearningRateScheduler(mtl.OneCycleLR(optimizer, 1.0, 10)).interval == "batch"
