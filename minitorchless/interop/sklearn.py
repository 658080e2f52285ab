"""scikit-learn estimators backed by minitorchless networks (the ``sklearn`` extra).

``NeuralNetClassifier`` and ``NeuralNetRegressor`` follow scikit-learn's
estimator contract, so they work in ``Pipeline``, ``GridSearchCV`` and
``cross_val_score``: ``__init__`` only stores its arguments, ``fit`` validates
them and the data, builds a fresh network and trains it with
:func:`minitorchless.fit`, and everything learned ends in ``_``.

The network is either a multilayer perceptron described as scikit-learn's
``MLPClassifier`` describes it (``hidden_layer_sizes``, ``activation``), or any
minitorchless model returned by a ``module(in_features, out_features, rng)``
factory: custom layers, graphs, anything that maps ``(batch, in_features)`` to
``(batch, out_features)``. Classifiers train the model's outputs as logits with
``CrossEntropyLoss`` and turn them into probabilities with a softmax.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from typing_extensions import Self

try:
    # scikit-learn ships no type hints: its names are Any to mypy (see pyproject.toml)
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "minitorchless.interop.sklearn needs scikit-learn >= 1.6: "
        "pip install 'minitorchless[sklearn]'"
    ) from err

from minitorchless._checks import float_dtype, positive_float, positive_int
from minitorchless.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from minitorchless.layers.base import Layer
from minitorchless.layers.dense import Dense
from minitorchless.layers.sequential import Sequential
from minitorchless.losses import CrossEntropyLoss, L1Loss, Loss, MSELoss
from minitorchless.optim import SGD, Adam, AdamW, Optimizer, RMSprop
from minitorchless.train.evaluate import predict
from minitorchless.train.fit import fit
from minitorchless.train.history import History

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

ModuleFactory = Callable[[int, int, np.random.Generator], Layer]
OptimizerFactory = Callable[..., Optimizer]

# scikit-learn's MLP names first, then minitorchless's own
ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "tanh": Tanh,
    "logistic": Sigmoid,
    "sigmoid": Sigmoid,
    "identity": Identity,
    "leaky_relu": LeakyReLU,
}
OPTIMIZERS: dict[str, OptimizerFactory] = {
    "adam": Adam,
    "adamw": AdamW,
    "sgd": SGD,
    "rmsprop": RMSprop,
}
LOSSES: dict[str, type[Loss]] = {
    "cross_entropy": CrossEntropyLoss,
    "log_loss": CrossEntropyLoss,
    "mse": MSELoss,
    "squared_error": MSELoss,
    "l1": L1Loss,
    "absolute_error": L1Loss,
}


def _generator(owner: str, random_state: Any) -> np.random.Generator:
    """A Generator from scikit-learn's ``random_state`` conventions (never the global one)."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31))  # draws from it, as sklearn does
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    raise TypeError(
        f"{owner}: random_state must be None, an int, a numpy Generator or RandomState, "
        f"received {random_state!r}"
    )


def _choose(owner: str, what: str, value: str, table: dict[str, Any]) -> Any:
    if value not in table:
        raise ValueError(f"{owner}: unknown {what} {value!r}; choose from {sorted(table)}")
    return table[value]


class _NeuralNet(BaseEstimator):  # type: ignore[misc]  # scikit-learn ships no type hints
    """What the classifier and the regressor share: the network, the optimizer, the loop."""

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        module: ModuleFactory | None = None,
        loss: str | Loss | None = None,
        optimizer: str | OptimizerFactory = "adam",
        epochs: int = 200,
        batch_size: int | str | None = "auto",
        learning_rate: float = 1e-3,
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
        dtype: str = "float64",
        verbose: int = 0,
        tol: float = 1e-4,
        n_iter_no_change: int = 10,
    ) -> None:
        # scikit-learn's rule: store the arguments untouched, validate them in fit
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.module = module
        self.loss = loss
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change

    # ------------------------------------------------------------- building
    def _network(self, in_features: int, out_features: int, rng: np.random.Generator) -> Layer:
        owner = type(self).__name__
        if self.module is not None:
            if not callable(self.module):
                raise TypeError(
                    f"{owner}: module must be a function (in_features, out_features, rng) "
                    f"-> Layer, received {self.module!r}"
                )
            model = self.module(in_features, out_features, rng)
            if not isinstance(model, Layer):
                raise TypeError(
                    f"{owner}: module(...) must return a minitorchless Layer, "
                    f"received {type(model).__name__}"
                )
            return model
        given = self.hidden_layer_sizes
        sizes: list[Any] = [given] if isinstance(given, (int, np.integer)) else list(given)
        activation = _choose(owner, "activation", self.activation, ACTIVATIONS)
        dtype = float_dtype(owner, self.dtype)
        layers: list[Layer] = []
        width = in_features
        for size in sizes:
            size = positive_int(owner, "each of hidden_layer_sizes", size)
            layers += [Dense(width, size, bias=True, rng=rng, dtype=dtype), activation()]
            width = size
        layers.append(Dense(width, out_features, bias=True, rng=rng, dtype=dtype))
        return Sequential(*layers)

    def _make_loss(self, default: type[Loss]) -> Loss:
        if self.loss is None:
            return default()
        if isinstance(self.loss, str):
            loss_type: type[Loss] = _choose(type(self).__name__, "loss", self.loss, LOSSES)
            return loss_type()
        if isinstance(self.loss, Loss):
            # a loss caches its inputs: train a copy, leave the parameter as it was given
            return copy.deepcopy(self.loss)
        raise TypeError(
            f"{type(self).__name__}: loss must be None, a name from {sorted(LOSSES)} or a "
            f"Loss, received {self.loss!r}"
        )

    def _make_optimizer(self, model: Layer) -> Optimizer:
        owner = type(self).__name__
        factory = self.optimizer
        if isinstance(factory, str):
            factory = _choose(owner, "optimizer", factory, OPTIMIZERS)
        if not callable(factory):
            raise TypeError(
                f"{owner}: optimizer must be a name from {sorted(OPTIMIZERS)} or a function "
                f"(parameters, lr=...) -> Optimizer, received {factory!r}"
            )
        learning_rate = positive_float(owner, "learning_rate", self.learning_rate)
        return factory(model.parameters(), lr=learning_rate)

    def _batch(self, n_samples: int) -> int | None:
        if self.batch_size == "auto":  # scikit-learn's MLP default
            return min(200, n_samples)
        if self.batch_size is None:
            return None  # the full batch
        return positive_int(type(self).__name__, "batch_size", self.batch_size)

    def _train(
        self, X: NDArray[Any], targets: NDArray[Any], out_features: int, default: type[Loss]
    ) -> None:
        owner = type(self).__name__
        tol = positive_float(owner, "tol", self.tol, allow_zero=True)
        patience = positive_int(owner, "n_iter_no_change", self.n_iter_no_change)
        rng = _generator(owner, self.random_state)
        model = self._network(X.shape[1], out_features, rng)
        history: History = fit(
            model,
            X,
            targets,
            loss=self._make_loss(default),
            optimizer=self._make_optimizer(model),
            epochs=positive_int(type(self).__name__, "epochs", self.epochs),
            batch_size=self._batch(len(X)),
            verbose=self.verbose,
            rng=rng,
        )
        model.clear_cache()  # the last batch's activations are not worth keeping (or pickling)
        self.model_ = model
        self.history_ = history
        # a run that diverged in its first epoch recorded no loss at all
        self.loss_curve_ = list(history.history.get("loss", []))
        self.n_iter_ = len(history)
        if not history.diverged:  # a diverged run has had its DivergenceWarning
            self._warn_unless_converged(tol, patience)

    def _warn_unless_converged(self, tol: float, patience: int) -> None:
        """Warn as scikit-learn's MLP does unless the loss curve converged by its rule.

        Converged: at some point more than ``n_iter_no_change`` epochs in a row
        each failed to bring the loss ``tol`` below the best so far.
        """
        owner = type(self).__name__
        best, still = math.inf, 0
        for value in self.loss_curve_:
            still = still + 1 if value > best - tol else 0
            best = min(best, value)
            if still > patience:
                return
        warnings.warn(
            f"{owner}: training ended after {self.n_iter_} epoch(s) and the loss has not "
            f"converged yet: it still improved by more than tol={tol:g} within "
            f"n_iter_no_change={patience} epochs (last loss {self.loss_curve_[-1]:.4g}); "
            f"raise epochs or learning_rate",
            ConvergenceWarning,
            stacklevel=4,
        )

    def _outputs(self, X: ArrayLike) -> NDArray[Any]:
        check_is_fitted(self)
        inputs: NDArray[Any] = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        outputs = predict(self.model_, inputs)
        self.model_.clear_cache()
        return outputs


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):  # type: ignore[misc]
    """A neural-network classifier with scikit-learn's estimator interface.

    The network maps features to one score (logit) per class and is trained
    with ``CrossEntropyLoss``; ``predict_proba`` is the softmax of the scores.
    Labels may be any values ``np.unique`` can sort (ints, strings...).

    Args:
        hidden_layer_sizes: Widths of the hidden layers, as in ``MLPClassifier``;
            ``()`` gives a linear model. Ignored when ``module`` is given.
        activation: ``"relu"``, ``"tanh"``, ``"logistic"`` (or ``"sigmoid"``),
            ``"identity"`` or ``"leaky_relu"``, after each hidden layer.
        module: Instead of the above, a function ``(in_features, out_features,
            rng) -> Layer`` building any model whose outputs are logits (no final
            softmax), e.g. a ``Graph`` or one with custom layers.
        loss: ``None`` (cross-entropy), a name or a ``Loss`` taking logits and
            integer labels.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"``, ``"rmsprop"``, or a
            function ``(parameters, lr=...) -> Optimizer`` such as a class.
        epochs: Passes over the training data.
        batch_size: Samples per step: ``"auto"`` is ``min(200, n_samples)``,
            ``None`` the full batch.
        learning_rate: The optimizer's ``lr``.
        random_state: Seeds the initial weights and the shuffling.
        dtype: ``"float64"`` or ``"float32"``, for the built-in network.
        verbose: Passed to :func:`minitorchless.fit` (0: silent).
        tol: scikit-learn's MLP convergence rule: training has converged once
            more than ``n_iter_no_change`` epochs in a row each failed to bring
            the loss ``tol`` below its best. Training runs all ``epochs``
            regardless; if the rule never held, ``fit`` warns with
            ``sklearn.exceptions.ConvergenceWarning``.
        n_iter_no_change: The number of epochs of that rule, >= 1.

    Attributes:
        classes_: The sorted class labels.
        model_: The trained minitorchless model.
        history_: The :class:`~minitorchless.History` of the training run.
        loss_curve_: The training loss of each epoch.
        n_features_in_: The number of features seen in ``fit``.
    """

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Train a fresh network on ``(X, y)``; returns ``self``."""
        inputs: NDArray[Any]
        inputs, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__}: y holds only one class ({self.classes_[0]!r}); "
                f"a classifier needs at least two classes to learn from"
            )
        self._train(inputs, labels, len(self.classes_), CrossEntropyLoss)
        return self

    def predict_proba(self, X: ArrayLike) -> NDArray[Any]:
        """Class probabilities, one row per sample, columns in the order of ``classes_``."""
        logits = self._outputs(X)
        # softmax, shifted by each row's maximum so that no exponent overflows
        probabilities: NDArray[Any] = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return probabilities

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable class of each sample."""
        outputs = self._outputs(X)  # first: it raises NotFittedError before classes_ exists
        classes: NDArray[Any] = self.classes_[np.argmax(outputs, axis=1)]
        return classes


class NeuralNetRegressor(RegressorMixin, _NeuralNet):  # type: ignore[misc]
    """A neural-network regressor with scikit-learn's estimator interface.

    The network's last layer is linear, with one output per target; ``y`` may
    be 1-D (one target) or 2-D (several). Trained with ``MSELoss`` by default.

    Args:
        hidden_layer_sizes: Widths of the hidden layers; ``()`` gives linear
            regression. Ignored when ``module`` is given.
        activation: As for :class:`NeuralNetClassifier`.
        module: A function ``(in_features, out_features, rng) -> Layer``.
        loss: ``None`` (mean squared error), ``"l1"``, or a ``Loss``.
        optimizer: As for :class:`NeuralNetClassifier`.
        epochs: Passes over the training data.
        batch_size: ``"auto"`` (``min(200, n_samples)``), ``None`` or an int.
        learning_rate: The optimizer's ``lr``.
        random_state: Seeds the initial weights and the shuffling.
        dtype: ``"float64"`` or ``"float32"``, for the built-in network.
        verbose: Passed to :func:`minitorchless.fit`.
        tol: The convergence rule, as for the classifier; ``ConvergenceWarning``
            when it never held.
        n_iter_no_change: The number of epochs of that rule, >= 1.

    Attributes:
        model_: The trained minitorchless model.
        history_: The training History; ``loss_curve_``: its losses.
        n_outputs_: The number of targets.
        n_features_in_: The number of features seen in ``fit``.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one output unit per target column
        return tags

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Train a fresh network on ``(X, y)``; returns ``self``."""
        inputs: NDArray[Any]
        values: NDArray[Any]
        inputs, values = validate_data(
            self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True
        )
        self._one_target = values.ndim == 1  # predict returns y's own shape
        targets = values.reshape(len(values), -1).astype(inputs.dtype, copy=False)
        self.n_outputs_ = targets.shape[1]
        self._train(inputs, targets, self.n_outputs_, MSELoss)
        return self

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The predicted targets: 1-D if ``y`` was 1-D in ``fit``, else one column each."""
        outputs = self._outputs(X)
        return outputs.ravel() if self._one_target else outputs
