"""``check_layer``: the conformance kit every layer, built in or yours, is proven with."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from minitorchless.layers.base import Layer
from minitorchless.testing._common import KitInputs, kit_rng
from minitorchless.testing.gradcheck import GradcheckReport, gradcheck
from minitorchless.testing.rules import RULES, Case, LayerCheckError
from minitorchless.testing.state_rules import STATE_RULES

__all__ = ["LayerCheckError", "check_layer"]


def _check_construction(factory: Callable[[np.random.Generator], Layer], seed: int) -> Layer:
    """Build twice from the same seed: the parameters must agree."""
    subject = factory(np.random.default_rng(seed))
    twin = factory(np.random.default_rng(seed))
    for (name, p), (_, q) in zip(subject.named_tensors(), twin.named_tensors(), strict=True):
        if not np.array_equal(p.value, q.value):
            raise LayerCheckError(
                f"check_layer({type(subject).__name__}): construction is not repeatable: "
                f"{name!r} differs between two builds from the same seed; draw from the rng "
                f"argument"
            )
    return subject


def check_layer(
    layer: Layer | Callable[[np.random.Generator], Layer],
    inputs: ArrayLike | tuple[np.ndarray, ...],
    *,
    seed: int = 0,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> GradcheckReport:
    """Run the layer contract on a layer and report the first rule it breaks.

    The rules, in order:

    1. ``backward`` before any ``forward`` raises ``RuntimeError`` naming the layer.
    2. ``forward`` returns ndarrays in the layer's dtype (the parameters', or
       the inputs' for a layer without parameters), leaves its inputs alone,
       and has the shape ``output_shape`` infers.
    3. ``backward`` returns a gradient of each input's shape and dtype
       (``None`` for integer inputs), leaves ``grad_output`` alone, and every
       ``.grad`` keeps its parameter's shape and dtype.
    4. ``backward`` accumulates: a second call adds the same amount again.
    5. ``backward_parameters`` leaves the gradients ``backward`` leaves.
    6. Every parameter and buffer the layer holds is one it lists.
    7. Repeatable: two copies in the same state give identical outputs; given
       a factory, two builds from the same seed give identical tensors too.
    8. ``load_state_dict`` writes every tensor into a layer whose values all
       differ, the outputs then agree, and a state dict with a key missing is
       refused without changing anything.
    9. ``from_config(get_config())`` rebuilds the layer, and the config can be
       saved in a model file.
    10. ``eval()`` and ``train()`` reach every sublayer; eval mode is
        deterministic and changes no buffer.
    11. Gradients pass ``gradcheck`` in float64; a failure names the likely
        mistake (off by the batch size, the sign, a transpose, a sum over the
        batch left out).

    Every random number the kit draws comes from its own generator, seeded
    with ``seed`` and a constant of its own, never from a stream the caller
    may have used for ``inputs``.

    Args:
        layer: The layer, or a factory ``rng -> layer`` (which also lets the
            kit check that construction is repeatable).
        inputs: A batch the layer accepts, of any rank, in the dtype to check;
            a tuple of batches for a multi-input layer. Integer arrays are
            indices, with no gradient.
        seed: Seed for the factory and the kit's random draws.
        rtol: Relative tolerance of the gradient check.
        atol: Absolute tolerance of the gradient check.

    Returns:
        The gradient-check report: per tensor, the errors and the share of
        the allowed error used.

    Raises:
        LayerCheckError: a contract rule is broken; the message says which.
        GradcheckError: the gradients are wrong.
    """
    subject = layer if isinstance(layer, Layer) else _check_construction(layer, seed)
    factory = None if isinstance(layer, Layer) else layer
    given = KitInputs(inputs)
    case = Case(subject, factory, given, kit_rng(seed), seed)
    for rule in [*RULES, *STATE_RULES]:
        rule(case)
    return gradcheck(subject, given.given(), rtol=rtol, atol=atol, seed=seed)
