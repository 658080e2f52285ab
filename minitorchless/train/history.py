"""``History``: what ``fit`` returns, the per-epoch record of a training run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # matplotlib is an optional extra, imported only inside plot()
    from matplotlib.figure import Figure

__all__ = ["History", "append_row"]


def append_row(table: dict[str, list[float]], rows: int, values: Mapping[str, float]) -> None:
    """Append one row of ``values`` to a table of columns that each hold ``rows`` values.

    Every column stays ``rows + 1`` long: a name first seen now is padded with
    NaN before, a name missing now gets NaN. The padding is built only for a new
    name, so recording stays linear in the number of rows.
    """
    for name, value in values.items():
        column = table.get(name)
        if column is None:
            column = table[name] = [float("nan")] * rows
        column.append(float(value))
    for column in table.values():
        if len(column) == rows:  # a name that this row does not have
            column.append(float("nan"))


class History:
    """Per-epoch training and validation values, as Keras's ``History`` keeps them.

    Attributes:
        history: Lists by name, one value per completed epoch: ``"loss"``, each
            metric (``"accuracy"``), their validation twins (``"val_loss"``,
            ``"val_accuracy"``) and whatever callbacks log (``"lr"``).
        epoch: The index (from 0) of each recorded epoch.
        params: The settings of the run (``epochs``, ``batch_size``,
            ``steps_per_epoch``, ``metrics``...).
        stop_reason: Why training ended before ``epochs``, in words
            (early stopping, divergence...), or ``None`` if it ran to the end.
        diverged: Whether training stopped because the loss became NaN or inf.
        layer_stats: Per-layer statistics by ``"<layer>/<statistic>"``, one value
            per epoch, filled by an ``mtl.Inspector`` callback (empty otherwise).
            Kept apart from ``history`` so that ``plot()`` shows the loss and metrics.

    An epoch in which the loss diverged is not recorded: every recorded value
    comes from a complete epoch.
    """

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict[str, Any] = dict(params or {})
        self.stop_reason: str | None = None
        self.diverged = False
        self.layer_stats: dict[str, list[float]] = {}

    def record(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Append one epoch's values. A name first seen late is padded with NaN before."""
        append_row(self.history, len(self.epoch), logs)
        self.epoch.append(epoch)

    def __getitem__(self, name: str) -> list[float]:
        return self.history[name]

    def __contains__(self, name: object) -> bool:
        return name in self.history

    def __len__(self) -> int:
        """The number of recorded epochs."""
        return len(self.epoch)

    def __repr__(self) -> str:
        stop = f", stop_reason={self.stop_reason!r}" if self.stop_reason else ""
        return f"History(epochs={len(self)}, keys={list(self.history)}{stop})"

    def plot(self, names: Iterable[str] | None = None) -> Figure:
        """Draw the curves: one panel per quantity, training and validation together.

        Needs matplotlib (``pip install "minitorchless[plot]"``). The figure is
        built without pyplot, so nothing is shown or kept in a global list; save
        it with ``figure.savefig("curves.png")`` or display it in a notebook.

        Args:
            names: The quantities to draw, without the ``val_`` prefix
                (``["loss", "accuracy"]``). All of them when omitted, except ``"lr"``,
                which gets a panel only when asked for.

        Returns:
            A ``matplotlib.figure.Figure``.

        Raises:
            ImportError: matplotlib is not installed; the message names the extra.
            ValueError: a requested name was never recorded.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError as err:
            raise ImportError(
                "History.plot needs matplotlib, which is not installed; install the plot "
                'extra: pip install "minitorchless[plot]"'
            ) from err
        base = [name for name in self.history if not name.startswith("val_")]
        base += [name[4:] for name in self.history if name.startswith("val_")]
        known = list(dict.fromkeys(base))  # keep order, drop repeats
        if names is None:
            chosen = [name for name in known if name != "lr"]
        else:
            chosen = list(names)
            unknown = [name for name in chosen if name not in known]
            if unknown:
                raise ValueError(
                    f"History.plot: no recorded values for {unknown}; recorded: {known}"
                )
        figure = Figure(figsize=(5 * max(1, len(chosen)), 3.8), layout="constrained")
        if not chosen:  # e.g. a run that diverged in its first epoch
            figure.add_subplot().set_title("no epochs recorded")
            return figure
        epochs = [index + 1 for index in self.epoch]  # people count epochs from 1
        axes = figure.subplots(1, len(chosen), squeeze=False)[0]
        for ax, name in zip(axes, chosen, strict=True):
            for key, label in ((name, "training"), (f"val_{name}", "validation")):
                if key in self.history:
                    ax.plot(epochs, self.history[key], label=label)
            ax.set_xlabel("epoch")
            ax.set_title(name)
            ax.grid(alpha=0.3)
            ax.legend()
        return figure
