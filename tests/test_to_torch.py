"""``to_torch`` and ``from_torch``: every specimen to a torch module and back, same numbers."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from specimens import SPECIMENS, build, layer_types

import minitorchless as mtl
from minitorchless.testing import compare_with_torch


def _has_dropout(model: mtl.Layer) -> bool:
    return any("Dropout" in cls.__name__ for cls in layer_types(model))


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_every_specimen_computes_the_same_in_torch(name: str, torch: ModuleType) -> None:
    model = build(name)
    if _has_dropout(model):
        model.eval()  # the same outputs and gradients, dropout aside
    module = mtl.to_torch(model)
    assert module.training == model.training
    state = module.state_dict()
    expected = mtl.to_torch_state_dict(model)
    assert list(state) == list(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(state[key].numpy(), value, err_msg=key)
    inputs = SPECIMENS[name].make_inputs(batch=4)
    report = compare_with_torch(model, module, inputs, rtol=1e-10, atol=1e-12)
    assert report.max_abs_error


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_every_specimen_comes_back_from_torch(name: str, torch: ModuleType) -> None:
    model = build(name).eval()
    back = mtl.from_torch(mtl.to_torch(model))
    assert type(back) is type(model) and repr(back) == repr(model)
    assert back.dtype == model.dtype and back.training is False
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], value, err_msg=key)
    inputs = SPECIMENS[name].make_inputs(batch=3)
    ours, theirs = model(inputs), back(inputs)
    for a, b in zip(
        ours if isinstance(ours, tuple) else (ours,),
        theirs if isinstance(theirs, tuple) else (theirs,),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_a_shared_layer_is_one_module_used_twice(torch: ModuleType) -> None:
    dense = mtl.Dense(3, 3, bias=True, rng=np.random.default_rng(0))
    module = mtl.to_torch(mtl.Sequential(dense, mtl.Tanh(), dense))
    assert module[0] is module[2]
    graph = build("Graph")
    torch_graph = mtl.to_torch(graph)
    assert torch_graph.steps[1][1] == torch_graph.steps[3][1] == "a"  # nodes a and b


def test_a_float32_model_gives_a_float32_module(torch: ModuleType) -> None:
    module = mtl.to_torch(build("Sequential(classic)", np.float32))
    assert {p.dtype for p in module.parameters()} == {torch.float32}
    back = mtl.from_torch(module)
    assert back.dtype == np.float32


def test_a_hand_built_torch_model_comes_over(torch: ModuleType) -> None:
    nn = torch.nn
    torch.manual_seed(0)
    module = (
        nn.Sequential(
            nn.Linear(4, 8),
            nn.LayerNorm(8),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(8, 3, bias=False),
            nn.Softmax(dim=-1),
        )
        .double()
        .eval()
    )
    model = mtl.from_torch(module)
    x = np.random.default_rng(1).standard_normal((5, 4))
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x), expected, rtol=1e-12)


class Scale(mtl.Layer):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.scale = self.add_parameter("scale", np.full(features, 2.0))

    def forward(self, inputs: Any) -> Any:
        self.save_for_backward(inputs)
        return inputs * self.scale.value

    def backward(self, grad_output: Any) -> Any:
        self.scale.grad += (grad_output * self.saved()).sum(axis=0)
        return grad_output * self.scale.value


def test_a_users_layer_is_named_and_can_be_registered(
    torch: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = mtl.Sequential(mtl.Dense(2, 2, rng=np.random.default_rng(0)), Scale(2))
    with pytest.raises(
        TypeError, match=r"no PyTorch module for Scale at '1'.*register_torch_module"
    ):
        mtl.to_torch(model)

    from minitorchless.interop import torch_registry

    monkeypatch.setattr(torch_registry, "TO_TORCH", dict(torch_registry.TO_TORCH))
    monkeypatch.setattr("minitorchless.interop.torch_modules.TO_TORCH", torch_registry.TO_TORCH)

    class TorchScale(torch.nn.Module):  # type: ignore[misc]
        def __init__(self, features: int) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(features))

        def forward(self, x: Any) -> Any:
            return x * self.scale

    @mtl.register_torch_module(Scale)
    def _scale(layer: Scale, convert: Any) -> Any:
        return TorchScale(layer.scale.size)

    module = mtl.to_torch(model)
    compare_with_torch(model, module, np.random.default_rng(2).standard_normal((3, 2)))


def test_unknown_torch_modules_are_named_with_their_place(torch: ModuleType) -> None:
    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Hardswish())
    with pytest.raises(TypeError, match=r"no minitorchless layer for Hardswish.*register_from"):
        mtl.from_torch(module)
    with pytest.raises(TypeError, match=r"expected a torch\.nn\.Module"):
        mtl.from_torch("model")
    with pytest.raises(TypeError, match="expected a Layer"):
        mtl.to_torch("model")  # type: ignore[arg-type]
