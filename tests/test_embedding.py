"""Embedding beyond the specimen table: torch, padding, the scatter-add, training, bad input."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorchless as mtl
from minitorchless.layers.embedding import scatter_add_cells, scatter_add_rows
from minitorchless.testing import compare_with_torch


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    """Indices of rank 1 to 3 (repeats likely), a table size, and maybe a padding index."""
    num = draw(st.integers(1, 8))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    padding = draw(st.none() | st.integers(-num, num - 1))
    return {
        "indices": rng.integers(0, num, size=shape),
        "num": num,
        "dim": draw(st.integers(1, 4)),
        "padding_idx": padding,
        "seed": int(rng.integers(2**16)),
    }


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(problem=problems())
def test_matches_torch_with_repeats_and_padding(torch: ModuleType, problem: dict[str, Any]) -> None:
    padding = problem["padding_idx"]
    layer = mtl.Embedding(
        problem["num"], problem["dim"], padding, rng=np.random.default_rng(problem["seed"])
    )
    twin = torch.nn.Embedding(problem["num"], problem["dim"], padding_idx=padding)
    report = compare_with_torch(layer, twin, problem["indices"], rtol=1e-10, atol=1e-12)
    assert set(report.max_abs_error) == {"outputs", "weight"}  # the indices have no gradient
    assert layer.padding_idx == twin.padding_idx  # a negative index normalized as torch does


def test_the_padding_row_starts_at_zero_and_never_trains() -> None:
    layer = mtl.Embedding(5, 3, padding_idx=-1, rng=np.random.default_rng(0))
    assert layer.padding_idx == 4
    np.testing.assert_array_equal(layer.weight.value[4], 0)
    optimizer = mtl.Adam(layer.parameters(), lr=0.1)
    indices = np.array([[4, 1, 4], [0, 4, 2]])
    for _ in range(3):
        optimizer.zero_grad()
        outputs = layer(indices)
        np.testing.assert_array_equal(outputs[0, 0], 0)  # padding positions read zeros
        assert layer.backward(np.ones_like(outputs)) is None
        np.testing.assert_array_equal(layer.weight.grad[4], 0)
        np.testing.assert_array_equal(layer.weight.grad[1], 1)
        np.testing.assert_array_equal(layer.weight.grad[3], 0)  # not read
        optimizer.step()
    np.testing.assert_array_equal(layer.weight.value[4], 0)


def test_initialised_from_a_standard_normal_the_same_in_every_dtype() -> None:
    weights = {
        dtype: mtl.Embedding(400, 50, rng=np.random.default_rng(3), dtype=dtype).weight.value
        for dtype in (np.float64, np.float32)
    }
    assert weights[np.float32].dtype == np.float32
    np.testing.assert_array_equal(weights[np.float32], weights[np.float64].astype(np.float32))
    assert abs(weights[np.float64].mean()) < 0.02 and abs(weights[np.float64].std() - 1) < 0.02


# -------------------------------------------------------------- scatter-add
@settings(max_examples=100, deadline=None)
@given(
    indices=st.lists(st.integers(0, 5), max_size=30),
    skip=st.none() | st.integers(0, 5),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_the_fast_scatter_adds_what_the_readable_one_adds(
    indices: list[int], skip: int | None, dtype: Any
) -> None:
    index_array = np.array(indices, dtype=np.int64)
    rows = np.random.default_rng(len(indices)).standard_normal((len(indices), 3)).astype(dtype)
    start = np.random.default_rng(1).standard_normal((6, 3)).astype(dtype)  # adds, not sets
    readable, fast = start.copy(), start.copy()
    keep = index_array != skip if skip is not None else np.ones(len(indices), bool)
    scatter_add_rows(readable, index_array[keep], rows[keep])
    scatter_add_cells(fast, index_array, rows, skip=skip)
    assert fast.dtype == dtype
    np.testing.assert_allclose(fast, readable, rtol=1e-5 if dtype == np.float32 else 1e-12)
    if skip is not None:  # the skipped row is left exactly as it was
        np.testing.assert_array_equal(fast[skip], start[skip])


def test_repeated_indices_add_up_in_either_layout() -> None:
    for scatter in (scatter_add_rows, scatter_add_cells):
        target = np.zeros((3, 2))
        scatter(target, np.array([1, 1, 1]), np.ones((3, 2)))
        np.testing.assert_array_equal(target, [[0, 0], [3, 3], [0, 0]])  # every repeat counts
    transposed = np.zeros((2, 3)).T  # not C-contiguous: no flat view to add into
    scatter_add_cells(transposed, np.array([2, 0, 2]), np.ones((3, 2)), skip=0)
    np.testing.assert_array_equal(transposed, [[0, 0], [0, 0], [2, 2]])


# ---------------------------------------------------------------- in models
def test_a_token_classifier_trains_with_fit_on_integer_inputs() -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(1, 10, size=(64, 6))
    X[:, 4:] = 0  # padding at the end of every sequence
    y = (X[:, 0] > 5).astype(np.int64)  # the first token decides the class
    model = mtl.Sequential(
        mtl.Embedding(10, 4, padding_idx=0, rng=rng),
        mtl.LayerNorm(4),
        mtl.GELU(),
        mtl.Flatten(),
        mtl.Dense(24, 2, bias=True, rng=rng),
    )
    assert model.output_shape((None, 6)) == (None, 2)
    history = mtl.fit(
        model,
        X,
        y,
        loss=mtl.CrossEntropyLoss(),
        optimizer=mtl.Adam(model.parameters(), lr=0.05),
        epochs=30,
        batch_size=16,
        verbose=0,
        rng=rng,
    )
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    np.testing.assert_array_equal(model[0].weight.value[0], 0)  # padding untouched by training


def test_a_sequential_starting_with_it_returns_none() -> None:
    rng = np.random.default_rng(0)
    model = mtl.Sequential(mtl.Embedding(5, 3, rng=rng), mtl.Dense(3, 2, rng=rng))
    outputs = model(np.array([[1, 2], [3, 4]]))
    assert model.backward(np.ones_like(outputs)) is None


def test_output_shape_and_config() -> None:
    layer = mtl.Embedding(9, 4, padding_idx=-2, rng=np.random.default_rng(0), dtype=np.float32)
    assert layer.output_shape((None, 7)) == (None, 7, 4)
    assert layer.output_shape((None,)) == (None, 4)
    assert layer.output_shape((..., 3)) == (..., 3, 4)
    rebuilt = mtl.Embedding.from_config(layer.get_config())
    assert repr(rebuilt) == repr(layer) == "Embedding(9, 4, padding_idx=7)"
    assert rebuilt.dtype == np.float32


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("indices", "message"),
    [
        (np.array([[1.0, 2.0]]), r"integer indices, received dtype float64.*astype\(np.int64\)"),
        (np.array([[1, 2]], dtype=np.float32), r"integer indices, received dtype float32"),
        (np.array([[True, False]]), r"integer indices, received dtype bool"),
    ],
)
def test_refuses_float_and_boolean_indices(indices: np.ndarray, message: str) -> None:
    layer = mtl.Embedding(4, 2, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"Embedding\(4, 2\) expects " + message):
        layer(indices)


def test_refuses_out_of_range_indices_naming_the_first_one() -> None:
    layer = mtl.Embedding(4, 2, rng=np.random.default_rng(0))
    with pytest.raises(
        ValueError, match=r"Embedding\(4, 2\).*\[0, 4\).*received 4 at position \(1, 0\).*\(2, 3\)"
    ):
        layer(np.array([[0, 1, 3], [4, 9, 2]]))
    with pytest.raises(ValueError, match=r"received -1 at position \(0, 2\)"):
        layer(np.array([[0, 1, -1], [4, 9, 2]]))
    with pytest.raises(RuntimeError, match="before forward"):  # the failed forward left nothing
        layer.backward(np.zeros((2, 3, 2)))


def test_refuses_the_wrong_rank_and_gradient_shape() -> None:
    layer = mtl.Embedding(4, 2, rng=np.random.default_rng(0))
    with pytest.raises(mtl.ShapeError, match=r"Embedding\(4, 2\).*\(batch, \.\.\.\).*shape \(\)"):
        layer(np.int64(3))
    with pytest.raises(mtl.ShapeError, match=r"indices of shape \(batch, \.\.\.\).*received \(\)"):
        layer.output_shape(())
    layer(np.array([[1, 2]]))
    with pytest.raises(mtl.ShapeError, match=r"grad_output of shape \(1, 2, 2\).*\(1, 2\)"):
        layer.backward(np.zeros((1, 2)))


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((0, 3), ValueError, r"num_embeddings must be >= 1"),
        ((3, 2.0), TypeError, r"embedding_dim must be an integer"),
        ((3, 2, 3), ValueError, r"padding_idx must be within \[-3, 3\).*3"),
        ((3, 2, -4), ValueError, r"padding_idx must be within"),
        ((3, 2, 1.0), TypeError, r"padding_idx must be an integer"),
    ],
)
def test_refuses_bad_arguments(arguments: tuple[Any, ...], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        mtl.Embedding(*arguments)
