"""Specimens of MultiheadAttention, PositionalEmbedding and transformer blocks built from parts."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

import minitorchless as mtl
from specimens.base import Specimen


def _attention(*args: Any, **kwargs: Any) -> Any:
    """An attention layer whose biases are not 0, so that a forgotten bias shows."""

    def build(rng: np.random.Generator, dt: Any) -> mtl.Layer:
        layer = mtl.MultiheadAttention(*args, rng=rng, dtype=dt, **kwargs)
        for name, parameter in layer.named_parameters():
            if name.endswith("bias"):
                parameter.value[...] = rng.uniform(-0.5, 0.5, parameter.shape).astype(dt)
        return layer

    return build


def _attention_twin(*args: Any, **kwargs: Any) -> Any:
    def build(torch: ModuleType) -> Any:
        from minitorchless.interop._torch_nn import SelfAttention

        return SelfAttention(*args, **kwargs)

    return build


def _positions(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    layer = mtl.PositionalEmbedding(7, 4, rng=rng, dtype=dt)
    layer.weight.value[...] = rng.standard_normal(layer.weight.shape).astype(dt)
    return layer


def _positions_twin(torch: ModuleType) -> Any:
    from minitorchless.interop._torch_nn import PositionalEmbedding

    return PositionalEmbedding(7, 4)


def _block(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    return mtl.Sequential(
        _positions(rng, dt), mtl.transformer_block(4, 2, hidden=6, rng=rng, dtype=dt)
    )


def _block_twin(torch: ModuleType) -> Any:
    from minitorchless.interop import _torch_nn as mnn

    nn = torch.nn
    attention = nn.Sequential(nn.LayerNorm(4), mnn.SelfAttention(4, 2, causal=True))
    mlp = nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 4))
    block = nn.Sequential(mnn.Residual(attention), mnn.Residual(mlp))
    return nn.Sequential(mnn.PositionalEmbedding(7, 4), block)


def _language_model(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    """Token ids to next-token logits: a one-block transformer language model."""
    return mtl.Sequential(
        mtl.Embedding(9, 4, rng=rng, dtype=dt),
        _positions(rng, dt),
        mtl.transformer_block(4, 1, hidden=8, rng=rng, dtype=dt),
        mtl.LayerNorm(4, dtype=dt),
        mtl.Dense(4, 9, bias=True, rng=rng, dtype=dt),
    )


def _cross_attention(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    """A decoder stream attending to an encoder stream: two inputs, in a Graph."""
    return mtl.Graph(
        inputs=["decoder", "encoder"],
        nodes=[
            ("memory", mtl.Sequential(mtl.Dense(3, 4, rng=rng, dtype=dt), mtl.Tanh()), "encoder"),
            ("attend", _attention(4, 2)(rng, dt), ["decoder", "memory"]),
        ],
        outputs="attend",
    )


_KEY_BIAS = ("in_proj_bias",)  # its key third has no effect on the softmax

ROWS: dict[str, Specimen] = {
    "MultiheadAttention": Specimen(
        _attention(8, 2), ((5, 8),), torch=_attention_twin(8, 2), zero_gradients=_KEY_BIAS
    ),
    "MultiheadAttention(causal)": Specimen(
        _attention(6, 3, causal=True),
        ((4, 6),),
        torch=_attention_twin(6, 3, causal=True),
        zero_gradients=_KEY_BIAS,
    ),
    "MultiheadAttention(no bias)": Specimen(
        _attention(4, 1, bias=False), ((3, 4),), torch=_attention_twin(4, 1, bias=False)
    ),
    "MultiheadAttention(cross)": Specimen(
        _attention(4, 2), ((5, 4), (3, 4)), torch=_attention_twin(4, 2), zero_gradients=_KEY_BIAS
    ),
    "Graph(cross-attention)": Specimen(
        _cross_attention, ((5, 4), (2, 3)), zero_gradients=_KEY_BIAS
    ),
    "PositionalEmbedding": Specimen(_positions, ((5, 4),), torch=_positions_twin),
    "Sequential(transformer block)": Specimen(
        _block, ((5, 4),), torch=_block_twin, zero_gradients=_KEY_BIAS
    ),
    "Sequential(language model)": Specimen(
        _language_model, ((6,),), integers=9, zero_gradients=_KEY_BIAS
    ),
}
