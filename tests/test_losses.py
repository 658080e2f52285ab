"""Losses: values, gradients (finite differences and the torch oracle), errors, dtypes."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.errors import ShapeError

Inputs = tuple[np.ndarray, np.ndarray]


def _regression(rng: np.random.Generator) -> Inputs:
    return rng.standard_normal((5, 3)), rng.standard_normal((5, 3))


def _l1(rng: np.random.Generator) -> Inputs:
    predictions, targets = _regression(rng)
    # keep |prediction - target| away from 0, where |.| has its kink
    gap = predictions - targets
    predictions += np.sign(gap) * 0.1
    return predictions, targets


def _probabilities(rng: np.random.Generator) -> Inputs:
    return rng.uniform(0.05, 0.95, (5, 3)), rng.uniform(0, 1, (5, 3))


def _binary_logits(rng: np.random.Generator) -> Inputs:
    return 3 * rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 3))


def _labels(rng: np.random.Generator) -> Inputs:
    return 3 * rng.standard_normal((6, 4)), rng.integers(0, 4, 6)


def _probability_rows(rng: np.random.Generator) -> Inputs:
    rows = rng.uniform(0, 1, (6, 4))
    return 3 * rng.standard_normal((6, 4)), rows / rows.sum(axis=1, keepdims=True)


def _torch_mse(torch: ModuleType, p: Any, y: Any, reduction: str) -> Any:
    return torch.nn.functional.mse_loss(p, y, reduction=reduction)


def _torch_l1(torch: ModuleType, p: Any, y: Any, reduction: str) -> Any:
    return torch.nn.functional.l1_loss(p, y, reduction=reduction)


def _torch_bce(torch: ModuleType, p: Any, y: Any, reduction: str) -> Any:
    return torch.nn.functional.binary_cross_entropy(p, y, reduction=reduction)


def _torch_bce_logits(torch: ModuleType, p: Any, y: Any, reduction: str) -> Any:
    return torch.nn.functional.binary_cross_entropy_with_logits(p, y, reduction=reduction)


def _torch_cross_entropy(torch: ModuleType, p: Any, y: Any, reduction: str) -> Any:
    return torch.nn.functional.cross_entropy(p, y, reduction=reduction)


# name -> (loss class, inputs(rng), the torch.nn.functional equivalent)
LOSSES: dict[str, tuple[type[mtl.Loss], Callable[[np.random.Generator], Inputs], Any]] = {
    "MSELoss": (mtl.MSELoss, _regression, _torch_mse),
    "L1Loss": (mtl.L1Loss, _l1, _torch_l1),
    "BCELoss": (mtl.BCELoss, _probabilities, _torch_bce),
    "BCEWithLogitsLoss": (mtl.BCEWithLogitsLoss, _binary_logits, _torch_bce_logits),
    "CrossEntropyLoss(labels)": (mtl.CrossEntropyLoss, _labels, _torch_cross_entropy),
    "CrossEntropyLoss(probabilities)": (
        mtl.CrossEntropyLoss, _probability_rows, _torch_cross_entropy),
}
ELEMENTWISE = ["MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss"]
REDUCTIONS = ["mean", "sum"]


def _numerical_gradient(
    loss_fn: mtl.Loss, predictions: np.ndarray, targets: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central differences of the loss with respect to every prediction."""
    gradient = np.empty_like(predictions)
    point = predictions.copy()
    for index in np.ndindex(point.shape):
        original = point[index]
        point[index] = original + eps
        upper = loss_fn(point, targets)
        point[index] = original - eps
        lower = loss_fn(point, targets)
        point[index] = original
        gradient[index] = (upper - lower) / (2 * eps)
    return gradient


# ----------------------------------------------------------------- every loss
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_matches_finite_differences(name: str, reduction: Any) -> None:
    cls, make, _ = LOSSES[name]
    predictions, targets = make(np.random.default_rng(0))
    loss_fn = cls(reduction=reduction)
    loss_fn(predictions, targets)
    analytic = loss_fn.backward()
    numerical = _numerical_gradient(cls(reduction=reduction), predictions, targets)
    np.testing.assert_allclose(analytic, numerical, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_value_and_gradient_match_torch(torch: ModuleType, name: str, reduction: Any) -> None:
    cls, make, torch_loss = LOSSES[name]
    for seed in range(3):
        predictions, targets = make(np.random.default_rng(seed))
        loss_fn = cls(reduction=reduction)
        value = loss_fn(predictions, targets)
        grad = loss_fn.backward()

        p = torch.tensor(predictions, requires_grad=True)
        expected = torch_loss(torch, p, torch.tensor(targets), reduction)
        expected.backward()
        assert value == pytest.approx(expected.item(), rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_sum_is_mean_times_the_count(name: str) -> None:
    cls, make, _ = LOSSES[name]
    predictions, targets = make(np.random.default_rng(3))
    # mean divides by the elements, except cross-entropy, which divides by the samples
    count = predictions.shape[0] if name.startswith("CrossEntropy") else predictions.size
    mean_fn, sum_fn = cls(reduction="mean"), cls(reduction="sum")
    assert sum_fn(predictions, targets) == pytest.approx(count * mean_fn(predictions, targets))
    np.testing.assert_allclose(sum_fn.backward(), count * mean_fn.backward(), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_float32_predictions_give_float32_gradients(name: str) -> None:
    cls, make, _ = LOSSES[name]
    predictions, targets = make(np.random.default_rng(4))
    loss_fn = cls()
    value = loss_fn(predictions.astype(np.float32), targets)  # float64 (or int) targets
    assert isinstance(value, float)
    assert np.isfinite(value)
    grad = loss_fn.backward()
    assert grad.dtype == np.float32
    assert grad.shape == predictions.shape
    reference = cls()
    reference(predictions.astype(np.float32).astype(np.float64), targets)
    np.testing.assert_allclose(grad, reference.backward(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_backward_before_forward_raises(name: str) -> None:
    loss_fn = LOSSES[name][0]()
    with pytest.raises(RuntimeError, match=type(loss_fn).__name__):
        loss_fn.backward()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_inputs_untouched_and_backward_repeatable(name: str) -> None:
    cls, make, _ = LOSSES[name]
    predictions, targets = make(np.random.default_rng(5))
    saved = predictions.copy(), targets.copy()
    loss_fn = cls()
    loss_fn(predictions, targets)
    first = loss_fn.backward()
    np.testing.assert_array_equal(loss_fn.backward(), first)
    np.testing.assert_array_equal(predictions, saved[0])
    np.testing.assert_array_equal(targets, saved[1])


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_bad_reduction_is_refused(name: str) -> None:
    cls = LOSSES[name][0]
    with pytest.raises(ValueError, match=f"{cls.__name__}: reduction must be 'mean' or 'sum'"):
        cls(reduction="none")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_shape_mismatch_names_the_loss_and_both_shapes(name: str) -> None:
    cls = LOSSES[name][0]
    with pytest.raises(ShapeError, match=rf"{name}.*\(4, 3\).*\(4, 2\)"):
        cls()(np.full((4, 3), 0.5), np.full((4, 2), 0.5))
    with pytest.raises(ShapeError, match=rf"{name}.*\(4, 1\).*\(4,\)"):
        cls()(np.full((4, 1), 0.5), np.full(4, 0.5))  # no silent broadcasting to (4, 4)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_empty_batch_is_refused(name: str) -> None:
    cls = LOSSES[name][0]
    with pytest.raises(ShapeError, match=f"{cls.__name__}: received empty predictions"):
        cls()(np.zeros((0, 3)), np.zeros((0, 3)))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_non_numeric_predictions_are_refused(name: str) -> None:
    cls = LOSSES[name][0]
    with pytest.raises(TypeError, match=cls.__name__):
        cls()(np.array([["a", "b"]]), np.zeros((1, 2)))


# -------------------------------------------------------------------- MSELoss
def test_mse_mean_and_sum_values() -> None:
    predictions = np.array([[1.0, 2.0], [3.0, 4.0]])
    targets = np.array([[1.0, 0.0], [0.0, 4.0]])
    assert mtl.MSELoss()(predictions, targets) == pytest.approx((4 + 9) / 4)
    assert mtl.MSELoss(reduction="sum")(predictions, targets) == pytest.approx(13.0)
    loss_fn = mtl.MSELoss()
    loss_fn(predictions, targets)
    np.testing.assert_allclose(loss_fn.backward(), 2 * (predictions - targets) / 4)


# --------------------------------------------------------------------- L1Loss
def test_l1_values_and_sign_gradient() -> None:
    predictions = np.array([[1.0, 2.0, 5.0]])
    targets = np.array([[3.0, 2.0, 1.0]])
    loss_fn = mtl.L1Loss()
    assert loss_fn(predictions, targets) == pytest.approx((2 + 0 + 4) / 3)
    # the gradient is the sign of the error, 0 where the prediction is exact (as in PyTorch)
    np.testing.assert_array_equal(loss_fn.backward(), np.array([[-1.0, 0.0, 1.0]]) / 3)
    assert mtl.L1Loss(reduction="sum")(predictions, targets) == pytest.approx(6.0)


# -------------------------------------------------------------------- BCELoss
def test_bce_clamps_the_logs_at_minus_100() -> None:
    predictions = np.array([0.0, 1.0, 0.0, 1.0])
    targets = np.array([1.0, 0.0, 0.0, 1.0])
    loss_fn = mtl.BCELoss(reduction="sum")
    # two confident wrong answers cost 100 each; two confident right ones cost nothing
    assert loss_fn(predictions, targets) == pytest.approx(200.0)
    grad = loss_fn.backward()
    assert np.all(np.isfinite(grad))
    # (p - y) / max(p (1 - p), 1e-12), as PyTorch computes it
    np.testing.assert_allclose(grad, [-1e12, 1e12, 0.0, 0.0])


def test_bce_at_the_edges_matches_torch(torch: ModuleType) -> None:
    predictions = np.array([0.0, 1.0, 0.0, 1.0, 1e-30, 0.5])
    targets = np.array([1.0, 0.0, 0.0, 1.0, 0.3, 0.5])
    loss_fn = mtl.BCELoss()
    value = loss_fn(predictions, targets)
    p = torch.tensor(predictions, requires_grad=True)
    expected = torch.nn.functional.binary_cross_entropy(p, torch.tensor(targets))
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-10)
    # PyTorch keeps the 1e-12 clamp in single precision: 4e-9 apart where it applies
    np.testing.assert_allclose(loss_fn.backward(), p.grad.numpy(), rtol=1e-8)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_bce_refuses_predictions_outside_0_1(bad: float) -> None:
    with pytest.raises(ValueError, match=r"BCELoss: predictions must be probabilities in \[0, 1\]"):
        mtl.BCELoss()(np.array([0.5, bad]), np.array([1.0, 0.0]))


# ---------------------------------------------------------- BCEWithLogitsLoss
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_stable_at_1000(dtype: Any) -> None:
    logits = np.array([1000.0, -1000.0, 1000.0, -1000.0], dtype=dtype)
    targets = np.array([1.0, 0.0, 0.0, 1.0])
    loss_fn = mtl.BCEWithLogitsLoss(reduction="sum")
    assert loss_fn(logits, targets) == pytest.approx(2000.0)
    grad = loss_fn.backward()
    assert grad.dtype == dtype
    np.testing.assert_array_equal(grad, np.array([0.0, 0.0, 1.0, -1.0], dtype=dtype))


def test_bce_with_logits_tiny_sigmoid_keeps_its_precision() -> None:
    # sigmoid(-30) is about 9.4e-14: computing it as 1 - sigmoid(30) would lose most digits
    loss_fn = mtl.BCEWithLogitsLoss(reduction="sum")
    loss_fn(np.array([-30.0]), np.array([0.0]))
    np.testing.assert_allclose(loss_fn.backward(), [np.exp(-30.0) / (1 + np.exp(-30.0))],
                               rtol=1e-14)


# ----------------------------------------------------------- CrossEntropyLoss
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_stable_at_1000(dtype: Any) -> None:
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]], dtype=dtype)
    loss_fn = mtl.CrossEntropyLoss(reduction="sum")
    # row 0: right with certainty (0); row 1: the label shares the mass with a tie (log 2)
    assert loss_fn(logits, np.array([0, 1])) == pytest.approx(np.log(2), rel=1e-6)
    grad = loss_fn.backward()
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, [[0, 0, 0], [0, -0.5, 0.5]], atol=1e-7)
    # wrong with certainty: a finite 2000, never inf or NaN
    assert loss_fn(logits[:1], np.array([1])) == pytest.approx(2000.0)
    assert np.all(np.isfinite(loss_fn.backward()))


def test_cross_entropy_one_hot_rows_equal_labels() -> None:
    logits, labels = _labels(np.random.default_rng(6))
    by_labels, by_rows = mtl.CrossEntropyLoss(), mtl.CrossEntropyLoss()
    one_hot = np.eye(4)[labels]
    assert by_labels(logits, labels) == pytest.approx(by_rows(logits, one_hot), rel=1e-14)
    np.testing.assert_allclose(by_labels.backward(), by_rows.backward(), rtol=1e-14, atol=1e-17)


def test_cross_entropy_matches_a_direct_formula() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]])
    labels = np.array([2, 0])
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(softmax[[0, 1], labels]))
    loss_fn = mtl.CrossEntropyLoss()
    assert loss_fn(logits, labels) == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(loss_fn.backward(), (softmax - np.eye(3)[labels]) / 2, rtol=1e-14)


def test_cross_entropy_accepts_whole_float_labels() -> None:
    logits, labels = _labels(np.random.default_rng(7))
    assert mtl.CrossEntropyLoss()(logits, labels.astype(float)) == mtl.CrossEntropyLoss()(
        logits, labels)


@pytest.mark.parametrize("bad", [4, 17, -1])
def test_cross_entropy_label_out_of_range(bad: int) -> None:
    labels = np.array([0, 1, bad, 3])
    with pytest.raises(ValueError, match=rf"CrossEntropyLoss: label {bad} at index 2 .*4 classes"):
        mtl.CrossEntropyLoss()(np.zeros((4, 4)), labels)


@pytest.mark.parametrize("bad", [1.5, np.nan, np.inf])
def test_cross_entropy_non_integer_label(bad: float) -> None:
    labels = np.array([0.0, bad, 2.0])
    with pytest.raises(ValueError, match=rf"CrossEntropyLoss: .*label {bad} at index 1") as info:
        mtl.CrossEntropyLoss()(np.zeros((3, 3)), labels)
    assert "3 classes" in str(info.value)


def test_cross_entropy_refuses_string_labels() -> None:
    with pytest.raises(TypeError, match="CrossEntropyLoss: labels must be integers"):
        mtl.CrossEntropyLoss()(np.zeros((2, 3)), np.array(["a", "b"]))


def test_cross_entropy_column_of_labels_gets_a_hint() -> None:
    with pytest.raises(ShapeError, match=r"\(4, 3\).*\(4, 1\).*ravel"):
        mtl.CrossEntropyLoss()(np.zeros((4, 3)), np.zeros((4, 1), dtype=int))


@pytest.mark.parametrize(
    ("logits_shape", "targets_shape"),
    [((4, 3), (5,)), ((4, 3), (4, 2)), ((4, 3), (3, 4))],
)
def test_cross_entropy_target_shape_mismatch(
    logits_shape: tuple[int, ...], targets_shape: tuple[int, ...]
) -> None:
    pattern = rf"CrossEntropyLoss: .*{logits_shape}.*{targets_shape}".replace("(", r"\(")
    pattern = pattern.replace(")", r"\)")
    with pytest.raises(ShapeError, match=pattern):
        mtl.CrossEntropyLoss()(np.zeros(logits_shape), np.zeros(targets_shape, dtype=int))


def test_cross_entropy_needs_2d_logits() -> None:
    with pytest.raises(ShapeError, match=r"CrossEntropyLoss: expected logits of shape "
                                         r"\(batch, classes\), received shape \(3,\).*reshape"):
        mtl.CrossEntropyLoss()(np.zeros(3), np.array([1]))


def test_cross_entropy_mean_divides_by_samples_for_probability_rows() -> None:
    logits, rows = _probability_rows(np.random.default_rng(8))
    mean = mtl.CrossEntropyLoss()(logits, rows)
    total = mtl.CrossEntropyLoss(reduction="sum")(logits, rows)
    assert mean == pytest.approx(total / logits.shape[0])  # not / logits.size
