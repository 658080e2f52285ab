"""Optimizers, learning-rate schedules and gradient clipping."""

from minitorchless.optim.adagrad import Adagrad
from minitorchless.optim.adam import Adam, AdamW
from minitorchless.optim.base import Optimizer
from minitorchless.optim.clip import clip_grad_norm, clip_grad_value
from minitorchless.optim.one_cycle import OneCycleLR
from minitorchless.optim.plateau import ReduceLROnPlateau
from minitorchless.optim.rmsprop import RMSprop
from minitorchless.optim.schedules import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    StepLR,
)
from minitorchless.optim.sequential_lr import SequentialLR
from minitorchless.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "OneCycleLR",
    "Optimizer",
    "RMSprop",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
    "clip_grad_norm",
    "clip_grad_value",
]
