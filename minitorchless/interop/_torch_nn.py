"""PyTorch modules for the minitorchless containers and layers that ``torch.nn`` lacks.

``mtl.to_torch`` builds a model out of ``torch.nn`` modules wherever one
computes the same thing (``Linear``, ``Sequential``, ``LayerNorm``...), and out
of these where none does: skip connections, parallel branches, merges, a
reshape of the sample, and a whole ``Graph``. They are plain ``nn.Module``s,
defined at module level so that they pickle (``torch.multiprocessing`` and
``DistributedDataParallel`` need that), and their parameter names are the
ones ``mtl.to_torch_state_dict`` gives.

This module imports torch; ``minitorchless`` imports it only when asked to
convert a model.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = [
    "Add",
    "Concatenate",
    "GlobalAvgPool2d",
    "GraphModule",
    "LastStep",
    "Parallel",
    "PositionalEmbedding",
    "Reshape",
    "Residual",
    "SelfAttention",
    "SequenceGRU",
    "SequenceLSTM",
    "SequenceRNN",
]


class Residual(nn.Module):
    """``x + block(x)``, as ``mtl.Residual``."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class Parallel(nn.Module):
    """The branches on one input, concatenated on the last axis or summed, as ``mtl.Parallel``."""

    def __init__(self, *branches: nn.Module, merge: str = "concat") -> None:
        super().__init__()
        for index, branch in enumerate(branches):
            self.add_module(str(index), branch)
        self.merge = merge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [branch(x) for branch in self.children()]
        if len(outputs) == 1:
            return outputs[0]
        if self.merge == "sum":
            return torch.stack(outputs).sum(dim=0)
        return torch.cat(outputs, dim=-1)


class Add(nn.Module):
    """The sum of its inputs, as ``mtl.Add``."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        total = inputs[0]
        for tensor in inputs[1:]:
            total = total + tensor
        return total


class Concatenate(nn.Module):
    """Its inputs joined on the last axis, as ``mtl.Concatenate``."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=-1)


class Reshape(nn.Module):
    """Each sample reshaped to ``shape`` (one ``-1`` allowed), batch kept, as ``mtl.Reshape``."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class GraphModule(nn.Module):
    """A ``mtl.Graph``: its nodes' modules under their node names, run in the graph's order.

    Args:
        input_names: The graph's inputs, in the order ``forward`` takes them.
        steps: ``(node name, module name, source names)`` per node, in
            topological order; a shared layer's module serves several nodes.
        output_names: The values returned (one tensor, or a tuple for several).
        modules: The modules by name (the node that holds each layer).
    """

    def __init__(
        self,
        input_names: list[str],
        steps: list[tuple[str, str, list[str]]],
        output_names: list[str],
        modules: dict[str, nn.Module],
    ) -> None:
        super().__init__()
        for name, module in modules.items():
            self.add_module(name, module)
        self.input_names = list(input_names)
        self.steps = [(node, holder, list(sources)) for node, holder, sources in steps]
        self.output_names = list(output_names)

    def forward(self, *inputs: torch.Tensor) -> Any:
        values = dict(zip(self.input_names, inputs, strict=True))
        for node, holder, sources in self.steps:
            values[node] = getattr(self, holder)(*(values[source] for source in sources))
        outputs = tuple(values[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs


# --- pooling and normalization ---
class GlobalAvgPool2d(nn.Module):
    """The mean of each channel over the image, ``(N, C, H, W) -> (N, C)``, as the mtl layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


# ---- recurrent layers
class _WholeSequence:
    """Mixin: return the output sequence only, as ``mtl.RNN``/``LSTM``/``GRU`` return it.

    ``torch.nn``'s recurrent modules return ``(outputs, final state)``, which a
    ``Sequential`` cannot pass on. Subclassing (rather than wrapping) keeps the
    parameter names (``weight_ih_l0``...) exactly PyTorch's.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = super().forward(x)  # type: ignore[misc]
        return outputs


class SequenceRNN(_WholeSequence, nn.RNN):
    """``torch.nn.RNN`` returning the output sequence only, as ``mtl.RNN``."""


class SequenceLSTM(_WholeSequence, nn.LSTM):
    """``torch.nn.LSTM`` returning the output sequence only, as ``mtl.LSTM``."""


class SequenceGRU(_WholeSequence, nn.GRU):
    """``torch.nn.GRU`` returning the output sequence only, as ``mtl.GRU``."""


class LastStep(nn.Module):
    """The last step of each ``(batch, time, features)`` sequence, as ``mtl.LastStep``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1]


# ---------------------------------------------------------------- attention
class SelfAttention(nn.MultiheadAttention):
    """``torch.nn.MultiheadAttention(batch_first=True)`` called as ``mtl.MultiheadAttention``.

    One tensor in (self-attention) or two, ``(query, key_value)``, for
    cross-attention; the output alone comes back, not the ``(output, weights)``
    pair. The causal mask is built here and the key-padding mask is read from
    the ``key_padding_mask`` attribute, as the minitorchless layer reads them.
    A subclass rather than a wrapper, so that the parameters keep PyTorch's
    names: ``in_proj_weight``, ``out_proj.weight``...
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, causal: bool = False):
        super().__init__(embed_dim, num_heads, bias=bias, batch_first=True)
        self.causal = causal
        self.key_padding_mask: torch.Tensor | None = None

    def forward(self, query: torch.Tensor, key_value: torch.Tensor | None = None) -> torch.Tensor:
        source = query if key_value is None else key_value
        mask = None
        if self.causal:  # True above the diagonal: the keys after each query are hidden
            ones = torch.ones(query.shape[1], source.shape[1], dtype=torch.bool)
            mask = torch.triu(ones, diagonal=1)
        outputs, _ = super().forward(
            query,
            source,
            source,
            key_padding_mask=self.key_padding_mask,
            attn_mask=mask,
            need_weights=False,
        )
        return outputs


class PositionalEmbedding(nn.Module):
    """A learned vector per position added to ``(N, T, E)``, as ``mtl.PositionalEmbedding``."""

    def __init__(self, max_len: int, embed_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(max_len, embed_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[: x.shape[1]]
