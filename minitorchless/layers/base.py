"""The ``Layer`` base class: the contract every layer and container follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from typing_extensions import Self

from minitorchless._checks import float_dtype
from minitorchless.layers._allowance import charge
from minitorchless.layers._walks import distinct_layers, tree_repr
from minitorchless.layers.hooks import ForwardHook, HookHandle
from minitorchless.layers.modes import eval_mode_forced
from minitorchless.layers.shapes import ANY, ShapeSpec, check_count
from minitorchless.layers.summary import SummaryRows, print_summary
from minitorchless.parameter import Buffer, Parameter
from minitorchless.state_dict import Target, assign_arrays

__all__ = ["Layer"]


class Layer(ABC):
    """Base class of every layer and container.

    A layer maps a batch of inputs to outputs in ``forward`` and maps the
    gradient of the loss with respect to its outputs back to the gradient with
    respect to its inputs in ``backward``, adding its parameters' gradients into
    their ``.grad`` on the way.

    **Writing one.** Implement ``forward`` and ``backward``. Create parameters
    with ``self.add_parameter(name, array)`` and non-trainable state (running
    statistics) with ``self.add_buffer(name, array)``; containers override
    ``children``. In ``forward``, keep what ``backward`` needs with
    ``self.save_for_backward(...)``; in ``backward``, read it with
    ``self.saved()``. Everything else (``parameters``, ``named_parameters``,
    ``zero_grad``, ``train``/``eval``, ``state_dict``/``load_state_dict``,
    ``to``, ``summary``) is derived from those.

    **The cache belongs to the base.** ``layer(inputs)`` clears the layer's
    cache, runs ``forward``, and clears it again if ``forward`` fails, so that
    ``backward`` can never use a previous batch's values; ``saved()`` raises
    the "backward before forward" error. Each forward saves a new tuple, so a
    container that runs one layer at several places (a shared layer, a time
    step) keeps each use's cache with ``cache_state`` and puts it back with
    ``restore_cache``. Call layers, as in PyTorch: ``layer(x)``, not
    ``layer.forward(x)``.

    **Shapes.** Batches are ``(batch, *sample_shape)``. ``output_shape``
    infers the output's shape from the input's, so containers check that their
    layers chain when they are built and ``summary()`` prints every shape.

    **Several inputs or outputs.** A layer taking several inputs (``Add``,
    ``Concatenate``, a ``Graph`` with several inputs) declares how many in
    ``input_arity`` and takes a list or tuple of arrays in ``forward``;
    ``backward`` then returns a tuple of gradients, one per input. A layer with
    several outputs returns a tuple from ``forward`` and takes a tuple of
    gradients in ``backward``. A layer that takes integer inputs (indices)
    returns ``None`` as their gradient.
    """

    def __init__(self) -> None:
        self.training: bool = True
        self._saved: tuple[Any, ...] | None = None
        self._parameters: dict[str, Parameter] = {}
        self._buffers: dict[str, Buffer] = {}
        self._forward_hooks: list[ForwardHook] = []

    # ------------------------------------------------------------------ compute
    @abstractmethod
    def forward(self, inputs: Any) -> Any:
        """Compute the outputs for a batch and save what ``backward`` needs."""

    @abstractmethod
    def backward(self, grad_output: Any) -> Any:
        """Return dL/d(inputs) given dL/d(outputs); add dL/d(parameters) into ``.grad``."""

    def backward_parameters(self, grad_output: Any) -> None:
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

    def __call__(self, inputs: Any) -> Any:
        """Run ``forward`` with a fresh cache (cleared again if ``forward`` fails), then hooks."""
        self._saved = None
        try:
            outputs = self.forward(inputs)
        except BaseException:
            self._saved = None  # a forward that fails half-way leaves nothing for backward
            raise
        if self._forward_hooks:
            for hook in self._forward_hooks:
                hook(self, inputs, outputs)
        return outputs

    # -------------------------------------------------------------------- cache
    def save_for_backward(self, *values: Any) -> None:
        """Keep ``values`` for ``backward`` (until the next forward of this layer)."""
        self._saved = values

    def saved(self) -> Any:
        """What the last forward saved: the value itself if it saved one, else a tuple.

        Raises:
            RuntimeError: no forward has run since the layer was built, its
                cache was cleared, or the last forward failed.
        """
        values = self._saved
        if values is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() was called before forward(): "
                f"run a forward pass on {self!r} first"
            )
        return values[0] if len(values) == 1 else values

    def cache_state(self) -> Any:
        """Return the forward caches of this layer and its children, for ``restore_cache``.

        A layer used at two places of a container has one cache for both uses:
        the container saves each use's state right after that use's forward and
        restores it right before that use's backward. The state holds
        references, not copies (each forward saves a new tuple), one per
        distinct layer inside, however often the layer is reachable.
        """
        if not self.children():
            return self._saved
        return [(layer, layer._saved) for _, layer in self._walk()]

    def restore_cache(self, state: Any) -> None:
        """Put back the caches saved by ``cache_state``."""
        if not self.children():
            self._saved = state
            return
        for layer, saved in state:
            layer._saved = saved

    def clear_cache(self) -> None:
        """Drop the cached activations of this layer and its children (frees memory)."""
        for _, layer in self._walk():
            layer._saved = None

    def register_forward_hook(self, hook: ForwardHook) -> HookHandle:
        """Call ``hook(layer, inputs, outputs)`` after every forward of this layer.

        How tools look inside a model without reading private state: the
        ``Inspector`` watches activations this way. Returns a handle whose
        ``remove()`` takes the hook off.
        """
        self._forward_hooks.append(hook)
        return HookHandle(self._forward_hooks, hook)

    # ------------------------------------------------------------------- shapes
    def input_arity(self) -> tuple[int, int | None]:
        """The fewest and most inputs ``forward`` takes (``None``: no limit).

        One input is an array; several are a list or tuple of arrays. The
        default, ``(1, 1)``, is one array.
        """
        return (1, 1)

    def output_shape(self, input_shape: ShapeSpec) -> ShapeSpec:
        """Infer the output's shape from the input's, or raise ``ShapeError``.

        Shapes are tuples whose first entry is the batch axis, ``None`` for an
        unknown size (the batch's, usually) and ``...`` for any number of
        unknown leading axes: ``(None, 16, 8, 8)``, ``(..., 4)``. A layer with
        several inputs gets a list of shapes, one with several outputs returns
        one. The default knows nothing beyond the number of inputs: ``(...,)``.
        """
        check_count(self, input_shape)
        return ANY

    # --------------------------------------------------------------- parameters
    def add_parameter(self, name: str, value: ArrayLike | Parameter) -> Parameter:
        """Create (or adopt) a parameter of this layer under ``name``; return it.

        Keep the result as an attribute (``self.weight = self.add_parameter(...)``);
        ``own_parameters`` lists every parameter added this way.
        """
        parameter = value if isinstance(value, Parameter) else Parameter(value)
        if parameter is not value:  # an adopted (tied) parameter allocates nothing
            charge(self, name, parameter.shape)
        self._parameters[name] = parameter
        return parameter

    def add_buffer(self, name: str, value: ArrayLike) -> Buffer:
        """Create non-trainable state of this layer under ``name``; return it.

        Buffers are saved and loaded with the parameters and cast by ``to``,
        but never trained. Update ``buffer.value`` in place.
        """
        buffer = Buffer(value)
        charge(self, name, buffer.shape)
        self._buffers[name] = buffer
        return buffer

    def own_parameters(self) -> list[tuple[str, Parameter]]:
        """The parameters this layer owns directly, by local name: those it added."""
        return list(self._parameters.items())

    def own_buffers(self) -> list[tuple[str, Buffer]]:
        """The buffers this layer owns directly, by local name: those it added."""
        return list(self._buffers.items())

    def children(self) -> list[tuple[str, Layer]]:
        """The sub-layers of a container, by local name. Default: none."""
        return []

    def _walk(self) -> Iterator[tuple[str, Layer]]:
        """``(dotted prefix, layer)`` for this layer and every layer inside, each once.

        Depth first, under the first prefix that reaches a layer: one visit per
        distinct layer, however many paths lead to it (see ``_walks``).
        """
        return distinct_layers(self)

    def named_tensors(self) -> Iterator[tuple[str, Parameter | Buffer]]:
        """Every parameter and buffer by dotted name, each once, in PyTorch's order.

        Per layer, its parameters, then its buffers, then its children's. A
        tensor reachable twice (a shared layer) comes under the first name met.
        """
        seen: set[int] = set()
        for prefix, layer in self._walk():
            own: list[tuple[str, Parameter | Buffer]] = [
                *layer.own_parameters(),
                *layer.own_buffers(),
            ]
            for name, tensor in own:
                if id(tensor) not in seen:
                    seen.add(id(tensor))
                    yield prefix + name, tensor

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` pairs, e.g. ``("0.weight", p)``, frozen ones too.

        A parameter reachable twice (a shared layer) is yielded once, under the
        first name met.
        """
        for name, tensor in self.named_tensors():
            if isinstance(tensor, Parameter):
                yield name, tensor

    def named_buffers(self) -> Iterator[tuple[str, Buffer]]:
        """Yield ``(dotted_name, buffer)`` pairs, each buffer once."""
        for name, tensor in self.named_tensors():
            if isinstance(tensor, Buffer):
                yield name, tensor

    def parameters(self) -> list[Parameter]:
        """Every trainable parameter of this layer and its children, each once.

        Frozen parameters (``requires_grad=False``) are left out, so an
        optimizer built on this list never changes them.
        """
        return [p for _, p in self.named_parameters() if p.requires_grad]

    def buffers(self) -> list[Buffer]:
        """Every buffer of this layer and its children, each once."""
        return [buffer for _, buffer in self.named_buffers()]

    def num_parameters(self, *, trainable_only: bool = False) -> int:
        """The number of parameter scalars (frozen ones too, unless ``trainable_only``)."""
        return sum(
            p.size for _, p in self.named_parameters() if p.requires_grad or not trainable_only
        )

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for _, parameter in self.named_parameters():
            parameter.zero_grad()

    @property
    def dtype(self) -> np.dtype[Any] | None:
        """The dtype of the parameters, or ``None`` for a layer without any."""
        for _, parameter in self.named_parameters():
            return parameter.dtype
        return None

    def to(self, dtype: DTypeLike) -> Self:
        """Cast every parameter, gradient and floating buffer to ``dtype``, in place.

        Returns ``self``. Create optimizers after casting: their state refers
        to the old arrays.
        """
        target = float_dtype(type(self).__name__, dtype)
        for _, tensor in self.named_tensors():
            tensor.cast(target)
        self.clear_cache()
        return self

    # -------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Self:
        """Switch this layer and its children to training mode (or out of it)."""
        for _, layer in self._walk():
            layer.training = mode
        return self

    def eval(self) -> Self:
        """Switch to evaluation mode: ``train(False)``."""
        return self.train(False)

    @property
    def training_active(self) -> bool:
        """``training``, unless this thread runs inside ``mtl.eval_mode()``: what forward obeys."""
        return self.training and not eval_mode_forced()

    # -------------------------------------------------------------- state dicts
    def state_dict(self) -> dict[str, NDArray[Any]]:
        """Return a copy of every parameter and buffer, by dotted name."""
        return {name: tensor.value.copy() for name, tensor in self.named_tensors()}

    def load_state_dict(
        self, state_dict: Mapping[str, ArrayLike], *, allow_nonfinite: bool = False
    ) -> None:
        """Copy arrays into the parameters and buffers of the same names, in place.

        Everything is checked before anything is written, so a bad state dict
        leaves the model untouched. Values are cast to each tensor's dtype, and
        must survive the cast (see ``minitorchless.state_dict``).

        Args:
            state_dict: Arrays (or array-likes) by dotted name.
            allow_nonfinite: Accept NaN and infinity, which are refused by default.

        Raises:
            StateDictError: keys are missing or unexpected (``KeyMismatchError``), a
                shape differs (``ShapeMismatchError``), an array holds NaN or inf
                (``NonFiniteTensorError``) or values its tensor's dtype cannot
                hold (``UnsafeCastError``), or a value is not a numeric array.
        """
        key_map = {name: Target(name, tensor, False) for name, tensor in self.named_tensors()}
        assign_arrays(
            key_map,
            state_dict,
            f"{type(self).__name__}.load_state_dict",
            allow_nonfinite=allow_nonfinite,
        )

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

    @classmethod
    def size_from_config(cls, config: Mapping[str, Any]) -> int | None:
        """The values the layer's own parameters and buffers would hold, without building it.

        ``load`` compares it with what the file stores *before* the constructor
        runs, so that a config from a hostile file cannot make it allocate
        gigabytes. ``None`` (the default) means unknown: the layer is counted
        right after it is built. ``check_layer`` checks the answer.
        """
        return None

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr``; override in subclasses."""
        return ""

    def __repr__(self) -> str:
        return tree_repr(self)  # a shared container is shown once, then referred to

    def summary_rows(self, input_shape: ShapeSpec) -> tuple[SummaryRows, ShapeSpec]:
        """Rows of ``(name, output shape, parameter count)`` for ``summary()``, and the output.

        Containers override this to list their children.
        """
        output_shape = self.output_shape(input_shape)
        return [(type(self).__name__, output_shape, self.num_parameters())], output_shape

    def summary(
        self,
        input_shape: int | tuple[int | None, ...] | None = None,
        *,
        print_fn: Callable[[str], None] = print,
    ) -> None:
        """Print one line per layer with its output shape and parameter count, then totals.

        Args:
            input_shape: The shape of one sample, without the batch axis, e.g.
                ``(1, 28, 28)``; an int ``n`` means ``(n,)``. Omitted, shapes
                are inferred from the layers alone (``*`` marks unknown axes).
            print_fn: Where the lines go (``print`` by default).
        """
        print_summary(self, input_shape, print_fn)
