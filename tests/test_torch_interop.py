"""PyTorch state dicts: names, layouts, and the same outputs in both frameworks.

The oracle tests use the ``torch`` fixture: skipped where torch is absent,
failed in CI where it must be there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from specimens import SPECIMENS, build

import minitorchless as mtl


def _model(rng: np.random.Generator) -> mtl.Sequential:
    """One of every layer with a torch.nn twin, in the order of ``_torch_twin``."""
    return mtl.Sequential(
        mtl.Dense(5, 8, bias=True, rng=rng),
        mtl.Sigmoid(),
        mtl.Dense(8, 7, rng=rng),
        mtl.Tanh(),
        mtl.Dense(7, 6, bias=True, rng=rng),
        mtl.ReLU(),
        mtl.Dense(6, 6, rng=rng),
        mtl.LeakyReLU(0.05),
        mtl.Identity(),
        mtl.Dropout(0.5, rng=rng),
        mtl.Dense(6, 3, bias=True, rng=rng),
        mtl.Softmax(),
    )


def _torch_twin(torch: ModuleType) -> Any:
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(5, 8),
        nn.Sigmoid(),
        nn.Linear(8, 7, bias=False),
        nn.Tanh(),
        nn.Linear(7, 6),
        nn.ReLU(),
        nn.Linear(6, 6, bias=False),
        nn.LeakyReLU(0.05),
        nn.Identity(),
        nn.Dropout(0.5),
        nn.Linear(6, 3),
        nn.Softmax(dim=-1),
    )


def _same_outputs(model: mtl.Layer, twin: Any, torch: ModuleType) -> None:
    model.eval()
    twin.eval()
    inputs = np.random.default_rng(3).standard_normal((9, 5))
    with torch.no_grad():
        expected = twin(torch.from_numpy(inputs)).numpy()
    np.testing.assert_allclose(model(inputs), expected, rtol=1e-12, atol=0)


TWINNED = sorted(name for name, specimen in SPECIMENS.items() if specimen.torch is not None)


@pytest.mark.parametrize("name", TWINNED)
def test_every_specimen_with_a_twin_maps_one_to_one(name: str, torch: ModuleType) -> None:
    specimen = SPECIMENS[name]
    model = build(name)
    twin = specimen.torch(torch)  # type: ignore[misc]
    state = mtl.to_torch_state_dict(model)
    assert sorted(state) == sorted(twin.state_dict())
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    model.eval()
    twin.eval()
    inputs = specimen.make_inputs(batch=5)
    arrays = inputs if isinstance(inputs, tuple) else (inputs,)
    with torch.no_grad():
        expected = twin(*(torch.from_numpy(array) for array in arrays)).numpy()
    np.testing.assert_allclose(model(inputs), expected, rtol=1e-12, atol=1e-15)

    back = build(name, seed=1)  # other weights, then the twin's
    mtl.from_torch_state_dict(back, twin.state_dict())
    for key, value in back.state_dict().items():
        np.testing.assert_array_equal(value, model.state_dict()[key])


def test_names_and_layouts_without_torch() -> None:
    model = _model(np.random.default_rng(0))
    state = mtl.to_torch_state_dict(model)
    assert list(state) == [
        "0.weight",
        "0.bias",
        "2.weight",
        "4.weight",
        "4.bias",
        "6.weight",
        "10.weight",
        "10.bias",
    ]
    assert state["0.weight"].shape == (8, 5)  # nn.Linear's (out_features, in_features)
    np.testing.assert_array_equal(state["0.weight"], model[0].weight.value.T)
    assert all(array.flags.c_contiguous for array in state.values())
    state["0.bias"][:] = 99  # fresh copies: the model is not touched
    assert not np.any(model[0].bias.value == 99)


def test_minitorchless_to_torch(torch: ModuleType) -> None:
    model = _model(np.random.default_rng(0))
    twin = _torch_twin(torch)
    state = {key: torch.from_numpy(value) for key, value in mtl.to_torch_state_dict(model).items()}
    twin.load_state_dict(state, strict=True)
    _same_outputs(model, twin, torch)


def test_torch_to_minitorchless(torch: ModuleType) -> None:
    torch.manual_seed(0)
    twin = _torch_twin(torch)
    model = _model(np.random.default_rng(1))
    mtl.from_torch_state_dict(model, twin.state_dict())  # tensors
    _same_outputs(model, twin, torch)

    other = _model(np.random.default_rng(2))
    arrays = {key: value.numpy() for key, value in twin.state_dict().items()}
    mtl.from_torch_state_dict(other, arrays)  # or arrays
    _same_outputs(other, twin, torch)


def test_a_file_in_torch_layout_loads_into_torch(torch: ModuleType, tmp_path: Path) -> None:
    import safetensors.torch

    model = _model(np.random.default_rng(0))
    mtl.save_weights(model, tmp_path / "for_torch.safetensors", layout="torch")
    twin = _torch_twin(torch)
    twin.load_state_dict(
        safetensors.torch.load_file(tmp_path / "for_torch.safetensors"), strict=True
    )
    _same_outputs(model, twin, torch)


def test_a_file_written_by_torch_loads_into_minitorchless(
    torch: ModuleType, tmp_path: Path
) -> None:
    import safetensors.torch

    torch.manual_seed(1)
    twin = _torch_twin(torch)
    safetensors.torch.save_file(twin.state_dict(), tmp_path / "from_torch.safetensors")
    model = _model(np.random.default_rng(0))
    with pytest.raises(mtl.SerializationError, match="layout"):
        mtl.load_weights(model, tmp_path / "from_torch.safetensors")
    mtl.load_weights(model, tmp_path / "from_torch.safetensors", layout="torch")
    _same_outputs(model, twin, torch)


def test_float32_models_take_float64_tensors(torch: ModuleType) -> None:
    twin = _torch_twin(torch)
    model = _model(np.random.default_rng(0)).to(np.float32)
    mtl.from_torch_state_dict(model, twin.state_dict())
    assert model.dtype == np.float32
    np.testing.assert_allclose(model[0].weight.value, twin[0].weight.detach().numpy().T, rtol=1e-6)


def test_containers_keep_their_child_names(torch: ModuleType) -> None:
    nn = torch.nn
    rng = np.random.default_rng(0)
    model = mtl.Sequential(
        mtl.Dense(4, 6, rng=rng),
        mtl.Residual(mtl.Sequential(mtl.Dense(6, 6, bias=True, rng=rng), mtl.Tanh())),
        mtl.Parallel(mtl.Dense(6, 2, rng=rng), mtl.Dense(6, 3, rng=rng)),
    )

    class Residual(nn.Module):  # type: ignore[misc]
        def __init__(self, block: Any) -> None:
            super().__init__()
            self.block = block

        def forward(self, x: Any) -> Any:
            return x + self.block(x)

    class Parallel(nn.Module):  # type: ignore[misc]
        def __init__(self, *branches: Any) -> None:
            super().__init__()
            for index, branch in enumerate(branches):
                self.add_module(str(index), branch)

        def forward(self, x: Any) -> Any:
            return torch.cat([branch(x) for branch in self.children()], dim=-1)

    twin = nn.Sequential(
        nn.Linear(4, 6, bias=False),
        Residual(nn.Sequential(nn.Linear(6, 6), nn.Tanh())),
        Parallel(nn.Linear(6, 2, bias=False), nn.Linear(6, 3, bias=False)),
    )
    state = mtl.to_torch_state_dict(model)
    assert sorted(state) == sorted(twin.state_dict())
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    inputs = rng.standard_normal((5, 4))
    with torch.no_grad():
        expected = twin(torch.from_numpy(inputs)).numpy()
    np.testing.assert_allclose(model(inputs), expected, rtol=1e-12)


def test_a_layer_used_twice_appears_under_both_names(torch: ModuleType) -> None:
    dense = mtl.Dense(3, 3, rng=np.random.default_rng(0))
    model = mtl.Sequential(dense, mtl.Tanh(), dense)
    linear = torch.nn.Linear(3, 3, bias=False)
    twin = torch.nn.Sequential(linear, torch.nn.Tanh(), linear)
    state = mtl.to_torch_state_dict(model)
    assert sorted(state) == sorted(twin.state_dict()) == ["0.weight", "2.weight"]
    mtl.from_torch_state_dict(model, twin.state_dict())
    np.testing.assert_array_equal(dense.weight.value, linear.weight.detach().numpy().T)


def test_bad_state_dicts_are_refused_and_change_nothing() -> None:
    model = _model(np.random.default_rng(0))
    before = model.state_dict()
    good = mtl.to_torch_state_dict(model)

    with pytest.raises(mtl.KeyMismatchError) as keys:
        mtl.from_torch_state_dict(model, {**good, "99.weight": np.zeros(2)})
    assert keys.value.unexpected == ["99.weight"]
    assert isinstance(keys.value, mtl.StateDictError)

    not_transposed = {**good, "2.weight": good["2.weight"].T}
    with pytest.raises(mtl.ShapeMismatchError) as shapes:
        mtl.from_torch_state_dict(model, not_transposed)
    assert (shapes.value.key, shapes.value.expected, shapes.value.received) == (
        "2.weight",
        (7, 8),
        (8, 7),
    )

    with pytest.raises(mtl.StateDictError, match="numeric"):
        mtl.from_torch_state_dict(model, {**good, "0.bias": np.array(["a"] * 8)})
    with pytest.raises(TypeError, match="mapping"):
        mtl.from_torch_state_dict(model, list(good.items()))  # type: ignore[arg-type]
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_bfloat16_tensors_are_refused_clearly(torch: ModuleType) -> None:
    model = mtl.Dense(2, 2)
    with pytest.raises(mtl.StateDictError, match=r"tensor\.double\(\)"):
        mtl.from_torch_state_dict(model, {"weight": torch.zeros(2, 2, dtype=torch.bfloat16)})


def test_interop_never_imports_torch() -> None:
    code = (
        "import sys, numpy as np, minitorchless as mtl\n"
        "model = mtl.Sequential(mtl.Dense(3, 2, bias=True), mtl.Tanh())\n"
        "mtl.from_torch_state_dict(model, mtl.to_torch_state_dict(model))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_trained_model_runs_identically_everywhere(torch: ModuleType, tmp_path: Path) -> None:
    """The issue's promise, end to end: after load, in PyTorch and in onnxruntime."""
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 5))
    labels = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
    model = mtl.Sequential(*_model(rng)[:-1])  # logits: cross-entropy fuses the softmax in
    mtl.fit(
        model,
        X,
        labels,
        loss=mtl.CrossEntropyLoss(),
        epochs=30,
        batch_size=32,
        optimizer=mtl.Adam(model.parameters(), lr=1e-2),
        verbose=0,
        rng=rng,
    )
    model.eval()
    expected = model(X)

    mtl.save(model, tmp_path / "trained.safetensors")
    np.testing.assert_array_equal(mtl.load(tmp_path / "trained.safetensors")(X), expected)

    twin = _torch_twin(torch)[:-1]
    state = mtl.to_torch_state_dict(model)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    twin.eval()
    with torch.no_grad():
        np.testing.assert_allclose(
            twin(torch.from_numpy(X)).numpy(), expected, rtol=1e-12, atol=1e-14
        )

    mtl.export_onnx(model, tmp_path / "trained.onnx", X[:1])
    session = ort.InferenceSession(
        str(tmp_path / "trained.onnx"), providers=["CPUExecutionProvider"]
    )
    (outputs,) = session.run(None, {"input": X})
    np.testing.assert_allclose(outputs, expected, rtol=1e-10, atol=1e-12)
