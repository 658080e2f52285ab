"""Optimizers."""

from minitorchless.optim.base import Optimizer
from minitorchless.optim.sgd import SGD

__all__ = ["SGD", "Optimizer"]
