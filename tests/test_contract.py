"""The layer contract, run by ``check_layer`` over every specimen (``tests/specimens.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from specimens import SPECIMENS

from minitorchless.testing import check_layer


@pytest.mark.parametrize("name", sorted(SPECIMENS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_contract(name: str, dtype: Any) -> None:
    specimen = SPECIMENS[name]
    report = check_layer(lambda rng: specimen.build(rng, dtype), specimen.make_inputs(dtype))
    checked_inputs = sum(
        count for name, count in report.checked.items() if name.startswith("inputs")
    )
    if specimen.integers is None:
        assert checked_inputs > 0
    else:  # indices have no gradient: the parameters' gradients are what was checked
        assert checked_inputs == 0 and sum(report.checked.values()) > 0
    assert all(
        error < 1e-5
        for name, error in report.max_relative_error.items()
        if not name.endswith(specimen.zero_gradients or ("\0",))
    )


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_batch_of_one(name: str) -> None:
    specimen = SPECIMENS[name]
    if specimen.min_batch > 1:  # refused with a message that says what to do
        with pytest.raises(ValueError, match="larger batch"):
            specimen.build(np.random.default_rng(0), np.float64)(specimen.make_inputs(batch=1))
        return
    check_layer(lambda rng: specimen.build(rng, np.float64), specimen.make_inputs(batch=1))
