"""minitorchless: a small, readable and fast neural-network framework on NumPy."""

from minitorchless import init, testing
from minitorchless.errors import ShapeError, StateDictError
from minitorchless.layers import Activation, Dense, Layer, ReLU, Sequential, Sigmoid, Tanh
from minitorchless.losses import Loss, MSELoss
from minitorchless.optim import SGD, Optimizer
from minitorchless.parameter import Parameter

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Activation",
    "Dense",
    "Layer",
    "Loss",
    "MSELoss",
    "Optimizer",
    "Parameter",
    "ReLU",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "StateDictError",
    "Tanh",
    "__version__",
    "init",
    "testing",
]
