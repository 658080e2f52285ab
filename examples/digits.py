"""Handwritten digits with mini-batches, Adam, a validation split and early stopping.

scikit-learn's 8x8 digits (1,797 images, bundled with scikit-learn, so no
download) classified by a 64-128-64-10 ReLU network trained with cross-entropy
and Adam in float32. ``fit`` holds out the last 15% of the training rows for
validation and stops when the validation loss has not improved for a while,
going back to the best epoch's weights.

Run:  python examples/digits.py [--seed 0] [--epochs 100] [--plot curves.png]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import minitorchless as mtl
from minitorchless.callbacks import EarlyStopping


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixels scaled to [0, 1] in float32, integer labels, a stratified 80/20 split."""
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)  # pixel intensities run from 0 to 16
    X_train, X_test, y_train, y_test = train_test_split(
        X, digits.target, test_size=0.2, stratify=digits.target, random_state=seed
    )
    return X_train, X_test, y_train, y_test


def build_model(seed: int) -> mtl.Sequential:
    """64-128-64-10 with ReLU; He initialisation suits ReLU, biases help every layer."""
    rng = np.random.default_rng(seed)

    def dense(in_features: int, out_features: int) -> mtl.Dense:
        return mtl.Dense(
            in_features, out_features, bias=True, rng=rng, dtype=np.float32, init="he_uniform"
        )

    return mtl.Sequential(
        dense(64, 128),
        mtl.ReLU(),
        dense(128, 64),
        mtl.ReLU(),
        dense(64, 10),  # logits: CrossEntropyLoss applies the softmax itself
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, weights, batches")
    parser.add_argument("--epochs", type=int, default=100, help="at most this many epochs")
    parser.add_argument("--plot", metavar="PATH", help="write the loss curves to this PNG")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    args = parser.parse_args(argv)

    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_data(args.seed)
    model = build_model(args.seed)
    optimizer = mtl.Adam(model.parameters(), lr=1e-3)

    # the whole training run: mini-batches, a validation split, early stopping
    history = mtl.fit(
        model,
        X_train,
        y_train,
        loss=mtl.CrossEntropyLoss(),
        optimizer=optimizer,
        epochs=args.epochs,
        batch_size=32,
        validation_split=0.15,
        metrics=["accuracy"],
        callbacks=[EarlyStopping("val_loss", patience=8, restore_best_weights=True)],
        rng=np.random.default_rng(args.seed),
        verbose=args.verbose,
    )

    probabilities = mtl.predict(model, X_test)
    accuracy = mtl.metrics.accuracy(probabilities, y_test)
    elapsed = time.perf_counter() - start
    print(
        f"test accuracy: {accuracy:.4f} ({round(accuracy * len(y_test))}/{len(y_test)}), "
        f"{len(history)} epochs, {elapsed:.1f}s in all"
    )
    print("confusion matrix (rows: true digit, columns: predicted digit):")
    matrix = mtl.metrics.confusion_matrix(probabilities, y_test, num_classes=10)
    print("     " + " ".join(f"{digit:3d}" for digit in range(10)))
    for digit, row in enumerate(matrix):
        print(f"{digit:3d}  " + " ".join(f"{count:3d}" for count in row))
    if args.plot:
        history.plot(["loss", "accuracy"]).savefig(args.plot, dpi=100)
        print(f"loss curves written to {args.plot}")
    return {"accuracy": accuracy, "epochs": float(len(history)), "seconds": elapsed}


if __name__ == "__main__":
    main()
