"""Moving models to and from other frameworks.

:mod:`minitorchless.interop.torch` converts parameters to and from PyTorch's
state-dict names and layouts, and :mod:`~minitorchless.interop.torch_modules`
whole models to and from ``torch.nn`` modules; neither imports torch until a
conversion runs.
"""

from minitorchless.interop.torch import from_torch_state_dict, to_torch_state_dict
from minitorchless.interop.torch_modules import from_torch, to_torch
from minitorchless.interop.torch_registry import register_from_torch, register_torch_module

__all__ = [
    "from_torch",
    "from_torch_state_dict",
    "register_from_torch",
    "register_torch_module",
    "to_torch",
    "to_torch_state_dict",
]
