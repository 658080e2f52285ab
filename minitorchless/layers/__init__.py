"""Layers and containers."""

from minitorchless.layers.activations import (
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)

# sequences: attention, positions, the transformer block
from minitorchless.layers.attention import MultiheadAttention
from minitorchless.layers.base import Layer
from minitorchless.layers.builder import GraphBuilder, Symbol
from minitorchless.layers.combinators import Parallel, Residual
from minitorchless.layers.dense import Dense
from minitorchless.layers.dropout import Dropout
from minitorchless.layers.embedding import Embedding
from minitorchless.layers.graph import Graph
from minitorchless.layers.layer_norm import LayerNorm
from minitorchless.layers.merge import Add, Concatenate, Merge
from minitorchless.layers.positional import PositionalEmbedding, transformer_block
from minitorchless.layers.reshape import Flatten, Reshape
from minitorchless.layers.sequential import Sequential
from minitorchless.layers.smooth_activations import ELU, GELU, SiLU, Softplus

__all__ = [
    "ELU",
    "GELU",
    "Activation",
    "Add",
    "Concatenate",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Graph",
    "GraphBuilder",
    "Identity",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "Merge",
    # sequences
    "MultiheadAttention",
    "Parallel",
    "PositionalEmbedding",
    "ReLU",
    "Reshape",
    "Residual",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Symbol",
    "Tanh",
    "transformer_block",
]
