"""fit, evaluate and predict: the loop they run, modes, validation, errors, divergence."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import load_example
from numpy.typing import ArrayLike, NDArray

import minitorchless as mtl
from minitorchless.callbacks import Callback, EarlyStopping

ROOT = Path(__file__).resolve().parent.parent


iris = load_example("iris")


def _blobs(n: int = 90, seed: int = 0) -> tuple[NDArray[Any], NDArray[Any]]:
    """Three well separated Gaussian blobs in 2-D, integer labels."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return centres[y] + rng.normal(0, 0.5, (n, 2)), y


def _classifier(seed: int = 0, dtype: Any = np.float64) -> mtl.Sequential:
    rng = np.random.default_rng(seed)
    return mtl.Sequential(
        mtl.Dense(2, 8, bias=True, rng=rng, dtype=dtype),
        mtl.Tanh(),
        mtl.Dense(8, 3, bias=True, rng=rng, dtype=dtype),
    )


def _fit_blobs(**kwargs: Any) -> tuple[mtl.Sequential, mtl.History]:
    X, y = _blobs()
    model = _classifier()
    options: dict[str, Any] = {
        "loss": mtl.CrossEntropyLoss(),
        "optimizer": mtl.SGD(model.parameters(), lr=0.5),
        "epochs": 5,
        "verbose": 0,
    }
    options.update(kwargs)
    return model, mtl.fit(model, X, y, **options)


# ----------------------------------------------------------------------- fit
def test_fit_full_batch_is_exactly_the_users_loop() -> None:
    X, _, Y, _ = iris.load_data(0)
    looped, fitted = iris.build_model(4, 0), iris.build_model(4, 0)
    loss_fn, optimizer = mtl.MSELoss(), mtl.SGD(looped.parameters(), lr=3.0)
    losses = []
    for _ in range(50):
        losses.append(loss_fn(looped(X), Y))
        optimizer.zero_grad()
        looped.backward(loss_fn.backward())
        optimizer.step()
    history = mtl.fit(
        fitted,
        X,
        Y,
        loss=mtl.MSELoss(),
        optimizer=mtl.SGD(fitted.parameters(), lr=3.0),
        epochs=50,
        verbose=0,
    )
    assert history.history["loss"] == losses
    for name, weights in looped.state_dict().items():
        np.testing.assert_array_equal(fitted.state_dict()[name], weights)


def test_history_records_every_epoch() -> None:
    _, history = _fit_blobs(epochs=4, metrics=["accuracy"], validation_split=0.2)
    assert history.epoch == [0, 1, 2, 3]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 4 for values in history.history.values())
    assert history["loss"] is history.history["loss"]
    assert history.stop_reason is None and not history.diverged
    assert history.params["epochs"] == 4 and history.params["metrics"] == ["accuracy"]
    assert "History(epochs=4" in repr(history)


def test_mini_batch_training_learns() -> None:
    model, history = _fit_blobs(
        epochs=20, batch_size=10, metrics=["accuracy"], rng=np.random.default_rng(0)
    )
    assert history.params["steps_per_epoch"] == 9
    assert history["loss"][-1] < history["loss"][0] / 5
    assert history["accuracy"][-1] == 1.0
    X, y = _blobs(seed=1)
    assert mtl.metrics.accuracy(mtl.predict(model, X), y) > 0.95


def test_shuffling_is_driven_by_the_rng() -> None:
    def weights(seed: int, shuffle: bool = True) -> NDArray[Any]:
        model, _ = _fit_blobs(batch_size=16, rng=np.random.default_rng(seed), shuffle=shuffle)
        return np.concatenate([p.value.ravel() for p in model.parameters()])

    np.testing.assert_array_equal(weights(1), weights(1))
    assert not np.array_equal(weights(1), weights(2))
    np.testing.assert_array_equal(weights(1, shuffle=False), weights(2, shuffle=False))


def test_validation_split_takes_the_last_rows() -> None:
    X, y = _blobs()
    model, history = _fit_blobs(epochs=3, validation_split=0.2, metrics=["accuracy"])
    held_out = mtl.evaluate(
        model, X[72:], y[72:], loss=mtl.CrossEntropyLoss(), metrics=["accuracy"]
    )
    assert history["val_loss"][-1] == pytest.approx(held_out["loss"], rel=1e-12)
    assert history["val_accuracy"][-1] == pytest.approx(held_out["accuracy"])
    assert history.params["samples"] == 72


def test_validation_data() -> None:
    X_val, y_val = _blobs(30, seed=5)
    model, history = _fit_blobs(epochs=2, validation_data=(X_val, y_val))
    expected = mtl.evaluate(model, X_val, y_val, loss=mtl.CrossEntropyLoss())["loss"]
    assert history["val_loss"][-1] == pytest.approx(expected, rel=1e-12)


class _ModeSpy(mtl.Layer):
    """Passes inputs through and records the training flag of every forward."""

    def __init__(self) -> None:
        super().__init__()
        self.modes: list[bool] = []

    def forward(self, inputs: ArrayLike) -> NDArray[Any]:
        self.modes.append(self.training_active)
        self.save_for_backward(None)
        return np.asarray(inputs)

    def backward(self, grad_output: NDArray[Any]) -> NDArray[Any]:
        return grad_output


def test_fit_trains_in_train_mode_validates_in_eval_mode_and_restores_the_mode() -> None:
    X, y = _blobs()
    spy = _ModeSpy()
    model = mtl.Sequential(_classifier(), spy)
    model.eval()
    mtl.fit(
        model,
        X,
        y,
        loss=mtl.CrossEntropyLoss(),
        optimizer=mtl.SGD(model.parameters(), lr=0.1),
        epochs=2,
        batch_size=45,
        validation_split=0.5,
        verbose=0,
    )
    # per epoch: one training batch (45 rows of the 45 kept), then one validation pass
    assert spy.modes == [True, False, True, False]
    assert model.training is False


def test_evaluate_and_predict_run_in_eval_mode_and_restore_it() -> None:
    X, y = _blobs()
    spy = _ModeSpy()
    model = mtl.Sequential(_classifier(), spy)
    mtl.evaluate(model, X, y, metrics=["accuracy"], batch_size=40)
    mtl.predict(model, X, batch_size=40)
    assert spy.modes == [False] * 6
    assert model.training is True


def test_float32_model_stays_float32() -> None:
    X, y = _blobs()
    model = _classifier(dtype=np.float32)
    mtl.fit(
        model,
        X,
        y,
        loss=mtl.CrossEntropyLoss(),
        optimizer=mtl.Adam(model.parameters()),
        epochs=2,
        batch_size=32,
        verbose=0,
        rng=np.random.default_rng(0),
    )
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert mtl.predict(model, X, batch_size=32).dtype == np.float32


def test_callable_metric_gets_its_function_name() -> None:
    def largest(predictions: NDArray[Any], targets: NDArray[Any]) -> float:
        return float(np.max(predictions))

    _, history = _fit_blobs(epochs=2, metrics=[largest, "accuracy"])
    assert list(history.history) == ["loss", "largest", "accuracy"]


def test_a_single_metric_name_is_not_split_into_letters() -> None:
    _, history = _fit_blobs(epochs=1, metrics="accuracy")
    assert "accuracy" in history


# ------------------------------------------------------------ evaluate, predict
def test_evaluate_batched_equals_full_batch() -> None:
    X, y = _blobs()
    model = _classifier()
    loss = mtl.CrossEntropyLoss()
    full = mtl.evaluate(model, X, y, loss=loss, metrics=["accuracy"])
    batched = mtl.evaluate(model, X, y, loss=loss, metrics=["accuracy"], batch_size=7)
    assert batched["loss"] == pytest.approx(full["loss"], rel=1e-12)
    assert batched["accuracy"] == pytest.approx(full["accuracy"])
    assert full["loss"] == pytest.approx(loss(model(X), y))


def test_evaluate_needs_something_to_compute() -> None:
    X, y = _blobs()
    with pytest.raises(ValueError, match="evaluate: nothing to compute"):
        mtl.evaluate(_classifier(), X, y)


def test_predict_batched_equals_one_forward() -> None:
    X, _ = _blobs()
    model = _classifier()
    expected = model(X)
    for batch_size in (None, 1, 7, 90, 500):
        np.testing.assert_allclose(
            mtl.predict(model, X, batch_size=batch_size), expected, rtol=1e-12
        )


# ------------------------------------------------------------------ bad input
def test_labels_out_of_range_for_cross_entropy() -> None:
    X, y = _blobs()
    y = y.copy()
    y[5] = 3  # the model has 3 outputs: labels must be 0, 1 or 2
    model = _classifier()
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: .*\[0, 3\)"):
        mtl.fit(
            model,
            X,
            y,
            loss=mtl.CrossEntropyLoss(),
            optimizer=mtl.SGD(model.parameters(), lr=0.1),
            epochs=1,
            verbose=0,
        )


@pytest.mark.parametrize("batch_size", [0, -4])
def test_batch_size_must_be_positive(batch_size: int) -> None:
    with pytest.raises(ValueError, match=r"fit: batch_size must be >= 1, received"):
        _fit_blobs(batch_size=batch_size)
    with pytest.raises(ValueError, match=r"evaluate: batch_size must be >= 1"):
        mtl.evaluate(_classifier(), *_blobs(), metrics=["accuracy"], batch_size=batch_size)
    with pytest.raises(ValueError, match=r"predict: batch_size must be >= 1"):
        mtl.predict(_classifier(), _blobs()[0], batch_size=batch_size)


@pytest.mark.parametrize("split", [0, 1, -0.2, 1.5, float("nan")])
def test_validation_split_must_be_inside_zero_one(split: float) -> None:
    with pytest.raises(ValueError, match=r"fit: validation_split must be strictly between 0 and 1"):
        _fit_blobs(validation_split=split)


def test_validation_split_that_leaves_no_row_is_refused() -> None:
    model = _classifier()
    with pytest.raises(ValueError, match="leaves 0 for training and 3 for validation"):
        mtl.fit(
            model,
            np.zeros((3, 2)),
            np.zeros(3, dtype=int),
            loss=mtl.CrossEntropyLoss(),
            optimizer=mtl.SGD(model.parameters(), lr=1),
            epochs=1,
            validation_split=0.9,
            verbose=0,
        )


def test_x_and_y_of_different_lengths() -> None:
    X, y = _blobs()
    model = _classifier()
    with pytest.raises(ValueError, match=r"fit: .*X has 90, y has 89"):
        mtl.fit(
            model,
            X,
            y[:-1],
            loss=mtl.CrossEntropyLoss(),
            optimizer=mtl.SGD(model.parameters(), lr=0.1),
            epochs=1,
            verbose=0,
        )
    with pytest.raises(
        ValueError, match=r"validation_data X_val has 30, validation_data y_val has 20"
    ):
        _fit_blobs(validation_data=(np.zeros((30, 2)), np.zeros(20, dtype=int)))
    with pytest.raises(ValueError, match=r"evaluate: .*X has 90, y has 10"):
        mtl.evaluate(_classifier(), X, y[:10], metrics=["accuracy"])


def test_empty_data() -> None:
    model = _classifier()
    with pytest.raises(ValueError, match=r"fit: received empty data \(0 samples\)"):
        mtl.fit(
            model,
            np.zeros((0, 2)),
            np.zeros(0, dtype=int),
            loss=mtl.CrossEntropyLoss(),
            optimizer=mtl.SGD(model.parameters(), lr=0.1),
            epochs=1,
            verbose=0,
        )
    with pytest.raises(ValueError, match="empty data"):
        mtl.predict(model, np.zeros((0, 2)))


def test_unknown_metric_name() -> None:
    with pytest.raises(ValueError, match=r"unknown metric 'f1'; known metrics are \['accuracy'"):
        _fit_blobs(metrics=["accuracy", "f1"])
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        mtl.evaluate(_classifier(), *_blobs(), metrics=["f1"])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_data_is_refused_up_front(bad: float) -> None:
    X, y = _blobs()
    X = X.copy()
    X[7, 1] = bad
    model = _classifier()
    before = model.state_dict()
    message = r"fit: X contains 1 non-finite value\(s\).*index \(7, 1\)"
    with pytest.raises(ValueError, match=message):
        mtl.fit(
            model,
            X,
            y,
            loss=mtl.CrossEntropyLoss(),
            optimizer=mtl.SGD(model.parameters(), lr=0.1),
            epochs=1,
            verbose=0,
        )
    for name, weights in model.state_dict().items():
        np.testing.assert_array_equal(weights, before[name])  # nothing ran
    with pytest.raises(ValueError, match="fit: y contains"):
        mtl.fit(
            model,
            np.zeros((2, 2)),
            np.array([[0.0, bad, 0.0], [1.0, 0.0, 0.0]]),
            loss=mtl.CrossEntropyLoss(),
            optimizer=mtl.SGD(model.parameters(), lr=0.1),
            epochs=1,
            verbose=0,
        )
    with pytest.raises(ValueError, match="fit: validation_data X_val contains"):
        _fit_blobs(validation_data=(X, y))


def test_other_argument_errors() -> None:
    X, y = _blobs()
    model = _classifier()
    optimizer = mtl.SGD(model.parameters(), lr=0.1)
    loss = mtl.CrossEntropyLoss()
    with pytest.raises(ValueError, match="fit: epochs must be >= 1"):
        mtl.fit(model, X, y, loss=loss, optimizer=optimizer, epochs=0)
    with pytest.raises(ValueError, match="not both"):
        mtl.fit(
            model,
            X,
            y,
            loss=loss,
            optimizer=optimizer,
            epochs=1,
            validation_split=0.2,
            validation_data=(X, y),
        )
    with pytest.raises(ValueError, match="fit: verbose must be 0, 1 or 2"):
        mtl.fit(model, X, y, loss=loss, optimizer=optimizer, epochs=1, verbose=3)
    with pytest.raises(TypeError, match="fit: loss must be a Loss"):
        mtl.fit(model, X, y, loss="mse", optimizer=optimizer, epochs=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fit: optimizer must be an Optimizer"):
        mtl.fit(model, X, y, loss=loss, optimizer=None, epochs=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fit: model must be a Layer"):
        mtl.fit(lambda x: x, X, y, loss=loss, optimizer=optimizer, epochs=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fit: callbacks must be Callback objects"):
        mtl.fit(model, X, y, loss=loss, optimizer=optimizer, epochs=1, callbacks=[print])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="fit: X must be numeric"):
        mtl.fit(
            model,
            np.array([["a", "b"]]),
            np.zeros(1, dtype=int),
            loss=loss,
            optimizer=optimizer,
            epochs=1,
        )


# ----------------------------------------------------------------- divergence
def _sgd_fit(
    model: mtl.Layer, X: NDArray[Any], Y: NDArray[Any], lr: float, **kwargs: Any
) -> mtl.History:
    return mtl.fit(
        model, X, Y, loss=mtl.MSELoss(), optimizer=mtl.SGD(model.parameters(), lr=lr), **kwargs
    )


def _iris_linear_output(seed: int = 0) -> mtl.Sequential:
    """The classic iris network without its output sigmoid, so the loss can blow up."""
    return iris.build_model(4, seed)[:-1]


def _last_finite_weights(
    model: mtl.Sequential, X: NDArray[Any], Y: NDArray[Any], lr: float, batch_size: int
) -> tuple[dict[str, NDArray[Any]], int, int]:
    """The user's loop by hand: the weights at the last finite loss, and where it diverged."""
    loss_fn, optimizer = mtl.MSELoss(), mtl.SGD(model.parameters(), lr=lr)
    last = model.state_dict()
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1000):
            for batch, start in enumerate(range(0, len(X), batch_size)):
                value = loss_fn(model(X[start : start + batch_size]), Y[start : start + batch_size])
                if not np.isfinite(value):
                    return last, epoch, batch
                last = model.state_dict()  # the weights this finite loss was measured at
                optimizer.zero_grad()
                model.backward(loss_fn.backward())
                optimizer.step()
    raise AssertionError("the reference loop never diverged")


def test_classic_iris_network_saturates_instead_of_diverging_at_lr_1e6() -> None:
    # the output sigmoid bounds the predictions, so the MSE stays below 1 however large
    # the weights get: no NaN, no warning (pytest turns warnings into errors here)
    X, _, Y, _ = iris.load_data(0)
    model = iris.build_model(4, 0)
    history = _sgd_fit(model, X, Y, 1e6, epochs=50, verbose=0)
    assert not history.diverged and len(history) == 50
    assert all(np.isfinite(p.value).all() for p in model.parameters())


@pytest.mark.parametrize("batch_size", [None, 32])
def test_divergence_at_lr_1e6_stops_warns_and_keeps_the_last_finite_weights(
    batch_size: int | None,
) -> None:
    X, _, Y, _ = iris.load_data(0)
    expected, epoch, batch = _last_finite_weights(
        _iris_linear_output(), X, Y, 1e6, batch_size or len(X)
    )
    batches = 1 if batch_size is None else 4
    model = _iris_linear_output()
    where = re.escape(f"epoch {epoch + 1} (of 100), batch {batch + 1} (of {batches})")
    message = rf"became (inf|nan) at {where}.*lower learning rate"
    with pytest.warns(mtl.DivergenceWarning, match=message):
        history = _sgd_fit(
            model,
            X,
            Y,
            1e6,
            epochs=100,
            batch_size=batch_size,
            shuffle=False,
            verbose=0,
            divergence_factor=None,  # the NaN and inf guard alone
        )
    assert history.diverged
    assert history.stop_reason is not None and "diverged" in history.stop_reason
    assert len(history) == epoch  # the diverged epoch is not recorded
    assert np.isfinite(history["loss"]).all()
    for name, weights in model.state_dict().items():
        assert np.isfinite(weights).all()
        np.testing.assert_array_equal(weights, expected[name])


def test_divergence_on_the_very_first_batch_keeps_the_initial_weights() -> None:
    X, _, Y, _ = iris.load_data(0)
    model = _iris_linear_output()
    model[2].weight.value *= 1e200  # (1e200)^2 overflows: the first loss is already inf
    before = model.state_dict()
    with pytest.warns(mtl.DivergenceWarning, match="epoch 1 .* batch 1 .*no step had been taken"):
        history = _sgd_fit(model, X, Y, 1.0, epochs=3, verbose=0)
    assert len(history) == 0 and history.diverged
    for name, weights in model.state_dict().items():
        np.testing.assert_array_equal(weights, before[name])


def test_divergence_reaches_the_progress_summary_and_callbacks_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    X, _, Y, _ = iris.load_data(0)
    model = _iris_linear_output()
    ended: list[bool] = []

    class End(Callback):
        def on_train_end(self, logs: dict[str, float]) -> None:
            ended.append(True)

    with pytest.warns(mtl.DivergenceWarning):
        mtl.fit(
            model,
            X,
            Y,
            loss=mtl.MSELoss(),
            optimizer=mtl.SGD(model.parameters(), lr=1e6),
            epochs=100,
            verbose=2,
            callbacks=[End(), EarlyStopping("loss", patience=200)],
        )
    assert ended == [True]
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.match(
        r"stopped after \d+/100 epochs in .*diverged: the training loss grew to", last_line
    )


def test_terminate_on_nan_false_trains_on_regardless() -> None:
    X, _, Y, _ = iris.load_data(0)
    model = _iris_linear_output()
    history = _sgd_fit(model, X, Y, 1e6, epochs=40, verbose=0, terminate_on_nan=False)
    assert len(history) == 40 and not history.diverged
    assert not np.isfinite(history["loss"][-1])


# --------------------------------------------------------------------- progress
def test_verbose_0_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    _fit_blobs(epochs=3, verbose=0, metrics=["accuracy"], validation_split=0.2)
    assert capsys.readouterr() == ("", "")


LINE = r"epoch +\d+/20 - loss: \S+ - accuracy: \S+ - val_loss: \S+ - val_accuracy: \S+ - \d+\.\d\ds"


@pytest.mark.parametrize("verbose", [1, 2])
def test_plain_lines_when_stdout_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
    verbose: int,
) -> None:
    _fit_blobs(epochs=20, verbose=verbose, log_every=5, metrics=["accuracy"], validation_split=0.2)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == ""
    assert [line.split(" - ")[0] for line in lines[:-1]] == [
        "epoch  1/20",
        "epoch  5/20",
        "epoch 10/20",
        "epoch 15/20",
        "epoch 20/20",
    ]
    assert all(re.fullmatch(LINE, line) for line in lines[:-1]), lines
    assert re.fullmatch(
        r"trained 20/20 epochs in \d+\.\d\ds - loss: \S+ - accuracy: \S+ - "
        r"val_loss: \S+ - val_accuracy: \S+",
        lines[-1],
    )


def test_default_log_every_gives_about_ten_lines(capsys: pytest.CaptureFixture[str]) -> None:
    _fit_blobs(epochs=100, verbose=2)
    assert len(capsys.readouterr().out.splitlines()) == 1 + 10 + 1  # epoch 1, every 10, summary


def test_summary_names_early_stopping(capsys: pytest.CaptureFixture[str]) -> None:
    class Worse(Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
            logs["score"] = float(epoch)  # gets worse every epoch for mode="min"

    _fit_blobs(epochs=10, verbose=2, callbacks=[Worse(), EarlyStopping("score", patience=2)])
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("stopped after 4/10 epochs in ")
    assert "EarlyStopping: score did not improve for 3 epoch(s) (patience 2)" in last


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_tqdm_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = _Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    _fit_blobs(epochs=6, verbose=1, metrics=["accuracy"])
    text = screen.getvalue()
    assert "6/6" in text and "epoch" in text  # the bar counts epochs
    assert "loss=" in text and "accuracy=" in text  # the latest values on the bar
    assert "\r" in text  # redrawn in place, unlike the plain lines
    assert text.rstrip().splitlines()[-1].startswith("trained 6/6 epochs")


# ---------------------------------------------------------------------- History
def test_history_pads_names_that_appear_late() -> None:
    history = mtl.History()
    history.record(0, {"loss": 1.0})
    history.record(1, {"loss": 0.5, "lr": 0.1})
    history.record(2, {"lr": 0.05})
    assert history["loss"][:2] == [1.0, 0.5] and np.isnan(history["loss"][2])
    assert np.isnan(history["lr"][0]) and history["lr"][1:] == [0.1, 0.05]
    assert len(history) == 3 and "lr" in history


def test_history_plot_returns_a_figure(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    _, history = _fit_blobs(epochs=3, metrics=["accuracy"], validation_split=0.2)
    figure = history.plot()
    assert isinstance(figure, Figure)
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]
    assert [line.get_label() for line in figure.axes[0].lines] == ["training", "validation"]
    np.testing.assert_array_equal(figure.axes[0].lines[1].get_ydata(), history["val_loss"])
    figure.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert len(history.plot(["loss"]).axes) == 1
    with pytest.raises(ValueError, match=r"History.plot: no recorded values for \['f1'\]"):
        history.plot(["f1"])
    assert len(mtl.History().plot().axes) == 1  # nothing recorded: still a figure


def test_history_plot_without_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes the import fail
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "minitorchless\[plot\]"'):
        mtl.History().plot()


@pytest.mark.parametrize(
    "make",
    [
        lambda params: mtl.SGD(params, lr=1e6, momentum=0.9),
        lambda params: mtl.Adam(params, lr=1e200),  # Adam steps are about lr in size
    ],
)
def test_divergence_resets_the_optimizer_state(make: Any) -> None:
    # momentum or moments that saw the diverging gradients would push the restored
    # weights straight back out on the next step
    X, _, Y, _ = iris.load_data(0)
    model = _iris_linear_output()
    optimizer = make(model.parameters())
    with pytest.warns(mtl.DivergenceWarning, match="running state is reset"):
        mtl.fit(model, X, Y, loss=mtl.MSELoss(), optimizer=optimizer, epochs=200, verbose=0)
    assert optimizer.state == {}
    assert getattr(optimizer, "steps", 0) == 0
    before = model.state_dict()
    optimizer.lr = 1e-6
    optimizer.zero_grad()
    optimizer.step()  # a zero gradient now moves nothing
    for name, weights in model.state_dict().items():
        np.testing.assert_allclose(weights, before[name], rtol=0, atol=1e-12)


def test_weights_that_overflow_in_the_very_last_step_are_rolled_back() -> None:
    # the last step's weights are never judged by a later loss: fit checks them at the end
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3))
    y = rng.standard_normal((16, 1)) * 100
    model = mtl.Sequential(mtl.Dense(3, 1, rng=rng))
    before = model.state_dict()
    with pytest.warns(mtl.DivergenceWarning, match="weights became NaN or inf in the last step"):
        history = _sgd_fit(model, X, y, 1e308, epochs=1, verbose=0)
    assert history.diverged
    for name, weights in model.state_dict().items():
        np.testing.assert_array_equal(weights, before[name])


def test_predict_refuses_a_model_with_several_outputs() -> None:
    graph = mtl.Graph(
        inputs="x", nodes=[("a", mtl.Tanh(), "x"), ("b", mtl.Sigmoid(), "x")], outputs=["a", "b"]
    )
    with pytest.raises(TypeError, match="Graph returns 2 outputs"):
        mtl.predict(graph, np.ones((5, 2)))
