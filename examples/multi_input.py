"""A model with two inputs: iris petal and sepal measurements through separate branches.

The four iris features come in two groups, two petal measurements and two
sepal measurements. Each group goes through its own small branch; the two
branch outputs are concatenated and a classifier reads them both::

    petal (2) --> Dense(2, 8) -> Tanh --+
                                        +--> Concatenate (16) --> Dense(16, 3) --> logits
    sepal (2) --> Dense(2, 8) -> Tanh --+

``mtl.Graph`` wires it with named nodes. Because the graph has two inputs,
``forward`` takes a tuple ``(petal, sepal)`` and ``backward`` returns a tuple
of two gradients, one per input. The training loop is written out, since its
batches are pairs of arrays. After training, the script blanks out one input
at a time (sets it to its training mean) to show which group the model
relies on.

Run:  python examples/multi_input.py [--epochs 200] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import minitorchless as mtl

Split = tuple[np.ndarray, np.ndarray, np.ndarray]


def load_data(seed: int) -> tuple[Split, Split]:
    """Standardized (petal, sepal, label) for a stratified 80/20 train/test split."""
    iris = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.2, stratify=iris.target, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)  # statistics of the training split only
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    # columns: sepal length, sepal width, petal length, petal width
    return ((X_train[:, 2:], X_train[:, :2], y_train), (X_test[:, 2:], X_test[:, :2], y_test))


def build_model(seed: int) -> mtl.Graph:
    """Two branches, one per group of features, merged by concatenation."""
    rng = np.random.default_rng(seed)
    return mtl.Graph(
        inputs={"petal": 2, "sepal": 2},
        nodes=[
            (
                "petal_branch",
                mtl.Sequential(mtl.Dense(2, 8, bias=True, rng=rng), mtl.Tanh()),
                "petal",
            ),
            (
                "sepal_branch",
                mtl.Sequential(mtl.Dense(2, 8, bias=True, rng=rng), mtl.Tanh()),
                "sepal",
            ),
            ("both", mtl.Concatenate(), ["petal_branch", "sepal_branch"]),
            ("logits", mtl.Dense(16, 3, bias=True, rng=rng), "both"),
        ],
        outputs="logits",
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200, help="epochs (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, weights, batches")
    args = parser.parse_args(argv)

    (petal, sepal, labels), (petal_test, sepal_test, labels_test) = load_data(args.seed)
    model = build_model(args.seed)
    model.summary(print_fn=lambda line: print("  " + line))
    loss_fn = mtl.CrossEntropyLoss()
    optimizer = mtl.Adam(model.parameters(), lr=0.01)
    batches = mtl.data.Batches(
        petal, sepal, labels, batch_size=16, shuffle=True, rng=np.random.default_rng(args.seed)
    )

    report_every = max(1, args.epochs // 5)
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for petal_batch, sepal_batch, label_batch in batches:
            logits = model((petal_batch, sepal_batch))  # two inputs: a tuple, in order
            total += loss_fn(logits, label_batch) * len(label_batch)
            optimizer.zero_grad()
            model.backward(loss_fn.backward())  # returns (dL/d petal, dL/d sepal)
            optimizer.step()
        if epoch % report_every == 0 or epoch == 1:
            print(f"epoch {epoch:4d}  loss {total / len(labels):.4f}")

    model.eval()
    accuracy = mtl.metrics.accuracy(model((petal_test, sepal_test)), labels_test)
    print(
        f"test accuracy: {accuracy:.4f} ({round(accuracy * len(labels_test))}/{len(labels_test)})"
    )

    # which group does the model lean on? blank one out (its training mean is 0) and look
    blank_petal = model((np.zeros_like(petal_test), sepal_test))
    blank_sepal = model((petal_test, np.zeros_like(sepal_test)))
    without_petal = mtl.metrics.accuracy(blank_petal, labels_test)
    without_sepal = mtl.metrics.accuracy(blank_sepal, labels_test)
    print(
        f"test accuracy with the petal input blanked: {without_petal:.4f}, "
        f"with the sepal input blanked: {without_sepal:.4f}"
    )
    return {"accuracy": accuracy, "without_petal": without_petal, "without_sepal": without_sepal}


if __name__ == "__main__":
    main()
