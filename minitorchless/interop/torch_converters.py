"""The built-in converters of ``to_torch`` and ``from_torch``: one pair per layer kind.

Imported by ``torch_modules`` only when a conversion runs; it imports torch.
Weights are never copied here: ``to_torch`` and ``from_torch`` load them by
name once the whole model is built, so a converter only builds the structure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from torch import nn

import minitorchless.interop._torch_nn as mnn
from minitorchless.interop.torch_registry import register_from_torch, register_torch_module
from minitorchless.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from minitorchless.layers.attention import MultiheadAttention
from minitorchless.layers.base import Layer
from minitorchless.layers.batch_norm import BatchNorm1d, BatchNorm2d
from minitorchless.layers.combinators import Parallel, Residual
from minitorchless.layers.conv import Conv1d, Conv2d
from minitorchless.layers.dense import Dense
from minitorchless.layers.dropout import Dropout, Dropout2d
from minitorchless.layers.embedding import Embedding
from minitorchless.layers.graph import Graph
from minitorchless.layers.last_step import LastStep
from minitorchless.layers.layer_norm import LayerNorm
from minitorchless.layers.merge import Add, Concatenate
from minitorchless.layers.pooling import AvgPool1d, AvgPool2d, GlobalAvgPool2d, MaxPool1d, MaxPool2d
from minitorchless.layers.positional import PositionalEmbedding
from minitorchless.layers.recurrent import GRU, LSTM, RNN, Recurrent
from minitorchless.layers.reshape import Flatten, Reshape
from minitorchless.layers.sequential import Sequential
from minitorchless.layers.smooth_activations import ELU, GELU, SiLU, Softplus

Convert = Callable[[Layer], Any]


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# ------------------------------------------------------------------ to torch
@register_torch_module(Dense)
def _linear(layer: Dense, convert: Convert) -> Any:
    return nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)


def _stateless(make: Callable[[Any], Any]) -> Callable[[Any, Convert], Any]:
    return lambda layer, convert: make(layer)


_STATELESS: list[tuple[type[Layer], Callable[[Any], Any]]] = [
    (Sigmoid, lambda layer: nn.Sigmoid()),
    (Tanh, lambda layer: nn.Tanh()),
    (ReLU, lambda layer: nn.ReLU()),
    (Identity, lambda layer: nn.Identity()),
    (LeakyReLU, lambda layer: nn.LeakyReLU(layer.negative_slope)),
    (Softmax, lambda layer: nn.Softmax(dim=layer.axis)),
    (Dropout, lambda layer: nn.Dropout(layer.p)),
    (GELU, lambda layer: nn.GELU(approximate=layer.approximate)),
    (SiLU, lambda layer: nn.SiLU()),
    (ELU, lambda layer: nn.ELU(layer.alpha)),
    (Softplus, lambda layer: nn.Softplus(layer.beta, layer.threshold)),
    (Flatten, lambda layer: nn.Flatten(start_dim=1)),
    (Reshape, lambda layer: mnn.Reshape(*layer.shape)),
    (Add, lambda layer: mnn.Add()),
    (Concatenate, lambda layer: mnn.Concatenate()),
]
for _cls, _make in _STATELESS:
    register_torch_module(_cls)(_stateless(_make))


@register_torch_module(LayerNorm)
def _layer_norm(layer: LayerNorm, convert: Convert) -> Any:
    return nn.LayerNorm(
        list(layer.normalized_shape),
        eps=layer.eps,
        elementwise_affine=layer.elementwise_affine,
        bias=layer.bias is not None or not layer.elementwise_affine,
    )


@register_torch_module(Embedding)
def _embedding(layer: Embedding, convert: Convert) -> Any:
    return nn.Embedding(layer.num_embeddings, layer.embedding_dim, padding_idx=layer.padding_idx)


@register_torch_module(Sequential)
def _sequential(layer: Sequential, convert: Convert) -> Any:
    return nn.Sequential(*(convert(child) for child in layer.layers))


@register_torch_module(Residual)
def _residual(layer: Residual, convert: Convert) -> Any:
    return mnn.Residual(convert(layer.block))


@register_torch_module(Parallel)
def _parallel(layer: Parallel, convert: Convert) -> Any:
    return mnn.Parallel(*(convert(branch) for branch in layer.branches), merge=layer.merge)


@register_torch_module(Graph)
def _graph(layer: Graph, convert: Convert) -> Any:
    modules = {name: convert(child) for name, child in layer.children()}
    steps = [(node.name, layer._holder[node.name], list(node.sources)) for node in layer._order]
    return mnn.GraphModule(list(layer.input_names), steps, list(layer.output_names), modules)


# ---------------------------------------------------------------- from torch
def _register_from(cls: type, build: Callable[[Any, Callable[[Any], Layer], Any], Layer]) -> None:
    register_from_torch(_qualified(cls))(build)


_register_from(
    nn.Linear,
    lambda m, convert, dtype: Dense(
        m.in_features, m.out_features, bias=m.bias is not None, dtype=dtype
    ),
)
_PLAIN: list[tuple[type, Callable[[Any, Any], Layer]]] = [
    (nn.Sigmoid, lambda m, dtype: Sigmoid()),
    (nn.Tanh, lambda m, dtype: Tanh()),
    (nn.ReLU, lambda m, dtype: ReLU()),
    (nn.Identity, lambda m, dtype: Identity()),
    (nn.LeakyReLU, lambda m, dtype: LeakyReLU(m.negative_slope)),
    (nn.Softmax, lambda m, dtype: Softmax(axis=-1 if m.dim is None else m.dim)),
    (nn.Dropout, lambda m, dtype: Dropout(m.p)),
    (nn.GELU, lambda m, dtype: GELU(approximate=m.approximate)),
    (nn.SiLU, lambda m, dtype: SiLU()),
    (nn.ELU, lambda m, dtype: ELU(m.alpha)),
    (nn.Softplus, lambda m, dtype: Softplus(m.beta, m.threshold)),
    (nn.Flatten, lambda m, dtype: Flatten()),
    (mnn.Reshape, lambda m, dtype: Reshape(*m.shape)),
    (mnn.Add, lambda m, dtype: Add()),
    (mnn.Concatenate, lambda m, dtype: Concatenate()),
]


def _ignoring_children(build: Callable[[Any, Any], Layer]) -> Any:
    return lambda module, convert, dtype: build(module, dtype)


for _torch_cls, _build in _PLAIN:
    _register_from(_torch_cls, _ignoring_children(_build))
_register_from(
    nn.LayerNorm,
    lambda m, convert, dtype: LayerNorm(
        tuple(m.normalized_shape),
        eps=m.eps,
        elementwise_affine=m.elementwise_affine,
        bias=m.bias is not None if m.elementwise_affine else True,
        dtype=dtype,
    ),
)
_register_from(
    nn.Embedding,
    lambda m, convert, dtype: Embedding(
        m.num_embeddings, m.embedding_dim, padding_idx=m.padding_idx, dtype=dtype
    ),
)
_register_from(
    nn.Sequential, lambda m, convert, dtype: Sequential(*(convert(child) for child in m))
)
_register_from(mnn.Residual, lambda m, convert, dtype: Residual(convert(m.block)))
_register_from(
    mnn.Parallel,
    lambda m, convert, dtype: Parallel(*(convert(child) for child in m.children()), merge=m.merge),
)


def _graph_from_torch(module: Any, convert: Callable[[Any], Layer], dtype: Any) -> Layer:
    layers = {name: convert(child) for name, child in module.named_children()}
    nodes = [
        (node, layers[holder], sources if len(sources) > 1 else sources[0])
        for node, holder, sources in module.steps
    ]
    return Graph(inputs=module.input_names, nodes=nodes, outputs=module.output_names)


_register_from(mnn.GraphModule, _graph_from_torch)


# ---------------------------------------------------------------- convolutions
def _torch_conv(layer: Conv1d | Conv2d, convert: Convert) -> Any:
    make = nn.Conv1d if isinstance(layer, Conv1d) else nn.Conv2d
    return make(
        layer.in_channels,
        layer.out_channels,
        layer.kernel_size,
        stride=layer.stride,
        padding=layer.padding,
        dilation=layer.dilation,
        groups=layer.groups,
        bias=layer.bias is not None,
    )


def _conv_from_torch(module: Any, convert: Callable[[Any], Layer], dtype: Any) -> Layer:
    if module.padding_mode != "zeros":
        raise TypeError(
            f"from_torch: {type(module).__name__} pads with zeros only in minitorchless: "
            f"expected padding_mode='zeros', received {module.padding_mode!r}"
        )
    make = Conv1d if isinstance(module, nn.Conv1d) else Conv2d
    return make(
        module.in_channels,
        module.out_channels,
        module.kernel_size,
        stride=module.stride,
        padding=module.padding,
        dilation=module.dilation,
        groups=module.groups,
        bias=module.bias is not None,
        dtype=dtype,
    )


for _conv_cls, _torch_conv_cls in ((Conv1d, nn.Conv1d), (Conv2d, nn.Conv2d)):
    register_torch_module(_conv_cls)(_torch_conv)
    _register_from(_torch_conv_cls, _conv_from_torch)
# ------------------------------------------------- pooling and normalization
_POOLS: list[tuple[type[Layer], Any]] = [
    (MaxPool1d, nn.MaxPool1d),
    (MaxPool2d, nn.MaxPool2d),
    (AvgPool1d, nn.AvgPool1d),
    (AvgPool2d, nn.AvgPool2d),
]


def _pool_to_torch(make: Any) -> Callable[[Any, Convert], Any]:
    # AvgPool's count_include_pad=True and MaxPool's -inf padding are torch's defaults
    return lambda layer, convert: make(layer.kernel_size, layer.stride, layer.padding)


def _batch_norm_to_torch(make: Any) -> Callable[[Any, Convert], Any]:
    return lambda layer, convert: make(
        layer.num_features, eps=layer.eps, momentum=layer.momentum, affine=layer.affine
    )


for _layer_cls, _module_cls in _POOLS:
    register_torch_module(_layer_cls)(_pool_to_torch(_module_cls))
register_torch_module(GlobalAvgPool2d)(_stateless(lambda layer: mnn.GlobalAvgPool2d()))
register_torch_module(Dropout2d)(_stateless(lambda layer: nn.Dropout2d(layer.p)))
register_torch_module(BatchNorm1d)(_batch_norm_to_torch(nn.BatchNorm1d))
register_torch_module(BatchNorm2d)(_batch_norm_to_torch(nn.BatchNorm2d))


def _only_defaults(module: Any, **defaults: Any) -> None:
    """Refuse a torch module whose options minitorchless does not have."""
    for name, expected in defaults.items():
        value = getattr(module, name, expected)  # an option the class lacks is its default
        if value != expected and not (isinstance(value, tuple) and set(value) == {expected}):
            raise ValueError(
                f"from_torch: {type(module).__name__} with {name}={value!r} has no minitorchless "
                f"equivalent; only {name}={expected!r} is supported"
            )


def _max_pool_from_torch(cls: type[Layer]) -> Any:
    def build(module: Any, convert: Any, dtype: Any) -> Layer:
        _only_defaults(module, dilation=1, ceil_mode=False, return_indices=False)
        return cls(module.kernel_size, module.stride, module.padding)  # type: ignore[call-arg]

    return build


def _avg_pool_from_torch(cls: type[Layer]) -> Any:
    def build(module: Any, convert: Any, dtype: Any) -> Layer:
        _only_defaults(module, ceil_mode=False, count_include_pad=True, divisor_override=None)
        return cls(module.kernel_size, module.stride, module.padding)  # type: ignore[call-arg]

    return build


def _batch_norm_from_torch(cls: type[Layer]) -> Any:
    def build(module: Any, convert: Any, dtype: Any) -> Layer:
        _only_defaults(module, track_running_stats=True)
        return cls(  # type: ignore[call-arg]
            module.num_features,
            eps=module.eps,
            momentum=module.momentum,
            affine=module.affine,
            dtype=dtype,
        )

    return build


_register_from(nn.MaxPool1d, _max_pool_from_torch(MaxPool1d))
_register_from(nn.MaxPool2d, _max_pool_from_torch(MaxPool2d))
_register_from(nn.AvgPool1d, _avg_pool_from_torch(AvgPool1d))
_register_from(nn.AvgPool2d, _avg_pool_from_torch(AvgPool2d))
_register_from(nn.BatchNorm1d, _batch_norm_from_torch(BatchNorm1d))
_register_from(nn.BatchNorm2d, _batch_norm_from_torch(BatchNorm2d))
_register_from(mnn.GlobalAvgPool2d, _ignoring_children(lambda m, dtype: GlobalAvgPool2d()))
_register_from(nn.Dropout2d, _ignoring_children(lambda m, dtype: Dropout2d(m.p)))


# ---- recurrent layers
def _to_recurrent(module_cls: type) -> Any:
    def build(layer: Recurrent, convert: Convert) -> Any:
        # the constructor arguments are PyTorch's, under PyTorch's names
        arguments = {key: value for key, value in layer.get_config().items() if key != "dtype"}
        return module_cls(**arguments)

    return build


def _from_recurrent(layer_cls: type[Recurrent]) -> Any:
    def build(module: Any, convert: Callable[[Any], Layer], dtype: Any) -> Layer:
        keys = ["input_size", "hidden_size", "num_layers", "bias", "batch_first"]
        if layer_cls is RNN:
            keys.append("nonlinearity")
        return layer_cls(**{key: getattr(module, key) for key in keys}, dtype=dtype)

    return build


_RECURRENT: list[tuple[type[Recurrent], type, type]] = [
    (RNN, mnn.SequenceRNN, nn.RNN),
    (LSTM, mnn.SequenceLSTM, nn.LSTM),
    (GRU, mnn.SequenceGRU, nn.GRU),
]
for _layer_cls, _module_cls, _torch_cls in _RECURRENT:
    register_torch_module(_layer_cls)(_to_recurrent(_module_cls))
    _register_from(_module_cls, _from_recurrent(_layer_cls))
    # torch's own module too, which returns (outputs, state): alone, not inside a Sequential
    _register_from(_torch_cls, _from_recurrent(_layer_cls))
register_torch_module(LastStep)(_stateless(lambda layer: mnn.LastStep()))
_register_from(mnn.LastStep, _ignoring_children(lambda m, dtype: LastStep()))


# ------------------------------------------------------------------ sequences
@register_torch_module(MultiheadAttention)
def _attention(layer: MultiheadAttention, convert: Convert) -> Any:
    module = mnn.SelfAttention(
        layer.embed_dim, layer.num_heads, bias=layer.in_proj_bias is not None, causal=layer.causal
    )
    if layer.key_padding_mask is not None:
        import torch

        module.key_padding_mask = torch.from_numpy(np.asarray(layer.key_padding_mask))
    return module


@register_torch_module(PositionalEmbedding)
def _positions(layer: PositionalEmbedding, convert: Convert) -> Any:
    return mnn.PositionalEmbedding(layer.max_len, layer.embed_dim)


def _attention_from_torch(module: Any, convert: Callable[[Any], Layer], dtype: Any) -> Layer:
    if module.in_proj_weight is None or module.bias_k is not None or not module.batch_first:
        raise TypeError(
            "from_torch: MultiheadAttention converts with batch_first=True, one embed_dim for "
            "query, key and value, and no add_bias_kv; received "
            f"batch_first={module.batch_first}, kdim={module.kdim}, vdim={module.vdim}, "
            f"add_bias_kv={module.bias_k is not None}"
        )
    layer = MultiheadAttention(
        module.embed_dim,
        module.num_heads,
        bias=module.in_proj_bias is not None,
        causal=bool(getattr(module, "causal", False)),
        dtype=dtype,
    )
    mask = getattr(module, "key_padding_mask", None)
    if mask is not None:
        layer.key_padding_mask = mask.detach().cpu().numpy()
    return layer


_register_from(mnn.SelfAttention, _attention_from_torch)
_register_from(nn.MultiheadAttention, _attention_from_torch)
_register_from(
    mnn.PositionalEmbedding,
    lambda m, convert, dtype: PositionalEmbedding(*m.weight.shape, dtype=dtype),
)
