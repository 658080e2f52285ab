"""The classic 3-layer network on iris, with the training loop written out.

A bias-free 5-4-3 sigmoid network trained with mean squared error and plain
gradient descent at a fixed learning rate, as in the classic from-scratch
tutorial. The fifth input is a constant column of ones: multiplied by the first
weight matrix, it acts as the hidden layer's bias.

Run:  python examples/iris.py [--hidden 4] [--lr 3] [--epochs 1000] [--seed 0] [--fit]

With --fit, a second part trains the same network again with ``mtl.fit``,
which runs this very loop for you, and checks that it reaches the same weights.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import minitorchless as mtl


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardized iris features plus a ones column, one-hot targets, stratified 80/20."""
    iris = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.2, stratify=iris.target, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)  # statistics of the training split only

    def with_ones(features: np.ndarray) -> np.ndarray:
        return np.hstack([scaler.transform(features), np.ones((len(features), 1))])

    one_hot = np.eye(3)
    return with_ones(X_train), with_ones(X_test), one_hot[y_train], one_hot[y_test]


def build_model(hidden: int, seed: int) -> mtl.Sequential:
    """The classic network: N(0, 1) weights, no biases, sigmoid everywhere."""
    rng = np.random.default_rng(seed)
    return mtl.Sequential(
        mtl.Dense(5, hidden, rng=rng, init="normal"),
        mtl.Sigmoid(),
        mtl.Dense(hidden, 3, rng=rng, init="normal"),
        mtl.Sigmoid(),
    )


def round_like_the_tutorial(predictions: np.ndarray) -> np.ndarray:
    """Below 0.01 becomes 0 and above 0.9 becomes 1; the rest is left as it is."""
    rounded = predictions.copy()
    rounded[predictions < 0.01] = 0.0
    rounded[predictions > 0.9] = 1.0
    return rounded


def train_with_fit(
    X_train: np.ndarray, Y_train: np.ndarray, hidden: int, lr: float, epochs: int, seed: int
) -> mtl.Sequential:
    """The same training as the loop in ``main``, in one call to ``mtl.fit``."""
    model = build_model(hidden, seed)
    mtl.fit(
        model,
        X_train,
        Y_train,
        loss=mtl.MSELoss(),
        optimizer=mtl.SGD(model.parameters(), lr=lr),
        epochs=epochs,  # batch_size=None: the full batch, as in the loop
        metrics=["accuracy"],
        verbose=2,
    )
    return model


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=4, help="hidden layer size (default 4)")
    parser.add_argument("--lr", type=float, default=3.0, help="learning rate (default 3)")
    parser.add_argument("--epochs", type=int, default=1000, help="full-batch epochs (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and weights")
    parser.add_argument("--fit", action="store_true", help="then train again with mtl.fit")
    args = parser.parse_args(argv)

    X_train, X_test, Y_train, Y_test = load_data(args.seed)
    model = build_model(args.hidden, args.seed)
    loss_fn = mtl.MSELoss()
    optimizer = mtl.SGD(model.parameters(), lr=args.lr)

    print(f"Training the classic network, seed {args.seed}:")
    model.summary(print_fn=lambda line: print("  " + line))
    report_every = max(1, args.epochs // 10)
    for epoch in range(1, args.epochs + 1):
        predictions = model(X_train)  # forward: z = xW, a = sigmoid(z), twice
        cost = loss_fn(predictions, Y_train)  # mean squared error
        optimizer.zero_grad()
        model.backward(loss_fn.backward())  # the deltas, layer by layer
        optimizer.step()  # W <- W - lr * dL/dW
        if epoch % report_every == 0 or epoch == 1:
            print(f"epoch {epoch:5d}  cost {cost:.6f}")

    final_cost = loss_fn(model(X_train), Y_train)
    test_predictions = model.eval()(X_test)
    accuracy = float(np.mean(test_predictions.argmax(axis=1) == Y_test.argmax(axis=1)))
    np.set_printoptions(precision=3, suppress=True)
    print(f"final training cost: {final_cost:.6f}")
    print("test predictions, rounded as the tutorial does (rows: samples, columns: classes):")
    print(round_like_the_tutorial(test_predictions))
    print(f"test accuracy: {accuracy:.4f} ({round(accuracy * len(X_test))}/{len(X_test)})")
    results = {"final_cost": final_cost, "accuracy": accuracy}
    if not args.fit:
        return results

    # Part 2: the same training in a few lines. fit runs the loop above (forward,
    # loss, zero_grad, backward, step) on the same full batch, so a model
    # started from the same seed ends with exactly the same weights.
    print()
    print("The same training with mtl.fit:")
    fitted = train_with_fit(X_train, Y_train, args.hidden, args.lr, args.epochs, args.seed)
    fitted_weights = fitted.state_dict()
    same = all(
        np.array_equal(weights, fitted_weights[name])
        for name, weights in model.state_dict().items()
    )
    fit_accuracy = mtl.metrics.accuracy(mtl.predict(fitted, X_test), Y_test)
    print(f"test accuracy with fit: {fit_accuracy:.4f}; same weights as the loop: {same}")
    results.update(fit_accuracy=fit_accuracy, same_weights=float(same))
    return results


if __name__ == "__main__":
    main()
