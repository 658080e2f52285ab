"""The ``mtl.draw`` figures of the documentation: SVG text, byte for byte reproducible.

``make_figures.py`` writes them with the other figures; each function here
builds one model with a fixed seed and saves its drawing under ``out``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import minitorchless as mtl

ROOT = Path(__file__).resolve().parent.parent
SEED = 0

__all__ = ["drawing_classic", "drawing_cnn", "drawing_residual", "drawing_transformer"]


def drawing_classic(out: Path) -> Path:
    """``mtl.draw`` of the classic network: the tutorial's 5-4-3 sigmoid net."""
    sys.path.insert(0, str(ROOT / "examples"))  # the model of examples/iris.py
    from iris import build_model

    path = out / "draw-classic.svg"
    mtl.draw(build_model(4, SEED), input_shape=(5,)).save(path)
    return path


def drawing_residual(out: Path) -> Path:
    """``mtl.draw`` of a residual MLP on the digits: two of the example's blocks."""
    rng = np.random.default_rng(SEED)

    def block() -> mtl.Layer:
        return mtl.Residual(mtl.Sequential(mtl.Dense(32, 32, bias=True, rng=rng), mtl.Tanh()))

    model = mtl.Sequential(
        mtl.Dense(64, 32, bias=True, rng=rng),
        mtl.Tanh(),
        block(),
        block(),
        mtl.Dense(32, 10, bias=True, rng=rng),
    )
    path = out / "draw-residual.svg"
    mtl.draw(model, input_shape=(64,)).save(path)
    return path


def drawing_cnn(out: Path) -> Path:
    """``mtl.draw`` of the small CNN of the convolution page, on 8 x 8 images."""
    rng = np.random.default_rng(SEED)
    model = mtl.Sequential(
        mtl.Conv2d(1, 16, 3, padding="same", rng=rng),
        mtl.ReLU(),
        mtl.Conv2d(16, 32, 3, stride=2, padding=1, rng=rng),
        mtl.ReLU(),
        mtl.Flatten(),
        mtl.Dense(32 * 4 * 4, 10, bias=True, rng=rng),
    )
    path = out / "draw-cnn.svg"
    mtl.draw(model, input_shape=(1, 8, 8)).save(path)
    return path


def drawing_transformer(out: Path) -> Path:
    """``mtl.draw`` of a language model with one transformer block, as on the attention page."""
    rng = np.random.default_rng(SEED)
    vocabulary, context = 30, 16
    model = mtl.Sequential(
        mtl.Embedding(vocabulary, 32, rng=rng),
        mtl.PositionalEmbedding(context, 32, rng=rng),
        mtl.transformer_block(32, 4, rng=rng),
        mtl.LayerNorm(32),
        mtl.Dense(32, vocabulary, bias=True, rng=rng),
    )
    path = out / "draw-transformer.svg"
    mtl.draw(model, input_shape=(context,)).save(path)
    return path
