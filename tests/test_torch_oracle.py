"""Random Sequentials against PyTorch 2.13.0 in float64: outputs, loss and every gradient."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

import minitorchless as mtl

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def random_network(seed: int) -> tuple[list[tuple[int, int, bool, str]], int]:
    """A random architecture: (in, out, bias, activation) per Dense, and a batch size."""
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 5))
    widths = [int(w) for w in rng.integers(1, 9, size=depth + 1)]
    batch = 1 if seed % 5 == 0 else int(rng.integers(2, 17))  # batch 1 is a case of its own
    spec = [
        (widths[i], widths[i + 1], bool(rng.random() < 0.5), str(rng.choice(ACTIVATIONS)))
        for i in range(depth)
    ]
    return spec, batch


def build_both(
    torch: ModuleType, spec: list[tuple[int, int, bool, str]], seed: int
) -> tuple[mtl.Sequential, object]:
    rng = np.random.default_rng(seed)
    ours: list[mtl.Layer] = []
    theirs = []
    torch_activation = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
    our_activation = {"sigmoid": mtl.Sigmoid, "tanh": mtl.Tanh, "relu": mtl.ReLU}
    for in_features, out_features, bias, activation in spec:
        dense = mtl.Dense(in_features, out_features, bias=bias, rng=rng, init="normal")
        if bias:
            dense.bias.value[:] = rng.standard_normal(out_features)
        linear = torch.nn.Linear(in_features, out_features, bias=bias, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(dense.weight.value.T.copy()))
            if bias:
                linear.bias.copy_(torch.from_numpy(dense.bias.value.copy()))
        ours += [dense, our_activation[activation]()]
        theirs += [linear, torch_activation[activation]()]
    return mtl.Sequential(*ours), torch.nn.Sequential(*theirs)


@pytest.mark.parametrize("seed", range(60))
def test_random_sequential_matches_torch(torch: ModuleType, seed: int) -> None:
    spec, batch = random_network(seed)
    model, reference = build_both(torch, spec, seed)
    data = np.random.default_rng(seed + 1000)
    x = data.standard_normal((batch, spec[0][0]))
    y = data.random((batch, spec[-1][1]))
    reduction = "sum" if seed % 3 == 0 else "mean"

    loss_fn = mtl.MSELoss(reduction=reduction)
    outputs = model(x)
    loss = loss_fn(outputs, y)
    model.zero_grad()
    grad_input = model.backward(loss_fn.backward())

    x_t = torch.tensor(x, requires_grad=True)
    out_t = reference(x_t)
    loss_t = torch.nn.functional.mse_loss(out_t, torch.tensor(y), reduction=reduction)
    loss_t.backward()

    np.testing.assert_allclose(outputs, out_t.detach().numpy(), rtol=1e-10, atol=1e-14)
    assert loss == pytest.approx(loss_t.item(), rel=1e-10, abs=1e-15)
    np.testing.assert_allclose(grad_input, x_t.grad.numpy(), rtol=1e-10, atol=1e-14)
    for dense, linear in zip(model.layers[::2], list(reference)[::2], strict=True):
        np.testing.assert_allclose(
            dense.weight.grad, linear.weight.grad.numpy().T, rtol=1e-10, atol=1e-14
        )
        if dense.bias is not None:
            np.testing.assert_allclose(
                dense.bias.grad, linear.bias.grad.numpy(), rtol=1e-10, atol=1e-14
            )


def test_sgd_training_matches_torch(torch: ModuleType) -> None:
    """Twenty steps of the classic loop, compared with torch's after every step."""
    spec = [(5, 4, False, "sigmoid"), (4, 3, False, "sigmoid")]
    model, reference = build_both(torch, spec, 0)
    data = np.random.default_rng(1)
    x, y = data.standard_normal((30, 5)), data.random((30, 3))
    loss_fn = mtl.MSELoss()
    optimizer = mtl.SGD(model.parameters(), lr=3.0)
    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=3.0)
    for _ in range(20):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
        torch_optimizer.zero_grad()
        loss_t = torch.nn.functional.mse_loss(reference(torch.tensor(x)), torch.tensor(y))
        loss_t.backward()
        torch_optimizer.step()
        assert loss == pytest.approx(loss_t.item(), rel=1e-10)
    np.testing.assert_allclose(
        model.layers[0].weight.value, reference[0].weight.detach().numpy().T, rtol=1e-10
    )
