"""What every loss promises: reductions, sample weights, dtypes, caching and its errors.

One table holds every loss (and cross-entropy with each kind of target and with
its options); each test below runs over all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from test_float32 import assert_float32
from test_losses import ELEMENTWISE, Factory, Inputs, numerical_gradient

import minitorchless as mtl
from minitorchless.errors import ShapeError

Example = Callable[[np.random.Generator], Inputs]


def _labels(rng: np.random.Generator) -> Inputs:
    return 3 * rng.standard_normal((6, 4)), rng.integers(0, 4, 6)


def _sequence_labels(rng: np.random.Generator) -> Inputs:
    labels = rng.integers(0, 4, (6, 3))
    labels[0, :2] = 1  # ignored by the "options" loss below
    return 3 * rng.standard_normal((6, 3, 4)), labels


def _probability_rows(rng: np.random.Generator) -> Inputs:
    rows = rng.uniform(0, 1, (6, 4))
    return 3 * rng.standard_normal((6, 4)), rows / rows.sum(axis=1, keepdims=True)


CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])

# name -> (factory(reduction), an example (predictions, targets), the denominator of "mean")
LOSSES: dict[str, tuple[Factory, Example, Callable[[np.ndarray, np.ndarray], float]]] = {
    **{
        name: (factory, lambda rng, make=make: make(rng, (6, 3)), lambda p, y: p.size)
        for name, (factory, make, _) in ELEMENTWISE.items()
    },
    "CrossEntropyLoss(labels)": (
        lambda r: mtl.CrossEntropyLoss(reduction=r),
        _labels,
        lambda p, y: y.size,
    ),
    "CrossEntropyLoss(probabilities)": (
        lambda r: mtl.CrossEntropyLoss(reduction=r),
        _probability_rows,
        lambda p, y: len(y),
    ),
    "CrossEntropyLoss(options)": (
        lambda r: mtl.CrossEntropyLoss(
            CLASS_WEIGHT, ignore_index=1, label_smoothing=0.2, reduction=r
        ),
        _sequence_labels,
        lambda p, y: float(CLASS_WEIGHT[y[y != 1]].sum()),
    ),
    "CrossEntropyLoss(smoothed probabilities)": (
        lambda r: mtl.CrossEntropyLoss(CLASS_WEIGHT, label_smoothing=0.3, reduction=r),
        _probability_rows,
        lambda p, y: len(y),
    ),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_sum_is_mean_times_the_denominator(name: str) -> None:
    factory, example, denominator = LOSSES[name]
    predictions, targets = example(np.random.default_rng(3))
    count = denominator(predictions, targets)
    mean_fn, sum_fn = factory("mean"), factory("sum")
    assert sum_fn(predictions, targets) == pytest.approx(count * mean_fn(predictions, targets))
    np.testing.assert_allclose(sum_fn.backward(), count * mean_fn.backward(), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_weights_of_one_are_no_weights_and_weights_of_two_double(name: str) -> None:
    factory, example, _ = LOSSES[name]
    predictions, targets = example(np.random.default_rng(4))
    plain, weighted = factory("mean"), factory("mean")
    ones = np.ones(len(predictions))
    for dtype in (np.float64, np.float32):  # weights of 1 change nothing, to the last bit
        cast = predictions.astype(dtype)
        assert weighted(cast, targets, sample_weight=ones) == plain(cast, targets)
        np.testing.assert_array_equal(weighted.backward(), plain.backward())
    plain(predictions, targets)
    assert weighted(predictions, targets, 2 * ones) == pytest.approx(
        2 * plain(predictions, targets), rel=1e-14
    )
    np.testing.assert_allclose(weighted.backward(), 2 * plain.backward(), rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_a_weight_of_zero_drops_the_sample(name: str) -> None:
    factory, example, _ = LOSSES[name]
    predictions, targets = example(np.random.default_rng(5))
    weight = np.ones(len(predictions))
    weight[1] = 0.0
    loss_fn = factory("sum")
    kept = np.arange(len(predictions)) != 1
    assert loss_fn(predictions, targets, weight) == pytest.approx(
        factory("sum")(predictions[kept], targets[kept]), rel=1e-12
    )
    grad = loss_fn.backward()
    assert not grad[1].any()
    numerical = numerical_gradient(factory("sum"), predictions, targets, weight)
    np.testing.assert_allclose(grad, numerical, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_float32_predictions_give_float32_gradients(name: str) -> None:
    factory, example, _ = LOSSES[name]
    predictions, targets = example(np.random.default_rng(6))
    weight = np.linspace(0.5, 2.0, len(predictions))  # float64 on purpose, as are the targets
    for sample_weight in (None, weight):
        loss_fn = factory("mean")
        value = loss_fn(predictions.astype(np.float32), targets, sample_weight=sample_weight)
        assert isinstance(value, float)
        grad = loss_fn.backward()
        assert grad.dtype == np.float32 and grad.shape == predictions.shape
        # nothing float64 is cached, not even the float64 class weights cast for the math
        assert_float32(cache=loss_fn._cache, grad=grad)
        reference = factory("mean")
        reference(predictions.astype(np.float32).astype(np.float64), targets, sample_weight)
        np.testing.assert_allclose(grad, reference.backward(), rtol=1e-4, atol=1e-6)
        assert value == pytest.approx(
            reference(predictions.astype(np.float32).astype(np.float64), targets, sample_weight),
            rel=1e-5,
        )


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_backward_before_forward_raises(name: str) -> None:
    loss_fn = LOSSES[name][0]("mean")
    with pytest.raises(RuntimeError, match=type(loss_fn).__name__):
        loss_fn.backward()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_a_failed_forward_leaves_no_gradient(name: str) -> None:
    factory, example, _ = LOSSES[name]
    predictions, targets = example(np.random.default_rng(7))
    loss_fn = factory("mean")
    loss_fn(predictions, targets)
    with pytest.raises(ValueError, match="sample_weight"):
        loss_fn(predictions, targets, sample_weight=-np.ones(len(predictions)))
    with pytest.raises(RuntimeError, match="before the loss was computed"):
        loss_fn.backward()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_inputs_untouched_and_backward_repeatable(name: str) -> None:
    factory, example, _ = LOSSES[name]
    predictions, targets = example(np.random.default_rng(8))
    weight = np.full(len(predictions), 1.5)
    saved = predictions.copy(), targets.copy(), weight.copy()
    loss_fn = factory("mean")
    loss_fn(predictions, targets, sample_weight=weight)
    first = loss_fn.backward()
    np.testing.assert_array_equal(loss_fn.backward(), first)
    for array, copy in zip((predictions, targets, weight), saved, strict=True):
        np.testing.assert_array_equal(array, copy)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_bad_reduction_is_refused(name: str) -> None:
    cls = type(LOSSES[name][0]("mean"))
    with pytest.raises(ValueError, match=f"{cls.__name__}: reduction must be 'mean' or 'sum'"):
        cls(reduction="none")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_shape_mismatch_names_the_loss_and_both_shapes(name: str) -> None:
    loss_fn = ELEMENTWISE[name][0]("mean")
    cls = type(loss_fn).__name__
    with pytest.raises(ShapeError, match=rf"^{cls}: .*\(4, 3\).*\(4, 2\)"):
        loss_fn(np.full((4, 3), 0.5), np.full((4, 2), 0.5))
    with pytest.raises(ShapeError, match=rf"^{cls}: .*\(4, 1\).*\(4,\).*reshape"):
        loss_fn(np.full((4, 1), 0.5), np.full(4, 0.5))  # no silent broadcasting to (4, 4)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_empty_batch_is_refused(name: str) -> None:
    loss_fn = LOSSES[name][0]("mean")
    with pytest.raises(ShapeError, match=f"^{type(loss_fn).__name__}: received empty predictions"):
        loss_fn(np.zeros((0, 4)), np.zeros((0, 4)))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_non_numeric_predictions_are_refused(name: str) -> None:
    loss_fn = LOSSES[name][0]("mean")
    name = type(loss_fn).__name__
    with pytest.raises(TypeError, match=f"^{name}: predictions must be a numeric array"):
        loss_fn(np.array([["a", "b"]]), np.zeros((1, 2)))


SAMPLE_WEIGHT_ERRORS: list[tuple[Any, type[Exception], str]] = [
    (np.ones(5), ShapeError, r"one weight per sample, shape \(6,\) .* received shape \(5,\)$"),
    (np.ones((6, 1)), ShapeError, r"received shape \(6, 1\) \(use sample_weight.ravel\(\)\)"),
    (np.ones((2, 3)), ShapeError, r"shape \(6,\) for predictions of shape \(6, "),
    (np.array([1, 1, -0.5, 1, 1, 1]), ValueError, r"must be >= 0, received -0.5 at index 2"),
    (np.array([1, 1, 1, np.nan, 1, 1]), ValueError, r"1 non-finite value.*index \(3,\)"),
    (np.array([1, np.inf, 1, 1, 1, 1]), ValueError, r"non-finite value.*index \(1,\)"),
    (np.array(["a"] * 6), TypeError, r"must be a numeric array, received dtype <U1"),
]


@pytest.mark.parametrize(("weight", "error", "pattern"), SAMPLE_WEIGHT_ERRORS)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_bad_sample_weights_are_refused(
    name: str, weight: Any, error: type[Exception], pattern: str
) -> None:
    factory, example, _ = LOSSES[name]
    predictions, targets = example(np.random.default_rng(9))  # 6 samples
    loss_fn = factory("mean")
    with pytest.raises(error, match=rf"^{type(loss_fn).__name__}: sample_weight .*{pattern}"):
        loss_fn(predictions, targets, sample_weight=weight)


def test_sample_weight_needs_a_batch_axis() -> None:
    with pytest.raises(ShapeError, match=r"MSELoss: sample_weight needs predictions with a batch"):
        mtl.MSELoss()(np.float64(1.0), np.float64(2.0), sample_weight=np.ones(1))
    assert mtl.MSELoss()(np.float64(1.0), np.float64(3.0)) == 4.0  # a 0-d loss is fine alone


def test_a_loss_written_before_sample_weights_still_works() -> None:
    class Constant(mtl.Loss):
        def forward(self, predictions: Any, targets: Any) -> float:  # type: ignore[override]
            self._cache = np.zeros_like(np.asarray(predictions, dtype=float))
            return 1.0

        def backward(self) -> Any:
            return self._cached()

    loss_fn = Constant()
    assert loss_fn(np.ones(3), np.ones(3)) == 1.0
    assert repr(loss_fn) == "Constant(reduction='mean')"
