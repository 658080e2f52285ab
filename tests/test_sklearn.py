"""The scikit-learn estimators: scikit-learn's own checks, then real use."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import load_example

import minitorchless as mtl

pytest.importorskip("sklearn")

from sklearn.datasets import load_iris, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from minitorchless.interop.sklearn import NeuralNetClassifier, NeuralNetRegressor

# short runs on purpose: their ConvergenceWarning is tested in test_sklearn_convergence.py
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class Swish(mtl.Layer):
    """A custom layer without parameters: x * sigmoid(x)."""

    def forward(self, inputs: Any) -> Any:
        inputs = np.asarray(inputs)
        sigmoid = 1 / (1 + np.exp(-inputs))
        self.save_for_backward(inputs, sigmoid)
        return inputs * sigmoid

    def backward(self, grad_output: Any) -> Any:
        inputs, sigmoid = self.saved()
        return grad_output * (sigmoid + inputs * sigmoid * (1 - sigmoid))


def residual_module(in_features: int, out_features: int, rng: np.random.Generator) -> mtl.Layer:
    """A module factory (top level, so that estimators holding it can be pickled)."""
    return mtl.Graph(
        "x",
        [
            ("h", mtl.Dense(in_features, 32, bias=True, rng=rng), "x"),
            ("a", Swish(), "h"),
            (
                "r",
                mtl.Residual(mtl.Sequential(mtl.Dense(32, 32, bias=True, rng=rng), mtl.Tanh())),
                "a",
            ),
            ("out", mtl.Dense(32, out_features, bias=True, rng=rng), "r"),
        ],
        "out",
    )


@parametrize_with_checks(
    [NeuralNetClassifier(), NeuralNetRegressor(), NeuralNetClassifier(module=residual_module)]
)
def test_scikit_learn_checks(estimator: Any, check: Any) -> None:
    check(estimator)


@pytest.mark.slow
def test_array_api_check_with_the_array_api_enabled() -> None:
    # scikit-learn skips this check unless SCIPY_ARRAY_API is set before it is
    # imported, so it runs in a fresh interpreter
    code = (
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from minitorchless.interop.sklearn import NeuralNetClassifier, NeuralNetRegressor\n"
        "for estimator in (NeuralNetClassifier(), NeuralNetRegressor()):\n"
        "    check_array_api_input(type(estimator).__name__, estimator, 'numpy',\n"
        "                          expect_only_array_outputs=False)\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={**os.environ, "SCIPY_ARRAY_API": "1"}
    )


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, ...]:
    X, y = load_iris(return_X_y=True)
    return tuple(train_test_split(X, y, test_size=0.3, stratify=y, random_state=0))


def test_pipeline_grid_search_and_cross_validation(iris: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = iris
    pipeline = make_pipeline(StandardScaler(), NeuralNetClassifier(epochs=100, random_state=0))
    search = GridSearchCV(
        pipeline,
        {
            "neuralnetclassifier__hidden_layer_sizes": [(8,), (16, 16)],
            "neuralnetclassifier__learning_rate": [1e-2, 3e-2],
        },
        cv=3,
    )
    search.fit(X_train, y_train)
    assert search.score(X_test, y_test) >= 0.9
    scores = cross_val_score(pipeline, X_train, y_train, cv=3)
    assert scores.mean() >= 0.8


def test_predict_proba(iris: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, _ = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y_train]
    clf = NeuralNetClassifier((16,), "tanh", learning_rate=1e-2, random_state=0)
    clf.fit(X_train, names)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X_test))
    assert set(clf.predict(X_test)) <= set(clf.classes_)
    assert len(clf.loss_curve_) == clf.n_iter_ == 200
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_custom_layers_and_graphs_through_module(iris: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = iris
    clf = make_pipeline(
        StandardScaler(),
        NeuralNetClassifier(module=residual_module, learning_rate=1e-2, epochs=60, random_state=0),
    )
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.9
    assert isinstance(clf[-1].model_, mtl.Graph)


def test_regressor_one_and_several_targets() -> None:
    X, y = make_regression(n_samples=200, n_features=4, n_targets=2, noise=0.1, random_state=0)
    y = y / y.std(axis=0)
    reg = NeuralNetRegressor((32,), learning_rate=1e-2, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (200, 2) and reg.n_outputs_ == 2
    assert reg.score(X, y) > 0.95
    single = NeuralNetRegressor(
        (), loss="l1", optimizer="sgd", learning_rate=0.05, batch_size=None, random_state=0
    ).fit(X, y[:, 0])
    assert single.predict(X).shape == (200,)
    assert single.score(X, y[:, 0]) > 0.95  # the data are linear: a linear model fits them


def test_reproducible_with_random_state_and_dtypes() -> None:
    X, y = make_regression(n_samples=60, n_features=3, random_state=1)
    first = NeuralNetRegressor((8,), epochs=20, random_state=3).fit(X, y).predict(X)
    second = NeuralNetRegressor((8,), epochs=20, random_state=3).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)
    generator = NeuralNetRegressor((8,), epochs=5, random_state=np.random.default_rng(0))
    assert generator.fit(X, y).predict(X).shape == (60,)
    small = NeuralNetRegressor((8,), epochs=5, dtype="float32", random_state=0).fit(X, y)
    assert small.model_.dtype == np.float32


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"activation": "swish"}, ValueError, "unknown activation 'swish'"),
        ({"optimizer": "lbfgs"}, ValueError, "unknown optimizer 'lbfgs'"),
        ({"loss": "hinge"}, ValueError, "unknown loss 'hinge'"),
        ({"loss": 3}, TypeError, "loss must be"),
        ({"hidden_layer_sizes": (0,)}, ValueError, "hidden_layer_sizes"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"batch_size": -1}, ValueError, "batch_size"),
        ({"learning_rate": 0}, ValueError, "learning_rate"),
        ({"random_state": "seed"}, TypeError, "random_state"),
        ({"module": 5}, TypeError, "module must be a function"),
        ({"module": lambda i, o, rng: "net"}, TypeError, "must return a minitorchless Layer"),
    ],
)
def test_bad_parameters_fail_in_fit(params: dict[str, Any], error: type, match: str) -> None:
    X, y = np.zeros((6, 2)), np.array([0, 1] * 3)
    estimator = NeuralNetClassifier(**params)  # scikit-learn's rule: __init__ accepts anything
    with pytest.raises(error, match=match):
        estimator.fit(X, y)


def test_other_losses_and_optimizers(iris: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = iris
    loss = mtl.CrossEntropyLoss()
    clf = make_pipeline(
        StandardScaler(),
        NeuralNetClassifier((16,), loss=loss, optimizer=mtl.SGD, learning_rate=0.1, random_state=0),
    )
    assert clf.fit(X_train, y_train).score(X_test, y_test) >= 0.85
    assert clf[-1].loss is loss  # the parameter is left as given; a copy is trained


def test_a_trained_model_can_be_saved(iris: tuple[np.ndarray, ...], tmp_path: Path) -> None:
    X_train, X_test, y_train, _ = iris
    clf = NeuralNetClassifier((8,), epochs=20, random_state=0).fit(X_train, y_train)
    mtl.save(clf.model_, tmp_path / "iris.safetensors")
    model = mtl.load(tmp_path / "iris.safetensors")
    np.testing.assert_array_equal(mtl.predict(model, X_test), mtl.predict(clf.model_, X_test))


def test_missing_scikit_learn_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.base", None)  # makes the import fail
    monkeypatch.delitem(sys.modules, "minitorchless.interop.sklearn")
    with pytest.raises(ImportError, match=r"pip install 'minitorchless\[sklearn\]'"):
        importlib.import_module("minitorchless.interop.sklearn")


@pytest.mark.slow
def test_the_pipeline_example(capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example("sklearn_pipeline")
    result = example.main(["--seed", "0"])
    assert result["cv_accuracy"] >= 0.9 and result["test_accuracy"] >= 0.9
    assert result["reloaded_agrees"] == 1.0
    assert "best parameters:" in capsys.readouterr().out


def test_a_regressor_whose_training_diverges_reports_it_without_crashing() -> None:
    from minitorchless.interop.sklearn import NeuralNetRegressor

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 3)), rng.standard_normal(64) * 1e200
    estimator = NeuralNetRegressor(hidden_layer_sizes=(), epochs=3, random_state=0, verbose=0)
    with pytest.warns(mtl.DivergenceWarning):
        estimator.fit(X, y)
    assert estimator.history_.diverged
    assert estimator.loss_curve_ == []
