"""Saving and loading models: one ``.safetensors`` file per model, no pickle.

A model file holds every parameter as a named tensor and, in the safetensors
header's string-to-string metadata, the architecture as JSON::

    {"format": "minitorchless", "format_version": "1",
     "architecture": "{\\"layers\\": [...], \\"root\\": 3}", ...}

``load`` rebuilds the layers from that description through ``from_config`` and
then copies the tensors in. Nothing in a file is ever executed, evaluated or
imported: a layer type is a name looked up in a table of built-in and registered
classes, and any file that does not match what ``save`` writes is refused with
a :class:`~minitorchless.errors.SerializationError` subclass.

Loading is bounded: every file is refused or loaded with work and memory
linear in its size, within the limits of :mod:`.limits`, and weights holding
NaN or infinity are refused unless ``allow_nonfinite=True``.

The package is split up: :mod:`._files` reads the safetensors container (and
:mod:`._sniff` says what a foreign file looks like), :mod:`._atomic` writes
files, :mod:`._json` parses bounded JSON, :mod:`._architecture` encodes layer
graphs (and :mod:`._rebuild` checks at save time that they can be rebuilt),
:mod:`._decode` rebuilds them, and this module puts them together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np
import safetensors.numpy

from minitorchless._version import __version__
from minitorchless.errors import (
    CorruptFileError,
    NotAModelFileError,
    SerializationError,
    UnsupportedFormatVersionError,
)
from minitorchless.interop.torch import torch_key_map
from minitorchless.layers.base import Layer
from minitorchless.serialization import limits
from minitorchless.serialization._architecture import (
    encode_architecture,
    register_layer,
    registered_layers,
)
from minitorchless.serialization._atomic import PathLike, write_atomic
from minitorchless.serialization._decode import decode_architecture
from minitorchless.serialization._files import SafetensorsFile
from minitorchless.state_dict import KeyMap, Target, assign_arrays, preview

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "limits",
    "load",
    "load_weights",
    "register_layer",
    "registered_layers",
    "save",
    "save_weights",
]

FORMAT_NAME = "minitorchless"
"""The ``format`` entry of the metadata of every file minitorchless writes."""

FORMAT_VERSION = 1
"""The file layout version written by this release; ``load`` reads exactly this one."""

Layout = Literal["minitorchless", "torch"]
_LAYOUTS = ("minitorchless", "torch")


def save(model: Layer, path: PathLike) -> None:
    """Write ``model`` (architecture and weights) to one ``.safetensors`` file.

    The file is written to a temporary file next to ``path`` and renamed over
    it, so a crash or an exception mid-save leaves any previous file intact.

    Args:
        model: Any layer or container; its layers must be built in or have a
            JSON-ready ``get_config()`` (see :func:`register_layer`).
        path: Where to write, conventionally ending in ``.safetensors``.

    Saving over a file keeps its mode (a private ``0600`` file stays private)
    and, where the process may set them, its owner and group.

    Raises:
        TypeError: A layer's ``get_config()`` holds a value that JSON cannot
            store or cannot rebuild the layer (the message names the layer and
            the missing argument), or ``model`` is not a Layer.
        ValueError: A layer class shares its name with another known layer.
        FileNotFoundError: The directory of ``path`` does not exist.
    """
    _check_model("save", model)
    metadata = _metadata(architecture=encode_architecture(model))
    write_atomic(path, _serialize(_own_layout(model), metadata))


def save_weights(model: Layer, path: PathLike, *, layout: Layout = "minitorchless") -> None:
    """Write only the parameters of ``model`` to a ``.safetensors`` file.

    Args:
        model: The layer or container whose parameters are written.
        path: Where to write (atomically, as :func:`save` does).
        layout: ``"minitorchless"`` writes the model's own names and shapes;
            ``"torch"`` writes the equivalent PyTorch state dict (``Dense``
            weights transposed to ``nn.Linear``'s ``(out, in)``), which
            ``safetensors.torch.load_file`` and ``load_state_dict`` read directly.
    """
    _check_model("save_weights", model)
    _check_layout("save_weights", layout)
    key_map = _own_layout(model) if layout == "minitorchless" else _torch_layout(model)
    write_atomic(path, _serialize(key_map, _metadata(layout=layout)))


def load(
    path: PathLike,
    custom_layers: Mapping[str, type[Layer]] | Iterable[type[Layer]] | None = None,
    *,
    allow_nonfinite: bool = False,
) -> Layer:
    """Rebuild the model saved by :func:`save` at ``path``, weights and all.

    Built-in layers and containers need no code of yours. Your own layer classes
    are found by the name they were saved under, either because they are
    registered with :func:`register_layer` or because you pass them here.

    Any file, however hostile, is loaded or refused with work and memory linear
    in its size: the header is checked within :mod:`.limits` before the
    architecture is read, the layers are rebuilt before the tensor data is read,
    and only the bytes the header declares are read.

    Args:
        path: The file written by :func:`save`.
        custom_layers: Layer classes to resolve names with, before the registry
            and the built-ins: a ``{name: class}`` mapping, or classes, each known
            by its ``__name__``.
        allow_nonfinite: Accept weights holding NaN or infinity (refused by default).

    Returns:
        The rebuilt model, each layer in the training mode it was saved in.

    Raises:
        OSError: The file cannot be opened (``FileNotFoundError`` and friends).
        NotARegularFileError: The path is a directory, a FIFO, a device...
        NotAModelFileError: The file is of another format, or a safetensors file
            of another tool (a ``CorruptFileError``).
        TruncatedFileError: The file ends early.
        FileLimitError: The file is over a limit of :mod:`.limits`.
        CorruptFileError: The header, metadata or architecture is malformed, or
            the file holds weights only.
        UnsupportedFormatVersionError: The file's format version is not this
            release's.
        UnknownLayerError: A layer type is neither built in nor registered.
        KeyMismatchError: Tensors are missing from the file, or extra.
        ShapeMismatchError: A tensor's shape differs from its parameter's.
        NonFiniteTensorError: A tensor holds NaN or infinity.
    """
    source = str(path)
    resolver = _resolver(custom_layers)
    with SafetensorsFile(path) as file:
        metadata = file.header.metadata
        _check_format(metadata, source, file.header.tensors)
        if "architecture" not in metadata:
            raise CorruptFileError(
                f"{source}: the file holds weights only (saved by save_weights); build the "
                f"model in code and call load_weights(model, {source!r})"
            )
        # the layers first, within what the header declares: no data is read for a
        # file whose architecture is refused
        stored = file.header.values
        model = decode_architecture(metadata["architecture"], source, resolver, stored)
        arrays = file.tensors()
    assign_arrays(
        _own_layout(model), arrays, source, exact_dtype=True, allow_nonfinite=allow_nonfinite
    )
    return model


def load_weights(
    model: Layer,
    path: PathLike,
    *,
    layout: Layout | None = None,
    allow_nonfinite: bool = False,
) -> None:
    """Copy the parameters stored at ``path`` into ``model``, in place.

    Every check runs before anything is written, so a bad file leaves the model
    untouched. Tensors are cast to the model's dtype; a value the cast would
    change beyond rounding (a finite float64 beyond float32's range) is refused.

    Args:
        model: The model to fill; its parameter names must match the file's.
        path: A file from :func:`save_weights` or :func:`save`, or any
            safetensors file of numeric tensors, e.g. one written by PyTorch.
        layout: How the file lays out the weights, ``"minitorchless"`` or
            ``"torch"``. Files written by minitorchless record it; a file
            written by another tool must say, since a square ``Dense`` weight
            looks the same either way.
        allow_nonfinite: Accept weights holding NaN or infinity (refused by default).

    Raises:
        SerializationError: ``layout`` is missing for a foreign file, or differs
            from the one the file records; and every error :func:`load` raises
            about the file itself, and ``UnsafeCastError``.
    """
    _check_model("load_weights", model)
    if layout is not None:
        _check_layout("load_weights", layout)
    source = str(path)
    with SafetensorsFile(path) as file:
        torch_layout = _file_layout(file.header.metadata, source, layout)
        arrays = file.tensors()
    key_map = _torch_layout(model) if torch_layout else _own_layout(model)
    assign_arrays(key_map, arrays, source, allow_nonfinite=allow_nonfinite)


def _file_layout(metadata: Mapping[str, str], source: str, layout: Layout | None) -> bool:
    """Whether the file holds the torch layout: as it records, or as the caller says."""
    if metadata.get("format") == FORMAT_NAME:
        _check_format(metadata, source)
        recorded = metadata.get("layout", "minitorchless")
        if recorded not in _LAYOUTS:
            raise CorruptFileError(
                f"{source}: unknown weights layout {recorded[:40]!r} in metadata"
            )
        if layout is not None and layout != recorded:
            raise SerializationError(
                f"{source}: the file holds weights in the {recorded!r} layout, "
                f"but layout={layout!r} was requested"
            )
        return recorded == "torch"
    if layout is None:
        raise SerializationError(
            f"{source}: the file was not written by minitorchless, so its layout is "
            f"unknown; pass layout='torch' for a PyTorch state dict or "
            f"layout='minitorchless' for this library's own names and shapes"
        )
    return layout == "torch"


# ----------------------------------------------------------------- helpers
def _check_model(caller: str, model: object) -> None:
    if not isinstance(model, Layer):
        raise TypeError(f"{caller}: model must be a minitorchless Layer, received {model!r}")


def _check_layout(caller: str, layout: object) -> None:
    if layout not in _LAYOUTS:
        raise ValueError(f"{caller}: layout must be one of {_LAYOUTS}, received {layout!r}")


def _metadata(**entries: str) -> dict[str, str]:
    return {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "minitorchless_version": __version__,  # informative only: never checked
        **entries,
    }


def _check_format(
    metadata: Mapping[str, str], source: str, tensors: Mapping[str, object] | None = None
) -> None:
    if metadata.get("format") != FORMAT_NAME:
        held = (
            "" if tensors is None else f" holding {len(tensors)} tensor(s) {preview(list(tensors))}"
        )
        raise NotAModelFileError(
            f"{source}: not a minitorchless model file: a safetensors file{held} whose "
            f"metadata has no 'format': {FORMAT_NAME!r} entry (was it written by another "
            f"tool? load_weights(model, path, layout=...) reads plain weight files)"
        )
    version = metadata.get("format_version")
    if version != str(FORMAT_VERSION):
        version = version if version is None else version[:40]
        hint = ""
        if version is not None and version.isdigit() and int(version) > FORMAT_VERSION:
            hint = ": it was written by a newer minitorchless; upgrade to read it"
        raise UnsupportedFormatVersionError(
            f"{source}: unsupported format version {version!r}; this release reads "
            f"version {FORMAT_VERSION}{hint}"
        )


def _resolver(
    custom_layers: Mapping[str, type[Layer]] | Iterable[type[Layer]] | None,
) -> dict[str, type[Layer]]:
    """The name -> class table ``load`` resolves types with: custom first, then known."""
    custom: dict[str, type[Layer]] = {}
    if isinstance(custom_layers, Mapping):
        custom = dict(custom_layers)
    elif custom_layers is not None:
        custom = {getattr(cls, "__name__", repr(cls)): cls for cls in custom_layers}
    for name, cls in custom.items():
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise TypeError(
                f"load: custom_layers[{name!r}] must be a Layer subclass, received {cls!r}"
            )
    return {**registered_layers(), **custom}


def _own_layout(model: Layer) -> KeyMap:
    return {name: Target(name, tensor, False) for name, tensor in model.named_tensors()}


def _torch_layout(model: Layer) -> KeyMap:
    return torch_key_map(model)


def _serialize(key_map: KeyMap, metadata: dict[str, str]) -> bytes:
    tensors = {}
    for key, (_, tensor, transposed) in key_map.items():
        value = tensor.value.T if transposed else tensor.value
        # safetensors copies raw memory from the array's data pointer, so a
        # transposed or sliced view must be made contiguous or its bytes come out scrambled
        tensors[key] = np.require(value, requirements="C")  # 0-d stays 0-d
    return safetensors.numpy.save(tensors, metadata=metadata)
