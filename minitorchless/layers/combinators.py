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
from minitorchless.layers._walks import child_repr, repr_scope
from minitorchless.layers.base import Layer
from minitorchless.layers.merge import Add, Concatenate, Merge
from minitorchless.layers.shapes import (
    ANY,
    Shape,
    ShapeSpec,
    describe,
    infer_shape,
    shape_memo,
    single,
    unify,
)
from minitorchless.layers.summary import SummaryRows, child_rows, nest

__all__ = ["MergeMode", "Parallel", "Residual"]

MergeMode = Literal["concat", "sum"]


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
        - inputs: ``(batch, *)``, any shape the block keeps
        - outputs: same shape as inputs

    Raises:
        ShapeError: the block visibly changes the shape (checked when built
            where shapes are known, else at the first forward).
    """

    def __init__(self, block: Layer) -> None:
        super().__init__()
        if not isinstance(block, Layer):
            raise TypeError(
                f"Residual: block must be a Layer, received {type(block).__name__} ({block!r})"
            )
        self._block = block
        with shape_memo():  # one inference of the block per shape, however deep it nests
            self._check_block()

    def _check_block(self) -> None:
        # a block that fixes its output shape must accept that same shape back
        shape = infer_shape(self._block, ANY)
        if isinstance(shape, list):
            raise ShapeError(f"Residual: the block must have one output, it has {len(shape)}")
        try:
            infer_shape(self, shape)
        except ShapeError as err:
            raise ShapeError(
                f"Residual: the block outputs {describe(shape)}, so it must also take that "
                f"shape as input and keep it, but it does not: {err}"
            ) from None

    @property
    def block(self) -> Layer:
        """The block the skip connection goes around (fixed once built)."""
        return self._block

    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = as_float_array(self, inputs)
        block_outputs = self._block(inputs)
        if block_outputs.shape != inputs.shape:
            raise ShapeError(
                f"Residual: the block must return the shape of its inputs, {inputs.shape}, "
                f"but returned {block_outputs.shape}"
            )
        # a new array (the block may cache its output), in the block's dtype
        outputs: FloatArray = np.add(block_outputs, inputs, dtype=block_outputs.dtype)
        self.save_for_backward(outputs.shape)
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        grad_output = check_grad_shape(self, grad_output, self.saved())
        # fan-out: dL/dx = dL/dy (identity path) + dL/dy * d block/dx (block path)
        grad_input: FloatArray = grad_output + self._block.backward(grad_output)
        return grad_input

    def backward_parameters(self, grad_output: FloatArray) -> None:
        # the identity path has no parameters: only the block has work to do
        self._block.backward_parameters(check_grad_shape(self, grad_output, self.saved()))

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        block_shape = single(self, infer_shape(self._block, shape))
        try:
            return unify(self, [shape, block_shape])
        except ShapeError:
            raise ShapeError(
                f"Residual: the block maps {describe(shape)} to {describe(block_shape)}; "
                f"a residual block must keep the shape"
            ) from None

    def children(self) -> list[tuple[str, Layer]]:
        return [("block", self._block)]

    def get_config(self) -> dict[str, Any]:
        return {"block": self._block}

    def summary_rows(self, input_shape: ShapeSpec) -> tuple[SummaryRows, ShapeSpec]:
        block_rows, _ = child_rows(self._block, input_shape)
        output_shape = infer_shape(self, input_shape)
        rows = [*nest("block", self._block, block_rows), ("+ inputs", output_shape, 0)]
        return rows, output_shape


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
        - inputs: ``(batch, *)``, what every branch takes
        - outputs: ``(batch, *, sum of branch widths)`` for ``"concat"``,
          the branches' common shape for ``"sum"``
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
        self._branches: tuple[Layer, ...] = tuple(branches)
        self.merge: MergeMode = merge
        self._merger: Merge = Concatenate() if merge == "concat" else Add()
        # which branches share layers is found at the first forward: building costs no walk
        self._shared: list[bool] = []
        self._any_shared = False
        self._sharing_known = False
        infer_shape(self, ANY)  # checks that the known branch shapes can be merged

    @property
    def branches(self) -> tuple[Layer, ...]:
        """The branches, in order (fixed once built)."""
        return self._branches

    def forward(self, inputs: ArrayLike) -> FloatArray:
        if not self._sharing_known:
            self._shared = shared_uses(self._branches)
            self._any_shared = any(self._shared)
            self._sharing_known = True
        outputs = []
        states: list[Any] = []
        for branch, shared in zip(self._branches, self._shared, strict=True):
            outputs.append(branch(inputs))
            if self._any_shared:  # keep this use's cache: another branch will overwrite it
                states.append(branch.cache_state() if shared else None)
        merged: FloatArray
        if len(outputs) == 1:
            merged = outputs[0]
        else:
            try:
                merged = self._merger(outputs)
            except ShapeError as err:
                raise ShapeError(
                    f"Parallel(merge={self.merge!r}): the branches' outputs cannot be merged: {err}"
                ) from None
        # the merger's cache travels in ours, so that a Parallel used twice stays right
        self.save_for_backward(merged.shape, states, self._merger.cache_state())
        return merged

    def _pieces(self, grad_output: FloatArray) -> tuple[list[Any], tuple[FloatArray, ...]]:
        """The saved branch caches, and the share of ``grad_output`` of each branch."""
        shape, states, merger_state = self.saved()
        grad_output = check_grad_shape(self, grad_output, shape)
        if len(self._branches) == 1:
            return states, (grad_output,)
        self._merger.restore_cache(merger_state)
        return states, self._merger.backward(grad_output)

    def backward(self, grad_output: FloatArray) -> FloatArray:
        states, pieces = self._pieces(grad_output)
        grads = []
        for index, (branch, piece) in enumerate(zip(self._branches, pieces, strict=True)):
            if self._any_shared and self._shared[index]:
                branch.restore_cache(states[index])
            grads.append(branch.backward(piece))
        # the input fanned out to every branch: its gradient is the sum (new arrays,
        # since a branch may hand back an array it does not own)
        grad_input: FloatArray = grads[0]
        for grad in grads[1:]:
            grad_input = grad_input + grad
        return grad_input

    def backward_parameters(self, grad_output: FloatArray) -> None:
        states, pieces = self._pieces(grad_output)
        for index, (branch, piece) in enumerate(zip(self._branches, pieces, strict=True)):
            if self._any_shared and self._shared[index]:
                branch.restore_cache(states[index])
            branch.backward_parameters(piece)

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        shapes = [single(self, infer_shape(branch, shape)) for branch in self._branches]
        if len(shapes) == 1:
            return shapes[0]
        try:
            return single(self, self._merger.output_shape(shapes))
        except ShapeError:
            hint = (
                "; 'sum' needs equal shapes (or use merge='concat')"
                if (self.merge == "sum")
                else ""
            )
            raise ShapeError(
                f"Parallel(merge={self.merge!r}): the branches' outputs "
                f"{describe(shapes)} cannot be merged{hint}"
            ) from None

    def children(self) -> list[tuple[str, Layer]]:
        return [(str(index), branch) for index, branch in enumerate(self._branches)]

    def get_config(self) -> dict[str, Any]:
        return {"branches": list(self._branches), "merge": self.merge}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        return cls(*config["branches"], merge=config.get("merge", "concat"))

    def __repr__(self) -> str:
        lines = ["Parallel("]
        with repr_scope(self):
            for name, branch in self.children():
                branch_repr = child_repr(branch).replace("\n", "\n  ")
                lines.append(f"  ({name}): {branch_repr}")
        lines.append(f"  merge={self.merge!r}")
        lines.append(")")
        return "\n".join(lines)

    def summary_rows(self, input_shape: ShapeSpec) -> tuple[SummaryRows, ShapeSpec]:
        rows: SummaryRows = []
        for name, branch in self.children():
            branch_rows, _ = child_rows(branch, input_shape)
            rows.extend(nest(f"branch {name}", branch, branch_rows))
        output_shape = infer_shape(self, input_shape)
        return [*rows, (f"merge: {self.merge}", output_shape, 0)], output_shape
