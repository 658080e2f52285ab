"""Specimens of RNN, LSTM, GRU and LastStep, alone, stacked and in a small model."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

import minitorchless as mtl
from specimens.base import Specimen


def _twin(name: str, *args: Any, **kwargs: Any) -> Any:
    """The torch module of the same recurrent layer, returning the output sequence only."""

    def build(torch: ModuleType) -> Any:
        import minitorchless.interop._torch_nn as mnn

        return getattr(mnn, f"Sequence{name}")(*args, batch_first=True, **kwargs)

    return build


def _classifier(rng: np.random.Generator, dt: Any) -> mtl.Layer:
    """A sequence to two scores: a GRU, its last step, a dense layer."""
    return mtl.Sequential(
        mtl.GRU(3, 4, rng=rng, dtype=dt),
        mtl.LastStep(),
        mtl.Dense(4, 2, bias=True, rng=rng, dtype=dt),
    )


def _classifier_twin(torch: ModuleType) -> Any:
    import minitorchless.interop._torch_nn as mnn

    nn = torch.nn
    return nn.Sequential(mnn.SequenceGRU(3, 4, batch_first=True), mnn.LastStep(), nn.Linear(4, 2))


def _last_step_twin(torch: ModuleType) -> Any:
    import minitorchless.interop._torch_nn as mnn

    return mnn.LastStep()


ROWS: dict[str, Specimen] = {
    "RNN": Specimen(
        lambda rng, dt: mtl.RNN(3, 4, rng=rng, dtype=dt), ((5, 3),), torch=_twin("RNN", 3, 4)
    ),
    "RNN(relu, 2 layers, no bias)": Specimen(
        lambda rng, dt: mtl.RNN(3, 4, 2, bias=False, nonlinearity="relu", rng=rng, dtype=dt),
        ((4, 3),),
        away_from_zero=True,
        torch=_twin("RNN", 3, 4, 2, bias=False, nonlinearity="relu"),
    ),
    "LSTM": Specimen(
        lambda rng, dt: mtl.LSTM(3, 4, rng=rng, dtype=dt), ((5, 3),), torch=_twin("LSTM", 3, 4)
    ),
    "LSTM(2 layers)": Specimen(
        lambda rng, dt: mtl.LSTM(3, 2, num_layers=2, rng=rng, dtype=dt),
        ((4, 3),),
        torch=_twin("LSTM", 3, 2, num_layers=2),
    ),
    "GRU": Specimen(
        lambda rng, dt: mtl.GRU(3, 4, rng=rng, dtype=dt), ((5, 3),), torch=_twin("GRU", 3, 4)
    ),
    "GRU(2 layers, no bias)": Specimen(
        lambda rng, dt: mtl.GRU(2, 3, num_layers=2, bias=False, rng=rng, dtype=dt),
        ((4, 2),),
        torch=_twin("GRU", 2, 3, num_layers=2, bias=False),
    ),
    "LastStep": Specimen(lambda rng, dt: mtl.LastStep(), ((4, 3),), torch=_last_step_twin),
    "Sequential(GRU, LastStep, Dense)": Specimen(_classifier, ((5, 3),), torch=_classifier_twin),
}
