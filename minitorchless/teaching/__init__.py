"""Tools for learning backpropagation: ``explain``, ``draw`` and the ``Inspector``."""

from minitorchless.teaching.draw import Drawing, draw
from minitorchless.teaching.explain import Explanation, Step, explain
from minitorchless.teaching.inspector import Inspector

__all__ = ["Drawing", "Explanation", "Inspector", "Step", "draw", "explain"]
