"""``to_torch`` and ``from_torch``: a whole model to a ``torch.nn.Module`` and back.

``mtl.to_torch(model)`` builds the PyTorch module that computes what
``model`` computes, layer for layer, and loads ``mtl.to_torch_state_dict(model)``
into it with ``strict=True``: its ``state_dict()`` is exactly that one, and it
is in the model's dtype and training mode. From there a model can train on with
PyTorch's tools, GPUs and ``DistributedDataParallel``, and come back with
``mtl.from_torch_state_dict`` (or ``mtl.from_torch``).

Each layer class has a converter, found by exact class. A layer of your own
gets a clear ``TypeError`` naming it, or, once registered, the module you say
stands for it::

    @mtl.register_torch_module(Scale)
    def _scale(layer, convert):
        return MyTorchScale(layer.scale.size)  # weights are loaded afterwards by name

``mtl.from_torch(module)`` goes the other way for modules built from the parts
it knows: ``nn.Sequential`` trees of ``Linear``, the activations, ``Dropout``,
``Flatten``, ``LayerNorm``, ``Embedding`` (and the layers other modules
register), plus the modules ``to_torch`` makes for containers.

Torch is imported only when a conversion runs: ``import minitorchless`` never
imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minitorchless.interop.torch import from_torch_state_dict, to_torch_state_dict
from minitorchless.interop.torch_registry import FROM_TORCH, TO_TORCH, ToTorch
from minitorchless.layers.base import Layer

__all__ = ["from_torch", "to_torch"]


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as err:
        raise ImportError(
            "to_torch and from_torch need PyTorch: pip install 'minitorchless[torch]' "
            "(or pip install torch)"
        ) from err
    import minitorchless.interop.torch_converters  # noqa: F401  (registers the built-ins)

    return torch


def _converter(layer: Layer, path: str) -> ToTorch:
    converter = TO_TORCH.get(type(layer))
    if converter is None:
        where = f" at {path!r}" if path else ""
        raise TypeError(
            f"to_torch: no PyTorch module for {type(layer).__name__}{where}; register one with "
            f"@mtl.register_torch_module({type(layer).__name__})"
        )
    return converter


def to_torch(model: Layer) -> Any:
    """The ``torch.nn.Module`` that computes what ``model`` computes, with its weights.

    The module has ``model``'s dtype (float64 stays float64: call ``.float()``
    on it for float32 training) and training mode; a layer used at several
    places is one module used at those places, as in ``model``. Its
    ``state_dict()`` is ``mtl.to_torch_state_dict(model)``.

    Raises:
        TypeError: a layer has no PyTorch module (the message names it and how
            to register one).
        ImportError: PyTorch is not installed.
    """
    torch = _import_torch()
    if not isinstance(model, Layer):
        raise TypeError(f"to_torch: expected a Layer, received {model!r}")
    made: dict[int, Any] = {}  # id(layer) -> its module: a shared layer stays shared
    paths: dict[int, str] = {}  # id(layer) -> where it sits first, for messages
    for prefix, layer in model._walk():
        paths.setdefault(id(layer), prefix.rstrip("."))

    def convert(layer: Layer) -> Any:
        if id(layer) not in made:
            made[id(layer)] = _converter(layer, paths.get(id(layer), ""))(layer, convert)
        return made[id(layer)]

    module = convert(model)
    dtype = model.dtype or np.dtype(np.float64)
    module = module.to(getattr(torch, np.dtype(dtype).name))
    state = {key: torch.from_numpy(value) for key, value in to_torch_state_dict(model).items()}
    module.load_state_dict(state, strict=True)
    module.train(model.training)
    return module


def _qualified(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def from_torch(module: Any) -> Layer:
    """The minitorchless model that computes what a torch ``module`` built from known parts does.

    The layers take the module's dtype (torch's float32 by default), its
    weights, buffers and training mode.

    Raises:
        TypeError: a module is of a kind minitorchless has no layer for; the
            message names it and where it sits.
        ImportError: PyTorch is not installed.
    """
    torch = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, received {module!r}")
    tensors = [*module.parameters(), *module.buffers()]
    floats = [t.dtype for t in tensors if t.is_floating_point()]
    dtype = np.dtype(str(floats[0]).removeprefix("torch.")) if floats else np.dtype(np.float32)

    def convert(child: Any, path: str = "") -> Layer:
        converter = FROM_TORCH.get(_qualified(child))
        if converter is None:
            where = f" at {path!r}" if path else ""
            raise TypeError(
                f"from_torch: no minitorchless layer for {type(child).__name__}{where}; "
                f"register one with @mtl.register_from_torch({_qualified(child)!r})"
            )
        return converter(child, lambda grandchild: convert(grandchild, path), dtype)

    model = convert(module)
    from_torch_state_dict(model, module.state_dict())
    model.train(module.training)
    return model
