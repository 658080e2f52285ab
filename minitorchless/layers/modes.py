"""Eval mode for one thread: inference on a shared model without touching its ``training`` flag.

``model.eval()`` sets a flag on every layer, which every thread sees. Inside
``with eval_mode():`` the current thread runs every layer as in eval mode
instead, whatever its flag says, and other threads are not affected. This is
how ``predict`` and ``evaluate`` run: several threads may predict with a model
that another is training, and its mode is left alone.

A layer whose forward behaves differently in training (``Dropout``) reads
``self.training_active``, which is ``self.training`` unless the thread is
inside ``eval_mode()``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["eval_mode", "eval_mode_forced"]

_local = threading.local()


def eval_mode_forced() -> bool:
    """Whether the current thread is inside ``eval_mode()``."""
    return bool(getattr(_local, "forced", False))


@contextmanager
def eval_mode() -> Iterator[None]:
    """Run every layer in eval mode in this thread, leaving the layers' flags alone.

    Nested uses are fine; the previous state comes back on exit, an exception
    included.
    """
    previous = eval_mode_forced()
    _local.forced = True
    try:
        yield
    finally:
        _local.forced = previous
