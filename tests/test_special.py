"""The vectorised erf and erfc against the standard library's, over the whole float range."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitorchless._special import NEAR_ZERO, TAIL, erf, erfc

TINY = np.finfo(np.float64).tiny  # below it, a result is subnormal and has fewer digits


def _points() -> np.ndarray:
    """Dense around the pieces' boundaries, log-spaced down to the subnormals, out to the tail."""
    linear = np.linspace(-30, 30, 60_001)
    scales = np.logspace(-320, np.log10(30), 3000)
    edges = np.concatenate(
        [edge + np.linspace(-1e-6, 1e-6, 201) for edge in (NEAR_ZERO, TAIL)]
        + [np.nextafter(edge, [-np.inf, np.inf]) for edge in (NEAR_ZERO, TAIL)]
    )
    return np.concatenate([linear, scales, -scales, edges, -edges])


POINTS = _points()


def _relative_error(ours: np.ndarray, exact: np.ndarray) -> np.ndarray:
    normal = np.abs(exact) >= TINY
    return np.abs(ours[normal] - exact[normal]) / np.abs(exact[normal])


def test_erf_is_within_1e_15_relative_of_math_erf() -> None:
    exact = np.array([math.erf(x) for x in POINTS])
    ours = erf(POINTS)
    assert _relative_error(ours, exact).max() < 1e-15
    # subnormal results carry fewer digits: there, a few units of the smallest step
    np.testing.assert_allclose(ours, exact, rtol=1e-15, atol=4 * np.finfo(float).smallest_subnormal)


def test_erfc_is_within_1e_15_relative_of_math_erfc_far_into_the_tail() -> None:
    exact = np.array([math.erfc(x) for x in POINTS])
    ours = erfc(POINTS)
    assert exact.min() == 0 and (exact[POINTS < 26] >= TINY).all()  # the tail is covered
    assert _relative_error(ours, exact).max() < 1e-15
    np.testing.assert_allclose(ours, exact, rtol=1e-15, atol=4 * np.finfo(float).smallest_subnormal)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_any_float(x: float) -> None:
    (ours,), (complement,) = erf(np.array([x])), erfc(np.array([x]))
    assert ours == pytest.approx(math.erf(x), rel=1e-15, abs=1e-320)
    assert complement == pytest.approx(math.erfc(x), rel=1e-15, abs=1e-320)


def test_special_values_and_symmetry() -> None:
    values = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0])
    np.testing.assert_array_equal(erf(values), [1.0, -1.0, np.nan, 0.0, -0.0])
    assert np.signbit(erf(values)[4])  # erf(-0) = -0
    np.testing.assert_array_equal(erfc(values), [0.0, 2.0, np.nan, 1.0, 1.0])
    x = np.linspace(-8, 8, 1001)
    np.testing.assert_array_equal(erf(-x), -erf(x))  # computed from |x|, then signed
    np.testing.assert_allclose(erf(x) + erfc(x), 1.0, rtol=0, atol=2e-16)


def test_float32_stays_float32_and_is_accurate() -> None:
    x = np.linspace(-10, 10, 20_001, dtype=np.float32)
    for function, exact_function in ((erf, math.erf), (erfc, math.erfc)):
        result = function(x)
        assert result.dtype == np.float32
        exact = np.array([exact_function(float(v)) for v in x])
        np.testing.assert_allclose(result, exact, rtol=2e-6, atol=1e-37)


def test_shapes_scalars_and_integers() -> None:
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7 - 1.5
    assert erf(x).shape == (2, 3, 4) and erfc(x[:, ::2]).shape == (2, 2, 4)  # strided too
    np.testing.assert_array_equal(erf(x).ravel(), erf(x.ravel()))
    assert erf(0.5).shape == () and erf(0.5) == pytest.approx(math.erf(0.5), rel=1e-16)
    assert erf(np.array([1, 2])).dtype == np.float64  # integers computed in float64
