"""A deep residual MLP on digits, next to the same network without its skip connections.

Both networks stack ``--depth`` hidden blocks of ``Dense -> Tanh`` (30 by
default) between an input layer and a classifier, on scikit-learn's 8x8 digits
(bundled, no download). They start from the *same* weights and train with the
same optimizer on the same batches; the only difference is that each block of
the residual network is wrapped in ``mtl.Residual``, so it computes
``x + tanh(x W + b)`` instead of ``tanh(x W + b)``.

Each tanh layer of the plain network squashes its input a little more: after
30 of them the top layer sees nearly the same activations for every image, so
the loss hardly depends on the weights and the gradients are about a hundred
times smaller than the residual network's. With the same budget of epochs the
plain network stays at chance. In the residual network every block only *adds*
to its input, so the image reaches the top intact and the gradient comes back
along the identity paths undiminished; it trains to a high accuracy. The script prints both numbers
before training, then the loss and the test accuracy of each network.

Run:  python examples/residual.py [--depth 30] [--width 32] [--epochs 30] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import minitorchless as mtl


def load_data(
    seed: int, dtype: Any = np.float32
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixels scaled to [0, 1] in ``dtype``, integer labels, a stratified 80/20 split."""
    digits = load_digits()
    X = (digits.data / 16.0).astype(dtype)  # pixel intensities run from 0 to 16
    X_train, X_test, y_train, y_test = train_test_split(
        X, digits.target, test_size=0.2, stratify=digits.target, random_state=seed
    )
    return X_train, X_test, y_train, y_test


def build_model(
    depth: int, width: int, seed: int, *, residual: bool, dtype: Any = np.float32
) -> mtl.Sequential:
    """64 -> width, then ``depth`` blocks of Dense -> Tanh (each with a skip if asked), -> 10.

    The weights are drawn in the same order either way (``Residual`` draws
    nothing), so the same seed gives both networks the same starting point.
    """
    rng = np.random.default_rng(seed)

    def dense(in_features: int, out_features: int) -> mtl.Dense:
        return mtl.Dense(in_features, out_features, bias=True, rng=rng, dtype=dtype)

    layers: list[mtl.Layer] = [dense(64, width), mtl.Tanh()]
    for _ in range(depth):
        block = mtl.Sequential(dense(width, width), mtl.Tanh())
        layers.append(mtl.Residual(block) if residual else block)
    layers.append(dense(width, 10))  # logits: CrossEntropyLoss applies the softmax itself
    return mtl.Sequential(*layers)


def diagnose(model: mtl.Sequential, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Before training: how much the top hidden layer still varies from image to image
    (its standard deviation across images, averaged over features), and the norm of the
    loss gradient with respect to the first layer's weight.
    """
    spread = float(model[:-1](X).std(axis=0).mean())  # every layer but the classifier
    loss_fn = mtl.CrossEntropyLoss()
    loss_fn(model(X), y)
    model.zero_grad()
    model.backward(loss_fn.backward())
    first_weight = next(iter(model.parameters()))
    gradient = float(np.linalg.norm(first_weight.grad))
    model.zero_grad()
    return spread, gradient


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=30, help="hidden blocks (default 30)")
    parser.add_argument("--width", type=int, default=32, help="block width (default 32)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, weights, batches")
    parser.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default="float32",
        help="float64 gives the same numbers on every CPU; float32 may differ in the last digits",
    )
    args = parser.parse_args(argv)

    X_train, X_test, y_train, y_test = load_data(args.seed, args.dtype)
    print(
        f"{args.depth} hidden blocks of Dense({args.width}, {args.width}) -> Tanh, "
        f"SGD(lr={args.lr}, momentum=0.9), batches of 32, {args.epochs} epochs\n"
    )
    print("  residual block:   x --+--> Dense -> Tanh --> (+) --> next block")
    print("                        |                       ^")
    print("                        +-----------------------+")
    print("  plain block:      x -----> Dense -> Tanh ---------> next block\n")

    results: dict[str, float] = {}
    for name, residual in (("residual", True), ("plain", False)):
        model = build_model(args.depth, args.width, args.seed, residual=residual, dtype=args.dtype)
        spread, gradient = diagnose(model, X_train, y_train)
        start = time.perf_counter()
        history = mtl.fit(
            model,
            X_train,
            y_train,
            loss=mtl.CrossEntropyLoss(),
            optimizer=mtl.SGD(model.parameters(), lr=args.lr, momentum=0.9),
            epochs=args.epochs,
            batch_size=32,
            rng=np.random.default_rng(args.seed),
            verbose=0,
        )
        accuracy = mtl.metrics.accuracy(mtl.predict(model, X_test), y_test)
        loss = history.history["loss"]
        print(
            f"{name}:\n  before training: top hidden layer's spread across images "
            f"{spread:.3f}, first layer's gradient {gradient:.2e}\n"
            f"  training loss {loss[0]:.3f} -> {loss[-1]:.3f} over {len(history)} epochs "
            f"({time.perf_counter() - start:.1f}s); test accuracy {accuracy:.4f}"
        )
        results.update(
            {
                f"{name}_accuracy": accuracy,
                f"{name}_first_loss": loss[0],
                f"{name}_loss": loss[-1],
                f"{name}_spread": spread,
                f"{name}_gradient": gradient,
            }
        )
    return results


if __name__ == "__main__":
    main()
