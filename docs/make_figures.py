"""Regenerate every figure of the documentation from the library itself.

Run from the repository root (needs the ``examples`` extra: scikit-learn and
matplotlib)::

    python docs/make_figures.py            # writes docs/figures/*.png and *.svg
    python docs/make_figures.py --out DIR  # somewhere else, e.g. to compare

Every figure is drawn by minitorchless code with fixed seeds and matplotlib's
Agg backend, so the same versions of the libraries give the same pictures.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no display needed

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))  # the iris data and model of examples/iris.py

import minitorchless as mtl  # noqa: E402

sys.path.insert(0, str(ROOT / "docs"))  # the mtl.draw figures, in draw_figures.py
from draw_figures import (  # noqa: E402
    drawing_classic,
    drawing_cnn,
    drawing_residual,
    drawing_transformer,
)

DPI = 100
SEED = 0
# the PNG "Software" entry names the matplotlib version; leave it out so that
# regenerating with another version does not change otherwise identical files
METADATA = {"Software": None}


def _save(figure: Figure, out: Path, name: str) -> Path:
    path = out / name
    figure.savefig(path, dpi=DPI, metadata=METADATA)
    return path


def activations(out: Path) -> Path:
    """Sigmoid, tanh and ReLU with their derivatives, computed by the layers' own code."""
    z = np.linspace(-6, 6, 601)
    figure = Figure(figsize=(10, 3.2), layout="constrained")
    axes = figure.subplots(1, 3, sharex=True)
    for ax, layer, formula in zip(
        axes,
        (mtl.Sigmoid(), mtl.Tanh(), mtl.ReLU()),
        (r"$\sigma(z) = 1/(1+e^{-z})$", r"$\tanh z$", r"$\max(z, 0)$"),
        strict=True,
    ):
        a = layer(z)
        derivative = layer.backward(np.ones_like(z))  # dL/dz with dL/da = 1 is g'(z)
        ax.plot(z, a, label="g(z)", linewidth=2)
        ax.plot(z, derivative, label="g'(z)", linewidth=2, linestyle="--")
        ax.axhline(0, color="0.6", linewidth=0.8)
        ax.axvline(0, color="0.6", linewidth=0.8)
        ax.set_title(f"{type(layer).__name__}: {formula}")
        ax.set_xlabel("z")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    axes[2].set_ylim(-0.5, 3)
    return _save(figure, out, "activations.png")


def iris_loss(out: Path) -> Path:
    """The cost of the classic network over 1000 epochs, with the tutorial's lr 3 and others."""
    from iris import build_model, load_data

    X_train, _, Y_train, _ = load_data(SEED)
    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = figure.subplots()
    for lr in (0.3, 3.0, 30.0, 300.0):
        model = build_model(4, SEED)
        history = mtl.fit(
            model,
            X_train,
            Y_train,
            loss=mtl.MSELoss(),
            optimizer=mtl.SGD(model.parameters(), lr=lr),
            epochs=1000,
            verbose=0,
        )
        epochs = np.arange(1, len(history["loss"]) + 1)
        ax.plot(epochs, history["loss"], label=f"lr = {lr:g}", linewidth=2.5 if lr == 3.0 else 1.5)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error (training)")
    ax.set_title("The classic 5-4-3 sigmoid network on iris")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(figure, out, "iris-loss.png")


def saturation(out: Path) -> Path:
    """The share of saturated hidden and output sigmoids over training, for three lrs."""
    from iris import build_model, load_data

    X_train, _, Y_train, _ = load_data(SEED)
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    for lr in (0.3, 3.0, 30.0, 300.0):
        model = build_model(4, SEED)
        inspector = mtl.Inspector()
        mtl.fit(
            model,
            X_train,
            Y_train,
            loss=mtl.MSELoss(),
            optimizer=mtl.SGD(model.parameters(), lr=lr),
            epochs=1000,
            callbacks=[inspector],
            verbose=0,
        )
        epochs = np.asarray(inspector.epochs) + 1
        for ax, layer in zip(axes, ("1", "3"), strict=True):
            ax.plot(
                epochs,
                inspector.layer_stats[f"{layer}/saturated"],
                label=f"lr = {lr:g}",
                linewidth=2.5 if lr == 3.0 else 1.5,
            )
    axes[0].set_title("hidden sigmoids (layer 1): share saturated")
    axes[1].set_title("output sigmoids (layer 3): share saturated")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(figure, out, "iris-saturation.png")


def inspector_panels(out: Path) -> Path:
    """``Inspector.plot()`` on the classic network at lr 3, as the tutorial shows it."""
    from iris import build_model, load_data

    X_train, _, Y_train, _ = load_data(SEED)
    model = build_model(4, SEED)
    inspector = mtl.Inspector()
    mtl.fit(
        model,
        X_train,
        Y_train,
        loss=mtl.MSELoss(),
        optimizer=mtl.SGD(model.parameters(), lr=3.0),
        epochs=1000,
        callbacks=[inspector],
        verbose=0,
    )
    return _save(inspector.plot(), out, "iris-inspector.png")


def moons(out: Path) -> Path:
    """Decision regions of a small tanh network trained on two interleaved half-moons."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=300, noise=0.2, random_state=SEED)
    rng = np.random.default_rng(SEED)
    model = mtl.Sequential(
        mtl.Dense(2, 16, bias=True, rng=rng),
        mtl.Tanh(),
        mtl.Dense(16, 16, bias=True, rng=rng),
        mtl.Tanh(),
        mtl.Dense(16, 2, bias=True, rng=rng),
    )
    history = mtl.fit(
        model,
        X,
        y,
        loss=mtl.CrossEntropyLoss(),
        optimizer=mtl.Adam(model.parameters(), lr=0.01),
        epochs=300,
        batch_size=32,
        metrics=["accuracy"],
        rng=rng,
        verbose=0,
    )
    grid_x, grid_y = np.meshgrid(np.linspace(-1.6, 2.6, 300), np.linspace(-1.2, 1.7, 220))
    logits = mtl.predict(model, np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    probabilities = mtl.Softmax()(logits)[:, 1].reshape(grid_x.shape)

    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = figure.subplots()
    ax.contourf(
        grid_x, grid_y, probabilities, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.75
    )
    ax.contour(grid_x, grid_y, probabilities, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolors="k", linewidths=0.6, s=22)
    ax.set_title(
        f"make_moons: 2-16-16-2 tanh network, training accuracy {history['accuracy'][-1]:.0%}"
    )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return _save(figure, out, "moons.png")


def network(out: Path) -> Path:
    """The 3-layer network of the tutorial: units, weight matrices and batch shapes."""
    figure = Figure(figsize=(9, 6.4), layout="constrained")
    ax = figure.subplots()
    ax.set_xlim(-0.6, 8.6)
    ax.set_ylim(-3.6, 3.2)
    ax.set_aspect("equal")  # round units
    ax.axis("off")
    layers = [
        (0.5, 5, "$X$", "(n, 5)", "4 features\n+ a column of ones"),
        (4.0, 4, r"$A_1 = \sigma(X W_1)$", "(n, 4)", "hidden layer"),
        (7.5, 3, r"$\hat{Y} = \sigma(A_1 W_2)$", "(n, 3)", "one unit per class"),
    ]
    positions = []
    for x, units, name, shape, note in layers:
        ys = np.linspace(-(units - 1) / 2, (units - 1) / 2, units) * 0.95
        positions.append([(x, y) for y in ys])
        for y in ys:
            ax.add_patch(
                matplotlib.patches.Circle(
                    (x, y), 0.22, facecolor="#cfe3f5", edgecolor="#1f4e79", linewidth=1.5, zorder=3
                )
            )
        ax.text(x, 2.85, name, ha="center", fontsize=12, weight="bold")
        ax.text(x, 2.45, shape, ha="center", fontsize=11, family="monospace")
        ax.text(x, -3.2, note, ha="center", va="center", fontsize=9.5, color="0.3")
    for (left, right), label in zip(
        itertools.pairwise(positions),
        (
            "Dense(5, 4): W1 (5, 4)\n(n, 5) @ (5, 4) -> (n, 4)",
            "Dense(4, 3): W2 (4, 3)\n(n, 4) @ (4, 3) -> (n, 3)",
        ),
        strict=True,
    ):
        for start in left:
            for end in right:
                ax.add_patch(
                    FancyArrowPatch(
                        start,
                        end,
                        arrowstyle="-",
                        color="0.55",
                        linewidth=0.7,
                        shrinkA=12,
                        shrinkB=12,
                        zorder=1,
                    )
                )
        middle = (left[0][0] + right[0][0]) / 2
        ax.text(
            middle,
            -2.45,
            label,
            ha="center",
            va="center",
            fontsize=9.5,
            family="monospace",
            bbox={"boxstyle": "round", "facecolor": "#fff5d6", "edgecolor": "#b08900"},
        )
    return _save(figure, out, "network.png")


def previous_token_model() -> tuple[mtl.Sequential, list[np.ndarray]]:
    """A causal attention layer taught to copy the previous token; its weights before and after.

    Tokens, then a learned vector per position, then one ``MultiheadAttention``
    with 2 heads, then logits: the target at position ``t`` is the token at
    ``t - 1`` (at 0, itself), which only attention to the previous position
    can find.
    """
    rng = np.random.default_rng(SEED)
    vocabulary, length, width = 8, 10, 16
    model = mtl.Sequential(
        mtl.Embedding(vocabulary, width, rng=rng),
        mtl.PositionalEmbedding(length, width, rng=rng),
        mtl.MultiheadAttention(width, 2, causal=True, rng=rng),
        mtl.Dense(width, vocabulary, bias=True, rng=rng),
    )
    model[1].weight.value[...] = rng.standard_normal((length, width))  # distinct positions
    sample = rng.integers(0, vocabulary, (1, length))
    model(sample)
    snapshots = [model[2].attention_weights[0].copy()]
    optimizer, loss_fn = mtl.Adam(model.parameters(), lr=1e-2), mtl.CrossEntropyLoss()
    for _ in range(300):
        tokens = rng.integers(0, vocabulary, (32, length))
        loss_fn(model(tokens), np.concatenate([tokens[:, :1], tokens[:, :-1]], axis=1))
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
    model(sample)
    snapshots.append(model[2].attention_weights[0].copy())
    return model, snapshots


def attention(out: Path) -> Path:
    """A causal layer's ``attention_weights`` before and after learning to copy the last token."""
    _, (before, after) = previous_token_model()
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    axes = figure.subplots(1, 3)
    panels = [(before[0], "head 0, before training"), (after[0], "head 0, trained")]
    panels.append((after[1], "head 1, trained"))
    for ax, (weights, title) in zip(axes, panels, strict=True):
        image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(title)
        ax.set_xlabel("key position")
        ax.set_ylabel("query position")
    figure.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    return _save(figure, out, "attention.png")


FIGURES: dict[str, Callable[[Path], Path]] = {
    "activations": activations,
    "iris-loss": iris_loss,
    "iris-saturation": saturation,
    "iris-inspector": inspector_panels,
    "moons": moons,
    "network": network,
    "draw-classic": drawing_classic,
    "draw-residual": drawing_residual,
    "draw-cnn": drawing_cnn,
    "draw-transformer": drawing_transformer,
    "attention": attention,
}


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "figures",
        help="output folder (default: docs/figures)",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"figures to draw (default: all of {', '.join(FIGURES)})",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; choose from {list(FIGURES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in args.names or FIGURES:
        path = FIGURES[name](args.out)
        print(f"wrote {path}")
        written.append(path)
    return written


if __name__ == "__main__":
    main()
