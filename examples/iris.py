"""The classic 3-layer network on iris, with the training loop written out.

A bias-free 5-4-3 sigmoid network trained with mean squared error and plain
gradient descent at a fixed learning rate, as in the classic from-scratch
tutorial. The fifth input is a constant column of ones: multiplied by the first
weight matrix, it acts as the hidden layer's bias.

Run:  python examples/iris.py [--hidden 4] [--lr 3] [--epochs 1000] [--seed 0] [--fit] [--plot]

With --fit, a second part trains the same network again with ``mtl.fit``,
which runs this very loop for you, and checks that it reaches the same weights.
With --plot (needs matplotlib), it draws the cost curve and the decision
regions over the two petal measurements.
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


def describe(args: argparse.Namespace, n_train: int, n_test: int) -> None:
    """Say what is trained, on what, and how, before it starts."""
    print(f"""The classic network on iris (seed {args.seed}):
  data: {n_train} flowers to train on and {n_test} held out to test (a stratified 80/20
        split): 4 standardized measurements, plus a column of ones
  network: 5 inputs -> {args.hidden} sigmoid units -> 3 sigmoid outputs, no biases (the
           ones column acts as the hidden layer's bias), weights drawn from N(0, 1)
  training: mean squared error against one-hot targets, plain gradient descent at a
            fixed learning rate of {args.lr:g}, {args.epochs} full-batch epochs""")


def train_loop(
    model: mtl.Sequential, X: np.ndarray, Y: np.ndarray, lr: float, epochs: int
) -> list[float]:
    """The training loop of the tutorial, written out; returns the cost of every epoch."""
    loss_fn = mtl.MSELoss()
    optimizer = mtl.SGD(model.parameters(), lr=lr)
    report_every = max(1, epochs // 10)
    costs = []
    for epoch in range(1, epochs + 1):
        predictions = model(X)  # forward: z = xW, a = sigmoid(z), twice
        cost = loss_fn(predictions, Y)  # mean squared error
        optimizer.zero_grad()
        model.backward(loss_fn.backward())  # the deltas, layer by layer
        optimizer.step()  # W <- W - lr * dL/dW
        costs.append(cost)
        if epoch % report_every == 0 or epoch == 1:
            print(f"epoch {epoch:5d}  cost {cost:.6f}")
    return costs


def report(
    model: mtl.Sequential,
    X_train: np.ndarray,
    Y_train: np.ndarray,
    X_test: np.ndarray,
    Y_test: np.ndarray,
) -> dict[str, float]:
    """The final cost, the test predictions as the tutorial shows them, and the accuracy."""
    final_cost = mtl.MSELoss()(model(X_train), Y_train)
    test_predictions = model.eval()(X_test)
    accuracy = float(np.mean(test_predictions.argmax(axis=1) == Y_test.argmax(axis=1)))
    np.set_printoptions(precision=3, suppress=True)
    print(f"final training cost: {final_cost:.6f}")
    print("test predictions (rows: flowers, columns: setosa, versicolor, virginica), rounded as")
    print("the tutorial does: below 0.01 shows as 0 and above 0.9 as 1, so a confident answer")
    print("reads as a one-hot row; the predicted species is the largest column")
    print(round_like_the_tutorial(test_predictions))
    print(f"test accuracy: {accuracy:.4f} ({round(accuracy * len(X_test))}/{len(X_test)})")
    return {"final_cost": final_cost, "accuracy": accuracy}


def compare_with_fit(
    args: argparse.Namespace,
    model: mtl.Sequential,
    X_train: np.ndarray,
    Y_train: np.ndarray,
    X_test: np.ndarray,
    Y_test: np.ndarray,
) -> dict[str, float]:
    """Train again with ``mtl.fit``, which runs the same loop, and compare the weights."""
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
    return {"fit_accuracy": fit_accuracy, "same_weights": float(same)}


def plot(
    model: mtl.Sequential, costs: list[float], X_train: np.ndarray, Y_train: np.ndarray
) -> None:
    """The cost curve, and the predicted species over the petal measurements."""
    import matplotlib.pyplot as plt

    _, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    left.plot(range(1, len(costs) + 1), costs)
    left.set(xlabel="epoch", ylabel="mean squared error", yscale="log", title="the cost")
    # petal length and width vary over a grid; the sepal measurements stay at their mean
    grid = np.linspace(-2.5, 2.5, 200)
    length, width = np.meshgrid(grid, grid)
    points = np.zeros((length.size, 5))
    points[:, 2], points[:, 3], points[:, 4] = length.ravel(), width.ravel(), 1.0
    species = model.eval()(points).argmax(axis=1).reshape(length.shape)
    right.contourf(length, width, species, levels=[-0.5, 0.5, 1.5, 2.5], alpha=0.3)
    right.scatter(X_train[:, 2], X_train[:, 3], c=Y_train.argmax(axis=1), edgecolors="k")
    right.set(
        xlabel="petal length (standardized)",
        ylabel="petal width (standardized)",
        title="predicted species, training flowers on top",
    )
    plt.show()


NEXT_STEPS = """Where to go next:
  docs/classic-network.md   every equation of this network next to its line of code
  python examples/iris.py --fit      the same training in one call to mtl.fit
  python examples/digits.py          mini-batches, Adam, cross-entropy, validation
  docs/custom-layer.md      write your own layer and prove it with check_layer"""


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=4, help="hidden layer size (default 4)")
    parser.add_argument("--lr", type=float, default=3.0, help="learning rate (default 3)")
    parser.add_argument("--epochs", type=int, default=1000, help="full-batch epochs (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and weights")
    parser.add_argument("--fit", action="store_true", help="then train again with mtl.fit")
    parser.add_argument("--plot", action="store_true", help="draw the cost and the regions")
    args = parser.parse_args(argv)

    X_train, X_test, Y_train, Y_test = load_data(args.seed)
    describe(args, len(X_train), len(X_test))
    model = build_model(args.hidden, args.seed)
    model.summary(input_shape=(5,), print_fn=lambda line: print("  " + line))
    costs = train_loop(model, X_train, Y_train, args.lr, args.epochs)
    results = report(model, X_train, Y_train, X_test, Y_test)
    if args.fit:
        results.update(compare_with_fit(args, model, X_train, Y_train, X_test, Y_test))
    if args.plot:
        plot(model, costs, X_train, Y_train)
    print()
    print(NEXT_STEPS)
    return results


if __name__ == "__main__":
    main()
