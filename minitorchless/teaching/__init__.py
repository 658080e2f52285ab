"""Tools for learning backpropagation: ``explain`` and the ``Inspector``."""

from minitorchless.teaching.explain import Explanation, Step, explain
from minitorchless.teaching.inspector import Inspector

__all__ = ["Explanation", "Inspector", "Step", "explain"]
