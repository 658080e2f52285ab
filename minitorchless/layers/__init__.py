"""Layers and containers."""

from minitorchless.layers.activations import Activation, ReLU, Sigmoid, Tanh
from minitorchless.layers.base import Layer
from minitorchless.layers.dense import Dense
from minitorchless.layers.sequential import Sequential

__all__ = ["Activation", "Dense", "Layer", "ReLU", "Sequential", "Sigmoid", "Tanh"]
