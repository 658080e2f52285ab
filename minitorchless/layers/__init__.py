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
from minitorchless.layers.base import Layer
from minitorchless.layers.builder import GraphBuilder, Symbol
from minitorchless.layers.combinators import Parallel, Residual
from minitorchless.layers.dense import Dense
from minitorchless.layers.dropout import Dropout
from minitorchless.layers.graph import Graph
from minitorchless.layers.merge import Add, Concatenate, Merge
from minitorchless.layers.sequential import Sequential

__all__ = [
    "Activation",
    "Add",
    "Concatenate",
    "Dense",
    "Dropout",
    "Graph",
    "GraphBuilder",
    "Identity",
    "Layer",
    "LeakyReLU",
    "Merge",
    "Parallel",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Symbol",
    "Tanh",
]
