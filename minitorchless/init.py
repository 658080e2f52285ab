"""Weight initializers.

Each initializer has the signature ``(shape, rng, dtype) -> ndarray`` and draws
from the ``np.random.Generator`` it is given, never from NumPy's global state.
For a weight of shape ``(in_features, out_features)``, ``fan_in`` is
``shape[0]`` and ``fan_out`` is ``shape[1]``.

``Dense(init=...)`` takes one of these functions, any callable of the same
signature, or a name from :data:`INITIALIZERS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = [
    "INITIALIZERS",
    "Initializer",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "normal",
    "uniform",
    "zeros",
]

Initializer = Callable[[tuple[int, ...], np.random.Generator, DTypeLike], NDArray[Any]]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[-1]


def _draw(sampler: Callable[..., Any], shape: tuple[int, ...], dtype: DTypeLike) -> NDArray[Any]:
    # draw float32 directly for float32 models (no float64 detour); other dtypes via float64
    if np.dtype(dtype) == np.float32:
        return np.asarray(sampler(shape, dtype=np.float32))
    return np.asarray(sampler(shape, dtype=np.float64), dtype=dtype)


def _uniform(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike, limit: float
) -> NDArray[Any]:
    values = _draw(rng.random, shape, dtype)
    values *= 2 * limit
    values -= limit
    return values


def _normal(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike, std: float
) -> NDArray[Any]:
    values = _draw(rng.standard_normal, shape, dtype)
    values *= std
    return values


def normal(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float64
) -> NDArray[Any]:
    """Standard normal N(0, 1): the classic tutorial's ``np.random.randn`` weights."""
    return _normal(shape, rng, dtype, 1.0)


def uniform(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float64
) -> NDArray[Any]:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the range PyTorch's ``nn.Linear`` draws from."""
    fan_in, _ = _fans(shape)
    return _uniform(shape, rng, dtype, 1.0 / math.sqrt(fan_in))


def glorot_uniform(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float64
) -> NDArray[Any]:
    """Glorot (Xavier) uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return _uniform(shape, rng, dtype, math.sqrt(6.0 / (fan_in + fan_out)))


def glorot_normal(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float64
) -> NDArray[Any]:
    """Glorot (Xavier) normal: N(0, 2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return _normal(shape, rng, dtype, math.sqrt(2.0 / (fan_in + fan_out)))


def he_uniform(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float64
) -> NDArray[Any]:
    """He (Kaiming) uniform, for ReLU networks: U(-a, a) with a = sqrt(6 / fan_in)."""
    fan_in, _ = _fans(shape)
    return _uniform(shape, rng, dtype, math.sqrt(6.0 / fan_in))


def he_normal(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float64
) -> NDArray[Any]:
    """He (Kaiming) normal, for ReLU networks: N(0, 2 / fan_in)."""
    fan_in, _ = _fans(shape)
    return _normal(shape, rng, dtype, math.sqrt(2.0 / fan_in))


def zeros(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float64
) -> NDArray[Any]:
    """All zeros (the default for biases)."""
    return np.zeros(shape, dtype=dtype)


INITIALIZERS: dict[str, Initializer] = {
    "normal": normal,
    "uniform": uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_uniform": glorot_uniform,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "kaiming_uniform": he_uniform,
    "kaiming_normal": he_normal,
    "zeros": zeros,
}
"""Initializers by name, as ``Dense(init="he_normal")`` accepts them."""


def get(init: str | Initializer) -> Initializer:
    """Resolve an initializer given by name or as a callable."""
    if callable(init):
        return init
    if isinstance(init, str) and init in INITIALIZERS:
        return INITIALIZERS[init]
    raise ValueError(
        f"unknown initializer {init!r}; expected a callable or one of {sorted(INITIALIZERS)}"
    )
