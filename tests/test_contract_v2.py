"""Contract v2: any rank, buffers, integer inputs, the base-owned cache, fixed containers."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.testing import check_layer, compare_with_torch


class Counter(mtl.Layer):
    """Scales by a parameter and counts the samples it has seen in training (a buffer)."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.features = features
        self.scale = self.add_parameter("scale", np.linspace(0.5, 1.5, features))
        self.seen = self.add_buffer("seen", np.zeros((), dtype=np.int64))
        self.mean = self.add_buffer("mean", np.zeros(features))

    def forward(self, inputs: Any) -> Any:
        if self.training:
            self.seen.value += len(inputs)
            self.mean.value[...] = inputs.reshape(-1, self.features).mean(axis=0)
        self.save_for_backward(inputs)
        return inputs * self.scale.value

    def backward(self, grad_output: Any) -> Any:
        inputs = self.saved()
        self.scale.grad += (grad_output * inputs).reshape(-1, self.features).sum(axis=0)
        return grad_output * self.scale.value

    def output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {"features": self.features}


class Lookup(mtl.Layer):
    """Rows of a table by integer index."""

    def __init__(self, rows: int = 5, width: int = 3) -> None:
        super().__init__()
        self.rows, self.width = rows, width
        table = np.random.default_rng(0).standard_normal((rows, width))
        self.table = self.add_parameter("table", table)

    def forward(self, inputs: Any) -> Any:
        self.save_for_backward(inputs)
        return self.table.value[inputs]

    def backward(self, grad_output: Any) -> Any:
        np.add.at(self.table.grad, self.saved(), grad_output)
        return None

    def output_shape(self, input_shape: Any) -> Any:
        return (*input_shape, self.width)

    def get_config(self) -> dict[str, Any]:
        return {"rows": self.rows, "width": self.width}


# ------------------------------------------------------------------- any rank
def test_dense_acts_on_the_last_axis_of_any_rank(rng: np.random.Generator) -> None:
    dense = mtl.Dense(4, 3, bias=True, rng=rng)
    x = rng.standard_normal((2, 5, 6, 4))
    np.testing.assert_allclose(dense(x), x @ dense.weight.value + dense.bias.value)
    assert dense.output_shape((None, 5, 6, 4)) == (None, 5, 6, 3)
    check_layer(dense, rng.standard_normal((2, 3, 4)))


def test_dense_at_rank_three_matches_torch(rng: np.random.Generator, torch: ModuleType) -> None:
    dense = mtl.Dense(4, 3, bias=True, rng=rng)
    report = compare_with_torch(dense, torch.nn.Linear(4, 3), rng.standard_normal((2, 5, 4)))
    assert max(report.max_abs_error.values()) < 1e-12


def test_containers_infer_whole_shapes(rng: np.random.Generator) -> None:
    model = mtl.Sequential(
        mtl.Dense(4, 8, rng=rng),
        mtl.ReLU(),
        mtl.Residual(mtl.Sequential(mtl.Dense(8, 8, rng=rng), mtl.Tanh())),
        mtl.Parallel(mtl.Dense(8, 2, rng=rng), mtl.Sigmoid()),
    )
    assert model.output_shape((None, 7, 4)) == (None, 7, 10)
    assert model.output_shape((...,)) == (..., 10)
    assert model(rng.standard_normal((3, 7, 4))).shape == (3, 7, 10)
    lines: list[str] = []
    model.summary((7, 4), print_fn=lines.append)
    assert any("(batch, 7, 10)" in line for line in lines)
    with pytest.raises(mtl.ShapeError, match=r"expects 4 features on the last axis"):
        model.output_shape((None, 7, 5))


def test_activations_and_dropout_keep_any_shape(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3, 4, 5))
    for layer in (
        mtl.Sigmoid(),
        mtl.Tanh(),
        mtl.ReLU(),
        mtl.LeakyReLU(),
        mtl.Identity(),
        mtl.Softmax(),
        mtl.Dropout(0.5, rng=rng),
    ):
        assert layer(x).shape == x.shape
        assert layer.output_shape((None, 3, 4, 5)) == (None, 3, 4, 5)


# ------------------------------------------------------------------- buffers
def test_buffers_travel_with_the_model_but_never_train(tmp_path: Path) -> None:
    model = mtl.Sequential(mtl.Dense(3, 3, rng=np.random.default_rng(0)), Counter(3))
    model(np.ones((4, 3)))
    assert list(model.state_dict()) == ["0.weight", "1.scale", "1.seen", "1.mean"]
    assert [name for name, _ in model.named_buffers()] == ["1.seen", "1.mean"]
    assert len(model.parameters()) == 2  # buffers are not parameters
    optimizer = mtl.SGD(model.parameters(), lr=0.1)
    assert all(isinstance(p, mtl.Parameter) for p in optimizer.params)

    mtl.save(model, tmp_path / "m.safetensors")
    loaded = mtl.load(tmp_path / "m.safetensors", custom_layers=[Counter])
    assert int(loaded.state_dict()["1.seen"]) == 4

    model.to(np.float32)
    state = model.state_dict()
    assert state["1.mean"].dtype == np.float32 and state["1.seen"].dtype == np.int64
    lines: list[str] = []
    model.summary(3, print_fn=lines.append)
    assert "Total params: 12" in lines and "Buffers (not trained): 4" in lines
    torch_state = mtl.to_torch_state_dict(model)
    assert set(torch_state) == {"0.weight", "1.scale", "1.seen", "1.mean"}


def test_check_layer_passes_a_layer_with_buffers() -> None:
    check_layer(Counter(3), np.random.default_rng(1).standard_normal((4, 3)))


# ------------------------------------------------------------ integer inputs
def test_integer_inputs_pass_through_containers(rng: np.random.Generator) -> None:
    model = mtl.Sequential(Lookup(5, 3), mtl.Dense(3, 2, rng=rng))
    indices = rng.integers(0, 5, size=(4, 6))
    outputs = model(indices)
    assert outputs.shape == (4, 6, 2)
    assert model.backward(np.ones_like(outputs)) is None
    check_layer(mtl.Sequential(Lookup(5, 3), mtl.Tanh()), indices)

    graph = mtl.Graph(
        inputs=["ids", "x"],
        nodes=[
            ("e", Lookup(5, 3), "ids"),
            ("sum", mtl.Add(), ["e", "x"]),
        ],
        outputs="sum",
    )
    graph((indices, np.ones((4, 6, 3))))
    grads = graph.backward(np.ones((4, 6, 3)))
    assert grads[0] is None and grads[1].shape == (4, 6, 3)


# ------------------------------------------------------------------ the cache
class Failing(mtl.Layer):
    """Saves its inputs, then fails on a negative batch: a forward that fails half-way."""

    def forward(self, inputs: Any) -> Any:
        self.save_for_backward(inputs)
        if np.any(inputs < 0):
            raise ValueError("Failing: negative inputs")
        return inputs

    def backward(self, grad_output: Any) -> Any:
        self.saved()
        return grad_output


def test_a_failed_forward_leaves_no_cache() -> None:
    layer = Failing()
    layer(np.ones((2, 2)))
    with pytest.raises(ValueError, match="negative"):
        layer(-np.ones((2, 2)))
    with pytest.raises(RuntimeError, match=r"Failing.backward.*before forward"):
        layer.backward(np.ones((2, 2)))


def test_forward_hooks_see_every_forward_and_can_be_removed() -> None:
    layer = mtl.Tanh()
    seen: list[tuple[Any, Any]] = []
    handle = layer.register_forward_hook(lambda lay, x, y: seen.append((x, y)))
    x = np.zeros((1, 2))
    layer(x)
    handle.remove()
    layer(x)
    handle.remove()  # twice is harmless
    assert len(seen) == 1 and seen[0][0] is x


# -------------------------------------------------- fixed containers, checked grads
def test_containers_cannot_be_changed_behind_their_backs(rng: np.random.Generator) -> None:
    dense = mtl.Dense(3, 3, rng=rng)
    chain = mtl.Sequential(dense, mtl.Tanh())
    with pytest.raises(AttributeError):
        chain.layers.append(dense)  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        chain.layers = (dense, dense)  # type: ignore[misc]
    parallel = mtl.Parallel(dense, mtl.Tanh())
    with pytest.raises(AttributeError):
        parallel.branches.append(dense)  # type: ignore[attr-defined]
    residual = mtl.Residual(dense)
    with pytest.raises(AttributeError):
        residual.block = mtl.Tanh()  # type: ignore[misc]
    # the supported way: a new container, whose sharing is analysed afresh
    longer = mtl.Sequential(*chain, dense)
    check_layer(longer, rng.standard_normal((4, 3)))


def test_a_gradient_of_the_wrong_shape_or_dtype_is_refused() -> None:
    parameter = mtl.Parameter(np.zeros((2, 3)))
    with pytest.raises(mtl.ShapeError, match=r"shape \(2, 3\).*received shape \(3,\)"):
        parameter.grad = np.zeros(3)
    with pytest.raises(mtl.ShapeError, match="float32"):
        parameter.grad = np.zeros((2, 3), dtype=np.float32)
    parameter.grad = np.ones((2, 3))
    assert parameter.grad.sum() == 6


def test_frozen_parameters_are_not_trained(rng: np.random.Generator) -> None:
    dense = mtl.Dense(3, 2, bias=True, rng=rng)
    dense.weight.requires_grad = False
    assert dense.parameters() == [dense.bias]
    before = dense.weight.value.copy()
    dense.zero_grad()
    dense(np.ones((4, 3)))
    dense.backward(np.ones((4, 2)))
    assert not dense.weight.grad.any()  # no gradient work for a frozen weight
    np.testing.assert_array_equal(dense.weight.value, before)
    assert "weight" in dense.state_dict()  # still saved
