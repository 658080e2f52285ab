"""The error function for NumPy arrays: ``erf`` and ``erfc``, vectorised, in any float dtype.

NumPy has no ``erf``, ``math.erf`` takes one scalar at a time, and SciPy is not
a dependency of minitorchless. This module evaluates W. J. Cody's rational
Chebyshev approximations ("Rational Chebyshev approximations for the error
function", Mathematics of Computation 23 (1969), 631-637; the algorithm of
SPECFUN's ``CALERF``) on whole arrays. The approximations themselves are good
to about 18 significant digits; in float64 the result is within a few units
in the last place of the true value, and ``tests/test_special.py`` checks it
against ``math.erf`` and ``math.erfc``.

The real line is cut into three pieces by ``|x|``:

- ``|x| <= 0.46875``: ``erf(x) = x R1(x^2)``;
- ``0.46875 < |x| <= 4``: ``erfc(|x|) = exp(-x^2) R2(|x|)``;
- ``|x| > 4``: ``erfc(|x|) = exp(-x^2) / |x| (1/sqrt(pi) + R3(1/x^2) / x^2)``;

each ``R`` a ratio of two polynomials. Near 0 ``erf`` is computed directly,
so it keeps its relative accuracy for tiny ``x``; away from 0 ``erfc`` is,
so it keeps its relative accuracy far in the tail where ``1 - erf`` would
be all rounding error. Arithmetic happens in the dtype of the input: a
float32 array is computed in float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from minitorchless._types import FloatArray

__all__ = ["ERFC_FAR", "ERFC_MIDDLE", "ERF_NEAR", "NEAR_ZERO", "TAIL", "erf", "erfc"]

NEAR_ZERO = 0.46875
"""Below this ``|x|``, ``erf`` is ``x R1(x^2)``."""

TAIL = 4.0
"""Above this ``|x|``, ``erfc`` uses the asymptotic form in ``1/x^2``."""

# Cody's coefficients, highest power first, as Horner's rule consumes them.
# R1(t) = P(t) / Q(t) with t = x^2: erf(x) = x R1(t) near zero.
ERF_NEAR = (
    (
        1.85777706184603153e-1,
        3.16112374387056560e0,
        1.13864154151050156e2,
        3.77485237685302021e2,
        3.20937758913846947e3,
    ),
    (
        1.0,
        2.36012909523441209e1,
        2.44024637934444173e2,
        1.28261652607737228e3,
        2.84423683343917062e3,
    ),
)
# R2(y) with y = |x|: erfc(y) = exp(-y^2) R2(y) between NEAR_ZERO and TAIL.
ERFC_MIDDLE = (
    (
        2.15311535474403846e-8,
        5.64188496988670089e-1,
        8.88314979438837594e0,
        6.61191906371416295e1,
        2.98635138197400131e2,
        8.81952221241769090e2,
        1.71204761263407058e3,
        2.05107837782607147e3,
        1.23033935479799725e3,
    ),
    (
        1.0,
        1.57449261107098347e1,
        1.17693950891312499e2,
        5.37181101862009858e2,
        1.62138957456669019e3,
        3.29079923573345963e3,
        4.36261909014324716e3,
        3.43936767414372164e3,
        1.23033935480374942e3,
    ),
)
# R3(z) with z = 1/y^2: erfc(y) = exp(-y^2) / y (1/sqrt(pi) - z R3(z)) beyond TAIL.
ERFC_FAR = (
    (
        1.63153871373020978e-2,
        3.05326634961232344e-1,
        3.60344899949804439e-1,
        1.25781726111229246e-1,
        1.60837851487422766e-2,
        6.58749161529837803e-4,
    ),
    (
        1.0,
        2.56852019228982242e0,
        1.87295284992346047e0,
        5.27905102951428412e-1,
        6.05183413124413191e-2,
        2.33520497626869185e-3,
    ),
)
_ONE_OVER_SQRT_PI = 0.56418958354775628695
# erfc(40) = 0 in every float dtype: clamping there keeps inf out of the arithmetic
_SATURATED = 40.0


def _horner(coefficients: Sequence[float], t: FloatArray) -> FloatArray:
    """The polynomial with ``coefficients`` (highest power first) at ``t``, in ``t``'s dtype."""
    result = np.full_like(t, coefficients[0])
    for coefficient in coefficients[1:]:
        result *= t
        result += coefficient
    return result


def _rational(pair: tuple[Sequence[float], Sequence[float]], t: FloatArray) -> FloatArray:
    numerator = _horner(pair[0], t)
    numerator /= _horner(pair[1], t)
    return numerator


def _exp_minus_square(y: FloatArray) -> FloatArray:
    """``exp(-y^2)``, with ``y^2`` split so that its rounding error is not magnified.

    ``y^2`` rounded carries an absolute error of about ``y^2`` units in the
    last place, which ``exp`` turns into the same *relative* error: 1e-13 at
    ``y = 25``. With ``y = h + d``, ``h`` a multiple of 1/16 whose square is
    exact, ``exp(-y^2) = exp(-h^2) exp(-(y - h)(y + h))`` loses almost nothing.
    """
    head = np.trunc(y * 16) / 16
    rest = (y - head) * (y + head)
    with np.errstate(under="ignore"):  # the far tail rounds to 0, which is right
        result = np.exp(-(head * head))
        result *= np.exp(-rest)
    return result


def _erf_near_zero(x: FloatArray) -> FloatArray:
    """``erf(x)`` for ``|x| <= NEAR_ZERO``."""
    return x * _rational(ERF_NEAR, x * x)


def _erfc_away(y: FloatArray) -> FloatArray:
    """``erfc(y)`` for ``y > NEAR_ZERO`` (``y`` may be inf)."""
    y = np.minimum(y, y.dtype.type(_SATURATED))
    result = np.empty_like(y)
    middle = y <= TAIL
    ym = y[middle]
    result[middle] = _rational(ERFC_MIDDLE, ym) * _exp_minus_square(ym)
    far = ~middle
    yf = y[far]
    z = 1 / (yf * yf)
    result[far] = (_ONE_OVER_SQRT_PI - z * _rational(ERFC_FAR, z)) / yf * _exp_minus_square(yf)
    return result


def _prepared(x: Any) -> tuple[FloatArray, tuple[int, ...]]:
    array = np.asarray(x)
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    return cast(FloatArray, array.reshape(-1)), array.shape


def erf(x: Any) -> FloatArray:
    """The error function ``2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt``, element-wise.

    Args:
        x: An array (or scalar); integers are computed in float64, floats in
            their own dtype.

    Returns:
        An array of ``x``'s shape: values in [-1, 1]; ``erf(+-inf) = +-1``,
        NaN stays NaN.
    """
    flat, shape = _prepared(x)
    result = np.full_like(flat, np.nan)  # NaN falls in no piece below and stays NaN
    size = np.abs(flat)
    near = size <= NEAR_ZERO
    result[near] = _erf_near_zero(flat[near])
    away = size > NEAR_ZERO
    tail = _erfc_away(size[away])
    np.subtract(1, tail, out=tail)  # erf(|x|) = 1 - erfc(|x|), then the sign of x
    result[away] = np.copysign(tail, flat[away])
    return result.reshape(shape)


def erfc(x: Any) -> FloatArray:
    """The complementary error function ``1 - erf(x)``, element-wise, accurate in the tail.

    For large ``x``, ``erfc(x)`` is tiny and ``1 - erf(x)`` would round to 0
    long before it; this function keeps its relative accuracy down to the
    smallest positive float.

    Args:
        x: An array (or scalar); integers are computed in float64, floats in
            their own dtype.

    Returns:
        An array of ``x``'s shape: values in [0, 2]; ``erfc(-inf) = 2``,
        ``erfc(inf) = 0``, NaN stays NaN.
    """
    flat, shape = _prepared(x)
    result = np.full_like(flat, np.nan)
    size = np.abs(flat)
    near = size <= NEAR_ZERO
    result[near] = 1 - _erf_near_zero(flat[near])
    away = size > NEAR_ZERO
    tail = _erfc_away(size[away])
    result[away] = np.where(flat[away] < 0, 2 - tail, tail)  # erfc(-y) = 2 - erfc(y)
    return result.reshape(shape)
