"""Handwritten digits with a small convolutional network, a validation split and early stopping.

scikit-learn's 8x8 digits (1,797 images, bundled with scikit-learn, so no
download) reshaped to ``(N, 1, 8, 8)`` images and classified by two
convolutions (the second strided, in place of pooling), then two dense layers,
trained with cross-entropy and Adam in float32. The last 15% of the training
images are held out for validation; the rest are augmented with their copies
shifted by one pixel up, down, left and right (a digit moved by a pixel is the
same digit, and the convolutions see it move). ``fit`` stops when the
validation loss has not improved for a while, going back to the best epoch's
weights.

Run:  python examples/cnn_digits.py [--seed 0] [--epochs 40] [--plot filters.png]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import minitorchless as mtl
from minitorchless.callbacks import EarlyStopping


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Images ``(N, 1, 8, 8)`` scaled to [0, 1] in float32, labels, a stratified 80/20 split."""
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, np.newaxis]  # intensities run 0 to 16
    X_train, X_test, y_train, y_test = train_test_split(
        X, digits.target, test_size=0.2, stratify=digits.target, random_state=seed
    )
    return X_train, X_test, y_train, y_test


def shifted_copies(images: np.ndarray) -> np.ndarray:
    """``images`` and their four copies shifted by one pixel, zeros coming in at the edge."""
    copies = [images]
    for axis in (2, 3):
        for step in (1, -1):
            moved = np.roll(images, step, axis=axis)
            edge = [slice(None)] * 4
            edge[axis] = slice(0, 1) if step == 1 else slice(-1, None)
            moved[tuple(edge)] = 0  # what rolled around from the other side
            copies.append(moved)
    return np.concatenate(copies)


def build_model(seed: int) -> mtl.Sequential:
    """Conv 1->16 (8x8), conv 16->32 at stride 2 (4x4), then 512-64-10."""
    rng = np.random.default_rng(seed)
    return mtl.Sequential(
        mtl.Conv2d(1, 16, 3, padding="same", rng=rng, dtype=np.float32),
        mtl.ReLU(),
        mtl.Conv2d(16, 32, 3, stride=2, padding=1, rng=rng, dtype=np.float32),
        mtl.ReLU(),
        mtl.Flatten(),
        mtl.Dense(32 * 4 * 4, 64, bias=True, rng=rng, dtype=np.float32, init="he_uniform"),
        mtl.ReLU(),
        mtl.Dense(64, 10, bias=True, rng=rng, dtype=np.float32),  # logits
    )


def plot(model: mtl.Sequential, history: Any, path: str) -> None:
    """The first layer's 16 filters as 3x3 images, and the loss curves, into one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(10, 4))
    grid = figure.add_gridspec(4, 8)
    filters = model[0].weight.value[:, 0]  # (16, 3, 3)
    limit = float(np.abs(filters).max())
    for index, kernel in enumerate(filters):
        axis = figure.add_subplot(grid[index // 4, index % 4])
        axis.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.text(0.25, 0.95, "first-layer filters", ha="center")
    curves = figure.add_subplot(grid[:, 5:])
    for name in ("loss", "val_loss"):
        curves.plot(history.history[name], label=name)
    curves.set_xlabel("epoch")
    curves.set_yscale("log")
    curves.legend()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, weights, batches")
    parser.add_argument("--epochs", type=int, default=40, help="at most this many epochs")
    parser.add_argument("--plot", metavar="PATH", help="write the filters and loss curves here")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    args = parser.parse_args(argv)

    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_data(args.seed)
    kept = int(len(X_train) * 0.85)  # validate on images never shifted
    validation = (X_train[kept:], y_train[kept:])
    X_fit, y_fit = shifted_copies(X_train[:kept]), np.tile(y_train[:kept], 5)
    model = build_model(args.seed)
    history = mtl.fit(
        model,
        X_fit,
        y_fit,
        loss=mtl.CrossEntropyLoss(),
        optimizer=mtl.Adam(model.parameters(), lr=2e-3),
        epochs=args.epochs,
        batch_size=64,
        validation_data=validation,
        metrics=["accuracy"],
        callbacks=[EarlyStopping("val_loss", patience=8, restore_best_weights=True)],
        rng=np.random.default_rng(args.seed),
        verbose=args.verbose,
    )
    accuracy = mtl.metrics.accuracy(mtl.predict(model, X_test), y_test)
    elapsed = time.perf_counter() - start
    print(
        f"test accuracy: {accuracy:.4f} ({round(accuracy * len(y_test))}/{len(y_test)}), "
        f"{len(history)} epochs, {elapsed:.1f}s in all"
    )
    if args.plot:
        plot(model, history, args.plot)
        print(f"filters and loss curves written to {args.plot}")
    return {"accuracy": accuracy, "epochs": float(len(history)), "seconds": elapsed}


if __name__ == "__main__":
    main()
