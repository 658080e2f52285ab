"""``python -m benchmarks.embedding``: its scatter-adds compute the same sum, and it runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmarks live next to the package, not inside it
    sys.path.insert(0, str(ROOT))

from benchmarks import embedding  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("vocab", [100, 5000])
def test_every_contender_adds_the_same_gradient(dtype: Any, vocab: int) -> None:
    start, indices, rows = embedding.problem(dtype, vocab=vocab)
    expected = np.zeros(start.shape)
    for index, row in zip(indices, rows.astype(np.float64), strict=True):  # the definition
        expected[index] += row
    for name, scatter in embedding.SCATTERS.items():
        target = start.copy()
        scatter(target, indices, rows)
        assert target.dtype == dtype, name
        np.testing.assert_allclose(target, expected, rtol=1e-4, atol=1e-4, err_msg=name)


def test_it_runs_and_reports_every_contender() -> None:
    lines = embedding.run(rounds=1, repeats=1, vocab=50)
    assert len(lines) == 1 + 2 * len(embedding.SCATTERS)
    assert "vocabulary 50" in lines[0] and all(" us " in line for line in lines[1:])
