"""Exception types raised by minitorchless.

Every error about bad user input subclasses ``ValueError`` or ``TypeError`` so
that ordinary ``except ValueError`` handlers keep working; the subclasses exist
so that callers can tell the cases apart when they care.
"""

from __future__ import annotations

__all__ = ["ShapeError", "StateDictError"]


class ShapeError(ValueError):
    """An array has the wrong number of dimensions or the wrong size.

    The message names the layer (or loss) and the expected and received shapes.
    """


class StateDictError(ValueError):
    """A state dict does not match the model: missing, extra or misshapen keys."""
