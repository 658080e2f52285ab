"""The element-wise losses at every rank: values and gradients against PyTorch, finite differences.

Every element-wise loss (with its options) is checked in float64 against
``torch.nn.functional`` at rtol 1e-10 for ranks 1 to 4 and both reductions,
and its gradient against central differences; hypothesis adds random shapes.
The contract every loss shares, and sample weights, are in
``test_losses_contract.py``; cross-entropy is in ``test_losses_cross_entropy.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorchless as mtl

Inputs = tuple[np.ndarray, np.ndarray]
Make = Callable[[np.random.Generator, tuple[int, ...]], Inputs]
Factory = Callable[[Any], mtl.Loss]  # reduction -> loss
TorchLoss = Callable[[Any, Any, Any, str], Any]  # (torch.nn.functional, p, y, reduction) -> loss


def _values(rng: np.random.Generator, shape: tuple[int, ...]) -> Inputs:
    return rng.standard_normal(shape), rng.standard_normal(shape)


def _around(threshold: float) -> Make:
    """Differences on both sides of ``threshold`` (and of 0), never within 0.05 of a kink."""

    def make(rng: np.random.Generator, shape: tuple[int, ...]) -> Inputs:
        targets = rng.standard_normal(shape)
        inside = rng.uniform(0.1, 0.9, shape) * threshold
        outside = threshold + rng.uniform(0.1, 2.0, shape)
        magnitude = np.where(rng.random(shape) < 0.5, inside, outside) if threshold else outside
        return targets + rng.choice([-1.0, 1.0], shape) * magnitude, targets

    return make


def _probabilities(rng: np.random.Generator, shape: tuple[int, ...]) -> Inputs:
    return rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)


def _binary_logits(rng: np.random.Generator, shape: tuple[int, ...]) -> Inputs:
    return 3 * rng.standard_normal(shape), rng.uniform(0, 1, shape)


# name -> (factory(reduction), inputs(rng, shape), the torch.nn.functional equivalent)
ELEMENTWISE: dict[str, tuple[Factory, Make, TorchLoss]] = {
    "MSELoss": (
        lambda r: mtl.MSELoss(r),
        _values,
        lambda F, p, y, r: F.mse_loss(p, y, reduction=r),
    ),
    "L1Loss": (
        lambda r: mtl.L1Loss(r),
        _around(0.0),
        lambda F, p, y, r: F.l1_loss(p, y, reduction=r),
    ),
    "HuberLoss": (
        lambda r: mtl.HuberLoss(r),
        _around(1.0),
        lambda F, p, y, r: F.huber_loss(p, y, reduction=r),
    ),
    "HuberLoss(delta=0.3)": (
        lambda r: mtl.HuberLoss(r, delta=0.3),
        _around(0.3),
        lambda F, p, y, r: F.huber_loss(p, y, reduction=r, delta=0.3),
    ),
    "SmoothL1Loss": (
        lambda r: mtl.SmoothL1Loss(r),
        _around(1.0),
        lambda F, p, y, r: F.smooth_l1_loss(p, y, reduction=r),
    ),
    "SmoothL1Loss(beta=2.5)": (
        lambda r: mtl.SmoothL1Loss(r, beta=2.5),
        _around(2.5),
        lambda F, p, y, r: F.smooth_l1_loss(p, y, reduction=r, beta=2.5),
    ),
    "SmoothL1Loss(beta=0)": (
        lambda r: mtl.SmoothL1Loss(r, beta=0.0),
        _around(0.0),
        lambda F, p, y, r: F.smooth_l1_loss(p, y, reduction=r, beta=0.0),
    ),
    "BCELoss": (
        lambda r: mtl.BCELoss(r),
        _probabilities,
        lambda F, p, y, r: F.binary_cross_entropy(p, y, reduction=r),
    ),
    "BCEWithLogitsLoss": (
        lambda r: mtl.BCEWithLogitsLoss(r),
        _binary_logits,
        lambda F, p, y, r: F.binary_cross_entropy_with_logits(p, y, reduction=r),
    ),
}
SHAPES = [(7,), (5, 3), (3, 4, 2), (2, 3, 2, 2)]  # ranks 1 to 4
REDUCTIONS = ["mean", "sum"]


def numerical_gradient(
    loss_fn: mtl.Loss,
    predictions: np.ndarray,
    targets: Any,
    sample_weight: np.ndarray | None = None,
    eps: float = 1e-6,
) -> np.ndarray:
    """Central differences of the loss with respect to every prediction."""
    gradient = np.empty_like(predictions)
    point = predictions.copy()
    for index in np.ndindex(point.shape):
        original = point[index]
        point[index] = original + eps
        upper = loss_fn(point, targets, sample_weight=sample_weight)
        point[index] = original - eps
        lower = loss_fn(point, targets, sample_weight=sample_weight)
        point[index] = original
        gradient[index] = (upper - lower) / (2 * eps)
    return gradient


def weighted_from_none(torch: ModuleType, none: Any, weight: np.ndarray, denominator: Any) -> Any:
    """``sum_i s_i l_i / D`` from torch's ``reduction="none"`` losses, l_i summed per sample."""
    per_sample = none.reshape(none.shape[0], -1).sum(dim=1)
    return (torch.tensor(weight) * per_sample).sum() / denominator


def assert_matches(value: float, grad: np.ndarray, expected: Any, p: Any) -> None:
    """The loss and its gradient equal torch's ``expected`` and ``p.grad`` in float64."""
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-10, abs=1e-13)
    np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-10, atol=1e-14)


# -------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_value_and_gradient_match_torch(
    torch: ModuleType, name: str, shape: tuple[int, ...], reduction: str
) -> None:
    factory, make, torch_loss = ELEMENTWISE[name]
    for seed in range(2):
        predictions, targets = make(np.random.default_rng(seed), shape)
        loss_fn = factory(reduction)
        value = loss_fn(predictions, targets)
        p = torch.tensor(predictions, requires_grad=True)
        expected = torch_loss(torch.nn.functional, p, torch.tensor(targets), reduction)
        assert_matches(value, loss_fn.backward(), expected, p)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_sample_weights_match_torch_none_arithmetic(
    torch: ModuleType, name: str, shape: tuple[int, ...], reduction: str
) -> None:
    factory, make, torch_loss = ELEMENTWISE[name]
    rng = np.random.default_rng(1)
    predictions, targets = make(rng, shape)
    weight = rng.uniform(0, 3, shape[0])
    weight[0] = 0.0  # a sample that counts for nothing
    loss_fn = factory(reduction)
    value = loss_fn(predictions, targets, sample_weight=weight)

    p = torch.tensor(predictions, requires_grad=True)
    none = torch_loss(torch.nn.functional, p, torch.tensor(targets), "none")
    # the denominator of torch's own "mean": every element
    assert torch_loss(torch.nn.functional, p, torch.tensor(targets), "mean").item() == (
        pytest.approx(none.sum().item() / none.numel(), rel=1e-12)
    )
    denominator = none.numel() if reduction == "mean" else 1
    assert_matches(
        value, loss_fn.backward(), weighted_from_none(torch, none, weight, denominator), p
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_gradient_matches_finite_differences(
    name: str, shape: tuple[int, ...], reduction: str
) -> None:
    factory, make, _ = ELEMENTWISE[name]
    rng = np.random.default_rng(2)
    predictions, targets = make(rng, shape)
    for weight in (None, rng.uniform(0.5, 2.0, shape[0])):
        loss_fn = factory(reduction)
        loss_fn(predictions, targets, sample_weight=weight)
        numerical = numerical_gradient(factory(reduction), predictions, targets, weight)
        np.testing.assert_allclose(loss_fn.backward(), numerical, rtol=1e-6, atol=1e-9)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(sorted(ELEMENTWISE)),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_shapes_and_weights_match_torch(
    torch: ModuleType,
    name: str,
    shape: tuple[int, ...],
    reduction: str,
    weighted: bool,
    seed: int,
) -> None:
    factory, make, torch_loss = ELEMENTWISE[name]
    rng = np.random.default_rng(seed)
    predictions, targets = make(rng, shape)
    weight = rng.choice([0.0, 0.5, 1.0, 4.0], shape[0]) if weighted else np.ones(shape[0])
    loss_fn = factory(reduction)
    value = loss_fn(predictions, targets, sample_weight=weight if weighted else None)
    p = torch.tensor(predictions, requires_grad=True)
    none = torch_loss(torch.nn.functional, p, torch.tensor(targets), "none")
    expected = weighted_from_none(torch, none, weight, none.numel() if reduction == "mean" else 1)
    assert_matches(value, loss_fn.backward(), expected, p)


# ---------------------------------------------------------------- MSELoss
def test_mse_mean_and_sum_values() -> None:
    predictions = np.array([[1.0, 2.0], [3.0, 4.0]])
    targets = np.array([[1.0, 0.0], [0.0, 4.0]])
    assert mtl.MSELoss()(predictions, targets) == pytest.approx((4 + 9) / 4)
    assert mtl.MSELoss(reduction="sum")(predictions, targets) == pytest.approx(13.0)
    loss_fn = mtl.MSELoss()
    loss_fn(predictions, targets)
    np.testing.assert_allclose(loss_fn.backward(), 2 * (predictions - targets) / 4)


# ----------------------------------------------------------------- L1Loss
def test_l1_values_and_sign_gradient() -> None:
    predictions = np.array([[1.0, 2.0, 5.0]])
    targets = np.array([[3.0, 2.0, 1.0]])
    loss_fn = mtl.L1Loss()
    assert loss_fn(predictions, targets) == pytest.approx((2 + 0 + 4) / 3)
    # the gradient is the sign of the error, 0 where the prediction is exact (as in PyTorch)
    np.testing.assert_array_equal(loss_fn.backward(), np.array([[-1.0, 0.0, 1.0]]) / 3)
    assert mtl.L1Loss(reduction="sum")(predictions, targets) == pytest.approx(6.0)


# ------------------------------------------------- HuberLoss, SmoothL1Loss
def test_huber_values_and_clipped_gradient_by_hand() -> None:
    diff = np.array([-3.0, -0.5, 0.0, 0.25, 2.0, 2.0])  # 2.0 sits exactly on the kink
    loss_fn = mtl.HuberLoss(reduction="sum", delta=2.0)
    # d^2 / 2 inside [-2, 2], 2 (|d| - 1) outside; both pieces give 2 at |d| = 2
    assert loss_fn(diff, np.zeros(6)) == pytest.approx(4 + 0.125 + 0 + 0.03125 + 2 + 2)
    np.testing.assert_array_equal(loss_fn.backward(), [-2.0, -0.5, 0.0, 0.25, 2.0, 2.0])


def test_smooth_l1_is_huber_over_beta_and_l1_at_beta_0() -> None:
    predictions, targets = _around(0.7)(np.random.default_rng(3), (4, 5))
    smooth, huber = mtl.SmoothL1Loss(beta=0.7), mtl.HuberLoss(delta=0.7)
    assert smooth(predictions, targets) == pytest.approx(
        huber(predictions, targets) / 0.7, rel=1e-14
    )
    np.testing.assert_allclose(smooth.backward(), huber.backward() / 0.7, rtol=1e-14)
    # outside the quadratic zone the slope is +-1 / N whatever beta is
    outside = np.abs(predictions - targets) > 0.7
    np.testing.assert_allclose(np.abs(smooth.backward()[outside]), 1 / 20, rtol=1e-15)
    at_zero, l1 = mtl.SmoothL1Loss(beta=0), mtl.L1Loss()
    assert at_zero(predictions, targets) == l1(predictions, targets)
    np.testing.assert_array_equal(at_zero.backward(), l1.backward())


@pytest.mark.parametrize(
    ("cls", "name", "bound", "bad"),
    [(mtl.HuberLoss, "delta", "> 0", bad) for bad in (-1.0, np.nan, np.inf, 0.0)]
    + [(mtl.SmoothL1Loss, "beta", ">= 0", bad) for bad in (-1.0, np.nan, np.inf)],
)
def test_bad_threshold_is_refused(cls: type[mtl.Loss], name: str, bound: str, bad: float) -> None:
    # as in torch, Huber needs delta > 0 while SmoothL1 takes beta = 0 (it is then L1)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: {name} must be finite and {bound}"):
        cls(**{name: bad})


@pytest.mark.parametrize(("cls", "name"), [(mtl.HuberLoss, "delta"), (mtl.SmoothL1Loss, "beta")])
def test_non_numeric_threshold_is_refused(cls: type[mtl.Loss], name: str) -> None:
    with pytest.raises(TypeError, match=rf"{cls.__name__}: {name} must be a number"):
        cls(**{name: "1"})
    assert repr(cls(**{name: 0.5})) == f"{cls.__name__}({name}=0.5, reduction='mean')"


# ---------------------------------------------------------------- BCELoss
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


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan])
def test_bce_refuses_predictions_outside_0_1(bad: float) -> None:
    with pytest.raises(ValueError, match=r"BCELoss: predictions must be probabilities in \[0, 1\]"):
        mtl.BCELoss()(np.array([[0.5, bad], [0.2, 0.1]]), np.array([[1.0, 0.0], [0.0, 1.0]]))


# ------------------------------------------------------ BCEWithLogitsLoss
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
    np.testing.assert_allclose(
        loss_fn.backward(), [np.exp(-30.0) / (1 + np.exp(-30.0))], rtol=1e-14
    )
