"""RNN, LSTM and GRU: PyTorch as the oracle, finite differences, states, truncated BPTT, errors."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.testing import gradcheck

KINDS = {"RNN": mtl.RNN, "LSTM": mtl.LSTM, "GRU": mtl.GRU}
CONFIGS = [
    (kind, layers, bias, batch_first)
    for kind in KINDS
    for layers in (1, 2)
    for bias in (True, False)
    for batch_first in (True, False)
]


def _pair(torch: ModuleType, kind: str, **options: Any) -> tuple[mtl.Layer, Any]:
    """Our layer and torch's, with our weights (random, also the biases) loaded into torch's."""
    layer = KINDS[kind](3, 4, rng=np.random.default_rng(0), **options)
    twin = getattr(torch.nn, kind)(3, 4, dtype=torch.float64, **options)
    state = mtl.to_torch_state_dict(layer)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    return layer, twin


def _close(ours: np.ndarray, theirs: Any, what: str) -> None:
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-8, atol=1e-12, err_msg=what)


@pytest.mark.parametrize(("kind", "num_layers", "bias", "batch_first"), CONFIGS)
def test_outputs_and_every_gradient_match_torch(
    torch: ModuleType, kind: str, num_layers: int, bias: bool, batch_first: bool
) -> None:
    layer, twin = _pair(torch, kind, num_layers=num_layers, bias=bias, batch_first=batch_first)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 6, 3))  # (N, T, F), or (T, N, F) when not batch_first
    grad_output = rng.standard_normal((5, 6, 4))
    outputs = layer(x)
    grad_input = layer.backward(grad_output)

    x_t = torch.from_numpy(x).requires_grad_()
    outputs_t, _ = twin(x_t)
    outputs_t.backward(torch.from_numpy(grad_output))
    _close(outputs, outputs_t, "outputs")
    _close(grad_input, x_t.grad, "dL/dx")
    torch_grads = dict(twin.named_parameters())
    names = [name for name, _ in layer.named_parameters()]
    assert names == list(torch_grads)
    for name, parameter in layer.named_parameters():
        _close(parameter.grad, torch_grads[name].grad, f"dL/d{name}")


def _torch_state(torch: ModuleType, state: Any) -> Any:
    if isinstance(state, tuple):
        return tuple(torch.from_numpy(part.copy()).requires_grad_() for part in state)
    return torch.from_numpy(state.copy()).requires_grad_()


def _as_tuple(state: Any) -> tuple[Any, ...]:
    return state if isinstance(state, tuple) else (state,)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("batch_first", [True, False])
def test_initial_and_final_states_and_their_gradients_match_torch(
    torch: ModuleType, kind: str, batch_first: bool
) -> None:
    layer, twin = _pair(torch, kind, num_layers=2, batch_first=batch_first)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 6, 3))
    batch = 5 if batch_first else 6
    parts = [rng.standard_normal((2, batch, 4)) for _ in range(2 if kind == "LSTM" else 1)]
    initial = tuple(parts) if kind == "LSTM" else parts[0]
    layer.initial_state = initial
    grad_output = rng.standard_normal((5, 6, 4))
    outputs = layer(x)
    layer.backward(grad_output)

    initial_t = _torch_state(torch, initial)
    outputs_t, final_t = twin(torch.from_numpy(x), initial_t)
    outputs_t.backward(torch.from_numpy(grad_output))
    _close(outputs, outputs_t, "outputs")
    for ours, theirs in zip(_as_tuple(layer.final_state), _as_tuple(final_t), strict=True):
        _close(ours, theirs, "final_state")
    for ours, theirs in zip(_as_tuple(layer.initial_state_grad), _as_tuple(initial_t), strict=True):
        _close(ours, theirs.grad, "initial_state_grad")


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("batch_first", [True, False])
def test_gradients_agree_with_finite_differences(kind: str, batch_first: bool) -> None:
    layer = KINDS[kind](3, 4, num_layers=2, batch_first=batch_first, rng=np.random.default_rng(3))
    x = np.random.default_rng(4).standard_normal((3, 5, 3))
    report = gradcheck(layer, x, max_elements=None)
    assert set(report.checked) >= {"inputs", "weight_hh_l1", "bias_ih_l0"}


def _loss_of_initial_state(layer: mtl.Layer, x: np.ndarray, r: np.ndarray, state: Any) -> float:
    layer.initial_state = state
    return float(np.sum(r * layer(x)))


@pytest.mark.parametrize("kind", list(KINDS))
def test_initial_state_gradient_agrees_with_finite_differences(kind: str) -> None:
    rng = np.random.default_rng(5)
    layer = KINDS[kind](2, 3, num_layers=2, rng=rng)
    x, r = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 3))
    parts = [rng.standard_normal((2, 2, 3)) for _ in range(2 if kind == "LSTM" else 1)]
    layer.initial_state = tuple(parts) if kind == "LSTM" else parts[0]
    layer(x)
    layer.backward(r)
    analytic = _as_tuple(layer.initial_state_grad)
    eps = 1e-6
    for which, part in enumerate(parts):
        numerical = np.zeros_like(part)
        for index in np.ndindex(part.shape):
            losses = []
            for step in (eps, -eps):
                moved = [p.copy() for p in parts]
                moved[which][index] += step
                state = tuple(moved) if kind == "LSTM" else moved[0]
                losses.append(_loss_of_initial_state(layer, x, r, state))
            numerical[index] = (losses[0] - losses[1]) / (2 * eps)
        np.testing.assert_allclose(analytic[which], numerical, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kind", list(KINDS))
def test_truncated_bptt_over_two_chunks_continues_the_sequence(kind: str) -> None:
    rng = np.random.default_rng(6)
    layer = KINDS[kind](3, 4, num_layers=2, rng=rng)
    x = rng.standard_normal((2, 8, 3))
    whole = layer(x)
    first = layer(x[:, :5])
    layer.initial_state = layer.final_state  # carry the state on, not its gradient
    second = layer(x[:, 5:])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)
    layer.backward(np.ones_like(second))  # the gradient stops at the chunk's start...
    assert all(np.any(part != 0) for part in _as_tuple(layer.initial_state_grad))
    layer.initial_state = None  # ...and zeros come back when the state is reset
    np.testing.assert_array_equal(layer(x), whole)


@pytest.mark.parametrize("kind", list(KINDS))
def test_float32_stays_float32_states_too(kind: str) -> None:
    layer = KINDS[kind](3, 4, rng=np.random.default_rng(7), dtype=np.float32)
    x = np.random.default_rng(8).standard_normal((2, 5, 3))  # float64 in
    layer(x)
    layer.initial_state = layer.final_state
    outputs = layer(x)
    assert outputs.dtype == np.float32
    assert layer.backward(np.ones_like(outputs)).dtype == np.float32
    for state in (layer.final_state, layer.initial_state, layer.initial_state_grad):
        assert all(part.dtype == np.float32 for part in _as_tuple(state))


def test_initialisation_follows_torch() -> None:
    layer = mtl.LSTM(5, 16, num_layers=2, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(16)
    for name, parameter in layer.named_parameters():
        assert parameter.shape[0] == 64, name
        assert np.all(np.abs(parameter.value) <= bound), name
        assert np.abs(parameter.value).max() > 0.9 * bound, name
    assert dict(layer.named_parameters())["weight_ih_l1"].shape == (64, 16)


def test_shapes_for_summary_and_a_last_step_model() -> None:
    rng = np.random.default_rng(10)
    model = mtl.Sequential(
        mtl.LSTM(3, 8, rng=rng), mtl.LastStep(), mtl.Dense(8, 2, bias=True, rng=rng)
    )
    assert model[0].output_shape((None, 7, 3)) == (None, 7, 8)
    assert model.output_shape((None, 7, 3)) == (None, 2)
    lines: list[str] = []
    model.summary((7, 3), print_fn=lines.append)
    assert any("(batch, 7, 8)" in line for line in lines)
    x = rng.standard_normal((4, 7, 3))
    assert model(x).shape == (4, 2)
    assert model.backward(np.ones((4, 2))).shape == x.shape


def test_last_step_sends_the_gradient_to_the_last_step_only() -> None:
    layer = mtl.LastStep()
    x = np.arange(24.0).reshape(2, 4, 3)
    np.testing.assert_array_equal(layer(x), x[:, -1])
    grad = layer.backward(np.ones((2, 3)))
    assert grad[:, -1].sum() == 6 and grad[:, :-1].sum() == 0


@pytest.mark.parametrize(
    ("make", "inputs", "message"),
    [
        (
            lambda: mtl.LSTM(3, 4),
            np.zeros((5, 3)),
            r"LSTM\(3, 4\) expects inputs of shape \(batch, time, 3\).*received shape \(5, 3\)",
        ),
        (
            lambda: mtl.GRU(3, 4),
            np.zeros((2, 5, 2)),
            r"\(batch, time, 3\).*received shape \(2, 5, 2\)",
        ),
        (lambda: mtl.RNN(3, 4, batch_first=False), np.zeros((2, 5, 2)), r"\(time, batch, 3\)"),
        (
            lambda: mtl.LastStep(),
            np.zeros((2, 5)),
            r"LastStep\(\) expects inputs of shape \(batch, time, features\)",
        ),
    ],
)
def test_wrong_inputs_are_refused_naming_the_layer(
    make: Any, inputs: np.ndarray, message: str
) -> None:
    with pytest.raises(mtl.ShapeError, match=message):
        make()(inputs)


def test_wrong_initial_states_are_refused_clearly() -> None:
    lstm = mtl.LSTM(3, 4, num_layers=2)
    with pytest.raises(
        TypeError, match=r"LSTM\(3, 4, num_layers=2\): initial_state must be a pair"
    ):
        lstm.initial_state = np.zeros((2, 1, 4))
    with pytest.raises(
        mtl.ShapeError, match=r"c0 must have shape .* = \(2, batch, 4\), received \(1, 3, 4\)"
    ):
        lstm.initial_state = (np.zeros((2, 3, 4)), np.zeros((1, 3, 4)))
    with pytest.raises(mtl.ShapeError, match=r"h0 and c0 must have the same shape"):
        lstm.initial_state = (np.zeros((2, 3, 4)), np.zeros((2, 2, 4)))
    gru = mtl.GRU(3, 4)
    gru.initial_state = np.zeros((1, 2, 4))
    with pytest.raises(
        mtl.ShapeError,
        match=r"initial_state has shape \(1, 2, 4\), but the inputs have a batch of 5: "
        r"expected \(1, 5, 4\)",
    ):
        gru(np.zeros((5, 6, 3)))
    with pytest.raises(
        ValueError, match=r"RNN: nonlinearity must be 'tanh' or 'relu', received 'sigmoid'"
    ):
        mtl.RNN(3, 4, nonlinearity="sigmoid")


def test_a_torch_model_with_recurrent_layers_comes_back(torch: ModuleType) -> None:
    model = mtl.Sequential(
        mtl.GRU(3, 5, num_layers=2, batch_first=False, rng=np.random.default_rng(11)),
        mtl.RNN(5, 2, bias=False, nonlinearity="relu", batch_first=False),
    )
    module = mtl.to_torch(model)
    x = np.random.default_rng(12).standard_normal((6, 2, 3))
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(x)).numpy(), model(x), rtol=1e-12)
    back = mtl.from_torch(module)
    assert repr(back) == repr(model)
    np.testing.assert_array_equal(back(x), model(x))


def test_onnx_time_major_and_a_set_initial_state(tmp_path: Any) -> None:
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    layer = mtl.LSTM(3, 4, num_layers=2, batch_first=False, rng=np.random.default_rng(13))
    x = np.random.default_rng(14).standard_normal((6, 2, 3))
    mtl.export_onnx(layer, tmp_path / "lstm.onnx", x)
    session = ort.InferenceSession(str(tmp_path / "lstm.onnx"), providers=["CPUExecutionProvider"])
    longer = np.random.default_rng(15).standard_normal((9, 2, 3))  # the time axis is free
    (outputs,) = session.run(None, {"input": longer})
    np.testing.assert_allclose(outputs, layer(longer), rtol=1e-10, atol=1e-12)
    layer.initial_state = layer.final_state
    with pytest.raises(
        TypeError, match=r"LSTM\(3, 4, num_layers=2, batch_first=False\) has an initial_state set"
    ):
        mtl.export_onnx(layer, tmp_path / "again.onnx", x)


@pytest.mark.parametrize("kind", list(KINDS))
def test_fit_trains_a_sequence_classifier(kind: str) -> None:
    # is the running sum of the sequence above zero at its end? The answer needs every step
    rng = np.random.default_rng(16)
    X = rng.standard_normal((256, 12, 1)).astype(np.float32)
    y = (X.sum(axis=(1, 2)) > 0).astype(np.int64)
    model = mtl.Sequential(
        KINDS[kind](1, 8, rng=rng, dtype=np.float32),
        mtl.LastStep(),
        mtl.Dense(8, 2, bias=True, rng=rng, dtype=np.float32),
    )
    loss = mtl.CrossEntropyLoss()
    before = loss(model(X), y)
    mtl.fit(
        model,
        X,
        y,
        loss=loss,
        optimizer=mtl.Adam(model.parameters(), lr=0.02),
        epochs=30,
        batch_size=32,
        rng=np.random.default_rng(17),
        verbose=0,
    )
    accuracy = np.mean(model(X).argmax(axis=1) == y)
    assert loss(model(X), y) < before / 2 and accuracy > 0.8, (before, accuracy)


@pytest.mark.parametrize("kind", list(KINDS))
def test_torchs_own_module_comes_over(torch: ModuleType, kind: str) -> None:
    module = getattr(torch.nn, kind)(3, 4, num_layers=2, dtype=torch.float64)  # time-major
    layer = mtl.from_torch(module)
    assert type(layer) is KINDS[kind] and not layer.batch_first and layer.num_layers == 2
    x = np.random.default_rng(18).standard_normal((5, 2, 3))
    with torch.no_grad():
        expected = module(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-15)
