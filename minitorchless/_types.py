"""Array type aliases shared by every module."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["FloatArray", "IntArray"]

FloatArray = NDArray[np.floating[Any]]
"""A floating array of any precision: what layers compute on."""

IntArray = NDArray[np.integer[Any]]
"""An integer array: class labels, indices."""
