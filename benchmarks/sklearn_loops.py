"""scikit-learn contenders: ``MLPClassifier`` with plain SGD.

``MLPClassifier`` cannot be made to run exactly the same math: it always has
biases and ends in a softmax (a logistic unit for two classes) with the
log-loss. The settings below make it do the same *amount* of work on the same
data: the same hidden layers and activation, plain SGD (no momentum, no L2
penalty), the same batch size and number of epochs, and no early stopping.
Its time includes ``fit``'s one-off input validation and initialization,
which is small next to the epochs.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

from numpy.typing import NDArray

__all__ = ["available", "train_mlp_classifier"]

Array = NDArray[Any]


def available() -> bool:
    """Whether scikit-learn is installed (found without importing it)."""
    return importlib.util.find_spec("sklearn") is not None


def train_mlp_classifier(
    X: Array,
    labels: Array,
    *,
    hidden: tuple[int, ...],
    activation: str,
    lr: float,
    epochs: int,
    batch_size: int,
    shuffle: bool,
) -> Any:
    """Train an ``MLPClassifier`` for exactly ``epochs`` epochs of plain SGD; return it."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation=activation,
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=lr,
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=batch_size,
        max_iter=epochs,
        shuffle=shuffle,
        tol=0.0,
        n_iter_no_change=epochs + 1,  # never stop early: run every epoch
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached, on purpose
        model.fit(X, labels)
    return model
