"""ModelCheckpoint: the best model of a run, on disk."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.callbacks import TrainingState


def _problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    y = (X @ np.array([[1.0], [-2.0], [0.5]]) > 0).astype(float)
    return X, y


def _model() -> mtl.Sequential:
    rng = np.random.default_rng(1)
    return mtl.Sequential(
        mtl.Dense(3, 8, bias=True, rng=rng),
        mtl.Tanh(),
        mtl.Dense(8, 1, bias=True, rng=rng),
        mtl.Sigmoid(),
    )


def _fit(model: mtl.Layer, checkpoint: mtl.ModelCheckpoint, epochs: int = 25) -> mtl.History:
    X, y = _problem()
    return mtl.fit(
        model,
        X,
        y,
        loss=mtl.MSELoss(),
        optimizer=mtl.SGD(model.parameters(), lr=2.0),
        epochs=epochs,
        batch_size=16,
        validation_split=0.25,
        metrics=["accuracy"],
        callbacks=[checkpoint],
        verbose=0,
        rng=np.random.default_rng(2),
    )


def test_keeps_the_model_of_the_best_epoch(tmp_path: Path) -> None:
    path = tmp_path / "best.safetensors"
    model = _model()
    checkpoint = mtl.ModelCheckpoint(path)  # monitor val_loss, lower is better
    history = _fit(model, checkpoint)
    val_loss = history["val_loss"]
    assert checkpoint.best == min(val_loss)
    assert checkpoint.best_epoch == int(np.argmin(val_loss))
    assert checkpoint.best_epoch < len(val_loss) - 1  # later epochs were worse: a real test
    assert checkpoint.last_path == path

    best = mtl.load(path)
    X, y = _problem()
    scores = mtl.evaluate(best, X[90:], y[90:], loss=mtl.MSELoss())
    assert scores["loss"] == pytest.approx(min(val_loss), rel=1e-12)


def test_mode_max_for_accuracy(tmp_path: Path) -> None:
    checkpoint = mtl.ModelCheckpoint(tmp_path / "acc.safetensors", monitor="val_accuracy")
    assert checkpoint.mode == "max"
    history = _fit(_model(), checkpoint)
    assert checkpoint.best == max(history["val_accuracy"])
    assert checkpoint.best_epoch == int(np.argmax(history["val_accuracy"]))


def test_every_epoch_with_a_file_name_pattern(tmp_path: Path) -> None:
    pattern = str(tmp_path / "epoch-{epoch:02d}-{loss:.3f}.safetensors")
    checkpoint = mtl.ModelCheckpoint(pattern, save_best_only=False)
    history = _fit(_model(), checkpoint, epochs=4)
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == [f"epoch-{e + 1:02d}-{history['loss'][e]:.3f}.safetensors" for e in range(4)]


def test_weights_only(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    model = _model()
    _fit(model, mtl.ModelCheckpoint(path, monitor="loss", save_weights_only=True), epochs=3)
    with pytest.raises(mtl.CorruptFileError, match="weights only"):
        mtl.load(path)
    fresh = _model()
    mtl.load_weights(fresh, path)


def test_nan_never_improves_and_state_resets(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    model = _model()
    checkpoint = mtl.ModelCheckpoint(path, monitor="val_loss")
    checkpoint.set_state(TrainingState(model, mtl.SGD(model.parameters(), lr=0.1), 3, 1))
    checkpoint.on_train_begin({})
    checkpoint.on_epoch_end(0, {"val_loss": 1.0})
    saved = path.read_bytes()
    model[0].weight.value += 1  # a later, worse model
    checkpoint.on_epoch_end(1, {"val_loss": math.nan})
    checkpoint.on_epoch_end(2, {"val_loss": 1.0})  # equal is not better
    assert path.read_bytes() == saved and checkpoint.best_epoch == 0
    checkpoint.on_epoch_end(3, {"val_loss": 0.5})
    assert path.read_bytes() != saved and checkpoint.best == 0.5
    checkpoint.on_train_begin({})  # a new run starts from scratch
    assert checkpoint.best == math.inf and checkpoint.best_epoch is None


def test_min_delta(tmp_path: Path) -> None:
    model = _model()
    checkpoint = mtl.ModelCheckpoint(tmp_path / "m.safetensors", monitor="loss", min_delta=0.1)
    checkpoint.set_state(TrainingState(model, mtl.SGD(model.parameters(), lr=0.1), 3, 1))
    checkpoint.on_train_begin({})
    for epoch, loss in enumerate([1.0, 0.95, 0.85]):
        checkpoint.on_epoch_end(epoch, {"loss": loss})
    assert (checkpoint.best, checkpoint.best_epoch) == (0.85, 2)


def test_errors(tmp_path: Path) -> None:
    X, y = _problem()
    model = _model()
    optimizer = mtl.SGD(model.parameters(), lr=0.1)
    no_validation = mtl.ModelCheckpoint(tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="monitor 'val_loss' is not among the logged values"):
        mtl.fit(
            model,
            X,
            y,
            loss=mtl.MSELoss(),
            optimizer=optimizer,
            epochs=1,
            verbose=0,
            callbacks=[no_validation],
        )
    with pytest.raises(ValueError, match="cannot fill in filepath"):
        _fit(_model(), mtl.ModelCheckpoint(tmp_path / "{nope}.safetensors", monitor="loss"), 1)
    with pytest.raises(ValueError, match="mode must be"):
        mtl.ModelCheckpoint("m.safetensors", mode="best")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_delta"):
        mtl.ModelCheckpoint("m.safetensors", min_delta=-1)
    with pytest.raises(TypeError, match="filepath"):
        mtl.ModelCheckpoint(3)  # type: ignore[arg-type]
    assert "monitor='val_loss'" in repr(mtl.ModelCheckpoint("m.safetensors"))
