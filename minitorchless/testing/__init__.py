"""The proof a layer gets: gradient checks, the conformance kit, and a PyTorch comparison.

``gradcheck`` compares the gradients a layer's ``backward`` computes with
central finite differences of its ``forward``, in float64. ``check_layer``
runs the whole layer contract and, when a rule breaks, names it and the
likely mistake. ``compare_with_torch`` checks a layer against a PyTorch
module with the same weights: outputs and every gradient.

All three accept a multi-input layer (a merge, a ``Graph`` with several
inputs): pass its inputs as a tuple of arrays. A tuple of ndarrays always
means several inputs; any other array-like is one input.
"""

from minitorchless.testing.gradcheck import GradcheckError, GradcheckReport, TensorCheck, gradcheck
from minitorchless.testing.kit import LayerCheckError, check_layer
from minitorchless.testing.torch_compare import TorchComparison, compare_with_torch

__all__ = [
    "GradcheckError",
    "GradcheckReport",
    "LayerCheckError",
    "TensorCheck",
    "TorchComparison",
    "check_layer",
    "compare_with_torch",
    "gradcheck",
]
