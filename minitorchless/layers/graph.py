"""The general graph container: layers wired into a directed acyclic graph.

A ``Graph`` is declared in one go, as a list of named nodes. Each node is a
triple ``(name, layer, inputs)``, where ``inputs`` names the graph input(s) or
other node(s) whose outputs the layer takes, for example:

    graph = mtl.Graph(
        inputs=["petal", "sepal"],
        nodes=[
            ("p", mtl.Dense(2, 8, rng=rng), "petal"),
            ("s", mtl.Dense(2, 8, rng=rng), "sepal"),
            ("both", mtl.Concatenate(), ["p", "s"]),
            ("out", mtl.Dense(16, 3, rng=rng), "both"),
        ],
        outputs="out",
    )

Why named nodes rather than symbolic tensors (``h = layer(x)``): calling a
layer already means running it on an array, and giving that call a second,
symbolic meaning would make every ``layer(x)`` ambiguous. Names also give the
state dict stable, readable keys (``"p.weight"``) that do not depend on the
order in which layers happened to be created, and a declaration that is
checked as a whole, once, then frozen into an execution plan.

Everything about the wiring is checked when the graph is built: names,
references, cycles, dangling nodes, unused inputs, how many inputs each layer
takes and, where widths are known, that shapes meet at merges. What can only
be known from data is checked at the first forward; either way the error
names the node and the shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import Self

from minitorchless.errors import ShapeError
from minitorchless.layers._plan import accumulate, compile_plan, with_save_slots
from minitorchless.layers._walks import child_repr, repr_scope
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import (
    ANY,
    Shape,
    ShapeSpec,
    check_count,
    describe,
    infer_shape,
    shape_memo,
    unify,
)
from minitorchless.layers.summary import SummaryRows, child_rows, nest
from minitorchless.layers.wiring import InputDeclaration, Node, NodeSpec, check_arity, check_wiring

__all__ = ["Graph", "NodeSpec"]


class Graph(Layer):
    """Layers wired into a directed acyclic graph, with one or many inputs and outputs.

    Forward runs the nodes in a topological order fixed when the graph is
    built; backward runs them in reverse. Where a value feeds several nodes
    (fan-out), the gradients flowing back from them are added: by the
    multivariable chain rule, dL/dv is the sum over every use of v.

    A layer object may appear in several nodes (a shared layer): it keeps one
    set of weights, the graph saves its cache after each use's forward and
    restores it before that use's backward, and both uses' gradients
    accumulate in its ``.grad``.

    One input means ``forward`` takes an array; several mean it takes a list
    or tuple of arrays in the order of ``inputs`` (and ``backward`` returns a
    tuple of gradients). Likewise one output is returned as an array and
    several as a tuple, whose gradients ``backward`` takes as a tuple.

    Parameters are named ``"<node>.<parameter>"``, e.g. ``"h.weight"``; a
    shared layer's under the first node that uses it.

    Args:
        inputs: The name of the input, a list of names, or a mapping from name
            to what is known of that input, so that shapes can be checked when
            the graph is built: the shape of one sample (a tuple without the
            batch axis, e.g. ``(1, 28, 28)``), the size of its last axis (an
            int), or ``None``.
        nodes: Triples ``(name, layer, inputs)``, where ``inputs`` is the name
            of the value the layer takes, or a list of names for a layer that
            takes several (``Add``, ``Concatenate``, a multi-input ``Graph``).
            Any order; a node may come before the nodes it reads from.
        outputs: The name, or list of names, of the values to return.

    Shape:
        - inputs: per input, what the nodes reading it take, e.g.
          ``(batch, *, in_features)``
        - outputs: per output, what its node returns

    Raises:
        ValueError: a duplicate or unknown name, a cycle, a dangling node, an
            unused input, or a layer wired to the wrong number of inputs.
        ShapeError: known shapes do not fit where nodes meet.
        TypeError: a node is not a ``(name, layer, inputs)`` triple.
    """

    def __init__(
        self,
        inputs: str | Sequence[str] | Mapping[str, InputDeclaration],
        nodes: Sequence[NodeSpec],
        outputs: str | Sequence[str],
    ) -> None:
        super().__init__()
        wiring = check_wiring(inputs, nodes, outputs, check_arity)
        self.input_names: list[str] = wiring.input_names
        self._declared = wiring.declared
        self._input_shapes = wiring.input_shapes
        self.nodes: tuple[Node, ...] = tuple(wiring.nodes)
        self.output_names: list[str] = wiring.output_names
        self._order = wiring.order
        with shape_memo():
            self._infer_shapes(wiring.input_shapes)  # shape errors at build time
        # which uses share a layer is left to the first forward (_plan_sharing), so
        # that building a graph walks no layer
        plan = compile_plan(self.input_names, wiring.order, self.output_names)
        self._plan, self._reversed_plan = plan.steps, plan.steps[::-1]
        self._num_slots, self._num_saved = plan.num_slots, 0
        self._sharing_known = False
        self._num_inputs = len(self.input_names)
        self._output_slots, self._slot_names = plan.output_slots, plan.slot_names
        # per node, the node whose name its (possibly shared) layer goes by: the first in
        # the list given. Keyed by names, not ids, so that it survives copy.deepcopy.
        first: dict[int, str] = {}
        self._holder = {
            node.name: first.setdefault(id(node.layer), node.name) for node in self.nodes
        }

    # ---------------------------------------------------------------- shapes
    def _infer_shapes(self, input_shapes: Mapping[str, Shape]) -> dict[str, Shape]:
        """Propagate shapes through the nodes, raising where they cannot meet."""
        shapes = dict(input_shapes)
        for node in self._order:
            given = [shapes[source] for source in node.sources]
            try:
                shape = infer_shape(node.layer, given if node.multi else given[0])
            except ShapeError as err:
                feeding = ", ".join(f"{s!r} {describe(shapes[s])}" for s in node.sources)
                raise ShapeError(
                    f"Graph: node {node.name!r} ({type(node.layer).__name__}) "
                    f"cannot take {feeding}: {err}"
                ) from None
            if isinstance(shape, list):
                raise ValueError(
                    f"Graph: node {node.name!r} ({type(node.layer).__name__}) "
                    f"has {len(shape)} outputs; a node's value must be one array "
                    f"(give each output its own Graph output instead)"
                )
            shapes[node.name] = shape
        return shapes

    # -------------------------------------------------------------- the plan
    def _plan_sharing(self) -> None:
        """Give each use of a shared layer a slot for its cache (-1: not shared)."""
        self._plan, self._num_saved = with_save_slots(self._plan)
        self._reversed_plan = self._plan[::-1]
        self._sharing_known = True

    # --------------------------------------------------------------- compute
    def forward(self, inputs: Any) -> Any:
        """Run the nodes in topological order.

        Args:
            inputs: An array for a graph with one input; otherwise a list or
                tuple of arrays in the order of ``input_names``.

        Returns:
            An array for a graph with one output; otherwise a tuple of arrays
            in the order of ``output_names``.
        """
        if not self._sharing_known:
            self._plan_sharing()
        values: list[Any] = [None] * self._num_slots
        if self._num_inputs == 1:
            values[0] = inputs
        else:
            values[: self._num_inputs] = self._unpack("forward", "inputs", inputs, self.input_names)
        states: list[Any] = [None] * self._num_saved
        try:
            for layer, source, target, multi, save, _ in self._plan:
                if multi:
                    values[target] = layer([values[s] for s in source])
                else:
                    values[target] = layer(values[source])
                if save >= 0:  # the layer runs elsewhere too: keep this use's cache
                    states[save] = layer.cache_state()
        except (ValueError, TypeError) as err:
            raise self._node_error(err, target, source, values) from err
        self.save_for_backward(states)
        if len(self._output_slots) == 1:
            return values[self._output_slots[0]]
        return tuple(values[slot] for slot in self._output_slots)

    def backward(self, grad_output: Any) -> Any:
        """Run the nodes' backward in reverse order, adding gradients where values fanned out.

        Args:
            grad_output: dL/d(output) for a graph with one output; otherwise a
                list or tuple of them in the order of ``output_names``.

        Returns:
            dL/d(inputs): an array for a graph with one input, otherwise a tuple.
        """
        grads = self._backward(grad_output, parameters_only=False)
        if self._num_inputs == 1:
            return grads[0]
        return tuple(grads[: self._num_inputs])

    def backward_parameters(self, grad_output: Any) -> None:
        # the nodes that read only graph inputs skip their input gradient: nobody reads it
        self._backward(grad_output, parameters_only=True)

    def _backward(self, grad_output: Any, *, parameters_only: bool) -> list[Any]:
        """The reverse pass; returns the gradient per slot (the inputs' unless parameters_only)."""
        states = self.saved()
        grads: list[Any] = [None] * self._num_slots
        if len(self._output_slots) == 1:
            grads[self._output_slots[0]] = grad_output
        else:
            for slot, grad in zip(
                self._output_slots,
                self._unpack("backward", "grad_output", grad_output, self.output_names),
                strict=True,
            ):
                grads[slot] = grad
        try:
            for layer, source, target, multi, save, reads_inputs_only in self._reversed_plan:
                grad = grads[target]
                grads[target] = None  # every consumer has added its share; free it early
                if save >= 0:
                    layer.restore_cache(states[save])
                if reads_inputs_only and parameters_only:
                    layer.backward_parameters(grad)
                    continue
                grad_input = layer.backward(grad)
                if multi:
                    if not isinstance(grad_input, (tuple, list)) or len(grad_input) != len(source):
                        raise TypeError(
                            f"{type(layer).__name__}.backward returned "
                            f"{type(grad_input).__name__}, expected a tuple of "
                            f"{len(source)} gradients, one per input"
                        )
                    for slot, part in zip(source, grad_input, strict=True):
                        accumulate(grads, slot, part)
                else:
                    accumulate(grads, source, grad_input)
        except (ValueError, TypeError) as err:
            raise self._node_error(err, target, source, None) from err
        return grads

    def _unpack(self, method: str, what: str, values: Any, names: list[str]) -> list[Any]:
        if not isinstance(values, (list, tuple)) or len(values) != len(names):
            received = (
                f"{len(values)} items"
                if isinstance(values, (list, tuple))
                else type(values).__name__
            )
            raise TypeError(
                f"Graph.{method}: expected {what} as a list or tuple of "
                f"{len(names)} arrays, one per name in {names}; received {received}"
            )
        return list(values)

    def _node_error(
        self, err: Exception, target: int, source: int | tuple[int, ...], values: list[Any] | None
    ) -> Exception:
        """A layer's error, restated with the node it happened at (and, in forward, its inputs)."""
        name = self._slot_names[target]
        slots = source if isinstance(source, tuple) else (source,)
        if values is None:
            feeding = ", ".join(repr(self._slot_names[s]) for s in slots)
            where = f"Graph node {name!r} (backward, gradients to {feeding})"
        else:
            feeding = ", ".join(
                f"{self._slot_names[s]!r} {getattr(values[s], 'shape', type(values[s]).__name__)}"
                for s in slots
            )
            where = f"Graph node {name!r} (forward, inputs {feeding})"
        kind: type[Exception] = ValueError
        if isinstance(err, ShapeError):
            kind = ShapeError
        elif isinstance(err, TypeError):
            kind = TypeError
        return kind(f"{where}: {err}")

    # ---------------------------------------------------------- structure
    def children(self) -> list[tuple[str, Layer]]:
        """Each distinct layer once, under the name of the first node that holds it."""
        return [
            (node.name, node.layer) for node in self.nodes if self._holder[node.name] == node.name
        ]

    def input_arity(self) -> tuple[int, int | None]:
        return (self._num_inputs, self._num_inputs)

    def _shapes(self, input_shape: ShapeSpec) -> dict[str, Shape]:
        """Every value's shape, given the graph's input shape(s) and the declared ones."""
        check_count(self, input_shape)
        given = input_shape if isinstance(input_shape, list) else [input_shape]
        merged = {}
        for name, shape in zip(self.input_names, given, strict=True):
            declared = self._input_shapes[name]
            try:
                merged[name] = unify(self, [shape, declared])
            except ShapeError:
                raise ShapeError(
                    f"Graph: input {name!r} is declared as {describe(declared)}, "
                    f"received {describe(shape)}"
                ) from None
        return self._infer_shapes(merged)

    def output_shape(self, input_shape: ShapeSpec) -> ShapeSpec:
        shapes = self._shapes(input_shape)
        outputs = [shapes[name] for name in self.output_names]
        return outputs[0] if len(outputs) == 1 else outputs

    # -------------------------------------------------------- architecture
    def get_config(self) -> dict[str, Any]:
        """The wiring, with each distinct layer listed once and nodes referring to it by index.

        ``{"inputs", "layers", "nodes": [[name, layer_index, inputs], ...],
        "outputs"}``: two nodes with the same ``layer_index`` share one layer,
        so a serializer that rebuilds ``layers`` once each gives back a graph
        whose shared layers are shared again.
        """
        layers = [layer for _, layer in self.children()]
        index = {id(layer): position for position, layer in enumerate(layers)}
        declared = any(value is not None for value in self._declared.values())
        return {
            "inputs": dict(self._declared) if declared else list(self.input_names),
            "layers": layers,
            "nodes": [
                [
                    node.name,
                    index[id(node.layer)],
                    list(node.sources) if node.multi else node.sources[0],
                ]
                for node in self.nodes
            ],
            "outputs": list(self.output_names),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        layers = list(config["layers"])
        nodes: list[NodeSpec] = []
        for entry in config["nodes"]:
            name, layer_index, sources = entry
            if (
                isinstance(layer_index, bool)
                or not isinstance(layer_index, int)
                or not (0 <= layer_index < len(layers))
            ):
                raise ValueError(
                    f"Graph.from_config: node {name!r} refers to layer "
                    f"{layer_index!r}, but there are {len(layers)} layers"
                )
            nodes.append((name, layers[layer_index], sources))
        return cls(inputs=config["inputs"], nodes=nodes, outputs=config["outputs"])

    # --------------------------------------------------------------- display
    def __repr__(self) -> str:
        lines = [f"Graph(\n  inputs: {', '.join(self.input_names)}"]
        with repr_scope(self):
            for node in self.nodes:
                wiring = ", ".join(node.sources)
                holder = self._holder[node.name]
                if holder != node.name:
                    lines.append(f"  ({node.name}): shared with ({holder}) <- {wiring}")
                    continue
                layer_repr = child_repr(node.layer).replace("\n", "\n  ")
                lines.append(f"  ({node.name}): {layer_repr} <- {wiring}")
        lines.append(f"  outputs: {', '.join(self.output_names)}\n)")
        return "\n".join(lines)

    def summary_rows(self, input_shape: ShapeSpec) -> tuple[SummaryRows, ShapeSpec]:
        if self._num_inputs > 1 and not isinstance(input_shape, list):
            input_shape = [ANY] * self._num_inputs  # a chain's one shape says nothing here
        shapes = self._shapes(input_shape)
        rows: SummaryRows = [(f"{name}: input", shapes[name], 0) for name in self.input_names]
        for node in self._order:
            label = f"{node.name} <- {', '.join(node.sources)}"
            holder = self._holder[node.name]
            if holder != node.name:  # its parameters are counted at the holder's row
                rows.append(
                    (
                        f"{label}: {type(node.layer).__name__} (shared with {holder})",
                        shapes[node.name],
                        0,
                    )
                )
                continue
            given = [shapes[source] for source in node.sources]
            layer_rows, _ = child_rows(node.layer, given if node.multi else given[0])
            rows.extend(nest(label, node.layer, layer_rows, shapes[node.name]))
        return rows, infer_shape(self, input_shape)
