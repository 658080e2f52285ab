"""Combinators: skip connections and parallel branches as plain single-input layers.

``Residual`` and ``Parallel`` are the two shapes of graph met most often. They
take one array and return one array, so they nest in ``Sequential`` like any
layer; for anything more irregular, use ``Graph``.

Both are written out by hand rather than as small graphs: the fan-out of the
input, and the sum of its gradients in backward, are then visible in a few
lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from typing_extensions import Self

from minitorchless._checks import as_float_array, check_grad_shape
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers._sharing import shared_uses
from minitorchless.layers.base import Layer
from minitorchless.layers.merge import Add, Concatenate, Merge

__all__ = ["MergeMode", "Parallel", "Residual"]

MergeMode = Literal["concat", "sum"]
SummaryRows = list[tuple[str, str, int]]


def _nest(name: str, layer: Layer, rows: SummaryRows) -> SummaryRows:
    """A child's summary rows under ``name``: inline if one row, else a header and indented."""
    if len(rows) == 1:
        return [(f"{name}: {rows[0][0]}", *rows[0][1:])]
    header = (f"{name}: {type(layer).__name__}", "", 0)
    return [header, *((f"  {row[0]}", row[1], row[2]) for row in rows)]


def _shape(width: int | None) -> str:
    return f"(batch, {width if width is not None else '?'})"


class Residual(Layer):
    """A skip connection around a block: ``outputs = inputs + block(inputs)``.

    The input fans out to two places, the block and the sum, so its gradient
    is the sum of what comes back from both: ``grad_output`` itself through
    the identity path plus ``block.backward(grad_output)``. That untouched
    identity path is why deep residual networks keep training where plain
    ones of the same depth stall.

    The output takes the block's dtype, so a float32 block stays float32 even
    when fed float64 data.

    Args:
        block: Any layer or container whose output has its input's shape.

    Shape:
        - inputs: ``(batch, features)`` (any shape the block keeps)
        - outputs: same shape as inputs

    Raises:
        ShapeError: the block visibly changes the width (checked when built
            where the widths are known, else at the first forward).
    """

    def __init__(self, block: Layer) -> None:
        super().__init__()
        if not isinstance(block, Layer):
            raise TypeError(
                f"Residual: block must be a Layer, received {type(block).__name__} ({block!r})"
            )
        self.block = block
        # a block that fixes its output width must accept that same width back
        width = block.output_features(None)
        if width is not None:
            try:
                again = block.output_features(width)
            except ShapeError as err:
                raise ShapeError(
                    f"Residual: the block outputs width {width}, so it must also take width "
                    f"{width} as input, but it does not: {err}"
                ) from None
            if again != width:
                raise ShapeError(
                    f"Residual: the block must keep the width, but maps {width} to {again}"
                )

    def forward(self, inputs: ArrayLike) -> FloatArray:
        self._cache = None  # a forward that fails must not leave an old cache
        inputs = as_float_array(self, inputs)
        block_outputs = self.block.forward(inputs)
        if block_outputs.shape != inputs.shape:
            raise ShapeError(
                f"Residual: the block must return the shape of its inputs, {inputs.shape}, "
                f"but returned {block_outputs.shape}"
            )
        # a new array (the block may cache its output), in the block's dtype
        outputs = np.add(block_outputs, inputs, dtype=block_outputs.dtype)
        self._cache = outputs.shape
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        shape = self._cached()
        grad_output = check_grad_shape(self, grad_output, shape)
        # fan-out: dL/dx = dL/dy (identity path) + dL/dy * d block/dx (block path)
        grad_input: FloatArray = grad_output + self.block.backward(grad_output)
        return grad_input

    def backward_parameters(self, grad_output: FloatArray) -> None:
        shape = self._cached()
        # the identity path has no parameters: only the block has work to do
        self.block.backward_parameters(check_grad_shape(self, grad_output, shape))

    def output_features(self, in_features: int | None) -> int | None:
        width = self.block.output_features(in_features)
        if in_features is not None and width is not None and width != in_features:
            raise ShapeError(
                f"Residual: the block maps width {in_features} to {width}; "
                f"a residual block must keep the width"
            )
        return in_features if in_features is not None else width

    def children(self) -> list[tuple[str, Layer]]:
        return [("block", self.block)]

    def get_config(self) -> dict[str, Any]:
        return {"block": self.block}

    def summary_rows(self, in_features: int | None) -> tuple[SummaryRows, int | None]:
        block_rows, _ = self.block.summary_rows(in_features)
        out_features = self.output_features(in_features)
        rows = [*_nest("block", self.block, block_rows), ("+ inputs", _shape(out_features), 0)]
        return rows, out_features


class Parallel(Layer):
    """Feeds the same input to every branch, then merges their outputs.

    ``merge="concat"`` joins the outputs along the last axis; ``merge="sum"``
    adds them (they must then have the same shape). The input fans out to
    every branch, so backward adds the branches' input gradients.

    The same layer object may appear in several branches (or inside them): its
    cache is saved after each branch's forward and restored before that
    branch's backward, so each use gets its own gradient and both accumulate.

    Args:
        *branches: One or more layers, each taking the same input.
        merge: ``"concat"`` or ``"sum"``.

    Shape:
        - inputs: ``(batch, in_features)``, what every branch takes
        - outputs: ``(batch, sum of branch widths)`` for ``"concat"``,
          ``(batch, branch width)`` for ``"sum"``
    """

    def __init__(self, *branches: Layer, merge: MergeMode = "concat") -> None:
        super().__init__()
        if not branches:
            raise ValueError("Parallel: expected at least one branch, received none")
        for index, branch in enumerate(branches):
            if not isinstance(branch, Layer):
                raise TypeError(
                    f"Parallel: branch {index} must be a Layer, "
                    f"received {type(branch).__name__} ({branch!r})"
                )
        if merge not in ("concat", "sum"):
            raise ValueError(f"Parallel: merge must be 'concat' or 'sum', received {merge!r}")
        self.branches: list[Layer] = list(branches)
        self.merge: MergeMode = merge
        self._merger: Merge = Concatenate() if merge == "concat" else Add()
        self._shared = shared_uses(self.branches)
        self._any_shared = any(self._shared)
        self.output_features(None)  # checks, for "sum", that known widths agree

    def forward(self, inputs: ArrayLike) -> FloatArray:
        self._cache = None  # a forward that fails must not leave an old cache
        outputs = []
        states: list[Any] = []
        for branch, shared in zip(self.branches, self._shared, strict=True):
            outputs.append(branch.forward(inputs))
            if self._any_shared:  # keep this use's cache: another branch will overwrite it
                states.append(branch.cache_state() if shared else None)
        if len(outputs) == 1:
            merged = outputs[0]
        else:
            try:
                merged = self._merger.forward(outputs)
            except ShapeError as err:
                raise ShapeError(
                    f"Parallel(merge={self.merge!r}): the branches' outputs cannot be merged: {err}"
                ) from None
        # the merger's cache travels in ours, so that a Parallel used twice stays right
        self._cache = (merged.shape, states, self._merger.cache_state())
        return merged

    def _pieces(self, grad_output: FloatArray) -> tuple[list[Any], tuple[FloatArray, ...]]:
        """The saved branch caches, and the share of ``grad_output`` of each branch."""
        shape, states, merger_state = self._cached()
        grad_output = check_grad_shape(self, grad_output, shape)
        if len(self.branches) == 1:
            return states, (grad_output,)
        self._merger.restore_cache(merger_state)
        return states, self._merger.backward(grad_output)

    def backward(self, grad_output: FloatArray) -> FloatArray:
        states, pieces = self._pieces(grad_output)
        grads = []
        for index, (branch, piece) in enumerate(zip(self.branches, pieces, strict=True)):
            if self._any_shared and self._shared[index]:
                branch.restore_cache(states[index])
            grads.append(branch.backward(piece))
        # the input fanned out to every branch: its gradient is the sum (new arrays,
        # since a branch may hand back an array it does not own)
        grad_input = grads[0]
        for grad in grads[1:]:
            grad_input = grad_input + grad
        return grad_input

    def backward_parameters(self, grad_output: FloatArray) -> None:
        states, pieces = self._pieces(grad_output)
        for index, (branch, piece) in enumerate(zip(self.branches, pieces, strict=True)):
            if self._any_shared and self._shared[index]:
                branch.restore_cache(states[index])
            branch.backward_parameters(piece)

    def output_features(self, in_features: int | None) -> int | None:
        widths = [branch.output_features(in_features) for branch in self.branches]
        if len(widths) == 1:
            return widths[0]
        try:
            return self._merger.merged_features(widths)
        except ShapeError:
            raise ShapeError(
                f"Parallel(merge={self.merge!r}): the branches' output widths {widths} differ; "
                f"'sum' needs equal widths (or use merge='concat')"
            ) from None

    def children(self) -> list[tuple[str, Layer]]:
        return [(str(index), branch) for index, branch in enumerate(self.branches)]

    def get_config(self) -> dict[str, Any]:
        return {"branches": list(self.branches), "merge": self.merge}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        return cls(*config["branches"], merge=config.get("merge", "concat"))

    def __repr__(self) -> str:
        lines = ["Parallel("]
        for name, branch in self.children():
            branch_repr = repr(branch).replace("\n", "\n  ")
            lines.append(f"  ({name}): {branch_repr}")
        lines.append(f"  merge={self.merge!r}")
        lines.append(")")
        return "\n".join(lines)

    def summary_rows(self, in_features: int | None) -> tuple[SummaryRows, int | None]:
        rows: SummaryRows = []
        for name, branch in self.children():
            branch_rows, _ = branch.summary_rows(in_features)
            rows.extend(_nest(f"branch {name}", branch, branch_rows))
        out_features = self.output_features(in_features)
        return [*rows, (f"merge: {self.merge}", _shape(out_features), 0)], out_features
