"""Mini-batches: coverage of every sample, alignment, copies, shuffling, errors."""

from __future__ import annotations

import numpy as np
import pytest

from minitorchless.data import Batches


def _data(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    X = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = np.arange(n)
    return X, y


def test_full_batch_by_default_is_the_data_itself() -> None:
    X, y = _data()
    batches = list(Batches(X, y))
    assert len(batches) == 1
    X_batch, y_batch = batches[0]
    assert np.shares_memory(X_batch, X)
    np.testing.assert_array_equal(X_batch, X)
    np.testing.assert_array_equal(y_batch, y)


@pytest.mark.parametrize(
    ("batch_size", "drop_last", "sizes"),
    [
        (3, False, [3, 3, 3, 1]),
        (3, True, [3, 3, 3]),
        (5, False, [5, 5]),
        (5, True, [5, 5]),
        (20, False, [10]),
        (20, True, []),
        (1, False, [1] * 10),
    ],
)
def test_batch_sizes_and_len(batch_size: int, drop_last: bool, sizes: list[int]) -> None:
    X, y = _data()
    batches = Batches(X, y, batch_size=batch_size, drop_last=drop_last)
    got = [len(X_batch) for X_batch, _ in batches]
    assert got == sizes
    assert len(batches) == len(sizes)


def test_unshuffled_batches_are_views_in_order() -> None:
    X, y = _data()
    for start, (X_batch, y_batch) in zip(range(0, 10, 4), Batches(X, y, batch_size=4), strict=True):
        assert np.shares_memory(X_batch, X)  # a slice: nothing copied
        np.testing.assert_array_equal(X_batch, X[start : start + 4])
        np.testing.assert_array_equal(y_batch, y[start : start + 4])


def test_shuffled_epoch_covers_every_sample_once_and_keeps_rows_aligned() -> None:
    X, y = _data(23)
    batches = Batches(X, y, batch_size=5, shuffle=True, rng=np.random.default_rng(0))
    seen = []
    for X_batch, y_batch in batches:
        # row i of X is 3i, 3i+1, 3i+2 and y is i: the pairs must still match
        np.testing.assert_array_equal(X_batch[:, 0], 3 * y_batch)
        seen.extend(y_batch.tolist())
    assert sorted(seen) == list(range(23))
    assert seen != list(range(23))  # actually shuffled


def test_each_epoch_draws_a_new_order_and_the_rng_makes_it_repeatable() -> None:
    X, y = _data(50)

    def orders(seed: int) -> list[list[int]]:
        batches = Batches(X, y, batch_size=50, shuffle=True, rng=np.random.default_rng(seed))
        return [next(iter(batches))[1].tolist() for _ in range(2)]

    first, second = orders(7)
    assert first != second
    assert orders(7) == [first, second]


def test_shuffled_drop_last_drops_the_remainder() -> None:
    X, y = _data(10)
    rng = np.random.default_rng(1)
    batches = Batches(X, y, batch_size=4, shuffle=True, drop_last=True, rng=rng)
    sizes = [len(b[0]) for b in batches]
    assert sizes == [4, 4]


def test_any_number_of_arrays() -> None:
    X, y = _data(6)
    w = np.ones(6)
    (only,) = next(iter(Batches(X, batch_size=2)))
    assert only.shape == (2, 3)
    triple = next(iter(Batches(X, y, w, batch_size=4)))
    assert [a.shape for a in triple] == [(4, 3), (4,), (4,)]


def test_lists_are_accepted() -> None:
    batches = list(Batches([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0, 1, 0], batch_size=2))
    assert batches[0][0].shape == (2, 2)
    assert batches[1][1].tolist() == [0]


def test_mismatched_lengths_name_each_length() -> None:
    with pytest.raises(ValueError, match=r"array 0 has 10, array 1 has 9"):
        Batches(np.zeros((10, 2)), np.zeros(9))


def test_empty_data_is_refused() -> None:
    with pytest.raises(ValueError, match="empty data"):
        Batches(np.zeros((0, 3)), np.zeros(0))


def test_no_arrays_or_scalars_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one array"):
        Batches()
    with pytest.raises(ValueError, match="scalar"):
        Batches(np.float64(3.0))


@pytest.mark.parametrize("batch_size", [0, -1])
def test_batch_size_must_be_positive(batch_size: int) -> None:
    with pytest.raises(ValueError, match=r"Batches: batch_size must be >= 1, received"):
        Batches(np.zeros((4, 2)), batch_size=batch_size)


@pytest.mark.parametrize("batch_size", [2.5, "8", True])
def test_batch_size_must_be_an_integer(batch_size: object) -> None:
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        Batches(np.zeros((4, 2)), batch_size=batch_size)  # type: ignore[arg-type]


def test_rng_must_be_a_generator() -> None:
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        Batches(np.zeros((4, 2)), shuffle=True, rng=0)  # type: ignore[arg-type]


def test_repr_is_informative() -> None:
    assert "batch_size=4" in repr(Batches(np.zeros((10, 2)), batch_size=4))
