"""``Inspector``: a callback that watches backpropagation from inside, layer by layer.

Pass ``mtl.Inspector()`` to ``fit(..., callbacks=[...])`` and it records, per
epoch, the health of every activation layer and every parameter: how the
activations are spread, how many sigmoid or tanh units are saturated, how many
ReLUs are dead, how large the gradients are, and how large each update is
compared with the weights it changes. ``inspector.plot()`` draws it all.

It sees each activation's outputs through a forward hook
(``Layer.register_forward_hook``), added when training begins and removed when
it ends, so the statistics cost no extra forward pass, and a model trained
without the inspector runs exactly as fast as before: ``fit`` calls batch
hooks only for callbacks that define them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from minitorchless._checks import positive_float, positive_int
from minitorchless._types import FloatArray
from minitorchless.layers.activations import Activation, ReLU, Sigmoid, Tanh
from minitorchless.layers.base import Layer
from minitorchless.layers.hooks import HookHandle
from minitorchless.layers.smooth_activations import InputActivation
from minitorchless.parameter import Parameter
from minitorchless.train.callbacks import Callback, Logs
from minitorchless.train.history import append_row

if TYPE_CHECKING:  # matplotlib is an optional extra, imported only inside plot()
    from matplotlib.figure import Figure

__all__ = ["Inspector", "dead_fraction", "saturated_fraction"]


def saturated_fraction(layer: Layer, outputs: FloatArray, margin: float = 0.01) -> float:
    """The fraction of outputs of a sigmoid or tanh layer that sit in a flat tail.

    An output is *saturated* when it lies within ``margin`` of the width of the
    activation's range from either end of it: for the sigmoid, whose range is
    (0, 1), below ``margin`` or above ``1 - margin``; for tanh, whose range is
    (-1, 1), beyond ``1 - 2 margin`` in absolute value. With the default 0.01
    both mean that the local derivative is below 4% of its peak
    (``a (1 - a) < 0.0099`` against 0.25; ``1 - a**2 < 0.0396`` against 1), so
    almost no gradient flows back through that unit for that sample.

    Every entry counts: a ``(batch, units)`` output gives the share of
    (sample, unit) pairs that are saturated.

    Args:
        layer: A ``Sigmoid`` or ``Tanh`` layer (its class picks the range).
        outputs: What the layer returned.
        margin: The width of each flat tail as a fraction of the range, in (0, 0.5).

    Returns:
        A fraction in [0, 1].

    Raises:
        TypeError: ``layer`` is neither a ``Sigmoid`` nor a ``Tanh``.
        ValueError: ``margin`` is outside (0, 0.5).
    """
    if not 0 < margin < 0.5:
        raise ValueError(f"saturated_fraction: margin must be in (0, 0.5), received {margin}")
    if isinstance(layer, Sigmoid):
        distance = np.abs(outputs - 0.5)  # distance from the middle of (0, 1)
        limit = 0.5 - margin
    elif isinstance(layer, Tanh):
        distance = np.abs(outputs)  # distance from the middle of (-1, 1)
        limit = 1 - 2 * margin
    else:
        raise TypeError(
            f"saturated_fraction: expected a Sigmoid or Tanh layer, received {type(layer).__name__}"
        )
    return float(np.count_nonzero(distance > limit) / max(outputs.size, 1))


def dead_fraction(outputs: FloatArray) -> float:
    """The fraction of ReLU units that output 0 for every sample of the batch.

    A unit is the last axis of the output (a column of a ``(batch, units)``
    batch). Such a unit passes no gradient back for any sample (``relu'`` is 0
    wherever the output is 0), so its incoming weights stop learning; if it is
    dead for every batch, it stays dead.

    Args:
        outputs: What a ``ReLU`` layer returned, ``(batch, units)`` or ``(..., units)``.

    Returns:
        A fraction in [0, 1].
    """
    if outputs.ndim == 0 or outputs.size == 0:
        return 0.0
    units = outputs.reshape(-1, outputs.shape[-1])
    dead = ~np.any(units > 0, axis=0)  # no sample made the unit positive
    return float(np.count_nonzero(dead) / units.shape[1])


@dataclass(frozen=True)
class _Watched:
    """An activation layer of the model, by dotted name."""

    name: str
    layer: Activation | InputActivation


def _activation_layers(model: Layer) -> Iterator[_Watched]:
    """Every activation layer in the model tree, each object once, in order."""
    seen: set[int] = set()
    stack: list[tuple[str, Layer]] = [("", model)]
    while stack:
        name, layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, (Activation, InputActivation)):  # GELU, SiLU, Softplus too
            yield _Watched(name or type(layer).__name__, layer)
        # reversed so that the stack pops children in their natural order
        for child_name, child in reversed(layer.children()):
            stack.append((f"{name}.{child_name}" if name else child_name, child))


def _norm(array: NDArray[Any]) -> float:
    flat = array.reshape(-1)
    return float(np.sqrt(np.dot(flat, flat)))  # one BLAS call, no temporary square


class Inspector(Callback):
    """Record per-layer statistics of training, one value per epoch, and plot them.

    For each activation layer (named by its dotted path, as in
    ``named_parameters``, e.g. ``"1"`` for the layer at index 1):

    - ``"<layer>/mean"``, ``"<layer>/std"``: of its outputs;
    - ``"<layer>/saturated"`` (``Sigmoid``, ``Tanh``): the fraction of outputs in a
      flat tail, see ``saturated_fraction``;
    - ``"<layer>/dead"`` (``ReLU``): the fraction of units that are 0 for every
      sample of a batch, see ``dead_fraction``.

    For each parameter (``"0.weight"``...):

    - ``"<parameter>/grad_norm"``: the norm of its gradient, ``||dL/dW||``;
    - ``"<parameter>/update_ratio"``: ``||W_after - W_before|| / ||W_before||``,
      the size of the optimizer's step relative to the weights. Around 1e-3 is
      the usual sign of a healthy learning rate; 1e-1 and above means the
      weights are being rewritten every step.

    Each statistic is measured on every ``every``-th batch, right after its
    optimizer step, and averaged over the epoch's measurements. With
    ``batch_size=None`` (the classic full batch) there is one batch per epoch.
    Activations come from the layers' forward caches, so they describe the
    batch before the step; a layer used at several places shows its last use.

    The record goes into the History that ``fit`` returns, as
    ``history.layer_stats`` (the same dict as ``inspector.layer_stats``), apart
    from ``history.history`` so that ``history.plot()`` keeps showing the loss
    and metrics; ``inspector.plot()`` draws the layer statistics.

    Args:
        every: Measure every ``every``-th batch of an epoch (the first one
            always); larger values cost less on long epochs.
        saturation_margin: The width of the flat tails that count as saturated,
            as a fraction of the activation's range (see ``saturated_fraction``).
        track_updates: Record update ratios. Costs one copy of the parameters
            before each measured step.

    Attributes:
        layer_stats: Lists by ``"<name>/<statistic>"``, one value per epoch.
        epochs: The index (from 0) of each recorded epoch.
        labels: The class of each watched layer, by name (``{"1": "Sigmoid"}``).

    Example:
        ```python
        inspector = mtl.Inspector()
        history = mtl.fit(model, X, y, loss=mtl.MSELoss(), optimizer=optimizer,
                          epochs=100, callbacks=[inspector], verbose=0)
        history.layer_stats["1/saturated"][-1]  # share of saturated hidden sigmoids
        ```
    """

    def __init__(
        self,
        *,
        every: int = 1,
        saturation_margin: float = 0.01,
        track_updates: bool = True,
    ) -> None:
        super().__init__()
        self.every = positive_int("Inspector", "every", every)
        margin = positive_float("Inspector", "saturation_margin", saturation_margin)
        if margin >= 0.5:
            raise ValueError(
                f"Inspector: saturation_margin must be in (0, 0.5), received {saturation_margin}"
            )
        self.saturation_margin = margin
        self.track_updates = bool(track_updates)
        self.layer_stats: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self.labels: dict[str, str] = {}
        self._watched: list[_Watched] = []
        self._latest: dict[int, FloatArray] = {}  # id(layer) -> its latest outputs
        self._hooks: list[HookHandle] = []
        self._parameters: list[tuple[str, Parameter]] = []
        self._before: list[NDArray[Any]] = []
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs: Logs) -> None:
        # a fresh record for each run, shared with the History that fit returns
        self.layer_stats, self.epochs = self.state.history.layer_stats, []
        self._watched = list(_activation_layers(self.model))
        self.labels = {watched.name: type(watched.layer).__name__ for watched in self._watched}
        self._latest = {}
        # each activation hands its outputs over as it computes them: no second forward
        self._hooks = [watched.layer.register_forward_hook(self._keep) for watched in self._watched]
        self._parameters = list(self.model.named_parameters())
        # buffers allocated once; each measured step copies into them
        self._before = [parameter.value.copy() for _, parameter in self._parameters]

    def _keep(self, layer: Layer, inputs: Any, outputs: Any) -> None:
        self._latest[id(layer)] = outputs

    def on_train_end(self, logs: Logs) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks, self._latest = [], {}

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        self._sums, self._counts = {}, {}

    def on_batch_begin(self, batch: int, logs: Logs) -> None:
        if self.track_updates and batch % self.every == 0:
            for buffer, (_, parameter) in zip(self._before, self._parameters, strict=True):
                np.copyto(buffer, parameter.value)

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        if batch % self.every == 0:
            for name, value in self.measure().items():
                self._sums[name] = self._sums.get(name, 0.0) + value
                self._counts[name] = self._counts.get(name, 0) + 1

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        means = {name: total / self._counts[name] for name, total in self._sums.items()}
        append_row(self.layer_stats, len(self.epochs), means)
        self.epochs.append(epoch)

    # ------------------------------------------------------------ statistics
    def measure(self) -> dict[str, float]:
        """The statistics of the latest batch: its activations and the gradients as they are now.

        ``fit`` calls this after each measured step. Update ratios compare the
        parameters with their copy from ``on_batch_begin``.
        """
        stats: dict[str, float] = {}
        for watched in self._watched:
            outputs = self._latest.get(id(watched.layer))
            if not isinstance(outputs, np.ndarray) or outputs.size == 0:
                continue  # the layer did not run on this batch
            prefix = watched.name
            stats[f"{prefix}/mean"] = float(outputs.mean())
            stats[f"{prefix}/std"] = float(outputs.std())
            if isinstance(watched.layer, (Sigmoid, Tanh)):
                stats[f"{prefix}/saturated"] = saturated_fraction(
                    watched.layer, outputs, self.saturation_margin
                )
            elif isinstance(watched.layer, ReLU):
                stats[f"{prefix}/dead"] = dead_fraction(outputs)
        for (name, parameter), before in zip(self._parameters, self._before, strict=True):
            stats[f"{name}/grad_norm"] = _norm(parameter.grad)
            if self.track_updates:
                step = _norm(parameter.value - before)
                scale = _norm(before)
                stats[f"{name}/update_ratio"] = step / scale if scale > 0 else float("nan")
        return stats

    # ------------------------------------------------------------------ plot
    def plot(self) -> Figure:
        """Draw the record: four panels, epoch on the x axis.

        Activation mean (a band of one standard deviation around it); the
        fraction of saturated or dead units; gradient norms; update ratios
        (both on a log scale). Needs matplotlib (``pip install
        "minitorchless[plot]"``); the figure is built without pyplot.

        Returns:
            A ``matplotlib.figure.Figure``.

        Raises:
            ImportError: matplotlib is not installed; the message names the extra.
            RuntimeError: nothing was recorded yet.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError as err:
            raise ImportError(
                "Inspector.plot needs matplotlib, which is not installed; install the plot "
                'extra: pip install "minitorchless[plot]"'
            ) from err
        if not self.epochs:
            raise RuntimeError(
                "Inspector.plot: nothing recorded yet; pass the inspector to "
                "fit(..., callbacks=[inspector]) first"
            )
        epochs = np.asarray(self.epochs) + 1  # people count epochs from 1
        figure = Figure(figsize=(10, 6.4), layout="constrained")
        axes = figure.subplots(2, 2, sharex=True)
        panels = {
            "mean": (axes[0, 0], "activation mean ± std"),
            "fraction": (axes[0, 1], "saturated (sigmoid, tanh) / dead (ReLU)"),
            "grad_norm": (axes[1, 0], "gradient norm ||dL/dW||"),
            "update_ratio": (axes[1, 1], "update ratio ||ΔW|| / ||W||"),
        }
        for key, values in self.layer_stats.items():
            name, stat = key.rsplit("/", 1)
            series = np.asarray(values)
            label = f"{name} {self.labels[name]}" if name in self.labels else name
            if stat == "mean":
                spread = np.asarray(self.layer_stats.get(f"{name}/std", np.zeros_like(series)))
                ax = panels["mean"][0]
                (line,) = ax.plot(epochs, series, label=label)
                ax.fill_between(
                    epochs, series - spread, series + spread, color=line.get_color(), alpha=0.2
                )
            elif stat in ("saturated", "dead"):
                panels["fraction"][0].plot(epochs, series, label=f"{label} {stat}")
            elif stat in ("grad_norm", "update_ratio"):
                panels[stat][0].plot(epochs, series, label=name)
        for key, (ax, title) in panels.items():
            ax.set_title(title)
            ax.grid(alpha=0.3)
            if key in ("grad_norm", "update_ratio") and ax.lines:
                ax.set_yscale("log")
            if ax.lines:
                ax.legend(fontsize="small")
        panels["fraction"][0].set_ylim(-0.02, 1.02)
        for ax in axes[1]:
            ax.set_xlabel("epoch")
        return figure

    def __repr__(self) -> str:
        return (
            f"Inspector(every={self.every}, saturation_margin={self.saturation_margin}, "
            f"track_updates={self.track_updates})"
        )
