"""Metrics: every accepted form of predictions and targets, against simple counts."""

from __future__ import annotations

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless import metrics
from minitorchless.errors import ShapeError

LABELS = np.array([0, 2, 1, 2, 0])
PREDICTED = np.array([0, 1, 1, 2, 2])  # 3 of 5 right


def test_accuracy_from_labels() -> None:
    assert metrics.accuracy(PREDICTED, LABELS) == pytest.approx(0.6)


def test_accuracy_from_scores_probabilities_and_one_hot() -> None:
    one_hot = np.eye(3)[PREDICTED]
    rng = np.random.default_rng(0)
    logits = one_hot * 5 + rng.normal(0, 0.1, one_hot.shape)  # arg-max is PREDICTED
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for predictions in (one_hot, logits, probabilities):
        assert metrics.accuracy(predictions, LABELS) == pytest.approx(0.6)
        assert metrics.accuracy(predictions, np.eye(3)[LABELS]) == pytest.approx(0.6)


def test_accuracy_binary_column() -> None:
    probabilities = np.array([[0.9], [0.2], [0.6], [0.4]])
    targets = np.array([[1.0], [0.0], [0.0], [0.0]])
    assert metrics.accuracy(probabilities, targets) == pytest.approx(0.75)
    assert metrics.accuracy(probabilities, np.array([1, 0, 0, 0])) == pytest.approx(0.75)


def test_a_column_of_labels_is_read_as_labels() -> None:
    assert metrics.accuracy(PREDICTED[:, None], LABELS[:, None]) == pytest.approx(0.6)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*threshold=0.0"):
        metrics.accuracy(np.array([[-1.5], [2.5]]), np.array([0, 1]))  # logits


def test_binary_accuracy_counts_every_element() -> None:
    logits = np.array([[-2.0, 0.5], [1.0, -0.1], [3.0, 0.2]])
    targets = np.array([[0, 1], [1, 1], [0, 1]])
    assert metrics.binary_accuracy(logits, targets, threshold=0.0) == pytest.approx(4 / 6)
    probabilities = 1 / (1 + np.exp(-logits))
    assert metrics.binary_accuracy(probabilities, targets) == pytest.approx(4 / 6)
    with pytest.raises(ShapeError, match="binary_accuracy"):
        metrics.binary_accuracy(logits, targets[:, :1])


def test_accuracy_accepts_whole_float_labels() -> None:
    assert metrics.accuracy(PREDICTED.astype(float), LABELS) == pytest.approx(0.6)


def test_accuracy_refuses_fractional_1d_predictions() -> None:
    with pytest.raises(ValueError, match=r"accuracy: 1-D predictions must be integer class labels"):
        metrics.accuracy(np.array([0.2, 0.7]), np.array([0, 1]))


def test_accuracy_refuses_different_lengths() -> None:
    with pytest.raises(ShapeError, match="5 predictions and 4 targets"):
        metrics.accuracy(PREDICTED, LABELS[:4])


def test_accuracy_refuses_3d_and_negative_labels() -> None:
    with pytest.raises(ShapeError, match=r"received shape \(2, 2, 2\)"):
        metrics.accuracy(np.zeros((2, 2, 2)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="labels must be >= 0"):
        metrics.accuracy(np.array([0, -1]), np.array([0, 1]))


def test_confusion_matrix_counts_pairs() -> None:
    matrix = metrics.confusion_matrix(PREDICTED, LABELS)
    expected = np.zeros((3, 3), dtype=np.int64)
    for true, predicted in zip(LABELS, PREDICTED, strict=True):
        expected[true, predicted] += 1
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.dtype == np.int64
    assert matrix.sum() == len(LABELS)
    assert np.trace(matrix) == 3


def test_confusion_matrix_matches_scikit_learn() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    true, predicted = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(predicted, true),
        sklearn_metrics.confusion_matrix(true, predicted, labels=range(4)),
    )


def test_confusion_matrix_size_from_score_rows_and_num_classes() -> None:
    scores = np.eye(5)[[0, 1, 1]]  # class 4 never appears, but the rows have 5 columns
    assert metrics.confusion_matrix(scores, np.array([0, 1, 2])).shape == (5, 5)
    assert metrics.confusion_matrix(PREDICTED, LABELS, num_classes=4).shape == (4, 4)


def test_confusion_matrix_refuses_labels_beyond_num_classes() -> None:
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\).*received label 2"):
        metrics.confusion_matrix(PREDICTED, LABELS, num_classes=2)


def test_mse_and_mae() -> None:
    predictions = np.array([[1.0, 2.0], [3.0, 4.0]])
    targets = np.array([[1.0, 0.0], [4.0, 4.0]])
    assert metrics.mse(predictions, targets) == pytest.approx((0 + 4 + 1 + 0) / 4)
    assert metrics.mae(predictions, targets) == pytest.approx((0 + 2 + 1 + 0) / 4)


def test_mse_matches_mse_loss() -> None:
    rng = np.random.default_rng(0)
    predictions, targets = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    assert metrics.mse(predictions, targets) == pytest.approx(mtl.MSELoss()(predictions, targets))


def test_regression_metrics_refuse_broadcasting_shapes() -> None:
    with pytest.raises(ShapeError, match=r"mse: predictions and targets must have the same shape"):
        metrics.mse(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ShapeError, match="mae"):
        metrics.mae(np.zeros(3), np.zeros(4))


def test_regression_metrics_refuse_empty_and_non_numeric_arrays_by_name() -> None:
    # the shape check the losses use too: the message names the metric, unquoted
    with pytest.raises(ShapeError, match=r"^mse: received empty predictions and targets"):
        metrics.mse(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(TypeError, match=r"^mae: targets must be a numeric array"):
        metrics.mae(np.zeros(2), np.array(["a", "b"]))
    with pytest.raises(ShapeError, match=r"binary_accuracy: .*\(3, 1\).*\(3,\).*reshape"):
        metrics.binary_accuracy(np.zeros((3, 1)), np.zeros(3))


def test_get_by_name_and_callable() -> None:
    assert metrics.get("accuracy") == ("accuracy", metrics.accuracy)

    def top_score(predictions: np.ndarray, targets: np.ndarray) -> float:
        return float(np.max(predictions))

    assert metrics.get(top_score) == ("top_score", top_score)


def test_unknown_metric_name_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown metric 'acuracy'; known metrics are "
        r"\['accuracy', 'binary_accuracy', 'mae', 'mse'\]",
    ):
        metrics.get("acuracy")
    with pytest.raises(TypeError, match="metric name or a callable"):
        metrics.get(3)  # type: ignore[arg-type]
