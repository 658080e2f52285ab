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

__all__ = [
    "MAX_TORCH_KEYS",
    "TORCH_TRANSPOSED",
    "from_torch_state_dict",
    "to_torch_state_dict",
    "torch_key_map",
]

TORCH_TRANSPOSED: dict[type[Layer], frozenset[str]] = {Dense: frozenset({"weight"})}
"""Layer class -> names of its parameters that PyTorch stores transposed (subclasses included)."""


MAX_TORCH_KEYS = 10_000_000
"""The most keys ``torch_key_map`` builds: PyTorch lists a shared module under every path."""


def _key_counts(model: Layer) -> dict[int, int]:
    """Per distinct layer (by id), how many keys PyTorch's state dict gives its subtree.

    A shared layer counts once per path, as PyTorch lists it, but each distinct
    layer is finished once, after its children (an explicit stack, no
    recursion): counting costs one visit per layer, even when the count is
    exponential in the nesting.
    """
    counts: dict[int, int] = {}
    stack: list[tuple[Layer, bool]] = [(model, False)]
    while stack:
        layer, children_done = stack.pop()
        if children_done:
            own = len(layer.own_parameters()) + len(layer.own_buffers())
            counts[id(layer)] = own + sum(counts[id(child)] for _, child in layer.children())
        elif id(layer) not in counts:
            stack.append((layer, True))
            stack.extend((child, False) for _, child in layer.children() if id(child) not in counts)
    return counts


def _walk(
    layer: Layer, prefix: str, counts: dict[int, int]
) -> Iterator[tuple[str, Layer, str, Parameter | Buffer]]:
    """Every ``(key, owning layer, local name, tensor)``, shared ones under each path.

    PyTorch's ``state_dict()`` lists a shared module's tensors under every path
    that reaches it, so this walk does not remove repeats as ``named_tensors`` does.
    It does skip the layers without tensors below them: the walk is as long as
    the list of keys it returns, never as the (possibly exponential) list of
    paths through layers that hold nothing. Per layer, its parameters come
    first, then its buffers, as in PyTorch.
    """
    own: list[tuple[str, Parameter | Buffer]] = [*layer.own_parameters(), *layer.own_buffers()]
    for local, tensor in own:
        yield prefix + local, layer, local, tensor
    for child_name, child in layer.children():
        if counts[id(child)]:
            yield from _walk(child, f"{prefix}{child_name}.", counts)


def torch_key_map(model: Layer) -> KeyMap:
    """Map each key of the equivalent PyTorch state dict to its parameter.

    Returns:
        ``{torch_key: (minitorchless_name, parameter, transposed)}``, where
        ``transposed`` says that PyTorch's array is the transpose of ``parameter.value``.

    Raises:
        ValueError: The state dict would have more than ``MAX_TORCH_KEYS`` keys.
    """
    counts = _key_counts(model)
    if counts[id(model)] > MAX_TORCH_KEYS:
        raise ValueError(
            f"torch_key_map: the PyTorch state dict of this {type(model).__name__} would have "
            f"{counts[id(model)]:,} keys, more than MAX_TORCH_KEYS = {MAX_TORCH_KEYS:,}: PyTorch "
            f"lists a shared module's tensors under every path to it, and this model nests "
            f"shared containers; use the model's own layout (named_parameters) instead"
        )
    first_names = {id(tensor): name for name, tensor in model.named_tensors()}
    key_map: KeyMap = {}
    for key, layer, local, tensor in _walk(model, "", counts):
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


def from_torch_state_dict(
    model: Layer, state_dict: Mapping[str, Any], *, allow_nonfinite: bool = False
) -> None:
    """Copy a PyTorch state dict into ``model``, in place, undoing PyTorch's layouts.

    Args:
        model: The minitorchless model, built with the same architecture.
        state_dict: ``torch_module.state_dict()``, or any mapping of the same
            keys to tensors or arrays. Values are cast to the model's dtype.
        allow_nonfinite: Accept NaN and infinity, which are refused by default.

    Raises:
        KeyMismatchError: Keys are missing or unexpected (a ``StateDictError``).
        ShapeMismatchError: A tensor's shape differs from what the equivalent
            PyTorch module has (a ``StateDictError``).
        NonFiniteTensorError: A tensor holds NaN or infinity (a ``StateDictError``).
        UnsafeCastError: A value would overflow the model's dtype (a ``StateDictError``).
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
    assign_arrays(
        torch_key_map(model), arrays, "from_torch_state_dict", allow_nonfinite=allow_nonfinite
    )
