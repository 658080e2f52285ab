"""MultiheadAttention: PyTorch's oracle in float64, finite differences, masks and bad input."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.testing import compare_with_torch, gradcheck


@pytest.fixture(scope="module")
def torch() -> ModuleType:
    return pytest.importorskip("torch")


def _layer(embed_dim: int = 8, num_heads: int = 2, seed: int = 0, **kwargs: Any) -> Any:
    """An attention layer with biases that are not zero, so that a forgotten bias shows."""
    rng = np.random.default_rng(seed)
    layer = mtl.MultiheadAttention(embed_dim, num_heads, rng=rng, **kwargs)
    for name, parameter in layer.named_parameters():
        if name.endswith("bias"):
            parameter.value[...] = rng.uniform(-0.5, 0.5, parameter.shape)
    return layer


def _padding(batch: int = 3, keys: int = 6) -> np.ndarray:
    """Sample 0 unpadded, sample 1 with its last 2 keys padded, sample 2 with one inside."""
    mask = np.zeros((batch, keys), dtype=bool)
    mask[1, -2:] = True
    mask[2, 2] = True
    return mask


def _twin(torch: ModuleType, layer: Any) -> Any:
    """torch.nn.MultiheadAttention(batch_first=True), called with the layer's masks."""
    from minitorchless.interop._torch_nn import SelfAttention

    twin = SelfAttention(
        layer.embed_dim, layer.num_heads, bias=layer.in_proj_bias is not None, causal=layer.causal
    )
    assert isinstance(twin, torch.nn.MultiheadAttention) and twin.batch_first
    if layer.key_padding_mask is not None:
        twin.key_padding_mask = torch.from_numpy(layer.key_padding_mask)
    return twin


CASES = {
    "plain": {},
    "causal": {"causal": True},
    "key padding": {"padding": True},
    "causal and key padding": {"causal": True, "padding": True},
    "no bias": {"bias": False},
    "one head": {"num_heads": 1},
    "four heads, causal": {"num_heads": 4, "causal": True},
}


@pytest.mark.parametrize("case", CASES)
def test_self_attention_matches_torch(case: str, torch: ModuleType) -> None:
    options = dict(CASES[case])
    padding = options.pop("padding", False)
    layer = _layer(**options)
    if padding:
        layer.key_padding_mask = _padding()
    x = np.random.default_rng(1).standard_normal((3, 6, 8))
    report = compare_with_torch(layer, _twin(torch, layer), x, rtol=1e-8, atol=1e-12)
    expected = {"outputs", "inputs", "in_proj_weight", "out_proj.weight"}
    if options.get("bias", True):
        expected |= {"in_proj_bias", "out_proj.bias"}
    assert set(report.max_abs_error) == expected


@pytest.mark.parametrize("causal", [False, True])
def test_cross_attention_matches_torch(causal: bool, torch: ModuleType) -> None:
    layer = _layer(causal=causal)
    layer.key_padding_mask = _padding(3, 4)
    rng = np.random.default_rng(2)
    query, key_value = rng.standard_normal((3, 5, 8)), rng.standard_normal((3, 4, 8))
    report = compare_with_torch(layer, _twin(torch, layer), (query, key_value), rtol=1e-8)
    assert {"inputs[0]", "inputs[1]", "in_proj_weight"} <= set(report.max_abs_error)


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_finite_differences(case: str) -> None:
    options = dict(CASES[case])
    padding = options.pop("padding", False)
    layer = _layer(**options)
    if padding:
        layer.key_padding_mask = _padding()
    report = gradcheck(layer, np.random.default_rng(3).standard_normal((3, 6, 8)), rtol=1e-6)
    assert report.checked["inputs"] > 0 and report.checked["in_proj_weight"] > 0


def test_cross_attention_gradients_match_finite_differences() -> None:
    layer = _layer(causal=True)
    rng = np.random.default_rng(4)
    inputs = (rng.standard_normal((2, 3, 8)), rng.standard_normal((2, 5, 8)))
    report = gradcheck(layer, inputs, rtol=1e-6)
    assert report.checked["inputs[0]"] > 0 and report.checked["inputs[1]"] > 0


def test_the_key_bias_gets_no_gradient() -> None:
    # adding q . b_k to every score of a row changes no softmax: d/db_k is 0 by the math
    layer = _layer()
    outputs = layer(np.random.default_rng(5).standard_normal((2, 4, 8)))
    layer.backward(np.random.default_rng(6).standard_normal(outputs.shape))
    grad = layer.in_proj_bias.grad
    assert np.abs(grad[8:16]).max() < 1e-12 < np.abs(grad[:8]).max()
    assert np.abs(grad[16:]).max() > 1e-3


def test_attention_weights_are_kept_and_masked_exactly() -> None:
    layer = _layer(causal=True)
    layer.key_padding_mask = _padding()
    layer(np.random.default_rng(7).standard_normal((3, 6, 8)))
    weights = layer.attention_weights
    assert weights is not None and weights.shape == (3, 2, 6, 6)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-14)
    future = np.triu(np.ones((6, 6), dtype=bool), k=1)
    assert (weights[:, :, future] == 0).all()  # exactly 0, not small
    assert (weights[1, :, :, -2:] == 0).all() and (weights[2, :, :, 2] == 0).all()
    assert (weights[0, :, ~future] > 0).all()


def test_a_causal_layer_does_not_look_ahead() -> None:
    layer = _layer(causal=True)
    x = np.random.default_rng(8).standard_normal((2, 6, 8))
    changed = x.copy()
    changed[:, 4:] += 10.0  # the future changes...
    before, after = layer(x), layer(changed)
    np.testing.assert_array_equal(before[:, :4], after[:, :4])  # ...the past does not see it
    assert not np.allclose(before[:, 4:], after[:, 4:])


def test_float32_in_float32_out() -> None:
    layer = mtl.MultiheadAttention(8, 2, causal=True, rng=np.random.default_rng(0), dtype="float32")
    outputs = layer(np.random.default_rng(1).standard_normal((2, 3, 8)))  # float64 data
    assert outputs.dtype == np.float32 and layer.attention_weights.dtype == np.float32  # type: ignore[union-attr]
    assert layer.backward(np.ones_like(outputs)).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_names_and_layouts_are_torchs() -> None:
    layer = mtl.MultiheadAttention(6, 3, rng=np.random.default_rng(0))
    shapes = {name: p.shape for name, p in layer.named_parameters()}
    assert shapes == {
        "in_proj_weight": (18, 6),
        "in_proj_bias": (18,),
        "out_proj.weight": (6, 6),
        "out_proj.bias": (6,),
    }
    assert layer.out_proj.weight is dict(layer.named_parameters())["out_proj.weight"]
    assert list(mtl.to_torch_state_dict(layer)) == list(shapes)


def test_from_torch_and_back(torch: ModuleType) -> None:
    torch.manual_seed(0)
    module = torch.nn.MultiheadAttention(8, 4, batch_first=True).double()
    layer = mtl.from_torch(module)
    assert isinstance(layer, mtl.MultiheadAttention) and layer.num_heads == 4
    x = np.random.default_rng(9).standard_normal((2, 5, 8))
    with torch.no_grad():
        expected, _ = module(*(torch.from_numpy(x),) * 3, need_weights=False)
    np.testing.assert_allclose(layer(x), expected.numpy(), rtol=1e-12, atol=1e-14)
    back = mtl.to_torch(layer)
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(x)).numpy(), layer(x), rtol=1e-12)


def test_save_and_load_keep_causal(tmp_path: Any) -> None:
    layer = _layer(causal=True)
    mtl.save(layer, tmp_path / "attention.safetensors")
    loaded = mtl.load(tmp_path / "attention.safetensors")
    x = np.random.default_rng(10).standard_normal((2, 4, 8))
    assert loaded.causal  # type: ignore[attr-defined]
    np.testing.assert_array_equal(loaded(x), layer(x))


# ---------------------------------------------------------------- bad input
def test_embed_dim_must_divide_into_heads() -> None:
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim must be divisible.*10.*4"):
        mtl.MultiheadAttention(10, 4)


@pytest.mark.parametrize(
    ("shape", "match"),
    [((4, 8), r"\(batch, time, 8\).*\(4, 8\)"), ((2, 3, 5), r"\(batch, time, 8\).*\(2, 3, 5\)")],
)
def test_sequences_of_the_wrong_shape(shape: tuple[int, ...], match: str) -> None:
    with pytest.raises(mtl.ShapeError, match=match):
        _layer()(np.zeros(shape))


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        (np.zeros((3, 5), dtype=bool), r"key_padding_mask.*\(3, 6\).*shape \(3, 5\)"),
        (np.zeros((3, 6)), r"key_padding_mask must be booleans.*float64"),
    ],
)
def test_mask_shapes_must_match(mask: np.ndarray, match: str) -> None:
    layer = _layer()
    layer.key_padding_mask = mask
    with pytest.raises(mtl.ShapeError, match=match):
        layer(np.zeros((3, 6, 8)))


def test_a_query_with_no_key_left_is_refused() -> None:
    layer = _layer(causal=True)
    layer.key_padding_mask = np.array([[False, False], [True, False]])
    with pytest.raises(ValueError, match="query 0 of sample 1 may attend to no key"):
        layer(np.zeros((2, 2, 8)))


def test_cross_attention_batches_must_agree() -> None:
    with pytest.raises(mtl.ShapeError, match="same size, received 2 and 3"):
        _layer()([np.zeros((2, 4, 8)), np.zeros((3, 4, 8))])
    with pytest.raises(ValueError, match="received 3"):
        _layer()([np.zeros((2, 4, 8))] * 3)


def test_shape_inference() -> None:
    layer = _layer()
    assert layer.output_shape((None, 5, 8)) == (None, 5, 8)
    assert layer.output_shape([(None, 5, 8), (None, 3, 8)]) == (None, 5, 8)
    with pytest.raises(mtl.ShapeError, match=r"\(batch, time, 8\)"):
        layer.output_shape((None, 5, 7))
