"""CrossEntropyLoss at ranks 2 to 4 with weight, ignore_index and label_smoothing, against PyTorch.

PyTorch puts the classes on axis 1 and minitorchless on the last axis: the
oracle moves them (``movedim(-1, 1)``) and compares in float64 at rtol 1e-10.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_losses import assert_matches, numerical_gradient, weighted_from_none

import minitorchless as mtl
from minitorchless.errors import ShapeError

SHAPES = [(5, 4), (3, 4, 3), (2, 3, 2, 5)]  # (N, C), (N, T, C), (N, H, W, C)
KINDS = ["labels", "probabilities", "unnormalised rows"]


def make_targets(
    rng: np.random.Generator, shape: tuple[int, ...], kind: str, ignore_index: int = -100
) -> np.ndarray:
    """Targets of one kind for logits of ``shape``; labels include some ``ignore_index``."""
    if kind == "labels":
        labels = rng.integers(0, shape[-1], shape[:-1])
        labels.reshape(-1)[::3] = ignore_index  # every third row is skipped
        return labels
    rows = rng.uniform(0, 1, shape)
    if kind == "probabilities":
        return rows / rows.sum(axis=-1, keepdims=True)
    # rows that do not sum to 1: scaled up or down, and an all-zero row
    rows *= rng.uniform(0, 3, (*shape[:-1], 1))
    flat = rows.reshape(-1, shape[-1])  # a view
    flat[-1] *= 2.5 / flat[-1].sum()
    flat[0] = 0.0
    return rows


def torch_loss(
    torch: ModuleType,
    logits: np.ndarray,
    targets: np.ndarray,
    reduction: str,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> tuple[Any, Any]:
    """Torch's cross-entropy of the same problem, classes moved to axis 1, and its input."""
    p = torch.tensor(logits, requires_grad=True)
    target = torch.tensor(targets)
    if target.is_floating_point():
        target = target.movedim(-1, 1)
    loss = torch.nn.functional.cross_entropy(
        p.movedim(-1, 1),
        target,
        weight=None if weight is None else torch.tensor(weight),
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )
    return loss, p


def options() -> list[tuple[str, bool, int, float]]:
    """(kind, class weights?, ignore_index, label_smoothing) worth testing."""
    cases = [
        ("labels", weighted, ignore, eps)
        for weighted in (False, True)
        for ignore in (-100, 1)
        for eps in (0.0, 0.25, 1.0)
    ]
    cases += [
        (kind, weighted, -100, eps)
        for kind in KINDS[1:]
        for weighted in (False, True)
        for eps in (0.0, 0.25, 1.0)
    ]
    return cases


def _ids(case: tuple[str, bool, int, float]) -> str:
    kind, weighted, ignore, eps = case
    return f"{kind}{'-weight' if weighted else ''}-ignore{ignore}-eps{eps}"


def _problem(
    seed: int, shape: tuple[int, ...], case: tuple[str, bool, int, float]
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Logits, targets and the options (``weight``, ``ignore_index``, ``label_smoothing``)."""
    kind, weighted, ignore, eps = case
    rng = np.random.default_rng(seed)
    weight = rng.uniform(0.2, 3.0, shape[-1]) if weighted else None
    chosen = {"weight": weight, "ignore_index": ignore, "label_smoothing": eps}
    return 3 * rng.standard_normal(shape), make_targets(rng, shape, kind, ignore), chosen


def denominator_of(targets: np.ndarray, weight: np.ndarray | None, ignore_index: int) -> float:
    """PyTorch's D for "mean": the class weight of the counted labels, or the rows."""
    if targets.dtype.kind == "f":  # probability rows
        return float(targets[..., 0].size)
    counted = targets[targets != ignore_index]
    return float(counted.size if weight is None else weight[counted].sum())


# ------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("case", options(), ids=_ids)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_matches_torch(
    torch: ModuleType, shape: tuple[int, ...], case: tuple[str, bool, int, float], reduction: str
) -> None:
    logits, targets, chosen = _problem(0, shape, case)
    loss_fn = mtl.CrossEntropyLoss(**chosen, reduction=reduction)
    value = loss_fn(logits, targets)
    expected, p = torch_loss(torch, logits, targets, reduction, **chosen)
    assert_matches(value, loss_fn.backward(), expected, p)


def weighted_torch_loss(
    torch: ModuleType,
    logits: np.ndarray,
    targets: np.ndarray,
    reduction: str,
    sample_weight: np.ndarray,
    chosen: dict[str, Any],
) -> tuple[Any, Any]:
    """``sum_i s_i l_i / D`` from torch's ``reduction="none"``, with torch's own D checked."""
    none, p = torch_loss(torch, logits, targets, "none", **chosen)
    denominator = denominator_of(targets, chosen["weight"], chosen["ignore_index"])
    mean, _ = torch_loss(torch, logits, targets, "mean", **chosen)
    if denominator:  # torch's own "mean" divides by this D
        assert mean.item() == pytest.approx(none.sum().item() / denominator, rel=1e-12)
    if reduction == "sum":
        denominator = 1.0
    return weighted_from_none(torch, none, sample_weight, denominator), p


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("case", options(), ids=_ids)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_sample_weights_match_torch_none_arithmetic(
    torch: ModuleType, shape: tuple[int, ...], case: tuple[str, bool, int, float], reduction: str
) -> None:
    logits, targets, chosen = _problem(1, shape, case)
    sample_weight = np.random.default_rng(2).uniform(0, 2, shape[0])
    loss_fn = mtl.CrossEntropyLoss(**chosen, reduction=reduction)
    value = loss_fn(logits, targets, sample_weight=sample_weight)
    expected, p = weighted_torch_loss(torch, logits, targets, reduction, sample_weight, chosen)
    assert_matches(value, loss_fn.backward(), expected, p)


@pytest.mark.parametrize("case", options(), ids=_ids)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4)], ids=str)
def test_gradient_matches_finite_differences(
    shape: tuple[int, ...], case: tuple[str, bool, int, float]
) -> None:
    logits, targets, chosen = _problem(3, shape, case)
    for sample_weight in (None, np.linspace(0.0, 2.0, shape[0])):
        loss_fn = mtl.CrossEntropyLoss(**chosen)
        loss_fn(logits, targets, sample_weight=sample_weight)
        numerical = numerical_gradient(
            mtl.CrossEntropyLoss(**chosen), logits, targets, sample_weight
        )
        np.testing.assert_allclose(loss_fn.backward(), numerical, rtol=1e-6, atol=1e-9)


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    """A random shape (rank 2 to 4, 1 to 5 classes), target kind, options and sample weights."""
    leading = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    shape = (*leading, draw(st.integers(1, 5)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    kind = draw(st.sampled_from(KINDS))
    ignore = draw(st.sampled_from([-100, 0])) if kind == "labels" else -100
    return {
        "logits": 4 * rng.standard_normal(shape),
        "targets": make_targets(rng, shape, kind, ignore),
        "reduction": draw(st.sampled_from(["mean", "sum"])),
        "sample_weight": rng.uniform(0, 2, shape[0]) if draw(st.booleans()) else None,
        "chosen": {
            "weight": rng.uniform(0, 2, shape[-1]) if draw(st.booleans()) else None,
            "ignore_index": ignore,
            "label_smoothing": draw(st.sampled_from([0.0, 1.0]) | st.floats(0, 1)),
        },
    }


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(problem=problems())
def test_random_problems_match_torch(torch: ModuleType, problem: dict[str, Any]) -> None:
    logits, targets, chosen = problem["logits"], problem["targets"], problem["chosen"]
    loss_fn = mtl.CrossEntropyLoss(**chosen, reduction=problem["reduction"])
    value = loss_fn(logits, targets, sample_weight=problem["sample_weight"])
    grad = loss_fn.backward()
    counted = denominator_of(targets, chosen["weight"], chosen["ignore_index"])
    if problem["reduction"] == "mean" and not counted:  # documented as 0 where torch gives nan
        assert value == 0.0 and not grad.any()
        return
    weights = problem["sample_weight"]
    if weights is None:  # compared with torch as weights of 1
        weights = np.ones(len(logits))
    expected, p = weighted_torch_loss(torch, logits, targets, problem["reduction"], weights, chosen)
    assert_matches(value, grad, expected, p)


# ------------------------------------------------ when no label counts
@pytest.mark.parametrize("eps", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 3)], ids=str)
def test_all_ignored_gives_zero_where_torch_gives_nan(
    torch: ModuleType, shape: tuple[int, ...], eps: float
) -> None:
    logits = np.random.default_rng(4).standard_normal(shape)
    labels = np.full(shape[:-1], -100)
    loss_fn = mtl.CrossEntropyLoss(label_smoothing=eps)
    assert loss_fn(logits, labels) == 0.0
    np.testing.assert_array_equal(loss_fn.backward(), np.zeros(shape))
    assert loss_fn(logits, labels, sample_weight=np.ones(shape[0])) == 0.0
    expected, _ = torch_loss(torch, logits, labels, "mean", label_smoothing=eps)
    assert np.isnan(expected.item())  # the documented difference
    summed = mtl.CrossEntropyLoss(label_smoothing=eps, reduction="sum")
    value = summed(logits, labels)
    expected, p = torch_loss(torch, logits, labels, "sum", label_smoothing=eps)
    assert_matches(value, summed.backward(), expected, p)  # sums agree: both 0


def test_labels_of_zero_weight_only_give_zero() -> None:
    logits = np.random.default_rng(5).standard_normal((3, 4))
    loss_fn = mtl.CrossEntropyLoss(weight=[1.0, 2.0, 0.0, 3.0], label_smoothing=0.2)
    assert loss_fn(logits, np.array([2, 2, 2])) == 0.0  # torch: nan (0 / 0)
    assert not loss_fn.backward().any()


def test_an_ignore_index_inside_the_classes_skips_that_class() -> None:
    logits = np.random.default_rng(6).standard_normal((5, 3))
    labels = np.array([0, 2, 1, 2, 2])
    skipping = mtl.CrossEntropyLoss(ignore_index=2)
    kept = labels != 2
    assert skipping(logits, labels) == pytest.approx(
        mtl.CrossEntropyLoss()(logits[kept], labels[kept]), rel=1e-14
    )
    assert not skipping.backward()[~kept].any()


# ----------------------------------------------------------- behaviour
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_at_1000(dtype: Any) -> None:
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]], dtype=dtype)
    loss_fn = mtl.CrossEntropyLoss(reduction="sum")
    # row 0: right with certainty (0); row 1: the label shares the mass with a tie (log 2)
    assert loss_fn(logits, np.array([0, 1])) == pytest.approx(np.log(2), rel=1e-6)
    grad = loss_fn.backward()
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, [[0, 0, 0], [0, -0.5, 0.5]], atol=1e-7)
    # wrong with certainty: a finite 2000, never inf or NaN, even smoothed
    assert mtl.CrossEntropyLoss(label_smoothing=0.1)(logits[:1], np.array([1])) == (
        pytest.approx(0.9 * 2000 + 0.1 / 3 * (2000 + 0 + 1000))
    )
    assert np.all(np.isfinite(loss_fn.backward()))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_one_hot_rows_equal_labels_with_every_option(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(7)
    logits, labels = rng.standard_normal(shape), rng.integers(0, shape[-1], shape[:-1])
    weight = rng.uniform(0.5, 2, shape[-1])
    by_labels = mtl.CrossEntropyLoss(weight, label_smoothing=0.3, reduction="sum")
    by_rows = mtl.CrossEntropyLoss(weight, label_smoothing=0.3, reduction="sum")
    one_hot = np.eye(shape[-1])[labels]
    assert by_labels(logits, labels) == pytest.approx(by_rows(logits, one_hot), rel=1e-13)
    np.testing.assert_allclose(by_labels.backward(), by_rows.backward(), rtol=1e-13, atol=1e-16)


def test_matches_a_direct_formula() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]])
    labels = np.array([2, 0])
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(softmax[[0, 1], labels]))
    loss_fn = mtl.CrossEntropyLoss()
    assert loss_fn(logits, labels) == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(loss_fn.backward(), (softmax - np.eye(3)[labels]) / 2, rtol=1e-14)


def test_accepts_whole_float_labels_and_keeps_its_own_copy_of_weight() -> None:
    rng = np.random.default_rng(8)
    logits, labels = rng.standard_normal((6, 4, 3)), rng.integers(0, 3, (6, 4))
    weight = np.array([1.0, 2.0, 3.0])
    loss_fn = mtl.CrossEntropyLoss(weight)
    value = loss_fn(logits, labels)
    weight[:] = 0.0  # the caller's array changes; the loss does not
    assert loss_fn(logits, labels.astype(float)) == value
    assert repr(loss_fn) == (
        "CrossEntropyLoss(weight=[1.0, 2.0, 3.0], ignore_index=-100, "
        "label_smoothing=0.0, reduction='mean')"
    )


# -------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 1, 4, 3]), r"label 4 at index 2 is out of range for 4 classes"),
        (np.array([0, -1, 1, 3]), r"label -1 at index 1 is out of range for 4 classes"),
        (np.array([[0, 1], [17, 3]]), r"label 17 at index \(1, 0\) is out of range"),
        (np.array([[0.0, 1.0], [2.0, 1.5]]), r"whole numbers.*label 1.5 at index \(1, 1\)"),
        (np.array([0.0, np.nan, 2.0, 1.0]), r"whole numbers.*4 classes.*label nan at index 1"),
        (np.array([0.0, np.inf, 2.0, 1.0]), r"label inf at index 1 is out of range"),
    ],
)
def test_bad_labels_name_the_label_and_its_index(labels: np.ndarray, message: str) -> None:
    logits = np.zeros((*labels.shape, 4))
    with pytest.raises(ValueError, match=rf"^CrossEntropyLoss: .*{message}"):
        mtl.CrossEntropyLoss()(logits, labels)


def test_refuses_string_labels() -> None:
    with pytest.raises(TypeError, match="CrossEntropyLoss: labels must be integers"):
        mtl.CrossEntropyLoss()(np.zeros((2, 3)), np.array(["a", "b"]))


@pytest.mark.parametrize(
    ("logits", "targets", "hint"),
    [
        ((4, 3), (5,), ""),
        ((4, 3), (4, 2), ""),
        ((4, 3), (3, 4), ""),
        ((4, 3), (4, 1), r" \(labels have no trailing axis of length 1: use targets.ravel\(\)\)"),
        ((2, 5, 3), (2, 5, 1), r".*targets.squeeze\(-1\)"),
        ((2, 3, 5), (2, 5), r".*not on axis 1 as in PyTorch: use np.moveaxis\(logits, 1, -1\)"),
    ],
)
def test_target_shape_mismatch_names_the_forms_and_shapes(
    logits: tuple[int, ...], targets: tuple[int, ...], hint: str
) -> None:
    def escaped(shape: tuple[int, ...]) -> str:
        return str(shape).replace("(", r"\(").replace(")", r"\)")

    pattern = (
        rf"^CrossEntropyLoss: targets must be labels of shape {escaped(logits[:-1])} or "
        rf"probability rows of the logits' shape {escaped(logits)}, received logits "
        rf"{escaped(logits)} and targets {escaped(targets)}{hint}"
    )
    with pytest.raises(ShapeError, match=pattern):
        mtl.CrossEntropyLoss()(np.zeros(logits), np.zeros(targets, dtype=int))


def test_logits_need_a_class_axis_after_the_batch() -> None:
    pattern = r"^CrossEntropyLoss: expected logits of shape \(batch, classes\) or .* received "
    with pytest.raises(ShapeError, match=pattern + r"shape \(3,\).*reshape\(1, -1\)"):
        mtl.CrossEntropyLoss()(np.zeros(3), np.array([1]))
    with pytest.raises(ShapeError, match=r"received shape \(\)$"):
        mtl.CrossEntropyLoss()(np.float64(0.0), np.array(1))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"weight": [1.0, 2.0]}, ShapeError, r"weight has 2 entries but the logits have 3 classes"),
        ({"weight": [[1.0, 2.0, 3.0]]}, ShapeError, r"weight must be a 1-D array.*shape \(1, 3\)"),
        ({"weight": []}, ShapeError, r"weight must be a 1-D array.*shape \(0,\)"),
        (
            {"weight": [1.0, -2.0, 1.0]},
            ValueError,
            r"weight must be >= 0, received -2.0 for class 1",
        ),
        ({"weight": [1.0, np.nan, 1.0]}, ValueError, r"weight contains 1 non-finite"),
        ({"weight": ["a", "b", "c"]}, TypeError, r"weight must be a numeric array"),
        (
            {"label_smoothing": 1.5},
            ValueError,
            r"label_smoothing must be in \[0, 1\], received 1.5",
        ),
        ({"label_smoothing": -0.1}, ValueError, r"label_smoothing must be in \[0, 1\]"),
        ({"label_smoothing": np.nan}, ValueError, r"label_smoothing must be in \[0, 1\]"),
        ({"label_smoothing": "0.1"}, TypeError, r"label_smoothing must be a number in \[0, 1\]"),
        ({"ignore_index": 1.5}, TypeError, r"ignore_index must be an integer, received 1.5"),
        ({"ignore_index": True}, TypeError, r"ignore_index must be an integer, received True"),
    ],
)
def test_bad_options_are_refused(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=rf"^CrossEntropyLoss: {message}"):
        mtl.CrossEntropyLoss(**kwargs)(np.zeros((2, 3)), np.array([0, 1]))


def test_ignore_index_is_for_labels_only_as_in_torch(torch: ModuleType) -> None:
    logits, rows = np.zeros((2, 3)), np.full((2, 3), 1 / 3)
    with pytest.raises(
        ValueError,
        match=r"ignore_index=0 applies to labels only, received "
        r"probability targets of shape \(2, 3\)",
    ):
        mtl.CrossEntropyLoss(ignore_index=0)(logits, rows)
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        torch_loss(torch, logits, rows, "mean", ignore_index=0)
