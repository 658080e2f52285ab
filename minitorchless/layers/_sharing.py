"""Finding the places where one layer object is used more than once.

A layer has one forward cache. When the same object runs at two places of a
container, the second forward overwrites what the first use's backward needs.
Containers that allow this (``Sequential``, ``Graph``, ``Parallel``) ask
``shared_uses`` which of their uses need their caches saved and restored
around each other. They ask at their first forward, not when they are built,
so that building (or loading) a model never walks its layers once per container.
"""

from __future__ import annotations

from collections.abc import Sequence

from minitorchless.layers.base import Layer


def shared_uses(uses: Sequence[Layer]) -> list[bool]:
    """For each use, whether it shares a layer (at any depth) with another use.

    ``uses`` lists the layer run at each place, the same object possibly
    several times. A use is flagged when some layer inside it (or itself) also
    runs inside another use.

    One walk for all the uses that enters each distinct layer once: a use's
    walk claims the layers it enters, and stops at a layer another use claimed,
    flagging both. Nothing is missed by stopping: of the uses that reach a
    layer, one claims it and each other one stops on its way there at a layer
    claimed by another use; that use's walk went on down the same way, so the
    stops lead down to the layer itself and flag its claimant too.
    """
    owner: dict[int, int] = {}  # id(layer) -> the use whose walk entered it
    flagged = [False] * len(uses)
    for position, use in enumerate(uses):
        stack = [use]
        while stack:
            layer = stack.pop()
            first = owner.get(id(layer))
            if first is None:
                owner[id(layer)] = position
                stack.extend(child for _, child in layer.children())
            elif first != position:  # (met again within this use: walked already)
                flagged[first] = flagged[position] = True
    return flagged
