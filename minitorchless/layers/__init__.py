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
from minitorchless.layers.batch_norm import BatchNorm1d, BatchNorm2d
from minitorchless.layers.builder import GraphBuilder, Symbol
from minitorchless.layers.combinators import Parallel, Residual
from minitorchless.layers.conv import Conv1d, Conv2d
from minitorchless.layers.dense import Dense
from minitorchless.layers.dropout import Dropout, Dropout2d
from minitorchless.layers.embedding import Embedding
from minitorchless.layers.graph import Graph
from minitorchless.layers.last_step import LastStep
from minitorchless.layers.layer_norm import LayerNorm
from minitorchless.layers.merge import Add, Concatenate, Merge
from minitorchless.layers.modes import eval_mode
from minitorchless.layers.pooling import (
    AvgPool1d,
    AvgPool2d,
    GlobalAvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from minitorchless.layers.positional import PositionalEmbedding, transformer_block
from minitorchless.layers.recurrent import GRU, LSTM, RNN
from minitorchless.layers.reshape import Flatten, Reshape
from minitorchless.layers.sequential import Sequential
from minitorchless.layers.smooth_activations import ELU, GELU, SiLU, Softplus

__all__ = [
    "ELU",
    "GELU",
    "GRU",
    "LSTM",
    "RNN",
    "Activation",
    "Add",
    "AvgPool1d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Concatenate",
    "Conv1d",
    "Conv2d",
    "Dense",
    "Dropout",
    "Dropout2d",
    "Embedding",
    "Flatten",
    "GlobalAvgPool2d",
    "Graph",
    "GraphBuilder",
    "Identity",
    "LastStep",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "MaxPool1d",
    "MaxPool2d",
    "Merge",
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
    "eval_mode",
    "transformer_block",
]
