"""``compare_with_torch``: a layer against a PyTorch module with the same weights."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless.interop.torch import to_torch_state_dict, torch_key_map
from minitorchless.layers.base import Layer
from minitorchless.testing._common import KitInputs, kit_rng, outputs_tuple
from minitorchless.testing.gradcheck import GradcheckError

__all__ = ["TorchComparison", "compare_with_torch"]


@dataclass
class TorchComparison:
    """The largest error found per compared quantity, all within tolerance.

    Keys are ``"outputs"`` (or ``"outputs[i]"``), ``"inputs"`` (or
    ``"inputs[i]"``) for the input gradients, and each parameter's name.
    """

    max_abs_error: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        rows = [f"  {name}: max |error| {error:.2e}" for name, error in self.max_abs_error.items()]
        return "compare_with_torch passed:\n" + "\n".join(rows)


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as err:
        raise ImportError("compare_with_torch needs PyTorch: pip install torch") from err
    return torch


def _check(
    report: TorchComparison,
    failures: list[str],
    name: str,
    ours: Any,
    theirs: Any,
    rtol: float,
    atol: float,
) -> None:
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        failures.append(f"  {name}: shape {ours.shape} here, {theirs.shape} in torch")
        return
    error = np.abs(ours - theirs)
    report.max_abs_error[name] = float(error.max(initial=0.0))
    if not np.allclose(ours, theirs, rtol=rtol, atol=atol):
        worst = np.unravel_index(int(np.argmax(error)), error.shape)
        failures.append(
            f"  {name}: max |error| {error.max():.3g} at {tuple(map(int, worst))}: "
            f"{ours[worst]:.10g} here, {theirs[worst]:.10g} in torch"
        )


def compare_with_torch(
    layer: Layer,
    torch_module: Any,
    inputs: Any,
    *,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    seed: int = 0,
) -> TorchComparison:
    """Check ``layer`` against ``torch_module``: outputs, input gradients and every parameter's.

    Both run in float64 on copies: the layer's weights and buffers go into the
    module through ``mtl.to_torch_state_dict`` (``strict=True``), both take
    the layer's training mode, and both get the same random gradient of the
    outputs. Each parameter's gradient is compared under the PyTorch name it
    maps to, transposed where PyTorch stores it transposed.

    Args:
        layer: The minitorchless layer.
        torch_module: A ``torch.nn.Module`` of the same architecture; it is
            copied, not changed.
        inputs: A batch, or a tuple of batches for several inputs.
        rtol: Relative tolerance.
        atol: Absolute tolerance.
        seed: Seeds the gradient of the outputs (the kit's own generator).

    Returns:
        The largest error per compared quantity.

    Raises:
        GradcheckError: some quantity differs, naming it and the worst element.
        ImportError: PyTorch is not installed.
    """
    torch = _import_torch()
    ours = copy.deepcopy(layer).to(np.float64)
    theirs = copy.deepcopy(torch_module).double().train(layer.training)
    state = {key: torch.from_numpy(value) for key, value in to_torch_state_dict(ours).items()}
    theirs.load_state_dict(state, strict=True)
    given = KitInputs(inputs)
    xs: list[NDArray[Any]] = [
        x.astype(np.float64) if x.dtype.kind == "f" else x for x in given.arrays
    ]
    tensors = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in xs]

    outputs = outputs_tuple(ours(given.given(xs)))
    their_outputs = outputs_tuple(theirs(*tensors))
    rng = kit_rng(seed)
    weights = [rng.standard_normal(np.shape(part)) for part in outputs]
    grads = ours.backward(tuple(weights) if len(weights) > 1 else weights[0])
    torch.autograd.backward(list(their_outputs), [torch.from_numpy(w) for w in weights])

    report, failures = TorchComparison(), list[str]()
    names = ["outputs"] if len(outputs) == 1 else [f"outputs[{i}]" for i in range(len(outputs))]
    for name, mine, other in zip(names, outputs, their_outputs, strict=True):
        _check(report, failures, name, mine, other.detach().numpy(), rtol, atol)
    mine_grads = outputs_tuple(grads) if given.several else (grads,)
    for index, (name, tensor) in enumerate(zip(given.names(), tensors, strict=True)):
        if not given.is_integer(index):
            _check(report, failures, name, mine_grads[index], tensor.grad.numpy(), rtol, atol)
    their_params = dict(theirs.named_parameters())
    for key, (name, parameter, transposed) in torch_key_map(ours).items():
        if (
            key in their_params
            and name not in report.max_abs_error
            and (their_params[key].grad is not None)
        ):
            grad = parameter.grad.T if transposed else parameter.grad  # type: ignore[attr-defined]
            _check(report, failures, name, grad, their_params[key].grad.numpy(), rtol, atol)
    if failures:
        raise GradcheckError(
            f"compare_with_torch: {type(layer).__name__} and "
            f"{type(torch_module).__name__} differ (rtol={rtol}, "
            f"atol={atol}):\n" + "\n".join(failures)
        )
    return report
