"""W5's LSTM contenders: the hand-written loop computes what ``mtl.LSTM`` does, and W5 runs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmarks live next to the package, not inside it
    sys.path.insert(0, str(ROOT))

import minitorchless as mtl  # noqa: E402
from benchmarks import numpy_lstm, report, w5_lstm  # noqa: E402


def test_the_hand_written_loop_is_the_same_math() -> None:
    rng = np.random.default_rng(0)
    layer = mtl.LSTM(3, 5, rng=rng)
    x, grad_output = rng.standard_normal((4, 6, 3)), rng.standard_normal((4, 6, 5))
    outputs = layer(x)
    grad_input = layer.backward(grad_output)
    state = layer.state_dict()
    w_x, w_h = state["weight_ih_l0"].T, state["weight_hh_l0"].T
    hand_outputs, caches = numpy_lstm.lstm_forward(
        x, w_x, w_h, state["bias_ih_l0"] + state["bias_hh_l0"]
    )
    dx, dw_x, dw_h, db = numpy_lstm.lstm_backward(grad_output, caches, w_x, w_h)
    grads = {name: p.grad for name, p in layer.named_parameters()}
    np.testing.assert_allclose(hand_outputs, outputs, rtol=1e-12)
    np.testing.assert_allclose(dx, grad_input, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dw_x, grads["weight_ih_l0"].T, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dw_h, grads["weight_hh_l0"].T, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(db, grads["bias_ih_l0"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(db, grads["bias_hh_l0"], rtol=1e-10, atol=1e-14)


def test_w5_quick_runs_every_contender_and_reports_its_targets() -> None:
    section = w5_lstm.run(quick=True)
    text = report.text(section)
    for name in (w5_lstm.HAND, w5_lstm.LAYER):
        assert name in text
    assert "time / hand-written" in text
    assert all(len(runs) == 1 for runs in section.data["seconds"].values())
