"""The scikit-learn estimators warn, as MLPClassifier does, when training did not converge."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler

from minitorchless.interop.sklearn import NeuralNetClassifier, NeuralNetRegressor


def _iris() -> tuple[np.ndarray, np.ndarray]:
    iris = load_iris()
    return StandardScaler().fit_transform(iris.data), iris.target


def test_the_silent_failure_of_the_issue_now_warns() -> None:
    # four hidden units at lr 1e-3 for 100 epochs: still far from converged
    X, y = _iris()
    estimator = NeuralNetClassifier((4,), learning_rate=1e-3, epochs=100, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"after 100 epoch\(s\) .*not converged"):
        estimator.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        cross_val_score(estimator, X, y, cv=3)


def test_a_run_that_converged_does_not_warn() -> None:
    X, y = _iris()
    estimator = NeuralNetClassifier((16,), learning_rate=0.05, epochs=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        estimator.fit(X, y)
    # the rule, by hand: more than 10 epochs in a row without beating the best by tol
    best, still, converged = np.inf, 0, False
    for value in estimator.loss_curve_:
        still = still + 1 if value > best - 1e-4 else 0
        best = min(best, value)
        converged = converged or still > 10
    assert converged


def test_tol_decides() -> None:
    X, y = _iris()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        NeuralNetRegressor((4,), learning_rate=1e-3, epochs=30, tol=10.0, random_state=0).fit(
            X, y.astype(float)
        )
    with pytest.warns(ConvergenceWarning, match="NeuralNetRegressor"):
        NeuralNetRegressor((4,), learning_rate=1e-3, epochs=30, random_state=0).fit(
            X, y.astype(float)
        )


@pytest.mark.parametrize(("name", "value"), [("tol", -1.0), ("n_iter_no_change", 0)])
def test_bad_rule_parameters_are_refused_before_training(name: str, value: float) -> None:
    X, y = _iris()
    estimator = NeuralNetClassifier((4,), epochs=5, **{name: value})
    with pytest.raises(ValueError, match=name):
        estimator.fit(X, y)
    assert not hasattr(estimator, "model_")
