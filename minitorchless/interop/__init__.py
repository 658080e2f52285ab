"""Moving models to and from other frameworks.

:mod:`minitorchless.interop.torch` converts parameters to and from PyTorch's
state-dict names and layouts; it needs nothing from torch itself.
"""

from minitorchless.interop.torch import from_torch_state_dict, to_torch_state_dict

__all__ = ["from_torch_state_dict", "to_torch_state_dict"]
