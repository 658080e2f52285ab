"""Progress reporting for ``fit``: a bar on terminals, plain lines elsewhere.

A terminal gets a tqdm bar over the epochs with the latest loss and metrics on
it. Anything else (CI logs, files, notebooks) gets one plain line every
``log_every`` epochs, because a bar redrawn with carriage returns turns into
thousands of lines there. Both end with one summary line.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

from minitorchless.train.callbacks import Callback, Logs

__all__ = ["BarProgress", "LineProgress", "Progress", "format_logs", "make_progress"]


def format_logs(logs: Mapping[str, float]) -> str:
    """``"loss: 0.1234 - accuracy: 0.95"``: four significant digits per value."""
    return " - ".join(f"{name}: {value:.4g}" for name, value in logs.items())


class Progress(Callback):
    """Base of the reporters: times the run and writes the summary line.

    Subclasses draw the epochs. ``on_train_end`` runs however training ends
    (an exception or Ctrl-C included), so a bar is never left half-drawn.
    """

    def __init__(self) -> None:
        super().__init__()
        self._start = 0.0
        self._last: Logs = {}
        self._epochs_done = 0

    def on_train_begin(self, logs: Logs) -> None:
        self._start = time.perf_counter()
        self._last, self._epochs_done = {}, 0

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        self._last, self._epochs_done = dict(logs), epoch + 1

    def summary(self) -> str:
        """The final line: epochs run, time, why it stopped, and the last values."""
        epochs = self.state.epochs
        elapsed = time.perf_counter() - self._start
        done = self._epochs_done
        head = f"trained {done}/{epochs} epochs in {elapsed:.2f}s"
        if self.state.stop_reason is not None:
            reason = self.state.stop_reason
            head = f"stopped after {done}/{epochs} epochs in {elapsed:.2f}s: {reason}"
        return f"{head} - {format_logs(self._last)}" if self._last else head

    def on_train_end(self, logs: Logs) -> None:
        self._write(self.summary())

    def _write(self, line: str) -> None:
        # look sys.stdout up at call time: it may be redirected after import
        print(line, file=sys.stdout, flush=True)


class LineProgress(Progress):
    """One line every ``log_every`` epochs (and after the first), then a summary.

    Line format: ``epoch 10/100 - loss: 0.1234 - val_loss: 0.2345 - 0.51s``.

    Args:
        log_every: Epochs between lines, >= 1.
    """

    def __init__(self, log_every: int) -> None:
        super().__init__()
        self.log_every = log_every

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        super().on_epoch_end(epoch, logs)
        number = epoch + 1
        if number == 1 or number % self.log_every == 0:
            width = len(str(self.state.epochs))
            elapsed = time.perf_counter() - self._start
            self._write(
                f"epoch {number:>{width}}/{self.state.epochs} - {format_logs(logs)} - "
                f"{elapsed:.2f}s"
            )


class BarProgress(Progress):
    """A tqdm bar over the epochs, with the latest values as its postfix."""

    def __init__(self) -> None:
        super().__init__()
        self._bar: Any = None

    def on_train_begin(self, logs: Logs) -> None:
        from tqdm import tqdm

        super().on_train_begin(logs)
        self._bar = tqdm(total=self.state.epochs, unit="epoch", file=sys.stdout, dynamic_ncols=True)

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        super().on_epoch_end(epoch, logs)
        self._bar.set_postfix({name: f"{value:.4g}" for name, value in logs.items()}, refresh=False)
        self._bar.update(1)

    def on_train_end(self, logs: Logs) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        super().on_train_end(logs)


def make_progress(verbose: int, log_every: int) -> Progress | None:
    """The reporter for ``fit``'s ``verbose``: 0 none, 1 bar on a terminal, 2 lines."""
    if verbose == 0:
        return None
    stream = sys.stdout
    on_terminal = bool(getattr(stream, "isatty", lambda: False)())
    if verbose == 1 and on_terminal:
        return BarProgress()
    return LineProgress(log_every)
