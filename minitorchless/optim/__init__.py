"""Optimizers and learning-rate schedules."""

from minitorchless.optim.adam import Adam, AdamW
from minitorchless.optim.base import Optimizer
from minitorchless.optim.rmsprop import RMSprop
from minitorchless.optim.schedules import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR
from minitorchless.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "Optimizer",
    "RMSprop",
    "StepLR",
]
