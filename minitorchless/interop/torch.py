"""PyTorch state dicts: the same weights under PyTorch's names and layouts.

No torch import is needed: a state dict is a mapping from dotted names to
arrays. Names already agree, since ``named_parameters()`` follows PyTorch's
dotted scheme (``"0.weight"``, ``"2.bias"``). Layouts agree too, except where a
layer stores a parameter transposed: ``Dense`` keeps ``weight`` as
``(in_features, out_features)`` so that forward is ``inputs @ weight``, while
``torch.nn.Linear`` keeps ``(out_features, in_features)``. Those layers are
listed in :data:`TORCH_TRANSPOSED`; every other layer's parameters pass through
as they are, so a new layer needs an entry only if its layout differs.

The equivalent modules, layer by layer, are tabled in ``docs/saving.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless.errors import StateDictError
from minitorchless.layers.base import Layer
from minitorchless.layers.dense import Dense
from minitorchless.parameter import Buffer, Parameter
from minitorchless.state_dict import KeyMap, Target, assign_arrays

__all__ = ["TORCH_TRANSPOSED", "from_torch_state_dict", "to_torch_state_dict", "torch_key_map"]

TORCH_TRANSPOSED: dict[type[Layer], frozenset[str]] = {Dense: frozenset({"weight"})}
"""Layer class -> names of its parameters that PyTorch stores transposed (subclasses included)."""


def _walk(layer: Layer, prefix: str) -> Iterator[tuple[str, Layer, str, Parameter | Buffer]]:
    """Every ``(key, owning layer, local name, tensor)``, shared ones under each path.

    PyTorch's ``state_dict()`` lists a shared module's tensors under every path
    that reaches it, so this walk does not remove repeats as ``named_tensors`` does.
    Per layer, its parameters come first, then its buffers, as in PyTorch.
    """
    own: list[tuple[str, Parameter | Buffer]] = [*layer.own_parameters(), *layer.own_buffers()]
    for local, tensor in own:
        yield prefix + local, layer, local, tensor
    for child_name, child in layer.children():
        yield from _walk(child, f"{prefix}{child_name}.")


def torch_key_map(model: Layer) -> KeyMap:
    """Map each key of the equivalent PyTorch state dict to its parameter.

    Returns:
        ``{torch_key: (minitorchless_name, parameter, transposed)}``, where
        ``transposed`` says that PyTorch's array is the transpose of ``parameter.value``.
    """
    first_names = {id(tensor): name for name, tensor in model.named_tensors()}
    key_map: KeyMap = {}
    for key, layer, local, tensor in _walk(model, ""):
        transposed = any(
            isinstance(layer, cls) and local in names for cls, names in TORCH_TRANSPOSED.items()
        )
        key_map[key] = Target(first_names.get(id(tensor), key), tensor, transposed)
    return key_map


def to_torch_state_dict(model: Layer) -> dict[str, NDArray[Any]]:
    """Return ``model``'s parameters and buffers as PyTorch's ``state_dict()`` of its twin.

    ``Dense`` weights come out as ``(out_features, in_features)``, as
    ``torch.nn.Linear`` wants them. The arrays are fresh C-contiguous copies, ready
    for ``torch.from_numpy`` or ``safetensors.numpy.save_file``.

    Example::

        state = {key: torch.from_numpy(value) for key, value in
                 mtl.to_torch_state_dict(model).items()}
        torch_model.load_state_dict(state, strict=True)
    """
    if not isinstance(model, Layer):
        raise TypeError(f"to_torch_state_dict: expected a Layer, received {model!r}")
    return {
        key: np.array(tensor.value.T if transposed else tensor.value, order="C", copy=True)
        for key, (_, tensor, transposed) in torch_key_map(model).items()
    }


def _untensor(key: str, value: Any) -> Any:
    """A torch tensor as a NumPy array (torch is not imported); anything else as it is."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        try:
            return value.detach().cpu().numpy()
        except (TypeError, RuntimeError) as err:  # e.g. bfloat16, which NumPy lacks
            raise StateDictError(
                f"from_torch_state_dict: key {key!r}: cannot convert the tensor to NumPy "
                f"({err}); convert it first, e.g. tensor.double()"
            ) from err
    return value


def from_torch_state_dict(model: Layer, state_dict: Mapping[str, Any]) -> None:
    """Copy a PyTorch state dict into ``model``, in place, undoing PyTorch's layouts.

    Args:
        model: The minitorchless model, built with the same architecture.
        state_dict: ``torch_module.state_dict()``, or any mapping of the same
            keys to tensors or arrays. Values are cast to the model's dtype.

    Raises:
        KeyMismatchError: Keys are missing or unexpected (a ``StateDictError``).
        ShapeMismatchError: A tensor's shape differs from what the equivalent
            PyTorch module has (a ``StateDictError``).
        StateDictError: A value is not numeric.
    """
    if not isinstance(model, Layer):
        raise TypeError(f"from_torch_state_dict: expected a Layer, received {model!r}")
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"from_torch_state_dict: state_dict must be a mapping of names to tensors or "
            f"arrays, received {type(state_dict).__name__}"
        )
    arrays = {key: _untensor(key, value) for key, value in state_dict.items()}
    assign_arrays(torch_key_map(model), arrays, "from_torch_state_dict")
