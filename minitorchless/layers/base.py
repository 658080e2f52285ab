"""The ``Layer`` base class: the contract every layer and container follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from typing_extensions import Self

from minitorchless._checks import float_dtype
from minitorchless._types import FloatArray
from minitorchless.parameter import Parameter
from minitorchless.state_dict import Target, assign_arrays

__all__ = ["Layer"]



class Layer(ABC):
    """Base class of every layer and container.

    A layer maps a batch of inputs to outputs in ``forward`` and maps the
    gradient of the loss with respect to its outputs back to the gradient with
    respect to its inputs in ``backward``, adding its parameters' gradients into
    their ``.grad`` on the way.

    Subclasses implement ``forward`` and ``backward``. Layers with parameters
    override ``own_parameters``; containers override ``children``. Everything
    else (``parameters``, ``named_parameters``, ``zero_grad``, ``train``,
    ``eval``, ``state_dict``, ``load_state_dict``, ``to``) is derived from those.

    What backward needs is kept in the single slot ``self._cache``, which each
    forward overwrites: memory stays flat however many batches are run.
    Forward stores a *new* object there rather than writing into the old one,
    so that ``cache_state`` can hold on to it by reference.

    Multi-input layers (``Add``, ``Concatenate``, a ``Graph`` with several
    inputs) take a list or tuple of arrays in ``forward`` and return a tuple of
    gradients from ``backward``, one per input, in the same order. Likewise a
    ``Graph`` with several outputs returns a tuple from ``forward`` and takes a
    tuple of gradients in ``backward``. One array in, one array out is the rule
    for every other layer.
    """

    def __init__(self) -> None:
        self.training: bool = True
        self._cache: Any = None

    # ------------------------------------------------------------------ compute
    @abstractmethod
    def forward(self, inputs: ArrayLike) -> FloatArray:
        """Compute the outputs for a batch and cache what ``backward`` needs."""

    @abstractmethod
    def backward(self, grad_output: FloatArray) -> FloatArray:
        """Return dL/d(inputs) given dL/d(outputs); add dL/d(parameters) into ``.grad``."""

    def backward_parameters(self, grad_output: FloatArray) -> None:
        """Add dL/d(parameters) into ``.grad`` given dL/d(outputs); skip dL/d(inputs).

        A training step needs the gradients of the parameters only. The
        gradient that the *first* layer of a model would return is the one
        for the data, which nobody reads; for a ``Dense`` it is a matrix
        product as large as the forward one. ``fit`` calls this method on the
        model; containers run ``backward`` through every layer but the first
        and this method on the first.

        The default calls ``backward`` and drops the result, so every layer
        supports it. Override it where the input gradient costs real work.
        """
        self.backward(grad_output)

    def __call__(self, inputs: ArrayLike) -> FloatArray:
        return self.forward(inputs)

    def _cached(self) -> Any:
        """Return the forward cache, or raise if ``backward`` comes before ``forward``."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() was called before forward(): "
                f"run a forward pass on {self!r} first"
            )
        return self._cache

    def cache_state(self) -> Any:
        """Return the forward caches of this layer and its children, for ``restore_cache``.

        A layer used at two places of a ``Graph`` has one ``_cache`` slot for
        both uses: the graph saves each use's state right after that use's
        forward and restores it right before that use's backward. The state
        holds references, not copies (forward never writes into an old cache).
        """
        children = self.children()
        if not children:
            return self._cache
        return (self._cache, [child.cache_state() for _, child in children])

    def restore_cache(self, state: Any) -> None:
        """Put back the caches saved by ``cache_state``, recursively."""
        children = self.children()
        if not children:
            self._cache = state
            return
        self._cache, child_states = state
        for (_, child), child_state in zip(children, child_states, strict=True):
            child.restore_cache(child_state)

    def clear_cache(self) -> None:
        """Drop the cached activations of this layer and its children (frees memory)."""
        self._cache = None
        for _, child in self.children():
            child.clear_cache()

    def output_features(self, in_features: int | None) -> int | None:
        """Infer the width of the output's last axis from the input's.

        Used to check, when a container is built, that layers can be chained,
        and to print ``summary()``. ``None`` means unknown. A layer that cannot
        accept ``in_features`` raises ``ShapeError``. The default knows nothing.
        """
        return None

    # --------------------------------------------------------------- parameters
    def own_parameters(self) -> list[tuple[str, Parameter]]:
        """The parameters this layer owns directly, by local name. Default: none."""
        return []

    def children(self) -> list[tuple[str, Layer]]:
        """The sub-layers of a container, by local name. Default: none."""
        return []

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` pairs, e.g. ``("0.weight", p)``.

        A parameter reachable twice (a shared layer) is yielded once, under the
        first name met.
        """
        seen: set[int] = set()
        for name, parameter in self._all_named_parameters():
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield name, parameter

    def _all_named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        yield from self.own_parameters()
        for child_name, child in self.children():
            for name, parameter in child._all_named_parameters():
                yield f"{child_name}.{name}", parameter

    def parameters(self) -> list[Parameter]:
        """Every trainable parameter of this layer and its children, each once."""
        return [parameter for _, parameter in self.named_parameters()]

    def num_parameters(self) -> int:
        """The total number of trainable scalars."""
        return sum(parameter.size for parameter in self.parameters())

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for parameter in self.parameters():
            parameter.zero_grad()

    @property
    def dtype(self) -> np.dtype[Any] | None:
        """The dtype of the parameters, or ``None`` for a layer without any."""
        for parameter in self.parameters():
            return parameter.dtype
        return None

    def to(self, dtype: DTypeLike) -> Self:
        """Cast every parameter (and gradient) to ``dtype``, in place; returns ``self``.

        Create optimizers after casting: their state refers to the old arrays.
        """
        target = float_dtype(type(self).__name__, dtype)
        for parameter in self.parameters():
            parameter.value = parameter.value.astype(target)
            parameter.grad = parameter.grad.astype(target)
        self.clear_cache()
        return self

    # -------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Self:
        """Switch this layer and its children to training mode (or out of it)."""
        self.training = mode
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Self:
        """Switch to evaluation mode: ``train(False)``."""
        return self.train(False)

    # -------------------------------------------------------------- state dicts
    def state_dict(self) -> dict[str, FloatArray]:
        """Return a copy of every parameter, by dotted name."""
        return {name: parameter.value.copy() for name, parameter in self.named_parameters()}

    def load_state_dict(self, state_dict: Mapping[str, ArrayLike]) -> None:
        """Copy arrays into the parameters of the same names, in place.

        Everything is checked before anything is written, so a bad state dict
        leaves the model untouched. Values are cast to each parameter's dtype.

        Raises:
            KeyMismatchError: keys are missing or unexpected (a ``StateDictError``).
            ShapeMismatchError: a shape differs (a ``StateDictError``).
            StateDictError: a value is not a numeric array.
        """
        key_map = {name: Target(name, p, False) for name, p in self.named_parameters()}
        assign_arrays(key_map, state_dict, f"{type(self).__name__}.load_state_dict")

    # ------------------------------------------------------------ architecture
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this layer (weights aside).

        Values are JSON-ready (numbers, strings, booleans, lists, dicts) or
        Layers, for containers; the serializer encodes nested layers itself.
        The default, ``{}``, fits layers whose constructor takes no arguments.
        """
        return {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """Build a layer from ``get_config()``'s output: ``cls(**config)`` by default."""
        return cls(**config)

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr``; override in subclasses."""
        return ""

    def __repr__(self) -> str:
        children = self.children()
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)

    def summary_rows(
        self, in_features: int | None
    ) -> tuple[list[tuple[str, str, int]], int | None]:
        """Rows of ``(name, output shape, parameter count)`` for ``summary()``.

        Returns the rows and the inferred output width. Containers override this
        to list their children.
        """
        out_features = self.output_features(in_features)
        shape = f"(batch, {out_features if out_features is not None else '?'})"
        return [(type(self).__name__, shape, self.num_parameters())], out_features

    def summary(
        self, in_features: int | None = None, *, print_fn: Callable[[str], None] = print
    ) -> None:
        """Print one line per layer with its output shape and parameter count, then totals.

        Args:
            in_features: The input width, if the first layer does not fix it.
            print_fn: Where the lines go (``print`` by default).
        """
        rows, _ = self.summary_rows(in_features)
        headers = ("Layer", "Output shape", "Params")
        body = [(name, shape, f"{count:,}") for name, shape, count in rows]
        widths = [max(len(row[i]) for row in [headers, *body]) for i in range(3)]
        rule = "-" * (sum(widths) + 4)

        def line(cells: tuple[str, str, str]) -> str:
            return f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}"

        dtype = self.dtype
        print_fn(line(headers))
        print_fn(rule)
        for row in body:
            print_fn(line(row))
        print_fn(rule)
        print_fn(f"Total params: {self.num_parameters():,}")
        print_fn(f"dtype: {dtype if dtype is not None else 'none (no parameters)'}")
