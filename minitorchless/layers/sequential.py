"""The chain container."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, overload

from typing_extensions import Self

from minitorchless.errors import ShapeError
from minitorchless.layers._sharing import shared_uses
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import ANY, ShapeSpec, describe, infer_shape, label
from minitorchless.layers.summary import SummaryRows, child_rows, nest

__all__ = ["Sequential"]


class Sequential(Layer):
    """Chains layers: the output of each is the input of the next.

    Forward runs the layers in order; backward runs them in reverse, each
    turning the gradient of its outputs into the gradient of its inputs.
    ``backward_parameters`` does the same but lets the first layer skip the
    gradient for the chain's inputs, which a training step never reads.
    Parameters are named by position, as in PyTorch: ``"0.weight"``.

    Shapes are checked when the chain is built wherever they are known, so
    ``Sequential(Dense(5, 4), Dense(3, 2))`` fails at once, naming both layers.
    The list of layers is fixed once built (``layers`` is a tuple), so that
    nothing can change behind the chain's back: make a new ``Sequential``,
    e.g. ``Sequential(*model, extra)``, to add one.

    Args:
        *layers: The layers, in order.

    Shape:
        - inputs: what the first layer takes, e.g. ``(batch, in_features)``
        - outputs: what the last layer returns
    """

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                hint = ""
                if isinstance(layer, type) and issubclass(layer, Layer):
                    hint = f"; did you mean {layer.__name__}() (an instance, not the class)?"
                raise TypeError(
                    f"Sequential: argument {index} must be a Layer, "
                    f"received {type(layer).__name__} ({layer!r}){hint}"
                )
        self._layers: tuple[Layer, ...] = tuple(layers)
        infer_shape(self, ANY)  # the layers must chain, as far as their shapes are known
        # positions whose layer (or a layer inside it) also runs at another position:
        # found at the first forward, so that building a model costs no walk of its layers
        self._shared: list[bool] = []
        self._shared_any = False
        self._sharing_known = False

    def _find_sharing(self) -> None:
        self._shared = shared_uses(self._layers)
        self._shared_any = any(self._shared)
        self._sharing_known = True

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers, in order. A tuple: build a new ``Sequential`` to change them."""
        return self._layers

    def forward(self, inputs: Any) -> Any:
        # valid only once every layer has run: after a failure half-way, the later
        # layers still hold the previous batch's caches, and backward must refuse
        outputs: Any = inputs
        if not self._sharing_known:
            self._find_sharing()
        if not self._shared_any:
            for layer in self._layers:
                outputs = layer(outputs)
            self.save_for_backward(None)  # marks that a forward ran, for backward-before-forward
            return outputs
        # a layer used at several positions has one cache: keep each use's own
        states: list[Any] = []
        for layer, shared in zip(self._layers, self._shared, strict=True):
            outputs = layer(outputs)
            states.append(layer.cache_state() if shared else None)
        self.save_for_backward(states)
        return outputs

    def _in_reverse(self) -> Iterator[tuple[int, Layer]]:
        """Yield ``(position, layer)`` from the last to the first, each use's cache in place."""
        states = self.saved()
        for position in range(len(self._layers) - 1, -1, -1):
            layer = self._layers[position]
            if self._shared[position]:
                layer.restore_cache(states[position])  # this use's cache, not the last use's
            yield position, layer

    def backward(self, grad_output: Any) -> Any:
        grad = grad_output
        if not self._shared_any:  # the common chain: no cache to put back, a plain loop
            self.saved()  # refuses a backward before a (complete) forward
            for layer in reversed(self._layers):
                grad = layer.backward(grad)
            return grad
        for _, layer in self._in_reverse():
            grad = layer.backward(grad)
        return grad

    def backward_parameters(self, grad_output: Any) -> None:
        grad = grad_output
        if not self._shared_any:
            self.saved()
            layers = self._layers
            for position in range(len(layers) - 1, 0, -1):
                grad = layers[position].backward(grad)
            if layers:
                # nobody reads the gradient for the chain's inputs: let the first layer skip it
                layers[0].backward_parameters(grad)
            return
        for position, layer in self._in_reverse():
            if position == 0:
                layer.backward_parameters(grad)
            else:
                grad = layer.backward(grad)

    def input_arity(self) -> tuple[int, int | None]:
        return self._layers[0].input_arity() if self._layers else (1, 1)

    def output_shape(self, input_shape: ShapeSpec) -> ShapeSpec:
        shape = input_shape
        source = -1  # the last layer that fixed something of the shape (not an activation)
        for index, layer in enumerate(self._layers):
            try:
                shape = infer_shape(layer, shape)
            except ShapeError as err:
                where = (
                    "the inputs"
                    if source < 0
                    else f"layer {source} ({label(self._layers[source])})"
                )
                raise ShapeError(
                    f"Sequential: layer {index} ({type(layer).__name__}) cannot follow "
                    f"{where}, whose output is {describe(shape)}: {err}"
                ) from None
            if infer_shape(layer, ANY) != ANY:
                source = index
        return shape

    def get_config(self) -> dict[str, Any]:
        return {"layers": list(self._layers)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        return cls(*config["layers"])

    def children(self) -> list[tuple[str, Layer]]:
        return [(str(index), layer) for index, layer in enumerate(self._layers)]

    def summary_rows(self, input_shape: ShapeSpec) -> tuple[SummaryRows, ShapeSpec]:
        rows: SummaryRows = []
        shape = input_shape
        for name, layer in self.children():
            layer_rows, shape = child_rows(layer, shape)
            rows.extend(nest(name, layer, layer_rows))
        return rows, shape

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers)

    @overload
    def __getitem__(self, index: int) -> Layer: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Layer | Sequential:
        if isinstance(index, slice):
            return Sequential(*self._layers[index])
        return self._layers[index]
