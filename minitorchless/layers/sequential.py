"""The chain container."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, overload

from numpy.typing import ArrayLike
from typing_extensions import Self

from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers._sharing import shared_uses
from minitorchless.layers.base import Layer

__all__ = ["Sequential"]



class Sequential(Layer):
    """Chains layers: the output of each is the input of the next.

    Forward runs the layers in order; backward runs them in reverse, each
    turning the gradient of its outputs into the gradient of its inputs.
    ``backward_parameters`` does the same but lets the first layer skip the
    gradient for the chain's inputs, which a training step never reads.
    Parameters are named by position, as in PyTorch: ``"0.weight"``.

    Widths are checked when the chain is built wherever they are known, so
    ``Sequential(Dense(5, 4), Dense(3, 2))`` fails at once, naming both layers.

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
        self.layers: list[Layer] = list(layers)
        self._check_chain()
        # positions whose layer (or a layer inside it) also runs at another position
        self._shared = shared_uses(self.layers)
        self._shared_any = any(self._shared)

    def _check_chain(self) -> None:
        width: int | None = None
        source = 0  # the last layer whose output width is its own, e.g. a Dense
        for index, layer in enumerate(self.layers):
            try:
                width = layer.output_features(width)
            except ShapeError as err:
                raise ShapeError(
                    f"Sequential: layer {index} ({type(layer).__name__}) cannot follow "
                    f"layer {source} ({self.layers[source]!r}): {err}"
                ) from None
            if layer.output_features(None) is not None:
                source = index

    def forward(self, inputs: ArrayLike) -> FloatArray:
        # valid only once every layer has run: after a failure half-way, the later
        # layers still hold the previous batch's caches, and backward must refuse
        self._cache = None
        outputs: Any = inputs
        if not self._shared_any:
            for layer in self.layers:
                outputs = layer.forward(outputs)
            self._cache = True  # marks that a forward ran, for backward-before-forward
            return outputs  # type: ignore[no-any-return]
        # a layer used at several positions has one cache slot: keep each use's own
        states: list[Any] = []
        for layer, shared in zip(self.layers, self._shared, strict=True):
            outputs = layer.forward(outputs)
            states.append(layer.cache_state() if shared else None)
        self._cache = states
        return outputs  # type: ignore[no-any-return]

    def _in_reverse(self) -> Iterator[tuple[int, Layer]]:
        """Yield ``(position, layer)`` from the last to the first, each use's cache in place."""
        cache = self._cached()
        for position in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[position]
            if self._shared_any and self._shared[position]:
                layer.restore_cache(cache[position])  # this use's cache, not the last use's
            yield position, layer

    def backward(self, grad_output: FloatArray) -> FloatArray:
        grad = grad_output
        for _, layer in self._in_reverse():
            grad = layer.backward(grad)
        return grad

    def backward_parameters(self, grad_output: FloatArray) -> None:
        grad = grad_output
        for position, layer in self._in_reverse():
            if position == 0:
                # nobody reads the gradient for the chain's inputs: let the first layer skip it
                layer.backward_parameters(grad)
            else:
                grad = layer.backward(grad)

    def output_features(self, in_features: int | None) -> int | None:
        width = in_features
        for layer in self.layers:
            width = layer.output_features(width)
        return width

    def get_config(self) -> dict[str, Any]:
        return {"layers": list(self.layers)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        return cls(*config["layers"])

    def children(self) -> list[tuple[str, Layer]]:
        return [(str(index), layer) for index, layer in enumerate(self.layers)]

    def summary_rows(
        self, in_features: int | None
    ) -> tuple[list[tuple[str, str, int]], int | None]:
        rows: list[tuple[str, str, int]] = []
        width = in_features
        for name, layer in self.children():
            layer_rows, width = layer.summary_rows(width)
            if len(layer_rows) == 1:
                rows.append((f"{name}: {layer_rows[0][0]}", *layer_rows[0][1:]))
            else:  # a nested container: indent its rows under its own name
                rows.append((f"{name}: {type(layer).__name__}", "", 0))
                rows.extend((f"  {row[0]}", row[1], row[2]) for row in layer_rows)
        return rows, width

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    @overload
    def __getitem__(self, index: int) -> Layer: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Layer | Sequential:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]
