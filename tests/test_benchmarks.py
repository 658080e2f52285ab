"""The benchmark suite: its contenders compute the same thing, and it runs.

Nothing here measures time (a timed assertion fails at random on a busy
machine); the timings are the business of ``python -m benchmarks``. What is
tested is that the comparison is fair, since every contender must do the same
arithmetic from the same weights, and that the machinery works.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmarks live next to the package, not inside it
    sys.path.insert(0, str(ROOT))

import minitorchless as mtl  # noqa: E402
from benchmarks import (  # noqa: E402
    data,
    gemm,
    mtl_loops,
    numpy_loops,
    report,
    torch_loops,
    w1_classic,
    w2_mnist,
    w3_scaling,
    w5_transformer,
)
from benchmarks.timing import Contender, alternate  # noqa: E402


def _classic_model(weights: list[np.ndarray]) -> mtl.Sequential:
    return mtl_loops.build_mlp(w1_classic.SIZES, mtl.Sigmoid, weights, bias=False, dtype=np.float64)


@pytest.mark.parametrize("backward", ["backward", "backward_parameters"])
def test_w1_hand_written_loop_is_the_same_math(backward: mtl_loops.Backward) -> None:
    X, Y, _ = data.iris()
    weights = data.mlp_weights(w1_classic.SIZES, bias=False, dtype=np.float64, init="normal")
    W1, W2 = (w.copy() for w in weights)
    hand_cost = numpy_loops.classic_sigmoid_mse(X, Y, W1, W2, lr=3.0, epochs=20)

    model = _classic_model(weights)
    loss_fn = mtl.MSELoss()
    loss = mtl_loops.explicit_epochs(
        model, loss_fn, mtl.SGD(model.parameters(), lr=3.0), X, Y, epochs=20, backward=backward
    )

    np.testing.assert_allclose(model[0].weight.value, W1, rtol=1e-12)
    np.testing.assert_allclose(model[2].weight.value, W2, rtol=1e-12)
    assert loss == pytest.approx(hand_cost, rel=1e-12)


@pytest.mark.parametrize("backward", ["backward", "backward_parameters"])
def test_w1_floor_runs_the_framework_array_operations(backward: mtl_loops.Backward) -> None:
    # bit for bit: the floor is the framework's arithmetic, in its order, without the framework
    X, Y, _ = data.iris()
    weights = data.mlp_weights(w1_classic.SIZES, bias=False, dtype=np.float64, init="normal")
    W1, W2 = (w.copy() for w in weights)
    floor_cost = numpy_loops.classic_framework_floor(
        X, Y, W1, W2, lr=3.0, epochs=20, input_grad=backward == "backward"
    )

    model = _classic_model(weights)
    loss = mtl_loops.explicit_epochs(
        model,
        mtl.MSELoss(),
        mtl.SGD(model.parameters(), lr=3.0),
        X,
        Y,
        epochs=20,
        backward=backward,
    )

    np.testing.assert_array_equal(model[0].weight.value, W1)
    np.testing.assert_array_equal(model[2].weight.value, W2)
    assert loss == floor_cost


def test_w1_fit_is_the_same_math() -> None:
    X, Y, _ = data.iris()
    weights = data.mlp_weights(w1_classic.SIZES, bias=False, dtype=np.float64, init="normal")
    W1, W2 = (w.copy() for w in weights)
    numpy_loops.classic_sigmoid_mse(X, Y, W1, W2, lr=3.0, epochs=20)

    model = _classic_model(weights)
    mtl_loops.fit(
        model,
        mtl.MSELoss(),
        mtl.SGD(model.parameters(), lr=3.0),
        X,
        Y,
        epochs=20,
        batch_size=None,
        rng=np.random.default_rng(0),
    )

    np.testing.assert_allclose(model[0].weight.value, W1, rtol=1e-12)
    np.testing.assert_allclose(model[2].weight.value, W2, rtol=1e-12)


def test_w2_hand_written_epoch_is_the_same_math() -> None:
    """Same weights, same shuffled order (one permutation per epoch), same updates."""
    sizes = [20, 16, 8, 4]
    X, labels = data.synthetic_images(200, sizes[0], sizes[-1])
    weights = data.mlp_weights(sizes, bias=True, dtype=np.float32)
    params = [w.copy() for w in weights]
    hand_loss = numpy_loops.relu_cross_entropy_epoch(
        X, labels, params, lr=0.1, batch_size=32, rng=np.random.default_rng(2)
    )

    model = mtl_loops.build_mlp(sizes, mtl.ReLU, weights, bias=True, dtype=np.float32)
    batches = mtl.data.Batches(X, labels, batch_size=32, shuffle=True, rng=np.random.default_rng(2))
    loss = mtl_loops.explicit_minibatch_epoch(
        model, mtl.CrossEntropyLoss(), mtl.SGD(model.parameters(), lr=0.1), batches
    )

    for parameter, expected in zip(model.parameters(), params, strict=True):
        assert parameter.dtype == np.float32
        np.testing.assert_allclose(parameter.value, expected, rtol=1e-4, atol=1e-6)
    assert loss == pytest.approx(hand_loss, rel=1e-4)


@pytest.mark.usefixtures("torch")  # an oracle test: skipped without torch, required in CI
def test_torch_contenders_are_the_same_math() -> None:
    X, Y, _ = data.iris()
    weights = data.mlp_weights(w1_classic.SIZES, bias=False, dtype=np.float64, init="normal")
    model = _classic_model(weights)
    expected = mtl_loops.explicit_epochs(
        model, mtl.MSELoss(), mtl.SGD(model.parameters(), lr=3.0), X, Y, epochs=10
    )
    torch_model = torch_loops.build_mlp(w1_classic.SIZES, "sigmoid", weights, bias=False)
    loss = torch_loops.full_batch_loop(torch_model, X, Y, lr=3.0, epochs=10)

    assert loss == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(
        torch_model[0].weight.detach().numpy().T, model[0].weight.value, rtol=1e-10
    )


def test_gemm_plan_counts_the_products_of_training() -> None:
    sizes, batch = [784, 512, 256, 10], 128
    products = gemm.step_products(sizes, batch)
    # 3 forward, 3 weight gradients, 2 input gradients (none for the data)
    assert len(products) == 8
    per_step = sum(2 * batch * a * b for a, b in [(784, 512), (512, 256), (256, 10)])
    input_grads = 2 * batch * (512 * 256 + 256 * 10)
    assert sum(p.flops for p in products) == 2 * per_step + input_grads
    plan = gemm.epoch_products(sizes, 1000, batch)  # 7 full batches and one of 104
    assert [count for _, count in plan] == [7, 1]
    assert plan[1][0][0].m == 1000 - 7 * batch
    gemm.prepare_products(plan, np.float32)()  # runs


def test_alternate_rotates_and_records_every_round() -> None:
    order: list[str] = []

    def contender(name: str) -> Contender:
        return Contender(name, lambda: lambda: order.append(name))

    timings = alternate([contender("a"), contender("b"), contender("c")], rounds=3, warmup=1)
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]
    assert all(len(seconds) == 3 for seconds in timings.seconds.values())
    assert timings.ratio("a", "a") == 1.0


@pytest.mark.slow
def test_quick_run_of_the_workloads_renders() -> None:
    """A smoke run, as CI's ``python -m benchmarks --quick`` does (minus memory's subprocesses).

    With one BLAS thread, as ``--quick`` uses: on a busy machine a second thread
    can make the tiny products wait for a time slice each.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limits: Any = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1, user_api="blas")
    with limits:
        sections = [
            w1_classic.run(quick=True),
            w2_mnist.run(quick=True),
            w3_scaling.run(quick=True),
            w5_transformer.run(quick=True),
        ]
    text = "\n".join(report.text(section) for section in sections)
    markdown = report.markdown(sections, {"CPU": "test"}, {"mode": "quick"})
    for name in (w1_classic.HAND, w2_mnist.LOOP, w2_mnist.LIMIT):
        assert name in text and name in markdown
    assert "| loop (backward) / hand-written |" in markdown
    assert all(np.isfinite(s.data.get("epoch_flops", 0)) for s in sections)


def test_w5_transformer_contenders_compute_the_same_block() -> None:
    torch = pytest.importorskip("torch")
    block, x, grad = w5_transformer.block_and_data(16, 4, 8, 3)
    module = mtl.to_torch(block)
    inputs = torch.from_numpy(x).requires_grad_(True)
    outputs = module(inputs)
    outputs.backward(torch.from_numpy(grad))
    np.testing.assert_allclose(block(x), outputs.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(block.backward(grad), inputs.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert block.dtype == np.float32 and outputs.dtype == torch.float32
