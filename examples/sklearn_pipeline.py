"""A minitorchless network inside a scikit-learn grid search, on iris.

A ``Pipeline`` of ``StandardScaler`` and ``NeuralNetClassifier`` is tuned by
``GridSearchCV`` over the hidden layers, the activation and the learning rate,
with 5-fold cross-validation on the training split. The best pipeline is then
scored on the held-out test split, and its network is saved and reloaded with
``mtl.save`` / ``mtl.load`` to show that the result is an ordinary model.

Run:  python examples/sklearn_pipeline.py [--seed 0] [--epochs 100]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import minitorchless as mtl
from minitorchless.interop.sklearn import NeuralNetClassifier

GRID = {
    "net__hidden_layer_sizes": [(8,), (16, 16)],
    "net__activation": ["relu", "tanh"],
    "net__learning_rate": [3e-3, 3e-2],
}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args(argv)

    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=args.seed
    )
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),  # fitted on each training fold only, inside the search
            ("net", NeuralNetClassifier(epochs=args.epochs, batch_size=32, random_state=args.seed)),
        ]
    )
    search = GridSearchCV(pipeline, GRID, cv=5)
    search.fit(X_train, y_train)

    print("best parameters:")
    for name, value in sorted(search.best_params_.items()):
        print(f"  {name.removeprefix('net__')}: {value}")
    print(f"cross-validated accuracy: {search.best_score_:.3f}")
    test_accuracy = search.score(X_test, y_test)
    print(f"test accuracy:            {test_accuracy:.3f}")

    # the tuned network is a plain minitorchless model: save it, load it back
    best = search.best_estimator_
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "iris.safetensors"
        mtl.save(best.named_steps["net"].model_, path)
        model = mtl.load(path)
    logits = mtl.predict(model, best.named_steps["scale"].transform(X_test))
    same = bool(np.array_equal(logits.argmax(axis=1), best.predict(X_test)))
    print(f"reloaded model agrees:    {same}")
    return {
        "cv_accuracy": search.best_score_,
        "test_accuracy": test_accuracy,
        "reloaded_agrees": float(same),
    }


if __name__ == "__main__":
    main()
