"""Generation from a language model: seeded sampling with temperature and top-k.

A language model here is any layer mapping integer token ids ``(N, T)`` to
logits ``(N, T, vocabulary)``, position ``t`` predicting token ``t + 1``:
``Embedding -> ... -> Dense(E, vocabulary)``. :func:`generate` feeds it the
prompt, draws the next token from the last position's logits with
:func:`sample`, appends it and goes on.

Two ways of going on. A model whose sequence layers are all recurrent (they
expose ``initial_state`` and ``final_state``) carries its state: after the
prompt, each step feeds one token and the state the previous step left,
which costs one step, not a whole window. Any other model (attention,
learned positions) is run again on the last ``context`` tokens each step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless._checks import generator, positive_float, positive_int
from minitorchless.errors import ShapeError
from minitorchless.layers.attention import MultiheadAttention
from minitorchless.layers.base import Layer
from minitorchless.layers.positional import PositionalEmbedding

__all__ = ["generate", "recurrent_layers", "sample"]


def _temperature(temperature: Any) -> float:
    if (
        isinstance(temperature, (int, float, np.floating, np.integer))
        and not isinstance(temperature, bool)
        and temperature <= 0
    ):
        raise ValueError(
            f"sample: temperature must be > 0 (1 samples the model's distribution, "
            f"below 1 sharpens it, above 1 flattens it; for the most likely token use "
            f"top_k=1), received {temperature!r}"
        )
    return positive_float("sample", "temperature", temperature)


def sample(
    logits: ArrayLike,
    temperature: float = 1.0,
    top_k: int | None = None,
    rng: np.random.Generator | None = None,
) -> NDArray[np.int64]:
    """Draw one token per row from ``softmax(logits / temperature)``.

    ``p_i = exp(z_i / T) / sum_j exp(z_j / T)``: a temperature ``T`` below 1
    sharpens the distribution towards the most likely tokens, above 1 it
    flattens it. With ``top_k``, only the ``k`` largest logits of each row
    keep their chance (renormalized); ``top_k=1`` is greedy decoding.

    Args:
        logits: ``(vocabulary,)`` for one draw, or ``(N, vocabulary)``.
        temperature: Must be > 0.
        top_k: Keep the ``k`` most likely tokens (``1 <= k``; more than the
            vocabulary keeps them all).
        rng: Where the randomness comes from: the same generator state gives
            the same tokens.

    Returns:
        An int64 array of shape ``logits.shape[:-1]``: a 0-d array for one row.
    """
    temperature = _temperature(temperature)
    scores = np.asarray(logits, dtype=np.float64)
    if scores.ndim not in (1, 2) or scores.shape[-1] == 0:
        raise ShapeError(
            f"sample: logits must have shape (vocabulary,) or (N, vocabulary), received "
            f"shape {scores.shape}"
        )
    if not np.isfinite(scores).all():
        raise ValueError("sample: logits must be finite, received NaN or infinity")
    rng = generator("sample", rng)
    rows = scores.reshape(-1, scores.shape[-1]) / temperature
    if top_k is not None:
        k = positive_int("sample", "top_k", top_k)
        if k < rows.shape[1]:  # everything below the k-th largest logit gets no chance
            kth = np.partition(rows, -k, axis=1)[:, -k, np.newaxis]
            rows = np.where(rows >= kth, rows, -np.inf)
    rows = np.exp(rows - rows.max(axis=1, keepdims=True))
    cumulative = np.cumsum(rows, axis=1)
    # inverse CDF: the first token whose cumulative weight passes u * total
    thresholds = rng.random(rows.shape[0]) * cumulative[:, -1]
    tokens = (cumulative <= thresholds[:, np.newaxis]).sum(axis=1)
    tokens = np.minimum(tokens, rows.shape[1] - 1)
    drawn: NDArray[np.int64] = tokens.astype(np.int64).reshape(scores.shape[:-1])
    return drawn


def _all_layers(model: Layer) -> list[Layer]:
    """``model`` and every layer inside it, each once (a shared layer too)."""
    layers, stack, seen = [], [model], set()
    while stack:
        layer = stack.pop()
        if id(layer) not in seen:
            seen.add(id(layer))
            layers.append(layer)
            stack.extend(child for _, child in layer.children())
    return layers


def recurrent_layers(model: Layer) -> list[Any]:
    """The layers of ``model`` that carry a state (``initial_state`` and ``final_state``)."""
    return [
        layer
        for layer in _all_layers(model)
        if hasattr(layer, "initial_state") and hasattr(layer, "final_state")
    ]


def _mixes_positions(model: Layer) -> bool:
    """Whether a layer of ``model`` looks at whole windows (so no state can be carried)."""
    return any(
        isinstance(layer, (MultiheadAttention, PositionalEmbedding)) for layer in _all_layers(model)
    )


def _default_context(model: Layer) -> int | None:
    lengths = [
        layer.max_len for layer in _all_layers(model) if isinstance(layer, PositionalEmbedding)
    ]
    return min(lengths) if lengths else None


def _prompt(prompt_ids: ArrayLike) -> NDArray[np.int64]:
    ids = np.asarray(prompt_ids)
    if ids.dtype.kind not in "iu" or ids.ndim not in (1, 2) or ids.shape[-1] == 0:
        raise ShapeError(
            f"generate: prompt_ids must be integer token ids of shape (T,) or (N, T) with "
            f"T >= 1, received dtype {ids.dtype} and shape {ids.shape}"
        )
    return ids.astype(np.int64).reshape(-1, ids.shape[-1])


def _last_logits(model: Layer, window: NDArray[np.int64]) -> NDArray[Any]:
    logits = np.asarray(model(window))
    if logits.ndim != 3 or logits.shape[:2] != window.shape:
        raise ShapeError(
            f"generate: the model must map ids (N, T) = {window.shape} to logits "
            f"(N, T, vocabulary), returned shape {logits.shape}"
        )
    return logits[:, -1, :]


def _continue(
    model: Layer,
    ids: NDArray[np.int64],
    steps: int,
    draw: tuple[float, int | None, np.random.Generator],
    window: int | None,
    carry: bool,
    stateful: list[Any],
) -> list[NDArray[np.int64]]:
    """The prompt and each step's new tokens, ``(N, 1)`` apiece."""
    tokens = [ids]
    feed = ids if window is None else ids[:, -window:]
    for _ in range(steps):
        logits = _last_logits(model, feed)
        new = sample(logits, *draw).reshape(-1, 1)
        tokens.append(new)
        if carry:  # the state holds everything before the new token
            for layer in stateful:
                layer.initial_state = layer.final_state
            feed = new
        else:
            everything = np.concatenate(tokens, axis=1)
            feed = everything if window is None else everything[:, -window:]
    return tokens


def generate(
    model: Layer,
    prompt_ids: ArrayLike,
    steps: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    rng: np.random.Generator | None = None,
    context: int | None = None,
) -> NDArray[np.int64]:
    """Continue ``prompt_ids`` by ``steps`` tokens drawn from ``model``.

    The model runs in evaluation mode (its previous mode is put back after),
    and recurrent layers get their ``initial_state`` back as it was.

    Args:
        model: Token ids ``(N, T)`` to logits ``(N, T, vocabulary)``.
        prompt_ids: ``(T,)`` or ``(N, T)`` integer ids to start from.
        steps: How many tokens to add.
        temperature: As in :func:`sample`: must be > 0.
        top_k: As in :func:`sample`: keep the ``k`` most likely tokens.
        rng: The generator every draw comes from.
        context: The most tokens the model sees at once when it is re-run
            (the oldest drop out). Default: the ``max_len`` of its
            ``PositionalEmbedding``, else everything.

    Returns:
        The prompt followed by the new tokens: ``(T + steps,)`` or ``(N, T + steps)``.
    """
    ids = _prompt(prompt_ids)
    steps = positive_int("generate", "steps", steps)
    _temperature(temperature)
    rng = generator("generate", rng)
    window = (
        _default_context(model) if context is None else positive_int("generate", "context", context)
    )
    stateful = recurrent_layers(model)
    carry = bool(stateful) and not _mixes_positions(model)
    modes = [(layer, layer.training) for layer in _all_layers(model)]
    saved_states = [(layer, layer.initial_state) for layer in stateful]
    model.eval()
    try:
        tokens = _continue(model, ids, steps, (temperature, top_k, rng), window, carry, stateful)
    finally:
        for layer, state in saved_states:
            layer.initial_state = state
        for layer, mode in modes:
            layer.training = mode
    result = np.concatenate(tokens, axis=1)
    return result.reshape(-1) if np.ndim(prompt_ids) == 1 else result
