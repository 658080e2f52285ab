"""W4's contenders compute the same convolution, and its quick run renders (no timing here)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import minitorchless as mtl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmarks live next to the package, not inside it
    sys.path.insert(0, str(ROOT))

from benchmarks import report, w4_conv  # noqa: E402
from benchmarks.textbook_conv import TextbookConv2d  # noqa: E402


def test_textbook_im2col_is_the_same_math_as_the_layer() -> None:
    data = w4_conv.problem(3, 7, dtype=np.float64)
    layer = w4_conv.mtl_layer(data)
    textbook = TextbookConv2d(data["weight"], data["bias"], w4_conv.PAD)
    np.testing.assert_allclose(
        textbook.forward(data["x"]), layer(data["x"]), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        textbook.backward(data["grad"]), layer.backward(data["grad"]), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(textbook.grad_weight, layer.weight.grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(textbook.grad_bias, layer.bias.grad, rtol=1e-10, atol=1e-12)  # type: ignore[union-attr]


@pytest.mark.usefixtures("torch")  # an oracle test: skipped without torch, required in CI
def test_the_torch_contender_is_the_same_math() -> None:
    import torch

    data = w4_conv.problem(2, 5, dtype=np.float64)
    layer, twin = w4_conv.mtl_layer(data), w4_conv.torch_layer(data)
    x = torch.from_numpy(data["x"]).requires_grad_()
    outputs = twin(x)
    outputs.backward(torch.from_numpy(data["grad"]))
    np.testing.assert_allclose(outputs.detach().numpy(), layer(data["x"]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), layer.backward(data["grad"]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(twin.weight.grad.numpy(), layer.weight.grad, rtol=1e-10, atol=1e-12)


def test_the_limit_counts_the_three_im2col_products() -> None:
    products = w4_conv.products(64, 28)
    pixels, taps = 64 * 28 * 28, 16 * 9
    assert [(p.m, p.k, p.n) for p in products] == [
        (pixels, taps, 32),
        (32, pixels, taps),
        (pixels, 32, taps),
    ]
    assert sum(p.flops for p in products) == 3 * 2 * pixels * taps * 32


def test_quick_run_renders() -> None:
    section = w4_conv.run(quick=True)
    text = report.text(section)
    for name in (w4_conv.MTL, w4_conv.TEXTBOOK, w4_conv.LIMIT, "MiB"):
        assert name in text
    assert section.data["peaks"][w4_conv.MTL] > 0


def test_the_lenet_epochs_are_the_same_training_in_both_frameworks() -> None:
    torch = pytest.importorskip("torch")
    from benchmarks import data, w4_lenet

    X, labels = data.synthetic_images(192)
    X = X.reshape(-1, 1, 28, 28)
    ours = w4_lenet.build_lenet()
    theirs = mtl.to_torch(w4_lenet.build_lenet())
    loss_ours = w4_lenet.mtl_epoch(ours, X, labels, np.random.default_rng(3))
    loss_theirs = w4_lenet.torch_epoch(theirs, X, labels, np.random.default_rng(3))
    assert loss_ours == pytest.approx(loss_theirs, rel=1e-4)  # same batches, same steps
    ours_in_torch_layout = mtl.to_torch_state_dict(ours)
    for name, tensor in theirs.state_dict().items():
        assert isinstance(tensor, torch.Tensor)
        np.testing.assert_allclose(
            np.asarray(ours_in_torch_layout[name]), tensor.numpy(), rtol=1e-3, atol=1e-5
        )
