"""A ``Graph``'s execution plan: integer slots instead of names, sharing resolved.

The plan is compiled once, when the graph is built. Graph inputs take slots
0..k-1 and nodes the ones after, in topological order; forward fills the
slots in plan order and backward walks the plan in reverse.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from minitorchless.layers._sharing import shared_uses
from minitorchless.layers.base import Layer
from minitorchless.layers.wiring import Node

__all__ = ["Plan", "PlanStep", "accumulate", "compile_plan"]


class PlanStep(NamedTuple):
    """One node of a compiled ``Graph``: integer slots instead of names.

    Attributes:
        layer: The node's layer.
        source: The slot it reads, or a tuple of slots for a multi-input layer.
        target: The slot it writes.
        multi: Whether ``source`` is a tuple (the layer takes a list).
        save: Where this use's cache is saved, or -1 when its layer is used
            nowhere else.
        reads_inputs_only: Whether it reads graph inputs only, so that
            ``backward_parameters`` may skip its input gradient.
    """

    layer: Layer
    source: Any  # int, or tuple[int, ...] when multi: Any spares a cast per step
    target: int
    multi: bool
    save: int
    reads_inputs_only: bool


class Plan(NamedTuple):
    """The compiled plan of a graph.

    Attributes:
        steps: One ``PlanStep`` per node, in topological order.
        num_slots: Inputs plus nodes.
        num_saved: How many uses of shared layers save their cache.
        output_slots: The slot of each graph output.
        slot_names: The input or node name of each slot, for messages.
    """

    steps: list[PlanStep]
    num_slots: int
    num_saved: int
    output_slots: list[int]
    slot_names: list[str]


def compile_plan(input_names: list[str], order: list[Node], output_names: list[str]) -> Plan:
    """Freeze the nodes, in topological ``order``, into a plan of integer slots.

    No step saves its cache yet (``save`` is -1 and ``num_saved`` 0): which
    uses share a layer is found later, by the graph's first forward.
    """
    slot = {name: index for index, name in enumerate(input_names)}
    for node in order:
        slot[node.name] = len(slot)
    steps: list[PlanStep] = []
    for node in order:
        sources = tuple(slot[source] for source in node.sources)
        reads_inputs_only = all(source < len(input_names) for source in sources)
        steps.append(
            PlanStep(
                node.layer,
                sources if node.multi else sources[0],
                slot[node.name],
                node.multi,
                -1,
                reads_inputs_only,
            )
        )
    return Plan(steps, len(slot), 0, [slot[name] for name in output_names], list(slot))


def with_save_slots(steps: list[PlanStep]) -> tuple[list[PlanStep], int]:
    """Give each use of a shared layer a slot for its cache (-1: not shared).

    Returns the new steps and how many slots they use.
    """
    saved = 0
    planned = []
    for step, is_shared in zip(steps, shared_uses([step.layer for step in steps]), strict=True):
        save = -1
        if is_shared:
            save, saved = saved, saved + 1
        planned.append(step._replace(save=save))
    return planned, saved


def accumulate(grads: list[Any], slot: int, part: Any) -> None:
    """Add a consumer's gradient into a value's gradient (fan-out), out of place.

    Out of place, since the parts may alias arrays other layers hold. ``None``,
    the gradient of an integer input, adds nothing.
    """
    if part is None:
        return
    current = grads[slot]
    grads[slot] = part if current is None else current + part
